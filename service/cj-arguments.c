/* The checks of every mutating method's arguments, run by the gate before polkit is asked:
 * see cj-arguments.h. */
#include "config.h"
#include "cj-arguments.h"

#include <gio/gunixfdlist.h>
#include <glib/gi18n.h>
#include <string.h>

#include "cj-common.h"
#include "cj-error.h"
#include "cj-options.h"
#include "cj-validate.h"

static gboolean
invalid (GError **error, const char *message)
{
  g_set_error_literal (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT, message);
  return FALSE;
}

static gboolean
check_path (const char *path, GError **error)
{
  if (strlen (path) > CJ_MAX_PATH_BYTES)
    return invalid (error, _("An object path is too long to be one of this service's objects"));
  return TRUE;
}

static gboolean
check_paths (GVariant *paths, GError **error)
{
  gsize n = g_variant_n_children (paths);

  if (n > CJ_MAX_LIST_ITEMS)
    {
      g_set_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                   _("Too many users in one call (at most %d)"), CJ_MAX_LIST_ITEMS);
      return FALSE;
    }
  for (gsize i = 0; i < n; i++)
    {
      g_autoptr(GVariant) path = g_variant_get_child_value (paths, i);

      if (!check_path (g_variant_get_string (path, NULL), error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
check_handle (gint32 handle, GUnixFDList *fds, const char *what, GError **error)
{
  if (fds == NULL || handle < 0 || handle >= g_unix_fd_list_get_length (fds))
    {
      g_set_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                   _("“%s” does not refer to a file descriptor sent with the call"), what);
      return FALSE;
    }
  return TRUE;
}

/* The keys and types of an option dictionary, and no more entries than the method knows. */
static gboolean
check_options (GVariant *options, const CjOptionSpec *specs, GError **error)
{
  if (g_variant_n_children (options) > CJ_MAX_OPTIONS)
    return invalid (error, _("Too many options"));
  return cj_options_check (options, specs, error);
}

gboolean
cj_arguments_none (GVariant *parameters, GUnixFDList *fds, GError **error)
{
  return TRUE;
}

gboolean
cj_arguments_add_user (GVariant *parameters, GUnixFDList *fds, GError **error)
{
  static const CjOptionSpec specs[] = {
    { CJ_OPT_PASSWORD, "s" }, { CJ_OPT_GROUP, "o" }, { CJ_OPT_PHOTO, "h" }, { NULL, NULL }
  };
  g_autoptr(GVariant) options = NULL;
  const char *name, *nickname, *text;
  gint32 handle;

  g_variant_get (parameters, "(&s&s@a{sv})", &name, &nickname, &options);
  if (!cj_validate_user_name (name, error) || !cj_validate_nickname (nickname, error) ||
      !check_options (options, specs, error))
    return FALSE;
  if (g_variant_lookup (options, CJ_OPT_PASSWORD, "&s", &text) && !cj_validate_password (text, error))
    return FALSE;
  if (g_variant_lookup (options, CJ_OPT_GROUP, "&o", &text) && !check_path (text, error))
    return FALSE;
  if (g_variant_lookup (options, CJ_OPT_PHOTO, "h", &handle) &&
      !check_handle (handle, fds, CJ_OPT_PHOTO, error))
    return FALSE;
  return TRUE;
}

/* User.Modify: any of the single changes (none is a harmless no-op), photo and clear-photo
 * apart. */
gboolean
cj_arguments_modify (GVariant *parameters, GUnixFDList *fds, GError **error)
{
  static const CjOptionSpec specs[] = {
    { CJ_OPT_NICKNAME, "s" }, { CJ_OPT_PASSWORD, "s" }, { CJ_OPT_LOCKED, "b" }, { CJ_OPT_GROUP, "o" },
    { CJ_OPT_PHOTO, "h" }, { CJ_OPT_CLEAR_PHOTO, "b" }, { NULL, NULL }
  };
  g_autoptr(GVariant) options = g_variant_get_child_value (parameters, 0);
  const char *text;
  gint32 handle;
  gboolean clear = FALSE;

  if (!check_options (options, specs, error))
    return FALSE;
  if (g_variant_lookup (options, CJ_OPT_NICKNAME, "&s", &text) && !cj_validate_nickname (text, error))
    return FALSE;
  if (g_variant_lookup (options, CJ_OPT_PASSWORD, "&s", &text) && !cj_validate_password (text, error))
    return FALSE;
  if (g_variant_lookup (options, CJ_OPT_GROUP, "&o", &text) && !check_path (text, error))
    return FALSE;
  g_variant_lookup (options, CJ_OPT_CLEAR_PHOTO, "b", &clear);
  if (g_variant_lookup (options, CJ_OPT_PHOTO, "h", &handle))
    {
      if (clear)
        return invalid (error, _("Either a photo or clear-photo, not both"));
      if (!check_handle (handle, fds, CJ_OPT_PHOTO, error))
        return FALSE;
    }
  return TRUE;
}

/* Group.Modify: a new name, members to add, members to take out (none is a no-op). */
gboolean
cj_arguments_modify_group (GVariant *parameters, GUnixFDList *fds, GError **error)
{
  static const CjOptionSpec specs[] = {
    { CJ_OPT_NAME, "s" }, { CJ_OPT_ADD_MEMBERS, "ao" }, { CJ_OPT_REMOVE_MEMBERS, "ao" }, { NULL, NULL }
  };
  g_autoptr(GVariant) options = g_variant_get_child_value (parameters, 0);
  g_autoptr(GVariant) add = NULL;
  g_autoptr(GVariant) remove = NULL;
  const char *name;

  if (!check_options (options, specs, error))
    return FALSE;
  if (g_variant_lookup (options, CJ_OPT_NAME, "&s", &name) && !cj_validate_group_name (name, error))
    return FALSE;
  add = g_variant_lookup_value (options, CJ_OPT_ADD_MEMBERS, G_VARIANT_TYPE_OBJECT_PATH_ARRAY);
  remove = g_variant_lookup_value (options, CJ_OPT_REMOVE_MEMBERS, G_VARIANT_TYPE_OBJECT_PATH_ARRAY);
  return (add == NULL || check_paths (add, error)) && (remove == NULL || check_paths (remove, error));
}

gboolean
cj_arguments_add_group (GVariant *parameters, GUnixFDList *fds, GError **error)
{
  static const CjOptionSpec specs[] = { { CJ_OPT_MEMBERS, "ao" }, { NULL, NULL } };
  g_autoptr(GVariant) options = NULL;
  g_autoptr(GVariant) members = NULL;
  const char *name;

  g_variant_get (parameters, "(&s@a{sv})", &name, &options);
  if (!cj_validate_group_name (name, error) || !check_options (options, specs, error))
    return FALSE;
  members = g_variant_lookup_value (options, CJ_OPT_MEMBERS, G_VARIANT_TYPE_OBJECT_PATH_ARRAY);
  return members == NULL || check_paths (members, error);
}

gboolean
cj_arguments_setup_ldap (GVariant *parameters, GUnixFDList *fds, GError **error)
{
  static const CjOptionSpec specs[] = { { NULL, NULL } };
  g_autoptr(GVariant) options = g_variant_get_child_value (parameters, 0);

  return check_options (options, specs, error);
}

gboolean
cj_arguments_setup (GVariant *parameters, GUnixFDList *fds, GError **error)
{
  static const CjOptionSpec specs[] = {
    { CJ_OPT_ADMIN_PASSWORD, "s" }, { CJ_OPT_PRIMARY_HOST, "s" }, { CJ_OPT_HOSTS, "as" },
    { CJ_OPT_HISTORY, "b" }, { CJ_OPT_LISTEN, "s" }, { CJ_OPT_CERTIFICATE, "h" }, { NULL, NULL }
  };
  g_autoptr(GVariant) options = g_variant_get_child_value (parameters, 0);
  g_autoptr(GVariant) hosts = NULL;
  const char *text;
  gint32 handle;

  if (!check_options (options, specs, error))
    return FALSE;
  if (g_variant_lookup (options, CJ_OPT_ADMIN_PASSWORD, "&s", &text) && !cj_validate_password (text, error))
    return FALSE;
  if (g_variant_lookup (options, CJ_OPT_PRIMARY_HOST, "&s", &text) && !cj_validate_host (text, error))
    return FALSE;
  if (g_variant_lookup (options, CJ_OPT_LISTEN, "&s", &text) && *text != '\0' &&
      !cj_validate_ip_address (text, error))
    return FALSE;
  if (g_variant_lookup (options, CJ_OPT_CERTIFICATE, "h", &handle) &&
      !check_handle (handle, fds, CJ_OPT_CERTIFICATE, error))
    return FALSE;
  hosts = g_variant_lookup_value (options, CJ_OPT_HOSTS, G_VARIANT_TYPE_STRING_ARRAY);
  if (hosts != NULL)
    {
      gsize n = g_variant_n_children (hosts);

      if (n > CJ_MAX_LIST_ITEMS)
        return invalid (error, _("Too many host names"));
      for (gsize i = 0; i < n; i++)
        {
          g_autoptr(GVariant) host = g_variant_get_child_value (hosts, i);

          if (!cj_validate_host (g_variant_get_string (host, NULL), error))
            return FALSE;
        }
    }
  return TRUE;
}

/* A method whose one argument is a string that @check judges. */
static gboolean
one_string (GVariant *parameters, gboolean (*check) (const char *, GError **), GError **error)
{
  const char *text;

  g_variant_get (parameters, "(&s)", &text);
  return check (text, error);
}

gboolean
cj_arguments_nickname (GVariant *parameters, GUnixFDList *fds, GError **error)
{
  return one_string (parameters, cj_validate_nickname, error);
}

gboolean
cj_arguments_password (GVariant *parameters, GUnixFDList *fds, GError **error)
{
  return one_string (parameters, cj_validate_password, error);
}

gboolean
cj_arguments_object (GVariant *parameters, GUnixFDList *fds, GError **error)
{
  const char *path;

  g_variant_get (parameters, "(&o)", &path);
  return check_path (path, error);
}

gboolean
cj_arguments_photo (GVariant *parameters, GUnixFDList *fds, GError **error)
{
  gint32 handle;

  g_variant_get (parameters, "(h)", &handle);
  return check_handle (handle, fds, "image", error);
}

gboolean
cj_arguments_group_name (GVariant *parameters, GUnixFDList *fds, GError **error)
{
  return one_string (parameters, cj_validate_group_name, error);
}

gboolean
cj_arguments_members (GVariant *parameters, GUnixFDList *fds, GError **error)
{
  g_autoptr(GVariant) members = g_variant_get_child_value (parameters, 0);

  if (g_variant_n_children (members) == 0)
    return invalid (error, _("No users given"));
  return check_paths (members, error);
}

gboolean
cj_arguments_import (GVariant *parameters, GUnixFDList *fds, GError **error)
{
  static const CjOptionSpec specs[] = {
    { CJ_OPT_FORMAT, "s" }, { CJ_OPT_CREATE_GROUPS, "b" }, { CJ_OPT_UPDATE_PASSWORDS, "b" }, { NULL, NULL }
  };
  g_autoptr(GVariant) options = NULL;
  const char *format;
  gint32 handle;

  g_variant_get (parameters, "(h@a{sv})", &handle, &options);
  if (!check_handle (handle, fds, "file", error) || !check_options (options, specs, error))
    return FALSE;
  if (g_variant_lookup (options, CJ_OPT_FORMAT, "&s", &format) &&
      !g_str_equal (format, "csv") && !g_str_equal (format, "json") && !g_str_equal (format, "ldif"))
    return invalid (error, _("The format must be csv, json or ldif"));
  return TRUE;
}

gboolean
cj_arguments_repair (GVariant *parameters, GUnixFDList *fds, GError **error)
{
  static const CjOptionSpec specs[] = { { NULL, NULL } };
  g_autoptr(GVariant) options = g_variant_get_child_value (parameters, 0);

  return check_options (options, specs, error);
}
