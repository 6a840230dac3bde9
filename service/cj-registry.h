/* The published view of the directory: one D-Bus object per Jabber user and group, keyed by
 * entryUUID so paths survive renames. Fed only with CjEntry records (from the follower and
 * from the daemon's own writes, read back from LDAP), it derives what LDAP stores once:
 * a user's Group from the groups' memberUid, a group's Members from the users that exist.
 * It never decides anything about the directory: LDAP is the truth, this is a view. */
#pragma once

#include <gio/gio.h>

#include "cj-entry.h"
#include "cj-generated.h"

G_BEGIN_DECLS

typedef struct _CjRegistry CjRegistry;

typedef struct {
  /* Called once for each new exported interface, before it is exported: connect the
   * handle-* signals and attach the gate here. */
  void (*user_created)   (CjUser *user, gpointer data);
  void (*group_created)  (CjGroup *group, gpointer data);
  /* Counts changed (for the Server's UserCount/GroupCount). */
  void (*counts_changed) (guint users, guint groups, gpointer data);
  gpointer data;
} CjRegistryHooks;

CjRegistry  *cj_registry_new        (GDBusObjectManagerServer *manager,
                                     const CjRegistryHooks    *hooks);
void         cj_registry_free       (CjRegistry *registry);

void         cj_registry_set_primary_host (CjRegistry *registry, const char *host);

/* Publishes @entry (new or changed). */
void         cj_registry_apply      (CjRegistry *registry, CjEntry *entry);
void         cj_registry_remove     (CjRegistry *registry, const char *uuid);
/* A full reload: every entry of @entries is applied; every known one not in it removed. */
void         cj_registry_replace_all (CjRegistry *registry, GPtrArray *entries);

/* Lookups; the returned entry belongs to the registry (ref it to keep it). */
CjEntry     *cj_registry_find_user  (CjRegistry *registry, const char *name);
CjEntry     *cj_registry_find_group (CjRegistry *registry, const char *name);
CjEntry     *cj_registry_get        (CjRegistry *registry, const char *object_path);
/* The object path of an entry of this registry, or NULL. */
const char  *cj_registry_path_of    (CjRegistry *registry, const char *uuid);
/* The group @user_name is in (or NULL). */
CjEntry     *cj_registry_group_of   (CjRegistry *registry, const char *user_name);

/* Sorted by name; (transfer container) arrays of object paths. */
GPtrArray   *cj_registry_list_users  (CjRegistry *registry);
GPtrArray   *cj_registry_list_groups (CjRegistry *registry);
guint        cj_registry_count_users  (CjRegistry *registry);
guint        cj_registry_count_groups (CjRegistry *registry);

char        *cj_registry_user_path_for_uuid  (const char *uuid);
char        *cj_registry_group_path_for_uuid (const char *uuid);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjRegistry, cj_registry_free)

G_END_DECLS
