/* The rendered ejabberd.yml's API link (issue 11): one Unix-socket listener for
 * mod_http_api, admitted by its tag for exactly the daemon's commands, no TCP API; and the
 * daemon's [Ejabberd] ApiSocket key checked. */
#include "config.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "cj-error.h"

#include "cj-config.h"
#include "cj-ejabberd-config.h"

static char *
render (const char *api_socket)
{
  const char *hosts[] = { "example.org", "second.example.org", NULL };
  CjEjabberdSettings s = {
    .hosts = hosts, .history = FALSE, .history_dir = "/var/log/jabber", .listen = "",
    .certificate_file = "/etc/ejabberd/c.pem", .client_port = 5222, .server_port = 5269,
    .ldap_server = "127.0.0.1", .ldap_port = 389, .ldap_rootdn = "cn=ejabberd,dc=x",
    .ldap_password = "secret", .users_dn = "ou=Users,dc=x", .jabber_dn = "ou=Jabber,dc=x",
    .api_socket = api_socket,
  };
  return cj_ejabberd_config_render (&s);
}

static guint
count (const char *text, const char *needle)
{
  guint n = 0;

  for (const char *p = strstr (text, needle); p != NULL; p = strstr (p + 1, needle))
    n++;
  return n;
}

static void
test_api_listener (void)
{
  g_autofree char *yml = render ("/run/calculate-jabber/api.sock");
  g_autofree char *line = cj_ejabberd_config_api_line ("/run/calculate-jabber/api.sock");

  g_assert_true (g_str_has_prefix (yml, CJ_EJABBERD_CONFIG_HEADER));
  g_assert_nonnull (strstr (yml, "    port: \"unix:/run/calculate-jabber/api.sock\"\n"));
  g_assert_cmpuint (count (yml, "module: ejabberd_http"), ==, 1);
  g_assert_cmpuint (count (yml, "mod_http_api"), ==, 2);     /* the handler, the module */
  g_assert_nonnull (strstr (yml, "    tag: \"" CJ_API_TAG "\"\n"));
  g_assert_nonnull (strstr (yml, "      - tag: \"" CJ_API_TAG "\"\n"));
  g_assert_nonnull (strstr (yml, line));
  for (const char *const *c = cj_ejabberd_api_commands; *c != NULL; c++)
    {
      g_autofree char *item = g_strdup_printf ("      - %s\n", *c);
      g_assert_cmpuint (count (yml, item), ==, 1);
    }
  /* No other way in: no TCP HTTP listener, no loopback-admitted API. */
  g_assert_null (strstr (yml, "5280"));
  g_assert_null (strstr (yml, "5443"));
  g_assert_null (strstr (yml, "from: loopback"));
  g_assert_nonnull (strstr (yml, "  mod_pubsub:\n"));
}

static void
test_no_socket (void)
{
  g_autofree char *yml = render (NULL);

  g_assert_null (strstr (yml, "ejabberd_http"));
  g_assert_null (strstr (yml, CJ_API_TAG "\""));
  g_assert_null (cj_ejabberd_config_api_line (NULL));
}

static void
test_socket_quoted (void)
{
  g_autofree char *yml = render ("/run/a\"b/s");

  g_assert_nonnull (strstr (yml, "port: \"unix:/run/a\\\"b/s\""));
}

static CjConfig *
load (const char *text, GError **error)
{
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp ("cj-config-XXXXXX", &path, NULL);
  CjConfig *config;

  g_assert_cmpint (fd, >=, 0);
  close (fd);
  g_assert_true (g_file_set_contents (path, text, -1, NULL));
  config = cj_config_load (path, error);
  g_unlink (path);
  return config;
}

static void
test_config_key (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CjConfig) def = load ("[Ejabberd]\n", &error);
  g_autoptr(CjConfig) none = NULL;
  g_autoptr(CjConfig) mine = NULL;
  g_autofree char *long_path = g_strnfill (CJ_API_SOCKET_MAX, 'a');
  g_autofree char *too_long = NULL;

  g_assert_no_error (error);
  g_assert_cmpstr (def->api_socket, ==, "/run/calculate-jabber/api.sock");
  none = load ("[Ejabberd]\nApiSocket=\n", &error);
  g_assert_no_error (error);
  g_assert_null (none->api_socket);
  mine = load ("[Ejabberd]\nApiSocket=/run/x/s\n", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (mine->api_socket, ==, "/run/x/s");

  g_assert_null (load ("[Ejabberd]\nApiSocket=relative/s\n", &error));
  g_assert_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  long_path[0] = '/';
  too_long = g_strdup_printf ("[Ejabberd]\nApiSocket=%sb\n", long_path);
  g_assert_null (load (too_long, &error));
  g_assert_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ejabberd-api-config/api-listener", test_api_listener);
  g_test_add_func ("/ejabberd-api-config/no-socket", test_no_socket);
  g_test_add_func ("/ejabberd-api-config/socket-quoted", test_socket_quoted);
  g_test_add_func ("/ejabberd-api-config/config-key", test_config_key);
  return g_test_run ();
}
