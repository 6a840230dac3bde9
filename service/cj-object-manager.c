/* org.freedesktop.DBus.ObjectManager at /org/calculate/Jabber, for the users' and groups'
 * subtrees (cj-tree.c) and the Server object. GetManagedObjects answers everything in one
 * reply, so it refuses (LimitsExceeded) a reply larger than [Limits] ManagedObjectsMaxBytes
 * (24 MiB): dbus-daemon drops a connection that sends a message over its 32 MiB limit, and
 * any local user could knock the service off the bus with one call. Manager.GetUsers and
 * GetGroups page instead.
 *
 * Any local user may call it, as often as they like: the reply (or the refusal) is built
 * once and kept until something in it changes, and the calls wait in the bounded reading
 * queue (cj-reads.c) instead of being answered at once on the main loop. */
#include "config.h"

#include <glib/gi18n.h>

#include "cj-common.h"
#include "cj-daemon.h"

#define OBJECT_MANAGER_IFACE "org.freedesktop.DBus.ObjectManager"

static const char introspection_xml[] =
  "<node>"
  "  <interface name='" OBJECT_MANAGER_IFACE "'>"
  "    <method name='GetManagedObjects'>"
  "      <arg type='a{oa{sa{sv}}}' name='object_paths_interfaces_and_properties' direction='out'/>"
  "    </method>"
  "    <signal name='InterfacesAdded'>"
  "      <arg type='o' name='object_path'/>"
  "      <arg type='a{sa{sv}}' name='interfaces_and_properties'/>"
  "    </signal>"
  "    <signal name='InterfacesRemoved'>"
  "      <arg type='o' name='object_path'/>"
  "      <arg type='as' name='interfaces'/>"
  "    </signal>"
  "  </interface>"
  "</node>";

static void
add_records (CjDaemon *daemon, GVariantBuilder *builder, GPtrArray *records)
{
  for (guint i = 0; i < records->len; i++)
    {
      CjRecord *record = records->pdata[i];

      g_variant_builder_open (builder, G_VARIANT_TYPE ("{oa{sa{sv}}}"));
      g_variant_builder_add (builder, "o", record->path);
      g_variant_builder_open (builder, G_VARIANT_TYPE ("a{sa{sv}}"));
      g_variant_builder_add (builder, "{s@a{sv}}", cj_tree_interface_of (record),
                             cj_tree_properties (daemon, record));
      g_variant_builder_close (builder);
      g_variant_builder_close (builder);
    }
}

static gsize
estimate (CjDaemon *daemon, GPtrArray *records)
{
  gsize size = 0;

  for (guint i = 0; i < records->len; i++)
    size += cj_tree_estimate_size (daemon, records->pdata[i]);
  return size;
}

/* The reply, or a unit value when it would be too large (the refusal is kept too). */
static GVariant *
build_reply (CjDaemon *daemon)
{
  GPtrArray *users = cj_registry_sorted_users (daemon->registry);
  GPtrArray *groups = cj_registry_sorted_groups (daemon->registry);
  gsize size = estimate (daemon, users) + estimate (daemon, groups);
  g_autoptr(GVariant) server = NULL;
  GVariantBuilder builder;

  if (size > daemon->config->max_reply_bytes)
    return g_variant_ref_sink (g_variant_new ("()"));
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a{oa{sa{sv}}}"));
  g_variant_builder_open (&builder, G_VARIANT_TYPE ("{oa{sa{sv}}}"));
  g_variant_builder_add (&builder, "o", CJ_SERVER_PATH);
  g_variant_builder_open (&builder, G_VARIANT_TYPE ("a{sa{sv}}"));
  /* (transfer full), not floating: the builder takes a reference of its own. */
  server = g_dbus_interface_skeleton_get_properties (G_DBUS_INTERFACE_SKELETON (daemon->server));
  g_variant_builder_add (&builder, "{s@a{sv}}", CJ_IFACE_SERVER, server);
  g_variant_builder_close (&builder);
  g_variant_builder_close (&builder);
  add_records (daemon, &builder, users);
  add_records (daemon, &builder, groups);
  return g_variant_ref_sink (g_variant_new ("(a{oa{sa{sv}}})", &builder));
}

static void
get_managed_objects (GDBusMethodInvocation *invocation, gpointer data)
{
  CjDaemon *daemon = data;

  if (daemon->managed_objects == NULL)
    daemon->managed_objects = build_reply (daemon);
  if (g_variant_n_children (daemon->managed_objects) == 0)
    {
      g_dbus_method_invocation_return_dbus_error (
        invocation, "org.freedesktop.DBus.Error.LimitsExceeded",
        _("Too many objects for one reply: use org.calculate.Jabber.Manager.GetUsers and "
          "GetGroups, which return them page by page"));
      return;
    }
  g_dbus_method_invocation_return_value (invocation, daemon->managed_objects);
}

void
cj_object_manager_invalidate (CjDaemon *daemon)
{
  g_clear_pointer (&daemon->managed_objects, g_variant_unref);
}

static void
on_server_notify (GObject *server, GParamSpec *pspec, gpointer data)
{
  cj_object_manager_invalidate (data);
}

static void
method_call (GDBusConnection *connection, const char *sender, const char *object_path,
             const char *interface_name, const char *method_name, GVariant *parameters,
             GDBusMethodInvocation *invocation, gpointer user_data)
{
  CjDaemon *daemon = user_data;

  /* The only method (GDBus checked the name against the introspection data); it reads. */
  cj_reads_submit (daemon->reads, invocation, get_managed_objects, daemon);
}

static const GDBusInterfaceVTable vtable = { method_call, NULL, NULL, { 0 } };

gboolean
cj_object_manager_register (CjDaemon *daemon, GError **error)
{
  g_autoptr(GDBusNodeInfo) node = g_dbus_node_info_new_for_xml (introspection_xml, error);

  if (node == NULL)
    return FALSE;
  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (daemon->server),
                                         daemon->connection, CJ_SERVER_PATH, error))
    return FALSE;
  daemon->server_notify_id = g_signal_connect (daemon->server, "notify", G_CALLBACK (on_server_notify), daemon);
  daemon->object_manager_id = g_dbus_connection_register_object (daemon->connection, CJ_MANAGER_PATH,
                                                                 node->interfaces[0], &vtable,
                                                                 daemon, NULL, error);
  return daemon->object_manager_id != 0;
}

void
cj_object_manager_unregister (CjDaemon *daemon)
{
  if (daemon->object_manager_id != 0)
    g_dbus_connection_unregister_object (daemon->connection, daemon->object_manager_id);
  daemon->object_manager_id = 0;
  cj_object_manager_invalidate (daemon);
  if (daemon->server != NULL)
    {
      g_clear_signal_handler (&daemon->server_notify_id, daemon->server);
      g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (daemon->server));
    }
}

void
cj_object_manager_emit_added (CjDaemon *daemon, CjRecord *record)
{
  GVariantBuilder interfaces;

  g_variant_builder_init (&interfaces, G_VARIANT_TYPE ("a{sa{sv}}"));
  g_variant_builder_add (&interfaces, "{s@a{sv}}", cj_tree_interface_of (record),
                         cj_tree_properties (daemon, record));
  g_dbus_connection_emit_signal (daemon->connection, NULL, CJ_MANAGER_PATH, OBJECT_MANAGER_IFACE,
                                 "InterfacesAdded",
                                 g_variant_new ("(oa{sa{sv}})", record->path, &interfaces), NULL);
}

void
cj_object_manager_emit_removed (CjDaemon *daemon, CjRecord *record)
{
  const char *interfaces[] = { cj_tree_interface_of (record), NULL };

  g_dbus_connection_emit_signal (daemon->connection, NULL, CJ_MANAGER_PATH, OBJECT_MANAGER_IFACE,
                                 "InterfacesRemoved",
                                 g_variant_new ("(o^as)", record->path, interfaces), NULL);
}
