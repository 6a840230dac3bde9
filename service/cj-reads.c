/* The listings' queue: see cj-reads.h for the why. */
#include "config.h"
#include "cj-reads.h"

#include <glib/gi18n.h>

#include "cj-error.h"
#include "cj-quota.h"

/* Listings waiting, per user but root, for all of them, and for root. */
#define MAX_PER_UID 4
#define MAX_OTHERS  32
#define MAX_ROOT    16

struct _CjReads {
  CjPeers *peers;
  CjQuota *waiting;
  GQueue   queue;        /* Pending, identified and counted in */
  guint    idle_id;
};

typedef struct {
  CjReads               *reads;
  GDBusMethodInvocation *invocation;
  CjReadFunc             func;
  gpointer               data;
  guint32                uid;
} Pending;

static gboolean
serve_one (gpointer user_data)
{
  CjReads *reads = user_data;
  g_autofree Pending *pending = g_queue_pop_head (&reads->queue);

  cj_quota_give (reads->waiting, pending->uid);
  pending->func (pending->invocation, pending->data);
  if (g_queue_is_empty (&reads->queue))
    {
      reads->idle_id = 0;
      return G_SOURCE_REMOVE;
    }
  return G_SOURCE_CONTINUE;
}

static void
on_peer (guint32 uid, guint32 pid, const GError *error, gpointer user_data)
{
  Pending *pending = user_data;
  CjReads *reads = pending->reads;
  gboolean per_user;

  if (error != NULL)
    {
      g_dbus_method_invocation_return_gerror (pending->invocation, error);
      g_free (pending);
      return;
    }
  if (!cj_quota_take (reads->waiting, uid, &per_user))
    {
      if (per_user)
        g_dbus_method_invocation_return_error (pending->invocation, CJ_ERROR, CJ_ERROR_BUSY,
                                               _("Too many listings of this user are waiting (at most %u); "
                                                 "try again when they are answered"),
                                               cj_quota_limit (reads->waiting, uid));
      else
        g_dbus_method_invocation_return_error_literal (pending->invocation, CJ_ERROR, CJ_ERROR_BUSY,
                                                       _("Too many listings are waiting; try again later"));
      g_free (pending);
      return;
    }
  pending->uid = uid;
  g_queue_push_tail (&reads->queue, pending);
  if (reads->idle_id == 0)
    reads->idle_id = g_idle_add_full (G_PRIORITY_LOW, serve_one, reads, NULL);
}

void
cj_reads_submit (CjReads *reads, GDBusMethodInvocation *invocation, CjReadFunc func, gpointer data)
{
  g_autoptr(GError) error = NULL;
  Pending *pending = g_new0 (Pending, 1);

  pending->reads = reads;
  pending->invocation = invocation;
  pending->func = func;
  pending->data = data;
  if (!cj_peers_lookup (reads->peers, g_dbus_method_invocation_get_sender (invocation), on_peer,
                        pending, &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      g_free (pending);
    }
}

CjReads *
cj_reads_new (CjPeers *peers)
{
  CjReads *reads = g_new0 (CjReads, 1);

  reads->peers = peers;
  reads->waiting = cj_quota_new (MAX_PER_UID, MAX_OTHERS, MAX_ROOT);
  g_queue_init (&reads->queue);
  return reads;
}

static void
pending_drop (gpointer data)
{
  Pending *pending = data;

  g_dbus_method_invocation_return_error_literal (pending->invocation, CJ_ERROR, CJ_ERROR_CANCELLED,
                                                 _("The service is stopping"));
  g_free (pending);
}

void
cj_reads_free (CjReads *reads)
{
  if (reads == NULL)
    return;
  if (reads->idle_id != 0)
    g_source_remove (reads->idle_id);
  g_queue_clear_full (&reads->queue, pending_drop);
  cj_quota_free (reads->waiting);
  g_free (reads);
}
