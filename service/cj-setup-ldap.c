#include "config.h"
#include "cj-setup-ldap.h"

#include <glib/gi18n.h>

#include "cj-error.h"
#include "cj-ldap-util.h"

/* Adds an organizationalUnit if it is not there; says which. */
static gboolean
ensure_ou (CjDirectory *directory, LDAP *ld, const char *dn, const char *ou, GPtrArray *report,
           GError **error)
{
  static const char *const classes[] = { "top", "organizationalUnit", NULL };
  g_autoptr(CjLdapMods) mods = cj_ldap_mods_new ();
  int rc;

  cj_ldap_mods_add (mods, LDAP_MOD_ADD, "objectClass", classes);
  cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "ou", ou);
  rc = ldap_add_ext_s (ld, dn, cj_ldap_mods_get (mods), NULL, NULL);
  if (rc == LDAP_SUCCESS)
    g_ptr_array_add (report, g_strdup_printf (_("Created %s"), dn));
  else if (rc == LDAP_ALREADY_EXISTS)
    g_ptr_array_add (report, g_strdup_printf (_("%s exists already"), dn));
  else if (rc == LDAP_NO_SUCH_OBJECT)
    {
      g_set_error (error, CJ_ERROR, CJ_ERROR_NOT_CONFIGURED,
                   _("The base DN %s does not exist in the directory: create it, or set BaseDn "
                     "in the daemon's configuration"), cj_directory_get_base_dn (directory));
      return FALSE;
    }
  else
    return cj_directory_set_error (directory, error, rc, ld, _("creating the Jabber subtree"));
  return TRUE;
}

gpointer
cj_setup_ldap_run (CjDirectory *directory, LDAP *ld, gpointer data, GCancellable *cancellable,
                   GError **error)
{
  g_autoptr(GPtrArray) report = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *services = g_strdup_printf ("ou=Services,%s", cj_directory_get_base_dn (directory));

  if (!ensure_ou (directory, ld, services, "Services", report, error) ||
      !ensure_ou (directory, ld, cj_directory_get_jabber_dn (directory), "Jabber", report, error) ||
      !ensure_ou (directory, ld, cj_directory_get_users_dn (directory), "Users", report, error) ||
      !ensure_ou (directory, ld, cj_directory_get_groups_dn (directory), "Groups", report, error))
    return NULL;
  return g_steal_pointer (&report);
}
