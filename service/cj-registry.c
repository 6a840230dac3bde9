#include "config.h"
#include "cj-registry.h"

#include <string.h>

#include "cj-common.h"

typedef struct {
  CjEntry          *entry;
  char             *path;
  CjObjectSkeleton *object;
  CjUser           *user;     /* for users */
  CjGroup          *group;    /* for groups */
} Record;

struct _CjRegistry {
  GDBusObjectManagerServer *manager;
  CjRegistryHooks hooks;
  char       *primary_host;

  GHashTable *by_uuid;          /* uuid -> Record (owned) */
  GHashTable *by_path;          /* path -> Record */
  GHashTable *users_by_key;     /* casefolded name -> Record */
  GHashTable *groups_by_key;    /* casefolded name -> Record */
  GHashTable *group_of_member;  /* casefolded member name -> group Record */

  /* Derived properties are recomputed once per change, for what the change touched. */
  GHashTable *dirty_users;      /* casefolded name -> NULL (set) */
  GHashTable *dirty_groups;     /* Record -> NULL (set) */
  GHashTable *touched;          /* Record -> NULL (set): skeletons to flush */
};

static char *
name_key (const char *name)
{
  return g_utf8_casefold (name, -1);
}

static void
record_free (Record *record)
{
  cj_entry_unref (record->entry);
  g_free (record->path);
  g_clear_object (&record->user);
  g_clear_object (&record->group);
  g_clear_object (&record->object);
  g_free (record);
}

char *
cj_registry_user_path_for_uuid (const char *uuid)
{
  return g_strdup_printf (CJ_USERS_PATH "/%s", uuid);
}

char *
cj_registry_group_path_for_uuid (const char *uuid)
{
  return g_strdup_printf (CJ_GROUPS_PATH "/%s", uuid);
}

CjRegistry *
cj_registry_new (GDBusObjectManagerServer *manager, const CjRegistryHooks *hooks)
{
  CjRegistry *registry = g_new0 (CjRegistry, 1);

  registry->manager = g_object_ref (manager);
  registry->hooks = *hooks;
  registry->primary_host = g_strdup (g_get_host_name ());
  registry->by_uuid = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) record_free);
  registry->by_path = g_hash_table_new (g_str_hash, g_str_equal);
  registry->users_by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  registry->groups_by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  registry->group_of_member = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  registry->dirty_users = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  registry->dirty_groups = g_hash_table_new (g_direct_hash, g_direct_equal);
  registry->touched = g_hash_table_new (g_direct_hash, g_direct_equal);
  return registry;
}

void
cj_registry_free (CjRegistry *registry)
{
  if (registry == NULL)
    return;
  g_hash_table_unref (registry->dirty_users);
  g_hash_table_unref (registry->dirty_groups);
  g_hash_table_unref (registry->touched);
  g_hash_table_unref (registry->group_of_member);
  g_hash_table_unref (registry->users_by_key);
  g_hash_table_unref (registry->groups_by_key);
  g_hash_table_unref (registry->by_path);
  g_hash_table_unref (registry->by_uuid);
  g_object_unref (registry->manager);
  g_free (registry->primary_host);
  g_free (registry);
}

static void
set_jid (CjRegistry *registry, Record *record)
{
  g_autofree char *jid = g_strdup_printf ("%s@%s", record->entry->name, registry->primary_host);

  if (g_strcmp0 (cj_user_get_jid (record->user), jid) != 0)
    cj_user_set_jid (record->user, jid);
}

void
cj_registry_set_primary_host (CjRegistry *registry, const char *host)
{
  GHashTableIter iter;
  Record *record;

  if (host == NULL || *host == '\0' || g_strcmp0 (host, registry->primary_host) == 0)
    return;
  g_free (registry->primary_host);
  registry->primary_host = g_strdup (host);
  g_hash_table_iter_init (&iter, registry->users_by_key);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &record))
    set_jid (registry, record);
}

/* Membership index ------------------------------------------------------------------ */

static void
index_members (CjRegistry *registry, Record *group, gboolean add)
{
  for (char **m = group->entry->members; m != NULL && *m != NULL; m++)
    {
      g_autofree char *key = name_key (*m);
      Record *current = g_hash_table_lookup (registry->group_of_member, key);

      if (add && current == NULL)
        g_hash_table_insert (registry->group_of_member, g_strdup (key), group);
      else if (!add && current == group)
        g_hash_table_remove (registry->group_of_member, key);
      g_hash_table_add (registry->dirty_users, g_steal_pointer (&key));
    }
}

/* A user listed by two groups (another LDAP writer did it) shows under one of them;
 * when that one lets go, the other takes over. */
static void
reindex_orphans (CjRegistry *registry, char **names)
{
  GHashTableIter iter;
  Record *group;

  for (char **m = names; m != NULL && *m != NULL; m++)
    {
      g_autofree char *key = name_key (*m);

      if (g_hash_table_contains (registry->group_of_member, key))
        continue;
      g_hash_table_iter_init (&iter, registry->groups_by_key);
      while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &group))
        if (group->entry->members != NULL &&
            g_strv_contains ((const char *const *) group->entry->members, *m))
          {
            g_hash_table_insert (registry->group_of_member, g_steal_pointer (&key), group);
            break;
          }
    }
}

static gint
compare_records_by_name (gconstpointer a, gconstpointer b)
{
  const Record *ra = *(Record *const *) a;
  const Record *rb = *(Record *const *) b;

  /* Byte order: cheap for 100,000 names and the same on every machine. */
  return strcmp (ra->entry->name, rb->entry->name);
}

static void
update_members (CjRegistry *registry, Record *group)
{
  g_autoptr(GPtrArray) users = g_ptr_array_new ();
  g_autoptr(GPtrArray) paths = g_ptr_array_new ();

  for (char **m = group->entry->members; m != NULL && *m != NULL; m++)
    {
      g_autofree char *key = name_key (*m);
      Record *user = g_hash_table_lookup (registry->users_by_key, key);

      /* A member that is no user (yet) is not shown; a user listed by two groups is shown
       * in the one it belongs to. */
      if (user != NULL && g_hash_table_lookup (registry->group_of_member, key) == group)
        g_ptr_array_add (users, user);
    }
  g_ptr_array_sort (users, compare_records_by_name);
  for (guint i = 0; i < users->len; i++)
    g_ptr_array_add (paths, ((Record *) users->pdata[i])->path);
  g_ptr_array_add (paths, NULL);

  if (!g_strv_equal ((const char *const *) cj_group_get_members (group->group),
                     (const char *const *) paths->pdata))
    cj_group_set_members (group->group, (const char *const *) paths->pdata);
}

/* Recomputes what depends on the changes since the last flush. */
static void
flush (CjRegistry *registry)
{
  GHashTableIter iter;
  char *key;
  Record *group;

  g_hash_table_iter_init (&iter, registry->dirty_users);
  while (g_hash_table_iter_next (&iter, (gpointer *) &key, NULL))
    {
      Record *user = g_hash_table_lookup (registry->users_by_key, key);
      Record *in = g_hash_table_lookup (registry->group_of_member, key);
      const char *path = in != NULL ? in->path : CJ_NO_OBJECT;

      if (in != NULL)
        g_hash_table_add (registry->dirty_groups, in);
      if (user != NULL)
        {
          if (g_strcmp0 (cj_user_get_group (user->user), path) != 0)
            cj_user_set_group (user->user, path);
          g_hash_table_add (registry->touched, user);
        }
    }
  g_hash_table_remove_all (registry->dirty_users);

  g_hash_table_iter_init (&iter, registry->dirty_groups);
  while (g_hash_table_iter_next (&iter, (gpointer *) &group, NULL))
    {
      update_members (registry, group);
      g_hash_table_add (registry->touched, group);
    }
  g_hash_table_remove_all (registry->dirty_groups);

  /* GDBus sends PropertiesChanged from an idle callback; a change made for a method call
   * must be on the bus before its reply, so send it now. */
  g_hash_table_iter_init (&iter, registry->touched);
  while (g_hash_table_iter_next (&iter, (gpointer *) &group, NULL))
    {
      Record *record = (Record *) group;
      g_dbus_interface_skeleton_flush (record->user != NULL ? G_DBUS_INTERFACE_SKELETON (record->user)
                                                            : G_DBUS_INTERFACE_SKELETON (record->group));
    }
  g_hash_table_remove_all (registry->touched);

  if (registry->hooks.counts_changed != NULL)
    registry->hooks.counts_changed (g_hash_table_size (registry->users_by_key),
                                    g_hash_table_size (registry->groups_by_key),
                                    registry->hooks.data);
}

/* Users ------------------------------------------------------------------------------ */

/* The key of by_uuid points into the record's entry: swap the entry under it. */
static void
replace_entry (CjRegistry *registry, Record *record, CjEntry *entry)
{
  g_hash_table_steal (registry->by_uuid, record->entry->uuid);
  cj_entry_unref (record->entry);
  record->entry = cj_entry_ref (entry);
  g_hash_table_insert (registry->by_uuid, record->entry->uuid, record);
}

static void
set_user_properties (CjRegistry *registry, Record *record)
{
  CjEntry *entry = record->entry;

  if (g_strcmp0 (cj_user_get_name (record->user), entry->name) != 0)
    cj_user_set_name (record->user, entry->name);
  set_jid (registry, record);
  if (g_strcmp0 (cj_user_get_nickname (record->user), entry->nickname) != 0)
    cj_user_set_nickname (record->user, entry->nickname);
  if (cj_user_get_locked (record->user) != entry->locked)
    cj_user_set_locked (record->user, entry->locked);
  if (cj_user_get_has_password (record->user) != entry->has_password)
    cj_user_set_has_password (record->user, entry->has_password);
  if (cj_user_get_has_photo (record->user) != entry->has_photo)
    cj_user_set_has_photo (record->user, entry->has_photo);
}

static void
apply_user (CjRegistry *registry, Record *record, CjEntry *entry)
{
  g_autofree char *key = name_key (entry->name);

  if (record == NULL)
    {
      record = g_new0 (Record, 1);
      record->entry = cj_entry_ref (entry);
      record->path = cj_registry_user_path_for_uuid (entry->uuid);
      record->object = cj_object_skeleton_new (record->path);
      record->user = cj_user_skeleton_new ();
      cj_user_set_group (record->user, CJ_NO_OBJECT);
      set_user_properties (registry, record);
      if (registry->hooks.user_created != NULL)
        registry->hooks.user_created (record->user, registry->hooks.data);
      cj_object_skeleton_set_user (record->object, record->user);
      g_hash_table_insert (registry->by_uuid, record->entry->uuid, record);
      g_hash_table_insert (registry->by_path, record->path, record);
      g_hash_table_insert (registry->users_by_key, g_strdup (key), record);
      g_dbus_object_manager_server_export (registry->manager, G_DBUS_OBJECT_SKELETON (record->object));
    }
  else
    {
      g_autofree char *old_key = name_key (record->entry->name);

      if (strcmp (old_key, key) != 0)
        {
          g_hash_table_remove (registry->users_by_key, old_key);
          g_hash_table_insert (registry->users_by_key, g_strdup (key), record);
          g_hash_table_add (registry->dirty_users, g_steal_pointer (&old_key));
        }
      replace_entry (registry, record, entry);
      set_user_properties (registry, record);
    }
  g_hash_table_add (registry->dirty_users, g_steal_pointer (&key));
}

/* Groups ----------------------------------------------------------------------------- */

static void
apply_group (CjRegistry *registry, Record *record, CjEntry *entry)
{
  g_autofree char *key = name_key (entry->name);

  if (record == NULL)
    {
      record = g_new0 (Record, 1);
      record->entry = cj_entry_ref (entry);
      record->path = cj_registry_group_path_for_uuid (entry->uuid);
      record->object = cj_object_skeleton_new (record->path);
      record->group = cj_group_skeleton_new ();
      cj_group_set_name (record->group, entry->name);
      cj_group_set_members (record->group, (const char *const[]) { NULL });
      if (registry->hooks.group_created != NULL)
        registry->hooks.group_created (record->group, registry->hooks.data);
      cj_object_skeleton_set_group (record->object, record->group);
      g_hash_table_insert (registry->by_uuid, record->entry->uuid, record);
      g_hash_table_insert (registry->by_path, record->path, record);
      g_hash_table_insert (registry->groups_by_key, g_strdup (key), record);
      g_dbus_object_manager_server_export (registry->manager, G_DBUS_OBJECT_SKELETON (record->object));
    }
  else
    {
      g_autofree char *old_key = name_key (record->entry->name);
      g_auto(GStrv) old_members = g_strdupv (record->entry->members);

      if (strcmp (old_key, key) != 0)
        {
          g_hash_table_remove (registry->groups_by_key, old_key);
          g_hash_table_insert (registry->groups_by_key, g_strdup (key), record);
        }
      index_members (registry, record, FALSE);
      replace_entry (registry, record, entry);
      if (g_strcmp0 (cj_group_get_name (record->group), entry->name) != 0)
        cj_group_set_name (record->group, entry->name);
      reindex_orphans (registry, old_members);
    }
  index_members (registry, record, TRUE);
  g_hash_table_add (registry->dirty_groups, record);
}

/* Applying and removing -------------------------------------------------------------- */

static void
remove_record (CjRegistry *registry, Record *record)
{
  g_autofree char *key = name_key (record->entry->name);

  if (record->user != NULL)
    {
      g_hash_table_remove (registry->users_by_key, key);
      g_hash_table_add (registry->dirty_users, g_steal_pointer (&key));
    }
  else
    {
      g_auto(GStrv) members = g_strdupv (record->entry->members);

      g_hash_table_remove (registry->groups_by_key, key);
      index_members (registry, record, FALSE);
      g_hash_table_remove (registry->dirty_groups, record);
      reindex_orphans (registry, members);
    }
  g_hash_table_remove (registry->touched, record);
  g_dbus_object_manager_server_unexport (registry->manager, record->path);
  g_hash_table_remove (registry->by_path, record->path);
  g_hash_table_remove (registry->by_uuid, record->entry->uuid);
}

static void
apply_one (CjRegistry *registry, CjEntry *entry)
{
  Record *record = g_hash_table_lookup (registry->by_uuid, entry->uuid);

  /* An entry that changed kind (another tool rewrote it) is published anew. */
  if (record != NULL && ((record->user != NULL) != (entry->kind == CJ_ENTRY_USER)))
    {
      remove_record (registry, record);
      record = NULL;
    }
  if (entry->kind == CJ_ENTRY_USER)
    {
      g_autofree char *key = name_key (entry->name);
      Record *same_name = g_hash_table_lookup (registry->users_by_key, key);

      /* The name index keeps one user per name; LDAP's uid matching is case-insensitive,
       * so two entries can only share a name when one is on its way out. */
      if (same_name != NULL && same_name != record)
        remove_record (registry, same_name);
      apply_user (registry, record, entry);
    }
  else if (entry->kind == CJ_ENTRY_GROUP)
    {
      g_autofree char *key = name_key (entry->name);
      Record *same_name = g_hash_table_lookup (registry->groups_by_key, key);

      if (same_name != NULL && same_name != record)
        remove_record (registry, same_name);
      apply_group (registry, record, entry);
    }
}

void
cj_registry_apply (CjRegistry *registry, CjEntry *entry)
{
  apply_one (registry, entry);
  flush (registry);
}

void
cj_registry_remove (CjRegistry *registry, const char *uuid)
{
  Record *record = g_hash_table_lookup (registry->by_uuid, uuid);

  if (record == NULL)
    return;
  remove_record (registry, record);
  flush (registry);
}

void
cj_registry_replace_all (CjRegistry *registry, GPtrArray *entries)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) gone = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  char *uuid;

  for (guint i = 0; i < entries->len; i++)
    {
      CjEntry *entry = entries->pdata[i];
      g_hash_table_add (seen, entry->uuid);
    }
  g_hash_table_iter_init (&iter, registry->by_uuid);
  while (g_hash_table_iter_next (&iter, (gpointer *) &uuid, NULL))
    if (!g_hash_table_contains (seen, uuid))
      g_ptr_array_add (gone, g_strdup (uuid));
  for (guint i = 0; i < gone->len; i++)
    {
      Record *record = g_hash_table_lookup (registry->by_uuid, gone->pdata[i]);
      if (record != NULL)
        remove_record (registry, record);
    }
  /* Groups first would mark members that are not users yet; users first is cheaper. */
  for (guint i = 0; i < entries->len; i++)
    if (((CjEntry *) entries->pdata[i])->kind == CJ_ENTRY_USER)
      apply_one (registry, entries->pdata[i]);
  for (guint i = 0; i < entries->len; i++)
    if (((CjEntry *) entries->pdata[i])->kind == CJ_ENTRY_GROUP)
      apply_one (registry, entries->pdata[i]);
  flush (registry);
}

/* Lookups ---------------------------------------------------------------------------- */

CjEntry *
cj_registry_find_user (CjRegistry *registry, const char *name)
{
  g_autofree char *key = name_key (name);
  Record *record = g_hash_table_lookup (registry->users_by_key, key);

  return record != NULL ? record->entry : NULL;
}

CjEntry *
cj_registry_find_group (CjRegistry *registry, const char *name)
{
  g_autofree char *key = name_key (name);
  Record *record = g_hash_table_lookup (registry->groups_by_key, key);

  return record != NULL ? record->entry : NULL;
}

CjEntry *
cj_registry_get (CjRegistry *registry, const char *object_path)
{
  Record *record = g_hash_table_lookup (registry->by_path, object_path);

  return record != NULL ? record->entry : NULL;
}

const char *
cj_registry_path_of (CjRegistry *registry, const char *uuid)
{
  Record *record = g_hash_table_lookup (registry->by_uuid, uuid);

  return record != NULL ? record->path : NULL;
}

CjEntry *
cj_registry_group_of (CjRegistry *registry, const char *user_name)
{
  g_autofree char *key = name_key (user_name);
  Record *record = g_hash_table_lookup (registry->group_of_member, key);

  return record != NULL ? record->entry : NULL;
}

static GPtrArray *
list_sorted (GHashTable *table)
{
  g_autoptr(GPtrArray) records = g_ptr_array_sized_new (g_hash_table_size (table));
  GPtrArray *paths = g_ptr_array_sized_new (g_hash_table_size (table));
  GHashTableIter iter;
  gpointer record;

  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, NULL, &record))
    g_ptr_array_add (records, record);

  g_ptr_array_sort (records, compare_records_by_name);
  for (guint i = 0; i < records->len; i++)
    g_ptr_array_add (paths, ((Record *) records->pdata[i])->path);
  return paths;
}

GPtrArray *
cj_registry_list_users (CjRegistry *registry)
{
  return list_sorted (registry->users_by_key);
}

GPtrArray *
cj_registry_list_groups (CjRegistry *registry)
{
  return list_sorted (registry->groups_by_key);
}

guint cj_registry_count_users (CjRegistry *r)  { return g_hash_table_size (r->users_by_key); }
guint cj_registry_count_groups (CjRegistry *r) { return g_hash_table_size (r->groups_by_key); }
