/* org.calculate.Jabber.Group: renaming, membership, deleting. The one-group-per-user rule is
 * kept by cj-store-groups.c, in LDAP. */
#include "config.h"

#include <glib/gi18n.h>

#include "cj-common.h"
#include "cj-daemon.h"
#include "cj-error.h"
#include "cj-validate.h"

static CjStoreRequest *
group_request (CjStoreOp op, CjEntry *group)
{
  CjStoreRequest *request = cj_store_request_new (op);

  request->dn = g_strdup (group->dn);
  request->uuid = g_strdup (group->uuid);
  return request;
}

static gboolean
handle_rename (CjDaemon *daemon, CjEntry *group, GDBusMethodInvocation *invocation, const char *name)
{
  CjEntry *other;
  CjStoreRequest *request;

  /* The name was checked by the gate (cj_arguments_group_name). */
  other = cj_registry_find_group (daemon->registry, name);
  if (other != NULL && other != group)
    return cj_daemon_fail (invocation, group->name,
                           g_error_new (CJ_ERROR, CJ_ERROR_ALREADY_EXISTS,
                                        _("A group named “%s” already exists"), name));
  request = group_request (CJ_STORE_RENAME_GROUP, group);
  request->name = g_strdup (name);
  cj_daemon_store (daemon, invocation, group->name, request, cj_reply_nothing);
  return TRUE;
}

static void
reply_moved (CjDaemon *daemon, GDBusMethodInvocation *invocation, CjChanges *changes)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(oo)"));
  for (guint i = 0; i < changes->moved_users->len; i++)
    {
      CjEntry *user = cj_registry_find_user (daemon->registry, changes->moved_users->pdata[i]);
      g_autofree char *group_path = cj_registry_group_path_for_uuid (changes->moved_from->pdata[i]);

      if (user != NULL)
        g_variant_builder_add (&builder, "(oo)", cj_registry_path_of (daemon->registry, user->uuid),
                               group_path);
    }
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(a(oo))", &builder));
}

static gboolean
change_members (CjDaemon *daemon, CjEntry *group, GDBusMethodInvocation *invocation,
                const char *const *users, CjStoreOp op, CjReplyFunc reply)
{
  GError *error = NULL;
  CjStoreRequest *request;
  char **names;

  /* At least one, and not too many: checked by the gate (cj_arguments_members). */
  names = cj_daemon_user_names (daemon, users, &error);
  if (names == NULL)
    return cj_daemon_fail (invocation, group->name, error);
  request = group_request (op, group);
  request->members = names;
  cj_daemon_store (daemon, invocation, group->name, request, reply);
  return TRUE;
}

static gboolean
handle_delete (CjDaemon *daemon, CjEntry *group, GDBusMethodInvocation *invocation)
{
  cj_daemon_store (daemon, invocation, group->name, group_request (CJ_STORE_DELETE_GROUP, group),
                   cj_reply_nothing);
  return TRUE;
}

/* Modify: add, remove, rename in one request (one authorization). */
static gboolean
handle_modify (CjDaemon *daemon, CjEntry *group, GDBusMethodInvocation *invocation, GVariant *changes)
{
  g_autoptr(CjStoreRequest) request = group_request (CJ_STORE_MODIFY_GROUP, group);
  g_autofree const char **add = NULL;
  g_autofree const char **remove = NULL;
  const char *name;
  GError *error = NULL;

  /* Checked by the gate (cj_arguments_modify_group). */
  if (g_variant_lookup (changes, CJ_OPT_NAME, "&s", &name))
    {
      CjEntry *other = cj_registry_find_group (daemon->registry, name);

      if (other != NULL && other != group)
        return cj_daemon_fail (invocation, group->name,
                               g_error_new (CJ_ERROR, CJ_ERROR_ALREADY_EXISTS,
                                            _("A group named “%s” already exists"), name));
      request->name = g_strdup (name);
    }
  if (g_variant_lookup (changes, CJ_OPT_ADD_MEMBERS, "^a&o", &add) && add[0] != NULL &&
      (request->members = cj_daemon_user_names (daemon, add, &error)) == NULL)
    return cj_daemon_fail (invocation, group->name, error);
  if (g_variant_lookup (changes, CJ_OPT_REMOVE_MEMBERS, "^a&o", &remove) && remove[0] != NULL &&
      (request->remove_members = cj_daemon_user_names (daemon, remove, &error)) == NULL)
    return cj_daemon_fail (invocation, group->name, error);
  cj_daemon_store (daemon, invocation, group->name, g_steal_pointer (&request), reply_moved);
  return TRUE;
}

void
cj_group_object_call (CjDaemon *daemon, CjEntry *group, GDBusMethodInvocation *invocation)
{
  const char *method = g_dbus_method_invocation_get_method_name (invocation);
  GVariant *params = g_dbus_method_invocation_get_parameters (invocation);

  /* GDBus checked the method and its signature against the interface info. */
  if (g_str_equal (method, "Rename"))
    {
      const char *name;

      g_variant_get (params, "(&s)", &name);
      handle_rename (daemon, group, invocation, name);
    }
  else if (g_str_equal (method, "AddMembers") || g_str_equal (method, "RemoveMembers"))
    {
      gboolean add = g_str_equal (method, "AddMembers");
      g_autofree const char **users = NULL;

      g_variant_get (params, "(^a&o)", &users);
      change_members (daemon, group, invocation, users,
                      add ? CJ_STORE_ADD_MEMBERS : CJ_STORE_REMOVE_MEMBERS,
                      add ? reply_moved : cj_reply_nothing);
    }
  else if (g_str_equal (method, "Delete"))
    handle_delete (daemon, group, invocation);
  else if (g_str_equal (method, "Modify"))
    {
      g_autoptr(GVariant) changes = g_variant_get_child_value (params, 0);
      handle_modify (daemon, group, invocation, changes);
    }
  else
    g_dbus_method_invocation_return_error (invocation, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD,
                                           "No such method: %s", method);
}
