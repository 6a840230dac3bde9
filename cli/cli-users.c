/* User operations of the CLI. */
#include "config.h"
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char *
find (Cli *cli, const char *method, const char *name, GError **error)
{
  g_autoptr(GVariant) reply = cli_call (cli, CJ_MANAGER_PATH, CJ_IFACE_MANAGER, method,
                                        g_variant_new ("(s)", name), "(o)", NULL, error);
  char *path = NULL;

  if (reply != NULL)
    g_variant_get (reply, "(o)", &path);
  return path;
}

char *
cli_find_user (Cli *cli, const char *name, GError **error)
{
  return find (cli, "FindUserByName", name, error);
}

char *
cli_find_group (Cli *cli, const char *name, GError **error)
{
  return find (cli, "FindGroupByName", name, error);
}

/* The image is opened here, with the caller's rights; the daemon gets the descriptor. */
static GUnixFDList *
open_photo (const char *file, GError **error)
{
  g_autoptr(GUnixFDList) list = g_unix_fd_list_new ();
  int fd = g_open (file, O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);

  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT, _("Cannot open %s: %s"), file,
                   g_strerror (saved));
      return NULL;
    }
  if (g_unix_fd_list_append (list, fd, error) < 0)
    {
      close (fd);
      return NULL;
    }
  close (fd);
  return g_steal_pointer (&list);
}

/* Made safe for a terminal: another LDAP writer may have put anything there. */
static char *
get_string_property (Cli *cli, const char *path, const char *interface, const char *property)
{
  g_autoptr(GVariant) props = cli_get_all (cli, path, interface, NULL);
  const char *value = NULL;

  if (props == NULL || !g_variant_lookup (props, property, "&s", &value))
    return g_strdup (path);
  return cli_text_safe (value);
}

int
cli_user_add (Cli *cli, const CliUserChange *change)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GUnixFDList) fds = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autofree char *path = NULL;
  g_autofree char *jid = NULL;
  GVariantBuilder options;

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  if (change->password != NULL)
    g_variant_builder_add (&options, "{sv}", CJ_OPT_PASSWORD, g_variant_new_string (change->password));
  if (change->group != NULL && *change->group != '\0')
    {
      g_autofree char *group = cli_find_group (cli, change->group, &error);
      if (group == NULL)
        {
          g_variant_builder_clear (&options);
          return cli_fail (error);
        }
      g_variant_builder_add (&options, "{sv}", CJ_OPT_GROUP, g_variant_new_object_path (group));
    }
  if (change->photo != NULL)
    {
      fds = open_photo (change->photo, &error);
      if (fds == NULL)
        {
          g_variant_builder_clear (&options);
          return cli_fail (error);
        }
      g_variant_builder_add (&options, "{sv}", CJ_OPT_PHOTO, g_variant_new_handle (0));
    }

  reply = cli_call (cli, CJ_MANAGER_PATH, CJ_IFACE_MANAGER, "AddUser",
                    g_variant_new ("(ssa{sv})", change->name,
                                   change->nickname != NULL ? change->nickname : "", &options),
                    "(o)", fds, &error);
  if (reply == NULL)
    return cli_fail (error);
  g_variant_get (reply, "(o)", &path);
  jid = get_string_property (cli, path, CJ_IFACE_USER, "Jid");
  g_print (_("User %s added\n"), jid);
  return CLI_EXIT_OK;
}

static gboolean
call_user (Cli *cli, const char *path, const char *method, GVariant *parameters,
           const char *reply_type, GUnixFDList *fds, GVariant **reply, GError **error)
{
  GVariant *result = cli_call (cli, path, CJ_IFACE_USER, method, parameters, reply_type, fds, error);

  if (result == NULL)
    return FALSE;
  if (reply != NULL)
    *reply = result;
  else
    g_variant_unref (result);
  return TRUE;
}

/* What a group change did, from the user's previous group. */
static void
print_group_change (Cli *cli, const CliUserChange *change, const char *group, const char *previous)
{
  if (g_strcmp0 (previous, CJ_NO_OBJECT) != 0 && g_strcmp0 (previous, group) != 0)
    {
      g_autofree char *name = get_string_property (cli, previous, CJ_IFACE_GROUP, "Name");
      if (group != NULL)
        g_print (_("%s moved from group “%s” to “%s”\n"), change->name, name, change->group);
      else
        g_print (_("%s removed from group “%s”\n"), change->name, name);
    }
  else if (group != NULL && g_strcmp0 (previous, group) != 0)
    g_print (_("%s added to group “%s”\n"), change->name, change->group);
}

/* Every change of one command in one User.Modify call: one authorization. */
int
cli_user_modify (Cli *cli, const CliUserChange *change)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = cli_find_user (cli, change->name, &error);
  g_autofree char *group = NULL;
  g_autoptr(GUnixFDList) fds = NULL;
  g_autoptr(GVariant) reply = NULL;
  const char *previous = NULL;
  GVariantBuilder changes;

  if (path == NULL)
    return cli_fail (error);
  if (change->group != NULL && *change->group != '\0' &&
      (group = cli_find_group (cli, change->group, &error)) == NULL)
    return cli_fail (error);
  if (change->photo != NULL && (fds = open_photo (change->photo, &error)) == NULL)
    return cli_fail (error);

  g_variant_builder_init (&changes, G_VARIANT_TYPE_VARDICT);
  if (change->nickname != NULL)
    g_variant_builder_add (&changes, "{sv}", CJ_OPT_NICKNAME, g_variant_new_string (change->nickname));
  if (change->password != NULL)
    g_variant_builder_add (&changes, "{sv}", CJ_OPT_PASSWORD, g_variant_new_string (change->password));
  if (change->lock >= 0)
    g_variant_builder_add (&changes, "{sv}", CJ_OPT_LOCKED, g_variant_new_boolean (change->lock == 1));
  if (change->group != NULL)
    g_variant_builder_add (&changes, "{sv}", CJ_OPT_GROUP,
                           g_variant_new_object_path (group != NULL ? group : CJ_NO_OBJECT));
  if (fds != NULL)
    g_variant_builder_add (&changes, "{sv}", CJ_OPT_PHOTO, g_variant_new_handle (0));
  if (change->clear_photo)
    g_variant_builder_add (&changes, "{sv}", CJ_OPT_CLEAR_PHOTO, g_variant_new_boolean (TRUE));
  if (!call_user (cli, path, "Modify", g_variant_new ("(a{sv})", &changes), "(o)", fds, &reply, &error))
    return cli_fail (error);
  g_variant_get (reply, "(&o)", &previous);

  /* The same style for every change: one line each. */
  if (change->nickname != NULL)
    g_print (_("Nickname of %s set to “%s”\n"), change->name, change->nickname);
  if (change->password != NULL)
    g_print (_("Password of %s changed\n"), change->name);
  if (change->lock >= 0)
    g_print (change->lock == 1 ? _("User %s locked\n") : _("User %s unlocked\n"), change->name);
  if (change->group != NULL)
    print_group_change (cli, change, group, previous);
  if (change->photo != NULL)
    g_print (_("Photo of %s set\n"), change->name);
  if (change->clear_photo)
    g_print (_("Photo of %s removed\n"), change->name);
  return CLI_EXIT_OK;
}

int
cli_user_passwd (Cli *cli, const char *name, gboolean from_stdin)
{
  g_autoptr(GError) error = NULL;
  CliUserChange change = { .name = name, .lock = -1 };
  int status;

  change.password = from_stdin ? cli_password_stdin (&error) : cli_password_auto (TRUE, &error);
  if (change.password == NULL)
    return cli_fail (error);
  status = cli_user_modify (cli, &change);
  cli_password_free (change.password);
  return status;
}

int
cli_user_delete (Cli *cli, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = cli_find_user (cli, name, &error);

  if (path == NULL || !call_user (cli, path, "Delete", NULL, NULL, NULL, NULL, &error))
    return cli_fail (error);
  g_print (_("User %s deleted\n"), name);
  return CLI_EXIT_OK;
}

/* Listing and showing ---------------------------------------------------------------- */

static const char *
lookup_s (GVariant *props, const char *key)
{
  const char *value = "";

  g_variant_lookup (props, key, "&s", &value);
  if (value == NULL)
    value = "";
  return value;
}

static gboolean
lookup_b (GVariant *props, const char *key)
{
  gboolean value = FALSE;

  g_variant_lookup (props, key, "b", &value);
  return value;
}

/* One user as listed or shown. */
typedef struct {
  const char *name, *jid, *nickname;
  gboolean    locked, has_password, has_photo;
  const char *group;   /* its name, NULL for none */
} Row;

static void
print_user_json (GString *out, const Row *row)
{
  g_string_append (out, "{\"name\":");
  cli_json_string (out, row->name);
  g_string_append (out, ",\"jid\":");
  cli_json_string (out, row->jid);
  g_string_append (out, ",\"nickname\":");
  cli_json_string (out, row->nickname);
  g_string_append (out, row->locked ? ",\"locked\":true" : ",\"locked\":false");
  g_string_append (out, row->has_password ? ",\"has_password\":true" : ",\"has_password\":false");
  g_string_append (out, row->has_photo ? ",\"has_photo\":true,\"group\":" : ",\"has_photo\":false,\"group\":");
  if (row->group != NULL)
    cli_json_string (out, row->group);
  else
    g_string_append (out, "null");
  g_string_append_c (out, '}');
}

/* The words of the yes/no columns, translated once for a whole listing. */
typedef struct {
  const char *yes, *no, *set, *none;
} Words;

/* A row for people (kept to align the table) or for scripts (--no-legend: streamed). */
static void
add_user_row (CliTable *table, GString *out, const Row *row, const Words *words)
{
  const char *cells[] = {
    row->name, row->jid, row->nickname, row->group != NULL ? row->group : "-",
    row->locked ? words->yes : words->no, row->has_password ? words->set : words->none,
    row->has_photo ? words->yes : words->no,
  };

  if (table != NULL)
    cli_table_add (table, cells);
  else
    cli_table_append_tabs (out, cells, G_N_ELEMENTS (cells));
}

/* Page by page (Manager.GetUserTable), already sorted by name: the daemon never has to
 * build one reply for 100,000 users, and the rows are walked where they arrived (bytes,
 * cj-user-table.h), with no GVariant per row or field. */
int
cli_user_list (Cli *cli)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) pages = cli_pages (cli, "GetUserTable", "ay", &error);
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(CliTable) table = NULL;
  const char *header[] = {
    /* Translators: the headers of `cl-jabber user list`, in capitals as in ps or systemctl. */
    C_("column", "NAME"), C_("column", "JID"), C_("column", "NICKNAME"), C_("column", "GROUP"),
    C_("column", "LOCKED"), C_("column", "PASSWORD"), C_("column", "PHOTO"),
  };
  const Words words = { _("yes"), _("no"), _("set"), _("none") };
  CliUserTable rows = { pages, 0, { 0 } };
  CjUserRow user;
  gboolean first = TRUE;

  if (pages == NULL)
    return cli_fail (error);
  if (cli->json)
    g_string_append_c (out, '[');
  else if (!cli->no_legend)
    table = cli_table_new (G_N_ELEMENTS (header));
  while (cli_user_table_next (&rows, &user, &error))
    {
      Row row = { user.name, user.jid, user.nickname, user.locked, user.has_password,
                  user.has_photo,
                  g_strcmp0 (user.group_path, CJ_NO_OBJECT) != 0 ? user.group_name : NULL };

      if (!cli->json)
        add_user_row (table, out, &row, &words);
      else
        {
          if (!first)
            g_string_append_c (out, ',');
          print_user_json (out, &row);
          first = FALSE;
        }
      if (out->len > 65536)
        {
          fwrite (out->str, 1, out->len, stdout);
          g_string_truncate (out, 0);
        }
    }
  if (error != NULL)
    return cli_fail (error);
  if (table != NULL)
    {
      cli_table_print (table, header, FALSE);
      return CLI_EXIT_OK;
    }
  if (cli->json)
    g_string_append (out, "]\n");
  fwrite (out->str, 1, out->len, stdout);
  return CLI_EXIT_OK;
}

int
cli_user_show (Cli *cli, const char *name)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = cli_find_user (cli, name, &error);
  g_autoptr(GVariant) props = NULL;
  g_autofree char *group = NULL;
  const char *group_path = NULL;

  if (path == NULL || (props = cli_get_all (cli, path, CJ_IFACE_USER, &error)) == NULL)
    return cli_fail (error);
  if (g_variant_lookup (props, "Group", "&o", &group_path) && g_strcmp0 (group_path, CJ_NO_OBJECT) != 0)
    group = get_string_property (cli, group_path, CJ_IFACE_GROUP, "Name");

  if (cli->json)
    {
      g_autoptr(GString) out = g_string_new (NULL);
      Row row = { lookup_s (props, "Name"), lookup_s (props, "Jid"), lookup_s (props, "Nickname"),
                  lookup_b (props, "Locked"), lookup_b (props, "HasPassword"),
                  lookup_b (props, "HasPhoto"), group };

      print_user_json (out, &row);
      g_print ("%s\n", out->str);
      return CLI_EXIT_OK;
    }
  {
    const char *labels[] = { _("Name:"), _("JID:"), _("Nickname:"), _("Locked:"), _("Password:"),
                             _("Group:"), _("Photo:") };
    const char *values[] = { lookup_s (props, "Name"), lookup_s (props, "Jid"), lookup_s (props, "Nickname"),
                             lookup_b (props, "Locked") ? _("yes") : _("no"),
                             lookup_b (props, "HasPassword") ? _("set") : _("not set"),
                             group != NULL ? group : _("(none)"),
                             lookup_b (props, "HasPhoto") ? _("yes") : _("no") };

    cli_print_fields (labels, values, G_N_ELEMENTS (labels));
  }
  return CLI_EXIT_OK;
}

int
cli_user_export_photo (Cli *cli, const char *name, const char *file)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = cli_find_user (cli, name, &error);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) bytes = NULL;
  gsize length = 0;
  const guint8 *data;

  if (path == NULL || !call_user (cli, path, "GetPhoto", NULL, "(ay)", NULL, &reply, &error))
    return cli_fail (error);
  bytes = g_variant_get_child_value (reply, 0);
  data = g_variant_get_fixed_array (bytes, &length, 1);
  if (length == 0)
    {
      g_printerr (_("%s: %s has no photo\n"), cli_program (), name);
      return CLI_EXIT_NOT_FOUND;
    }
  if (g_strcmp0 (file, "-") == 0)
    {
      fwrite (data, 1, length, stdout);
      return CLI_EXIT_OK;
    }
  if (!g_file_set_contents (file, (const char *) data, (gssize) length, &error))
    return cli_fail (error);
  return CLI_EXIT_OK;
}
