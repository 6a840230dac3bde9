#include "config.h"
#include "cj-group-layout.h"

#include <glib/gi18n.h>
#include <string.h>

#include "cj-error.h"
#include "cj-ldap-util.h"

#define ID_DIGITS 16

char *
cj_group_id_new (void)
{
  return g_strdup_printf ("g%08x%08x", g_random_int (), g_random_int ());
}

gboolean
cj_group_id_is_valid (const char *id)
{
  if (id == NULL || id[0] != 'g' || strlen (id) != ID_DIGITS + 1)
    return FALSE;
  for (const char *p = id + 1; *p != '\0'; p++)
    if (!g_ascii_isdigit (*p) && !(*p >= 'a' && *p <= 'f'))
      return FALSE;
  return TRUE;
}

char *
cj_group_name_filter (const char *name)
{
  g_autofree char *escaped = cj_ldap_escape_filter (name);

  return g_strdup_printf ("(&(objectClass=posixGroup)(|(description=%s)(&(!(description=*))(cn=%s))))",
                          escaped, escaped);
}

char *
cj_group_member_filter (const char *name)
{
  g_autofree char *escaped = cj_ldap_escape_filter (name);

  return g_strdup_printf ("(&(objectClass=posixGroup)(memberUid=%s))", escaped);
}

/* The value of @dn's RDN when it is a single cn=..., else NULL. */
static char *
rdn_cn_value (const char *dn)
{
  LDAPDN parsed = NULL;
  char *value = NULL;

  if (ldap_str2dn (dn, &parsed, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || parsed == NULL)
    return NULL;
  if (parsed[0] != NULL && parsed[0][0] != NULL && parsed[0][1] == NULL &&
      parsed[0][0]->la_attr.bv_len == 2 && g_ascii_strncasecmp (parsed[0][0]->la_attr.bv_val, "cn", 2) == 0)
    value = g_strndup (parsed[0][0]->la_value.bv_val, parsed[0][0]->la_value.bv_len);
  ldap_dnfree (parsed);
  return value;
}

/* Renames @dn to cn=<a new id>; returns the new DN. The old RDN value goes when it was
 * a cn (the name); another attribute's (say gidNumber, which posixGroup requires) stays. */
static char *
give_id (CjDirectory *directory, LDAP *ld, const char *dn, gboolean delete_old, char **id,
         GError **error)
{
  int rc = LDAP_OTHER;

  /* A clash of two random 64-bit ids is not expected; the loop only keeps it harmless. */
  for (int attempt = 0; attempt < 3; attempt++)
    {
      g_autofree char *rdn = NULL;

      g_free (*id);
      *id = cj_group_id_new ();
      rdn = g_strdup_printf ("cn=%s", *id);
      rc = cj_directory_rename (directory, ld, dn, rdn, delete_old);
      if (rc != LDAP_ALREADY_EXISTS)
        break;
    }
  if (rc != LDAP_SUCCESS)
    {
      cj_directory_set_error (directory, error, rc, ld, _("converting a group to the new layout"));
      return NULL;
    }
  return cj_ldap_child_dn ("cn", *id, cj_directory_get_groups_dn (directory));
}

/* Converts one entry; *converted is set when something was written. A name taken by
 * another group leaves the entry as it is (reported). */
static gboolean
convert (CjDirectory *directory, LDAP *ld, const char *dn, char **cns, char **descriptions,
         gboolean *converted, GPtrArray *report, GError **error)
{
  g_autofree char *rdn_value = rdn_cn_value (dn);
  g_autofree char *id = NULL;
  g_autofree char *new_dn = NULL;
  gboolean ours = cj_group_id_is_valid (rdn_value);
  gboolean stray_cn = FALSE;
  const char *name;
  int rc;

  *converted = FALSE;
  if (ours && g_strv_length (cns) == 1 && g_strv_length (descriptions) == 1)
    return TRUE;
  /* The first layout's name is the RDN's cn; an entry of ours that lost its description
   * is named by its id; anything else by what it has. */
  if (ours)
    name = descriptions[0] != NULL ? descriptions[0] : rdn_value;
  else if (rdn_value != NULL)
    name = rdn_value;
  else
    name = descriptions[0] != NULL ? descriptions[0] : cns[0];
  if (name == NULL)
    return TRUE;

  /* The name first, the RDN after: an interruption between the two leaves an entry that
   * still reads as the first layout, and the next run finishes it. */
  if (g_strv_length (descriptions) != 1 || strcmp (descriptions[0], name) != 0)
    {
      g_autoptr(CjLdapMods) mods = cj_ldap_mods_new ();

      cj_ldap_mods_add1 (mods, LDAP_MOD_REPLACE, "description", name);
      rc = cj_directory_modify (directory, ld, dn, cj_ldap_mods_get (mods));
      if (rc == LDAP_CONSTRAINT_VIOLATION)
        {
          if (report != NULL)
            g_ptr_array_add (report, g_strdup_printf (_("The group “%s” (%s) was left in the old "
                                                        "layout: another group has that name"), name, dn));
          return TRUE;
        }
      if (rc != LDAP_SUCCESS)
        return cj_directory_set_error (directory, error, rc, ld, _("converting a group to the new layout"));
      *converted = TRUE;
    }
  if (ours)
    id = g_strdup (rdn_value);
  else
    {
      if ((new_dn = give_id (directory, ld, dn, rdn_value != NULL, &id, error)) == NULL)
        return FALSE;
      *converted = TRUE;
    }
  /* Other cn values (another tool's) would reach ejabberd's filter too. */
  for (char **cn = cns; *cn != NULL; cn++)
    stray_cn |= g_strcmp0 (*cn, rdn_value) != 0 && strcmp (*cn, id) != 0;
  if (stray_cn)
    {
      g_autoptr(CjLdapMods) mods = cj_ldap_mods_new ();

      cj_ldap_mods_add1 (mods, LDAP_MOD_REPLACE, "cn", id);
      rc = cj_directory_modify (directory, ld, new_dn != NULL ? new_dn : dn, cj_ldap_mods_get (mods));
      if (rc != LDAP_SUCCESS)
        return cj_directory_set_error (directory, error, rc, ld, _("converting a group to the new layout"));
      *converted = TRUE;
    }
  return TRUE;
}

gboolean
cj_group_layout_migrate (CjDirectory *directory, LDAP *ld, GPtrArray *report, GError **error)
{
  const char *attrs[] = { "cn", "description", NULL };
  struct timeval timeout = { (time_t) cj_directory_get_timeout (directory), 0 };
  g_autoptr(LDAPMessage) result = NULL;
  guint count = 0;
  int rc;

  rc = ldap_search_ext_s (ld, cj_directory_get_groups_dn (directory), LDAP_SCOPE_ONELEVEL,
                          "(objectClass=posixGroup)", (char **) attrs, 0, NULL, NULL, &timeout, 0,
                          &result);
  if (rc == LDAP_NO_SUCH_OBJECT)
    return TRUE;              /* not set up yet: nothing to convert */
  if (rc != LDAP_SUCCESS)
    return cj_directory_set_error (directory, error, rc, ld, _("reading the groups"));
  for (LDAPMessage *m = ldap_first_entry (ld, result); m != NULL; m = ldap_next_entry (ld, m))
    {
      g_auto(GStrv) cns = cj_ldap_get_strings (ld, m, "cn");
      g_auto(GStrv) descriptions = cj_ldap_get_strings (ld, m, "description");
      char *dn = ldap_get_dn (ld, m);
      g_autoptr(GError) local_error = NULL;
      gboolean converted = FALSE;
      gboolean ok;

      if (dn == NULL)
        continue;
      ok = convert (directory, ld, dn, cns, descriptions, &converted, report, &local_error);
      if (!ok && !g_error_matches (local_error, CJ_ERROR, CJ_ERROR_DIRECTORY_UNAVAILABLE))
        {
          /* One odd entry (another tool's) must not stop the others, nor a setup. */
          g_warning ("cannot convert the group %s: %s", dn, local_error->message);
          if (report != NULL)
            g_ptr_array_add (report, g_strdup_printf (_("The group %s could not be converted: %s"),
                                                      dn, local_error->message));
          g_clear_error (&local_error);
          ok = TRUE;
        }
      ldap_memfree (dn);
      if (!ok)
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
      count += converted ? 1 : 0;
    }
  if (count > 0)
    {
      g_message ("converted %u groups to the layout cn=<id>, name in description", count);
      if (report != NULL)
        g_ptr_array_add (report, g_strdup_printf (g_dngettext (GETTEXT_PACKAGE,
                                                               "Converted %u group to the new layout (cn=identifier, the name in description)",
                                                               "Converted %u groups to the new layout (cn=identifier, the name in description)",
                                                               count), count));
    }
  return TRUE;
}
