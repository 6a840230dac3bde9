/* Server.Check: whether the directory and ejabberd answer now (a real round trip each), in
 * the Server's DirectoryAnswers and Ejabberd* properties. */
#pragma once

#include "cj-daemon.h"

G_BEGIN_DECLS

/* Connects Server.Check (cj_server_object_init). */
void cj_health_init  (CjDaemon *daemon);
/* A check without a caller (at start). */
void cj_health_check (CjDaemon *daemon);

G_END_DECLS
