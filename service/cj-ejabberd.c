#include "config.h"
#include "cj-ejabberd.h"

#include <glib/gi18n.h>

#include "cj-error.h"

#include <errno.h>
#include <glib/gstdio.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define START_TIMEOUT_SECONDS 60
#define POLL_MILLISECONDS     500
/* ejabberd answers an API call in milliseconds; past this it is taken as not answering. */
#define API_TIMEOUT_SECONDS   10

struct _CjEjabberd {
  char  *service_manager;
  char **restart_command;
  char **control_command;
  CjEjabberdApi *api;            /* NULL: no API socket configured */
  gboolean       warned_fallback;
  /* Cache clears (coalesced): the callers waiting for the clear in flight, and those
   * whose change came after it started (one more clear serves them all). */
  gboolean       clearing;
  GPtrArray     *clear_waiters;  /* of GTask */
  GPtrArray     *next_waiters;
};

CjEjabberd *
cj_ejabberd_new (const CjConfig *config)
{
  CjEjabberd *ejabberd = g_new0 (CjEjabberd, 1);

  ejabberd->service_manager = g_strdup (config->service_manager);
  ejabberd->restart_command = g_strdupv (config->restart_command);
  ejabberd->control_command = g_strdupv (config->control_command);
  if (config->api_socket != NULL)
    ejabberd->api = cj_ejabberd_api_new (config->api_socket, API_TIMEOUT_SECONDS);
  ejabberd->clear_waiters = g_ptr_array_new ();
  ejabberd->next_waiters = g_ptr_array_new ();
  return ejabberd;
}

void
cj_ejabberd_free (CjEjabberd *ejabberd)
{
  if (ejabberd == NULL)
    return;
  g_free (ejabberd->service_manager);
  g_strfreev (ejabberd->restart_command);
  g_strfreev (ejabberd->control_command);
  g_clear_pointer (&ejabberd->api, cj_ejabberd_api_free);
  /* Only at exit: a clear still in flight holds no reference to us past the API's abort. */
  g_ptr_array_unref (ejabberd->clear_waiters);
  g_ptr_array_unref (ejabberd->next_waiters);
  g_free (ejabberd);
}

/* Running a command -------------------------------------------------------------------- */

/* The task returns the command's standard output. */
static void
on_command_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  GSubprocess *process = G_SUBPROCESS (source);
  g_autofree char *out = NULL, *err = NULL;
  GError *error = NULL;

  if (!g_subprocess_communicate_utf8_finish (process, result, &out, &err, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  if (!g_subprocess_get_successful (process))
    {
      const char *what = g_task_get_task_data (task);
      g_autofree char *output = g_strstrip (g_strconcat (err != NULL ? err : "", out != NULL ? out : "", NULL));

      g_autofree char *summary = cj_ejabberd_summarize (output);

      /* All of it to the log; one line to the caller. */
      g_message ("“%s” failed: %s", what, output);
      g_task_return_new_error (task, CJ_ERROR, CJ_ERROR_FAILED, _("“%s” failed: %s"), what, summary);
      return;
    }
  g_task_return_pointer (task, out != NULL ? g_steal_pointer (&out) : g_strdup (""), g_free);
}

static void
run_command (const char *const *argv, GTask *task)
{
  GError *error = NULL;
  g_autofree char *what = g_strjoinv (" ", (char **) argv);
  g_autoptr(GSubprocess) process = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                                      G_SUBPROCESS_FLAGS_STDERR_PIPE |
                                                      G_SUBPROCESS_FLAGS_STDIN_INHERIT, &error);

  g_task_set_task_data (task, g_steal_pointer (&what), g_free);
  if (process == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  g_subprocess_communicate_utf8_async (process, NULL, NULL, on_command_done, task);
}

void
cj_ejabberd_control_async (CjEjabberd *ejabberd, const char *const *args,
                           GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, NULL, callback, user_data);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) argv = NULL;

  g_strv_builder_addv (builder, (const char **) ejabberd->control_command);
  g_strv_builder_addv (builder, (const char **) args);
  argv = g_strv_builder_end (builder);
  run_command ((const char *const *) argv, task);
}

gboolean
cj_ejabberd_control_finish (CjEjabberd *ejabberd, GAsyncResult *result, GError **error)
{
  g_autofree char *out = g_task_propagate_pointer (G_TASK (result), error);

  return out != NULL;
}

/* Restarting ----------------------------------------------------------------------------- */

/* The API socket's directory: 0700 ejabberd, so that only ejabberd (which creates the socket
 * there) and root enter it — ejabberd 23.01 makes the socket srwxr-xr-x and has no option for
 * its mode. /run is emptied at boot: the unit's ExecStartPre and tmpfiles.d make it too; this
 * covers a start by hand. Failing here is not fatal: ejabberd then runs without its API and
 * the daemon falls back to ejabberdctl. */
static void
ensure_socket_directory (CjEjabberd *ejabberd)
{
  g_autofree char *dir = NULL;
  struct passwd *pw;
  struct stat st;

  if (ejabberd->api == NULL)
    return;
  dir = g_path_get_dirname (cj_ejabberd_api_get_socket (ejabberd->api));
  if (stat (dir, &st) == 0)
    return;
  pw = getpwnam ("ejabberd");
  if (g_mkdir_with_parents (dir, 0700) != 0 ||
      (pw != NULL && chown (dir, pw->pw_uid, pw->pw_gid) != 0))
    g_warning ("Cannot prepare the directory of ejabberd's API socket %s: %s", dir, g_strerror (errno));
}

typedef struct {
  CjEjabberd *ejabberd;
  gint64      deadline;
  char       *last_problem;
} Restart;

static void
restart_free (Restart *restart)
{
  g_free (restart->last_problem);
  g_free (restart);
}

static void poll_status (GTask *task);

static void
on_status (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  Restart *restart = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (cj_ejabberd_control_finish (restart->ejabberd, result, &error))
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  g_free (restart->last_problem);
  restart->last_problem = g_strdup (error->message);
  if (g_get_monotonic_time () > restart->deadline)
    {
      g_task_return_new_error (task, CJ_ERROR, CJ_ERROR_FAILED,
                               _("ejabberd did not come up within %d seconds (%s)"),
                               START_TIMEOUT_SECONDS, restart->last_problem);
      g_object_unref (task);
      return;
    }
  g_timeout_add_once (POLL_MILLISECONDS, (GSourceOnceFunc) poll_status, task);
}

static void
on_api_status (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  Restart *restart = g_task_get_task_data (task);
  const char *const args[] = { "status", NULL };
  g_autoptr(JsonNode) reply = cj_ejabberd_api_call_finish (restart->ejabberd->api, result, NULL);

  if (reply != NULL)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  /* A socket left by the previous instance, or a configuration without it (the previous
   * one, restored): ejabberdctl tells. */
  cj_ejabberd_control_async (restart->ejabberd, args, on_status, task);
}

/* Through the API when its socket is there (ejabberd listens on it once it started),
 * else ejabberdctl. */
static void
poll_status (GTask *task)
{
  Restart *restart = g_task_get_task_data (task);
  const char *const args[] = { "status", NULL };

  if (restart->ejabberd->api != NULL && cj_ejabberd_api_present (restart->ejabberd->api))
    cj_ejabberd_api_call_async (restart->ejabberd->api, "status", NULL, NULL, on_api_status, task);
  else
    cj_ejabberd_control_async (restart->ejabberd, args, on_status, task);
}

static void
on_restarted (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  GError *error = NULL;

  g_autofree char *out = g_task_propagate_pointer (G_TASK (result), &error);

  if (out == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  poll_status (task);
}

static void
on_systemd_restarted (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  GError *error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);

  if (reply == NULL)
    {
      g_dbus_error_strip_remote_error (error);
      g_task_return_new_error (task, CJ_ERROR, CJ_ERROR_FAILED, _("systemd cannot restart ejabberd: %s"),
                               error->message);
      g_error_free (error);
      g_object_unref (task);
      return;
    }
  poll_status (task);
}

static const char *
choose_manager (CjEjabberd *ejabberd)
{
  g_autofree char *rc_service = NULL;

  if (!g_str_equal (ejabberd->service_manager, "auto"))
    return ejabberd->service_manager;
  if (g_file_test ("/run/systemd/system", G_FILE_TEST_IS_DIR))
    return "systemd";
  rc_service = g_find_program_in_path ("rc-service");
  if (rc_service != NULL)
    return "openrc";
  return "command";
}

void
cj_ejabberd_restart_async (CjEjabberd *ejabberd, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, NULL, callback, user_data);
  Restart *restart = g_new0 (Restart, 1);
  const char *manager = choose_manager (ejabberd);

  ensure_socket_directory (ejabberd);
  restart->ejabberd = ejabberd;
  restart->deadline = g_get_monotonic_time () + START_TIMEOUT_SECONDS * G_TIME_SPAN_SECOND;
  g_task_set_task_data (task, restart, (GDestroyNotify) restart_free);

  if (g_str_equal (manager, "systemd"))
    {
      g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, NULL);

      if (bus != NULL)
        {
          g_dbus_connection_call (bus, "org.freedesktop.systemd1", "/org/freedesktop/systemd1",
                                  "org.freedesktop.systemd1.Manager", "RestartUnit",
                                  g_variant_new ("(ss)", "ejabberd.service", "replace"),
                                  G_VARIANT_TYPE ("(o)"), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                                  on_systemd_restarted, task);
          return;
        }
    }
  else if (g_str_equal (manager, "openrc"))
    {
      const char *const argv[] = { "rc-service", "ejabberd", "restart", NULL };
      run_command (argv, g_task_new (NULL, NULL, on_restarted, task));
      return;
    }
  else if (ejabberd->restart_command != NULL && ejabberd->restart_command[0] != NULL)
    {
      run_command ((const char *const *) ejabberd->restart_command, g_task_new (NULL, NULL, on_restarted, task));
      return;
    }
  g_task_return_new_error (task, CJ_ERROR, CJ_ERROR_FAILED,
                           _("No way to restart ejabberd: no systemd, no OpenRC, and no [Ejabberd] "
                             "RestartCommand in the daemon's configuration"));
  g_object_unref (task);
}

gboolean
cj_ejabberd_restart_finish (CjEjabberd *ejabberd, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Commands ------------------------------------------------------------------------------- */

typedef struct {
  char    *command;
  char   **args;
  gboolean api_only;
  gboolean via_ctl;    /* out: ejabberdctl ran it */
} Command;

static void
command_free (Command *c)
{
  g_free (c->command);
  g_strfreev (c->args);
  g_free (c);
}

static void run_ctl (CjEjabberd *ejabberd, GTask *task);

static void
on_api_command (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  CjEjabberd *ejabberd = g_task_get_task_data (task);
  GError *error = NULL;
  JsonNode *reply = cj_ejabberd_api_call_finish (ejabberd->api, result, &error);
  Command *c = g_object_get_data (G_OBJECT (task), "cj-command");

  /* Nobody listens on the socket file: ejabberd stopped (ejabberdctl fails then too, and
   * says so), or runs a configuration without the listener and left the file behind. */
  if (reply == NULL && !c->api_only && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_REFUSED))
    {
      g_error_free (error);
      run_ctl (ejabberd, g_steal_pointer (&task));
      return;
    }
  if (reply == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, reply, (GDestroyNotify) json_node_unref);
}

static void
on_ctl_command (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  g_autofree char *out = g_task_propagate_pointer (G_TASK (result), &error);
  JsonNode *reply;

  if (out == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  reply = json_node_new (JSON_NODE_VALUE);
  json_node_set_string (reply, g_strstrip (out));
  g_task_return_pointer (task, reply, (GDestroyNotify) json_node_unref);
}

gboolean
cj_ejabberd_has_api (CjEjabberd *ejabberd)
{
  return ejabberd->api != NULL && cj_ejabberd_api_present (ejabberd->api);
}

/* ejabberdctl takes the same arguments in the same order, positionally. */
static void
run_ctl (CjEjabberd *ejabberd, GTask *task)
{
  Command *c = g_object_get_data (G_OBJECT (task), "cj-command");
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) argv = NULL;

  if (c->api_only)
    {
      g_task_return_new_error (task, CJ_ERROR, CJ_ERROR_FAILED,
                               _("ejabberd's API socket is absent: %s not sent"), c->command);
      g_object_unref (task);
      return;
    }
  c->via_ctl = TRUE;
  if (!ejabberd->warned_fallback)
    {
      ejabberd->warned_fallback = TRUE;
      g_warning ("ejabberd's API socket %s is absent or nobody listens on it (a configuration "
                 "not rendered by cl-setup jabber?): using ejabberdctl, which costs ~0.3 s a command",
                 ejabberd->api != NULL ? cj_ejabberd_api_get_socket (ejabberd->api) : "(none)");
    }
  g_strv_builder_addv (builder, (const char **) ejabberd->control_command);
  g_strv_builder_add (builder, c->command);
  for (char **a = c->args; a != NULL && a[0] != NULL && a[1] != NULL; a += 2)
    g_strv_builder_add (builder, a[1]);
  argv = g_strv_builder_end (builder);
  run_command ((const char *const *) argv, g_task_new (NULL, NULL, on_ctl_command, task));
}

void
cj_ejabberd_command_async (CjEjabberd *ejabberd, const char *command, const char *const *args,
                           GAsyncReadyCallback callback, gpointer user_data)
{
  cj_ejabberd_command_full_async (ejabberd, command, args, FALSE, callback, user_data);
}

void
cj_ejabberd_command_full_async (CjEjabberd *ejabberd, const char *command, const char *const *args,
                                gboolean api_only, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, NULL, callback, user_data);
  Command *c = g_new0 (Command, 1);

  c->api_only = api_only;
  c->command = g_strdup (command);
  c->args = g_strdupv ((char **) args);
  g_object_set_data_full (G_OBJECT (task), "cj-command", c, (GDestroyNotify) command_free);
  g_task_set_task_data (task, ejabberd, NULL);
  if (cj_ejabberd_has_api (ejabberd))
    cj_ejabberd_api_call_async (ejabberd->api, command, args, NULL, on_api_command, task);
  else
    run_ctl (ejabberd, task);
}

gboolean
cj_ejabberd_command_used_ctl (GAsyncResult *result)
{
  Command *c = g_object_get_data (G_OBJECT (result), "cj-command");

  return c != NULL && c->via_ctl;
}

JsonNode *
cj_ejabberd_command_finish (CjEjabberd *ejabberd, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Kicks: every host at once ----------------------------------------------------------- */

typedef struct {
  guint   pending;
  GError *error;      /* the first */
} Kicks;

static void
kicks_free (Kicks *kicks)
{
  g_clear_error (&kicks->error);
  g_free (kicks);
}

static void
on_kicked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  Kicks *kicks = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = cj_ejabberd_command_finish (g_object_get_data (G_OBJECT (task), "cj-ejabberd"),
                                                          result, &error);

  if (reply == NULL && kicks->error == NULL)
    kicks->error = g_steal_pointer (&error);
  if (--kicks->pending > 0)
    return;
  if (kicks->error != NULL)
    g_task_return_error (task, g_steal_pointer (&kicks->error));
  else
    g_task_return_boolean (task, TRUE);
  g_object_unref (task);
}

void
cj_ejabberd_kick_async (CjEjabberd *ejabberd, const char *user, const char *const *hosts,
                        GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, NULL, callback, user_data);
  Kicks *kicks = g_new0 (Kicks, 1);

  g_task_set_task_data (task, kicks, (GDestroyNotify) kicks_free);
  g_object_set_data (G_OBJECT (task), "cj-ejabberd", ejabberd);
  for (const char *const *h = hosts; h != NULL && *h != NULL; h++)
    kicks->pending++;
  if (kicks->pending == 0)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    }
  for (const char *const *h = hosts; *h != NULL; h++)
    {
      const char *const args[] = { "user", user, "host", *h, NULL };
      cj_ejabberd_command_async (ejabberd, "kick_user", args, on_kicked, task);
    }
}

gboolean
cj_ejabberd_kick_finish (CjEjabberd *ejabberd, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Cache clears, coalesced ---------------------------------------------------------------- */

static void start_clear (CjEjabberd *ejabberd);

static void
on_cleared (GObject *source, GAsyncResult *result, gpointer user_data)
{
  CjEjabberd *ejabberd = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = cj_ejabberd_command_finish (ejabberd, result, &error);
  g_autoptr(GPtrArray) waiters = g_steal_pointer (&ejabberd->clear_waiters);

  ejabberd->clearing = FALSE;
  ejabberd->clear_waiters = g_ptr_array_new ();
  for (guint i = 0; i < waiters->len; i++)
    {
      GTask *task = waiters->pdata[i];

      if (reply == NULL)
        g_task_return_error (task, g_error_copy (error));
      else
        g_task_return_boolean (task, TRUE);
      g_object_unref (task);
    }
  if (ejabberd->next_waiters->len > 0)
    start_clear (ejabberd);
}

static void
start_clear (CjEjabberd *ejabberd)
{
  GPtrArray *swap = ejabberd->clear_waiters;

  ejabberd->clear_waiters = ejabberd->next_waiters;
  ejabberd->next_waiters = swap;
  ejabberd->clearing = TRUE;
  cj_ejabberd_command_async (ejabberd, "clear_cache", NULL, on_cleared, ejabberd);
}

void
cj_ejabberd_clear_cache_async (CjEjabberd *ejabberd, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, NULL, callback, user_data);

  /* A clear already running may have read the caches before this change was made: the
   * caller waits for the next one, which every change made meanwhile shares. */
  g_ptr_array_add (ejabberd->next_waiters, task);
  if (!ejabberd->clearing)
    start_clear (ejabberd);
}

gboolean
cj_ejabberd_clear_cache_finish (CjEjabberd *ejabberd, GAsyncResult *result, GError **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Health -------------------------------------------------------------------------------- */

void
cj_ejabberd_health_clear (CjEjabberdHealth *health)
{
  g_clear_pointer (&health->version, g_free);
  g_clear_pointer (&health->problem, g_free);
}

typedef struct {
  CjEjabberd      *ejabberd;
  CjEjabberdHealth health;
} Probe;

static void
probe_free (Probe *probe)
{
  cj_ejabberd_health_clear (&probe->health);
  g_free (probe);
}

/* "… ejabberd 23.01 is running in that node" (the status command's text). */
static char *
parse_version (const char *text)
{
  g_autoptr(GRegex) regex = g_regex_new ("ejabberd ([0-9][0-9A-Za-z.+~-]{0,40}) is running", 0, 0, NULL);
  g_autoptr(GMatchInfo) match = NULL;

  if (text != NULL && g_regex_match (regex, text, 0, &match))
    return g_match_info_fetch (match, 1);
  return g_strdup ("");
}

static const char *
node_text (JsonNode *node)
{
  if (node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    return json_node_get_string (node);
  return NULL;
}

static void
on_probe_sessions (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  Probe *probe = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = cj_ejabberd_command_finish (probe->ejabberd, result, &error);

  if (reply != NULL && JSON_NODE_HOLDS_OBJECT (reply))
    probe->health.sessions = (guint) MAX (0, json_object_get_int_member_with_default (
                                            json_node_get_object (reply), "num_sessions", 0));
  else if (reply != NULL && node_text (reply) != NULL)
    probe->health.sessions = (guint) g_ascii_strtoull (node_text (reply), NULL, 10);
  g_task_return_pointer (task, NULL, NULL);
}

static void
on_probe_status (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  Probe *probe = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = cj_ejabberd_command_finish (probe->ejabberd, result, &error);

  probe->health.via_api = !cj_ejabberd_command_used_ctl (result);
  if (reply == NULL)
    {
      probe->health.answers = FALSE;
      probe->health.problem = g_strdup (error->message);
      g_task_return_pointer (task, NULL, NULL);
      g_object_unref (task);
      return;
    }
  probe->health.answers = TRUE;
  probe->health.version = parse_version (node_text (reply));
  cj_ejabberd_command_async (probe->ejabberd, "connected_users_number", NULL, on_probe_sessions, task);
}

void
cj_ejabberd_probe_async (CjEjabberd *ejabberd, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, NULL, callback, user_data);
  Probe *probe = g_new0 (Probe, 1);

  probe->ejabberd = ejabberd;
  g_task_set_task_data (task, probe, (GDestroyNotify) probe_free);
  cj_ejabberd_command_async (ejabberd, "status", NULL, on_probe_status, task);
}

void
cj_ejabberd_probe_finish (CjEjabberd *ejabberd, GAsyncResult *result, CjEjabberdHealth *health)
{
  Probe *probe = g_task_get_task_data (G_TASK (result));

  g_task_propagate_pointer (G_TASK (result), NULL);
  *health = probe->health;
  memset (&probe->health, 0, sizeof probe->health);
}
