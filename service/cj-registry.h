/* The published view of the directory: one record per Jabber user and group, keyed by
 * entryUUID so paths survive renames. Fed only with CjEntry records (from the follower and
 * from the daemon's own writes, read back from LDAP), it derives what LDAP stores once:
 * a user's Group from the groups' memberUid, a group's Members from the users that exist.
 * It never decides anything about the directory: LDAP is the truth, this is a view.
 *
 * It knows nothing of D-Bus: records are plain data, and every batch of changes ends with
 * the hooks saying which records appeared, vanished or changed (cj-tree.c turns that into
 * signals). A batch is one apply/remove/replace_all call. */
#pragma once

#include <glib.h>

#include "cj-csn.h"
#include "cj-entry.h"

G_BEGIN_DECLS

typedef struct _CjRegistry CjRegistry;
typedef struct _CjRecord   CjRecord;

struct _CjRecord {
  CjEntry   *entry;
  char      *path;
  CjRecord  *group;       /* users: the group shown as Group, NULL for none */
  GPtrArray *members;     /* groups: the users shown as Members (CjRecord *), by name */

  /* Change tracking, private to cj-registry.c. */
  gpointer   before;      /* what hooks.snapshot returned at the first change of a batch */
  guint      is_new : 1;
  guint      touched : 1;
  guint      gone : 1;
};

typedef struct {
  /* Called before a published record first changes in a batch; what it returns is given
   * back to changed() at the end of the batch (and to free_snapshot). NULL: not wanted. */
  gpointer (*snapshot)      (CjRecord *record, gpointer data);
  void     (*free_snapshot) (gpointer snapshot);
  void     (*added)          (CjRecord *record, gpointer data);
  void     (*removed)        (CjRecord *record, gpointer data);
  void     (*changed)        (CjRecord *record, gpointer snapshot, gpointer data);
  /* Counts changed (for the Server's UserCount/GroupCount). */
  void     (*counts_changed) (guint users, guint groups, gpointer data);
  gpointer data;
} CjRegistryHooks;

CjRegistry  *cj_registry_new        (const CjRegistryHooks *hooks);
void         cj_registry_free       (CjRegistry *registry);

void         cj_registry_set_primary_host (CjRegistry *registry, const char *host);
const char  *cj_registry_get_primary_host (CjRegistry *registry);

/* Publishes @entry (new or changed). */
void         cj_registry_apply      (CjRegistry *registry, CjEntry *entry);
void         cj_registry_remove     (CjRegistry *registry, const char *uuid);
/* Applies a part of a load (no removals, one batch). */
void         cj_registry_apply_all  (CjRegistry *registry, GPtrArray *entries);
/* A full reload: every entry of @entries is applied; every known one not in it removed. */
void         cj_registry_replace_all (CjRegistry *registry, GPtrArray *entries);

/* A resumed refresh (cj-follower.h, resumed): removes every entry of @deleted, and with
 * @present every entry neither in it nor in @entries — except one written after the state
 * the refresh @reached (may be NULL): the daemon's own write, read back while the server
 * answered the refresh; applies @entries; one batch. Returns how many entries were removed. */
guint        cj_registry_resume     (CjRegistry *registry, GPtrArray *entries, GHashTable *present,
                                     GPtrArray *deleted, CjSyncCookie *reached);

/* Lookups; the returned entry belongs to the registry (ref it to keep it). */
CjEntry     *cj_registry_find_user  (CjRegistry *registry, const char *name);
CjEntry     *cj_registry_find_group (CjRegistry *registry, const char *name);
CjEntry     *cj_registry_get        (CjRegistry *registry, const char *object_path);
CjRecord    *cj_registry_find_user_record (CjRegistry *registry, const char *name);
/* The group a user (listed or not, existing or not) is shown in: the one the rule of
 * cj-csn.h picks among the groups listing @name; NULL for none. */
CjRecord    *cj_registry_group_of_member  (CjRegistry *registry, const char *name);
CjRecord    *cj_registry_get_record (CjRegistry *registry, const char *object_path);
/* The object path of an entry of this registry, or NULL. */
const char  *cj_registry_path_of    (CjRegistry *registry, const char *uuid);

/* Every user / group record sorted by name (byte order); owned by the registry, valid
 * until the next change. */
GPtrArray   *cj_registry_sorted_users  (CjRegistry *registry);
GPtrArray   *cj_registry_sorted_groups (CjRegistry *registry);
guint        cj_registry_count_users  (CjRegistry *registry);
guint        cj_registry_count_groups (CjRegistry *registry);

char        *cj_registry_user_path_for_uuid  (const char *uuid);
char        *cj_registry_group_path_for_uuid (const char *uuid);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjRegistry, cj_registry_free)

G_END_DECLS
