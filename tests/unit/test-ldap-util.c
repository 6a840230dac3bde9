/* DNs and filters built from hostile names (service/cj-ldap-util.c): every name must come
 * back unchanged from the DN it was put into, and never change the DN's structure. */
#include "config.h"

#include <string.h>

#include "cj-ldap-util.h"

static void
check_round_trip (const char *value)
{
  g_autofree char *dn = cj_ldap_child_dn ("cn", value, "ou=Groups,dc=example,dc=org");
  LDAPDN parsed = NULL;

  g_assert_nonnull (dn);
  g_assert_cmpint (ldap_str2dn (dn, &parsed, LDAP_DN_FORMAT_LDAPV3), ==, LDAP_SUCCESS);
  /* Exactly one RDN with one AVA was added in front of the 3 of the parent. */
  g_assert_nonnull (parsed[0]);
  g_assert_null (parsed[0][1]);
  for (int i = 1; i <= 3; i++)
    g_assert_nonnull (parsed[i]);
  g_assert_null (parsed[4]);
  g_assert_cmpint (parsed[0][0]->la_value.bv_len, ==, strlen (value));
  g_assert_cmpmem (parsed[0][0]->la_value.bv_val, parsed[0][0]->la_value.bv_len, value, strlen (value));
  ldap_dnfree (parsed);
}

static void
test_child_dn (void)
{
  static const char *const values[] = {
    "guest", "Тестовая группа", "Guest group", "a,ou=Admins", "a+cn=b", "a\\b", "#hash",
    " lead", "trail ", "q\"uote", "<x>", "semi;colon", "eq=ual", "ж,ё+й", NULL
  };

  for (const char *const *v = values; *v != NULL; v++)
    check_round_trip (*v);
}

static void
test_filter_escape (void)
{
  struct { const char *in, *out; } cases[] = {
    { "guest", "guest" },
    { "*", "\\2a" },
    { "a)(uid=*", "a\\29\\28uid=\\2a" },
    { "back\\slash", "back\\5cslash" },
    /* Non-ASCII bytes escaped too: valid, and safe whatever the server does with UTF-8. */
    { "Гость", "\\d0\\93\\d0\\be\\d1\\81\\d1\\82\\d1\\8c" },
    /* libldap gives back no string at all for an empty value (found by fuzz-ldap-util). */
    { "", "" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *escaped = cj_ldap_escape_filter (cases[i].in);
      g_assert_nonnull (escaped);
      /* libldap writes the hex digits in either case: both are valid RFC 4515. */
      g_assert_cmpint (g_ascii_strcasecmp (escaped, cases[i].out), ==, 0);
    }
}

static void
test_uuid (void)
{
  g_autofree char *hex = cj_ldap_uuid_from_text ("177679DA-7c1f-1041-88aa-ad04c1d36bc7");
  struct berval raw = { 16, (char *) "\x17\x76\x79\xda\x7c\x1f\x10\x41\x88\xaa\xad\x04\xc1\xd3\x6b\xc7" };
  g_autofree char *from_raw = cj_ldap_uuid_from_bytes (&raw);

  g_assert_cmpstr (hex, ==, "177679da7c1f104188aaad04c1d36bc7");
  g_assert_cmpstr (from_raw, ==, hex);
  g_assert_null (cj_ldap_uuid_from_text ("not-a-uuid"));
}

/* The follower's cheap check of where an entry is, against DNs libldap built. */
static void
test_is_child_of (void)
{
  static const char parent[] = "ou=Users,ou=Jabber,dc=example,dc=org";
  static const char *const values[] = { "guest", "a,ou=Admins", "a\\b", "ж,ё+й", "trail ", NULL };

  for (const char *const *v = values; *v != NULL; v++)
    {
      g_autofree char *dn = cj_ldap_child_dn ("uid", *v, parent);
      g_autofree char *grandchild = g_strdup_printf ("uid=x,%s", dn);

      g_assert_true (cj_ldap_dn_is_child_of (dn, parent));
      g_assert_false (cj_ldap_dn_is_child_of (grandchild, parent));
    }
  g_assert_true (cj_ldap_dn_is_child_of ("UID=a,OU=users,ou=Jabber,DC=example,dc=org", parent));
  g_assert_false (cj_ldap_dn_is_child_of (parent, parent));
  g_assert_false (cj_ldap_dn_is_child_of ("uid=a\\,ou=Users,ou=Jabber,dc=example,dc=org", parent));
  g_assert_false (cj_ldap_dn_is_child_of ("uid=a,ou=Users,ou=Jabber,dc=example,dc=org,dc=x", parent));
  g_assert_false (cj_ldap_dn_is_child_of ("", parent));
}

/* The in-place BER reader of entries and sync controls: short and long lengths, and every
 * way an element can overrun its buffer. */
static void
test_ber_next (void)
{
  static const guchar good[] = { 0x04, 0x02, 'h', 'i', 0x31, 0x81, 0x03, 0x04, 0x01, 'x' };
  static const guchar bad[][6] = {
    { 0x04, 0x05, 'a' },                   /* content past the end */
    { 0x04, 0x80, 0, 0 },                  /* indefinite length */
    { 0x04, 0x85, 1, 1, 1, 1 },            /* a length of five octets */
    { 0x04, 0x82, 0x01 },                  /* the length itself cut */
    { 0x1f, 0x01, 0x00 },                  /* a tag of several octets */
  };
  static const gsize bad_len[] = { 3, 4, 6, 3, 3 };
  const guchar *p = good, *end = good + sizeof good;
  struct berval content;
  guchar tag;

  g_assert_true (cj_ldap_ber_next (&p, end, &tag, &content));
  g_assert_cmpint (tag, ==, 0x04);
  g_assert_cmpmem (content.bv_val, content.bv_len, "hi", 2);
  g_assert_true (cj_ldap_ber_next (&p, end, &tag, &content));
  g_assert_cmpint (tag, ==, 0x31);
  g_assert_cmpuint (content.bv_len, ==, 3);
  g_assert_true (p == end);
  g_assert_false (cj_ldap_ber_next (&p, end, &tag, &content));
  for (gsize i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      p = bad[i];
      g_assert_false (cj_ldap_ber_next (&p, bad[i] + bad_len[i], &tag, &content));
      g_assert_true (p == bad[i]);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/ldap/child-dn", test_child_dn);
  g_test_add_func ("/ldap/ber-next", test_ber_next);
  g_test_add_func ("/ldap/filter-escape", test_filter_escape);
  g_test_add_func ("/ldap/uuid", test_uuid);
  g_test_add_func ("/ldap/is-child-of", test_is_child_of);
  return g_test_run ();
}
