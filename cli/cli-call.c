/* Connecting to the daemon, calling it, and turning its errors into messages and exit
 * codes. */
#include "config.h"
#include "cli.h"

#include <glib/gi18n.h>
#include <stdio.h>

static char *program_name;

const char *
cli_program (void)
{
  return program_name != NULL ? program_name : "cl-jabber";
}

void
cli_set_program (const char *name)
{
  g_free (program_name);
  program_name = g_strdup (name);
}

gboolean
cli_connect (Cli *cli, GError **error)
{
  cli->bus = g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, error);
  return cli->bus != NULL;
}

void
cli_disconnect (Cli *cli)
{
  cli_agent_stop (cli);
  g_clear_object (&cli->bus);
}

static void
map_remote_error (GError **error)
{
  g_autofree char *remote = NULL;

  if (error == NULL || *error == NULL)
    return;
  if ((*error)->domain == CJ_ERROR)
    {
      g_dbus_error_strip_remote_error (*error);
      return;
    }
  remote = g_dbus_error_get_remote_error (*error);
  if (remote != NULL &&
      (g_str_equal (remote, "org.freedesktop.DBus.Error.ServiceUnknown") ||
       g_str_equal (remote, "org.freedesktop.DBus.Error.NameHasNoOwner")))
    {
      g_clear_error (error);
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           _("The Jabber service (calculate-jabberd) is not running"));
      return;
    }
  if (remote != NULL && g_str_equal (remote, "org.freedesktop.DBus.Error.AccessDenied"))
    {
      g_dbus_error_strip_remote_error (*error);
      (*error)->domain = CJ_ERROR;
      (*error)->code = CJ_ERROR_PERMISSION_DENIED;
      return;
    }
  g_dbus_error_strip_remote_error (*error);
}

GVariant *
cli_call (Cli *cli, const char *path, const char *interface, const char *method,
          GVariant *parameters, const char *reply_type, GUnixFDList *fd_list, GError **error)
{
  GDBusCallFlags flags = G_DBUS_CALL_FLAGS_NONE;
  GVariant *reply;
  int timeout = -1;

  /* Only a person at a terminal can answer polkit's question; without one, the daemon
   * refuses at once instead of waiting for an agent that is not there. */
  if (cli->interactive)
    {
      flags |= G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION;
      timeout = 5 * 60 * 1000;
    }
  reply = g_dbus_connection_call_with_unix_fd_list_sync (cli->bus, CJ_BUS_NAME, path, interface, method,
                                                         parameters,
                                                         reply_type != NULL ? G_VARIANT_TYPE (reply_type) : NULL,
                                                         flags, timeout, fd_list, NULL, NULL, error);
  if (reply == NULL)
    map_remote_error (error);
  return reply;
}

GVariant *
cli_get_all (Cli *cli, const char *path, const char *interface, GError **error)
{
  g_autoptr(GVariant) reply = g_dbus_connection_call_sync (cli->bus, CJ_BUS_NAME, path,
                                                           "org.freedesktop.DBus.Properties", "GetAll",
                                                           g_variant_new ("(s)", interface),
                                                           G_VARIANT_TYPE ("(a{sv})"),
                                                           G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
  if (reply == NULL)
    {
      map_remote_error (error);
      return NULL;
    }
  return g_variant_get_child_value (reply, 0);
}

int
cli_fail (const GError *error)
{
  g_printerr ("%s: %s\n", cli_program (), error->message);
  if (error->domain == G_IO_ERROR && error->code == G_IO_ERROR_NOT_FOUND)
    return CLI_EXIT_NO_SERVICE;
  if (error->domain != CJ_ERROR)
    return CLI_EXIT_FAILED;
  switch (error->code)
    {
    case CJ_ERROR_PERMISSION_DENIED:      return CLI_EXIT_PERMISSION;
    case CJ_ERROR_NOT_FOUND:              return CLI_EXIT_NOT_FOUND;
    case CJ_ERROR_ALREADY_EXISTS:         return CLI_EXIT_EXISTS;
    case CJ_ERROR_INVALID_ARGUMENT:       return CLI_EXIT_INVALID;
    case CJ_ERROR_NOT_CONFIGURED:         return CLI_EXIT_NOT_CONFIGURED;
    case CJ_ERROR_DIRECTORY_UNAVAILABLE:  return CLI_EXIT_UNAVAILABLE;
    default:                              return CLI_EXIT_FAILED;
    }
}

int
cli_usage_error (const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("%s: %s\n", cli_program (), message);
  g_printerr (_("Try “%s --help” for more information.\n"), cli_program ());
  return CLI_EXIT_USAGE;
}

GVariant *
cli_managed_objects (Cli *cli, GError **error)
{
  /* One call for everything: listing 100,000 users is one round trip, not 100,000. */
  g_autoptr(GVariant) reply = g_dbus_connection_call_sync (cli->bus, CJ_BUS_NAME, CJ_MANAGER_PATH,
                                                           "org.freedesktop.DBus.ObjectManager",
                                                           "GetManagedObjects", NULL,
                                                           G_VARIANT_TYPE ("(a{oa{sa{sv}}})"),
                                                           G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
  if (reply == NULL)
    {
      map_remote_error (error);
      return NULL;
    }
  return g_variant_get_child_value (reply, 0);
}
