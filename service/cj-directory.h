/* The connection to the LDAP server. libldap's calls block, so every operation runs in a
 * worker thread (GTask) holding the one connection; the result comes back to the main
 * context. Operations are serialized: the daemon's own changes never interleave, which keeps
 * multi-step changes (such as moving a user between groups) simple to reason about. One
 * worker thread runs them, changes before reads; both queues are bounded (Busy past them),
 * and while the server is known not to answer, reads fail at once (DirectoryUnavailable)
 * instead of each holding the worker for the whole timeout.
 * A dropped connection is re-established by the next operation; an unreachable server fails
 * the operation with CJ_ERROR_DIRECTORY_UNAVAILABLE after the configured timeout. A write
 * that went out and got no answer is never sent again: the operation ends with
 * CJ_ERROR_OUTCOME_UNKNOWN (docs/reliability.md, "True answers under faults"). */
#pragma once

#include <gio/gio.h>
#include <ldap.h>

#include "cj-config.h"

G_BEGIN_DECLS

typedef struct _CjDirectory CjDirectory;

/* Runs in the worker thread with a bound connection. Returns the result (or NULL with
 * @error set; NULL without error is a valid "nothing" result). */
typedef gpointer (*CjDirectoryFunc) (CjDirectory *directory, LDAP *ld, gpointer data,
                                     GCancellable *cancellable, GError **error);

CjDirectory *cj_directory_new          (const CjConfig *config);
void         cj_directory_free         (CjDirectory *directory);

const char  *cj_directory_get_uri      (CjDirectory *directory);
const char  *cj_directory_get_base_dn  (CjDirectory *directory);
/* ou=Jabber,ou=Services,<base>, and its ou=Users and ou=Groups. */
const char  *cj_directory_get_jabber_dn (CjDirectory *directory);
const char  *cj_directory_get_users_dn  (CjDirectory *directory);
const char  *cj_directory_get_groups_dn (CjDirectory *directory);
guint        cj_directory_get_timeout  (CjDirectory *directory);

void         cj_directory_run_async    (CjDirectory        *directory,
                                        CjDirectoryFunc     func,
                                        gpointer            data,
                                        GDestroyNotify      data_free,
                                        GCancellable       *cancellable,
                                        GAsyncReadyCallback callback,
                                        gpointer            user_data);
/* For reads any caller may ask for (no authorization): a smaller queue, and an immediate
 * DirectoryUnavailable while the server is known not to answer. Finish with
 * cj_directory_run_finish. */
void         cj_directory_read_async   (CjDirectory        *directory,
                                        CjDirectoryFunc     func,
                                        gpointer            data,
                                        GDestroyNotify      data_free,
                                        GAsyncReadyCallback callback,
                                        gpointer            user_data);
gpointer     cj_directory_run_finish   (CjDirectory *directory, GAsyncResult *result, GError **error);

/* The server answered another connection (the follower's): reads may try again. */
void         cj_directory_set_reachable (CjDirectory *directory);

/* As cj_directory_run_async, for reading back the outcome of writes in doubt: first
 * checks, without connecting or waiting, that the server has answered every one
 * (the connections kept open for them), else fails with DirectoryUnavailable. */
void         cj_directory_run_settled_async (CjDirectory        *directory,
                                             CjDirectoryFunc     func,
                                             gpointer            data,
                                             GDestroyNotify      data_free,
                                             GAsyncReadyCallback callback,
                                             gpointer            user_data);
/* The writes (ldap_*_s with no controls), for an operation's function: after one went out,
 * a connection error is not retried and ends the operation with CJ_ERROR_OUTCOME_UNKNOWN,
 * since the server may have made the change. Connecting and binding fail before anything
 * is sent: those stay DirectoryUnavailable and are retried once. */
int          cj_directory_add    (CjDirectory *directory, LDAP *ld, const char *dn, LDAPMod **mods);
int          cj_directory_modify (CjDirectory *directory, LDAP *ld, const char *dn, LDAPMod **mods);
int          cj_directory_delete (CjDirectory *directory, LDAP *ld, const char *dn);
/* The same with request controls (NULL-terminated, may be NULL), handing back the answer's
 * controls in *@response (free with ldap_controls_free; NULL when it had none): for the
 * post-read control (RFC 4527), which brings the entry as written with the answer. */
int          cj_directory_add_ctrls    (CjDirectory *directory, LDAP *ld, const char *dn,
                                        LDAPMod **mods, LDAPControl **controls,
                                        LDAPControl ***response);
int          cj_directory_modify_ctrls (CjDirectory *directory, LDAP *ld, const char *dn,
                                        LDAPMod **mods, LDAPControl **controls,
                                        LDAPControl ***response);
/* cj_directory_add_ctrls in two halves, so that another request can go out on the same
 * connection before the add is answered: the add is "sent" from the first. */
int          cj_directory_add_send     (CjDirectory *directory, LDAP *ld, const char *dn,
                                        LDAPMod **mods, LDAPControl **controls, int *msgid);
int          cj_directory_write_wait   (CjDirectory *directory, LDAP *ld, int msgid,
                                        LDAPControl ***response);
int          cj_directory_rename (CjDirectory *directory, LDAP *ld, const char *dn, const char *new_rdn,
                                  gboolean delete_old);

/* Opens a new bound connection (for the follower's long-running search). Blocking: call it
 * from a worker thread only. */
LDAP        *cj_directory_open         (CjDirectory *directory, GError **error);

/* Sets @error from an LDAP result code, in words an administrator can act on. @what says
 * what was being done ("adding user guest"). Returns FALSE for convenience. */
gboolean     cj_directory_set_error    (CjDirectory *directory, GError **error, int rc,
                                        LDAP *ld, const char *what);
gboolean     cj_directory_error_is_connection (int rc);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjDirectory, cj_directory_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LDAPMessage, ldap_msgfree)

G_END_DECLS
