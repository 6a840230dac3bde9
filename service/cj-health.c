/* Any local user may ask (cl-jabber status does): a check costs ejabberd two API calls and
 * the directory one read, so calls made while one runs share it — at most one check is in
 * flight whoever asks, and checks start at least MIN_SPACING apart (a caller in between
 * waits for the next one). No older result is ever answered: a status must tell a server
 * that stopped a moment ago. At most MAX_WAITERS callers wait for the next check (and as
 * many for the one in flight); more are told Busy. */
#include "config.h"
#include "cj-health.h"

#include <glib/gi18n.h>

#include "cj-avatars.h"
#include "cj-error.h"

#define MIN_SPACING_USEC (G_USEC_PER_SEC / 4)
#define MAX_WAITERS      256

typedef struct {
  CjDaemon  *daemon;
  gboolean   running;
  guint      pending;     /* of the two round trips */
  gint64     finished_at; /* monotonic; 0: never */
  guint      timer;       /* the next check, waiting for its spacing */
  GPtrArray *waiters;     /* GDBusMethodInvocation: for the next check */
  GPtrArray *answering;   /* GDBusMethodInvocation: asked before the check in flight began */
} Health;

static void
health_free (Health *health)
{
  g_clear_handle_id (&health->timer, g_source_remove);
  g_ptr_array_unref (health->waiters);
  g_ptr_array_unref (health->answering);
  g_free (health);
}

static Health *
get_health (CjDaemon *daemon)
{
  return g_object_get_data (G_OBJECT (daemon->server), "cj-health");
}

static void start (Health *health);
static void start_soon (Health *health);

static void
one_done (Health *health)
{
  g_autoptr(GPtrArray) answering = NULL;

  if (--health->pending > 0)
    return;
  health->running = FALSE;
  health->finished_at = g_get_monotonic_time ();
  /* The properties reach the bus before the answers. */
  g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (health->daemon->server));
  answering = g_steal_pointer (&health->answering);
  health->answering = g_ptr_array_new ();
  for (guint i = 0; i < answering->len; i++)
    g_dbus_method_invocation_return_value (answering->pdata[i], NULL);
  /* Who asked while it ran is answered by the next one: this one began before they asked. */
  if (health->waiters->len > 0)
    start_soon (health);
}

static void
on_spaced (gpointer data)
{
  Health *health = data;

  health->timer = 0;
  start (health);
}

/* Starts a check now, or once MIN_SPACING has passed since the last one. */
static void
start_soon (Health *health)
{
  gint64 wait;

  if (health->running || health->timer != 0)
    return;
  wait = health->finished_at + MIN_SPACING_USEC - g_get_monotonic_time ();
  if (health->finished_at != 0 && wait > 0)
    health->timer = g_timeout_add_once ((guint) (wait / 1000) + 1, on_spaced, health);
  else
    start (health);
}

static void
on_ejabberd_probed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Health *health = user_data;
  CjServer *server = health->daemon->server;
  CjEjabberdHealth h = { 0 };

  cj_ejabberd_probe_finish (health->daemon->ejabberd, result, &h);
  cj_server_set_ejabberd_answers (server, h.answers);
  cj_server_set_ejabberd_version (server, h.version != NULL ? h.version : "");
  cj_server_set_ejabberd_sessions (server, h.sessions);
  cj_server_set_ejabberd_link (server, h.via_api ? "api" : "ejabberdctl");
  cj_server_set_ejabberd_problem (server, h.problem != NULL ? h.problem : "");
  /* Publishing needs the API (an answer through ejabberdctl may come while ejabberd is
   * still starting its listeners). */
  if (h.answers && h.via_api)
    cj_avatars_retry (health->daemon);
  cj_ejabberd_health_clear (&h);
  one_done (health);
}

/* In the directory's worker: the root DSE, which every LDAP server has whatever is set up. */
static gpointer
read_root_dse (CjDirectory *directory, LDAP *ld, gpointer data, GCancellable *cancellable, GError **error)
{
  char *attrs[] = { (char *) "1.1", NULL };
  struct timeval timeout = { cj_directory_get_timeout (directory), 0 };
  g_autoptr(LDAPMessage) message = NULL;
  int rc = ldap_search_ext_s (ld, "", LDAP_SCOPE_BASE, "(objectClass=*)", attrs, 0, NULL, NULL,
                              &timeout, 1, &message);

  if (rc != LDAP_SUCCESS)
    {
      cj_directory_set_error (directory, error, rc, ld, _("reading the directory's root entry"));
      return NULL;
    }
  return GINT_TO_POINTER (1);
}

static void
on_directory_read (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Health *health = user_data;
  g_autoptr(GError) error = NULL;
  gboolean answers = cj_directory_run_finish (health->daemon->directory, result, &error) != NULL;

  if (!answers)
    g_debug ("the directory does not answer: %s", error->message);
  cj_server_set_directory_answers (health->daemon->server, answers);
  one_done (health);
}

static void
start (Health *health)
{
  CjServer *server = health->daemon->server;

  health->running = TRUE;
  health->pending = 2;
  g_ptr_array_extend_and_steal (health->answering, g_steal_pointer (&health->waiters));
  health->waiters = g_ptr_array_new ();
  /* Before Setup there is no ejabberd of ours to ask (nor an API socket). */
  if (cj_server_get_configured (server))
    cj_ejabberd_probe_async (health->daemon->ejabberd, on_ejabberd_probed, health);
  else
    {
      cj_server_set_ejabberd_answers (server, FALSE);
      cj_server_set_ejabberd_version (server, "");
      cj_server_set_ejabberd_sessions (server, 0);
      cj_server_set_ejabberd_link (server, "");
      cj_server_set_ejabberd_problem (server, _("not set up (run “cl-setup jabber”)"));
      health->pending--;
    }
  cj_directory_read_async (health->daemon->directory, read_root_dse, NULL, NULL, on_directory_read, health);
}

void
cj_health_check (CjDaemon *daemon)
{
  start_soon (get_health (daemon));
}

static gboolean
handle_check (CjServer *server, GDBusMethodInvocation *invocation, CjDaemon *daemon)
{
  Health *health = get_health (daemon);

  if (health->waiters->len >= MAX_WAITERS)
    {
      g_dbus_method_invocation_return_error_literal (invocation, CJ_ERROR, CJ_ERROR_BUSY,
                                                     _("Too many status checks are waiting: try again"));
      return TRUE;
    }
  g_ptr_array_add (health->waiters, invocation);
  start_soon (health);
  return TRUE;
}

void
cj_health_init (CjDaemon *daemon)
{
  Health *health = g_new0 (Health, 1);

  health->daemon = daemon;
  health->waiters = g_ptr_array_new ();
  health->answering = g_ptr_array_new ();
  g_object_set_data_full (G_OBJECT (daemon->server), "cj-health", health, (GDestroyNotify) health_free);
  g_signal_connect (daemon->server, "handle-check", G_CALLBACK (handle_check), daemon);
}
