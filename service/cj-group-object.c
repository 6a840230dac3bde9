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
  return request;
}

static gboolean
handle_rename (CjGroup *iface, GDBusMethodInvocation *invocation, const char *name, CjDaemon *daemon)
{
  GError *error = NULL;
  CjEntry *group = cj_daemon_lookup_self (daemon, invocation, &error);
  CjEntry *other;
  CjStoreRequest *request;

  if (group == NULL || !cj_validate_group_name (name, &error))
    return cj_daemon_fail (invocation, group != NULL ? group->name : NULL, error);
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
change_members (GDBusMethodInvocation *invocation, const char *const *users, CjStoreOp op,
                CjReplyFunc reply, CjDaemon *daemon)
{
  GError *error = NULL;
  CjEntry *group = cj_daemon_lookup_self (daemon, invocation, &error);
  CjStoreRequest *request;
  char **names;

  if (group == NULL)
    return cj_daemon_fail (invocation, NULL, error);
  if (users == NULL || users[0] == NULL)
    return cj_daemon_fail (invocation, group->name,
                           g_error_new_literal (CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT, _("No users given")));
  names = cj_daemon_user_names (daemon, users, &error);
  if (names == NULL)
    return cj_daemon_fail (invocation, group->name, error);
  request = group_request (op, group);
  request->members = names;
  cj_daemon_store (daemon, invocation, group->name, request, reply);
  return TRUE;
}

static gboolean
handle_add_members (CjGroup *iface, GDBusMethodInvocation *invocation, const char *const *users,
                    CjDaemon *daemon)
{
  return change_members (invocation, users, CJ_STORE_ADD_MEMBERS, reply_moved, daemon);
}

static gboolean
handle_remove_members (CjGroup *iface, GDBusMethodInvocation *invocation, const char *const *users,
                       CjDaemon *daemon)
{
  return change_members (invocation, users, CJ_STORE_REMOVE_MEMBERS, cj_reply_nothing, daemon);
}

static gboolean
handle_delete (CjGroup *iface, GDBusMethodInvocation *invocation, CjDaemon *daemon)
{
  GError *error = NULL;
  CjEntry *group = cj_daemon_lookup_self (daemon, invocation, &error);

  if (group == NULL)
    return cj_daemon_fail (invocation, NULL, error);
  cj_daemon_store (daemon, invocation, group->name, group_request (CJ_STORE_DELETE_GROUP, group),
                   cj_reply_nothing);
  return TRUE;
}

void
cj_group_object_init (CjDaemon *daemon, CjGroup *group)
{
  g_signal_connect (group, "handle-rename", G_CALLBACK (handle_rename), daemon);
  g_signal_connect (group, "handle-add-members", G_CALLBACK (handle_add_members), daemon);
  g_signal_connect (group, "handle-remove-members", G_CALLBACK (handle_remove_members), daemon);
  g_signal_connect (group, "handle-delete", G_CALLBACK (handle_delete), daemon);
}
