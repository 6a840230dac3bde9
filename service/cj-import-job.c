/* A bulk import as one job on the bus: see cj-import-job.h. */
#include "config.h"
#include "cj-import-job.h"

#include <gio/gunixinputstream.h>
#include <glib/gi18n.h>
#include <polkit/polkit.h>
#include <string.h>

#include "cj-audit.h"
#include "cj-common.h"
#include "cj-ejabberd-config.h"
#include "cj-error.h"
#include "cj-import-parse.h"
#include "cj-import-write.h"
#include "cj-options.h"
#include "cj-password.h"
#include "cj-photo.h"
#include "cj-validate.h"

#define CHUNK_BYTES     (64 * 1024)
/* Rows a batch writes: a few hundred keep each directory operation well under a second,
 * so other callers wait little, and a cancel stops soon. */
#define BATCH_ROWS      500
#define MAX_ERRORS      10000
#define ERRORS_PAGE     1000
/* Ended jobs stay this long for their caller (or a desktop tool) to read. */
#define KEEP_SECONDS    300
/* ...and at most this many of them: imports that end at once (an empty or unreadable file)
 * would otherwise leave a Job and its errors per call for KEEP_SECONDS. */
#define MAX_KEPT        16
/* Sessions of accounts the import locked are ended one ejabberdctl call each (~0.25 s);
 * past this many, the lock alone (logins refused at once) has to do. */
#define MAX_KICKS       100
/* Cancel's own polkit checks (somebody else's cancel) in flight on one job: past this, Busy.
 * The gate's bound ends with its check; these come after it, one per call otherwise. */
#define MAX_CANCEL_ASKS 4

typedef struct {
  CjDaemon              *daemon;
  CjJob                 *skeleton;
  char                  *path;
  GDBusMethodInvocation *invocation;   /* Import's, kept for the closing audit line */
  char                  *sender;
  guint32                owner_uid;    /* who started it: may cancel it (so may root, setup) */
  guint                  asking;       /* Cancel's polkit checks in flight: keep the job */
  gboolean               interactive;
  CjImportFormat         format;
  gboolean               create_groups;
  gboolean               update_passwords;
  GCancellable          *cancellable;
  gboolean               ended;
  guint                  owner_watch;
  guint                  remove_id;

  GInputStream          *stream;
  GByteArray            *data;

  CjImportParsed        *parsed;
  guint                  errors_total;
  GPtrArray             *errors;       /* CjImportError, at most MAX_ERRORS */
  guint                  next_group;
  guint                  next_row;
  gboolean               may_admin;
  /* The pipeline: one batch written while the next one is hashed (on every core), so that
   * neither the directory nor the cores wait for the other. */
  CjImportBatch         *writing;      /* being written */
  CjImportBatch         *hashing;      /* its passwords being hashed */
  CjImportBatch         *ready;        /* hashed, waits for the write in flight */
  GError                *fatal;        /* a write failed: the job stops */
  GPtrArray             *kick;         /* names the import locked */
  gboolean               changed;
  guint                  done, failed, created, updated, unchanged;
} Job;

static Job *running;          /* the import in progress, if any */
static GQueue kept = G_QUEUE_INIT;   /* ended jobs, oldest first */
static guint job_counter;

static void next_batch (Job *job);
static void maybe_end (Job *job);
static void end_job (Job *job, const char *state, const GError *error);

static void
job_free (Job *job)
{
  if (job->remove_id != 0)
    g_source_remove (job->remove_id);
  if (job->owner_watch != 0)
    g_bus_unwatch_name (job->owner_watch);
  if (job->skeleton != NULL)
    {
      g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (job->skeleton));
      g_object_unref (job->skeleton);
    }
  g_clear_object (&job->invocation);
  g_clear_object (&job->cancellable);
  g_clear_object (&job->stream);
  g_clear_pointer (&job->data, g_byte_array_unref);
  g_clear_pointer (&job->parsed, cj_import_parsed_free);
  g_clear_pointer (&job->errors, g_ptr_array_unref);
  g_clear_pointer (&job->writing, cj_import_batch_free);
  g_clear_pointer (&job->hashing, cj_import_batch_free);
  g_clear_pointer (&job->ready, cj_import_batch_free);
  g_clear_error (&job->fatal);
  g_clear_pointer (&job->kick, g_ptr_array_unref);
  g_free (job->path);
  g_free (job->sender);
  g_free (job);
}

static void
add_error (Job *job, CjImportError *error)
{
  job->errors_total++;
  if (job->errors->len < MAX_ERRORS)
    g_ptr_array_add (job->errors, error);
  else
    cj_import_error_free (error);
}

static void
publish_counts (Job *job)
{
  guint total = cj_job_get_total (job->skeleton);

  cj_job_set_done (job->skeleton, job->done);
  cj_job_set_failed (job->skeleton, job->failed);
  cj_job_set_created (job->skeleton, job->created);
  cj_job_set_updated (job->skeleton, job->updated);
  cj_job_set_unchanged (job->skeleton, job->unchanged);
  cj_job_set_progress (job->skeleton, total > 0 ? (double) (job->done + job->failed) / total : 0.0);
  g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (job->skeleton));
}

/* The end ---------------------------------------------------------------------------------- */

static gboolean
remove_job (gpointer data)
{
  Job *job = data;

  /* A Cancel still waiting for polkit holds the job: try again later. */
  if (job->asking > 0)
    return G_SOURCE_CONTINUE;
  job->remove_id = 0;
  g_queue_remove (&kept, job);
  job_free (job);
  return G_SOURCE_REMOVE;
}

typedef struct {
  Job       *job;
  GPtrArray *commands;   /* char** */
  char      *state;
  GError    *error;
} Ending;

static void finish_ending (Ending *ending);

static void
on_ejabberd_told (GObject *source, GAsyncResult *result, gpointer data)
{
  Ending *ending = data;
  g_autoptr(GError) error = NULL;

  /* The directory is written; ejabberd catches up by itself (cache_life_time). */
  if (!cj_ejabberd_control_finish (ending->job->daemon->ejabberd, result, &error))
    g_warning ("Could not tell ejabberd about the import: %s", error->message);
  finish_ending (ending);
}

static void
finish_ending (Ending *ending)
{
  Job *job = ending->job;

  if (ending->commands->len > 0)
    {
      g_auto(GStrv) args = g_ptr_array_steal_index (ending->commands, 0);

      cj_ejabberd_control_async (job->daemon->ejabberd, (const char *const *) args, on_ejabberd_told, ending);
      return;
    }
  {
    g_autofree char *target = g_strdup_printf ("import: %u created, %u updated, %u unchanged, %u failed, %s",
                                               job->created, job->updated, job->unchanged, job->failed,
                                               ending->state);

    cj_audit_finish (job->invocation, target, ending->error);
  }
  cj_job_set_state (job->skeleton, ending->state);
  if (ending->error != NULL)
    cj_job_set_error (job->skeleton, ending->error->message);
  publish_counts (job);
  cj_job_emit_ended (job->skeleton, ending->state);
  job->remove_id = g_timeout_add_seconds (KEEP_SECONDS, remove_job, job);
  /* What the ended job answers (its properties, GetErrors) does not need the file's rows. */
  g_clear_pointer (&job->parsed, cj_import_parsed_free);
  g_queue_push_tail (&kept, job);
  /* The oldest goes first; one that a Cancel still asks polkit about goes at its own timer. */
  for (GList *link = kept.head; link != NULL && g_queue_get_length (&kept) > MAX_KEPT; link = link->next)
    if (((Job *) link->data)->asking == 0)
      {
        Job *oldest = link->data;

        g_queue_delete_link (&kept, link);
        job_free (oldest);
        break;
      }
  if (running == job)
    running = NULL;
  g_ptr_array_unref (ending->commands);
  g_clear_error (&ending->error);
  g_free (ending->state);
  g_free (ending);
}

/* Tells ejabberd once (the locked accounts' sessions end, the shared rosters are read
 * again), then reports. */
static void
end_job (Job *job, const char *state, const GError *error)
{
  Ending *ending = g_new0 (Ending, 1);
  CjServer *server = job->daemon->server;

  if (job->ended)
    return;
  job->ended = TRUE;
  if (job->owner_watch != 0)
    {
      g_bus_unwatch_name (job->owner_watch);
      job->owner_watch = 0;
    }
  ending->job = job;
  ending->state = g_strdup (state);
  ending->error = error != NULL ? g_error_copy (error) : NULL;
  ending->commands = g_ptr_array_new_with_free_func ((GDestroyNotify) g_strfreev);
  if (cj_server_get_configured (server) && job->changed)
    {
      for (guint i = 0; i < job->kick->len && i < MAX_KICKS; i++)
        for (const char *const *host = cj_server_get_hosts (server); host != NULL && *host != NULL; host++)
          {
            const char *args[] = { "kick_user", job->kick->pdata[i], *host, NULL };
            g_ptr_array_add (ending->commands, g_strdupv ((char **) args));
          }
      {
        const char *args[] = { "clear_cache", NULL };
        g_ptr_array_add (ending->commands, g_strdupv ((char **) args));
      }
    }
  finish_ending (ending);
}

static void
end_with_error (Job *job, GError *error)
{
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
      g_error_matches (error, CJ_ERROR, CJ_ERROR_CANCELLED))
    end_job (job, "cancelled", NULL);
  else
    end_job (job, "failed", error);
  g_error_free (error);
}

/* Batches ------------------------------------------------------------------------------------ */

static void
tally (Job *job, CjImportItem *item)
{
  switch (item->outcome)
    {
    case CJ_IMPORT_CREATED:
      job->created++, job->done++, job->changed = TRUE;
      break;
    case CJ_IMPORT_UPDATED:
      job->updated++, job->done++, job->changed = TRUE;
      break;
    case CJ_IMPORT_UNCHANGED:
      job->unchanged++, job->done++;
      break;
    case CJ_IMPORT_FAILED:
      job->failed++;
      add_error (job, cj_import_error_new (item->row->line, item->row->name,
                                           item->error != NULL ? item->error : _("failed")));
      break;
    case CJ_IMPORT_PENDING:
    default:
      break;
    }
  if (item->newly_locked)
    g_ptr_array_add (job->kick, g_strdup (item->row->name));
}

static void start_write (Job *job, CjImportBatch *batch);

static gboolean
stopping (Job *job)
{
  return job->fatal != NULL || g_cancellable_is_cancelled (job->cancellable);
}

/* Once nothing is in flight: the job ends when it was stopped or every row was handled. */
static void
maybe_end (Job *job)
{
  if (job->writing != NULL || job->hashing != NULL || job->ended)
    return;
  g_clear_pointer (&job->ready, cj_import_batch_free);
  if (job->fatal != NULL)
    end_with_error (job, g_steal_pointer (&job->fatal));
  else if (g_cancellable_is_cancelled (job->cancellable))
    end_job (job, "cancelled", NULL);
  else if (job->next_row >= job->parsed->rows->len)
    end_job (job, "finished", NULL);
}

static void
on_written (GObject *source, GAsyncResult *result, gpointer data)
{
  Job *job = data;
  GError *error = NULL;
  g_autoptr(CjChanges) changes = cj_import_write_finish (job->daemon->directory, result, &error);
  g_autoptr(CjImportBatch) batch = g_steal_pointer (&job->writing);

  if (error != NULL && job->fatal == NULL)
    job->fatal = error;
  else
    g_clear_error (&error);
  /* The next batch, if hashed already, goes to the directory's worker first: it writes
   * while this thread publishes what the last one wrote. */
  if (!stopping (job) && job->ready != NULL)
    start_write (job, g_steal_pointer (&job->ready));
  if (changes != NULL)
    {
      gint64 t0 = g_get_monotonic_time ();

      cj_daemon_apply_changes (job->daemon, changes);
      g_debug ("import batch: published %u entries in %.1f ms", changes->changed->len,
               (g_get_monotonic_time () - t0) / 1000.0);
    }
  for (guint i = 0; i < batch->items->len; i++)
    tally (job, batch->items->pdata[i]);
  publish_counts (job);
  maybe_end (job);
}

/* Before the batch is written, on every core: each clear password hashed, and each photo of
 * the file put through the photo sandbox (cj-photo-sandbox.c, as SetPhoto's), so that every
 * photo in the directory is a JPEG the daemon made itself within the caps. A photo the
 * sandbox refuses fails its row: the account is not written (whole or untouched, like any
 * failed row), and the reason says so. */
static void
prepare_one (gpointer data, gpointer user_data)
{
  CjImportItem *item = data;

  /* Cancelled: the batch is dropped, the rest of its hashes would be for nothing. */
  if (g_cancellable_is_cancelled (user_data))
    return;
  if (item->wants_hash)
    item->hash = cj_password_hash (item->row->password, NULL);
  if (item->wants_photo)
    {
      g_autoptr(GError) error = NULL;

      item->photo = cj_photo_convert_bytes (item->row->photo, &error);
      if (item->photo == NULL)
        item->refused = g_strdup_printf (_("the photo cannot be used (%s); remove its jpegPhoto from "
                                           "the file and set it afterwards with “cl-jabber user photo”"),
                                         error->message);
    }
}

static void
hash_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GPtrArray *items = data;
  GThreadPool *pool = g_thread_pool_new (prepare_one, cancellable, (int) MAX (1, g_get_num_processors ()), TRUE, NULL);
  gint64 t0 = g_get_monotonic_time ();

  for (guint i = 0; i < items->len && !g_cancellable_is_cancelled (cancellable); i++)
    g_thread_pool_push (pool, items->pdata[i], NULL);
  g_thread_pool_free (pool, FALSE, TRUE);
  if (items->len > 0)
    g_debug ("import batch: %u passwords hashed or photos converted on %u threads in %.1f ms", items->len,
             g_get_num_processors (), (g_get_monotonic_time () - t0) / 1000.0);
  if (!g_task_return_error_if_cancelled (task))
    g_task_return_boolean (task, TRUE);
}

static void
on_hashed (GObject *source, GAsyncResult *result, gpointer data)
{
  Job *job = data;
  g_autoptr(GError) error = NULL;
  CjImportBatch *batch = g_steal_pointer (&job->hashing);

  /* Cancelled while hashing: the batch is dropped, its accounts untouched. */
  if (!g_task_propagate_boolean (G_TASK (result), &error) || stopping (job))
    {
      cj_import_batch_free (batch);
      maybe_end (job);
      return;
    }
  if (job->writing == NULL)
    start_write (job, batch);
  else
    job->ready = batch;
}

static void
start_write (Job *job, CjImportBatch *batch)
{
  job->writing = batch;
  cj_import_write_async (job->daemon->directory, batch, on_written, job);
  /* The following rows are hashed meanwhile. */
  next_batch (job);
}

static CjImportItem *
prepare_item (Job *job, CjImportRow *row, GPtrArray *to_hash)
{
  CjImportItem *item = g_new0 (CjImportItem, 1);
  CjEntry *user = cj_registry_find_user (job->daemon->registry, row->name);

  item->row = row;
  if (cj_ejabberd_config_is_admin (row->name) && !job->may_admin)
    item->refused = g_strdup (_("the admin account is changed only with the setup authorization (org.calculate.jabber.setup)"));
  else if (row->group != NULL && *row->group != '\0')
    {
      CjEntry *group = cj_registry_find_group (job->daemon->registry, row->group);

      if (group == NULL)
        {
          g_autofree char *safe = cj_text_escape (row->group);
          item->refused = g_strdup_printf (job->create_groups ? _("the group “%s” could not be made")
                                                              : _("no group named “%s” (--create-groups makes it)"),
                                           safe);
        }
      else
        item->group_dn = g_strdup (group->dn);
    }
  else if (row->group != NULL)
    item->group_dn = g_strdup ("");
  if (item->refused == NULL && row->password != NULL &&
      (user == NULL || !user->has_password || job->update_passwords))
    item->wants_hash = TRUE;
  /* An account that has a photo keeps it (cj-import-write.c): no need to convert. */
  if (item->refused == NULL && row->photo != NULL && (user == NULL || !user->has_photo))
    item->wants_photo = TRUE;
  if (item->wants_hash || item->wants_photo)
    g_ptr_array_add (to_hash, item);
  if (row->hash != NULL)
    item->hash = g_strdup (row->hash);
  return item;
}

static void
next_batch (Job *job)
{
  GPtrArray *rows = job->parsed->rows;
  g_autoptr(GPtrArray) to_hash = g_ptr_array_new ();
  g_autoptr(GTask) task = NULL;
  CjImportBatch *batch;

  if (job->hashing != NULL || job->ready != NULL || stopping (job))
    return;
  if (job->next_row >= rows->len)
    {
      maybe_end (job);
      return;
    }
  batch = g_new0 (CjImportBatch, 1);
  batch->items = g_ptr_array_new_with_free_func ((GDestroyNotify) cj_import_item_free);
  batch->mail_host = g_strdup (cj_server_get_primary_host (job->daemon->server));
  batch->update_passwords = job->update_passwords;
  for (; job->next_row < rows->len && batch->items->len < BATCH_ROWS; job->next_row++)
    g_ptr_array_add (batch->items, prepare_item (job, rows->pdata[job->next_row], to_hash));
  job->hashing = batch;
  task = g_task_new (NULL, job->cancellable, on_hashed, job);
  g_task_set_task_data (task, g_ptr_array_ref (to_hash), (GDestroyNotify) g_ptr_array_unref);
  g_task_run_in_thread (task, hash_in_thread);
}

/* Groups the file names ---------------------------------------------------------------------- */

static void make_groups (Job *job);

static void
on_group_made (GObject *source, GAsyncResult *result, gpointer data)
{
  Job *job = data;
  GError *error = NULL;
  g_autoptr(CjChanges) changes = cj_store_run_finish (job->daemon->directory, result, &error);

  if (changes != NULL)
    {
      cj_daemon_apply_changes (job->daemon, changes);
      job->changed = TRUE;
    }
  else if (g_error_matches (error, CJ_ERROR, CJ_ERROR_DIRECTORY_UNAVAILABLE) ||
           g_error_matches (error, CJ_ERROR, CJ_ERROR_NOT_CONFIGURED))
    {
      end_with_error (job, error);
      return;
    }
  else
    /* Its rows fail, each saying so; the rest go on. */
    g_clear_error (&error);
  job->next_group++;
  make_groups (job);
}

static void
make_groups (Job *job)
{
  GPtrArray *groups = job->parsed->groups;

  if (g_cancellable_is_cancelled (job->cancellable))
    {
      end_job (job, "cancelled", NULL);
      return;
    }
  for (; job->create_groups && job->next_group < groups->len; job->next_group++)
    {
      const char *name = groups->pdata[job->next_group];

      if (cj_registry_find_group (job->daemon->registry, name) == NULL)
        {
          CjStoreRequest *request = cj_store_request_new (CJ_STORE_ADD_GROUP);

          request->name = g_strdup (name);
          cj_store_run_async (job->daemon->directory, request, NULL, on_group_made, job);
          return;
        }
    }
  cj_job_set_state (job->skeleton, "running");
  publish_counts (job);
  next_batch (job);
}

/* The other actions a file may need ----------------------------------------------------------- */

typedef struct {
  Job        *job;
  const char *action;
  void      (*then) (Job *job, gboolean authorized);
} Ask;

static void
on_asked (GObject *source, GAsyncResult *result, gpointer data)
{
  Ask *ask = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PolkitAuthorizationResult) answer =
    polkit_authority_check_authorization_finish (POLKIT_AUTHORITY (source), result, &error);
  gboolean yes = answer != NULL && polkit_authorization_result_get_is_authorized (answer);

  ask->then (ask->job, yes);
  g_free (ask);
}

static void
on_authority (GObject *source, GAsyncResult *result, gpointer data)
{
  Ask *ask = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PolkitAuthority) authority = polkit_authority_get_finish (result, &error);
  g_autoptr(PolkitSubject) subject = NULL;

  if (authority == NULL)
    {
      ask->then (ask->job, FALSE);
      g_free (ask);
      return;
    }
  subject = polkit_system_bus_name_new (ask->job->sender);
  polkit_authority_check_authorization (authority, subject, ask->action, NULL,
                                        ask->job->interactive ? POLKIT_CHECK_AUTHORIZATION_FLAGS_ALLOW_USER_INTERACTION
                                                              : POLKIT_CHECK_AUTHORIZATION_FLAGS_NONE,
                                        ask->job->cancellable, on_asked, ask);
}

static void
ask_polkit (Job *job, const char *action, void (*then) (Job *, gboolean))
{
  Ask *ask = g_new0 (Ask, 1);

  ask->job = job;
  ask->action = action;
  ask->then = then;
  polkit_authority_get_async (job->cancellable, on_authority, ask);
}

static void
after_admin (Job *job, gboolean authorized)
{
  job->may_admin = authorized;
  make_groups (job);
}

static void
check_admin (Job *job)
{
  for (guint i = 0; i < job->parsed->rows->len; i++)
    if (cj_ejabberd_config_is_admin (((CjImportRow *) job->parsed->rows->pdata[i])->name))
      {
        ask_polkit (job, CJ_ACTION_SETUP, after_admin);
        return;
      }
  make_groups (job);
}

static void
after_groups (Job *job, gboolean authorized)
{
  if (g_cancellable_is_cancelled (job->cancellable))
    {
      end_job (job, "cancelled", NULL);
      return;
    }
  if (!authorized)
    {
      g_autoptr(GError) error = g_error_new (CJ_ERROR, CJ_ERROR_PERMISSION_DENIED,
                                             _("The file gives groups, and changing groups is not authorized (%s)"),
                                             CJ_ACTION_GROUPS);
      end_job (job, "failed", error);
      return;
    }
  check_admin (job);
}

static void
authorize (Job *job)
{
  if (job->create_groups && job->parsed->groups->len > 0)
    {
      ask_polkit (job, CJ_ACTION_GROUPS, after_groups);
      return;
    }
  for (guint i = 0; i < job->parsed->rows->len; i++)
    if (((CjImportRow *) job->parsed->rows->pdata[i])->group != NULL)
      {
        ask_polkit (job, CJ_ACTION_GROUPS, after_groups);
        return;
      }
  check_admin (job);
}

/* Reading and parsing ------------------------------------------------------------------------- */

static void
parse_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  Job *job = data;
  GError *error = NULL;
  CjImportParsed *parsed = cj_import_parse (job->format, (const char *) job->data->data, job->data->len, &error);

  if (parsed == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, parsed, (GDestroyNotify) cj_import_parsed_free);
}

static void
on_parsed (GObject *source, GAsyncResult *result, gpointer data)
{
  Job *job = data;
  GError *error = NULL;

  job->parsed = g_task_propagate_pointer (G_TASK (result), &error);
  g_clear_pointer (&job->data, g_byte_array_unref);
  if (job->parsed == NULL)
    {
      end_with_error (job, error);
      return;
    }
  /* The rows that could not be read are failed rows like any other. */
  for (guint i = 0; i < job->parsed->errors->len; i++)
    add_error (job, g_ptr_array_steal_index (job->parsed->errors, i--));
  job->errors_total += job->parsed->errors_dropped;
  job->failed = job->errors_total;
  cj_job_set_total (job->skeleton, job->parsed->rows->len + job->failed);
  publish_counts (job);
  if (g_cancellable_is_cancelled (job->cancellable))
    {
      end_job (job, "cancelled", NULL);
      return;
    }
  authorize (job);
}

static void
on_read (GObject *source, GAsyncResult *result, gpointer data)
{
  Job *job = data;
  GError *error = NULL;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result, &error);
  g_autoptr(GTask) task = NULL;

  if (bytes == NULL)
    {
      end_with_error (job, error);
      return;
    }
  if (g_bytes_get_size (bytes) > 0)
    {
      if (job->data->len + g_bytes_get_size (bytes) > CJ_IMPORT_MAX_BYTES)
        {
          g_autoptr(GError) too_big = g_error_new (CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                                                   _("The file is larger than %u MiB"),
                                                   CJ_IMPORT_MAX_BYTES / (1024 * 1024));
          end_job (job, "failed", too_big);
          return;
        }
      g_byte_array_append (job->data, g_bytes_get_data (bytes, NULL), (guint) g_bytes_get_size (bytes));
      g_input_stream_read_bytes_async (job->stream, CHUNK_BYTES, G_PRIORITY_LOW, job->cancellable, on_read, job);
      return;
    }
  /* The end of the file: the caller may go now, the job goes on. */
  g_clear_object (&job->stream);
  if (job->owner_watch != 0)
    {
      g_bus_unwatch_name (job->owner_watch);
      job->owner_watch = 0;
    }
  task = g_task_new (NULL, job->cancellable, on_parsed, job);
  g_task_set_task_data (task, job, NULL);
  g_task_run_in_thread (task, parse_in_thread);
}

/* A caller that goes away before its rows were all sent leaves a file that is not whole:
 * nothing of it is imported. */
static void
on_owner_vanished (GDBusConnection *connection, const char *name, gpointer data)
{
  Job *job = data;

  g_cancellable_cancel (job->cancellable);
}

/* The Job's methods ---------------------------------------------------------------------------- */

/* Cancel is the job owner's (the uid that called Import), root's, or an administrator's
 * (the setup action): manage-users alone, which the gate checked, is another user's right
 * to import, not to stop somebody else's import halfway. */
static void
cancel_now (Job *job, GDBusMethodInvocation *invocation)
{
  if (job->ended)
    {
      g_autoptr(GError) error = g_error_new_literal (CJ_ERROR, CJ_ERROR_NOT_SUPPORTED, _("The job has ended"));

      cj_audit_finish (invocation, job->path, error);
      g_dbus_method_invocation_return_gerror (invocation, error);
      return;
    }
  g_cancellable_cancel (job->cancellable);
  cj_audit_finish (invocation, job->path, NULL);
  cj_job_complete_cancel (job->skeleton, invocation);
}

typedef struct {
  Job                   *job;
  GDBusMethodInvocation *invocation;
  GCancellable          *cancellable;
  guint                  timeout_id;
  gboolean               unanswered;   /* polkit gave no answer: say so, not "not allowed" */
} CancelAsk;

static gboolean
on_cancel_ask_timeout (gpointer data)
{
  CancelAsk *ask = data;

  ask->timeout_id = 0;
  ask->unanswered = TRUE;
  g_cancellable_cancel (ask->cancellable);
  return G_SOURCE_REMOVE;
}

static void
cancel_asked (CancelAsk *ask, gboolean authorized)
{
  Job *job = ask->job;

  if (ask->timeout_id != 0)
    g_source_remove (ask->timeout_id);
  job->asking--;
  if (authorized)
    cancel_now (job, ask->invocation);
  else if (ask->unanswered)
    {
      g_autoptr(GError) error =
        g_error_new_literal (CJ_ERROR, CJ_ERROR_PERMISSION_DENIED,
                             _("The authorization service (polkit) did not answer; the job was not cancelled"));

      cj_audit_finish (ask->invocation, job->path, error);
      g_dbus_method_invocation_return_gerror (ask->invocation, error);
    }
  else
    {
      g_autoptr(GError) error =
        g_error_new (CJ_ERROR, CJ_ERROR_PERMISSION_DENIED,
                     _("Only the user who started the import (uid %u), root or an administrator (%s) may cancel it"),
                     job->owner_uid, CJ_ACTION_SETUP);

      cj_audit_finish (ask->invocation, job->path, error);
      g_dbus_method_invocation_return_gerror (ask->invocation, error);
    }
  g_object_unref (ask->cancellable);
  g_free (ask);
}

static void
on_cancel_checked (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PolkitAuthorizationResult) answer =
    polkit_authority_check_authorization_finish (POLKIT_AUTHORITY (source), result, &error);

  if (answer == NULL)
    ((CancelAsk *) data)->unanswered = TRUE;
  cancel_asked (data, answer != NULL && polkit_authorization_result_get_is_authorized (answer));
}

static void
on_cancel_authority (GObject *source, GAsyncResult *result, gpointer data)
{
  CancelAsk *ask = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PolkitAuthority) authority = polkit_authority_get_finish (result, &error);
  g_autoptr(PolkitSubject) subject = NULL;
  GDBusMessage *message = g_dbus_method_invocation_get_message (ask->invocation);
  gboolean interactive = (g_dbus_message_get_flags (message) &
                          G_DBUS_MESSAGE_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION) != 0;

  if (authority == NULL)
    {
      ask->unanswered = TRUE;
      cancel_asked (ask, FALSE);
      return;
    }
  subject = polkit_system_bus_name_new (g_dbus_method_invocation_get_sender (ask->invocation));
  polkit_authority_check_authorization (authority, subject, CJ_ACTION_SETUP, NULL,
                                        interactive ? POLKIT_CHECK_AUTHORIZATION_FLAGS_ALLOW_USER_INTERACTION
                                                    : POLKIT_CHECK_AUTHORIZATION_FLAGS_NONE,
                                        ask->cancellable, on_cancel_checked, ask);
}

static gboolean
handle_cancel (CjJob *skeleton, GDBusMethodInvocation *invocation, Job *job)
{
  const CjCaller *caller = cj_gate_get_caller (invocation);
  GDBusMessage *message = g_dbus_method_invocation_get_message (invocation);
  CancelAsk *ask;

  if (caller != NULL && caller->uid != G_MAXUINT32 && (caller->uid == job->owner_uid || caller->uid == 0))
    {
      cancel_now (job, invocation);
      return TRUE;
    }
  /* Somebody else: an administrator may (polkit's answer, fail closed on no answer). */
  if (job->asking >= MAX_CANCEL_ASKS)
    {
      g_autoptr(GError) error =
        g_error_new_literal (CJ_ERROR, CJ_ERROR_BUSY,
                             _("Too many cancels of this job are waiting for authorization; try again later"));

      g_dbus_method_invocation_return_gerror (invocation, error);
      return TRUE;
    }
  ask = g_new0 (CancelAsk, 1);
  ask->job = job;
  ask->invocation = invocation;
  ask->cancellable = g_cancellable_new ();
  ask->timeout_id = g_timeout_add_seconds ((g_dbus_message_get_flags (message) &
                                            G_DBUS_MESSAGE_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION) != 0
                                           ? 120 : 25,
                                           on_cancel_ask_timeout, ask);
  job->asking++;
  polkit_authority_get_async (ask->cancellable, on_cancel_authority, ask);
  return TRUE;
}

static gboolean
handle_get_errors (CjJob *skeleton, GDBusMethodInvocation *invocation, guint offset, guint limit, Job *job)
{
  GVariantBuilder builder;

  if (limit == 0 || limit > ERRORS_PAGE)
    limit = ERRORS_PAGE;
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(uss)"));
  for (guint i = offset; i < job->errors->len && i - offset < limit; i++)
    {
      CjImportError *error = job->errors->pdata[i];

      g_variant_builder_add (&builder, "(uss)", error->line, error->name, error->reason);
    }
  cj_job_complete_get_errors (skeleton, invocation, g_variant_builder_end (&builder), job->errors->len);
  return TRUE;
}

/* Manager.Import ------------------------------------------------------------------------------- */

static gboolean
handle_import (CjManager *manager, GDBusMethodInvocation *invocation, GUnixFDList *fd_list,
               GVariant *file, GVariant *options, CjDaemon *daemon)
{
  g_autoptr(GError) error = NULL;
  const char *format = "csv";
  CjImportFormat parsed_format;
  GDBusMessage *message = g_dbus_method_invocation_get_message (invocation);
  Job *job;
  int fd;

  /* The options were checked by the gate (cj_arguments_import). */
  g_variant_lookup (options, CJ_OPT_FORMAT, "&s", &format);
  if (!cj_import_format_from_string (format, &parsed_format))
    return cj_daemon_fail (invocation, "import",
                           g_error_new_literal (CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT, _("Unknown format")));
  if (!cj_server_get_ldap_configured (daemon->server))
    return cj_daemon_fail (invocation, "import",
                           g_error_new_literal (CJ_ERROR, CJ_ERROR_NOT_CONFIGURED,
                                                _("The directory is not set up: run “cl-setup ldap” first")));
  if (running != NULL)
    return cj_daemon_fail (invocation, "import",
                           g_error_new_literal (CJ_ERROR, CJ_ERROR_BUSY,
                                                _("Another import is running; try again when it has ended")));
  fd = cj_options_fd_from_handle (g_variant_get_handle (file), fd_list, "file", &error);
  if (fd < 0)
    return cj_daemon_fail (invocation, "import", g_steal_pointer (&error));

  job = g_new0 (Job, 1);
  job->daemon = daemon;
  job->format = parsed_format;
  job->invocation = g_object_ref (invocation);
  job->sender = g_strdup (g_dbus_method_invocation_get_sender (invocation));
  job->owner_uid = cj_gate_get_caller (invocation)->uid;
  job->interactive = (g_dbus_message_get_flags (message) & G_DBUS_MESSAGE_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION) != 0;
  g_variant_lookup (options, CJ_OPT_CREATE_GROUPS, "b", &job->create_groups);
  g_variant_lookup (options, CJ_OPT_UPDATE_PASSWORDS, "b", &job->update_passwords);
  job->cancellable = g_cancellable_new ();
  job->stream = g_unix_input_stream_new (fd, TRUE);
  job->data = g_byte_array_new ();
  job->errors = g_ptr_array_new_with_free_func ((GDestroyNotify) cj_import_error_free);
  job->kick = g_ptr_array_new_with_free_func (g_free);
  job->path = g_strdup_printf ("%s/%u", CJ_JOBS_PATH, ++job_counter);
  job->skeleton = cj_job_skeleton_new ();
  cj_job_set_operation (job->skeleton, "import");
  cj_job_set_state (job->skeleton, "reading");
  cj_job_set_error (job->skeleton, "");
  g_signal_connect (job->skeleton, "handle-cancel", G_CALLBACK (handle_cancel), job);
  g_signal_connect (job->skeleton, "handle-get-errors", G_CALLBACK (handle_get_errors), job);
  cj_gate_attach (daemon->gate, G_DBUS_INTERFACE_SKELETON (job->skeleton));
  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (job->skeleton), daemon->connection,
                                         job->path, &error))
    {
      g_clear_object (&job->skeleton);   /* never exported: nothing to unexport */
      job_free (job);
      return cj_daemon_fail (invocation, "import", g_steal_pointer (&error));
    }
  running = job;
  job->owner_watch = g_bus_watch_name_on_connection (daemon->connection, job->sender,
                                                     G_BUS_NAME_WATCHER_FLAGS_NONE, NULL,
                                                     on_owner_vanished, job, NULL);
  cj_audit_finish (invocation, "import started", NULL);
  g_debug ("import %s started", job->path);
  cj_manager_complete_import (manager, invocation, NULL, job->path);
  g_input_stream_read_bytes_async (job->stream, CHUNK_BYTES, G_PRIORITY_LOW, job->cancellable, on_read, job);
  return TRUE;
}

void
cj_import_job_init (CjDaemon *daemon)
{
  g_signal_connect (daemon->manager, "handle-import", G_CALLBACK (handle_import), daemon);
}
