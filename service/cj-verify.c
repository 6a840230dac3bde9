/* Verify and Repair: see cj-verify.h. */
#include "config.h"
#include "cj-verify.h"

#include <glib/gi18n.h>
#include <string.h>

#include "cj-audit.h"
#include "cj-common.h"
#include "cj-csn.h"
#include "cj-ejabberd-config.h"
#include "cj-ejabberd-files.h"
#include "cj-error.h"
#include "cj-ldap-util.h"
#include "cj-setup-jabber.h"
#include "cj-setup-ldap.h"
#include "cj-validate.h"

/* A certificate ending within this many seconds is reported. */
#define EXPIRY_WARNING (30 * 24 * 3600)

typedef struct {
  char *kind;
  char *subject;
  char *message;
} Finding;

static void
finding_free (Finding *finding)
{
  g_free (finding->kind);
  g_free (finding->subject);
  g_free (finding->message);
  g_free (finding);
}

static void add_finding (GPtrArray *findings, const char *kind, const char *subject,
                         const char *format, ...) G_GNUC_PRINTF (4, 5);

static void
add_finding (GPtrArray *findings, const char *kind, const char *subject, const char *format, ...)
{
  Finding *finding = g_new0 (Finding, 1);
  va_list args;

  va_start (args, format);
  finding->kind = g_strdup (kind);
  finding->subject = cj_text_escape (subject != NULL ? subject : "");
  finding->message = g_strdup_vprintf (format, args);
  va_end (args);
  g_ptr_array_add (findings, finding);
}

/* The directory, in its worker thread --------------------------------------------------------- */

typedef struct {
  gboolean    repair;
  char      **hosts;        /* served; the primary first */
  GPtrArray  *findings;     /* out */
} Check;

static void
check_free (Check *check)
{
  g_strfreev (check->hosts);
  g_ptr_array_unref (check->findings);
  g_free (check);
}

typedef struct {
  char      *dn;
  char      *name;
  char      *csn;
  char     **members;
} Group;

static void
group_free (Group *group)
{
  g_free (group->dn);
  g_free (group->name);
  g_free (group->csn);
  g_strfreev (group->members);
  g_free (group);
}

static gint
by_name (gconstpointer a, gconstpointer b)
{
  return strcmp ((*(Group **) a)->name, (*(Group **) b)->name);
}

static int
modify1 (LDAP *ld, const char *dn, int op, const char *attr, const char *value)
{
  g_autoptr(CjLdapMods) mods = cj_ldap_mods_new ();

  cj_ldap_mods_add1 (mods, op, attr, value);
  return ldap_modify_ext_s (ld, dn, cj_ldap_mods_get (mods), NULL, NULL);
}

static gboolean
read_users (CjDirectory *directory, LDAP *ld, Check *check, GHashTable *users, GError **error)
{
  const char *attrs[] = { "uid", "mail", "objectClass", NULL };
  g_autoptr(LDAPMessage) result = NULL;
  int rc = ldap_search_ext_s (ld, cj_directory_get_users_dn (directory), LDAP_SCOPE_ONELEVEL,
                              "(objectClass=*)", (char **) attrs, 0, NULL, NULL, NULL, 0, &result);

  if (rc == LDAP_NO_SUCH_OBJECT)
    return cj_store_subtree_missing (cj_directory_get_users_dn (directory), error);
  if (rc != LDAP_SUCCESS)
    return cj_directory_set_error (directory, error, rc, ld, _("reading the accounts"));
  for (LDAPMessage *m = ldap_first_entry (ld, result); m != NULL; m = ldap_next_entry (ld, m))
    {
      g_autofree char *uid = cj_ldap_get_string (ld, m, "uid");
      g_autofree char *mail = cj_ldap_get_string (ld, m, "mail");
      char *dn = ldap_get_dn (ld, m);
      const char *at;

      if (uid == NULL || !cj_ldap_has_value (ld, m, "objectClass", "inetOrgPerson") ||
          !cj_validate_user_name (uid, NULL))
        add_finding (check->findings, "unreadable-entry", dn,
                     _("not an account the service can read (an inetOrgPerson with a valid uid)"));
      else
        {
          g_hash_table_add (users, g_strdup (uid));
          if (mail != NULL && (at = strchr (mail, '@')) != NULL &&
              !g_strv_contains ((const char *const *) check->hosts, at + 1))
            {
              g_autofree char *fixed = g_strdup_printf ("%s@%s", uid, check->hosts[0]);

              if (!check->repair)
                add_finding (check->findings, "foreign-host", uid,
                             _("its mail %s is on a host this server does not serve"), mail);
              else if ((rc = modify1 (ld, dn, LDAP_MOD_REPLACE, "mail", fixed)) == LDAP_SUCCESS)
                add_finding (check->findings, "foreign-host", uid, _("mail set to %s"), fixed);
              else if (cj_directory_error_is_connection (rc))
                {
                  ldap_memfree (dn);
                  return cj_directory_set_error (directory, error, rc, ld, _("repairing"));
                }
            }
        }
      ldap_memfree (dn);
    }
  return TRUE;
}

static gboolean
read_groups (CjDirectory *directory, LDAP *ld, Check *check, GPtrArray *groups, GError **error)
{
  const char *attrs[] = { "cn", "description", "memberUid", "objectClass", "entryCSN", NULL };
  g_autoptr(LDAPMessage) result = NULL;
  int rc = ldap_search_ext_s (ld, cj_directory_get_groups_dn (directory), LDAP_SCOPE_ONELEVEL,
                              "(objectClass=*)", (char **) attrs, 0, NULL, NULL, NULL, 0, &result);

  if (rc == LDAP_NO_SUCH_OBJECT)
    return TRUE;
  if (rc != LDAP_SUCCESS)
    return cj_directory_set_error (directory, error, rc, ld, _("reading the groups"));
  for (LDAPMessage *m = ldap_first_entry (ld, result); m != NULL; m = ldap_next_entry (ld, m))
    {
      char *dn = ldap_get_dn (ld, m);
      char *name = cj_ldap_get_string (ld, m, "description");

      if (name == NULL)
        name = cj_ldap_get_string (ld, m, "cn");
      if (name == NULL || !cj_ldap_has_value (ld, m, "objectClass", "posixGroup") ||
          !cj_validate_group_name (name, NULL))
        {
          add_finding (check->findings, "unreadable-entry", dn,
                       _("not a group the service can read (a posixGroup with a valid name)"));
          g_free (name);
        }
      else
        {
          Group *group = g_new0 (Group, 1);

          group->dn = g_strdup (dn);
          group->name = name;
          group->csn = cj_ldap_get_string (ld, m, "entryCSN");
          group->members = cj_ldap_get_strings (ld, m, "memberUid");
          g_ptr_array_add (groups, group);
        }
      ldap_memfree (dn);
    }
  g_ptr_array_sort (groups, by_name);
  return TRUE;
}

static gpointer
check_directory (CjDirectory *directory, LDAP *ld, gpointer data, GCancellable *cancellable, GError **error)
{
  Check *check = data;
  g_autoptr(GHashTable) users = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GHashTable) kept_by = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) groups = g_ptr_array_new_with_free_func ((GDestroyNotify) group_free);

  if (!read_users (directory, ld, check, users, error) || !read_groups (directory, ld, check, groups, error))
    return NULL;
  /* A user listed by several groups stays in the one the rule of cj-csn.h picks (the
   * newest group entry), as the view shows it and as the daemon repairs it on its own. */
  for (guint i = 0; i < groups->len; i++)
    {
      Group *group = groups->pdata[i];

      for (char **m = group->members; *m != NULL; m++)
        {
          Group *kept = g_hash_table_lookup (kept_by, *m);

          if (kept == NULL || cj_group_claim_compare (group->csn, group->name, group->dn,
                                                      kept->csn, kept->name, kept->dn) < 0)
            g_hash_table_insert (kept_by, *m, group);
        }
    }
  for (guint i = 0; i < groups->len; i++)
    {
      Group *group = groups->pdata[i];

      for (char **m = group->members; *m != NULL; m++)
        {
          Group *first = g_hash_table_lookup (kept_by, *m);
          const char *kind = NULL;
          int rc = LDAP_SUCCESS;

          if (!g_hash_table_contains (users, *m))
            kind = "dangling-member";
          else if (first != group)
            kind = "several-groups";
          else
            continue;
          if (check->repair)
            rc = modify1 (ld, group->dn, LDAP_MOD_DELETE, "memberUid", *m);
          if (cj_directory_error_is_connection (rc))
            return GINT_TO_POINTER (cj_directory_set_error (directory, error, rc, ld, _("repairing")));
          if (!check->repair && g_str_equal (kind, "dangling-member"))
            add_finding (check->findings, kind, *m, _("listed by the group “%s”, but there is no such account"),
                         group->name);
          else if (!check->repair)
            add_finding (check->findings, kind, *m, _("in the groups “%s” and “%s” (a user is in one group)"),
                         first->name, group->name);
          else if (rc == LDAP_SUCCESS || rc == LDAP_NO_SUCH_ATTRIBUTE)
            add_finding (check->findings, kind, *m, _("taken out of the group “%s”"), group->name);
        }
    }
  return g_ptr_array_ref (check->findings);
}

/* The rest, in the main thread --------------------------------------------------------------- */

typedef struct {
  CjDaemon              *daemon;
  GDBusMethodInvocation *invocation;
  gboolean               repair;
  GPtrArray             *findings;
  gint64                 started;
} Run;

static gboolean running;
/* Verify needs no authorization and reads the whole subtree on the directory's one worker:
 * after a check, the next Verify waits at least as long as that check took (2 s at least),
 * so that nobody looping on it keeps the worker busy more than half the time. Repair
 * (authorized) is not held back. */
static gint64 next_verify;

static void
ended (Run *run)
{
  gint64 now = g_get_monotonic_time ();

  /* After an (authorized) repair, the check of what it did may follow at once. */
  next_verify = run->repair ? 0 : now + MAX (now - run->started, 2 * G_USEC_PER_SEC);
  running = FALSE;
}

static void
run_finish (Run *run)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(sss)"));
  for (guint i = 0; i < run->findings->len; i++)
    {
      Finding *f = run->findings->pdata[i];
      g_variant_builder_add (&builder, "(sss)", f->kind, f->subject, f->message);
    }
  if (run->repair)
    {
      g_autofree char *target = g_strdup_printf ("repair: %u fixed", run->findings->len);
      cj_audit_finish (run->invocation, target, NULL);
    }
  g_dbus_method_invocation_return_value (run->invocation, g_variant_new ("(a(sss))", &builder));
  ended (run);
  g_ptr_array_unref (run->findings);
  g_free (run);
}

/* What the daemon would render now, with the saved settings (cj-ejabberd-files.c does the
 * same when it writes). */
static char *
render_now (CjDaemon *daemon)
{
  g_autoptr(GPtrArray) hosts = g_ptr_array_new ();
  const char *const *extra = cj_server_get_hosts (daemon->server);
  CjEjabberdFiles *files = NULL;
  CjEjabberdSettings settings;
  g_autofree char *secret = NULL;
  char *rendered;

  g_ptr_array_add (hosts, (gpointer) cj_server_get_primary_host (daemon->server));
  for (guint i = 1; extra != NULL && extra[0] != NULL && extra[i] != NULL; i++)
    g_ptr_array_add (hosts, (gpointer) extra[i]);
  g_ptr_array_add (hosts, NULL);
  files = cj_setup_jabber_files_new (daemon, (const char *const *) hosts->pdata,
                                     cj_server_get_history (daemon->server),
                                     cj_server_get_listen_address (daemon->server));
  if (!g_file_get_contents (files->secret_file, &secret, NULL, NULL))
    {
      cj_ejabberd_files_free (files);
      return NULL;
    }
  g_strstrip (secret);
  cj_ejabberd_files_settings (files, secret, &settings);
  rendered = cj_ejabberd_config_render (&settings);
  explicit_bzero (secret, strlen (secret));
  cj_ejabberd_files_free (files);
  return rendered;
}

static void
check_config (Run *run)
{
  CjDaemon *daemon = run->daemon;
  g_autofree char *want = render_now (daemon);
  g_autofree char *have = NULL;

  if (want == NULL)
    return;
  if (g_file_get_contents (daemon->config->ejabberd_config, &have, NULL, NULL) && g_str_equal (want, have))
    {
      explicit_bzero (want, strlen (want));
      explicit_bzero (have, strlen (have));
      return;
    }
  if (run->repair && cj_setup_jabber_render_again (daemon))
    add_finding (run->findings, "config-differs", daemon->config->ejabberd_config,
                 _("rendered again; ejabberd restarts with it"));
  else if (!run->repair)
    add_finding (run->findings, "config-differs", daemon->config->ejabberd_config,
                 _("differs from what the daemon renders from its settings (a hand edit?); “cl-jabber verify --repair” renders it again"));
  explicit_bzero (want, strlen (want));
  if (have != NULL)
    explicit_bzero (have, strlen (have));
}

static void
on_ejabberd_status (GObject *source, GAsyncResult *result, gpointer data)
{
  Run *run = data;
  g_autoptr(GError) error = NULL;

  if (!cj_ejabberd_control_finish (run->daemon->ejabberd, result, &error) && !run->repair)
    {
      /* ejabberdctl's first line says why; its usage text follows. */
      g_auto(GStrv) lines = g_strsplit (error->message, "\n", 3);

      add_finding (run->findings, "ejabberd-down", "ejabberd", _("does not answer: %s%s%s"), lines[0],
                   lines[1] != NULL ? " " : "", lines[1] != NULL ? lines[1] : "");
    }
  run_finish (run);
}

static void
on_certificate_checked (GObject *source, GAsyncResult *result, gpointer data)
{
  Run *run = data;
  g_autoptr(GError) error = NULL;

  /* openssl x509 -checkend: exit status 1 when the certificate ends within the time. */
  if (!g_subprocess_wait_check_finish (G_SUBPROCESS (source), result, &error) && !run->repair)
    add_finding (run->findings, "certificate-expiry", run->daemon->config->certificate_file,
                 _("ends within 30 days, or has ended: give a new one with “cl-setup --certificate FILE jabber”"));
  {
    const char *args[] = { "status", NULL };
    cj_ejabberd_control_async (run->daemon->ejabberd, args, on_ejabberd_status, run);
  }
}

static void
check_server (Run *run)
{
  CjDaemon *daemon = run->daemon;
  g_autofree char *seconds = g_strdup_printf ("%d", EXPIRY_WARNING);
  g_autoptr(GSubprocess) openssl = NULL;

  if (!cj_server_get_configured (daemon->server))
    {
      run_finish (run);
      return;
    }
  check_config (run);
  openssl = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, NULL,
                              "openssl", "x509", "-noout", "-checkend", seconds,
                              "-in", daemon->config->certificate_file, NULL);
  if (openssl == NULL)
    {
      on_certificate_checked (NULL, NULL, run);
      return;
    }
  g_subprocess_wait_check_async (openssl, NULL, on_certificate_checked, run);
}

static void
on_directory_checked (GObject *source, GAsyncResult *result, gpointer data)
{
  Run *run = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) findings = cj_directory_run_finish (run->daemon->directory, result, &error);

  if (findings == NULL && g_error_matches (error, CJ_ERROR, CJ_ERROR_NOT_CONFIGURED))
    {
      g_dbus_method_invocation_return_gerror (run->invocation, error);
      ended (run);
      g_ptr_array_unref (run->findings);
      g_free (run);
      return;
    }
  if (findings == NULL && !run->repair)
    add_finding (run->findings, "directory-down", cj_directory_get_uri (run->daemon->directory),
                 "%s", error->message);
  check_server (run);
}

static void
start (CjDaemon *daemon, GDBusMethodInvocation *invocation, gboolean repair)
{
  Run *run;
  Check *check;
  g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func (g_free);
  const char *const *served = cj_server_get_hosts (daemon->server);

  if (running)
    {
      g_dbus_method_invocation_return_error_literal (invocation, CJ_ERROR, CJ_ERROR_BUSY,
                                                     _("A check is running; try again when it has ended"));
      return;
    }
  if (!repair && g_get_monotonic_time () < next_verify)
    {
      g_dbus_method_invocation_return_error_literal (invocation, CJ_ERROR, CJ_ERROR_BUSY,
                                                     _("A check ran a moment ago; try again in a few seconds"));
      return;
    }
  running = TRUE;
  run = g_new0 (Run, 1);
  run->started = g_get_monotonic_time ();
  run->daemon = daemon;
  run->invocation = invocation;
  run->repair = repair;
  run->findings = g_ptr_array_new_with_free_func ((GDestroyNotify) finding_free);
  check = g_new0 (Check, 1);
  check->repair = repair;
  check->findings = g_ptr_array_ref (run->findings);
  g_ptr_array_add (hosts, g_strdup (cj_server_get_primary_host (daemon->server)));
  for (const char *const *h = served; h != NULL && *h != NULL; h++)
    g_ptr_array_add (hosts, g_strdup (*h));
  g_ptr_array_add (hosts, NULL);
  check->hosts = (char **) g_ptr_array_free (g_steal_pointer (&hosts), FALSE);
  if (repair)
    cj_directory_run_async (daemon->directory, check_directory, check, (GDestroyNotify) check_free, NULL,
                            on_directory_checked, run);
  else
    cj_directory_read_async (daemon->directory, check_directory, check, (GDestroyNotify) check_free,
                             on_directory_checked, run);
}

static gboolean
handle_verify (CjServer *server, GDBusMethodInvocation *invocation, CjDaemon *daemon)
{
  start (daemon, invocation, FALSE);
  return TRUE;
}

static gboolean
handle_repair (CjServer *server, GDBusMethodInvocation *invocation, GVariant *options, CjDaemon *daemon)
{
  /* The options were checked by the gate (cj_arguments_repair). */
  start (daemon, invocation, TRUE);
  return TRUE;
}

void
cj_verify_init (CjDaemon *daemon)
{
  g_signal_connect (daemon->server, "handle-verify", G_CALLBACK (handle_verify), daemon);
  g_signal_connect (daemon->server, "handle-repair", G_CALLBACK (handle_repair), daemon);
}
