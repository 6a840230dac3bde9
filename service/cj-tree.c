/* The users and groups on the bus: two subtrees, /org/calculate/Jabber/Users and .../Groups,
 * served from the registry's plain records by one shared vtable. No GObject per user: at
 * 100,000 users, skeletons with their signal handlers, property GValues and per-object
 * registrations cost more than half a gigabyte and most of the start time. The
 * introspection data is the generated one (the XML in dbus-interfaces/ stays the single source
 * of the API); every method goes through the gate (cj-gate.c) first, like the skeletons'. */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "cj-common.h"
#include "cj-daemon.h"
#include "cj-error.h"

#define PROPERTIES_IFACE "org.freedesktop.DBus.Properties"

/* Properties -------------------------------------------------------------------------- */

GVariant *
cj_tree_properties (CjDaemon *daemon, CjRecord *record)
{
  CjEntry *entry = record->entry;
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  if (entry->kind == CJ_ENTRY_USER)
    {
      g_autofree char *jid = g_strconcat (entry->name, "@",
                                          cj_registry_get_primary_host (daemon->registry), NULL);

      /* The order of the interface's XML, as GetAll answers. */
      g_variant_builder_add (&builder, "{sv}", "Name", g_variant_new_string (entry->name));
      g_variant_builder_add (&builder, "{sv}", "Jid", g_variant_new_string (jid));
      g_variant_builder_add (&builder, "{sv}", "Nickname", g_variant_new_string (entry->nickname));
      g_variant_builder_add (&builder, "{sv}", "Locked", g_variant_new_boolean (entry->locked));
      g_variant_builder_add (&builder, "{sv}", "HasPassword", g_variant_new_boolean (entry->has_password));
      g_variant_builder_add (&builder, "{sv}", "Group",
                             g_variant_new_object_path (record->group != NULL ? record->group->path
                                                                              : CJ_NO_OBJECT));
      g_variant_builder_add (&builder, "{sv}", "HasPhoto", g_variant_new_boolean (entry->has_photo));
    }
  else
    {
      GVariantBuilder members;

      g_variant_builder_init (&members, G_VARIANT_TYPE_OBJECT_PATH_ARRAY);
      for (guint i = 0; i < record->members->len; i++)
        g_variant_builder_add (&members, "o", ((CjRecord *) record->members->pdata[i])->path);
      g_variant_builder_add (&builder, "{sv}", "Name", g_variant_new_string (entry->name));
      g_variant_builder_add (&builder, "{sv}", "Members", g_variant_builder_end (&members));
    }
  return g_variant_builder_end (&builder);
}

const char *
cj_tree_interface_of (CjRecord *record)
{
  return record->entry->kind == CJ_ENTRY_USER ? CJ_IFACE_USER : CJ_IFACE_GROUP;
}

/* An upper bound of what @record takes in a GetManagedObjects reply (D-Bus marshalling:
 * every string has a 4-byte length and a NUL, every dict entry and variant is padded), so
 * that an oversized reply is refused before it is built. */
gsize
cj_tree_estimate_size (CjDaemon *daemon, CjRecord *record)
{
  CjEntry *entry = record->entry;
  gsize size = 64 + strlen (record->path) + strlen (cj_tree_interface_of (record));

  if (entry->kind == CJ_ENTRY_USER)
    {
      /* 7 properties of at most 24 bytes of framing plus the names (45 bytes). */
      size += 7 * 24 + 45 + 2 * strlen (entry->name) + strlen (entry->nickname) + 1 +
              strlen (cj_registry_get_primary_host (daemon->registry)) +
              (record->group != NULL ? strlen (record->group->path) : 1);
    }
  else
    {
      size += 2 * 24 + 11 + strlen (entry->name) + 8;
      for (guint i = 0; i < record->members->len; i++)
        size += 8 + strlen (((CjRecord *) record->members->pdata[i])->path);
    }
  return size;
}

static GVariant *
get_property (GDBusConnection *connection, const char *sender, const char *object_path,
              const char *interface_name, const char *property_name, GError **error,
              gpointer user_data)
{
  CjDaemon *daemon = user_data;
  CjRecord *record = cj_registry_get_record (daemon->registry, object_path);
  g_autoptr(GVariant) properties = NULL;
  GVariant *value = NULL;

  if (record != NULL && g_str_equal (interface_name, cj_tree_interface_of (record)))
    {
      properties = g_variant_ref_sink (cj_tree_properties (daemon, record));
      value = g_variant_lookup_value (properties, property_name, NULL);
    }
  if (value == NULL)
    g_set_error (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_PROPERTY,
                 _("No such property: %s"), property_name);
  return value;
}

/* Methods ------------------------------------------------------------------------------ */

/* After the gate: the object may have gone meanwhile (polkit can take a while). */
static void
dispatch_call (GDBusMethodInvocation *invocation, gpointer data)
{
  CjDaemon *daemon = data;
  CjRecord *record = cj_registry_get_record (daemon->registry,
                                             g_dbus_method_invocation_get_object_path (invocation));
  const char *interface = g_dbus_method_invocation_get_interface_name (invocation);

  if (record == NULL || !g_str_equal (interface, cj_tree_interface_of (record)))
    {
      cj_daemon_fail (invocation, NULL,
                      g_error_new_literal (CJ_ERROR, CJ_ERROR_NOT_FOUND, _("The object no longer exists")));
      return;
    }
  if (record->entry->kind == CJ_ENTRY_USER)
    cj_user_object_call (daemon, record->entry, invocation);
  else
    cj_group_object_call (daemon, record->entry, invocation);
}

static void
method_call (GDBusConnection *connection, const char *sender, const char *object_path,
             const char *interface_name, const char *method_name, GVariant *parameters,
             GDBusMethodInvocation *invocation, gpointer user_data)
{
  CjDaemon *daemon = user_data;

  if (cj_gate_check (daemon->gate, invocation, dispatch_call, daemon, NULL))
    dispatch_call (invocation, daemon);
}

static const GDBusInterfaceVTable object_vtable = { method_call, get_property, NULL, { 0 } };

/* The subtrees ----------------------------------------------------------------------- */

typedef struct {
  CjDaemon   *daemon;
  CjEntryKind kind;
  const char *root;
} Subtree;

/* Only introspection asks (DISPATCH_TO_UNENUMERATED_NODES spares method calls the list).
 * GDBus answers Introspect on the main loop, building the XML from this list each time and
 * outside the bounded reads queue (cj-reads.c): at 100,000 users one answer is megabytes
 * and any local user may ask in a loop. Past [Limits] IntrospectMaxNodes children the list
 * is left empty; the objects stay reachable by path, and the ObjectManager and
 * Manager.GetUsers/GetGroups (bounded, paged) are how tools list them. */
static char **
enumerate (GDBusConnection *connection, const char *sender, const char *object_path,
           gpointer user_data)
{
  Subtree *subtree = user_data;
  GPtrArray *records = subtree->kind == CJ_ENTRY_USER
                       ? cj_registry_sorted_users (subtree->daemon->registry)
                       : cj_registry_sorted_groups (subtree->daemon->registry);
  guint count = records->len <= subtree->daemon->config->introspect_max_nodes ? records->len : 0;
  GPtrArray *nodes = g_ptr_array_sized_new (count + 1);

  for (guint i = 0; i < count; i++)
    g_ptr_array_add (nodes, g_strdup (((CjRecord *) records->pdata[i])->entry->uuid));
  g_ptr_array_add (nodes, NULL);
  return (char **) g_ptr_array_free (nodes, FALSE);
}

/* GDBus passes the subtree's root as @object_path to some callbacks and the whole path to
 * others: only @node says which child is meant. */
static CjRecord *
lookup_node (Subtree *subtree, const char *node)
{
  g_autofree char *path = NULL;
  CjRecord *record;

  if (node == NULL)
    return NULL;
  path = g_strconcat (subtree->root, "/", node, NULL);
  record = cj_registry_get_record (subtree->daemon->registry, path);
  return record != NULL && record->entry->kind == subtree->kind ? record : NULL;
}

static GDBusInterfaceInfo **
introspect (GDBusConnection *connection, const char *sender, const char *object_path,
            const char *node, gpointer user_data)
{
  Subtree *subtree = user_data;
  GDBusInterfaceInfo **infos;

  /* The subtree's root has no interface of its own; an unknown node does not exist. */
  if (node == NULL)
    return g_new0 (GDBusInterfaceInfo *, 1);
  if (lookup_node (subtree, node) == NULL)
    return NULL;
  infos = g_new0 (GDBusInterfaceInfo *, 2);
  infos[0] = g_dbus_interface_info_ref (subtree->kind == CJ_ENTRY_USER ? cj_user_interface_info ()
                                                                       : cj_group_interface_info ());
  return infos;
}

static const GDBusInterfaceVTable *
dispatch (GDBusConnection *connection, const char *sender, const char *object_path,
          const char *interface_name, const char *node, gpointer *out_user_data,
          gpointer user_data)
{
  Subtree *subtree = user_data;

  if (lookup_node (subtree, node) == NULL)
    return NULL;
  *out_user_data = subtree->daemon;
  return &object_vtable;
}

static const GDBusSubtreeVTable subtree_vtable = { enumerate, introspect, dispatch, { 0 } };

static guint
register_subtree (CjDaemon *daemon, const char *path, CjEntryKind kind, GError **error)
{
  Subtree *subtree = g_new0 (Subtree, 1);

  subtree->daemon = daemon;
  subtree->kind = kind;
  subtree->root = path;
  return g_dbus_connection_register_subtree (daemon->connection, path, &subtree_vtable,
                                             G_DBUS_SUBTREE_FLAGS_DISPATCH_TO_UNENUMERATED_NODES,
                                             subtree, g_free, error);
}

gboolean
cj_tree_publish (CjDaemon *daemon, GError **error)
{
  daemon->users_id = register_subtree (daemon, CJ_USERS_PATH, CJ_ENTRY_USER, error);
  if (daemon->users_id == 0)
    return FALSE;
  daemon->groups_id = register_subtree (daemon, CJ_GROUPS_PATH, CJ_ENTRY_GROUP, error);
  if (daemon->groups_id == 0)
    return FALSE;
  if (!cj_object_manager_register (daemon, error))
    return FALSE;
  daemon->published = TRUE;
  return TRUE;
}

void
cj_tree_unpublish (CjDaemon *daemon)
{
  daemon->published = FALSE;
  cj_object_manager_unregister (daemon);
  if (daemon->users_id != 0)
    g_dbus_connection_unregister_subtree (daemon->connection, daemon->users_id);
  if (daemon->groups_id != 0)
    g_dbus_connection_unregister_subtree (daemon->connection, daemon->groups_id);
  daemon->users_id = daemon->groups_id = 0;
}

/* Signals: the registry's hooks ----------------------------------------------------------- */

/* Before the name is owned nothing is announced: the first load would be 100,000 signals
 * nobody can receive. */
static gpointer
snapshot (CjRecord *record, gpointer data)
{
  CjDaemon *daemon = data;

  return daemon->published ? g_variant_ref_sink (cj_tree_properties (daemon, record)) : NULL;
}

static void
added (CjRecord *record, gpointer data)
{
  CjDaemon *daemon = data;

  cj_object_manager_invalidate (daemon);
  if (daemon->published)
    cj_object_manager_emit_added (daemon, record);
}

static void
removed (CjRecord *record, gpointer data)
{
  CjDaemon *daemon = data;

  cj_object_manager_invalidate (daemon);
  if (daemon->published)
    cj_object_manager_emit_removed (daemon, record);
}

/* PropertiesChanged with what differs; sent at once (not from an idle callback): a change
 * made for a method call must be on the bus before its reply. */
static void
changed (CjRecord *record, gpointer before, gpointer data)
{
  CjDaemon *daemon = data;
  g_autoptr(GVariant) after = NULL;
  GVariantBuilder builder;
  GVariantIter iter;
  const char *name;
  GVariant *value;
  gboolean any = FALSE;

  cj_object_manager_invalidate (daemon);
  if (!daemon->published)
    return;
  after = g_variant_ref_sink (cj_tree_properties (daemon, record));
  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_iter_init (&iter, after);
  while (g_variant_iter_next (&iter, "{&sv}", &name, &value))
    {
      g_autoptr(GVariant) old = g_variant_lookup_value (before, name, NULL);

      if (old == NULL || !g_variant_equal (old, value))
        {
          g_variant_builder_add (&builder, "{sv}", name, value);
          any = TRUE;
        }
      g_variant_unref (value);
    }
  if (!any)
    {
      g_variant_builder_clear (&builder);
      return;
    }
  g_dbus_connection_emit_signal (daemon->connection, NULL, record->path, PROPERTIES_IFACE,
                                 "PropertiesChanged",
                                 g_variant_new ("(sa{sv}@as)", cj_tree_interface_of (record),
                                                &builder, g_variant_new_strv (NULL, 0)),
                                 NULL);
}

void
cj_tree_registry_hooks (CjDaemon *daemon, CjRegistryHooks *hooks)
{
  hooks->snapshot = snapshot;
  hooks->free_snapshot = (GDestroyNotify) g_variant_unref;
  hooks->added = added;
  hooks->removed = removed;
  hooks->changed = changed;
  hooks->data = daemon;
}
