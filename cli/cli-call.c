/* Connecting to the daemon, calling it, and turning its errors into messages and exit
 * codes. */
#include "config.h"
#include "cli.h"

#include <glib/gi18n.h>
#include <stdio.h>

static char *program_name;
static gboolean json_errors;

void
cli_set_json_errors (gboolean json)
{
  json_errors = json;
}

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

/* Connected at the first call, so that a command with bad arguments fails on them
 * whether or not the bus is there. The polkit agent comes first: polkitd looks for one
 * when this process's first call arrives. */
static GDBusConnection *
bus (Cli *cli, GError **error)
{
  g_autoptr(GError) local_error = NULL;

  if (cli->bus != NULL)
    return cli->bus;
  cli_agent_start (cli);
  cli->bus = g_bus_get_sync (G_BUS_TYPE_SYSTEM, NULL, &local_error);
  if (cli->bus == NULL)
    g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, _("cannot connect to the system bus: %s"),
                 local_error->message);
  return cli->bus;
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
      g_autofree char *translated = NULL;

      g_dbus_error_strip_remote_error (*error);
      /* The daemon speaks the catalog's English: say it in the caller's language. */
      translated = cli_translate_remote ((*error)->message);
      g_free ((*error)->message);
      (*error)->message = g_steal_pointer (&translated);
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
  /* A setup restarts ejabberd and may wait for it up to a minute: more than GDBus's 25 s. */
  int timeout = 2 * 60 * 1000;

  /* Only a person at a terminal can answer polkit's question; without one, the daemon
   * refuses at once instead of waiting for an agent that is not there. */
  if (cli->interactive)
    {
      flags |= G_DBUS_CALL_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION;
      timeout = 5 * 60 * 1000;
    }
  if (bus (cli, error) == NULL)
    {
      if (parameters != NULL)
        g_variant_unref (g_variant_ref_sink (parameters));
      return NULL;
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
  g_autoptr(GVariant) reply = NULL;

  if (bus (cli, error) == NULL)
    return NULL;
  reply = g_dbus_connection_call_sync (cli->bus, CJ_BUS_NAME, path,
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

static int
exit_code (const GError *error)
{
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
    case CJ_ERROR_OUTCOME_UNKNOWN:        return CLI_EXIT_OUTCOME_UNKNOWN;
    default:                              return CLI_EXIT_FAILED;
    }
}

/* With --json, one line on standard error that a script can read whatever the language:
 * {"error": D-Bus error name, "message": text, "exit": status}. */
static void
print_json_error (const char *name, const char *message, int status)
{
  g_autoptr(GString) out = g_string_new ("{\"error\":");

  cli_json_string (out, name);
  g_string_append (out, ",\"message\":");
  cli_json_string (out, message);
  g_string_append_printf (out, ",\"exit\":%d}", status);
  g_printerr ("%s\n", out->str);
}

int
cli_fail (const GError *error)
{
  int status = exit_code (error);

  if (!json_errors)
    g_printerr ("%s: %s\n", cli_program (), error->message);
  else if (status == CLI_EXIT_NO_SERVICE)
    print_json_error ("org.freedesktop.DBus.Error.ServiceUnknown", error->message, status);
  else
    print_json_error (error->domain == CJ_ERROR ? cj_error_dbus_name (error->code)
                                                : "org.calculate.Jabber.Error.Failed",
                      error->message, status);
  return status;
}

int
cli_usage_error (const char *format, ...)
{
  va_list args;
  g_autofree char *message = NULL;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  if (json_errors)
    {
      print_json_error ("Usage", message, CLI_EXIT_USAGE);
      return CLI_EXIT_USAGE;
    }
  g_printerr ("%s: %s\n", cli_program (), message);
  g_printerr (_("Try “%s --help” for more information.\n"), cli_program ());
  return CLI_EXIT_USAGE;
}

/* Paged: GetManagedObjects would be one reply for everything, refused (LimitsExceeded) when
 * there are too many users for one D-Bus message. 5000 users are about 1 MiB. Up to
 * WINDOW pages are asked for at once, so that the daemon builds the next page while the
 * bus carries one and we read another (on 2 cores that halves a 100,000-user listing). */
#define PAGE_SIZE 5000
#define WINDOW    4
/* GetUserTable's rows are ~200 bytes: pages of 4096 are ~0.8 MiB, so that the WINDOW pages
 * in flight cost the daemon little memory; a page costs ~1 ms to make. */
#define TABLE_PAGE_SIZE 4096

/* CJ_CLI_PAGE_SIZE (for the tests: many pages out of a few users). */
static guint
page_size_for (const char *method)
{
  const char *text = g_getenv ("CJ_CLI_PAGE_SIZE");
  guint64 value = text != NULL ? g_ascii_strtoull (text, NULL, 10) : 0;
  guint size = g_str_equal (method, "GetUserTable") ? TABLE_PAGE_SIZE : PAGE_SIZE;

  return value > 0 && value <= size ? (guint) value : size;
}

/* The rows in a page: a GetUserTable page is bytes (cj-user-table.h), the others arrays.
 * A malformed table counts as empty here; the caller's walk reports it. */
static guint
page_rows (GVariant *page)
{
  CjUserTableIter iter;
  gsize size;
  const guint8 *data;

  if (!g_variant_is_of_type (page, G_VARIANT_TYPE_BYTESTRING))
    return (guint) g_variant_n_children (page);
  data = g_variant_get_fixed_array (page, &size, 1);
  if (!cj_user_table_iter_init (&iter, data, size, NULL))
    return 0;
  return (guint) iter.n_rows;
}

typedef struct {
  Cli        *cli;
  const char *method;
  const char *reply_type;
  guint       page_size;
  GPtrArray  *pages;      /* by request: GVariant array, NULL until answered */
  guint      *offsets;    /* where each request started */
  guint       requests;
  guint       next;       /* next request to send */
  guint       pending;
  guint       total;
  GError     *error;
} Pager;

typedef struct {
  Pager *pager;
  guint  index;
} Request;

static void send_page (Pager *pager);

static void
on_page (GObject *source, GAsyncResult *result, gpointer data)
{
  g_autofree Request *request = data;
  Pager *pager = request->pager;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result,
                                                             pager->error == NULL ? &pager->error : NULL);

  pager->pending--;
  if (reply != NULL)
    g_variant_get (reply, "(@*u)", &pager->pages->pdata[request->index], &pager->total);
  send_page (pager);
}

static void
send_page (Pager *pager)
{
  while (pager->error == NULL && pager->next < pager->requests && pager->pending < WINDOW)
    {
      Request *request = g_new0 (Request, 1);

      request->pager = pager;
      request->index = pager->next++;
      pager->pending++;
      g_dbus_connection_call (pager->cli->bus, CJ_BUS_NAME, CJ_MANAGER_PATH, CJ_IFACE_MANAGER,
                              pager->method,
                              g_variant_new ("(uu)", pager->offsets[request->index], pager->page_size),
                              G_VARIANT_TYPE (pager->reply_type), G_DBUS_CALL_FLAGS_NONE, -1, NULL,
                              on_page, request);
    }
}

static GVariant *
call_page (Cli *cli, const char *method, const char *reply_type, guint offset, guint *total,
           GError **error)
{
  GVariant *page = NULL;
  g_autoptr(GVariant) reply = NULL;

  if (bus (cli, error) == NULL)
    return NULL;
  reply = g_dbus_connection_call_sync (cli->bus, CJ_BUS_NAME, CJ_MANAGER_PATH,
                                                           CJ_IFACE_MANAGER, method,
                                                           g_variant_new ("(uu)", offset,
                                                                          page_size_for (method)),
                                                           G_VARIANT_TYPE (reply_type),
                                                           G_DBUS_CALL_FLAGS_NONE, -1, NULL, error);
  if (reply == NULL)
    {
      map_remote_error (error);
      return NULL;
    }
  g_variant_get (reply, "(@*u)", &page, total);
  return page;
}

GPtrArray *
cli_pages (Cli *cli, const char *method, const char *array_type, GError **error)
{
  g_autoptr(GPtrArray) pages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_autofree char *reply_type = g_strdup_printf ("(%su)", array_type);
  g_autoptr(GMainContext) context = g_main_context_new ();
  Pager pager = { cli, method, reply_type, page_size_for (method), NULL, NULL, 0, 0, 0, 0, NULL };
  guint offset, total;
  GVariant *first = call_page (cli, method, reply_type, 0, &total, error);

  if (first == NULL)
    return NULL;
  g_ptr_array_add (pages, first);
  offset = page_rows (first);
  if (offset == 0 || offset >= total)
    return g_steal_pointer (&pages);

  /* The rest at once, as if every page were full. */
  pager.requests = (total - offset + pager.page_size - 1) / pager.page_size;
  pager.pages = g_ptr_array_new_full (pager.requests, NULL);
  g_ptr_array_set_size (pager.pages, pager.requests);
  pager.offsets = g_new (guint, pager.requests);
  for (guint i = 0; i < pager.requests; i++)
    pager.offsets[i] = offset + i * pager.page_size;
  g_main_context_push_thread_default (context);
  send_page (&pager);
  while (pager.pending > 0)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);

  /* A page shorter than asked for (the daemon keeps replies small, or the list changed)
   * leaves a gap before the next: read it one page at a time. */
  for (guint i = 0; pager.error == NULL && i < pager.requests; i++)
    {
      GVariant *page = pager.pages->pdata[i];
      guint end;

      if (page == NULL)
        break;
      end = i + 1 < pager.requests ? pager.offsets[i + 1] : total;

      offset = pager.offsets[i] + page_rows (page);
      g_ptr_array_add (pages, page);
      pager.pages->pdata[i] = NULL;
      while (offset < end && pager.error == NULL)
        {
          guint now_total;
          GVariant *gap = call_page (cli, method, reply_type, offset, &now_total, &pager.error);

          if (gap == NULL)
            break;
          g_ptr_array_add (pages, gap);
          if (page_rows (gap) == 0)
            break;
          offset += page_rows (gap);
        }
    }
  for (guint i = 0; i < pager.requests; i++)
    g_clear_pointer (&pager.pages->pdata[i], g_variant_unref);
  g_ptr_array_unref (pager.pages);
  g_free (pager.offsets);
  if (pager.error != NULL)
    {
      g_propagate_error (error, pager.error);
      map_remote_error (error);
      return NULL;
    }
  return g_steal_pointer (&pages);
}

gboolean
cli_user_table_next (CliUserTable *table, CjUserRow *row, GError **error)
{
  for (;;)
    {
      GError *local = NULL;
      gsize size;
      const guint8 *data;

      if (cj_user_table_iter_next (&table->iter, row, &local))
        return TRUE;
      if (local != NULL)
        {
          g_propagate_error (error, local);
          return FALSE;
        }
      if (table->page >= table->pages->len)
        return FALSE;
      data = g_variant_get_fixed_array (table->pages->pdata[table->page++], &size, 1);
      if (!cj_user_table_iter_init (&table->iter, data, size, error))
        return FALSE;
    }
}

GHashTable *
cli_names_by_path (GPtrArray *pages)
{
  GHashTable *names = g_hash_table_new (g_str_hash, g_str_equal);

  /* GetUsers', GetUserTable's and GetGroups' rows all begin (path, name, ...). The strings
   * point into the pages, which the caller keeps. */
  for (guint i = 0; i < pages->len; i++)
    {
      GVariantIter iter;
      GVariant *row;

      if (g_variant_is_of_type (pages->pdata[i], G_VARIANT_TYPE_BYTESTRING))
        {
          CjUserTableIter table;
          CjUserRow user;
          gsize size;
          const guint8 *data = g_variant_get_fixed_array (pages->pdata[i], &size, 1);

          /* A malformed page names nobody: its members show as their paths. */
          if (cj_user_table_iter_init (&table, data, size, NULL))
            while (cj_user_table_iter_next (&table, &user, NULL))
              g_hash_table_insert (names, (gpointer) user.path, (gpointer) user.name);
          continue;
        }
      g_variant_iter_init (&iter, pages->pdata[i]);
      while ((row = g_variant_iter_next_value (&iter)) != NULL)
        {
          const char *path, *name;

          g_variant_get_child (row, 0, "&o", &path);
          g_variant_get_child (row, 1, "&s", &name);
          g_hash_table_insert (names, (gpointer) path, (gpointer) name);
          g_variant_unref (row);
        }
    }
  return names;
}
