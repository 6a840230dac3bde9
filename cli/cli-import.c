/* `cl-jabber user import` and `cl-jabber user export`. The import hands the daemon an open
 * file descriptor (the daemon never opens a caller's path as root) and follows the Job it
 * gets back: a progress bar on a terminal, plain lines otherwise, then the failed rows. */
#include "config.h"
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <glib-unix.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  Cli       *cli;
  CjJob     *job;
  GMainLoop *loop;
  gboolean   bar;          /* stderr is a terminal */
  gint64     started;
  gint64     last_line;
  gboolean   cancelled;
} Follow;

static const char *
guess_format (const char *file)
{
  if (g_str_has_suffix (file, ".json"))
    return "json";
  if (g_str_has_suffix (file, ".ldif") || g_str_has_suffix (file, ".ldf"))
    return "ldif";
  return "csv";
}

static gboolean
job_ended (CjJob *job)
{
  const char *state = cj_job_get_state (job);

  return state != NULL && (g_str_equal (state, "finished") || g_str_equal (state, "failed") ||
                           g_str_equal (state, "cancelled"));
}

/* "[#####-----] 1200/2000  60%  350/s  0:02 left" */
static void
show_progress (Follow *follow, gboolean force)
{
  guint total = cj_job_get_total (follow->job);
  guint handled = cj_job_get_done (follow->job) + cj_job_get_failed (follow->job);
  double seconds = (g_get_monotonic_time () - follow->started) / (double) G_USEC_PER_SEC;
  double rate = seconds > 0.2 ? handled / seconds : 0.0;
  gint64 now = g_get_monotonic_time ();

  if (total == 0)
    return;
  if (follow->bar)
    {
      char bar[31];
      guint filled = (guint) (30.0 * handled / total);
      guint left = rate > 0 ? (guint) ((total - handled) / rate) : 0;

      for (guint i = 0; i < 30; i++)
        bar[i] = i < filled ? '#' : '-';
      bar[30] = '\0';
      g_printerr ("\r[%s] %u/%u %3u%%  %.0f/s  %u:%02u ", bar, handled, total,
                  (guint) (100.0 * handled / total), rate, left / 60, left % 60);
      g_printerr (_("left"));
      g_printerr ("  ");
    }
  else if (force || now - follow->last_line >= G_USEC_PER_SEC)
    {
      g_printerr (_("%s: %u of %u rows\n"), cli_program (), handled, total);
      follow->last_line = now;
    }
}

static void
on_properties (GDBusProxy *proxy, GVariant *changed, GStrv invalidated, gpointer data)
{
  Follow *follow = data;

  show_progress (follow, FALSE);
  if (job_ended (follow->job))
    g_main_loop_quit (follow->loop);
}

static gboolean
on_interrupt (gpointer data)
{
  Follow *follow = data;
  g_autoptr(GError) error = NULL;

  if (!follow->cancelled)
    {
      follow->cancelled = TRUE;
      g_printerr (_("\n%s: cancelling (the batch being written is finished first)…\n"), cli_program ());
      if (!cj_job_call_cancel_sync (follow->job, NULL, &error))
        g_printerr ("%s: %s\n", cli_program (), error->message);
    }
  return G_SOURCE_CONTINUE;
}

static void
print_errors (Follow *follow, GString *json)
{
  guint offset = 0, total = 1;

  while (offset < total)
    {
      g_autoptr(GVariant) errors = NULL;
      g_autoptr(GError) error = NULL;
      GVariantIter iter;
      const char *name, *reason;
      guint line;

      if (!cj_job_call_get_errors_sync (follow->job, offset, 0, &errors, &total, NULL, &error))
        {
          g_printerr ("%s: %s\n", cli_program (), error->message);
          return;
        }
      if (g_variant_n_children (errors) == 0)
        break;
      g_variant_iter_init (&iter, errors);
      while (g_variant_iter_next (&iter, "(u&s&s)", &line, &name, &reason))
        {
          if (json != NULL)
            {
              if (offset > 0)
                g_string_append_c (json, ',');
              g_string_append_printf (json, "{\"line\":%u,\"name\":", line);
              cli_json_string (json, name);
              g_string_append (json, ",\"reason\":");
              cli_json_string (json, reason);
              g_string_append_c (json, '}');
            }
          else if (*name != '\0')
            g_printerr (_("line %u: %s: %s\n"), line, name, reason);
          else
            g_printerr (_("line %u: %s\n"), line, reason);
          offset++;
        }
    }
}

int
cli_user_import (Cli *cli, const char *file, const char *format, gboolean create_groups,
                 gboolean update_passwords)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GUnixFDList) fds = g_unix_fd_list_new ();
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GMainLoop) loop = NULL;
  GVariantBuilder options;
  Follow follow = { .cli = cli };
  const char *path, *state;
  guint sigint;
  int fd, handle, status;

  fd = g_str_equal (file, "-") ? dup (STDIN_FILENO) : open (file, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    {
      int saved = errno;
      g_printerr ("%s: %s: %s\n", cli_program (), file, g_strerror (saved));
      return CLI_EXIT_NOT_FOUND;
    }
  handle = g_unix_fd_list_append (fds, fd, &error);
  close (fd);
  if (handle < 0)
    return cli_fail (error);
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", CJ_OPT_FORMAT,
                         g_variant_new_string (format != NULL ? format : guess_format (file)));
  if (create_groups)
    g_variant_builder_add (&options, "{sv}", CJ_OPT_CREATE_GROUPS, g_variant_new_boolean (TRUE));
  if (update_passwords)
    g_variant_builder_add (&options, "{sv}", CJ_OPT_UPDATE_PASSWORDS, g_variant_new_boolean (TRUE));
  reply = cli_call (cli, CJ_MANAGER_PATH, CJ_IFACE_MANAGER, "Import",
                    g_variant_new ("(ha{sv})", handle, &options), "(o)", fds, &error);
  if (reply == NULL)
    return cli_fail (error);
  g_variant_get (reply, "(&o)", &path);

  follow.job = cj_job_proxy_new_sync (cli->bus, G_DBUS_PROXY_FLAGS_NONE, CJ_BUS_NAME, path, NULL, &error);
  if (follow.job == NULL)
    return cli_fail (error);
  loop = g_main_loop_new (NULL, FALSE);
  follow.loop = loop;
  follow.bar = isatty (STDERR_FILENO) && !cli->json;
  follow.started = g_get_monotonic_time ();
  g_signal_connect (follow.job, "g-properties-changed", G_CALLBACK (on_properties), &follow);
  sigint = g_unix_signal_add (SIGINT, on_interrupt, &follow);
  if (!job_ended (follow.job))
    g_main_loop_run (loop);
  g_source_remove (sigint);
  show_progress (&follow, TRUE);
  if (follow.bar)
    g_printerr ("\n");

  state = cj_job_get_state (follow.job);
  if (cli->json)
    {
      g_autoptr(GString) out = g_string_new ("{\"state\":");

      cli_json_string (out, state);
      g_string_append_printf (out, ",\"total\":%u,\"created\":%u,\"updated\":%u,\"unchanged\":%u,\"failed\":%u,"
                              "\"error\":", cj_job_get_total (follow.job), cj_job_get_created (follow.job),
                              cj_job_get_updated (follow.job), cj_job_get_unchanged (follow.job),
                              cj_job_get_failed (follow.job));
      cli_json_string (out, cj_job_get_error (follow.job));
      g_string_append (out, ",\"errors\":[");
      print_errors (&follow, out);
      g_string_append (out, "]}\n");
      fputs (out->str, stdout);
    }
  else
    {
      print_errors (&follow, NULL);
      /* TRANSLATORS: the summary of an import */
      g_print (_("%u rows: %u created, %u updated, %u unchanged, %u failed\n"),
               cj_job_get_total (follow.job), cj_job_get_created (follow.job), cj_job_get_updated (follow.job),
               cj_job_get_unchanged (follow.job), cj_job_get_failed (follow.job));
      if (g_str_equal (state, "failed"))
        g_printerr (_("%s: the import stopped: %s\n"), cli_program (), cj_job_get_error (follow.job));
      else if (g_str_equal (state, "cancelled"))
        g_printerr (_("%s: the import was cancelled; the rows not reached were left alone\n"), cli_program ());
    }
  status = g_str_equal (state, "finished") && cj_job_get_failed (follow.job) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILED;
  g_object_unref (follow.job);
  return status;
}

/* Export --------------------------------------------------------------------------------------- */

static void
csv_field (GString *out, const char *value)
{
  gboolean quote = strpbrk (value, ",\"\r\n") != NULL || g_ascii_isspace (value[0]) ||
                   (*value != '\0' && g_ascii_isspace (value[strlen (value) - 1]));

  if (!quote)
    {
      g_string_append (out, value);
      return;
    }
  g_string_append_c (out, '"');
  for (const char *p = value; *p != '\0'; p++)
    {
      if (*p == '"')
        g_string_append_c (out, '"');
      g_string_append_c (out, *p);
    }
  g_string_append_c (out, '"');
}

int
cli_user_export (Cli *cli, const char *format)
{
  g_autoptr(GError) error = NULL;
  /* The rows as bytes walked in place, with the group's name (cj-user-table.h). */
  g_autoptr(GPtrArray) users = cli_pages (cli, "GetUserTable", "ay", &error);
  g_autoptr(GString) out = g_string_new (NULL);
  gboolean json = g_strcmp0 (format, "json") == 0 || (format == NULL && cli->json);
  CliUserTable rows = { users, 0, { 0 } };
  CjUserRow row;
  gboolean first = TRUE;

  if (format != NULL && !g_str_equal (format, "csv") && !g_str_equal (format, "json"))
    return cli_usage_error (_("the export format is csv or json"));
  if (users == NULL)
    return cli_fail (error);
  g_string_append (out, json ? "{\"users\":[" : "name,nickname,group,locked\n");
  while (cli_user_table_next (&rows, &row, &error))
    {
      const char *name = row.name, *nickname = row.nickname, *group;
      gboolean locked = row.locked;

      /* No nickname of its own shows as the name: exported as none, so that importing
       * the file again changes nothing. */
      if (g_str_equal (nickname, name))
        nickname = "";
      group = g_strcmp0 (row.group_path, CJ_NO_OBJECT) != 0 ? row.group_name : NULL;
      if (json)
        {
          if (!first)
            g_string_append_c (out, ',');
          g_string_append (out, "\n{\"name\":");
          cli_json_string (out, name);
          g_string_append (out, ",\"nickname\":");
          cli_json_string (out, nickname);
          g_string_append (out, ",\"group\":");
          if (group != NULL)
            cli_json_string (out, group);
          else
            g_string_append (out, "null");
          g_string_append_printf (out, ",\"locked\":%s}", locked ? "true" : "false");
        }
      else
        {
          csv_field (out, name);
          g_string_append_c (out, ',');
          csv_field (out, nickname);
          g_string_append_c (out, ',');
          csv_field (out, group != NULL ? group : "");
          g_string_append (out, locked ? ",yes\n" : ",no\n");
        }
      first = FALSE;
      if (out->len > 65536)
        {
          fwrite (out->str, 1, out->len, stdout);
          g_string_truncate (out, 0);
        }
    }
  if (error != NULL)
    return cli_fail (error);
  if (json)
    g_string_append (out, "\n]}\n");
  fwrite (out->str, 1, out->len, stdout);
  return fflush (stdout) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}

/* Verify ---------------------------------------------------------------------------------------- */

static guint
print_findings (Cli *cli, GVariant *findings, const char *label, GString *json)
{
  GVariantIter iter;
  const char *kind, *subject, *message;
  guint count = 0;

  g_variant_iter_init (&iter, findings);
  while (g_variant_iter_next (&iter, "(&s&s&s)", &kind, &subject, &message))
    {
      if (json != NULL)
        {
          if (json->len > 0 && json->str[json->len - 1] != '[')
            g_string_append_c (json, ',');
          g_string_append (json, "{\"kind\":");
          cli_json_string (json, kind);
          g_string_append (json, ",\"subject\":");
          cli_json_string (json, subject);
          g_string_append (json, ",\"message\":");
          cli_json_string (json, message);
          g_string_append_c (json, '}');
        }
      else
        g_print ("%s%s: %s: %s\n", label, kind, subject, message);
      count++;
    }
  return count;
}

int
cli_verify (Cli *cli, gboolean repair)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) found = NULL;
  g_autoptr(GString) json = cli->json ? g_string_new ("{") : NULL;
  guint remaining;

  if (repair)
    {
      g_autoptr(GVariant) fixed = cli_call (cli, CJ_SERVER_PATH, CJ_IFACE_SERVER, "Repair",
                                            g_variant_new ("(a{sv})", NULL), "(a(sss))", NULL, &error);
      g_autoptr(GVariant) list = NULL;

      if (fixed == NULL)
        return cli_fail (error);
      list = g_variant_get_child_value (fixed, 0);
      if (json != NULL)
        g_string_append (json, "\"repaired\":[");
      print_findings (cli, list, _("repaired: "), json);
      if (json != NULL)
        g_string_append (json, "],");
    }
  found = cli_call (cli, CJ_SERVER_PATH, CJ_IFACE_SERVER, "Verify", NULL, "(a(sss))", NULL, &error);
  if (found == NULL)
    return cli_fail (error);
  {
    g_autoptr(GVariant) list = g_variant_get_child_value (found, 0);

    if (json != NULL)
      g_string_append (json, "\"findings\":[");
    remaining = print_findings (cli, list, "", json);
  }
  if (json != NULL)
    {
      g_string_append (json, "]}\n");
      fputs (json->str, stdout);
    }
  else if (remaining == 0)
    g_print (_("No inconsistencies found\n"));
  return remaining == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILED;
}
