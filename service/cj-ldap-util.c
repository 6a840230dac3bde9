#include "config.h"
#include "cj-ldap-util.h"

#include <string.h>

char *
cj_ldap_child_dn (const char *attr, const char *value, const char *parent)
{
  LDAPAVA ava = { 0 };
  LDAPAVA *avas[2] = { &ava, NULL };
  char *rdn = NULL;
  char *dn;

  ava.la_attr.bv_val = (char *) attr;
  ava.la_attr.bv_len = strlen (attr);
  ava.la_value.bv_val = (char *) value;
  ava.la_value.bv_len = strlen (value);
  /* Non-ASCII UTF-8 is written as is; specials (,+"\<>;= # and spaces at the ends) escaped. */
  ava.la_flags = LDAP_AVA_NONPRINTABLE;
  if (ldap_rdn2str (avas, &rdn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
    return NULL;
  dn = g_strdup_printf ("%s,%s", rdn, parent);
  ldap_memfree (rdn);
  return dn;
}

char *
cj_ldap_escape_filter (const char *value)
{
  struct berval in = { strlen (value), (char *) value };
  struct berval out = { 0, NULL };
  char *result;

  if (ldap_bv2escaped_filter_value (&in, &out) != 0)
    g_error ("out of memory escaping an LDAP filter value");
  /* libldap leaves @out empty (a NULL value) for an empty @value. */
  if (out.bv_val == NULL)
    return g_strdup ("");
  result = g_strndup (out.bv_val, out.bv_len);
  ber_memfree (out.bv_val);
  return result;
}

char *
cj_ldap_get_string (LDAP *ld, LDAPMessage *entry, const char *attr)
{
  struct berval **values = ldap_get_values_len (ld, entry, attr);
  char *result = NULL;

  if (values != NULL && values[0] != NULL)
    result = g_strndup (values[0]->bv_val, values[0]->bv_len);
  ldap_value_free_len (values);
  return result;
}

char **
cj_ldap_get_strings (LDAP *ld, LDAPMessage *entry, const char *attr)
{
  struct berval **values = ldap_get_values_len (ld, entry, attr);
  GPtrArray *array = g_ptr_array_new ();

  for (int i = 0; values != NULL && values[i] != NULL; i++)
    g_ptr_array_add (array, g_strndup (values[i]->bv_val, values[i]->bv_len));
  ldap_value_free_len (values);
  g_ptr_array_add (array, NULL);
  return (char **) g_ptr_array_free (array, FALSE);
}

gboolean
cj_ldap_has_value (LDAP *ld, LDAPMessage *entry, const char *attr, const char *value)
{
  struct berval **values = ldap_get_values_len (ld, entry, attr);
  gboolean found = FALSE;

  for (int i = 0; !found && values != NULL && values[i] != NULL; i++)
    found = g_ascii_strncasecmp (values[i]->bv_val, value, values[i]->bv_len) == 0 &&
            strlen (value) == values[i]->bv_len;
  ldap_value_free_len (values);
  return found;
}

gboolean
cj_ldap_has_attr (LDAP *ld, LDAPMessage *entry, const char *attr)
{
  struct berval **values = ldap_get_values_len (ld, entry, attr);
  gboolean found = values != NULL && values[0] != NULL;

  ldap_value_free_len (values);
  return found;
}

char *
cj_ldap_uuid_from_text (const char *text)
{
  GString *hex = g_string_sized_new (32);

  for (const char *p = text; p != NULL && *p != '\0'; p++)
    if (g_ascii_isxdigit (*p))
      g_string_append_c (hex, g_ascii_tolower (*p));
  if (hex->len != 32)
    {
      g_string_free (hex, TRUE);
      return NULL;
    }
  return g_string_free (hex, FALSE);
}

/* Once per entry of a load: a table, not printf. */
char *
cj_ldap_uuid_from_bytes (const struct berval *raw)
{
  static const char digits[] = "0123456789abcdef";
  char *hex;

  if (raw == NULL || raw->bv_len != 16)
    return NULL;
  hex = g_malloc (33);
  for (gsize i = 0; i < 16; i++)
    {
      guint8 byte = (guint8) raw->bv_val[i];

      hex[2 * i] = digits[byte >> 4];
      hex[2 * i + 1] = digits[byte & 0xf];
    }
  hex[32] = '\0';
  return hex;
}

gboolean
cj_ldap_dn_is_child_of (const char *dn, const char *parent)
{
  /* The parent part starts after the first comma that is not escaped (RFC 4514: a
   * backslash escapes the next character, or starts a two-digit hex pair whose digits
   * are no commas either). DNs from the server and from the configuration are both
   * written without spaces around the commas. */
  for (const char *p = dn; *p != '\0'; p++)
    {
      if (*p == '\\')
        {
          if (p[1] == '\0')
            return FALSE;
          p++;
        }
      else if (*p == ',')
        /* The server writes the parent as configured nearly always: strcmp first. */
        return p > dn && (strcmp (p + 1, parent) == 0 || g_ascii_strcasecmp (p + 1, parent) == 0);
    }
  return FALSE;
}

gboolean
cj_ldap_ber_next (const guchar **p, const guchar *end, guchar *tag, struct berval *content)
{
  const guchar *q = *p;
  gsize len;

  if (end - q < 2 || (q[0] & 0x1f) == 0x1f)
    return FALSE;
  *tag = q[0];
  len = q[1];
  q += 2;
  if (len & 0x80)
    {
      gsize octets = len & 0x7f;

      /* 0: the indefinite form, which LDAP does not allow. */
      if (octets == 0 || octets > 4 || (gsize) (end - q) < octets)
        return FALSE;
      for (len = 0; octets > 0; octets--)
        len = (len << 8) | *q++;
    }
  if (len > (gsize) (end - q))
    return FALSE;
  content->bv_val = (char *) q;
  content->bv_len = len;
  *p = q + len;
  return TRUE;
}

struct _CjLdapMods {
  GPtrArray *mods;     /* of LDAPMod*, NULL-terminated when got */
};

static void
mod_free (LDAPMod *mod)
{
  g_free (mod->mod_type);
  if (mod->mod_op & LDAP_MOD_BVALUES)
    {
      for (int i = 0; mod->mod_bvalues != NULL && mod->mod_bvalues[i] != NULL; i++)
        {
          g_free (mod->mod_bvalues[i]->bv_val);
          g_free (mod->mod_bvalues[i]);
        }
      g_free (mod->mod_bvalues);
    }
  else
    g_strfreev (mod->mod_values);
  g_free (mod);
}

CjLdapMods *
cj_ldap_mods_new (void)
{
  CjLdapMods *mods = g_new0 (CjLdapMods, 1);

  mods->mods = g_ptr_array_new ();
  return mods;
}

void
cj_ldap_mods_free (CjLdapMods *mods)
{
  if (mods == NULL)
    return;
  for (guint i = 0; i < mods->mods->len; i++)
    if (mods->mods->pdata[i] != NULL)
      mod_free (mods->mods->pdata[i]);
  g_ptr_array_free (mods->mods, TRUE);
  g_free (mods);
}

void
cj_ldap_mods_add (CjLdapMods *mods, int op, const char *attr, const char *const *values)
{
  LDAPMod *mod = g_new0 (LDAPMod, 1);

  mod->mod_op = op;
  mod->mod_type = g_strdup (attr);
  mod->mod_values = values != NULL ? g_strdupv ((char **) values) : NULL;
  g_ptr_array_add (mods->mods, mod);
}

void
cj_ldap_mods_add1 (CjLdapMods *mods, int op, const char *attr, const char *value)
{
  const char *values[] = { value, NULL };

  cj_ldap_mods_add (mods, op, attr, value != NULL ? values : NULL);
}

void
cj_ldap_mods_add_bin (CjLdapMods *mods, int op, const char *attr, GBytes *value)
{
  LDAPMod *mod = g_new0 (LDAPMod, 1);
  gsize size = 0;
  const void *data = g_bytes_get_data (value, &size);

  mod->mod_op = op | LDAP_MOD_BVALUES;
  mod->mod_type = g_strdup (attr);
  mod->mod_bvalues = g_new0 (struct berval *, 2);
  mod->mod_bvalues[0] = g_new0 (struct berval, 1);
  mod->mod_bvalues[0]->bv_val = g_memdup2 (data, size);
  mod->mod_bvalues[0]->bv_len = size;
  g_ptr_array_add (mods->mods, mod);
}

gboolean
cj_ldap_mods_is_empty (CjLdapMods *mods)
{
  return mods->mods->len == 0;
}

LDAPMod **
cj_ldap_mods_get (CjLdapMods *mods)
{
  /* Keep a NULL terminator after the last element without counting it. */
  g_ptr_array_add (mods->mods, NULL);
  g_ptr_array_set_size (mods->mods, mods->mods->len - 1);
  return (LDAPMod **) mods->mods->pdata;
}
