/* entryCSN parsing, sync cookies kept per server id, and the group rule (service/cj-csn.c). */
#include "config.h"

#include <string.h>

#include "cj-csn.h"

#define CSN_A1 "20261202053549.123456Z#000000#001#000000"
#define CSN_A2 "20261202053550.000001Z#000002#001#000000"
#define CSN_B1 "20261202053549.500000Z#000000#002#000000"
#define CSN_Z  "20261202053549.500000Z#000000#fff#000000"

static void
test_server_id (void)
{
  g_assert_cmpint (cj_csn_server_id (CSN_A1), ==, 1);
  g_assert_cmpint (cj_csn_server_id (CSN_B1), ==, 2);
  g_assert_cmpint (cj_csn_server_id (CSN_Z), ==, 0xfff);
  g_assert_cmpint (cj_csn_server_id ("20261202053549.123456Z#000000#000#000000"), ==, 0);
  g_assert_cmpint (cj_csn_server_id (NULL), ==, -1);
  g_assert_cmpint (cj_csn_server_id (""), ==, -1);
  g_assert_cmpint (cj_csn_server_id ("20261202053549.123456Z#000000#001#00000"), ==, -1);
  g_assert_cmpint (cj_csn_server_id ("20261202053549.123456Z#000000#001#0000000"), ==, -1);
  g_assert_cmpint (cj_csn_server_id ("20261202053549.123456Z#000000#0g1#000000"), ==, -1);
  g_assert_cmpint (cj_csn_server_id ("2026120205354x.123456Z#000000#001#000000"), ==, -1);
  g_assert_cmpint (cj_csn_server_id ("20261202053549,123456Z#000000#001#000000"), ==, -1);
  g_assert_false (cj_csn_valid ("20261202053549.123456Z#000000#001#000000", 39));
}

static void
test_cookie_keeps_newest_per_server (void)
{
  g_autoptr(CjSyncCookie) cookie = cj_sync_cookie_new ();
  g_autofree char *text = NULL;
  const char *first = "rid=000,sid=001,csn=" CSN_A1 ";" CSN_B1;
  const char *older = "rid=000,sid=001,csn=20200101000000.000000Z#000000#001#000000";
  const char *newer = "rid=000,sid=001,csn=" CSN_A2;

  g_assert_true (cj_sync_cookie_is_empty (cookie));
  g_assert_null (cj_sync_cookie_to_string (cookie));
  g_assert_cmpuint (cj_sync_cookie_merge (cookie, first, strlen (first)), ==, 2);
  g_assert_cmpuint (cj_sync_cookie_merge (cookie, older, strlen (older)), ==, 0);
  /* A persist-phase cookie with one server's CSN replaces only that server's. */
  g_assert_cmpuint (cj_sync_cookie_merge (cookie, newer, strlen (newer)), ==, 1);
  text = cj_sync_cookie_to_string (cookie);
  g_assert_cmpstr (text, ==, "rid=000,csn=" CSN_A2 ";" CSN_B1);
}

static void
test_cookie_ignores_garbage (void)
{
  g_autoptr(CjSyncCookie) cookie = cj_sync_cookie_new ();
  g_autoptr(CjSyncCookie) other = cj_sync_cookie_new ();
  g_autofree char *text = NULL;
  const char *const bad[] = {
    "", "rid=000", "csn=", "csn=;;;", "rid=000,csn=garbage", "csn=" CSN_A1 "x",
    "rid=000,csn=" CSN_A1 ",rid=001", /* taken: the csn field is valid */
    NULL
  };
  const char with_nul[] = "csn=" CSN_A1 "\0;" CSN_B1;

  for (const char *const *b = bad; *b != NULL; b++)
    cj_sync_cookie_merge (cookie, *b, strlen (*b));
  g_assert_cmpuint (cj_sync_cookie_merge (cookie, with_nul, sizeof with_nul - 1), ==, 0);
  text = cj_sync_cookie_to_string (cookie);
  g_assert_cmpstr (text, ==, "rid=000,csn=" CSN_A1);
  g_clear_pointer (&text, g_free);

  /* Not NUL-terminated input is read to its length only. */
  g_assert_cmpuint (cj_sync_cookie_merge (other, "csn=" CSN_Z "ignored", 4 + CJ_CSN_LENGTH), ==, 1);
  cj_sync_cookie_merge_all (cookie, other);
  text = cj_sync_cookie_to_string (cookie);
  g_assert_cmpstr (text, ==, "rid=000,csn=" CSN_A1 ";" CSN_Z);
  cj_sync_cookie_clear (cookie);
  g_assert_true (cj_sync_cookie_is_empty (cookie));
}

static void
test_cookie_covers (void)
{
  g_autoptr(CjSyncCookie) cookie = cj_sync_cookie_new ();
  g_autoptr(CjSyncCookie) copy = NULL;
  const char *text = "rid=000,csn=" CSN_A2;

  cj_sync_cookie_merge (cookie, text, strlen (text));
  copy = cj_sync_cookie_copy (cookie);
  g_assert_true (cj_sync_cookie_covers (copy, CSN_A1));           /* older, same server */
  g_assert_true (cj_sync_cookie_covers (copy, CSN_A2));           /* the same write */
  g_assert_false (cj_sync_cookie_covers (copy, "20261202053551.000000Z#000000#001#000000"));
  g_assert_true (cj_sync_cookie_covers (copy, CSN_B1));           /* a server it does not know */
  g_assert_true (cj_sync_cookie_covers (copy, NULL));
  g_assert_true (cj_sync_cookie_covers (copy, "garbage"));
}

static void
test_group_rule (void)
{
  /* The newer entryCSN keeps the user, whatever the names. */
  g_assert_cmpint (cj_group_claim_compare (CSN_A2, "Zeta", "cn=2", CSN_A1, "Alpha", "cn=1"), <, 0);
  g_assert_cmpint (cj_group_claim_compare (CSN_A1, "Alpha", "cn=1", CSN_A2, "Zeta", "cn=2"), >, 0);
  /* Across servers: the time decides. */
  g_assert_cmpint (cj_group_claim_compare (CSN_B1, "B", "cn=b", CSN_A1, "A", "cn=a"), <, 0);
  /* Equal CSNs: the name in byte order, then the DN. */
  g_assert_cmpint (cj_group_claim_compare (CSN_A1, "Alpha", "cn=2", CSN_A1, "Beta", "cn=1"), <, 0);
  g_assert_cmpint (cj_group_claim_compare (CSN_A1, "Beta", "cn=1", CSN_A1, "Alpha", "cn=2"), >, 0);
  g_assert_cmpint (cj_group_claim_compare (CSN_A1, "Alpha", "cn=1", CSN_A1, "Alpha", "cn=2"), <, 0);
  /* No CSN (another tool's read without it) is the oldest. */
  g_assert_cmpint (cj_group_claim_compare (NULL, "Alpha", "cn=1", CSN_A1, "Zeta", "cn=2"), >, 0);
  g_assert_cmpint (cj_group_claim_compare (NULL, "Alpha", "cn=1", NULL, "Zeta", "cn=2"), <, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/csn/server-id", test_server_id);
  g_test_add_func ("/csn/cookie-newest-per-server", test_cookie_keeps_newest_per_server);
  g_test_add_func ("/csn/cookie-garbage", test_cookie_ignores_garbage);
  g_test_add_func ("/csn/cookie-covers", test_cookie_covers);
  g_test_add_func ("/csn/group-rule", test_group_rule);
  return g_test_run ();
}
