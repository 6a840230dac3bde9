/* Convergence across writers: see cj-converge.h. */
#include "config.h"
#include "cj-converge.h"

#include <glib/gi18n.h>
#include <string.h>

#include "cj-audit.h"
#include "cj-csn.h"
#include "cj-error.h"
#include "cj-group-layout.h"
#include "cj-ldap-util.h"
#include "cj-store.h"
#include "cj-validate.h"

/* A change often comes in several writes (leave one group, join another): a violation seen
 * for less than this may be a move half made. */
#define SETTLE_SECONDS       2
/* The node that owns a violation has GRACE_SECONDS + its own ServerId to repair it before
 * any other does; the ids stagger the others so that two never race. */
#define GRACE_SECONDS        10
/* How soon after a change the view is scanned (cheap: one pass over memberUid values). */
#define SCAN_DELAY_MS        300
/* After a failed repair (directory down), the next try. */
#define RETRY_SECONDS        5
/* At most this many repairs in one job of the directory's worker. */
#define MAX_REPAIRS_PER_JOB  500

typedef enum { VIOLATION_SEVERAL, VIOLATION_DANGLING } Kind;

typedef struct {
  Kind   kind;
  char  *key;
  char  *user;          /* the memberUid value as stored */
  char  *group_dn;      /* the group that must let go of it */
  char  *csn;           /* the group's entryCSN when seen */
  gint64 first_seen;    /* monotonic */
  gint64 due;           /* monotonic: when this node repairs it */
  /* Tried, and the directory said no (refused, or not a violation there: the view may
   * spell a name differently): not tried again until the group changes. */
  gboolean gave_up;
  gboolean handled;     /* in a job: checked against the directory */
  gboolean repaired;    /* in a job: written */
} Violation;

struct _CjConverge {
  CjDaemon   *daemon;
  GHashTable *seen;          /* key -> Violation */
  guint       timer;
  gint64      timer_at;
  gboolean    running;       /* a repair job is in the directory's worker */
  gboolean    again;         /* the view changed during the job */
  gint64      next_scan;     /* monotonic: scans are spaced ten times their cost apart */
};

static void
violation_free (Violation *violation)
{
  g_free (violation->key);
  g_free (violation->user);
  g_free (violation->group_dn);
  g_free (violation->csn);
  g_free (violation);
}

static Violation *
violation_copy (const Violation *violation)
{
  Violation *copy = g_new0 (Violation, 1);

  *copy = *violation;
  copy->key = g_strdup (violation->key);
  copy->user = g_strdup (violation->user);
  copy->group_dn = g_strdup (violation->group_dn);
  copy->csn = g_strdup (violation->csn);
  return copy;
}

guint
cj_converge_grace_seconds (guint server_id)
{
  return GRACE_SECONDS + server_id;
}

CjConverge *
cj_converge_new (CjDaemon *daemon)
{
  CjConverge *converge = g_new0 (CjConverge, 1);

  converge->daemon = daemon;
  converge->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) violation_free);
  return converge;
}

void
cj_converge_free (CjConverge *converge)
{
  if (converge == NULL)
    return;
  if (converge->timer != 0)
    g_source_remove (converge->timer);
  g_hash_table_unref (converge->seen);
  g_free (converge);
}

static gboolean on_timer (gpointer data);

/* Runs on_timer at @when (monotonic) unless it runs sooner already. */
static void
schedule (CjConverge *converge, gint64 when)
{
  gint64 now = g_get_monotonic_time ();
  guint ms;

  if (converge->timer != 0 && converge->timer_at <= when)
    return;
  if (converge->timer != 0)
    g_source_remove (converge->timer);
  ms = when <= now ? 0 : (guint) MIN ((when - now) / 1000 + 1, G_MAXUINT);
  converge->timer_at = when;
  converge->timer = g_timeout_add (ms, on_timer, converge);
}

void
cj_converge_changed (CjConverge *converge)
{
  if (converge == NULL || !converge->daemon->config->auto_repair)
    return;
  if (converge->running)
    {
      converge->again = TRUE;
      return;
    }
  schedule (converge, MAX (g_get_monotonic_time () + SCAN_DELAY_MS * 1000, converge->next_scan));
}

/* Finding violations, in the view ------------------------------------------------------ */

static void
note (CjConverge *converge, GHashTable *now_seen, Kind kind, const char *user, CjRecord *group)
{
  guint own = converge->daemon->config->server_id;
  g_autofree char *key = g_strdup_printf ("%d\x1f%s\x1f%s", kind, user, group->entry->dn);
  Violation *before = g_hash_table_lookup (converge->seen, key);
  Violation *violation = g_new0 (Violation, 1);
  /* The losing write was taken by the provider whose id is in the group's entryCSN. */
  gboolean mine = own == 0 || cj_csn_server_id (group->entry->csn) == (int) own;

  violation->kind = kind;
  violation->key = g_strdup (key);
  violation->user = g_strdup (user);
  violation->group_dn = g_strdup (group->entry->dn);
  violation->csn = g_strdup (group->entry->csn);
  violation->gave_up = before != NULL && before->gave_up && g_strcmp0 (before->csn, violation->csn) == 0;
  violation->first_seen = before != NULL ? before->first_seen : g_get_monotonic_time ();
  violation->due = violation->first_seen +
                   (gint64) (mine ? SETTLE_SECONDS : cj_converge_grace_seconds (own)) * G_USEC_PER_SEC;
  if (before == NULL)
    g_debug ("%s in group %s (%s): %s", user, group->entry->name,
             kind == VIOLATION_DANGLING ? "no such account" : "also in another group",
             mine ? "repairing it" : "the losing write came through another server: repairing it "
                                     "after the grace if still there");
  g_hash_table_replace (now_seen, g_steal_pointer (&key), violation);
}

static void
scan (CjConverge *converge)
{
  CjRegistry *registry = converge->daemon->registry;
  GPtrArray *groups = cj_registry_sorted_groups (registry);
  GHashTable *now_seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) violation_free);
  gint64 started = g_get_monotonic_time ();

  for (guint i = 0; i < groups->len; i++)
    {
      CjRecord *group = groups->pdata[i];

      for (char **m = group->entry->members; m != NULL && *m != NULL; m++)
        {
          if (cj_registry_find_user_record (registry, *m) == NULL)
            note (converge, now_seen, VIOLATION_DANGLING, *m, group);
          else if (cj_registry_group_of_member (registry, *m) != group)
            note (converge, now_seen, VIOLATION_SEVERAL, *m, group);
        }
    }
  g_hash_table_unref (converge->seen);
  converge->seen = now_seen;
  /* A bulk change by another writer at 100,000 users must not keep the main loop busy. */
  converge->next_scan = g_get_monotonic_time () + 10 * (g_get_monotonic_time () - started);
  g_debug ("looked for users in several groups: %u groups, %u violations, %.1f ms", groups->len,
           g_hash_table_size (now_seen), (double) (g_get_monotonic_time () - started) / 1000.0);
}

/* Repairing, in the directory's worker ------------------------------------------------- */

typedef struct {
  GPtrArray *violations;     /* Violation (copies) */
  GPtrArray *done;           /* char *: audit lines */
  CjChanges *changes;        /* the groups written, read back */
  char      *problem;        /* the directory failed: the rest waits for the next try */
} Job;

static void
job_free (Job *job)
{
  g_ptr_array_unref (job->violations);
  g_ptr_array_unref (job->done);
  g_clear_pointer (&job->changes, cj_changes_free);
  g_free (job->problem);
  g_free (job);
}

typedef struct {
  char  *dn;
  char  *name;
  char  *csn;
  char **members;
} Listing;

static void
listing_free (Listing *listing)
{
  g_free (listing->dn);
  g_free (listing->name);
  g_free (listing->csn);
  g_strfreev (listing->members);
  g_free (listing);
}

/* The groups listing @user, as they are now. */
static GPtrArray *
read_listings (CjStoreContext *ctx, const char *user, GError **error)
{
  const char *attrs[] = { "cn", "description", "memberUid", "entryCSN", NULL };
  g_autofree char *filter = cj_group_member_filter (user);
  g_autoptr(LDAPMessage) result = NULL;
  GPtrArray *listings = g_ptr_array_new_with_free_func ((GDestroyNotify) listing_free);
  int rc = ldap_search_ext_s (ctx->ld, cj_directory_get_groups_dn (ctx->directory), LDAP_SCOPE_ONELEVEL,
                              filter, (char **) attrs, 0, NULL, NULL, NULL, 0, &result);

  if (rc == LDAP_NO_SUCH_OBJECT)
    return listings;
  if (rc != LDAP_SUCCESS)
    {
      g_ptr_array_unref (listings);
      cj_directory_set_error (ctx->directory, error, rc, ctx->ld, _("looking up group membership"));
      return NULL;
    }
  for (LDAPMessage *m = ldap_first_entry (ctx->ld, result); m != NULL; m = ldap_next_entry (ctx->ld, m))
    {
      Listing *listing = g_new0 (Listing, 1);
      char *dn = ldap_get_dn (ctx->ld, m);

      listing->dn = g_strdup (dn);
      ldap_memfree (dn);
      /* The name as the view reads it: description, cn in the first layout. */
      listing->name = cj_ldap_get_string (ctx->ld, m, "description");
      if (listing->name == NULL)
        listing->name = cj_ldap_get_string (ctx->ld, m, "cn");
      listing->csn = cj_ldap_get_string (ctx->ld, m, "entryCSN");
      listing->members = cj_ldap_get_strings (ctx->ld, m, "memberUid");
      if (listing->dn == NULL || listing->name == NULL)
        listing_free (listing);
      else
        g_ptr_array_add (listings, listing);
    }
  return listings;
}

static gboolean
account_exists (CjStoreContext *ctx, const char *user, gboolean *exists, GError **error)
{
  const char *attrs[] = { "1.1", NULL };
  g_autofree char *escaped = cj_ldap_escape_filter (user);
  g_autofree char *filter = g_strdup_printf ("(&(objectClass=inetOrgPerson)(uid=%s))", escaped);
  g_autoptr(LDAPMessage) result = NULL;
  int rc = ldap_search_ext_s (ctx->ld, cj_directory_get_users_dn (ctx->directory), LDAP_SCOPE_ONELEVEL,
                              filter, (char **) attrs, 0, NULL, NULL, NULL, 0, &result);

  if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT)
    return cj_directory_set_error (ctx->directory, error, rc, ctx->ld, _("reading the accounts"));
  *exists = rc == LDAP_SUCCESS && ldap_count_entries (ctx->ld, result) > 0;
  return TRUE;
}

static Listing *
winner_of (GPtrArray *listings)
{
  Listing *best = NULL;

  for (guint i = 0; i < listings->len; i++)
    {
      Listing *l = listings->pdata[i];

      if (best == NULL || cj_group_claim_compare (l->csn, l->name, l->dn, best->csn, best->name, best->dn) < 0)
        best = l;
    }
  return best;
}

/* One violation, checked again against the directory as it is now; FALSE with @error only
 * when the directory failed (the rest of the job waits for the next try). */
static gboolean
repair_one (CjStoreContext *ctx, Violation *violation, Job *job, GError **error)
{
  g_autoptr(GPtrArray) listings = read_listings (ctx, violation->user, error);
  g_autoptr(CjLdapMods) mods = NULL;
  Listing *target = NULL;
  Listing *winner;
  gboolean exists = FALSE;
  g_autofree char *user = NULL;
  g_autofree char *group = NULL;
  g_autofree char *kept = NULL;
  int rc;

  if (listings == NULL || !account_exists (ctx, violation->user, &exists, error))
    return FALSE;
  violation->handled = TRUE;
  for (guint i = 0; i < listings->len; i++)
    if (g_ascii_strcasecmp (((Listing *) listings->pdata[i])->dn, violation->group_dn) == 0)
      target = listings->pdata[i];
  if (target == NULL)
    return TRUE;                            /* repaired meanwhile (by another node?) */
  winner = winner_of (listings);
  if (violation->kind == VIOLATION_DANGLING ? exists : (!exists || winner == target))
    return TRUE;                            /* no longer a violation */

  mods = cj_ldap_mods_new ();
  cj_ldap_mods_add1 (mods, LDAP_MOD_DELETE, "memberUid", violation->user);
  rc = cj_directory_modify (ctx->directory, ctx->ld, target->dn, cj_ldap_mods_get (mods));
  /* Another node made the same repair first: done all the same. */
  if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_ATTRIBUTE)
    {
      if (cj_directory_error_is_connection (rc))
        return cj_directory_set_error (ctx->directory, error, rc, ctx->ld, _("repairing"));
      g_warning ("Could not take %s out of the group %s: %s", violation->user, target->name,
                 ldap_err2string (rc));
      return TRUE;
    }
  violation->repaired = TRUE;
  user = cj_text_escape (violation->user);
  group = cj_text_escape (target->name);
  if (violation->kind == VIOLATION_DANGLING)
    g_ptr_array_add (job->done, g_strdup_printf ("repaired: %s left group \"%s\" (no such account)",
                                                 user, group));
  else
    {
      kept = cj_text_escape (winner->name);
      g_ptr_array_add (job->done, g_strdup_printf ("repaired: %s left group \"%s\" (also in \"%s\", newer)",
                                                   user, group, kept));
    }
  /* A failed read-back costs only freshness: the follower brings the same entry. */
  if (!cj_store_reread (ctx, target->dn, FALSE, NULL))
    g_debug ("could not read back %s after the repair", target->dn);
  return TRUE;
}

static gpointer
repair_in_worker (CjDirectory *directory, LDAP *ld, gpointer data, GCancellable *cancellable, GError **error)
{
  Job *job = data;
  CjStoreContext ctx = { directory, ld, job->changes };

  for (guint i = 0; i < job->violations->len; i++)
    {
      g_autoptr(GError) local_error = NULL;

      /* The worker's copy: its flags go back to the main thread with the job. */
      if (!repair_one (&ctx, job->violations->pdata[i], job, &local_error))
        {
          job->problem = g_strdup (local_error != NULL ? local_error->message : "?");
          break;
        }
    }
  return job;
}

/* Back in the main thread -------------------------------------------------------------- */

static void
on_repaired (GObject *source, GAsyncResult *result, gpointer data)
{
  CjConverge *converge = data;
  CjDaemon *daemon = converge->daemon;
  g_autoptr(GError) error = NULL;
  Job *job = cj_directory_run_finish (daemon->directory, result, &error);

  converge->running = FALSE;
  if (job == NULL || job->problem != NULL)
    {
      g_debug ("repair postponed: %s", job != NULL ? job->problem : error->message);
      schedule (converge, g_get_monotonic_time () + RETRY_SECONDS * G_USEC_PER_SEC);
      if (job == NULL)
        return;
    }
  /* The job is the task's data, alive until this callback returns. */
  for (guint i = 0; i < job->violations->len; i++)
    {
      Violation *tried = job->violations->pdata[i];
      Violation *seen = g_hash_table_lookup (converge->seen, tried->key);

      if (tried->handled && !tried->repaired && seen != NULL && g_strcmp0 (seen->csn, tried->csn) == 0)
        seen->gave_up = TRUE;
    }
  for (guint i = 0; i < job->done->len; i++)
    {
      g_message ("%s", (char *) job->done->pdata[i]);
      cj_audit_daemon (job->done->pdata[i]);
    }
  if (job->changes->changed->len > 0)
    cj_daemon_apply_changes (daemon, job->changes);
  converge->again = FALSE;
  if (job->problem == NULL)
    schedule (converge, g_get_monotonic_time () + SCAN_DELAY_MS * 1000);
}

static gboolean
on_timer (gpointer data)
{
  CjConverge *converge = data;
  gint64 now = g_get_monotonic_time ();
  gint64 next = G_MAXINT64;
  Job *job;
  GHashTableIter iter;
  Violation *violation;

  converge->timer = 0;
  if (converge->running)
    {
      converge->again = TRUE;
      return G_SOURCE_REMOVE;
    }
  scan (converge);
  job = g_new0 (Job, 1);
  job->violations = g_ptr_array_new_with_free_func ((GDestroyNotify) violation_free);
  job->done = g_ptr_array_new_with_free_func (g_free);
  job->changes = cj_changes_new ();
  g_hash_table_iter_init (&iter, converge->seen);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &violation))
    {
      if (violation->gave_up)
        continue;
      if (violation->due <= now && job->violations->len < MAX_REPAIRS_PER_JOB)
        g_ptr_array_add (job->violations, violation_copy (violation));
      else
        next = MIN (next, MAX (violation->due, now + SCAN_DELAY_MS * 1000));
    }
  if (job->violations->len == 0)
    {
      job_free (job);
      if (next != G_MAXINT64)
        schedule (converge, next);
      return G_SOURCE_REMOVE;
    }
  converge->running = TRUE;
  cj_directory_run_async (converge->daemon->directory, repair_in_worker, job, (GDestroyNotify) job_free,
                          NULL, on_repaired, converge);
  return G_SOURCE_REMOVE;
}
