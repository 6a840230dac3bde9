#include "config.h"
#include "cj-slapd-config.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cj-error.h"
#include "cj-ldap-util.h"

#define SCHEMA_DIR "/etc/ldap/schema"

/* The rule for userPassword, and the one versions before it wrote: with it a user could
 * ldapmodify his own userPassword (any value, even clear text), bypassing the daemon. */
#define PASSWORD_ACCESS "to attrs=userPassword by anonymous auth by * none"
#define PASSWORD_ACCESS_SELF_WRITE "to attrs=userPassword by self write by anonymous auth by * none"

static const char *const wanted_indexes[] = {
  "objectClass eq", "uid eq,sub", "cn eq,sub", "memberUid eq", "mail eq", "entryUUID eq",
  "entryCSN eq", "description eq", NULL
};

gboolean
cj_slapd_config_available (LDAP *ld)
{
  const char *attrs[] = { "1.1", NULL };
  g_autoptr(LDAPMessage) result = NULL;

  return ldap_search_ext_s (ld, "cn=config", LDAP_SCOPE_BASE, "(objectClass=*)", (char **) attrs,
                            0, NULL, NULL, NULL, 1, &result) == LDAP_SUCCESS;
}

GPtrArray *
cj_slapd_search_values (LDAP *ld, const char *base, int scope, const char *filter, const char *attr, int *rc)
{
  const char *attrs[] = { attr, NULL };
  g_autoptr(LDAPMessage) result = NULL;
  GPtrArray *values = g_ptr_array_new_with_free_func (g_free);

  *rc = ldap_search_ext_s (ld, base, scope, filter, (char **) attrs, 0, NULL, NULL, NULL, 0, &result);
  for (LDAPMessage *m = ldap_first_entry (ld, result); m != NULL; m = ldap_next_entry (ld, m))
    {
      g_auto(GStrv) found = cj_ldap_get_strings (ld, m, attr);
      for (char **v = found; *v != NULL; v++)
        {
          const char *value = *v;
          if (*value == '{' && strchr (value, '}') != NULL)
            value = strchr (value, '}') + 1;
          g_ptr_array_add (values, g_strdup (value));
        }
    }
  return values;
}

gboolean
cj_slapd_contains (GPtrArray *values, const char *value)
{
  for (guint i = 0; i < values->len; i++)
    if (g_ascii_strcasecmp (values->pdata[i], value) == 0)
      return TRUE;
  return FALSE;
}

gboolean
cj_slapd_ensure_modules (CjDirectory *directory, LDAP *ld, GPtrArray *report, GError **error)
{
  const char *attrs[] = { "olcModuleLoad", NULL };
  g_autoptr(LDAPMessage) result = NULL;
  g_autofree char *module_dn = NULL;
  g_autoptr(GPtrArray) loaded = NULL;
  LDAPMessage *first;
  int rc;

  rc = ldap_search_ext_s (ld, "cn=config", LDAP_SCOPE_ONELEVEL, "(objectClass=olcModuleList)",
                          (char **) attrs, 0, NULL, NULL, NULL, 0, &result);
  if (rc != LDAP_SUCCESS)
    return cj_directory_set_error (directory, error, rc, ld, _("reading slapd's modules"));
  first = ldap_first_entry (ld, result);
  if (first == NULL)
    {
      /* No module list: slapd was built with everything inside, or has none yet. */
      static const char *const classes[] = { "olcModuleList", NULL };
      static const char *const modules[] = { "back_mdb", "syncprov", "unique", "accesslog", NULL };
      g_autoptr(CjLdapMods) mods = cj_ldap_mods_new ();

      cj_ldap_mods_add (mods, LDAP_MOD_ADD, "objectClass", classes);
      cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "cn", "module");
      cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "olcModulePath", "/usr/lib/ldap");
      cj_ldap_mods_add (mods, LDAP_MOD_ADD, "olcModuleLoad", modules);
      rc = cj_directory_add (directory, ld, "cn=module,cn=config", cj_ldap_mods_get (mods));
      if (rc != LDAP_SUCCESS)
        return cj_directory_set_error (directory, error, rc, ld, _("loading slapd's modules"));
      g_ptr_array_add (report, g_strdup (_("Loaded the slapd modules back_mdb, syncprov, unique and accesslog")));
      return TRUE;
    }
  {
    char *dn = ldap_get_dn (ld, first);
    module_dn = g_strdup (dn);
    ldap_memfree (dn);
  }
  loaded = cj_slapd_search_values (ld, "cn=config", LDAP_SCOPE_ONELEVEL, "(objectClass=olcModuleList)",
                          "olcModuleLoad", &rc);
  for (const char *const *m = (const char *const[]) { "back_mdb", "syncprov", "unique", "accesslog", NULL }; *m != NULL; m++)
    {
      g_autofree char *with_suffix = g_strconcat (*m, ".la", NULL);
      g_autoptr(CjLdapMods) mods = NULL;

      if (cj_slapd_contains (loaded, *m) || cj_slapd_contains (loaded, with_suffix))
        continue;
      mods = cj_ldap_mods_new ();
      cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "olcModuleLoad", *m);
      rc = cj_directory_modify (directory, ld, module_dn, cj_ldap_mods_get (mods));
      if (rc != LDAP_SUCCESS)
        return cj_directory_set_error (directory, error, rc, ld, _("loading a slapd module"));
      g_ptr_array_add (report, g_strdup_printf (_("Loaded the slapd module %s"), *m));
    }
  return TRUE;
}

gboolean
cj_slapd_ensure_schemas (CjDirectory *directory, LDAP *ld, const char *uri, GPtrArray *report,
                         GError **error)
{
  /* In dependency order. */
  static const char *const needed[] = { "core", "cosine", "nis", "inetorgperson", NULL };
  int rc;
  g_autoptr(GPtrArray) present = cj_slapd_search_values (ld, "cn=schema,cn=config", LDAP_SCOPE_ONELEVEL,
                                                "(objectClass=olcSchemaConfig)", "cn", &rc);

  if (rc != LDAP_SUCCESS)
    return cj_directory_set_error (directory, error, rc, ld, _("reading slapd's schemas"));
  for (const char *const *s = needed; *s != NULL; s++)
    {
      g_autofree char *file = g_strdup_printf (SCHEMA_DIR "/%s.ldif", *s);
      g_autofree char *err = NULL;
      int status = 0;
      const char *argv[] = { "ldapadd", "-Q", "-Y", "EXTERNAL", "-H", uri, "-f", file, NULL };

      if (cj_slapd_contains (present, *s))
        continue;
      /* The schema files are LDIF; ldapadd reads them better than we would. */
      if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                         NULL, NULL, NULL, &err, &status, error) ||
          !g_spawn_check_wait_status (status, NULL))
        {
          g_clear_error (error);
          g_set_error (error, CJ_ERROR, CJ_ERROR_FAILED, _("Cannot add the schema %s to slapd: %s"),
                       file, err != NULL ? g_strstrip (err) : "");
          return FALSE;
        }
      g_ptr_array_add (report, g_strdup_printf (_("Added the LDAP schema %s"), *s));
    }
  return TRUE;
}

/* The object classes of the base entry, from its first RDN (dc=, o= or ou=). */
static gboolean
add_base_entry (CjDirectory *directory, LDAP *ld, GPtrArray *report, GError **error)
{
  const char *base = cj_directory_get_base_dn (directory);
  g_autoptr(CjLdapMods) mods = cj_ldap_mods_new ();
  LDAPDN dn = NULL;
  g_autofree char *attr = NULL, *value = NULL;
  int rc;

  if (ldap_str2dn (base, &dn, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS || dn == NULL || dn[0] == NULL)
    {
      g_set_error (error, CJ_ERROR, CJ_ERROR_FAILED, _("BaseDn %s is not a valid DN"), base);
      return FALSE;
    }
  attr = g_ascii_strdown (dn[0][0]->la_attr.bv_val, (gssize) dn[0][0]->la_attr.bv_len);
  value = g_strndup (dn[0][0]->la_value.bv_val, dn[0][0]->la_value.bv_len);
  ldap_dnfree (dn);

  if (g_str_equal (attr, "dc"))
    {
      static const char *const classes[] = { "top", "dcObject", "organization", NULL };
      cj_ldap_mods_add (mods, LDAP_MOD_ADD, "objectClass", classes);
      cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "dc", value);
      cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "o", value);
    }
  else if (g_str_equal (attr, "o"))
    {
      static const char *const classes[] = { "top", "organization", NULL };
      cj_ldap_mods_add (mods, LDAP_MOD_ADD, "objectClass", classes);
      cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "o", value);
    }
  else if (g_str_equal (attr, "ou"))
    {
      static const char *const classes[] = { "top", "organizationalUnit", NULL };
      cj_ldap_mods_add (mods, LDAP_MOD_ADD, "objectClass", classes);
      cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "ou", value);
    }
  else
    {
      g_set_error (error, CJ_ERROR, CJ_ERROR_FAILED,
                   _("Cannot create the base entry %s: it must start with dc=, o= or ou="), base);
      return FALSE;
    }
  rc = cj_directory_add (directory, ld, base, cj_ldap_mods_get (mods));
  if (rc == LDAP_ALREADY_EXISTS)
    return TRUE;
  if (rc != LDAP_SUCCESS)
    return cj_directory_set_error (directory, error, rc, ld, _("creating the base entry"));
  g_ptr_array_add (report, g_strdup_printf (_("Created the base entry %s"), base));
  return TRUE;
}

gboolean
cj_slapd_make_database_directory (const char *path, GError **error)
{
  g_autofree char *parent = g_path_get_dirname (path);
  struct stat st;

  if (g_mkdir_with_parents (path, 0700) < 0 || stat (parent, &st) < 0)
    {
      int saved = errno;
      g_set_error (error, CJ_ERROR, CJ_ERROR_FAILED, _("Cannot create the database directory %s: %s"),
                   path, g_strerror (saved));
      return FALSE;
    }
  if (chown (path, st.st_uid, st.st_gid) < 0)
    {
      int saved = errno;
      g_set_error (error, CJ_ERROR, CJ_ERROR_FAILED, _("Cannot give %s to slapd's user: %s"), path,
                   g_strerror (saved));
      return FALSE;
    }
  return TRUE;
}

char *
cj_slapd_find_database (LDAP *ld, const char *base, int *rc)
{
  const char *attrs[] = { "1.1", NULL };
  g_autofree char *escaped = cj_ldap_escape_filter (base);
  g_autofree char *filter = g_strdup_printf ("(olcSuffix=%s)", escaped);
  g_autoptr(LDAPMessage) result = NULL;
  LDAPMessage *entry;
  char *dn, *copy;

  *rc = ldap_search_ext_s (ld, "cn=config", LDAP_SCOPE_ONELEVEL, filter, (char **) attrs, 0,
                           NULL, NULL, NULL, 0, &result);
  entry = *rc == LDAP_SUCCESS ? ldap_first_entry (ld, result) : NULL;
  if (entry == NULL)
    return NULL;
  dn = ldap_get_dn (ld, entry);
  copy = g_strdup (dn);
  ldap_memfree (dn);
  return copy;
}

CjLdapMods *
cj_slapd_mdb_database_mods (const char *suffix, const char *database_dir, const char *const *indexes)
{
  static const char *const classes[] = { "olcDatabaseConfig", "olcMdbConfig", NULL };
  CjLdapMods *mods = cj_ldap_mods_new ();

  cj_ldap_mods_add (mods, LDAP_MOD_ADD, "objectClass", classes);
  cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "olcDatabase", "mdb");
  cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "olcSuffix", suffix);
  cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "olcDbDirectory", database_dir);
  /* Root over ldapi: the daemon and cl-setup; slapd's own writes pass no access rule. */
  cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "olcRootDN", CJ_SLAPD_PEERCRED_ROOT);
  /* The default map of 10 MiB holds a few thousand users with photos (or a few days of
   * their writes in the accesslog); mdb maps lazily, so a large map costs nothing. */
  cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "olcDbMaxSize", "4294967296");
  cj_ldap_mods_add (mods, LDAP_MOD_ADD, "olcDbIndex", indexes);
  return mods;
}

static gboolean
add_database (CjDirectory *directory, LDAP *ld, const char *database_dir, const char *ejabberd_dn,
              GPtrArray *report, GError **error)
{
  const char *base = cj_directory_get_base_dn (directory);
  g_autoptr(CjLdapMods) mods = NULL;
  g_autofree char *limits = g_strdup_printf ("dn.exact=\"%s\" size=unlimited time=unlimited", ejabberd_dn);
  /* Passwords: bind only; nobody but the rootdn (root over ldapi: the daemon) writes them,
   * so every change goes through the daemon's rules (length, hashing, polkit, audit).
   * Everything else: ejabberd's identity reads, users read their own entry and write
   * nothing. */
  g_autofree char *access0 = g_strconcat ("{0}", PASSWORD_ACCESS, NULL);
  g_autofree char *access1 = g_strdup_printf ("{1}to * by dn.exact=\"%s\" read by self read by anonymous auth by * none",
                                              ejabberd_dn);
  const char *access[] = { access0, access1, NULL };
  int rc;

  if (!cj_slapd_make_database_directory (database_dir, error))
    return FALSE;
  mods = cj_slapd_mdb_database_mods (base, database_dir, wanted_indexes);
  cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "olcLimits", limits);
  cj_ldap_mods_add (mods, LDAP_MOD_ADD, "olcAccess", access);
  rc = cj_directory_add (directory, ld, "olcDatabase=mdb,cn=config", cj_ldap_mods_get (mods));
  if (rc != LDAP_SUCCESS)
    return cj_directory_set_error (directory, error, rc, ld, _("creating the database"));
  g_ptr_array_add (report, g_strdup_printf (_("Created an LDAP database for %s in %s"), base, database_dir));
  return TRUE;
}

static gboolean
ensure_syncprov (CjDirectory *directory, LDAP *ld, const char *database, GPtrArray *report, GError **error)
{
  static const char *const classes[] = { "olcOverlayConfig", "olcSyncProvConfig", NULL };
  int rc;
  g_autoptr(GPtrArray) overlays = cj_slapd_search_values (ld, database, LDAP_SCOPE_ONELEVEL,
                                                 "(objectClass=olcOverlayConfig)", "olcOverlay", &rc);
  g_autoptr(CjLdapMods) mods = NULL;
  g_autofree char *dn = NULL;

  if (cj_slapd_contains (overlays, "syncprov"))
    return TRUE;
  mods = cj_ldap_mods_new ();
  dn = g_strdup_printf ("olcOverlay=syncprov,%s", database);
  cj_ldap_mods_add (mods, LDAP_MOD_ADD, "objectClass", classes);
  cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "olcOverlay", "syncprov");
  /* No in-memory session log (olcSpSessionlog): with one, a replica that was down missed
   * changes for good. The accesslog database is its session log source instead
   * (cj-slapd-accesslog.c). */
  cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "olcSpCheckpoint", "100 10");
  rc = cj_directory_add (directory, ld, dn, cj_ldap_mods_get (mods));
  if (rc != LDAP_SUCCESS)
    return cj_directory_set_error (directory, error, rc, ld, _("adding the sync provider"));
  g_ptr_array_add (report, g_strdup (_("Enabled the sync provider (the daemon follows changes made by other tools)")));
  return TRUE;
}

/* Group names (description) unique within ou=Groups, enforced by slapd itself for every
 * writer: the daemon checks first, but another daemon or tool may write at the same time.
 * "serialize" makes concurrent checks consistent. */
static char *
unique_uri (CjDirectory *directory)
{
  char *attrs[] = { (char *) "description", NULL };
  LDAPURLDesc desc = { 0 };
  char *url;
  char *value;

  desc.lud_scheme = (char *) "ldap";
  desc.lud_dn = (char *) cj_directory_get_groups_dn (directory);
  desc.lud_attrs = attrs;
  desc.lud_scope = LDAP_SCOPE_ONELEVEL;
  desc.lud_filter = (char *) "(objectClass=posixGroup)";
  url = ldap_url_desc2str (&desc);
  value = g_strdup_printf ("serialize %s", url);
  ldap_memfree (url);
  return value;
}

static gboolean
ensure_unique (CjDirectory *directory, LDAP *ld, const char *database, GPtrArray *report, GError **error)
{
  static const char *const classes[] = { "olcOverlayConfig", "olcUniqueConfig", NULL };
  g_autofree char *uri = unique_uri (directory);
  g_autoptr(GPtrArray) overlays = NULL;
  g_autoptr(GPtrArray) uris = NULL;
  g_autoptr(CjLdapMods) mods = cj_ldap_mods_new ();
  g_autofree char *dn = NULL;
  int rc;

  uris = cj_slapd_search_values (ld, database, LDAP_SCOPE_ONELEVEL, "(objectClass=olcUniqueConfig)",
                        "olcUniqueURI", &rc);
  if (cj_slapd_contains (uris, uri))
    return TRUE;
  overlays = cj_slapd_search_values (ld, database, LDAP_SCOPE_ONELEVEL, "(objectClass=olcUniqueConfig)",
                            "olcOverlay", &rc);
  if (overlays->len > 0)
    {
      /* An administrator's unique overlay: our domain is added beside theirs. */
      dn = g_strdup_printf ("olcOverlay=%s,%s", (const char *) overlays->pdata[0], database);
      cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "olcUniqueURI", uri);
      rc = cj_directory_modify (directory, ld, dn, cj_ldap_mods_get (mods));
    }
  else
    {
      dn = g_strdup_printf ("olcOverlay=unique,%s", database);
      cj_ldap_mods_add (mods, LDAP_MOD_ADD, "objectClass", classes);
      cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "olcOverlay", "unique");
      cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "olcUniqueURI", uri);
      rc = cj_directory_add (directory, ld, dn, cj_ldap_mods_get (mods));
    }
  if (rc != LDAP_SUCCESS)
    return cj_directory_set_error (directory, error, rc, ld, _("making group names unique"));
  g_ptr_array_add (report, g_strdup (_("Group names are kept unique by slapd (the unique overlay)")));
  return TRUE;
}

static gboolean
ensure_indexes (CjDirectory *directory, LDAP *ld, const char *database, GPtrArray *report, GError **error)
{
  int rc;
  g_autoptr(GPtrArray) present = cj_slapd_search_values (ld, database, LDAP_SCOPE_BASE, "(objectClass=*)",
                                                "olcDbIndex", &rc);
  g_autoptr(GPtrArray) attributes = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(CjLdapMods) mods = cj_ldap_mods_new ();
  g_autoptr(GPtrArray) missing = g_ptr_array_new ();

  /* An attribute already indexed in any way is left as the administrator set it. */
  for (guint i = 0; i < present->len; i++)
    {
      g_auto(GStrv) words = g_strsplit_set (present->pdata[i], " ,", -1);
      for (char **w = words; *w != NULL; w++)
        if (**w != '\0')
          g_ptr_array_add (attributes, g_strdup (*w));
    }
  for (const char *const *index = wanted_indexes; *index != NULL; index++)
    {
      g_autofree char *attribute = g_strndup (*index, strcspn (*index, " "));
      if (!cj_slapd_contains (attributes, attribute))
        g_ptr_array_add (missing, (gpointer) *index);
    }
  if (missing->len == 0)
    return TRUE;
  g_ptr_array_add (missing, NULL);
  cj_ldap_mods_add (mods, LDAP_MOD_ADD, "olcDbIndex", (const char *const *) missing->pdata);
  rc = cj_directory_modify (directory, ld, database, cj_ldap_mods_get (mods));
  if (rc != LDAP_SUCCESS)
    return cj_directory_set_error (directory, error, rc, ld, _("adding indexes"));
  g_ptr_array_add (report, g_strdup_printf (_("Added %u LDAP indexes"), missing->len - 1));
  return TRUE;
}

/* A database made by an earlier version carries PASSWORD_ACCESS_SELF_WRITE: replace that
 * value, at its place in the ordered list, with PASSWORD_ACCESS. Rules an administrator
 * wrote are left alone. */
static gboolean
ensure_password_access (CjDirectory *directory, LDAP *ld, const char *database, GPtrArray *report,
                        GError **error)
{
  const char *attrs[] = { "olcAccess", NULL };
  g_autoptr(LDAPMessage) result = NULL;
  g_auto(GStrv) rules = NULL;
  int rc;

  rc = ldap_search_ext_s (ld, database, LDAP_SCOPE_BASE, "(objectClass=*)", (char **) attrs, 0, NULL,
                          NULL, NULL, 0, &result);
  if (rc != LDAP_SUCCESS)
    return cj_directory_set_error (directory, error, rc, ld, _("reading the database's access rules"));
  if (ldap_first_entry (ld, result) == NULL)
    return TRUE;
  rules = cj_ldap_get_strings (ld, ldap_first_entry (ld, result), "olcAccess");
  for (char **r = rules; *r != NULL; r++)
    {
      const char *rule = *r;
      const char *brace = strchr (rule, '}');
      g_autofree char *prefix = NULL, *replacement = NULL;
      g_autoptr(CjLdapMods) mods = NULL;

      if (*rule != '{' || brace == NULL || !g_str_equal (brace + 1, PASSWORD_ACCESS_SELF_WRITE))
        continue;
      prefix = g_strndup (rule, (gsize) (brace + 1 - rule));
      replacement = g_strconcat (prefix, PASSWORD_ACCESS, NULL);
      mods = cj_ldap_mods_new ();
      cj_ldap_mods_add1 (mods, LDAP_MOD_DELETE, "olcAccess", rule);
      cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "olcAccess", replacement);
      rc = cj_directory_modify (directory, ld, database, cj_ldap_mods_get (mods));
      if (rc != LDAP_SUCCESS)
        return cj_directory_set_error (directory, error, rc, ld, _("updating the database's access rules"));
      g_ptr_array_add (report, g_strdup (_("Users can no longer write their own password directly in LDAP "
                                           "(updated the database's access rule)")));
      break;
    }
  return TRUE;
}

gboolean
cj_slapd_ensure_database (CjDirectory *directory, LDAP *ld, const char *database_dir,
                          const char *ejabberd_dn, GPtrArray *report, GError **error)
{
  int rc;
  g_autofree char *database = cj_slapd_find_database (ld, cj_directory_get_base_dn (directory), &rc);

  if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT)
    return cj_directory_set_error (directory, error, rc, ld, _("looking for the database"));
  if (database == NULL)
    {
      if (!add_database (directory, ld, database_dir, ejabberd_dn, report, error))
        return FALSE;
      database = cj_slapd_find_database (ld, cj_directory_get_base_dn (directory), &rc);
      if (database == NULL)
        return cj_directory_set_error (directory, error, rc != LDAP_SUCCESS ? rc : LDAP_OTHER, ld,
                                       _("looking for the new database"));
    }
  else
    g_ptr_array_add (report, g_strdup_printf (_("The LDAP database for %s exists already"),
                                              cj_directory_get_base_dn (directory)));
  return ensure_password_access (directory, ld, database, report, error) &&
         ensure_indexes (directory, ld, database, report, error) &&
         ensure_syncprov (directory, ld, database, report, error) &&
         ensure_unique (directory, ld, database, report, error) &&
         cj_slapd_ensure_session_log (directory, ld, database, database_dir, report, error) &&
         add_base_entry (directory, ld, report, error);
}
