/* calculate-jabberd's configuration: a GKeyFile, /etc/calculate-jabber/calculate-jabberd.conf
 * by default (--config overrides). Every key has a default; an unknown key is ignored
 * with a warning so that an old daemon can read a newer file.
 *
 *   [Directory]
 *   Uri=ldapi:///                   LDAP URI (ldap://, ldaps://, ldapi://)
 *   BaseDn=dc=example,dc=org        the directory's base DN
 *   BindDn=cn=admin,dc=example,dc=org   simple bind DN; empty: SASL EXTERNAL (ldapi as root)
 *   BindPasswordFile=/etc/calculate-jabber/ldap.secret   root-only file holding the password
 *   Timeout=5                       seconds before an unanswered LDAP operation fails
 *   DatabaseDirectory=/var/lib/ldap/calculate-jabber   where `cl-setup ldap` puts a new
 *                                   database in the local slapd (ldapi + EXTERNAL only)
 *
 *   [Ejabberd]
 *   ConfigFile=/etc/ejabberd/ejabberd.yml
 *   CertificateFile=/etc/ejabberd/calculate-jabber.pem   TLS certificate + key (PEM)
 *   ClientPort=5222                 client (c2s) port, STARTTLS required
 *   ServerPort=5269                 server-to-server (s2s) port
 *   LdapServer=                     how ejabberd reaches LDAP (host); default: the host of
 *   LdapPort=                       [Directory] Uri, or 127.0.0.1:389 for ldapi://
 *   StateDirectory=/var/lib/calculate-jabber
 *   HistoryDirectory=/var/log/jabber
 *   ServiceManager=auto             auto | systemd | openrc | command
 *   RestartCommand=                 argv for ServiceManager=command (no shell)
 *   ControlCommand=ejabberdctl      argv prefix for ejabberdctl-style commands (the fallback
 *                                   when the API socket is absent, and nothing else)
 *   ApiSocket=/run/calculate-jabber/api.sock   ejabberd's private API listener (mod_http_api
 *                                   on a Unix socket, rendered by setup); its directory is
 *                                   0700 ejabberd (root and ejabberd only). Empty: none.
 *
 *   [Authorization]
 *   Timeout=25                      seconds to wait for polkitd (interactive: 2 minutes)
 *
 * Hidden (not in the shipped file; for the tests):
 *
 *   [Limits]
 *   ManagedObjectsMaxBytes=25165824 the largest GetManagedObjects reply (24 MiB) the daemon
 *                                   builds; above it the call fails with LimitsExceeded.
 *                                   dbus-daemon disconnects a sender over its 32 MiB
 *                                   max_message_size, so this stays well below that.
 *   IntrospectMaxNodes=1000         Introspect of .../Users or .../Groups names the child
 *                                   nodes only up to this many (see cj-tree.c).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The longest [Ejabberd] ApiSocket: sun_path is 108 bytes with its NUL. */
#define CJ_API_SOCKET_MAX 100

typedef struct {
  char  *path;                 /* the file it was read from */

  char  *ldap_uri;
  char  *base_dn;
  char  *bind_dn;              /* NULL: SASL EXTERNAL */
  char  *bind_password_file;   /* NULL: none */
  guint  ldap_timeout;         /* seconds */
  char  *database_dir;
  guint  server_id;            /* [Directory] ServerId: the provider's olcServerID, 0 for one node */
  gboolean auto_repair;        /* [Directory] AutoRepair: repair a user in several groups */

  char  *certificate_file;
  guint  client_port;
  guint  server_port;
  char  *ejabberd_ldap_server;
  guint  ejabberd_ldap_port;

  char  *ejabberd_config;
  char  *state_dir;
  char  *history_dir;
  char  *service_manager;
  char **restart_command;      /* NULL-terminated, may be NULL */
  char **control_command;      /* NULL-terminated */
  char  *api_socket;           /* NULL: no API listener, ejabberdctl only */

  guint  auth_timeout;         /* seconds */

  guint64 max_reply_bytes;     /* [Limits] ManagedObjectsMaxBytes */
  guint  introspect_max_nodes; /* [Limits] IntrospectMaxNodes */
  guint  password_min_length;  /* [Passwords] MinimumLength, characters */
} CjConfig;

CjConfig *cj_config_load (const char *path, GError **error);
void      cj_config_free (CjConfig *config);
/* Reads the bind password; never logged. NULL with no error when there is no file. */
char     *cj_config_read_bind_password (const CjConfig *config, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjConfig, cj_config_free)

G_END_DECLS
