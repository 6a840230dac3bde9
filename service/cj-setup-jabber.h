/* `cl-setup jabber` (Server.Setup): the admin account, ejabberd's configuration and its
 * restart, with the previous configuration restored when ejabberd does not come up. */
#pragma once

#include "cj-daemon.h"
#include "cj-ejabberd-files.h"

G_BEGIN_DECLS

gboolean cj_setup_jabber_handle (CjServer *server, GDBusMethodInvocation *invocation,
                                 GUnixFDList *fd_list, GVariant *options, CjDaemon *daemon);
/* Reload: the same configuration rendered again, and ejabberd restarted. */
gboolean cj_setup_jabber_handle_reload (CjServer *server, GDBusMethodInvocation *invocation,
                                        CjDaemon *daemon);
/* At start: renders ejabberd's configuration again when an older version wrote it for the
 * first group layout (ldap_groupdesc: cn), and restarts ejabberd. */
void     cj_setup_jabber_refresh_outdated (CjDaemon *daemon);

/* verify --repair: renders the configuration again with the saved settings and restarts
 * ejabberd (in the background). FALSE when not configured or a setup is running. */
gboolean cj_setup_jabber_render_again (CjDaemon *daemon);

/* ejabberd's files as the daemon renders them for these service settings (hosts, the
 * primary first; history; listen address): for Setup, and for Verify's comparison. */
CjEjabberdFiles *cj_setup_jabber_files_new (CjDaemon *daemon, const char *const *hosts,
                                            gboolean history, const char *listen);

G_END_DECLS
