/* Group operations of the CLI. */
#include "config.h"
#include "cli.h"

#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>

char **
cli_split_list (const char *list)
{
  g_auto(GStrv) parts = g_strsplit (list, ",", -1);
  GPtrArray *result = g_ptr_array_new ();

  for (char **p = parts; *p != NULL; p++)
    {
      g_strstrip (*p);
      if (**p != '\0')
        g_ptr_array_add (result, g_strdup (*p));
    }
  g_ptr_array_add (result, NULL);
  return (char **) g_ptr_array_free (result, FALSE);
}

/* Resolves user names to paths, naming every unknown one (then nothing is changed). */
static GVariant *
user_paths (Cli *cli, char **users, GError **error)
{
  GVariantBuilder paths;
  g_autoptr(GPtrArray) missing = g_ptr_array_new ();

  g_variant_builder_init (&paths, G_VARIANT_TYPE ("ao"));
  for (char **u = users; u != NULL && *u != NULL; u++)
    {
      g_autoptr(GError) local_error = NULL;
      g_autofree char *path = cli_find_user (cli, *u, &local_error);

      if (path != NULL)
        g_variant_builder_add (&paths, "o", path);
      else if (g_error_matches (local_error, CJ_ERROR, CJ_ERROR_NOT_FOUND))
        g_ptr_array_add (missing, *u);
      else
        {
          g_variant_builder_clear (&paths);
          g_propagate_error (error, g_steal_pointer (&local_error));
          return NULL;
        }
    }
  if (missing->len > 0)
    {
      g_autofree char *list = NULL;

      g_variant_builder_clear (&paths);
      g_ptr_array_add (missing, NULL);
      list = g_strjoinv (", ", (char **) missing->pdata);
      g_set_error (error, CJ_ERROR, CJ_ERROR_NOT_FOUND,
                   g_dngettext (GETTEXT_PACKAGE, "No such user: %s", "No such users: %s", missing->len - 1),
                   list);
      return NULL;
    }
  return g_variant_builder_end (&paths);
}

/* Made safe for a terminal: another LDAP writer may have put anything in a name. */
static char *
group_name (Cli *cli, const char *path)
{
  g_autoptr(GVariant) props = cli_get_all (cli, path, CJ_IFACE_GROUP, NULL);
  const char *name = NULL;

  if (props == NULL || !g_variant_lookup (props, "Name", "&s", &name))
    return g_strdup (path);
  return cli_text_safe (name);
}

int
cli_group_add (Cli *cli, const char *name, char **members)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  GVariantBuilder options;

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  if (members != NULL && members[0] != NULL)
    {
      GVariant *paths = user_paths (cli, members, &error);
      if (paths == NULL)
        {
          g_variant_builder_clear (&options);
          return cli_fail (error);
        }
      g_variant_builder_add (&options, "{sv}", CJ_OPT_MEMBERS, paths);
    }
  reply = cli_call (cli, CJ_MANAGER_PATH, CJ_IFACE_MANAGER, "AddGroup",
                    g_variant_new ("(sa{sv})", name, &options), "(o)", NULL, &error);
  if (reply == NULL)
    return cli_fail (error);
  g_print (_("Group “%s” added\n"), name);
  return CLI_EXIT_OK;
}

static int
call_group (Cli *cli, const char *name, const char *method, GVariant *parameters,
            const char *reply_type, GVariant **reply)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = cli_find_group (cli, name, &error);
  GVariant *result;

  if (path == NULL)
    {
      if (parameters != NULL)
        g_variant_unref (g_variant_ref_sink (parameters));
      return cli_fail (error);
    }
  result = cli_call (cli, path, CJ_IFACE_GROUP, method, parameters, reply_type, NULL, &error);
  if (result == NULL)
    return cli_fail (error);
  if (reply != NULL)
    *reply = result;
  else
    g_variant_unref (result);
  return CLI_EXIT_OK;
}

int
cli_group_delete (Cli *cli, const char *name)
{
  int status = call_group (cli, name, "Delete", NULL, NULL, NULL);

  if (status == CLI_EXIT_OK)
    g_print (_("Group “%s” deleted; its members are now without a group\n"), name);
  return status;
}

int
cli_group_rename (Cli *cli, const char *old_name, const char *new_name)
{
  int status = call_group (cli, old_name, "Rename", g_variant_new ("(s)", new_name), NULL, NULL);

  if (status == CLI_EXIT_OK)
    g_print (_("Group “%s” renamed to “%s”\n"), old_name, new_name);
  return status;
}

static void
print_moved (Cli *cli, GVariant *reply, const char *group)
{
  GVariantIter *moved;
  const char *user_path, *from_path;

  g_variant_get (reply, "(a(oo))", &moved);
  while (g_variant_iter_next (moved, "(&o&o)", &user_path, &from_path))
    {
      g_autoptr(GVariant) props = cli_get_all (cli, user_path, CJ_IFACE_USER, NULL);
      g_autofree char *from = group_name (cli, from_path);
      const char *user = user_path;

      g_autofree char *safe_user = NULL;

      if (props != NULL)
        g_variant_lookup (props, "Name", "&s", &user);
      safe_user = cli_text_safe (user);
      g_print (_("%s moved from group “%s” to “%s”\n"), safe_user, from, group);
    }
  g_variant_iter_free (moved);
}

int
cli_group_add_members (Cli *cli, const char *group, char **users)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  GVariant *paths = user_paths (cli, users, &error);
  int status;

  if (paths == NULL)
    return cli_fail (error);
  status = call_group (cli, group, "AddMembers", g_variant_new ("(@ao)", paths), "(a(oo))", &reply);
  if (status != CLI_EXIT_OK)
    return status;
  print_moved (cli, reply, group);
  {
    g_autofree char *list = g_strjoinv (", ", users);
    g_print (_("Group “%s”: added %s\n"), group, list);
  }
  return CLI_EXIT_OK;
}

/* cl-groupmod: every change of the command in one Group.Modify call (one authorization). */
int
cli_group_modify (Cli *cli, const char *group, char **add, char **remove, const char *new_name)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  GVariantBuilder changes;
  GVariant *paths;

  g_variant_builder_init (&changes, G_VARIANT_TYPE_VARDICT);
  if (add != NULL && add[0] != NULL)
    {
      if ((paths = user_paths (cli, add, &error)) == NULL)
        {
          g_variant_builder_clear (&changes);
          return cli_fail (error);
        }
      g_variant_builder_add (&changes, "{sv}", CJ_OPT_ADD_MEMBERS, paths);
    }
  if (remove != NULL && remove[0] != NULL)
    {
      if ((paths = user_paths (cli, remove, &error)) == NULL)
        {
          g_variant_builder_clear (&changes);
          return cli_fail (error);
        }
      g_variant_builder_add (&changes, "{sv}", CJ_OPT_REMOVE_MEMBERS, paths);
    }
  if (new_name != NULL)
    g_variant_builder_add (&changes, "{sv}", CJ_OPT_NAME, g_variant_new_string (new_name));
  {
    int status = call_group (cli, group, "Modify", g_variant_new ("(a{sv})", &changes), "(a(oo))", &reply);
    if (status != CLI_EXIT_OK)
      return status;
  }
  print_moved (cli, reply, group);
  if (add != NULL && add[0] != NULL)
    {
      g_autofree char *list = g_strjoinv (", ", add);
      g_print (_("Group “%s”: added %s\n"), group, list);
    }
  if (remove != NULL && remove[0] != NULL)
    {
      g_autofree char *list = g_strjoinv (", ", remove);
      g_print (_("Group “%s”: removed %s\n"), group, list);
    }
  if (new_name != NULL)
    g_print (_("Group “%s” renamed to “%s”\n"), group, new_name);
  return CLI_EXIT_OK;
}

int
cli_group_remove_members (Cli *cli, const char *group, char **users)
{
  g_autoptr(GError) error = NULL;
  GVariant *paths = user_paths (cli, users, &error);
  int status;

  if (paths == NULL)
    return cli_fail (error);
  status = call_group (cli, group, "RemoveMembers", g_variant_new ("(@ao)", paths), NULL, NULL);
  if (status == CLI_EXIT_OK)
    {
      g_autofree char *list = g_strjoinv (", ", users);
      g_print (_("Group “%s”: removed %s\n"), group, list);
    }
  return status;
}

/* Member paths to names, from the GetUserTable pages. */
static char *
member_names (GVariant *members, GHashTable *user_names, const char *separator, gboolean json)
{
  GString *out = g_string_new (NULL);
  GVariantIter iter;
  const char *path;
  gboolean first = TRUE;

  g_variant_iter_init (&iter, members);
  while (g_variant_iter_next (&iter, "&o", &path))
    {
      const char *user = g_hash_table_lookup (user_names, path);

      if (!first)
        g_string_append (out, separator);
      first = FALSE;
      if (json)
        cli_json_string (out, user != NULL ? user : path);
      else
        g_string_append (out, user != NULL ? user : path);
    }
  return g_string_free (out, FALSE);
}

static void
print_group_json (GString *out, const char *name, GVariant *members, GHashTable *user_names,
                  gboolean first)
{
  g_autofree char *list = member_names (members, user_names, ",", TRUE);

  if (!first)
    g_string_append_c (out, ',');
  g_string_append (out, "{\"name\":");
  cli_json_string (out, name);
  g_string_append_printf (out, ",\"members\":[%s]}", list);
}

static void
add_group_row (Cli *cli, CliTable *table, const char *name, GVariant *members, GHashTable *user_names)
{
  g_autofree char *list = member_names (members, user_names, cli->no_legend ? "," : ", ", FALSE);
  g_autofree char *count = g_strdup_printf ("%" G_GSIZE_FORMAT, g_variant_n_children (members));
  const char *cells[] = { name, count, list };

  cli_table_add (table, cells);
}

static void
show_group (const char *name, GVariant *members, GHashTable *user_names)
{
  g_autofree char *list = member_names (members, user_names, ", ", FALSE);
  g_autofree char *count = g_strdup_printf ("%" G_GSIZE_FORMAT, g_variant_n_children (members));
  const char *labels[] = { _("Name:"), _("Users:"), _("Members:") };
  const char *values[] = { name, count, *list != '\0' ? list : _("(none)") };

  cli_print_fields (labels, values, G_N_ELEMENTS (labels));
}

/* Page by page (Manager.GetGroups, GetUserTable), sorted by name by the daemon. */
static int
list_groups (Cli *cli, const char *only)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) groups = cli_pages (cli, "GetGroups", "a(osao)", &error);
  /* Only the users' names are needed: the rows as bytes, walked in place. */
  g_autoptr(GPtrArray) users = groups != NULL ? cli_pages (cli, "GetUserTable", "ay", &error) : NULL;
  g_autoptr(GHashTable) user_names = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(CliTable) table = cli_table_new (3);
  const char *header[] = {
    /* Translators: the headers of `cl-jabber group list`. */
    C_("column", "GROUP"), C_("column", "USERS"), C_("column", "MEMBERS"),
  };
  guint shown = 0;

  if (users == NULL)
    return cli_fail (error);
  user_names = cli_names_by_path (users);
  if (cli->json && only == NULL)
    g_string_append_c (out, '[');
  for (guint p = 0; p < groups->len; p++)
    {
      GVariantIter iter;
      const char *name;
      GVariant *members;

      g_variant_iter_init (&iter, groups->pdata[p]);
      while (g_variant_iter_next (&iter, "(&o&s@ao)", NULL, &name, &members))
        {
          if (only == NULL || strcmp (name, only) == 0)
            {
              if (cli->json)
                print_group_json (out, name, members, user_names, shown == 0);
              else if (only != NULL)
                show_group (name, members, user_names);
              else
                add_group_row (cli, table, name, members, user_names);
              shown++;
            }
          g_variant_unref (members);
        }
    }
  if (only != NULL && shown == 0)
    {
      g_autoptr(GError) missing = g_error_new (CJ_ERROR, CJ_ERROR_NOT_FOUND, _("No group named “%s”"), only);
      return cli_fail (missing);
    }
  if (!cli->json)
    {
      if (only == NULL)
        cli_table_print (table, cli->no_legend ? NULL : header, cli->no_legend);
      return CLI_EXIT_OK;
    }
  if (only == NULL)
    g_string_append_c (out, ']');
  g_string_append_c (out, '\n');
  fwrite (out->str, 1, out->len, stdout);
  return CLI_EXIT_OK;
}

int
cli_group_list (Cli *cli)
{
  return list_groups (cli, NULL);
}

int
cli_group_show (Cli *cli, const char *name)
{
  return list_groups (cli, name);
}
