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

/* Paged: GetManagedObjects would be one reply for everything, refused (LimitsExceeded) when
 * there are too many users for one D-Bus message. 5000 users are about 1 MiB. */
#define PAGE_SIZE 5000

GPtrArray *
cli_pages (Cli *cli, const char *method, const char *array_type, GError **error)
{
  g_autoptr(GPtrArray) pages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_autofree char *reply_type = g_strdup_printf ("(%su)", array_type);
  guint offset = 0;
  guint total;

  do
    {
      GVariant *page = NULL;
      g_autoptr(GVariant) reply = g_dbus_connection_call_sync (cli->bus, CJ_BUS_NAME, CJ_MANAGER_PATH,
                                                               CJ_IFACE_MANAGER, method,
                                                               g_variant_new ("(uu)", offset, PAGE_SIZE),
                                                               G_VARIANT_TYPE (reply_type),
                                                               G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
      if (reply == NULL)
        {
          map_remote_error (error);
          return NULL;
        }
      g_variant_get (reply, "(@*u)", &page, &total);
      g_ptr_array_add (pages, page);
      /* An empty page ends it too: the list shrank while we read. */
      if (g_variant_n_children (page) == 0)
        break;
      offset += (guint) g_variant_n_children (page);
    }
  while (offset < total);
  return g_steal_pointer (&pages);
}

GHashTable *
cli_user_names (GPtrArray *user_pages)
{
  GHashTable *names = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < user_pages->len; i++)
    {
      GVariantIter iter;
      const char *path, *name;

      g_variant_iter_init (&iter, user_pages->pdata[i]);
      while (g_variant_iter_next (&iter, "(&o&s&s&sbbb&o)", &path, &name, NULL, NULL, NULL, NULL, NULL, NULL))
        g_hash_table_insert (names, (gpointer) path, (gpointer) name);
    }
  return names;
}
