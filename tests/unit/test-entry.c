/* The entry a write's answer brings in its post-read control (RFC 4527), read the way a
 * search result is (service/cj-entry.c): users, groups, and what is not ours or is
 * malformed. */
#include "config.h"

#include <string.h>

#include "cj-entry.h"
#include "cj-ldap-util.h"

#define USERS  "ou=Users,ou=Jabber,ou=Services,dc=example,dc=org"
#define GROUPS "ou=Groups,ou=Jabber,ou=Services,dc=example,dc=org"
#define UUID   "0f8fad5b-d9cb-469f-a165-70867728950e"

/* A control whose value is a SearchResultEntry: @dn, then attributes given as
 * "name", "value", ..., NULL for each, the list ending with a second NULL. */
static LDAPControl *
postread (const char *dn, const char *const *attrs)
{
  BerElement *ber = ber_alloc_t (LBER_USE_DER);
  struct berval value = { 0, NULL };
  LDAPControl *control = NULL;

  g_assert_cmpint (ber_printf (ber, "t{s{", (ber_tag_t) LDAP_RES_SEARCH_ENTRY, dn), !=, -1);
  while (*attrs != NULL)
    {
      g_assert_cmpint (ber_printf (ber, "{s[", *attrs++), !=, -1);
      for (; *attrs != NULL; attrs++)
        g_assert_cmpint (ber_printf (ber, "s", *attrs), !=, -1);
      attrs++;
      g_assert_cmpint (ber_printf (ber, "]}"), !=, -1);
    }
  g_assert_cmpint (ber_printf (ber, "}}"), !=, -1);
  g_assert_cmpint (ber_flatten2 (ber, &value, 0), !=, -1);
  g_assert_cmpint (ldap_control_create (LDAP_CONTROL_POST_READ, 0, &value, 1, &control), ==, LDAP_SUCCESS);
  ber_free (ber, 1);
  return control;
}

static CjEntry *
read_control (LDAPControl *control)
{
  LDAPControl *controls[] = { control, NULL };
  CjEntry *entry = cj_entry_new_from_postread (controls, USERS, GROUPS);

  ldap_control_free (control);
  return entry;
}

static void
test_user (void)
{
  static const char *const attrs[] = {
    "objectClass", "top", "person", "organizationalPerson", "inetOrgPerson", "shadowAccount", NULL,
    "entryUUID", UUID, NULL,
    "entryCSN", "20261202054100.000000Z#000000#000#000000", NULL,
    "uid", "guest", NULL,
    "cn", "guest", NULL,
    "sn", "Guest", NULL,
    "displayName", "Гость", NULL,
    "shadowExpire", "1", NULL,
    "userPassword", "{CRYPT}$y$j9T$salt$hash", NULL,
    "jpegPhoto", "\xff\xd8\xff", NULL,
    NULL
  };
  g_autoptr(CjEntry) entry = read_control (postread ("uid=guest," USERS, attrs));
  g_autofree char *uuid = cj_ldap_uuid_from_text (UUID);

  g_assert_nonnull (entry);
  g_assert_cmpint (entry->kind, ==, CJ_ENTRY_USER);
  g_assert_cmpstr (entry->dn, ==, "uid=guest," USERS);
  g_assert_cmpstr (entry->uuid, ==, uuid);
  g_assert_cmpstr (entry->csn, ==, "20261202054100.000000Z#000000#000#000000");
  g_assert_cmpstr (entry->name, ==, "guest");
  g_assert_cmpstr (entry->nickname, ==, "Гость");
  g_assert_true (entry->locked);
  g_assert_true (entry->has_password);
  g_assert_true (entry->has_photo);
}

static void
test_user_plain (void)
{
  static const char *const attrs[] = {
    "objectClass", "inetOrgPerson", NULL,
    "entryUUID", UUID, NULL,
    "uid", "guest", NULL,
    "sn", "Guest", NULL,
    NULL
  };
  g_autoptr(CjEntry) entry = read_control (postread ("uid=guest," USERS, attrs));

  g_assert_nonnull (entry);
  g_assert_cmpstr (entry->nickname, ==, "Guest");
  g_assert_false (entry->locked);
  g_assert_false (entry->has_password);
  g_assert_false (entry->has_photo);
}

static void
test_group (void)
{
  static const char *const attrs[] = {
    "objectClass", "top", "posixGroup", NULL,
    "entryUUID", UUID, NULL,
    "cn", "g0123456789abcdef", NULL,
    "description", "Учителя", NULL,
    "memberUid", "anna", "boris", NULL,
    NULL
  };
  g_autoptr(CjEntry) entry = read_control (postread ("cn=g0123456789abcdef," GROUPS, attrs));

  g_assert_nonnull (entry);
  g_assert_cmpint (entry->kind, ==, CJ_ENTRY_GROUP);
  g_assert_cmpstr (entry->name, ==, "Учителя");
  g_assert_nonnull (entry->members);
  g_assert_cmpstr (entry->members[0], ==, "anna");
  g_assert_cmpstr (entry->members[1], ==, "boris");
  g_assert_null (entry->members[2]);
}

static void
test_not_ours (void)
{
  static const char *const person[] = {
    "objectClass", "inetOrgPerson", NULL, "entryUUID", UUID, NULL, "uid", "guest", NULL, NULL
  };
  static const char *const no_uuid[] = {
    "objectClass", "inetOrgPerson", NULL, "uid", "guest", NULL, NULL
  };
  LDAPControl *other = NULL;
  struct berval junk = { 5, (char *) "\x30\x03\x04\x01" };
  LDAPControl *controls[] = { NULL, NULL };

  /* Outside the users' subtree, without an entryUUID: not a user of ours. */
  g_assert_null (read_control (postread ("uid=guest,ou=People,dc=example,dc=org", person)));
  g_assert_null (read_control (postread ("uid=guest," USERS, no_uuid)));
  /* No control, another control, a value that is not a SearchResultEntry. */
  g_assert_null (cj_entry_new_from_postread (NULL, USERS, GROUPS));
  g_assert_cmpint (ldap_control_create (LDAP_CONTROL_PRE_READ, 0, NULL, 1, &other), ==, LDAP_SUCCESS);
  controls[0] = other;
  g_assert_null (cj_entry_new_from_postread (controls, USERS, GROUPS));
  ldap_control_free (other);
  /* A post-read control with no value at all. */
  g_assert_cmpint (ldap_control_create (LDAP_CONTROL_POST_READ, 0, NULL, 1, &other), ==, LDAP_SUCCESS);
  controls[0] = other;
  g_assert_null (cj_entry_new_from_postread (controls, USERS, GROUPS));
  ldap_control_free (other);
  g_assert_cmpint (ldap_control_create (LDAP_CONTROL_POST_READ, 0, &junk, 1, &other), ==, LDAP_SUCCESS);
  controls[0] = other;
  g_assert_null (cj_entry_new_from_postread (controls, USERS, GROUPS));
  ldap_control_free (other);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/entry/postread/user", test_user);
  g_test_add_func ("/entry/postread/user-plain", test_user_plain);
  g_test_add_func ("/entry/postread/group", test_group);
  g_test_add_func ("/entry/postread/not-ours", test_not_ours);
  return g_test_run ();
}
