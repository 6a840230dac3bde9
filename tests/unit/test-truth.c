/* The pure parts of "true answers" and "the administrator is protected": whether a stored
 * hash is of a password (a lost answer's outcome is judged by it), and which account names
 * ejabberd treats as its administrator. */
#include "config.h"

#include <glib.h>

#include "cj-ejabberd-config.h"
#include "cj-password.h"

static void
test_password_matches (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *hash = cj_password_hash ("s3cret", &error);

  g_assert_no_error (error);
  g_assert_true (cj_password_matches ("s3cret", hash));
  g_assert_false (cj_password_matches ("s3cre", hash));
  g_assert_false (cj_password_matches ("", hash));
  /* Schemes that are not ours, and nonsense, never match. */
  g_assert_false (cj_password_matches ("s3cret", "s3cret"));
  g_assert_false (cj_password_matches ("s3cret", "{SSHA}aGVsbG8="));
  g_assert_false (cj_password_matches ("s3cret", "{CRYPT}"));
  g_assert_false (cj_password_matches ("s3cret", "{CRYPT}*"));
  g_assert_false (cj_password_matches ("s3cret", NULL));
  g_assert_false (cj_password_matches (NULL, hash));
}

static void
test_admin_names (void)
{
  g_assert_true (cj_ejabberd_config_is_admin ("admin"));
  /* LDAP's uid and ejabberd's JIDs ignore case: an entry "Admin" logs in as admin. */
  g_assert_true (cj_ejabberd_config_is_admin ("Admin"));
  g_assert_true (cj_ejabberd_config_is_admin ("ADMIN"));
  g_assert_false (cj_ejabberd_config_is_admin ("admin2"));
  g_assert_false (cj_ejabberd_config_is_admin ("admi"));
  g_assert_false (cj_ejabberd_config_is_admin (""));
  g_assert_false (cj_ejabberd_config_is_admin (NULL));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/truth/password-matches", test_password_matches);
  g_test_add_func ("/truth/admin-names", test_admin_names);
  return g_test_run ();
}
