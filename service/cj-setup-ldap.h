/* `cl-setup ldap`: prepares the directory for the Jabber service. Runs in the directory's
 * worker thread; idempotent (only adds what is missing) and reports what it did. */
#pragma once

#include "cj-directory.h"

G_BEGIN_DECLS

/* A CjDirectoryFunc: returns a GPtrArray of report lines (char*). */
gpointer cj_setup_ldap_run (CjDirectory *directory, LDAP *ld, gpointer data,
                            GCancellable *cancellable, GError **error);

G_END_DECLS
