#include "config.h"
#include "cj-ejabberd.h"

#include <glib/gi18n.h>

#include "cj-error.h"

#define START_TIMEOUT_SECONDS 60
#define POLL_MILLISECONDS     500

struct _CjEjabberd {
  char  *service_manager;
  char **restart_command;
  char **control_command;
};

CjEjabberd *
cj_ejabberd_new (const CjConfig *config)
{
  CjEjabberd *ejabberd = g_new0 (CjEjabberd, 1);

  ejabberd->service_manager = g_strdup (config->service_manager);
  ejabberd->restart_command = g_strdupv (config->restart_command);
  ejabberd->control_command = g_strdupv (config->control_command);
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
  g_free (ejabberd);
}

/* Running a command -------------------------------------------------------------------- */

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
  g_task_return_boolean (task, TRUE);
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
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Restarting ----------------------------------------------------------------------------- */

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
poll_status (GTask *task)
{
  Restart *restart = g_task_get_task_data (task);
  const char *const args[] = { "status", NULL };

  cj_ejabberd_control_async (restart->ejabberd, args, on_status, task);
}

static void
on_restarted (GObject *source, GAsyncResult *result, gpointer user_data)
{
  GTask *task = user_data;
  GError *error = NULL;

  if (!g_task_propagate_boolean (G_TASK (result), &error))
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
