/* ejabberd.yml rendering (service/cj-ejabberd-config.c): every value is a YAML
 * double-quoted scalar that holds exactly the value. Characters YAML refuses (DEL, C1
 * controls, a BOM) or folds like a newline (NEL, LS, PS) made the whole file unreadable or
 * changed the value: found by tests/fuzz/fuzz-ejabberd-config, which checks the same with
 * libyaml itself. */
#include "config.h"

#include <string.h>

#include "cj-ejabberd-config.h"

static char *
render_with_password (const char *password)
{
  const char *hosts[] = { "example.org", NULL };
  CjEjabberdSettings s = {
    .hosts = hosts, .history = FALSE, .history_dir = "/h", .listen = "",
    .certificate_file = "/etc/ejabberd/cert.pem", .client_port = 5222, .server_port = 5269,
    .ldap_server = "127.0.0.1", .ldap_port = 389, .ldap_rootdn = "cn=ejabberd,dc=example,dc=org",
    .ldap_password = password, .users_dn = "ou=Users,dc=example,dc=org",
    .jabber_dn = "ou=Jabber,dc=example,dc=org",
  };

  return cj_ejabberd_config_render (&s);
}

static void
expect_password_line (const char *password, const char *line)
{
  g_autofree char *yml = render_with_password (password);
  g_autofree char *expected = g_strdup_printf ("\nldap_password: %s\n", line);

  g_assert_true (g_utf8_validate (yml, -1, NULL));
  if (strstr (yml, expected) == NULL)
    g_error ("expected%s in:\n%s", expected, yml);
}

static void
test_plain_values (void)
{
  expect_password_line ("s3cret", "\"s3cret\"");
  expect_password_line ("a \"quoted\" \\ word", "\"a \\\"quoted\\\" \\\\ word\"");
  /* Printable non-ASCII stays as it is. */
  expect_password_line ("пароль€", "\"пароль€\"");
}

static void
test_control_characters_escaped (void)
{
  expect_password_line ("a\nb\tc", "\"a\\x0ab\\x09c\"");
  expect_password_line ("del\x7f", "\"del\\x7f\"");
  expect_password_line ("c1\xc2\x80", "\"c1\\x80\"");
}

static void
test_line_breaks_escaped (void)
{
  expect_password_line ("nel\xc2\x85", "\"nel\\x85\"");
  expect_password_line ("ls\xe2\x80\xa8ps\xe2\x80\xa9", "\"ls\\u2028ps\\u2029\"");
  expect_password_line ("bom\xef\xbb\xbf", "\"bom\\ufeff\"");
  expect_password_line ("nonchar\xef\xbf\xbf", "\"nonchar\\uffff\"");
}

static void
test_invalid_utf8_replaced (void)
{
  expect_password_line ("bad\xff", "\"bad\xef\xbf\xbd\"");
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ejabberd-config/plain", test_plain_values);
  g_test_add_func ("/ejabberd-config/control-characters", test_control_characters_escaped);
  g_test_add_func ("/ejabberd-config/line-breaks", test_line_breaks_escaped);
  g_test_add_func ("/ejabberd-config/invalid-utf8", test_invalid_utf8_replaced);
  return g_test_run ();
}
