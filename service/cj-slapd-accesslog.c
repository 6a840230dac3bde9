/* The accesslog database as syncprov's session log source (issue 14, `cl-setup ldap`).
 *
 * Without a session log, slapd answers a follower resuming from its cookie with a present
 * phase: the entryUUID of every unchanged entry (0.155 s at 100,000 users). With an
 * accesslog database logging every successful write, syncprov reads what changed since the
 * cookie from it and lists the deletions instead (2 ms). The in-memory olcSpSessionlog is
 * never used: it starts empty at every slapd start and a provider that was down missed
 * writes for good.
 *
 * The log holds the values written, password hashes among them: only root (over ldapi, the
 * database's rootdn) reads it. */
#include "config.h"
#include "cj-slapd-config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "cj-error.h"
#include "cj-ldap-util.h"

#define ACCESSLOG_SUFFIX "cn=accesslog"

/* Kept for a week, purged once a day: a daemon (or provider) away for longer resumes with
 * a present phase, as without a log (slower, nothing lost). */
#define ACCESSLOG_PURGE "07+00:00 01+00:00"

char *
cj_slapd_accesslog_directory (const char *database_dir)
{
  g_autofree char *trimmed = g_strdup (database_dir);
  gsize length = strlen (trimmed);

  while (length > 1 && trimmed[length - 1] == '/')
    trimmed[--length] = '\0';
  return g_strconcat (trimmed, "-accesslog", NULL);
}

static gboolean
ensure_log_database (CjDirectory *directory, LDAP *ld, const char *database_dir, GPtrArray *report,
                     GError **error)
{
  /* What syncprov and the purge task search by. */
  static const char *const indexes[] = { "entryCSN eq", "objectClass eq", "reqEnd eq", "reqResult eq",
                                         "reqStart eq", "reqDN eq", NULL };
  const char *access[] = { "{0}to * by dn.exact=\"" CJ_SLAPD_PEERCRED_ROOT "\" manage by * none", NULL };
  g_autofree char *path = cj_slapd_accesslog_directory (database_dir);
  g_autofree char *existing = NULL;
  g_autoptr(CjLdapMods) mods = NULL;
  int rc;

  existing = cj_slapd_find_database (ld, ACCESSLOG_SUFFIX, &rc);
  if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT)
    return cj_directory_set_error (directory, error, rc, ld, _("looking for the accesslog database"));
  if (existing != NULL)
    return TRUE;
  if (!cj_slapd_make_database_directory (path, error))
    return FALSE;
  /* Root over ldapi, as for the Jabber database; slapd's own writes and syncprov's reads
   * are internal and pass no access rule. Nobody else reads it, not even ejabberd's
   * identity: it holds password hashes. The rootdn has no size limit. The map is as large
   * as the Jabber database's: a week of writes, photos (32 KiB each) included, and a full
   * map would lose log entries. */
  mods = cj_slapd_mdb_database_mods (ACCESSLOG_SUFFIX, path, indexes);
  cj_ldap_mods_add (mods, LDAP_MOD_ADD, "olcAccess", access);
  rc = cj_directory_add (directory, ld, "olcDatabase=mdb,cn=config", cj_ldap_mods_get (mods));
  if (rc != LDAP_SUCCESS)
    return cj_directory_set_error (directory, error, rc, ld, _("creating the accesslog database"));
  g_ptr_array_add (report, g_strdup_printf (_("Created the accesslog database %s in %s (readable by root only)"),
                                            ACCESSLOG_SUFFIX, path));
  return TRUE;
}

/* The accesslog overlay on the Jabber database, logging to @log_db. Placed after (above)
 * syncprov, as slapd's delta-syncrepl configurations have it. */
static gboolean
add_log_overlay (CjDirectory *directory, LDAP *ld, const char *database, GPtrArray *report,
                 GError **error)
{
  static const char *const classes[] = { "olcOverlayConfig", "olcAccessLogConfig", NULL };
  g_autoptr(CjLdapMods) mods = cj_ldap_mods_new ();
  g_autofree char *dn = g_strdup_printf ("olcOverlay=accesslog,%s", database);
  int rc;

  cj_ldap_mods_add (mods, LDAP_MOD_ADD, "objectClass", classes);
  cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "olcOverlay", "accesslog");
  cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "olcAccessLogDB", ACCESSLOG_SUFFIX);
  /* What syncprov needs of a session log source: every successful write. */
  cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "olcAccessLogOps", "writes");
  cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "olcAccessLogSuccess", "TRUE");
  cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "olcAccessLogPurge", ACCESSLOG_PURGE);
  rc = cj_directory_add (directory, ld, dn, cj_ldap_mods_get (mods));
  if (rc != LDAP_SUCCESS)
    return cj_directory_set_error (directory, error, rc, ld, _("adding the accesslog overlay"));
  g_ptr_array_add (report, g_strdup_printf (_("Every write to the directory is logged in %s for a week "
                                              "(the accesslog overlay)"), ACCESSLOG_SUFFIX));
  return TRUE;
}

/* The first entry found by @filter one level below @base: its DN, and the values of @attrs
 * in @values (one GStrv each, never NULL). */
static char *
find_entry (LDAP *ld, const char *base, const char *filter, const char *const *attrs, GStrv *values,
            int *rc)
{
  g_autoptr(LDAPMessage) result = NULL;
  LDAPMessage *entry;
  char *dn, *copy;

  *rc = ldap_search_ext_s (ld, base, LDAP_SCOPE_ONELEVEL, filter, (char **) attrs, 0, NULL, NULL,
                           NULL, 0, &result);
  entry = *rc == LDAP_SUCCESS ? ldap_first_entry (ld, result) : NULL;
  if (entry == NULL)
    return NULL;
  for (guint i = 0; attrs[i] != NULL; i++)
    values[i] = cj_ldap_get_strings (ld, entry, attrs[i]);
  dn = ldap_get_dn (ld, entry);
  copy = g_strdup (dn);
  ldap_memfree (dn);
  return copy;
}

/* olcSpSessionlogSource on the syncprov overlay. An in-memory session log someone set
 * (olcSpSessionlog: slapd takes one or the other) is replaced: it loses writes. */
static gboolean
ensure_source (CjDirectory *directory, LDAP *ld, const char *database, const char *log_db,
               GPtrArray *report, GError **error)
{
  const char *attrs[] = { "olcSpSessionlogSource", "olcSpSessionlog", NULL };
  g_auto(GStrv) source = NULL, memory = NULL;
  GStrv values[2] = { NULL, NULL };
  g_autoptr(CjLdapMods) mods = NULL;
  g_autofree char *dn = NULL;
  int rc;

  dn = find_entry (ld, database, "(objectClass=olcSyncProvConfig)", attrs, values, &rc);
  source = values[0];
  memory = values[1];
  if (dn == NULL)
    return cj_directory_set_error (directory, error, rc != LDAP_SUCCESS ? rc : LDAP_NO_SUCH_OBJECT, ld,
                                   _("looking for the sync provider"));
  if (source != NULL && source[0] != NULL)
    return TRUE;
  mods = cj_ldap_mods_new ();
  if (memory != NULL && memory[0] != NULL)
    cj_ldap_mods_add (mods, LDAP_MOD_DELETE, "olcSpSessionlog", NULL);
  cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "olcSpSessionlogSource", log_db);
  rc = cj_directory_modify (directory, ld, dn, cj_ldap_mods_get (mods));
  if (rc != LDAP_SUCCESS)
    return cj_directory_set_error (directory, error, rc, ld, _("giving the sync provider its session log"));
  if (memory != NULL && memory[0] != NULL)
    g_ptr_array_add (report, g_strdup_printf (_("The sync provider's in-memory session log (which loses "
                                                "writes) is replaced by %s"), log_db));
  /* slapd 2.5 opens the session log source when the database starts: configured live,
   * it serves resumes from the next start of slapd on (present phases until then). */
  g_ptr_array_add (report, g_strdup_printf (_("The sync provider will read what changed from %s once "
                                              "slapd is restarted (systemctl restart slapd): a "
                                              "reconnecting daemon is then sent only the changes"),
                                            log_db));
  return TRUE;
}

/* On a database that replicates with other providers: no session log source and no
 * accesslog overlay. slapd 2.5.13 aborts in syncprov_play_accesslog with the source when
 * a restarted provider catches up; with the overlay alone its heap was seen corrupted, and
 * removing the overlay while slapd runs crashed it too. So nothing is changed here: what
 * an earlier run left (before the node joined a site) is reported, to be taken away with
 * slapd stopped (docs/scale-out.md, no-accesslog.ldif with slapmodify). */
static gboolean
check_no_session_log (LDAP *ld, const char *database, GPtrArray *report)
{
  int rc;
  g_autoptr(GPtrArray) sources = cj_slapd_search_values (ld, database, LDAP_SCOPE_ONELEVEL,
                                                         "(objectClass=olcSyncProvConfig)",
                                                         "olcSpSessionlogSource", &rc);
  g_autoptr(GPtrArray) logs = cj_slapd_search_values (ld, database, LDAP_SCOPE_ONELEVEL,
                                                      "(objectClass=olcAccessLogConfig)",
                                                      "olcAccessLogDB", &rc);

  if (sources->len > 0 || cj_slapd_contains (logs, ACCESSLOG_SUFFIX))
    g_ptr_array_add (report, g_strdup (_("Warning: this database replicates with other providers but "
                                         "still has the accesslog session log (slapd 2.5 may abort with "
                                         "it): take it away with slapd stopped, as docs/scale-out.md says "
                                         "(no-accesslog.ldif)")));
  else
    g_ptr_array_add (report, g_strdup (_("No accesslog session log for the sync provider: this database "
                                         "replicates with other providers (slapd 2.5 may abort with it)")));
  return TRUE;
}

/* Whether @database replicates with other providers, or is about to: olcMultiProvider, a
 * consumer olcSyncrepl of its own, or a server id (docs/scale-out.md sets one first). */
static gboolean
replicated (LDAP *ld, const char *database, int *rc)
{
  g_autoptr(GPtrArray) multi = cj_slapd_search_values (ld, database, LDAP_SCOPE_BASE, "(objectClass=*)",
                                                       "olcMultiProvider", rc);
  g_autoptr(GPtrArray) syncrepl = NULL;
  g_autoptr(GPtrArray) server_ids = NULL;

  if (*rc != LDAP_SUCCESS)
    return FALSE;
  syncrepl = cj_slapd_search_values (ld, database, LDAP_SCOPE_BASE, "(objectClass=*)", "olcSyncrepl", rc);
  if (*rc != LDAP_SUCCESS)
    return FALSE;
  server_ids = cj_slapd_search_values (ld, "cn=config", LDAP_SCOPE_BASE, "(objectClass=*)", "olcServerID", rc);
  if (*rc != LDAP_SUCCESS)
    return FALSE;
  return cj_slapd_contains (multi, "TRUE") || syncrepl->len > 0 ||
         (server_ids->len > 0 && !cj_slapd_contains (server_ids, "0"));
}

gboolean
cj_slapd_ensure_session_log (CjDirectory *directory, LDAP *ld, const char *database,
                             const char *database_dir, GPtrArray *report, GError **error)
{
  int rc;
  g_autoptr(GPtrArray) logs = NULL;
  g_autofree char *log_db = NULL;

  if (replicated (ld, database, &rc))
    return check_no_session_log (ld, database, report);
  if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT)
    return cj_directory_set_error (directory, error, rc, ld, _("reading the database's replication"));
  logs = cj_slapd_search_values (ld, database, LDAP_SCOPE_ONELEVEL, "(objectClass=olcAccessLogConfig)",
                                 "olcAccessLogDB", &rc);
  if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT)
    return cj_directory_set_error (directory, error, rc, ld, _("reading the database's overlays"));
  if (logs->len > 0)
    /* An accesslog overlay is there already (ours, or an administrator's): its log. */
    log_db = g_strdup (logs->pdata[0]);
  else
    {
      if (!ensure_log_database (directory, ld, database_dir, report, error) ||
          !add_log_overlay (directory, ld, database, report, error))
        return FALSE;
      log_db = g_strdup (ACCESSLOG_SUFFIX);
    }
  return ensure_source (directory, ld, database, log_db, report, error);
}
