#include "config.h"
#include "cj-setup-ldap.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "cj-error.h"
#include "cj-group-layout.h"
#include "cj-ldap-util.h"
#include "cj-password.h"
#include "cj-secret.h"
#include "cj-slapd-config.h"

CjSetupLdapRequest *
cj_setup_ldap_request_new (const CjConfig *config)
{
  CjSetupLdapRequest *request = g_new0 (CjSetupLdapRequest, 1);

  request->state_dir = g_strdup (config->state_dir);
  request->database_dir = g_strdup (config->database_dir);
  request->ldap_uri = g_strdup (config->ldap_uri);
  request->local = g_str_has_prefix (config->ldap_uri, "ldapi://") && config->bind_dn == NULL;
  return request;
}

void
cj_setup_ldap_request_free (CjSetupLdapRequest *request)
{
  if (request == NULL)
    return;
  g_free (request->state_dir);
  g_free (request->database_dir);
  g_free (request->ldap_uri);
  g_free (request);
}

char *
cj_setup_ldap_secret_path (const char *state_dir)
{
  return g_build_filename (state_dir, "ejabberd-ldap.secret", NULL);
}

char *
cj_setup_ldap_ejabberd_dn (CjDirectory *directory)
{
  return g_strdup_printf ("cn=ejabberd,%s", cj_directory_get_jabber_dn (directory));
}

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
  rc = cj_directory_add (directory, ld, dn, cj_ldap_mods_get (mods));
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

/* Written atomically, readable by root only. */
static gboolean
write_secret (const char *path, const char *secret, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *tmp = g_strconcat (path, ".XXXXXX", NULL);
  int fd;
  gsize length = strlen (secret);

  if (g_mkdir_with_parents (dir, 0755) < 0 || (fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0600)) < 0)
    {
      int saved = errno;
      g_set_error (error, CJ_ERROR, CJ_ERROR_FAILED, _("Cannot write %s: %s"), path, g_strerror (saved));
      return FALSE;
    }
  if (write (fd, secret, length) != (ssize_t) length || fsync (fd) < 0 || close (fd) < 0 ||
      rename (tmp, path) < 0)
    {
      int saved = errno;
      g_unlink (tmp);
      g_set_error (error, CJ_ERROR, CJ_ERROR_FAILED, _("Cannot write %s: %s"), path, g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

/* ejabberd reads the directory as cn=ejabberd (organizationalRole + simpleSecurityObject).
 * Its password is made here and kept in a root-only file; an identity whose file was lost
 * gets a new password. */
static gboolean
ensure_ejabberd_identity (CjDirectory *directory, LDAP *ld, const char *state_dir, GPtrArray *report,
                          GError **error)
{
  static const char *const classes[] = { "top", "organizationalRole", "simpleSecurityObject", NULL };
  g_autofree char *dn = cj_setup_ldap_ejabberd_dn (directory);
  g_autofree char *secret_path = cj_setup_ldap_secret_path (state_dir);
  g_autofree char *password = NULL;
  g_autofree char *hash = NULL;
  g_autoptr(CjLdapMods) mods = cj_ldap_mods_new ();
  gboolean have_secret = g_file_test (secret_path, G_FILE_TEST_IS_REGULAR);
  int rc;

  /* 32 characters of 57: about 186 bits. */
  if ((password = cj_secret_password (32, error)) == NULL)
    return FALSE;
  if ((hash = cj_password_hash (password, error)) == NULL)
    return FALSE;
  cj_ldap_mods_add (mods, LDAP_MOD_ADD, "objectClass", classes);
  cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "cn", "ejabberd");
  cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "description", "ejabberd reads Jabber users and groups as this identity");
  cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "userPassword", hash);
  rc = cj_directory_add (directory, ld, dn, cj_ldap_mods_get (mods));
  if (rc == LDAP_ALREADY_EXISTS && have_secret)
    {
      g_ptr_array_add (report, g_strdup_printf (_("%s exists already"), dn));
      return TRUE;
    }
  if (rc == LDAP_ALREADY_EXISTS)
    {
      g_autoptr(CjLdapMods) reset = cj_ldap_mods_new ();

      cj_ldap_mods_add1 (reset, LDAP_MOD_REPLACE, "userPassword", hash);
      rc = cj_directory_modify (directory, ld, dn, cj_ldap_mods_get (reset));
      if (rc != LDAP_SUCCESS)
        return cj_directory_set_error (directory, error, rc, ld, _("setting ejabberd's LDAP password"));
      g_ptr_array_add (report, g_strdup_printf (_("Gave %s a new password (its file was missing)"), dn));
    }
  else if (rc != LDAP_SUCCESS)
    return cj_directory_set_error (directory, error, rc, ld, _("creating ejabberd's LDAP identity"));
  else
    g_ptr_array_add (report, g_strdup_printf (_("Created %s, ejabberd's read-only identity"), dn));
  if (!write_secret (secret_path, password, error))
    return FALSE;
  explicit_bzero (password, strlen (password));
  return TRUE;
}

gpointer
cj_setup_ldap_run (CjDirectory *directory, LDAP *ld, gpointer data, GCancellable *cancellable,
                   GError **error)
{
  CjSetupLdapRequest *request = data;
  g_autoptr(GPtrArray) report = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *services = g_strdup_printf ("ou=Services,%s", cj_directory_get_base_dn (directory));
  g_autofree char *ejabberd_dn = cj_setup_ldap_ejabberd_dn (directory);

  if (request->local)
    {
      if (!cj_slapd_config_available (ld))
        g_ptr_array_add (report, g_strdup (_("slapd's configuration (cn=config) cannot be read over "
                                             "ldapi as root: only the Jabber subtree is set up")));
      else if (!cj_slapd_ensure_modules (directory, ld, report, error) ||
               !cj_slapd_ensure_schemas (directory, ld, request->ldap_uri, report, error) ||
               !cj_slapd_ensure_database (directory, ld, request->database_dir, ejabberd_dn, report, error))
        return NULL;
    }

  if (!ensure_ou (directory, ld, services, "Services", report, error) ||
      !ensure_ou (directory, ld, cj_directory_get_jabber_dn (directory), "Jabber", report, error) ||
      !ensure_ou (directory, ld, cj_directory_get_users_dn (directory), "Users", report, error) ||
      !ensure_ou (directory, ld, cj_directory_get_groups_dn (directory), "Groups", report, error) ||
      !ensure_ejabberd_identity (directory, ld, request->state_dir, report, error) ||
      !cj_group_layout_migrate (directory, ld, report, error))
    return NULL;
  return g_steal_pointer (&report);
}
