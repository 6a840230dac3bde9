/* Secrets from getrandom(2) (service/cj-secret.c) and the yescrypt password hashes made with
 * them (service/cj-password.c). */
#include "config.h"

#include <crypt.h>
#include <string.h>

#include "cj-password.h"
#include "cj-secret.h"

#define ALPHABET "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"

static void
test_fill (void)
{
  guint8 a[64] = { 0 }, b[64] = { 0 }, zero[64] = { 0 };
  g_autoptr(GError) error = NULL;

  g_assert_true (cj_secret_fill (a, sizeof a, &error));
  g_assert_no_error (error);
  g_assert_true (cj_secret_fill (b, sizeof b, &error));
  /* 2^-512 chance of a false failure. */
  g_assert_true (memcmp (a, b, sizeof a) != 0);
  g_assert_true (memcmp (a, zero, sizeof a) != 0);
  /* Zero bytes asked: nothing to do, success. */
  g_assert_true (cj_secret_fill (a, 0, &error));
  /* More than one getrandom() call may return (256 bytes and above can be split). */
  {
    g_autofree guint8 *big = g_malloc0 (1 << 20);
    g_assert_true (cj_secret_fill (big, 1 << 20, &error));
    g_assert_no_error (error);
    g_assert_true (memcmp (big + (1 << 20) - sizeof zero, zero, sizeof zero) != 0);
  }
}

static void
test_password (void)
{
  guint counts[256] = { 0 };
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (int round = 0; round < 200; round++)
    {
      g_autoptr(GError) error = NULL;
      char *password = cj_secret_password (32, &error);

      g_assert_no_error (error);
      g_assert_nonnull (password);
      g_assert_cmpuint (strlen (password), ==, 32);
      g_assert_cmpuint (strspn (password, ALPHABET), ==, 32);
      for (const char *p = password; *p != '\0'; p++)
        counts[(guint8) *p]++;
      g_assert_true (g_hash_table_add (seen, password));
    }
  /* 6400 draws of 57 letters, about 112 each: every letter shows (a biased or broken
   * generator, e.g. one byte repeated, would miss most). */
  for (const char *a = ALPHABET; *a != '\0'; a++)
    g_assert_cmpuint (counts[(guint8) *a], >, 30);
  {
    g_autofree char *empty = cj_secret_password (0, NULL);
    g_assert_cmpstr (empty, ==, "");
  }
}

static void
test_password_hash (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *first = cj_password_hash ("пароль secret", &error);
  g_autofree char *second = cj_password_hash ("пароль secret", &error);
  struct crypt_data data = { 0 };
  const char *again;

  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (first, "{CRYPT}$y$"));
  /* A fresh salt each time. */
  g_assert_cmpstr (first, !=, second);
  /* What slapd does at bind: crypt() with the stored hash as setting gives the hash back. */
  again = crypt_rn ("пароль secret", first + strlen ("{CRYPT}"), &data, sizeof data);
  g_assert_nonnull (again);
  g_assert_cmpstr (again, ==, first + strlen ("{CRYPT}"));
  again = crypt_rn ("пароль Secret", first + strlen ("{CRYPT}"), &data, sizeof data);
  g_assert_true (again == NULL || strcmp (again, first + strlen ("{CRYPT}")) != 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/secret/fill", test_fill);
  g_test_add_func ("/secret/password", test_password);
  g_test_add_func ("/secret/password-hash", test_password_hash);
  return g_test_run ();
}
