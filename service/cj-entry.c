#include "config.h"
#include "cj-entry.h"

#include <string.h>

#include "cj-ldap-util.h"

const char *const cj_entry_attrs[] = {
  "objectClass", "entryUUID", "entryCSN", "uid", "cn", "sn", "displayName", "shadowExpire",
  "userPassword", "memberUid", "description", NULL
};

/* @text is a literal (inlined, its length is known); without a call per character: ~10
 * comparisons for each of the 100,000 entries of a start. */
static inline gboolean
bv_equal (const struct berval *bv, const char *text)
{
  gsize len = strlen (text);

  if (bv->bv_len != len)
    return FALSE;
  for (gsize i = 0; i < len; i++)
    {
      char a = bv->bv_val[i], b = text[i];

      if (a != b && ((a | 0x20) != (b | 0x20) || !g_ascii_isalpha (b)))
        return FALSE;
    }
  return TRUE;
}

static char *
first_value (BerVarray values)
{
  return values != NULL && values[0].bv_val != NULL ? g_strndup (values[0].bv_val, values[0].bv_len) : NULL;
}

/* What one pass over the attributes found (the values point into the message). */
typedef struct {
  gboolean  person, group;
  gboolean  have_uuid;   /* given by the caller (the sync control): entryUUID not read */
  char     *uuid, *csn, *uid, *cn, *sn, *display_name, *description;
  gboolean  shadow_expire, password, photo;
  GPtrArray *members;
} Seen;

static void
seen_attribute (Seen *seen, const struct berval *attr, BerVarray values)
{
  gboolean any = values != NULL && values[0].bv_val != NULL;

  if (bv_equal (attr, "objectClass"))
    for (gsize i = 0; values != NULL && values[i].bv_val != NULL; i++)
      {
        seen->person |= bv_equal (&values[i], "inetOrgPerson");
        seen->group |= bv_equal (&values[i], "posixGroup");
      }
  else if (bv_equal (attr, "entryUUID") && seen->uuid == NULL && !seen->have_uuid)
    {
      g_autofree char *text = first_value (values);
      seen->uuid = text != NULL ? cj_ldap_uuid_from_text (text) : NULL;
    }
  else if (bv_equal (attr, "entryCSN") && seen->csn == NULL)
    seen->csn = first_value (values);
  else if (bv_equal (attr, "uid") && seen->uid == NULL)
    seen->uid = first_value (values);
  else if (bv_equal (attr, "cn") && seen->cn == NULL)
    seen->cn = first_value (values);
  else if (bv_equal (attr, "sn") && seen->sn == NULL)
    seen->sn = first_value (values);
  else if (bv_equal (attr, "description") && seen->description == NULL)
    seen->description = first_value (values);
  else if (bv_equal (attr, "displayName") && seen->display_name == NULL)
    seen->display_name = first_value (values);
  else if (bv_equal (attr, "shadowExpire"))
    seen->shadow_expire |= any;
  else if (bv_equal (attr, "userPassword"))
    seen->password |= any;
  else if (bv_equal (attr, "jpegPhoto"))
    seen->photo |= any;
  else if (bv_equal (attr, "memberUid"))
    for (gsize i = 0; values != NULL && values[i].bv_val != NULL; i++)
      g_ptr_array_add (seen->members, g_strndup (values[i].bv_val, values[i].bv_len));
}

/* The record from what one pass over the attributes found (frees what @seen holds). */
static CjEntry *
entry_from_seen (CjEntry *entry_in, Seen *seen, const char *uuid, const char *users_dn,
                 const char *groups_dn)
{
  g_autoptr(CjEntry) entry = entry_in;

  entry->uuid = uuid != NULL ? g_strdup (uuid) : g_steal_pointer (&seen->uuid);
  entry->csn = g_steal_pointer (&seen->csn);
  if (entry->uuid != NULL && seen->person && cj_ldap_dn_is_child_of (entry->dn, users_dn))
    {
      entry->kind = CJ_ENTRY_USER;
      entry->name = g_steal_pointer (&seen->uid);
      entry->nickname = seen->display_name != NULL ? g_steal_pointer (&seen->display_name)
                                                  : g_steal_pointer (&seen->sn);
      if (entry->nickname == NULL)
        entry->nickname = g_strdup ("");
      entry->locked = seen->shadow_expire;
      entry->has_password = seen->password;
      entry->has_photo = seen->photo;
    }
  else if (entry->uuid != NULL && seen->group && cj_ldap_dn_is_child_of (entry->dn, groups_dn))
    {
      entry->kind = CJ_ENTRY_GROUP;
      /* The name is the description; the cn is an identifier (cj-group-layout.h). An entry
       * of the first layout, not converted yet, has its name as the cn. */
      entry->name = seen->description != NULL ? g_steal_pointer (&seen->description)
                                              : g_steal_pointer (&seen->cn);
      g_ptr_array_add (seen->members, NULL);
      entry->members = (char **) g_ptr_array_free (g_steal_pointer (&seen->members), FALSE);
    }

  g_free (seen->uuid);
  g_free (seen->csn);
  g_free (seen->uid);
  g_free (seen->cn);
  g_free (seen->sn);
  g_free (seen->display_name);
  g_free (seen->description);
  if (seen->members != NULL)
    g_ptr_array_free (seen->members, TRUE);

  if (entry->kind == CJ_ENTRY_OTHER || entry->name == NULL)
    return NULL;
  return g_steal_pointer (&entry);
}

/* The values of one attribute, as a BerVarray pointing into the message: in @inline
 * for the few values of nearly every attribute, else in @heap. */
#define INLINE_VALUES 16

typedef struct {
  struct berval  inline_values[INLINE_VALUES + 1];
  struct berval *heap;
  gsize          heap_size;
} Values;

/* One PartialAttribute (RFC 4511: SEQUENCE { type OCTET STRING, vals SET OF OCTET STRING })
 * from @element's content: the type into @attr, the values into @values; NULL if it is
 * malformed. */
static BerVarray
read_attribute (const struct berval *element, struct berval *attr, Values *values)
{
  const guchar *p = (const guchar *) element->bv_val;
  const guchar *end = p + element->bv_len;
  const guchar *first;
  struct berval set, value;
  struct berval *out;
  gsize n = 0;
  guchar tag;

  if (!cj_ldap_ber_next (&p, end, &tag, attr) || tag != LBER_OCTETSTRING ||
      !cj_ldap_ber_next (&p, end, &tag, &set) || tag != LBER_SET)
    return NULL;
  first = p = (const guchar *) set.bv_val;
  end = p + set.bv_len;
  /* Counted first, then filled: no array growing value by value. */
  while (p < end)
    {
      if (!cj_ldap_ber_next (&p, end, &tag, &value) || tag != LBER_OCTETSTRING)
        return NULL;
      n++;
    }
  if (n <= INLINE_VALUES)
    out = values->inline_values;
  else
    {
      if (values->heap_size < n + 1)
        {
          g_free (values->heap);
          values->heap = g_new (struct berval, n + 1);
          values->heap_size = n + 1;
        }
      out = values->heap;
    }
  p = first;
  for (gsize i = 0; i < n; i++)
    cj_ldap_ber_next (&p, end, &tag, &out[i]);
  out[n].bv_val = NULL;
  out[n].bv_len = 0;
  return out;
}

/* One pass over the message (ldap_get_values_len per attribute scans it again each time:
 * at 100,000 entries that was a good part of a load). The attributes are read in place
 * rather than with ldap_get_attribute_ber, whose ber_scanf and value array per attribute
 * were a fifth of a start's instructions. */
CjEntry *
cj_entry_new_from_message (LDAP *ld, LDAPMessage *message, const char *uuid,
                           const char *users_dn, const char *groups_dn)
{
  g_autoptr(CjEntry) entry = g_new0 (CjEntry, 1);
  Seen seen = { 0 };
  BerElement *ber = NULL;
  struct berval dn = { 0, NULL };
  struct berval element, attr;
  Values values;
  BerVarray read;

  g_atomic_ref_count_init (&entry->ref);
  if (ldap_get_dn_ber (ld, message, &ber, &dn) != LDAP_SUCCESS || dn.bv_val == NULL)
    {
      if (ber != NULL)
        ber_free (ber, 0);
      return NULL;
    }
  entry->dn = g_strndup (dn.bv_val, dn.bv_len);
  seen.members = g_ptr_array_new_with_free_func (g_free);
  seen.have_uuid = uuid != NULL;
  /* ldap_get_dn_ber left @ber inside the attribute list, its end set to the list's. */
  values.heap = NULL;
  values.heap_size = 0;
  while (ber_skip_element (ber, &element) == LBER_SEQUENCE &&
         (read = read_attribute (&element, &attr, &values)) != NULL)
    seen_attribute (&seen, &attr, read);
  g_free (values.heap);
  ber_free (ber, 0);

  return entry_from_seen (g_steal_pointer (&entry), &seen, uuid, users_dn, groups_dn);
}

/* The post-read control's value is a SearchResultEntry (RFC 4527, 3.2): the DN, then a
 * sequence of attributes, each a type and a set of values. */
CjEntry *
cj_entry_new_from_postread (LDAPControl **controls, const char *users_dn, const char *groups_dn)
{
  LDAPControl *control = ldap_control_find (LDAP_CONTROL_POST_READ, controls, NULL);
  g_autoptr(CjEntry) entry = NULL;
  Seen seen = { 0 };
  struct berval bv;
  BerElement *ber;

  /* liblber reads through a NULL buffer when given an empty value: refused first. */
  if (control == NULL || control->ldctl_value.bv_val == NULL || control->ldctl_value.bv_len == 0 ||
      (ber = ber_init (&control->ldctl_value)) == NULL)
    return NULL;
  if (ber_scanf (ber, "{m{" /*}}*/, &bv) == LBER_ERROR || bv.bv_len == 0)
    {
      ber_free (ber, 1);
      return NULL;
    }
  entry = g_new0 (CjEntry, 1);
  g_atomic_ref_count_init (&entry->ref);
  entry->dn = g_strndup (bv.bv_val, bv.bv_len);
  seen.members = g_ptr_array_new_with_free_func (g_free);
  /* Each attribute's sequence is left without its closing scan: "[W]" took the set, and
   * the next "{m" starts the next attribute; past the last one it fails. */
  while (ber_scanf (ber, "{m" /*}*/, &bv) != LBER_ERROR)
    {
      BerVarray values = NULL;
      struct berval attr = bv;

      if (ber_scanf (ber, "[W]", &values) == LBER_ERROR)
        break;
      seen_attribute (&seen, &attr, values);
      ber_bvarray_free (values);
    }
  ber_free (ber, 1);
  return entry_from_seen (g_steal_pointer (&entry), &seen, NULL, users_dn, groups_dn);
}

CjEntry *
cj_entry_ref (CjEntry *entry)
{
  g_atomic_ref_count_inc (&entry->ref);
  return entry;
}

void
cj_entry_unref (CjEntry *entry)
{
  if (entry == NULL || !g_atomic_ref_count_dec (&entry->ref))
    return;
  g_free (entry->uuid);
  g_free (entry->dn);
  g_free (entry->name);
  g_free (entry->csn);
  g_free (entry->nickname);
  g_strfreev (entry->members);
  g_free (entry);
}
