/* The import's parsers (service/cj-import-parse.c) on good and hostile input: each format's
 * fields, RFC 4180 quoting, LDIF folding and base64, and bad rows reported with their line
 * while the good ones are kept. */
#include "config.h"

#include <string.h>

#include "cj-import-parse.h"

static CjImportParsed *
parse (CjImportFormat format, const char *text)
{
  g_autoptr(GError) error = NULL;
  CjImportParsed *parsed = cj_import_parse (format, text, strlen (text), &error);

  g_assert_no_error (error);
  g_assert_nonnull (parsed);
  return parsed;
}

static CjImportRow *
row (CjImportParsed *parsed, guint i)
{
  g_assert_cmpuint (i, <, parsed->rows->len);
  return parsed->rows->pdata[i];
}

static CjImportError *
err (CjImportParsed *parsed, guint i)
{
  g_assert_cmpuint (i, <, parsed->errors->len);
  return parsed->errors->pdata[i];
}

static void
test_csv (void)
{
  g_autoptr(CjImportParsed) p = parse (CJ_IMPORT_CSV,
    "\xef\xbb\xbfName,nickname,password,group\r\n"
    "guest,Гость,pw-guest-1,Guest group\r\n"
    "\r\n"
    "anna,\"Smith, Anna\",\"pass\"\"word\",\"\"\n"
    "multi,\"two\nlines\",,\n"
    "Bad Name,x,,\n"
    "bob,\"broken\"quote,,\n"
    "carl,only three,\n"
    "guest,again,,\n"
    "dave,,,\n");

  g_assert_cmpuint (p->rows->len, ==, 3);
  g_assert_cmpstr (row (p, 0)->name, ==, "guest");
  g_assert_cmpuint (row (p, 0)->line, ==, 2);
  g_assert_cmpstr (row (p, 0)->nickname, ==, "Гость");
  g_assert_cmpstr (row (p, 0)->password, ==, "pw-guest-1");
  g_assert_cmpstr (row (p, 0)->group, ==, "Guest group");
  g_assert_cmpint (row (p, 0)->locked, ==, -1);
  g_assert_cmpstr (row (p, 1)->nickname, ==, "Smith, Anna");
  g_assert_cmpstr (row (p, 1)->password, ==, "pass\"word");
  g_assert_cmpstr (row (p, 1)->group, ==, "");
  g_assert_cmpuint (row (p, 1)->line, ==, 4);
  /* The record of line 5 goes on over line 6 (a quoted line break: a nickname may not
   * have one), so dave is on line 11. */
  g_assert_cmpstr (row (p, 2)->name, ==, "dave");
  g_assert_null (row (p, 2)->password);
  g_assert_cmpuint (row (p, 2)->line, ==, 11);

  g_assert_cmpuint (p->errors->len, ==, 5);
  g_assert_cmpuint (err (p, 0)->line, ==, 5);
  g_assert_cmpstr (err (p, 0)->name, ==, "multi");
  g_assert_cmpuint (err (p, 1)->line, ==, 7);
  g_assert_cmpstr (err (p, 1)->name, ==, "Bad Name");
  g_assert_cmpuint (err (p, 2)->line, ==, 8);
  g_assert_cmpuint (err (p, 3)->line, ==, 9);
  g_assert_cmpuint (err (p, 4)->line, ==, 10);
  g_assert_nonnull (strstr (err (p, 4)->reason, "line 2"));
  g_assert_cmpuint (p->groups->len, ==, 1);
}

static void
test_csv_header (void)
{
  const char *bad[] = { "", "nickname,password\nx,y\n", "name,name\n", "name,shoe\n", "\"name\n" };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(CjImportParsed) p = cj_import_parse (CJ_IMPORT_CSV, bad[i], strlen (bad[i]), &error);

      g_assert_null (p);
      g_assert_nonnull (error);
    }
  {
    g_autoptr(CjImportParsed) p = parse (CJ_IMPORT_CSV, "name,locked\na,yes\nb,no\nc,\nd,maybe\n");

    g_assert_cmpuint (p->rows->len, ==, 3);
    g_assert_cmpint (row (p, 0)->locked, ==, 1);
    g_assert_cmpint (row (p, 1)->locked, ==, 0);
    g_assert_cmpint (row (p, 2)->locked, ==, -1);
    g_assert_null (row (p, 0)->nickname);
    g_assert_null (row (p, 0)->group);
    g_assert_cmpuint (err (p, 0)->line, ==, 5);
  }
}

static void
test_json (void)
{
  g_autoptr(CjImportParsed) p = parse (CJ_IMPORT_JSON,
    "{\"users\": [{\"name\": \"guest\", \"nickname\": \"Гость\", \"password\": \"pw-guest-1\", \"group\": \"G\", \"locked\": true},"
    " {\"name\": \"anna\", \"group\": null}, 5, {\"name\": 3}, {\"name\": \"x\", \"shoe\": 1},"
    " {\"name\": \"y\", \"locked\": \"yes\"}]}");

  g_assert_cmpuint (p->rows->len, ==, 2);
  g_assert_cmpstr (row (p, 0)->nickname, ==, "Гость");
  g_assert_cmpint (row (p, 0)->locked, ==, 1);
  g_assert_cmpstr (row (p, 1)->group, ==, "");
  g_assert_null (row (p, 1)->nickname);
  g_assert_cmpuint (row (p, 1)->line, ==, 2);
  g_assert_cmpuint (p->errors->len, ==, 4);
  g_assert_cmpuint (err (p, 0)->line, ==, 3);
  g_assert_cmpuint (err (p, 3)->line, ==, 6);
}

static void
test_json_hostile (void)
{
  g_autoptr(GString) deep = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(CjImportParsed) p = NULL;

  for (int i = 0; i < 100000; i++)
    g_string_append_c (deep, '[');
  p = cj_import_parse (CJ_IMPORT_JSON, deep->str, deep->len, &error);
  g_assert_null (p);
  g_assert_nonnull (error);
  g_clear_error (&error);
  p = cj_import_parse (CJ_IMPORT_JSON, "{\"a\":1}", 7, &error);
  g_assert_null (p);
  g_assert_nonnull (error);
}

static void
test_ldif (void)
{
  g_autoptr(CjImportParsed) p = parse (CJ_IMPORT_LDIF,
    "version: 1\n"
    "\n"
    "# Calculate-Server 2.x\n"
    "dn: ou=Users,ou=Jabber,ou=Services,dc=example,dc=org\n"
    "objectClass: organizationalUnit\n"
    "ou: Users\n"
    "\n"
    "dn: uid=guest,ou=Users,ou=Jabber,ou=Services,dc=example,dc=org\n"
    "objectClass: top\n"
    "objectClass: person\n"
    "objectClass: organizationalPerson\n"
    "objectClass: inetOrgPerson\n"
    "uid: guest\n"
    "cn: guest\n"
    "sn:: 0JPQvtGB0YLRjA==\n"
    "mail: guest@example.org\n"
    "userPassword: {SSHA}abcdefghijklmnopqrstuvwxyz01\n"
    " 23456789\n"
    "initials: No\n"
    "\n"
    "dn: uid=locked,ou=Users,ou=Jabber,ou=Services,dc=example,dc=org\n"
    "objectClass: inetOrgPerson\n"
    "uid: locked\n"
    "sn: locked\n"
    "userPassword:: e1NTSEF9eHl6\n"
    "initials: Yes\n"
    "\n"
    "dn: uid=odd,ou=Users,ou=Jabber,ou=Services,dc=example,dc=org\n"
    "objectClass: inetOrgPerson\n"
    "uid: odd\n"
    "userPassword: {ARGON2}nope\n"
    "\n"
    "dn: uid=url,ou=Users,ou=Jabber,ou=Services,dc=example,dc=org\n"
    "objectClass: inetOrgPerson\n"
    "uid: url\n"
    "jpegPhoto:< file:///etc/shadow\n"
    "\n"
    "dn: cn=Guest group,ou=Groups,ou=Jabber,ou=Services,dc=example,dc=org\n"
    "objectClass: posixGroup\n"
    "cn: Guest group\n"
    "gidNumber: 10000\n"
    "memberUid: guest\n"
    "\n"
    "dn: cn=Other,ou=Groups,ou=Jabber,ou=Services,dc=example,dc=org\n"
    "objectClass: posixGroup\n"
    "cn: Other\n"
    "memberUid: guest\n");

  g_assert_cmpuint (p->rows->len, ==, 2);
  g_assert_cmpstr (row (p, 0)->name, ==, "guest");
  g_assert_cmpuint (row (p, 0)->line, ==, 8);
  g_assert_cmpstr (row (p, 0)->nickname, ==, "Гость");
  g_assert_cmpstr (row (p, 0)->hash, ==, "{SSHA}abcdefghijklmnopqrstuvwxyz0123456789");
  g_assert_null (row (p, 0)->password);
  g_assert_cmpint (row (p, 0)->locked, ==, 0);
  g_assert_cmpstr (row (p, 0)->group, ==, "Guest group");
  g_assert_cmpstr (row (p, 1)->name, ==, "locked");
  g_assert_cmpstr (row (p, 1)->nickname, ==, "");
  g_assert_cmpstr (row (p, 1)->hash, ==, "{SSHA}xyz");
  g_assert_cmpint (row (p, 1)->locked, ==, 1);
  g_assert_cmpstr (row (p, 1)->group, ==, "");
  g_assert_cmpuint (p->groups->len, ==, 2);
  /* The unknown scheme, the URL, the second group of guest. */
  g_assert_cmpuint (p->errors->len, ==, 3);
  g_assert_cmpuint (err (p, 0)->line, ==, 28);
  g_assert_cmpuint (err (p, 1)->line, ==, 33);
  g_assert_cmpuint (err (p, 2)->line, ==, 44);
  g_assert_cmpstr (err (p, 2)->name, ==, "guest");
}

/* A hostile file cannot make the daemon hold more than the bounds: errors past
 * CJ_IMPORT_MAX_ERRORS are only counted, groups past CJ_IMPORT_MAX_GROUPS fail their rows. */
static void
test_bounds (void)
{
  g_autoptr(GString) bad = g_string_new (NULL);
  g_autoptr(GString) groups = g_string_new ("name,group\n");
  g_autoptr(CjImportParsed) p = NULL;
  g_autoptr(CjImportParsed) q = NULL;

  for (int i = 0; i < 3 * CJ_IMPORT_MAX_ERRORS; i++)
    g_string_append (bad, "x\n\n");
  p = parse (CJ_IMPORT_LDIF, bad->str);
  g_assert_cmpuint (p->errors->len, ==, CJ_IMPORT_MAX_ERRORS);
  g_assert_cmpuint (p->errors_dropped, ==, 2 * CJ_IMPORT_MAX_ERRORS);
  for (int i = 0; i < CJ_IMPORT_MAX_GROUPS + 5; i++)
    g_string_append_printf (groups, "u%d,g%d\n", i, i);
  q = parse (CJ_IMPORT_CSV, groups->str);
  g_assert_cmpuint (q->groups->len, ==, CJ_IMPORT_MAX_GROUPS);
  g_assert_cmpuint (q->rows->len, ==, CJ_IMPORT_MAX_GROUPS);
  g_assert_cmpuint (q->errors->len, ==, 5);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/import/csv", test_csv);
  g_test_add_func ("/import/csv-header", test_csv_header);
  g_test_add_func ("/import/json", test_json);
  g_test_add_func ("/import/json-hostile", test_json_hostile);
  g_test_add_func ("/import/ldif", test_ldif);
  g_test_add_func ("/import/bounds", test_bounds);
  return g_test_run ();
}
