/* Finding out what became of a change whose answer was lost: see cj-outcome.h. */
#include "config.h"
#include "cj-outcome.h"


#include "cj-audit.h"
#include "cj-error.h"

#define FIRST_PAUSE_MS 1000
#define LAST_PAUSE_MS  30000
/* Bounded: a directory hung for long must not collect requests without end. */
#define MAX_WATCHED    1000
/* A check that fails otherwise than "not answering" (access refused, ...) is not retried
 * without end either. */
#define MAX_FAILURES   5

typedef struct {
  GDBusMethodInvocation *invocation;   /* answered already; kept for the audit line */
  char                  *target;
  CjStoreRequest        *request;
  guint                  failures;       /* checks that failed, the server answering */
} Watched;

struct _CjOutcomes {
  CjDaemon *daemon;
  GQueue    queue;          /* Watched*, oldest first */
  guint     timeout_id;
  guint     pause_ms;
  gboolean  checking;       /* a verification is on its way */
  gboolean  closing;        /* the daemon is going: a verification returning frees us */
};

static void
watched_free (Watched *watched)
{
  g_clear_object (&watched->invocation);
  g_free (watched->target);
  g_clear_pointer (&watched->request, cj_store_request_free);
  g_free (watched);
}

static void check_next (CjOutcomes *outcomes);

static gboolean
on_pause_over (gpointer data)
{
  CjOutcomes *outcomes = data;

  outcomes->timeout_id = 0;
  check_next (outcomes);
  return G_SOURCE_REMOVE;
}

static void
schedule (CjOutcomes *outcomes, guint pause_ms)
{
  if (outcomes->timeout_id == 0 && !outcomes->checking && !g_queue_is_empty (&outcomes->queue))
    outcomes->timeout_id = g_timeout_add (pause_ms, on_pause_over, outcomes);
}

static void
on_verified (GObject *source, GAsyncResult *result, gpointer data)
{
  CjOutcomes *outcomes = data;
  CjDaemon *daemon = outcomes->daemon;
  g_autoptr(GError) error = NULL;
  CjVerdict *verdict;
  Watched *watched;

  outcomes->checking = FALSE;
  if (outcomes->closing)
    {
      /* The daemon is gone: nothing of it may be touched. */
      cj_verdict_free (g_task_propagate_pointer (G_TASK (result), NULL));
      cj_outcome_free (outcomes);
      return;
    }
  verdict = cj_store_verify_finish (daemon->directory, result, &error);
  watched = g_queue_peek_head (&outcomes->queue);
  if (verdict == NULL &&
      (g_error_matches (error, CJ_ERROR, CJ_ERROR_DIRECTORY_UNAVAILABLE) ||
       ++watched->failures < MAX_FAILURES))
    {
      /* Still not answering: later, with a longer pause. */
      g_debug ("outcome still unknown: %s", error->message);
      outcomes->pause_ms = MIN (outcomes->pause_ms * 2, LAST_PAUSE_MS);
      schedule (outcomes, outcomes->pause_ms);
      return;
    }

  g_queue_pop_head (&outcomes->queue);
  if (verdict == NULL)
    {
      cj_audit_outcome (watched->invocation, watched->target, "never found", error->message);
      watched_free (watched);
      outcomes->pause_ms = FIRST_PAUSE_MS;
      schedule (outcomes, 0);
      return;
    }
  cj_audit_outcome (watched->invocation, watched->target, cj_outcome_to_string (verdict->outcome),
                    verdict->detail);
  cj_daemon_catch_up (daemon, watched->request, g_steal_pointer (&verdict->changes),
                      verdict->outcome == CJ_OUTCOME_APPLIED);
  cj_verdict_free (verdict);
  watched_free (watched);
  outcomes->pause_ms = FIRST_PAUSE_MS;
  schedule (outcomes, 0);
}

static void
check_next (CjOutcomes *outcomes)
{
  Watched *watched = g_queue_peek_head (&outcomes->queue);

  if (watched == NULL || outcomes->checking)
    return;
  outcomes->checking = TRUE;
  cj_store_verify_async (outcomes->daemon->directory, watched->request, on_verified, outcomes);
}

void
cj_outcome_watch (CjDaemon *daemon, GDBusMethodInvocation *invocation, const char *target,
                  CjStoreRequest *request)
{
  CjOutcomes *outcomes = daemon->outcomes;
  Watched *watched;

  if (outcomes == NULL)
    {
      outcomes = daemon->outcomes = g_new0 (CjOutcomes, 1);
      outcomes->daemon = daemon;
      g_queue_init (&outcomes->queue);
      outcomes->pause_ms = FIRST_PAUSE_MS;
    }
  if (g_queue_get_length (&outcomes->queue) >= MAX_WATCHED)
    {
      /* The oldest not being checked right now (a check in flight answers for the head). */
      Watched *oldest = g_queue_pop_nth (&outcomes->queue, outcomes->checking ? 1 : 0);

      cj_audit_outcome (oldest->invocation, oldest->target, "never found",
                        "too many changes in doubt at once");
      watched_free (oldest);
    }
  watched = g_new0 (Watched, 1);
  watched->invocation = g_object_ref (invocation);
  watched->target = g_strdup (target);
  watched->request = cj_store_request_ref (request);
  g_queue_push_tail (&outcomes->queue, watched);
  schedule (outcomes, outcomes->pause_ms);
}

void
cj_outcome_free (CjOutcomes *outcomes)
{
  Watched *watched;

  if (outcomes == NULL)
    return;
  if (outcomes->checking)
    {
      /* The verification holds a pointer to us: it frees us when it returns. */
      outcomes->closing = TRUE;
      return;
    }
  g_clear_handle_id (&outcomes->timeout_id, g_source_remove);
  while ((watched = g_queue_pop_head (&outcomes->queue)) != NULL)
    {
      cj_audit_outcome (watched->invocation, watched->target, "never found",
                        "the daemon stopped before the directory answered");
      watched_free (watched);
    }
  g_free (outcomes);
}
