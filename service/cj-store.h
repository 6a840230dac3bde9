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
  gatomicrefcount ref;
  CjStoreOp op;
  char     *dn;
  char     *uuid;          /* DELETE_*: the entryUUID of what goes (for the registry) */
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
CjStoreRequest *cj_store_request_ref  (CjStoreRequest *request);
/* Drops a reference (the last one wipes the password). */
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

/* Finding out what became of a request whose answer was lost (CJ_ERROR_OUTCOME_UNKNOWN):
 * once the server has answered the connection that carried it (run_settled_async), the
 * entries are read back and compared with what was asked. Fails with DirectoryUnavailable
 * while the server does not answer; call again later. (cj-store-verify.c) */
typedef enum {
  CJ_OUTCOME_APPLIED,       /* what was asked holds */
  CJ_OUTCOME_NOT_APPLIED,   /* it does not, and no step of it was made */
  CJ_OUTCOME_PARTIAL,       /* a first step was made, not all: repeating the request ends it */
} CjOutcome;

typedef struct {
  CjOutcome  outcome;
  char      *detail;        /* what was found, in words (may be NULL) */
  CjChanges *changes;       /* the entries as they are now, for the registry */
} CjVerdict;

void       cj_verdict_free        (CjVerdict *verdict);
const char *cj_outcome_to_string  (CjOutcome outcome);
void       cj_store_verify_async  (CjDirectory        *directory,
                                   CjStoreRequest     *request,   /* (transfer none) */
                                   GAsyncReadyCallback callback,
                                   gpointer            user_data);
CjVerdict *cj_store_verify_finish (CjDirectory *directory, GAsyncResult *result, GError **error);

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
/* A write (add, or modify) with the post-read control: returns the LDAP result code; on
 * success *@entry is the entry as written, or NULL when the answer did not bring it (then
 * cj_store_record reads it back). @permissive: slapd's permissive modify, so that adding a
 * value present or deleting one absent is no error (no read before the write). */
int       cj_store_write_read  (CjStoreContext *ctx, gboolean add, const char *dn, LDAPMod **mods,
                                gboolean permissive, CjEntry **entry);
/* Records the entry at @dn after a write, as cj_store_reread does: @entry (transfer full)
 * when the write brought it, else read back. */
gboolean  cj_store_record      (CjStoreContext *ctx, const char *dn, CjEntry *entry,
                                gboolean subject, GError **error);
gboolean  cj_store_leave_groups (CjStoreContext *ctx, const char *name, const char *keep_dn,
                                 gboolean record_moves, GError **error);
/* The same in halves, so that the search for @name's groups can share a round trip with
 * another request: send it, then cj_store_leave_groups_sent (or _drop, on a way out). */
int       cj_store_memberships_send  (CjStoreContext *ctx, const char *name, int *msgid);
void      cj_store_memberships_drop  (CjStoreContext *ctx, int msgid);
gboolean  cj_store_leave_groups_sent (CjStoreContext *ctx, int msgid, const char *name,
                                      const char *keep_dn, gboolean record_moves, GError **error);
/* cj_store_write_read's add in halves: the add (with the post-read control) goes out, then
 * its answer is waited for. */
int       cj_store_add_send    (CjStoreContext *ctx, const char *dn, LDAPMod **mods, int *msgid);
int       cj_store_write_wait  (CjStoreContext *ctx, int msgid, CjEntry **entry);
gboolean  cj_store_join_group  (CjStoreContext *ctx, const char *group_dn, const char *name,
                                GError **error);
/* The same, with the group as the answer brought it in *@group (NULL when the member was
 * there already, or the server sent no post-read: read it back then). */
gboolean  cj_store_join_group_read (CjStoreContext *ctx, const char *group_dn, const char *name,
                                    CjEntry **group, GError **error);

CjChanges *cj_changes_new      (void);

/* How the account at @dn compares with the AddUser @request: absent, exactly as asked
 * (attributes, password, photo, unlocked, in no group but the asked one), or another. */
typedef enum { CJ_USER_ABSENT, CJ_USER_AS_ASKED, CJ_USER_OTHER } CjUserMatch;
CjUserMatch cj_store_user_as_asked (CjStoreContext *ctx, CjStoreRequest *request, const char *dn,
                                    GError **error);
/* The DN of a group named @name (as the daemon reads names: the attribute's own equality,
 * case-insensitive) other than @except_dn (may be NULL), NULL in *dn if none. */
gboolean   cj_store_find_group_named (CjStoreContext *ctx, const char *name, const char *except_dn,
                                      char **dn, GError **error);
/* The DNs of the groups that list @name as a member. */
GPtrArray *cj_store_groups_of  (CjStoreContext *ctx, const char *name, GError **error);

/* NotConfigured for a write below @dn that found no parent (LDAP_NO_SUCH_OBJECT); FALSE. */
gboolean  cj_store_subtree_missing (const char *dn, GError **error);
/* A CjDirectoryFunc: the jpegPhoto of the entry whose DN is @data, as GBytes (empty without
 * one), for GetPhoto and the avatars. */
gpointer  cj_store_read_photo  (CjDirectory *directory, LDAP *ld, gpointer data,
                                GCancellable *cancellable, GError **error);
gboolean  cj_store_users_run   (CjStoreContext *ctx, CjStoreRequest *request, GError **error);
gboolean  cj_store_groups_run  (CjStoreContext *ctx, CjStoreRequest *request, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjStoreRequest, cj_store_request_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjChanges, cj_changes_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjVerdict, cj_verdict_free)

G_END_DECLS
