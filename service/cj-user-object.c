/* org.calculate.Jabber.User: the changes the original manual names for an account. Every
 * handler runs after the gate said yes (cj-gate.c, called by cj-tree.c), validates, and
 * hands one CjStoreRequest to the directory. */
#include "config.h"

#include <gio/gunixfdlist.h>
#include <glib/gi18n.h>
#include <unistd.h>

#include "cj-common.h"
#include "cj-daemon.h"
#include "cj-error.h"
#include "cj-options.h"
#include "cj-photo.h"
#include "cj-validate.h"

static CjStoreRequest *
modify_request (CjEntry *user)
{
  CjStoreRequest *request = cj_store_request_new (CJ_STORE_MODIFY_USER);

  request->dn = g_strdup (user->dn);
  request->name = g_strdup (user->name);
  return request;
}

static gboolean
handle_set_nickname (CjDaemon *daemon, CjEntry *user, GDBusMethodInvocation *invocation,
                     const char *nickname)
{
  CjStoreRequest *request;

  /* Every argument was checked by the gate (cj-arguments.c) before polkit was asked. */
  request = modify_request (user);
  request->nickname = g_strdup (nickname);
  cj_daemon_store (daemon, invocation, user->name, request, cj_reply_nothing);
  return TRUE;
}

static gboolean
handle_set_password (CjDaemon *daemon, CjEntry *user, GDBusMethodInvocation *invocation,
                     const char *password)
{
  CjStoreRequest *request;

  request = modify_request (user);
  request->password = g_strdup (password);
  cj_daemon_store (daemon, invocation, user->name, request, cj_reply_nothing);
  return TRUE;
}

static gboolean
handle_set_locked (CjDaemon *daemon, CjEntry *user, GDBusMethodInvocation *invocation,
                   gboolean locked)
{
  CjStoreRequest *request;

  request = modify_request (user);
  request->lock = locked ? 1 : 0;
  cj_daemon_store (daemon, invocation, user->name, request, cj_reply_nothing);
  return TRUE;
}

static void
reply_previous_group (CjDaemon *daemon, GDBusMethodInvocation *invocation, CjChanges *changes)
{
  g_autofree char *path = changes->previous_group != NULL
                          ? cj_registry_group_path_for_uuid (changes->previous_group)
                          : g_strdup (CJ_NO_OBJECT);

  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(o)", path));
}

static gboolean
handle_set_group (CjDaemon *daemon, CjEntry *user, GDBusMethodInvocation *invocation,
                  const char *group_path)
{
  CjStoreRequest *request;

  request = cj_store_request_new (CJ_STORE_SET_GROUP);
  request->dn = g_strdup (user->dn);
  request->name = g_strdup (user->name);
  if (g_strcmp0 (group_path, CJ_NO_OBJECT) != 0)
    {
      CjEntry *group = cj_registry_get (daemon->registry, group_path);

      if (group == NULL || group->kind != CJ_ENTRY_GROUP)
        {
          cj_store_request_free (request);
          return cj_daemon_fail (invocation, user->name,
                                 g_error_new (CJ_ERROR, CJ_ERROR_NOT_FOUND, _("No such group: %s"), group_path));
        }
      request->group_dn = g_strdup (group->dn);
    }
  cj_daemon_store (daemon, invocation, user->name, request, reply_previous_group);
  return TRUE;
}

/* Photos -------------------------------------------------------------------------------- */

typedef struct {
  CjDaemon              *daemon;
  GDBusMethodInvocation *invocation;
  CjStoreRequest        *request;
  CjReplyFunc            reply;      /* NULL: cj_reply_nothing */
} SetPhoto;

static void
on_photo_converted (GObject *source, GAsyncResult *result, gpointer data)
{
  SetPhoto *set = data;
  GError *error = NULL;
  GBytes *jpeg = cj_photo_convert_finish (result, &error);

  if (jpeg == NULL)
    {
      cj_daemon_fail (set->invocation, set->request->name, error);
      cj_store_request_free (set->request);
    }
  else
    {
      set->request->photo = jpeg;
      cj_daemon_store (set->daemon, set->invocation, set->request->name, set->request,
                       set->reply != NULL ? set->reply : cj_reply_nothing);
    }
  g_free (set);
}

static gboolean
handle_set_photo (CjDaemon *daemon, CjEntry *user, GDBusMethodInvocation *invocation,
                  gint32 handle)
{
  /* The descriptors came with the message (GDBus checked the count). */
  GUnixFDList *fd_list = g_dbus_message_get_unix_fd_list (g_dbus_method_invocation_get_message (invocation));
  GError *error = NULL;
  SetPhoto *set;
  int fd;

  fd = cj_options_fd_from_handle (handle, fd_list, "image", &error);
  if (fd < 0)
    return cj_daemon_fail (invocation, user->name, error);
  set = g_new0 (SetPhoto, 1);
  set->daemon = daemon;
  set->invocation = invocation;
  set->request = modify_request (user);
  cj_photo_convert_async (fd, NULL, on_photo_converted, set);
  return TRUE;
}

static gboolean
handle_clear_photo (CjDaemon *daemon, CjEntry *user, GDBusMethodInvocation *invocation)
{
  CjStoreRequest *request;

  request = modify_request (user);
  request->clear_photo = TRUE;
  cj_daemon_store (daemon, invocation, user->name, request, cj_reply_nothing);
  return TRUE;
}

/* Modify ------------------------------------------------------------------------------ */

static gboolean
handle_modify (CjDaemon *daemon, CjEntry *user, GDBusMethodInvocation *invocation, GVariant *changes)
{
  g_autoptr(CjStoreRequest) request = modify_request (user);
  const char *text;
  gboolean flag;
  gint32 handle;

  /* Checked by the gate before polkit (cj_arguments_modify): keys, types, values. */
  if (g_variant_lookup (changes, CJ_OPT_NICKNAME, "&s", &text))
    request->nickname = g_strdup (text);
  if (g_variant_lookup (changes, CJ_OPT_PASSWORD, "&s", &text))
    request->password = g_strdup (text);
  if (g_variant_lookup (changes, CJ_OPT_LOCKED, "b", &flag))
    request->lock = flag ? 1 : 0;
  if (g_variant_lookup (changes, CJ_OPT_CLEAR_PHOTO, "b", &flag))
    request->clear_photo = flag;
  if (g_variant_lookup (changes, CJ_OPT_GROUP, "&o", &text))
    {
      request->set_group = TRUE;
      if (g_strcmp0 (text, CJ_NO_OBJECT) != 0)
        {
          CjEntry *group = cj_registry_get (daemon->registry, text);

          if (group == NULL || group->kind != CJ_ENTRY_GROUP)
            return cj_daemon_fail (invocation, user->name,
                                   g_error_new (CJ_ERROR, CJ_ERROR_NOT_FOUND, _("No such group: %s"), text));
          request->group_dn = g_strdup (group->dn);
        }
    }
  if (g_variant_lookup (changes, CJ_OPT_PHOTO, "h", &handle))
    {
      GUnixFDList *fd_list = g_dbus_message_get_unix_fd_list (g_dbus_method_invocation_get_message (invocation));
      GError *error = NULL;
      SetPhoto *set;
      int fd = cj_options_fd_from_handle (handle, fd_list, "image", &error);

      if (fd < 0)
        return cj_daemon_fail (invocation, user->name, error);
      set = g_new0 (SetPhoto, 1);
      set->daemon = daemon;
      set->invocation = invocation;
      set->request = g_steal_pointer (&request);
      set->reply = reply_previous_group;
      cj_photo_convert_async (fd, NULL, on_photo_converted, set);
      return TRUE;
    }
  cj_daemon_store (daemon, invocation, user->name, g_steal_pointer (&request), reply_previous_group);
  return TRUE;
}

static void
on_photo_read (GObject *source, GAsyncResult *result, gpointer data)
{
  GDBusMethodInvocation *invocation = data;
  CjDaemon *daemon = g_object_get_data (G_OBJECT (invocation), "cj-daemon");
  GError *error = NULL;
  g_autoptr(GBytes) bytes = cj_directory_run_finish (daemon->directory, result, &error);

  if (bytes == NULL)
    {
      cj_daemon_fail (invocation, NULL, error);
      return;
    }
  g_dbus_method_invocation_return_value (invocation,
                                         g_variant_new ("(@ay)",
                                                        g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING,
                                                                                  bytes, TRUE)));
}

static gboolean
handle_get_photo (CjDaemon *daemon, CjEntry *user, GDBusMethodInvocation *invocation)
{

  g_object_set_data (G_OBJECT (invocation), "cj-daemon", daemon);
  cj_directory_read_async (daemon->directory, cj_store_read_photo, g_strdup (user->dn), g_free,
                           on_photo_read, invocation);
  return TRUE;
}

static gboolean
handle_delete (CjDaemon *daemon, CjEntry *user, GDBusMethodInvocation *invocation)
{
  CjStoreRequest *request;

  request = cj_store_request_new (CJ_STORE_DELETE_USER);
  request->dn = g_strdup (user->dn);
  request->uuid = g_strdup (user->uuid);
  request->name = g_strdup (user->name);
  cj_daemon_store (daemon, invocation, user->name, request, cj_reply_nothing);
  return TRUE;
}

void
cj_user_object_call (CjDaemon *daemon, CjEntry *user, GDBusMethodInvocation *invocation)
{
  const char *method = g_dbus_method_invocation_get_method_name (invocation);
  GVariant *params = g_dbus_method_invocation_get_parameters (invocation);
  const char *s;
  gboolean b;
  gint32 h;

  /* GDBus checked the method and its signature against the interface info. */
  if (g_str_equal (method, "SetNickname") && (g_variant_get (params, "(&s)", &s), TRUE))
    handle_set_nickname (daemon, user, invocation, s);
  else if (g_str_equal (method, "SetPassword") && (g_variant_get (params, "(&s)", &s), TRUE))
    handle_set_password (daemon, user, invocation, s);
  else if (g_str_equal (method, "SetLocked") && (g_variant_get (params, "(b)", &b), TRUE))
    handle_set_locked (daemon, user, invocation, b);
  else if (g_str_equal (method, "SetGroup") && (g_variant_get (params, "(&o)", &s), TRUE))
    handle_set_group (daemon, user, invocation, s);
  else if (g_str_equal (method, "SetPhoto") && (g_variant_get (params, "(h)", &h), TRUE))
    handle_set_photo (daemon, user, invocation, h);
  else if (g_str_equal (method, "Modify"))
    {
      g_autoptr(GVariant) changes = g_variant_get_child_value (params, 0);
      handle_modify (daemon, user, invocation, changes);
    }
  else if (g_str_equal (method, "ClearPhoto"))
    handle_clear_photo (daemon, user, invocation);
  else if (g_str_equal (method, "GetPhoto"))
    handle_get_photo (daemon, user, invocation);
  else if (g_str_equal (method, "Delete"))
    handle_delete (daemon, user, invocation);
  else
    g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD,
                                           "No such method: %s", method);
}
