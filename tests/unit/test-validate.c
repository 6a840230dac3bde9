/* The checks of caller input (service/cj-validate.c). */
#include "config.h"

#include <string.h>

#include "cj-error.h"
#include "cj-validate.h"

typedef gboolean (*Check) (const char *, GError **);

static void
expect (Check check, const char *value, gboolean valid)
{
  g_autoptr(GError) error = NULL;
  gboolean result = check (value, &error);

  if (result != valid)
    g_error ("“%s”: expected %s, got %s", value, valid ? "valid" : "invalid",
             error != NULL ? error->message : "valid");
  if (!valid)
    {
      g_assert_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT);
      g_assert_cmpstr (error->message, !=, "");
    }
}

static void
test_user_names (void)
{
  static const char *const good[] = { "guest", "a", "ivan.petrov", "user_1", "x-y", "0day", NULL };
  static const char *const bad[] = {
    "", "Guest", "a b", "a@b", "a/b", "a\\b", "a\"b", "a&b", "a'b", "a:b", "a<b", "a>b",
    "a\tb", "a\nb", ".", "..", ".hidden", "-x", "иван", "a*b", "a(b)", "a,b", "a=b", "a+b", NULL
  };
  g_autofree char *long_name = g_strnfill (65, 'a');
  g_autofree char *max_name = g_strnfill (64, 'a');

  for (const char *const *n = good; *n != NULL; n++)
    expect (cj_validate_user_name, *n, TRUE);
  for (const char *const *n = bad; *n != NULL; n++)
    expect (cj_validate_user_name, *n, FALSE);
  expect (cj_validate_user_name, max_name, TRUE);
  expect (cj_validate_user_name, long_name, FALSE);
  expect (cj_validate_user_name, "\xff\xfe", FALSE);
}

static void
test_nicknames (void)
{
  g_autofree char *long_nick = g_strnfill (129, 'n');
  GString *cyrillic = g_string_new (NULL);

  expect (cj_validate_nickname, "Гость", TRUE);
  expect (cj_validate_nickname, "", TRUE);          /* the account name */
  expect (cj_validate_nickname, "   ", FALSE);
  expect (cj_validate_nickname, "John \"JJ\" O'Neil <boss>", TRUE);
  expect (cj_validate_nickname, long_nick, FALSE);
  expect (cj_validate_nickname, "a\nb", FALSE);
  expect (cj_validate_nickname, "a\x7f", FALSE);
  expect (cj_validate_nickname, "\xc3\x28", FALSE);
  /* Characters, not bytes: 128 Cyrillic letters are 256 bytes and fine. */
  for (int i = 0; i < 128; i++)
    g_string_append (cyrillic, "ж");
  expect (cj_validate_nickname, cyrillic->str, TRUE);
  g_string_free (cyrillic, TRUE);
}

static void
test_group_names (void)
{
  expect (cj_validate_group_name, "Тестовая группа", TRUE);
  expect (cj_validate_group_name, "Guest group", TRUE);
  expect (cj_validate_group_name, "a,b=c+d\\e#f;g", TRUE);
  expect (cj_validate_group_name, "", FALSE);
  expect (cj_validate_group_name, "   ", FALSE);
  expect (cj_validate_group_name, " leading", FALSE);
  expect (cj_validate_group_name, "trailing ", FALSE);
  expect (cj_validate_group_name, "tab\there", FALSE);
}

static void
test_passwords (void)
{
  g_autofree char *max = g_strnfill (256, 'p');
  g_autofree char *too_long = g_strnfill (257, 'p');

  /* The policy: 8 characters (not bytes) unless configured. */
  expect (cj_validate_password, "secret", FALSE);
  expect (cj_validate_password, "secret-8", TRUE);
  expect (cj_validate_password, "пароль-8", TRUE);
  cj_validate_set_password_min_length (1);
  expect (cj_validate_password, "s", TRUE);
  cj_validate_set_password_min_length (CJ_DEFAULT_PASSWORD_MIN_LENGTH);
  expect (cj_validate_password, "пароль с пробелом", TRUE);
  expect (cj_validate_password, max, TRUE);
  expect (cj_validate_password, too_long, FALSE);
  expect (cj_validate_password, "", FALSE);
  expect (cj_validate_password, "a\nb", FALSE);
}

static void
test_hosts (void)
{
  expect (cj_validate_host, "example.org", TRUE);
  expect (cj_validate_host, "jabber.myhost.ru", TRUE);
  expect (cj_validate_host, "localhost", TRUE);
  expect (cj_validate_host, "", FALSE);
  expect (cj_validate_host, "a..b", FALSE);
  expect (cj_validate_host, "-a.b", FALSE);
  expect (cj_validate_host, "a_b.c", FALSE);
  expect (cj_validate_host, "a b", FALSE);
  expect (cj_validate_host, "host\"; rm", FALSE);
  expect (cj_validate_ip_address, "192.168.1.6", TRUE);
  expect (cj_validate_ip_address, "::1", TRUE);
  expect (cj_validate_ip_address, "192.168.1", FALSE);
  expect (cj_validate_ip_address, "{192,168,1,6}", FALSE);
  /* GLib's g_hostname_is_ip_address() takes these; ejabberd would not listen on them. */
  expect (cj_validate_ip_address, ":", FALSE);
  expect (cj_validate_ip_address, ":%5", FALSE);
  expect (cj_validate_ip_address, "::%2", FALSE);
}

/* IPv6 zones: an interface name or number, nothing else (the address lands in ejabberd's
 * YAML and its logs). */
static void
test_scope_ids (void)
{
  static const char *const good[] = {
    "fe80::1%eth0", "fe80::1%2", "fe80::1%enp0s31f6", "fe80::1%br-lan.10", "fe80::1%wlan_0",
    "fe80::1%abcdefghijklmno" /* 15 = IFNAMSIZ - 1 */, "fe80::1%4294967295", "::1%lo", NULL
  };
  static const char *const bad[] = {
    "fe80::1%", "fe80::1%abcdefghijklmnop" /* 16 */, "fe80::1%eth0\n", "fe80::1%eth 0",
    "fe80::1%eth0\"", "fe80::1%eth0'", "fe80::1%eth0\\", "fe80::1%eth0/24", "fe80::1%eth0%1",
    "fe80::1%eth0:1", "fe80::1%eth\x01", "fe80::1%эт0", "fe80::1%.", "fe80::1%..", "fe80::1%../x",
    "fe80::1%4294967296", "fe80::1%99999999999999", "fe80::1%{a}", "fe80::1%a}\n- x: y",
    "fe80::1%$(id)", "fe80::1%`id`", "fe80::1%*", "192.168.1.6%eth0", "%eth0", "fe80::1%%",
    "fe80::zz%eth0", "host%eth0", "fe80::1%eth0\r\nip: 0.0.0.0", NULL
  };

  for (const char *const *a = good; *a != NULL; a++)
    expect (cj_validate_ip_address, *a, TRUE);
  for (const char *const *a = bad; *a != NULL; a++)
    expect (cj_validate_ip_address, *a, FALSE);
  {
    /* The refused value comes back escaped in the message. */
    g_autoptr(GError) error = NULL;
    g_assert_false (cj_validate_ip_address ("1.2.3\n4\x1b[31m", &error));
    g_assert_null (strchr (error->message, '\n'));
    g_assert_null (strchr (error->message, '\x1b'));
  }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/validate/user-names", test_user_names);
  g_test_add_func ("/validate/nicknames", test_nicknames);
  g_test_add_func ("/validate/group-names", test_group_names);
  g_test_add_func ("/validate/passwords", test_passwords);
  g_test_add_func ("/validate/hosts", test_hosts);
  g_test_add_func ("/validate/scope-ids", test_scope_ids);
  return g_test_run ();
}
