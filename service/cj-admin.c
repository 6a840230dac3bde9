/* The administrator is protected: see cj-admin.h. */
#include "config.h"
#include "cj-admin.h"

#include <string.h>

#include "cj-common.h"
#include "cj-ejabberd-config.h"

static gboolean
is_admin_path (CjDaemon *daemon, const char *path)
{
  CjEntry *entry = cj_registry_get (daemon->registry, path);

  return entry != NULL && entry->kind == CJ_ENTRY_USER && cj_ejabberd_config_is_admin (entry->name);
}

/* Whether any of the object paths in @paths (ao) is the administrator's. */
static gboolean
any_admin_path (CjDaemon *daemon, GVariant *paths)
{
  GVariantIter iter;
  const char *path;

  if (paths == NULL || !g_variant_is_of_type (paths, G_VARIANT_TYPE_OBJECT_PATH_ARRAY))
    return FALSE;
  g_variant_iter_init (&iter, paths);
  while (g_variant_iter_next (&iter, "&o", &path))
    if (is_admin_path (daemon, path))
      return TRUE;
  return FALSE;
}

const char *
cj_admin_refine (GDBusMethodInvocation *invocation, const CjGateRule *rule, gpointer data)
{
  CjDaemon *daemon = data;
  const char *interface = g_dbus_method_invocation_get_interface_name (invocation);
  const char *method = g_dbus_method_invocation_get_method_name (invocation);
  GVariant *params = g_dbus_method_invocation_get_parameters (invocation);
  gboolean admin = FALSE;

  if (g_str_equal (interface, CJ_IFACE_USER))
    admin = is_admin_path (daemon, g_dbus_method_invocation_get_object_path (invocation));
  else if (g_str_equal (interface, CJ_IFACE_MANAGER) && g_str_equal (method, "AddUser") &&
           g_variant_is_of_type (params, G_VARIANT_TYPE ("(ssa{sv})")))
    {
      const char *name = NULL;

      g_variant_get_child (params, 0, "&s", &name);
      admin = cj_ejabberd_config_is_admin (name);
    }
  else if (g_str_equal (interface, CJ_IFACE_MANAGER) && g_str_equal (method, "AddGroup") &&
           g_variant_is_of_type (params, G_VARIANT_TYPE ("(sa{sv})")))
    {
      g_autoptr(GVariant) options = g_variant_get_child_value (params, 1);
      g_autoptr(GVariant) members = g_variant_lookup_value (options, CJ_OPT_MEMBERS, NULL);

      admin = any_admin_path (daemon, members);
    }
  else if (g_str_equal (interface, CJ_IFACE_GROUP) &&
           (g_str_equal (method, "AddMembers") || g_str_equal (method, "RemoveMembers")) &&
           g_variant_is_of_type (params, G_VARIANT_TYPE ("(ao)")))
    {
      g_autoptr(GVariant) members = g_variant_get_child_value (params, 0);

      admin = any_admin_path (daemon, members);
    }
  else if (g_str_equal (interface, CJ_IFACE_GROUP) && g_str_equal (method, "Modify") &&
           g_variant_is_of_type (params, G_VARIANT_TYPE ("(a{sv})")))
    {
      /* Group.Modify: the same memberships as AddMembers/RemoveMembers, in one call. */
      g_autoptr(GVariant) options = g_variant_get_child_value (params, 0);
      g_autoptr(GVariant) add = g_variant_lookup_value (options, CJ_OPT_ADD_MEMBERS, NULL);
      g_autoptr(GVariant) remove = g_variant_lookup_value (options, CJ_OPT_REMOVE_MEMBERS, NULL);

      admin = any_admin_path (daemon, add) || any_admin_path (daemon, remove);
    }
  return admin ? CJ_ACTION_SETUP : NULL;
}
