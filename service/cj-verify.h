/* Server.Verify and Server.Repair (`cl-jabber verify [--repair]`): the inconsistencies
 * other writers (ldapmodify, a second node, a hand edit) can leave behind the daemon's
 * back, found by reading the directory, ejabberd's configuration and certificate, and
 * asking ejabberd; and the deterministic fixes of those that have one. */
#pragma once

#include "cj-daemon.h"

G_BEGIN_DECLS

/* Connects Server.Verify and Server.Repair; called once the Server skeleton exists. */
void cj_verify_init (CjDaemon *daemon);

G_END_DECLS
