#include "config.h"
#include "cj-avatars.h"

#include <glib/gi18n.h>
#include <string.h>

#define COALESCE_MILLISECONDS 100
#define MAX_SPACING_MILLISECONDS 2000   /* scans spaced ten times their cost (cj-live.c) */
#define SAVE_MILLISECONDS     1000
/* Users published at once: a first run (or an import) may find thousands of photos. */
#define IN_FLIGHT 4
/* A larger photo (another LDAP writer's) is not published: the daemon's own are at most
 * 32 KiB (cj-photo.h), and the stanza carries it in base64. */
#define MAX_AVATAR_BYTES (128 * 1024)

#define NS_DATA "urn:xmpp:avatar:data"
#define NS_META "urn:xmpp:avatar:metadata"

typedef struct {
  CjDaemon   *daemon;
  char       *state_path;
  GHashTable *published;   /* uid -> sha1 (hex) of what is published */
  GHashTable *seen;        /* uid -> entryCSN (or "") last looked at */
  GQueue      queue;       /* uids to look at (owned) */
  GHashTable *queued;      /* uid (borrowed from queue) */
  guint       in_flight;
  guint       timer;
  guint       save_timer;
  guint64     serial;
  guint       spacing;     /* milliseconds between the starts of two scans */
  gint64      last_start;
  /* Stanzas to send, one at a time: concurrent first publishes abort each other's mnesia
   * transactions in mod_pubsub (seen on 23.01: "Transaction aborted"), and send_stanza says
   * nothing of it (the error goes to the user). */
  GQueue      outbox;      /* of Outgoing */
  gboolean    sending;
} Avatars;

typedef struct {
  struct _Job *job;
  char        *bare;
  char        *stanza;
} Outgoing;

typedef struct _Job {
  Avatars *avatars;
  char    *uid;
  char    *sha1;       /* new, or NULL for "no photo" */
  GBytes  *photo;
  guint    pending;
  gboolean failed;
} Job;

static void next_jobs (Avatars *avatars);
static void on_sent (GObject *source, GAsyncResult *result, gpointer user_data);

static Avatars *
get_avatars (CjDaemon *daemon)
{
  return g_object_get_data (G_OBJECT (daemon->server), "cj-avatars");
}

static void save_state (gpointer data);

static void
avatars_free (Avatars *avatars)
{
  g_clear_handle_id (&avatars->timer, g_source_remove);
  /* At exit, what was published is written now rather than lost. */
  if (avatars->save_timer != 0)
    {
      g_clear_handle_id (&avatars->save_timer, g_source_remove);
      save_state (avatars);
    }
  g_queue_clear_full (&avatars->queue, g_free);
  /* Only at exit: what is still queued is dropped (the next start compares again). */
  while (!g_queue_is_empty (&avatars->outbox))
    {
      Outgoing *out = g_queue_pop_head (&avatars->outbox);
      g_free (out->bare);
      g_free (out->stanza);
      g_free (out);
    }
  g_hash_table_unref (avatars->queued);
  g_hash_table_unref (avatars->published);
  g_hash_table_unref (avatars->seen);
  g_free (avatars->state_path);
  g_free (avatars);
}

static void
job_free (Job *job)
{
  g_free (job->uid);
  g_free (job->sha1);
  g_clear_pointer (&job->photo, g_bytes_unref);
  g_free (job);
}

/* The state file ------------------------------------------------------------------------ */

static void
load_state (Avatars *avatars)
{
  g_autofree char *text = NULL;
  g_auto(GStrv) lines = NULL;

  if (!g_file_get_contents (avatars->state_path, &text, NULL, NULL))
    return;
  lines = g_strsplit (text, "\n", -1);
  for (char **l = lines; *l != NULL; l++)
    {
      char *space = strchr (*l, ' ');

      if (space == NULL || space == *l || strlen (space + 1) != 40 ||
          strspn (space + 1, "0123456789abcdef") != 40)
        continue;
      g_hash_table_insert (avatars->published, g_strndup (*l, (gsize) (space - *l)), g_strdup (space + 1));
    }
}

static void
save_state (gpointer data)
{
  Avatars *avatars = data;
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  GHashTableIter iter;
  const char *uid, *sha1;

  avatars->save_timer = 0;
  g_hash_table_iter_init (&iter, avatars->published);
  while (g_hash_table_iter_next (&iter, (gpointer *) &uid, (gpointer *) &sha1))
    g_string_append_printf (out, "%s %s\n", uid, sha1);
  if (!g_file_set_contents_full (avatars->state_path, out->str, (gssize) out->len,
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
    g_warning ("Cannot keep the published avatars in %s: %s", avatars->state_path, error->message);
}

static void
save_soon (Avatars *avatars)
{
  if (avatars->save_timer == 0)
    avatars->save_timer = g_timeout_add_once (SAVE_MILLISECONDS, save_state, avatars);
}

/* Publishing ---------------------------------------------------------------------------- */

static char *
iq_publish (Avatars *avatars, const char *node, const char *item)
{
  return g_strdup_printf ("<iq type='set' id='cj-avatar-%" G_GUINT64_FORMAT "'>"
                          "<pubsub xmlns='http://jabber.org/protocol/pubsub'>"
                          "<publish node='%s'>%s</publish></pubsub></iq>",
                          ++avatars->serial, node, item);
}

static char *
iq_retract (Avatars *avatars, const char *node, const char *id)
{
  return g_strdup_printf ("<iq type='set' id='cj-avatar-%" G_GUINT64_FORMAT "'>"
                          "<pubsub xmlns='http://jabber.org/protocol/pubsub'>"
                          "<retract node='%s'><item id='%s'/></retract></pubsub></iq>",
                          ++avatars->serial, node, id);
}

/* @record: what the job did is now what is published. */
static void
job_finish (Job *job, gboolean record)
{
  Avatars *avatars = job->avatars;

  /* Failed (ejabberd down?): looked at again at the next scan (cj_avatars_retry), as a
   * changed entry is ("" matches no entryCSN). */
  if (job->failed)
    g_hash_table_insert (avatars->seen, g_strdup (job->uid), g_strdup (""));
  if (record)
    {
      if (job->sha1 != NULL)
        g_hash_table_insert (avatars->published, g_strdup (job->uid), g_strdup (job->sha1));
      else
        g_hash_table_remove (avatars->published, job->uid);
      save_soon (avatars);
    }
  avatars->in_flight--;
  job_free (job);
  next_jobs (avatars);
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Job *job = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = cj_ejabberd_command_finish (job->avatars->daemon->ejabberd, result, &error);

  if (reply == NULL)
    {
      if (!job->failed)
        g_warning ("Cannot publish the avatar of %s: %s", job->uid, error->message);
      job->failed = TRUE;
    }
  if (--job->pending == 0)
    job_finish (job, !job->failed);
}

static void pump (Avatars *avatars);

static void
on_one_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Job *job = user_data;
  Avatars *avatars = job->avatars;

  avatars->sending = FALSE;
  on_sent (source, result, job);
  pump (avatars);
}

static void
pump (Avatars *avatars)
{
  Outgoing *out;

  if (avatars->sending || (out = g_queue_pop_head (&avatars->outbox)) == NULL)
    return;
  {
    const char *const args[] = { "from", out->bare, "to", out->bare, "stanza", out->stanza, NULL };

    avatars->sending = TRUE;
    cj_ejabberd_command_full_async (avatars->daemon->ejabberd, "send_stanza", args, TRUE, on_one_sent, out->job);
  }
  g_free (out->bare);
  g_free (out->stanza);
  g_free (out);
}

static void
send_as_user (Job *job, const char *host, const char *stanza)
{
  Outgoing *out = g_new0 (Outgoing, 1);

  out->job = job;
  out->bare = g_strdup_printf ("%s@%s", job->uid, host);
  out->stanza = g_strdup (stanza);
  job->pending++;
  g_queue_push_tail (&job->avatars->outbox, out);
  pump (job->avatars);
}

/* Sent in order (pump): data before metadata, as XEP-0084 asks. */
static void
publish (Job *job)
{
  Avatars *avatars = job->avatars;
  const char *old = g_hash_table_lookup (avatars->published, job->uid);
  const char *const *hosts = cj_server_get_hosts (avatars->daemon->server);
  g_autofree char *data_iq = NULL, *meta_iq = NULL, *retract_iq = NULL;

  if (job->sha1 != NULL)
    {
      g_autofree char *b64 = g_base64_encode (g_bytes_get_data (job->photo, NULL), g_bytes_get_size (job->photo));
      g_autofree char *data_item = g_strdup_printf ("<item id='%s'><data xmlns='" NS_DATA "'>%s</data></item>",
                                                    job->sha1, b64);
      g_autofree char *meta_item = g_strdup_printf ("<item id='%s'><metadata xmlns='" NS_META "'>"
                                                    "<info id='%s' bytes='%" G_GSIZE_FORMAT "' type='image/jpeg'/>"
                                                    "</metadata></item>",
                                                    job->sha1, job->sha1, g_bytes_get_size (job->photo));
      data_iq = iq_publish (avatars, NS_DATA, data_item);
      meta_iq = iq_publish (avatars, NS_META, meta_item);
    }
  else
    meta_iq = iq_publish (avatars, NS_META, "<item><metadata xmlns='" NS_META "'/></item>");
  if (old != NULL && g_strcmp0 (old, job->sha1) != 0)
    retract_iq = iq_retract (avatars, NS_DATA, old);

  job->pending = 1;
  for (const char *const *h = hosts; h != NULL && *h != NULL; h++)
    {
      if (data_iq != NULL)
        send_as_user (job, *h, data_iq);
      send_as_user (job, *h, meta_iq);
      if (retract_iq != NULL)
        send_as_user (job, *h, retract_iq);
    }
  if (--job->pending == 0)
    job_finish (job, !job->failed);
}

static void
on_cleared (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Job *job = user_data;

  /* The vCard and its XEP-0153 hash are read again from LDAP at the next presence. */
  cj_ejabberd_clear_cache_finish (job->avatars->daemon->ejabberd, result, NULL);
  publish (job);
}

static void
on_photo_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Job *job = user_data;
  Avatars *avatars = job->avatars;
  g_autoptr(GError) error = NULL;
  GBytes *photo = cj_directory_run_finish (avatars->daemon->directory, result, &error);

  if (photo == NULL)
    {
      g_warning ("Cannot read the photo of %s for its avatar: %s", job->uid, error->message);
      job->failed = TRUE;
      job_finish (job, FALSE);
      return;
    }
  job->photo = photo;
  if (g_bytes_get_size (photo) == 0)
    job->sha1 = NULL;
  else if (g_bytes_get_size (photo) > MAX_AVATAR_BYTES)
    {
      g_message ("The photo of %s (%" G_GSIZE_FORMAT " bytes) is too large for an avatar", job->uid,
                 g_bytes_get_size (photo));
      job->sha1 = NULL;
    }
  else
    job->sha1 = g_compute_checksum_for_bytes (G_CHECKSUM_SHA1, photo);
  if (g_strcmp0 (job->sha1, g_hash_table_lookup (avatars->published, job->uid)) == 0)
    {
      job_finish (job, FALSE);
      return;
    }
  cj_ejabberd_clear_cache_async (avatars->daemon->ejabberd, on_cleared, job);
}

static void
start_job (Avatars *avatars, char *uid)
{
  Job *job = g_new0 (Job, 1);
  CjEntry *user = cj_registry_find_user (avatars->daemon->registry, uid);

  g_debug ("avatar of %s: looking (photo: %s, published: %s)", uid,
           user != NULL && user->has_photo ? "yes" : "no",
           (const char *) g_hash_table_lookup (avatars->published, uid));
  job->avatars = avatars;
  job->uid = uid;
  avatars->in_flight++;
  if (user != NULL && user->has_photo)
    {
      /* The daemon's own work, in the changes' queue: callers' reads (GetPhoto, bounded and
       * answered Busy under a flood) must not crowd out an avatar that has to follow. */
      cj_directory_run_async (avatars->daemon->directory, cj_store_read_photo, g_strdup (user->dn), g_free,
                              NULL, on_photo_read, job);
      return;
    }
  /* No photo, or the user is gone (then nothing is published for it any more: a deleted
   * account's PEP nodes are ejabberd's to keep or not). */
  if (user == NULL || !g_hash_table_contains (avatars->published, uid))
    {
      job_finish (job, user == NULL);
      return;
    }
  job->sha1 = NULL;
  cj_ejabberd_clear_cache_async (avatars->daemon->ejabberd, on_cleared, job);
}

static void
next_jobs (Avatars *avatars)
{
  while (avatars->in_flight < IN_FLIGHT && !g_queue_is_empty (&avatars->queue))
    {
      char *uid = g_queue_pop_head (&avatars->queue);

      g_hash_table_remove (avatars->queued, uid);
      start_job (avatars, uid);
    }
}

static void
enqueue (Avatars *avatars, const char *uid)
{
  char *copy;

  if (g_hash_table_contains (avatars->queued, uid))
    return;
  copy = g_strdup (uid);
  g_queue_push_tail (&avatars->queue, copy);
  g_hash_table_add (avatars->queued, copy);
}

/* Which users to look at: those whose entry changed since the last scan (entryCSN), and
 * those published but gone. */
static void
scan (gpointer data)
{
  Avatars *avatars = data;
  CjDaemon *daemon = avatars->daemon;
  GPtrArray *users;
  g_autoptr(GHashTable) present = NULL;
  GHashTableIter iter;
  const char *uid;

  gint64 start = avatars->last_start = g_get_monotonic_time ();

  avatars->timer = 0;
  /* Only through the API (ejabberdctl would cost ~0.3 s a stanza), once set up. */
  if (!cj_server_get_configured (daemon->server) || !cj_ejabberd_has_api (daemon->ejabberd))
    return;
  users = cj_registry_sorted_users (daemon->registry);
  present = g_hash_table_new (g_str_hash, g_str_equal);
  for (guint i = 0; i < users->len; i++)
    {
      CjEntry *user = ((CjRecord *) users->pdata[i])->entry;
      const char *csn = user->csn != NULL ? user->csn : "";
      const char *seen = g_hash_table_lookup (avatars->seen, user->name);

      gboolean published = g_hash_table_contains (avatars->published, user->name);

      g_hash_table_add (present, user->name);
      if (seen != NULL && strcmp (seen, csn) == 0 && *csn != '\0')
        continue;
      g_hash_table_insert (avatars->seen, g_strdup (user->name), g_strdup (csn));
      /* The first look (at start) trusts the state file: a photo there and published is
       * taken as the same (one replaced while the daemon was stopped is published at its
       * next change). Afterwards a changed entry's photo is read and compared. */
      if (seen == NULL ? user->has_photo != published : (user->has_photo || published))
        enqueue (avatars, user->name);
    }
  g_hash_table_iter_init (&iter, avatars->published);
  while (g_hash_table_iter_next (&iter, (gpointer *) &uid, NULL))
    if (!g_hash_table_contains (present, uid))
      enqueue (avatars, uid);
  g_hash_table_iter_init (&iter, avatars->seen);
  while (g_hash_table_iter_next (&iter, (gpointer *) &uid, NULL))
    if (!g_hash_table_contains (present, uid))
      g_hash_table_iter_remove (&iter);
  avatars->spacing = (guint) CLAMP ((g_get_monotonic_time () - start) / 100, COALESCE_MILLISECONDS,
                                    MAX_SPACING_MILLISECONDS);
  next_jobs (avatars);
}

void
cj_avatars_retry (CjDaemon *daemon)
{
  Avatars *avatars = get_avatars (daemon);

  g_debug ("avatars: retry (%u in flight, %u queued)", avatars->in_flight, g_queue_get_length (&avatars->queue));
  /* Only what failed is marked in `seen`; the rest is skipped as unchanged. */
  if (avatars->in_flight == 0 && g_queue_is_empty (&avatars->queue))
    cj_avatars_changed (daemon);
}

void
cj_avatars_changed (CjDaemon *daemon)
{
  Avatars *avatars = get_avatars (daemon);

  gint64 wait = (avatars->last_start + (gint64) avatars->spacing * 1000 - g_get_monotonic_time ()) / 1000;

  /* After a quiet time COALESCE_MILLISECONDS; in a burst, scans spaced by their cost. */
  if (avatars->timer == 0)
    avatars->timer = g_timeout_add_once ((guint) CLAMP (wait, COALESCE_MILLISECONDS, MAX_SPACING_MILLISECONDS),
                                         scan, avatars);
}

void
cj_avatars_init (CjDaemon *daemon)
{
  Avatars *avatars = g_new0 (Avatars, 1);

  avatars->daemon = daemon;
  avatars->spacing = COALESCE_MILLISECONDS;
  avatars->state_path = g_build_filename (daemon->config->state_dir, "avatars", NULL);
  avatars->published = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  avatars->seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  avatars->queued = g_hash_table_new (g_str_hash, g_str_equal);
  g_queue_init (&avatars->queue);
  g_queue_init (&avatars->outbox);
  load_state (avatars);
  g_object_set_data_full (G_OBJECT (daemon->server), "cj-avatars", avatars, (GDestroyNotify) avatars_free);
}
