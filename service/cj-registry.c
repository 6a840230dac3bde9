#include "config.h"
#include "cj-registry.h"

#include <string.h>

#include "cj-common.h"
#include "cj-csn.h"

struct _CjRegistry {
  CjRegistryHooks hooks;
  char       *primary_host;

  GHashTable *by_uuid;          /* uuid -> CjRecord (owned) */
  GHashTable *by_path;          /* path -> CjRecord */
  GHashTable *users_by_key;     /* casefolded name -> CjRecord */
  GHashTable *groups_by_key;    /* casefolded name -> CjRecord */
  GHashTable *group_of_member;  /* casefolded member name -> group CjRecord */

  /* Derived properties are recomputed once per batch, for what the batch touched. */
  GHashTable *dirty_users;      /* casefolded name -> NULL (set) */
  GHashTable *dirty_groups;     /* CjRecord -> NULL (set) */
  GPtrArray  *touched;          /* records new or changed in this batch */
  /* Removed records stay alive until the end of the batch: derived pointers to them
   * (a user's group, a group's members) are only recomputed then. */
  GPtrArray  *graveyard;
  /* entryUUID -> entryCSN of entries removed: a late report of an older version (the
   * follower is behind the daemon's own writes) must not bring them back. */
  GHashTable *tombstones;

  GPtrArray  *sorted_users;     /* caches, NULL when stale */
  GPtrArray  *sorted_groups;
};

/* The key names are compared by. Names are nearly always ASCII, where casefolding is
 * lowercasing: a start at 100,000 users computes ~400,000 keys, and g_utf8_casefold (a
 * GString, a Unicode table look-up per character) was 15 % of its instructions. The
 * result is the same byte for byte. */
static char *
name_key (const char *name)
{
  gsize len = 0;
  char *key;

  while (name[len] != '\0')
    {
      if ((guchar) name[len] >= 0x80)
        return g_utf8_casefold (name, -1);
      len++;
    }
  key = g_malloc (len + 1);
  for (gsize i = 0; i <= len; i++)
    key[i] = name[i] >= 'A' && name[i] <= 'Z' ? (char) (name[i] + ('a' - 'A')) : name[i];
  return key;
}

static void
record_free (CjRecord *record)
{
  cj_entry_unref (record->entry);
  g_free (record->path);
  g_clear_pointer (&record->members, g_ptr_array_unref);
  g_free (record);
}

char *
cj_registry_user_path_for_uuid (const char *uuid)
{
  return g_strconcat (CJ_USERS_PATH "/", uuid, NULL);
}

char *
cj_registry_group_path_for_uuid (const char *uuid)
{
  return g_strconcat (CJ_GROUPS_PATH "/", uuid, NULL);
}

CjRegistry *
cj_registry_new (const CjRegistryHooks *hooks)
{
  CjRegistry *registry = g_new0 (CjRegistry, 1);

  registry->hooks = *hooks;
  registry->primary_host = g_strdup (g_get_host_name ());
  registry->by_uuid = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) record_free);
  registry->by_path = g_hash_table_new (g_str_hash, g_str_equal);
  registry->users_by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  registry->groups_by_key = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  registry->group_of_member = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  registry->dirty_users = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  registry->dirty_groups = g_hash_table_new (g_direct_hash, g_direct_equal);
  registry->touched = g_ptr_array_new ();
  registry->graveyard = g_ptr_array_new_with_free_func ((GDestroyNotify) record_free);
  registry->tombstones = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return registry;
}

void
cj_registry_free (CjRegistry *registry)
{
  if (registry == NULL)
    return;
  g_clear_pointer (&registry->sorted_users, g_ptr_array_unref);
  g_clear_pointer (&registry->sorted_groups, g_ptr_array_unref);
  g_hash_table_unref (registry->dirty_users);
  g_hash_table_unref (registry->dirty_groups);
  g_ptr_array_unref (registry->touched);
  g_ptr_array_unref (registry->graveyard);
  g_hash_table_unref (registry->tombstones);
  g_hash_table_unref (registry->group_of_member);
  g_hash_table_unref (registry->users_by_key);
  g_hash_table_unref (registry->groups_by_key);
  g_hash_table_unref (registry->by_path);
  g_hash_table_unref (registry->by_uuid);
  g_free (registry->primary_host);
  g_free (registry);
}

/* Change tracking --------------------------------------------------------------------- */

/* Called before anything the hooks can see of @record changes. */
static void
touch (CjRegistry *registry, CjRecord *record)
{
  if (record->touched)
    return;
  record->touched = TRUE;
  if (!record->is_new && registry->hooks.snapshot != NULL)
    record->before = registry->hooks.snapshot (record, registry->hooks.data);
  g_ptr_array_add (registry->touched, record);
}

static void
drop_snapshot (CjRegistry *registry, CjRecord *record)
{
  if (record->before != NULL)
    registry->hooks.free_snapshot (g_steal_pointer (&record->before));
}

void
cj_registry_set_primary_host (CjRegistry *registry, const char *host)
{
  GHashTableIter iter;
  CjRecord *record;

  if (host == NULL || *host == '\0' || g_strcmp0 (host, registry->primary_host) == 0)
    return;
  /* Every Jid changes: one batch. */
  g_hash_table_iter_init (&iter, registry->users_by_key);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &record))
    touch (registry, record);
  g_free (registry->primary_host);
  registry->primary_host = g_strdup (host);
  cj_registry_apply_all (registry, NULL);
}

const char *
cj_registry_get_primary_host (CjRegistry *registry)
{
  return registry->primary_host;
}

/* Membership index ------------------------------------------------------------------ */

/* The rule (cj-csn.h) between two groups listing one user: whether @a keeps it. */
static gboolean
claims_before (CjRecord *a, CjRecord *b)
{
  return cj_group_claim_compare (a->entry->csn, a->entry->name, a->entry->dn,
                                 b->entry->csn, b->entry->name, b->entry->dn) < 0;
}

/* A user listed by several groups (two nodes moved it at the same moment, or another LDAP
 * writer) shows in the one the rule picks (the newest group entry), until the repair
 * (cj-converge.c) takes it out of the others. */
static void
index_members (CjRegistry *registry, CjRecord *group, gboolean add)
{
  for (char **m = group->entry->members; m != NULL && *m != NULL; m++)
    {
      g_autofree char *key = name_key (*m);
      CjRecord *current = g_hash_table_lookup (registry->group_of_member, key);

      if (add && (current == NULL || (current != group && claims_before (group, current))))
        {
          /* The group that lost the user shows one member fewer. */
          if (current != NULL)
            g_hash_table_add (registry->dirty_groups, current);
          g_hash_table_insert (registry->group_of_member, g_strdup (key), group);
        }
      else if (!add && current == group)
        g_hash_table_remove (registry->group_of_member, key);
      g_hash_table_add (registry->dirty_users, g_steal_pointer (&key));
    }
}

/* When the group showing a user lets go of it, the rule picks among the others. */
static void
reindex_orphans (CjRegistry *registry, char **names)
{
  GHashTableIter iter;
  CjRecord *group;

  for (char **m = names; m != NULL && *m != NULL; m++)
    {
      g_autofree char *key = name_key (*m);
      CjRecord *best = NULL;

      if (g_hash_table_contains (registry->group_of_member, key))
        continue;
      g_hash_table_iter_init (&iter, registry->groups_by_key);
      while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &group))
        if (group->entry->members != NULL &&
            g_strv_contains ((const char *const *) group->entry->members, *m) &&
            (best == NULL || claims_before (group, best)))
          best = group;
      if (best != NULL)
        g_hash_table_insert (registry->group_of_member, g_steal_pointer (&key), best);
    }
}

static gint
compare_records_by_name (gconstpointer a, gconstpointer b)
{
  const CjRecord *ra = *(CjRecord *const *) a;
  const CjRecord *rb = *(CjRecord *const *) b;

  /* Byte order: cheap for 100,000 names and the same on every machine. */
  return strcmp (ra->entry->name, rb->entry->name);
}

static gboolean
same_records (GPtrArray *a, GPtrArray *b)
{
  if (a->len != b->len)
    return FALSE;
  /* An empty GPtrArray has no pdata at all: memcmp must not see the NULL. */
  return a->len == 0 || memcmp (a->pdata, b->pdata, a->len * sizeof (gpointer)) == 0;
}

static void
update_members (CjRegistry *registry, CjRecord *group)
{
  g_autoptr(GPtrArray) users = g_ptr_array_new ();

  for (char **m = group->entry->members; m != NULL && *m != NULL; m++)
    {
      g_autofree char *key = name_key (*m);
      CjRecord *user = g_hash_table_lookup (registry->users_by_key, key);

      /* A member that is no user (yet) is not shown; a user listed by two groups is shown
       * in the one it belongs to. */
      if (user != NULL && g_hash_table_lookup (registry->group_of_member, key) == group)
        g_ptr_array_add (users, user);
    }
  g_ptr_array_sort (users, compare_records_by_name);
  /* memberUid listing one user twice (in two spellings): shown once. */
  for (guint i = 1; i < users->len; )
    if (users->pdata[i] == users->pdata[i - 1])
      g_ptr_array_remove_index (users, i);
    else
      i++;
  if (same_records (users, group->members))
    return;
  touch (registry, group);
  g_ptr_array_unref (group->members);
  group->members = g_steal_pointer (&users);
}

/* Ends a batch: recomputes what depends on its changes, then tells the hooks. */
static void
flush (CjRegistry *registry)
{
  GHashTableIter iter;
  char *key;
  CjRecord *group;

  g_hash_table_iter_init (&iter, registry->dirty_users);
  while (g_hash_table_iter_next (&iter, (gpointer *) &key, NULL))
    {
      CjRecord *user = g_hash_table_lookup (registry->users_by_key, key);
      CjRecord *in = g_hash_table_lookup (registry->group_of_member, key);

      if (in != NULL)
        g_hash_table_add (registry->dirty_groups, in);
      if (user != NULL && user->group != in)
        {
          touch (registry, user);
          user->group = in;
        }
    }
  g_hash_table_remove_all (registry->dirty_users);

  g_hash_table_iter_init (&iter, registry->dirty_groups);
  while (g_hash_table_iter_next (&iter, (gpointer *) &group, NULL))
    update_members (registry, group);
  g_hash_table_remove_all (registry->dirty_groups);

  for (guint i = 0; i < registry->touched->len; i++)
    {
      CjRecord *record = registry->touched->pdata[i];

      record->touched = FALSE;
      if (record->gone)
        continue;
      if (record->is_new)
        {
          record->is_new = FALSE;
          if (registry->hooks.added != NULL)
            registry->hooks.added (record, registry->hooks.data);
        }
      else if (record->before != NULL)
        {
          registry->hooks.changed (record, record->before, registry->hooks.data);
          drop_snapshot (registry, record);
        }
    }
  g_ptr_array_set_size (registry->touched, 0);
  g_ptr_array_set_size (registry->graveyard, 0);

  if (registry->hooks.counts_changed != NULL)
    registry->hooks.counts_changed (g_hash_table_size (registry->users_by_key),
                                    g_hash_table_size (registry->groups_by_key),
                                    registry->hooks.data);
}

/* Users and groups ------------------------------------------------------------------- */

static CjRecord *
new_record (CjRegistry *registry, CjEntry *entry, char *path)
{
  CjRecord *record = g_new0 (CjRecord, 1);

  record->entry = cj_entry_ref (entry);
  record->path = path;
  record->is_new = TRUE;
  g_hash_table_insert (registry->by_uuid, record->entry->uuid, record);
  g_hash_table_insert (registry->by_path, record->path, record);
  touch (registry, record);
  return record;
}

/* The key of by_uuid points into the record's entry: swap the entry under it. */
static void
replace_entry (CjRegistry *registry, CjRecord *record, CjEntry *entry)
{
  touch (registry, record);
  g_hash_table_steal (registry->by_uuid, record->entry->uuid);
  cj_entry_unref (record->entry);
  record->entry = cj_entry_ref (entry);
  g_hash_table_insert (registry->by_uuid, record->entry->uuid, record);
}

static void
apply_user (CjRegistry *registry, CjRecord *record, CjEntry *entry, char *key)
{
  if (record == NULL)
    {
      record = new_record (registry, entry, cj_registry_user_path_for_uuid (entry->uuid));
      g_hash_table_insert (registry->users_by_key, g_strdup (key), record);
      g_clear_pointer (&registry->sorted_users, g_ptr_array_unref);
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
      if (strcmp (record->entry->name, entry->name) != 0)
        g_clear_pointer (&registry->sorted_users, g_ptr_array_unref);
      replace_entry (registry, record, entry);
    }
  g_hash_table_add (registry->dirty_users, g_strdup (key));
}

static void
apply_group (CjRegistry *registry, CjRecord *record, CjEntry *entry, char *key)
{
  if (record == NULL)
    {
      record = new_record (registry, entry, cj_registry_group_path_for_uuid (entry->uuid));
      record->members = g_ptr_array_new ();
      g_hash_table_insert (registry->groups_by_key, g_strdup (key), record);
      g_clear_pointer (&registry->sorted_groups, g_ptr_array_unref);
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
      if (strcmp (record->entry->name, entry->name) != 0)
        g_clear_pointer (&registry->sorted_groups, g_ptr_array_unref);
      index_members (registry, record, FALSE);
      replace_entry (registry, record, entry);
      reindex_orphans (registry, old_members);
    }
  index_members (registry, record, TRUE);
  g_hash_table_add (registry->dirty_groups, record);
}

static void
remove_record (CjRegistry *registry, CjRecord *record)
{
  g_autofree char *key = name_key (record->entry->name);

  if (record->entry->kind == CJ_ENTRY_USER)
    {
      g_hash_table_remove (registry->users_by_key, key);
      g_hash_table_add (registry->dirty_users, g_steal_pointer (&key));
      g_clear_pointer (&registry->sorted_users, g_ptr_array_unref);
    }
  else
    {
      g_auto(GStrv) members = g_strdupv (record->entry->members);

      g_hash_table_remove (registry->groups_by_key, key);
      index_members (registry, record, FALSE);
      g_hash_table_remove (registry->dirty_groups, record);
      reindex_orphans (registry, members);
      g_clear_pointer (&registry->sorted_groups, g_ptr_array_unref);
    }
  if (!record->is_new && registry->hooks.removed != NULL)
    registry->hooks.removed (record, registry->hooks.data);
  drop_snapshot (registry, record);
  record->gone = TRUE;
  g_hash_table_remove (registry->by_path, record->path);
  g_hash_table_steal (registry->by_uuid, record->entry->uuid);
  g_ptr_array_add (registry->graveyard, record);
}

static void
apply_one (CjRegistry *registry, CjEntry *entry)
{
  CjRecord *record = g_hash_table_lookup (registry->by_uuid, entry->uuid);
  g_autofree char *key = NULL;
  GHashTable *by_key;
  CjRecord *same_name;

  if (entry->kind != CJ_ENTRY_USER && entry->kind != CJ_ENTRY_GROUP)
    return;
  /* The same version again (a reload, the follower after the daemon's own read-back):
   * nothing to compute, nothing to announce. */
  if (record != NULL && entry->csn != NULL && g_strcmp0 (entry->csn, record->entry->csn) == 0 &&
      entry->kind == record->entry->kind && entry->has_photo == record->entry->has_photo &&
      strcmp (entry->dn, record->entry->dn) == 0)
    return;
  /* Versions arrive from two paths, the daemon's own read-back and the follower, in any
   * order: entryCSN says which is newer. An older one is dropped (no flicker back). */
  if (record != NULL && entry->csn != NULL && record->entry->csn != NULL &&
      strcmp (entry->csn, record->entry->csn) < 0)
    return;
  /* (An empty table is not asked: GHashTable hashes the key even then.) */
  if (record == NULL && g_hash_table_size (registry->tombstones) > 0)
    {
      const char *removed_at = g_hash_table_lookup (registry->tombstones, entry->uuid);

      if (removed_at != NULL)
        {
          if (entry->csn == NULL || strcmp (entry->csn, removed_at) <= 0)
            return;
          g_hash_table_remove (registry->tombstones, entry->uuid);
        }
    }
  /* An entry that changed kind (another tool rewrote it) is published anew. */
  if (record != NULL && record->entry->kind != entry->kind)
    {
      remove_record (registry, record);
      record = NULL;
    }
  key = name_key (entry->name);
  by_key = entry->kind == CJ_ENTRY_USER ? registry->users_by_key : registry->groups_by_key;
  same_name = g_hash_table_lookup (by_key, key);
  /* The name index keeps one entry per name; LDAP's matching is case-insensitive, so two
   * entries can only share a name when one is on its way out. */
  if (same_name != NULL && same_name != record)
    remove_record (registry, same_name);
  if (entry->kind == CJ_ENTRY_USER)
    apply_user (registry, record, entry, key);
  else
    apply_group (registry, record, entry, key);
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
  CjRecord *record = g_hash_table_lookup (registry->by_uuid, uuid);

  if (record == NULL)
    return;
  g_hash_table_replace (registry->tombstones, g_strdup (uuid),
                        g_strdup (record->entry->csn != NULL ? record->entry->csn : ""));
  remove_record (registry, record);
  flush (registry);
}

void
cj_registry_apply_all (CjRegistry *registry, GPtrArray *entries)
{
  /* Users first: a group applied before its members exist is computed twice. */
  for (guint i = 0; entries != NULL && i < entries->len; i++)
    if (((CjEntry *) entries->pdata[i])->kind == CJ_ENTRY_USER)
      apply_one (registry, entries->pdata[i]);
  for (guint i = 0; entries != NULL && i < entries->len; i++)
    if (((CjEntry *) entries->pdata[i])->kind == CJ_ENTRY_GROUP)
      apply_one (registry, entries->pdata[i]);
  flush (registry);
}

static void
remove_unkept_or_present (CjRegistry *registry, GHashTable *keep, GHashTable *present,
                          CjSyncCookie *reached)
{
  g_autoptr(GPtrArray) gone = g_ptr_array_new ();
  GHashTableIter iter;
  CjRecord *record;

  g_hash_table_iter_init (&iter, registry->by_uuid);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &record))
    if (!g_hash_table_contains (keep, record->entry->uuid) &&
        (present == NULL || !g_hash_table_contains (present, record->entry->uuid)) &&
        (reached == NULL || cj_sync_cookie_covers (reached, record->entry->csn)))
      g_ptr_array_add (gone, record);
  for (guint i = 0; i < gone->len; i++)
    remove_record (registry, gone->pdata[i]);
}

void
cj_registry_replace_all (CjRegistry *registry, GPtrArray *entries)
{
  /* A full load is the truth: nothing older can follow it. */
  g_hash_table_remove_all (registry->tombstones);
  /* The first load has nothing to remove: no set of 100,000 ids to build for it. */
  if (g_hash_table_size (registry->by_uuid) > 0)
    {
      g_autoptr(GHashTable) keep = g_hash_table_new (g_str_hash, g_str_equal);

      for (guint i = 0; i < entries->len; i++)
        g_hash_table_add (keep, ((CjEntry *) entries->pdata[i])->uuid);
      remove_unkept_or_present (registry, keep, NULL, NULL);
    }
  cj_registry_apply_all (registry, entries);
}

guint
cj_registry_resume (CjRegistry *registry, GPtrArray *entries, GHashTable *present, GPtrArray *deleted,
                    CjSyncCookie *reached)
{
  guint removed = 0;

  for (guint i = 0; deleted != NULL && i < deleted->len; i++)
    {
      CjRecord *record = g_hash_table_lookup (registry->by_uuid, deleted->pdata[i]);

      if (record == NULL)
        continue;
      g_hash_table_replace (registry->tombstones, g_strdup (deleted->pdata[i]),
                            g_strdup (record->entry->csn != NULL ? record->entry->csn : ""));
      remove_record (registry, record);
      removed++;
    }
  if (present != NULL)
    {
      g_autoptr(GHashTable) keep = g_hash_table_new (g_str_hash, g_str_equal);
      guint before = g_hash_table_size (registry->by_uuid);

      for (guint i = 0; i < entries->len; i++)
        g_hash_table_add (keep, ((CjEntry *) entries->pdata[i])->uuid);
      /* Gone without a version to remember (no tombstone): an entry the daemon wrote
       * after the server's snapshot comes back with the persist phase. */
      remove_unkept_or_present (registry, keep, present, reached);
      removed += before - g_hash_table_size (registry->by_uuid);
    }
  cj_registry_apply_all (registry, entries);
  return removed;
}

CjRecord *
cj_registry_group_of_member (CjRegistry *registry, const char *name)
{
  g_autofree char *key = name_key (name);

  return g_hash_table_lookup (registry->group_of_member, key);
}

CjRecord *
cj_registry_find_user_record (CjRegistry *registry, const char *name)
{
  g_autofree char *key = name_key (name);

  return g_hash_table_lookup (registry->users_by_key, key);
}

/* Lookups ---------------------------------------------------------------------------- */

CjEntry *
cj_registry_find_user (CjRegistry *registry, const char *name)
{
  g_autofree char *key = name_key (name);
  CjRecord *record = g_hash_table_lookup (registry->users_by_key, key);

  return record != NULL ? record->entry : NULL;
}

CjEntry *
cj_registry_find_group (CjRegistry *registry, const char *name)
{
  g_autofree char *key = name_key (name);
  CjRecord *record = g_hash_table_lookup (registry->groups_by_key, key);

  return record != NULL ? record->entry : NULL;
}

CjRecord *
cj_registry_get_record (CjRegistry *registry, const char *object_path)
{
  return g_hash_table_lookup (registry->by_path, object_path);
}

CjEntry *
cj_registry_get (CjRegistry *registry, const char *object_path)
{
  CjRecord *record = g_hash_table_lookup (registry->by_path, object_path);

  return record != NULL ? record->entry : NULL;
}

const char *
cj_registry_path_of (CjRegistry *registry, const char *uuid)
{
  CjRecord *record = g_hash_table_lookup (registry->by_uuid, uuid);

  return record != NULL ? record->path : NULL;
}

static GPtrArray *
sorted (GHashTable *table)
{
  GPtrArray *records = g_ptr_array_sized_new (g_hash_table_size (table));
  GHashTableIter iter;
  gpointer record;

  g_hash_table_iter_init (&iter, table);
  while (g_hash_table_iter_next (&iter, NULL, &record))
    g_ptr_array_add (records, record);
  g_ptr_array_sort (records, compare_records_by_name);
  return records;
}

GPtrArray *
cj_registry_sorted_users (CjRegistry *registry)
{
  if (registry->sorted_users == NULL)
    registry->sorted_users = sorted (registry->users_by_key);
  return registry->sorted_users;
}

GPtrArray *
cj_registry_sorted_groups (CjRegistry *registry)
{
  if (registry->sorted_groups == NULL)
    registry->sorted_groups = sorted (registry->groups_by_key);
  return registry->sorted_groups;
}

guint cj_registry_count_users (CjRegistry *r)  { return g_hash_table_size (r->users_by_key); }
guint cj_registry_count_groups (CjRegistry *r) { return g_hash_table_size (r->groups_by_key); }
