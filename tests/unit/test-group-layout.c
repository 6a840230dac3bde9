/* Group identifiers and the name filter (service/cj-group-layout.c): an identifier is what
 * ejabberd pastes into its group filter unescaped, so it must never hold filter syntax; a
 * name reaches LDAP only escaped. */
#include "config.h"

#include <string.h>

#include "cj-group-layout.h"

static void
test_new_ids_are_valid_and_distinct (void)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (int i = 0; i < 1000; i++)
    {
      char *id = cj_group_id_new ();

      g_assert_true (cj_group_id_is_valid (id));
      g_assert_cmpuint (strlen (id), ==, 17);
      g_assert_cmpuint (strspn (id, "g0123456789abcdef"), ==, 17);
      g_assert_false (g_hash_table_contains (seen, id));
      g_hash_table_add (seen, id);
    }
}

static void
test_invalid_ids (void)
{
  static const char *const bad[] = {
    "", "g", "g0123456789abcde", "g0123456789abcdef0", "G0123456789abcdef", "g0123456789ABCDEF",
    "x0123456789abcdef", "g012345678*abcdef", "g012345678)abcdef", "Staff", "*", NULL
  };

  g_assert_false (cj_group_id_is_valid (NULL));
  for (const char *const *b = bad; *b != NULL; b++)
    g_assert_false (cj_group_id_is_valid (*b));
  g_assert_true (cj_group_id_is_valid ("g0123456789abcdef"));
}

static void
test_name_filter_escapes (void)
{
  g_autofree char *star = cj_group_name_filter ("*");
  g_autofree char *inject = cj_group_name_filter ("x)(|(cn=*");
  g_autofree char *slash = cj_group_name_filter ("back\\slash");

  g_assert_cmpstr (star, ==, "(&(objectClass=posixGroup)(|(description=\\2A)(&(!(description=*))(cn=\\2A))))");
  g_assert_cmpstr (inject, ==, "(&(objectClass=posixGroup)(|(description=x\\29\\28|\\28cn=\\2A)"
                                "(&(!(description=*))(cn=x\\29\\28|\\28cn=\\2A))))");
  g_assert_nonnull (strstr (slash, "(description=back\\5Cslash)"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/group-layout/new-ids", test_new_ids_are_valid_and_distinct);
  g_test_add_func ("/group-layout/invalid-ids", test_invalid_ids);
  g_test_add_func ("/group-layout/name-filter", test_name_filter_escapes);
  return g_test_run ();
}
