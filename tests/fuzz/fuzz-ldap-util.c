/* DN and filter building (service/cj-ldap-util.c): every caller-given name reaches LDAP
 * through these, so what they build must mean exactly that name. A DN built for a value
 * parses back (libldap's own parser) to one RDN holding that value, below the given
 * parent; an escaped filter value unescapes to the value and holds no filter syntax. */
#include "config.h"

#include <string.h>

#include "cj-ldap-util.h"
#include "cj-validate.h"
#include "fuzz-common.h"

#define PARENT "ou=Users,ou=Jabber,ou=Services,dc=example,dc=org"

static void
check_dn (const char *attr, const char *value)
{
  g_autofree char *dn = cj_ldap_child_dn (attr, value, PARENT);
  LDAPDN parsed = NULL;
  LDAPAVA *ava;

  /* Only names that passed their validator are ever put in a DN. */
  if (!cj_validate_user_name (value, NULL) && !cj_validate_group_name (value, NULL))
    return;
  FUZZ_CHECK (dn != NULL, "no DN for \"%s\"", value);
  FUZZ_CHECK (cj_ldap_dn_is_child_of (dn, PARENT), "%s is not below the parent", dn);
  FUZZ_CHECK (ldap_str2dn (dn, &parsed, LDAP_DN_FORMAT_LDAPV3) == LDAP_SUCCESS,
              "%s does not parse", dn);
  FUZZ_CHECK (parsed[0] != NULL && parsed[0][0] != NULL && parsed[0][1] == NULL,
              "%s: the first RDN is not one attribute", dn);
  ava = parsed[0][0];
  FUZZ_CHECK (ava->la_attr.bv_len == strlen (attr) &&
              g_ascii_strncasecmp (ava->la_attr.bv_val, attr, ava->la_attr.bv_len) == 0,
              "%s: another attribute", dn);
  FUZZ_CHECK (ava->la_value.bv_len == strlen (value) &&
              memcmp (ava->la_value.bv_val, value, ava->la_value.bv_len) == 0,
              "%s: the value is not \"%s\"", dn, value);
  /* 1 RDN + the parent's 5 */
  for (int i = 1; i <= 5; i++)
    FUZZ_CHECK (parsed[i] != NULL, "%s: the parent lost RDNs", dn);
  FUZZ_CHECK (parsed[6] == NULL, "%s: more RDNs than the parent has", dn);
  ldap_dnfree (parsed);
}

static void
check_filter (const char *value)
{
  g_autofree char *escaped = cj_ldap_escape_filter (value);
  GString *back = g_string_new (NULL);

  for (const char *p = escaped; *p != '\0'; p++)
    {
      FUZZ_CHECK (*p != '(' && *p != ')' && *p != '*', "raw filter syntax in %s", escaped);
      if (*p == '\\')
        {
          FUZZ_CHECK (g_ascii_isxdigit (p[1]) && g_ascii_isxdigit (p[2]), "bad escape in %s", escaped);
          g_string_append_c (back, (char) (g_ascii_xdigit_value (p[1]) << 4 | g_ascii_xdigit_value (p[2])));
          p += 2;
        }
      else
        g_string_append_c (back, *p);
    }
  FUZZ_CHECK (strcmp (back->str, value) == 0, "%s does not unescape to the value", escaped);
  g_string_free (back, TRUE);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  const uint8_t *rest = data;
  size_t left = size;
  g_autofree char *value = fuzz_field (&rest, &left);
  g_autofree char *other = fuzz_field (&rest, &left);
  g_autofree char *uuid = NULL;
  struct berval raw = { 16, (char *) data };

  check_dn ("uid", value);
  check_dn ("cn", value);
  check_filter (value);

  /* Server-given text: no crash, and a UUID is 32 lower-case hex digits or nothing. */
  (void) cj_ldap_dn_is_child_of (value, other);
  (void) cj_ldap_dn_is_child_of (other, value);
  uuid = cj_ldap_uuid_from_text (value);
  if (uuid != NULL)
    for (int i = 0; i < 32; i++)
      FUZZ_CHECK (g_ascii_isxdigit (uuid[i]) && !g_ascii_isupper (uuid[i]), "uuid %s", uuid);
  if (size >= 16)
    {
      g_autofree char *hex = cj_ldap_uuid_from_bytes (&raw);
      FUZZ_CHECK (hex != NULL && strlen (hex) == 32, "uuid from bytes");
    }
  return 0;
}
