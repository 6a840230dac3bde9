#include "config.h"
#include "cj-entry.h"

#include "cj-ldap-util.h"

const char *const cj_entry_attrs[] = {
  "objectClass", "entryUUID", "uid", "cn", "sn", "displayName", "shadowExpire",
  "userPassword", "memberUid", NULL
};

/* @dn is directly below @parent (compared after normalization by libldap). */
static gboolean
is_child_of (const char *dn, const char *parent)
{
  LDAPDN parsed = NULL;
  LDAPDN parsed_parent = NULL;
  gboolean result = FALSE;

  if (ldap_str2dn (dn, &parsed, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
      ldap_str2dn (parent, &parsed_parent, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS)
    goto out;
  if (parsed[0] == NULL)
    goto out;
  {
    char *tail = NULL;
    char *norm_parent = NULL;

    /* The parent part of dn is parsed[1..]; compare the normalized strings. */
    if (ldap_dn2str (&parsed[1], &tail, LDAP_DN_FORMAT_LDAPV3 | LDAP_DN_PRETTY) == LDAP_SUCCESS &&
        ldap_dn2str (parsed_parent, &norm_parent, LDAP_DN_FORMAT_LDAPV3 | LDAP_DN_PRETTY) == LDAP_SUCCESS)
      result = g_ascii_strcasecmp (tail, norm_parent) == 0;
    ldap_memfree (tail);
    ldap_memfree (norm_parent);
  }
out:
  ldap_dnfree (parsed);
  ldap_dnfree (parsed_parent);
  return result;
}

CjEntry *
cj_entry_new_from_message (LDAP *ld, LDAPMessage *message, const char *uuid,
                           const char *users_dn, const char *groups_dn)
{
  g_autoptr(CjEntry) entry = g_new0 (CjEntry, 1);
  char *dn = ldap_get_dn (ld, message);

  g_atomic_ref_count_init (&entry->ref);
  entry->dn = g_strdup (dn);
  ldap_memfree (dn);
  if (entry->dn == NULL)
    return NULL;

  if (uuid != NULL)
    entry->uuid = g_strdup (uuid);
  else
    {
      g_autofree char *text = cj_ldap_get_string (ld, message, "entryUUID");
      entry->uuid = text != NULL ? cj_ldap_uuid_from_text (text) : NULL;
    }
  if (entry->uuid == NULL)
    return NULL;

  if (cj_ldap_has_value (ld, message, "objectClass", "inetOrgPerson") &&
      is_child_of (entry->dn, users_dn))
    {
      entry->kind = CJ_ENTRY_USER;
      entry->name = cj_ldap_get_string (ld, message, "uid");
      entry->nickname = cj_ldap_get_string (ld, message, "displayName");
      if (entry->nickname == NULL)
        entry->nickname = cj_ldap_get_string (ld, message, "sn");
      if (entry->nickname == NULL)
        entry->nickname = g_strdup ("");
      entry->locked = cj_ldap_has_attr (ld, message, "shadowExpire");
      entry->has_password = cj_ldap_has_attr (ld, message, "userPassword");
      entry->has_photo = cj_ldap_has_attr (ld, message, "jpegPhoto");
    }
  else if (cj_ldap_has_value (ld, message, "objectClass", "posixGroup") &&
           is_child_of (entry->dn, groups_dn))
    {
      entry->kind = CJ_ENTRY_GROUP;
      entry->name = cj_ldap_get_string (ld, message, "cn");
      entry->members = cj_ldap_get_strings (ld, message, "memberUid");
    }
  else
    return NULL;

  if (entry->name == NULL)
    return NULL;
  return g_steal_pointer (&entry);
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
  g_free (entry->nickname);
  g_strfreev (entry->members);
  g_free (entry);
}
