/* ejabberd's configuration (ejabberd.yml for ejabberd 23.01), rendered from the setup state.
 * Everything caller-given in it (hosts, listen address) is validated before; every string is
 * written YAML-quoted anyway. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct {
  const char *const *hosts;         /* primary host first */
  gboolean    history;
  const char *history_dir;
  const char *listen;               /* "" or NULL: every address */
  const char *certificate_file;
  guint       client_port;
  guint       server_port;
  const char *ldap_server;
  guint       ldap_port;
  const char *ldap_rootdn;          /* ejabberd's read-only identity */
  const char *ldap_password;
  const char *users_dn;
  const char *jabber_dn;            /* users and groups, for the shared roster */
  const char *api_socket;           /* the daemon's API listener; NULL: none */
} CjEjabberdSettings;

/* The API listener's tag, which api_permissions admits, and the only commands it may run
 * (the ones calculate-jabberd uses). */
#define CJ_API_TAG "calculate-jabberd"
extern const char *const cj_ejabberd_api_commands[];

/* The first line of every configuration the daemon renders. */
#define CJ_EJABBERD_CONFIG_HEADER "# Written by calculate-jabberd (cl-setup jabber)."

/* A line of the rendered configuration that names the socket and the commands: a
 * configuration without it was rendered by another version (NULL for no socket). */
char *cj_ejabberd_config_api_line (const char *api_socket);

char *cj_ejabberd_config_render (const CjEjabberdSettings *settings);

/* The Jabber administrator: the account the rendered admin ACL lists on every host (and
 * that Setup creates). */
#define CJ_ADMIN_ACCOUNT "admin"

/* Whether ejabberd treats the account @name as an administrator. ASCII case is ignored:
 * LDAP matches uid without it and ejabberd lower-cases the JID, so an entry "Admin"
 * written beside the daemon logs in as admin@host. */
gboolean cj_ejabberd_config_is_admin (const char *name);

G_END_DECLS
