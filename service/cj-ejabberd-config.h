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
} CjEjabberdSettings;

char *cj_ejabberd_config_render (const CjEjabberdSettings *settings);

/* The Jabber administrator: the account the rendered admin ACL lists on every host (and
 * that Setup creates). */
#define CJ_ADMIN_ACCOUNT "admin"

/* Whether ejabberd treats the account @name as an administrator. ASCII case is ignored:
 * LDAP matches uid without it and ejabberd lower-cases the JID, so an entry "Admin"
 * written beside the daemon logs in as admin@host. */
gboolean cj_ejabberd_config_is_admin (const char *name);

G_END_DECLS
