/* The daemon's writes to the Jabber subtree. A request describes one change; it runs in the
 * directory's worker thread (serialized with every other), checks what it depends on in
 * LDAP itself (never in the daemon's view, which other writers may have outdated), and
 * returns every entry it touched as read back from LDAP, for the registry to publish before
 * the D-Bus call returns. */
#pragma once

#include <gio/gio.h>

#include "cj-directory.h"
#include "cj-entry.h"

G_BEGIN_DECLS

typedef enum {
  CJ_STORE_ADD_USER,        /* name, nickname, jid, password?, photo?, group_dn? */
  CJ_STORE_MODIFY_USER,     /* dn, name; nickname? password? lock? photo? clear_photo? */
  CJ_STORE_DELETE_USER,     /* dn, name */
  CJ_STORE_SET_GROUP,       /* dn (user), name (user), group_dn (NULL: none) */
  CJ_STORE_ADD_GROUP,       /* name, members? */
  CJ_STORE_RENAME_GROUP,    /* dn, name (the new name) */
  CJ_STORE_ADD_MEMBERS,     /* dn (group), members */
  CJ_STORE_REMOVE_MEMBERS,  /* dn (group), members */
  CJ_STORE_DELETE_GROUP,    /* dn */
  CJ_STORE_MODIFY_GROUP,    /* dn; members? (added), remove_members?, name? (new name) */
} CjStoreOp;

typedef struct {
  CjStoreOp op;
  char     *dn;
  char     *name;
  char     *nickname;      /* NULL: unchanged */
  char     *jid;
  char     *password;      /* clear text; wiped when the request is freed */
  GBytes   *photo;         /* a JPEG for jpegPhoto */
  gboolean  clear_photo;
  int       lock;          /* -1: unchanged, 0: unlock, 1: lock */
  char     *group_dn;
  char    **members;       /* user names */
  gboolean  set_group;     /* MODIFY_USER: also move to group_dn (NULL: out of any group) */
  char    **remove_members; /* MODIFY_GROUP: user names to take out */
} CjStoreRequest;

CjStoreRequest *cj_store_request_new  (CjStoreOp op);
void            cj_store_request_free (CjStoreRequest *request);

typedef struct {
  CjEntry   *subject;      /* the entry the request was about, after it (NULL if deleted) */
  GPtrArray *changed;      /* CjEntry: every entry written, read back (subject included) */
  GPtrArray *removed;      /* char*: entryUUIDs of deleted entries */
  GPtrArray *moved_users;  /* char*: user names taken out of another group */
  GPtrArray *moved_from;   /* char*: entryUUID of that group, same index */
  char      *previous_group; /* SET_GROUP: entryUUID of the group the user was in, or NULL */
} CjChanges;

void cj_changes_free (CjChanges *changes);

void       cj_store_run_async  (CjDirectory        *directory,
                                CjStoreRequest     *request,   /* (transfer full) */
                                GCancellable       *cancellable,
                                GAsyncReadyCallback callback,
                                gpointer            user_data);
CjChanges *cj_store_run_finish (CjDirectory *directory, GAsyncResult *result, GError **error);

/* Internal to cj-store*.c: helpers the user and group halves share. */
typedef struct {
  CjDirectory *directory;
  LDAP        *ld;
  CjChanges   *changes;
} CjStoreContext;

CjEntry  *cj_store_read        (CjStoreContext *ctx, const char *dn, GError **error);
gboolean  cj_store_reread      (CjStoreContext *ctx, const char *dn, gboolean subject, GError **error);
gboolean  cj_store_modify      (CjStoreContext *ctx, const char *dn, LDAPMod **mods,
                                const char *what, GError **error);
gboolean  cj_store_leave_groups (CjStoreContext *ctx, const char *name, const char *keep_dn,
                                 gboolean record_moves, GError **error);
gboolean  cj_store_join_group  (CjStoreContext *ctx, const char *group_dn, const char *name,
                                GError **error);

gboolean  cj_store_users_run   (CjStoreContext *ctx, CjStoreRequest *request, GError **error);
gboolean  cj_store_groups_run  (CjStoreContext *ctx, CjStoreRequest *request, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjStoreRequest, cj_store_request_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjChanges, cj_changes_free)

G_END_DECLS
