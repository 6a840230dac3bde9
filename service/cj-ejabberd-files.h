/* The files `cl-setup jabber` writes for ejabberd, in a worker thread: the configuration
 * (atomically, keeping the previous one as <file>.previous), the TLS certificate (given, or
 * self-signed with openssl when there is none) and the history directory. They hold secrets
 * (ejabberd's LDAP password, the TLS key): 0640, group of the directory they are in (the
 * group ejabberd runs as on Debian and Gentoo). */
#pragma once

#include <gio/gio.h>

#include "cj-ejabberd-config.h"

G_BEGIN_DECLS

typedef struct {
  char    *config_file;
  char    *certificate_file;
  char    *secret_file;        /* ejabberd's LDAP password, from cl-setup ldap */
  int      certificate_fd;     /* a PEM given by the caller, or -1 */
  gboolean renew_self_signed;  /* make the self-signed certificate again (hosts changed) */
  gboolean made_self_signed;   /* out: a self-signed certificate was made */
  char   **hosts;
  gboolean history;
  char    *history_dir;
  char    *listen;
  guint    client_port, server_port, ldap_port;
  char    *ldap_server, *ldap_rootdn, *users_dn, *jabber_dn;
  char    *api_socket;         /* NULL: no API listener */
} CjEjabberdFiles;

void       cj_ejabberd_files_free (CjEjabberdFiles *files);

/* What the renderer is given for @files (borrowed pointers; @password the LDAP secret). The
 * one place, for writing the files and for Verify's comparison. */
void       cj_ejabberd_files_settings (const CjEjabberdFiles *files, const char *password,
                                       CjEjabberdSettings *settings);

/* Writes everything; returns report lines. (transfer full) @files. */
void       cj_ejabberd_files_write_async  (CjEjabberdFiles *files, GAsyncReadyCallback callback,
                                           gpointer user_data);
GPtrArray *cj_ejabberd_files_write_finish (GAsyncResult *result, gboolean *made_self_signed,
                                           GError **error);

/* Puts <config_file>.previous back (after ejabberd refused the new one). */
gboolean   cj_ejabberd_files_restore      (const char *config_file, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjEjabberdFiles, cj_ejabberd_files_free)

G_END_DECLS
