/* What the daemon knows of one directory entry of the Jabber subtree: a plain record read
 * from LDAP (by the follower or right after one of the daemon's own writes), handed to the
 * registry that publishes it. Records are immutable once built. */
#pragma once

#include <glib.h>
#include <ldap.h>

G_BEGIN_DECLS

typedef enum {
  CJ_ENTRY_OTHER,
  CJ_ENTRY_USER,
  CJ_ENTRY_GROUP,
} CjEntryKind;

typedef struct {
  gatomicrefcount ref;
  CjEntryKind kind;
  char     *uuid;          /* entryUUID, 32 hex digits: the object id */
  char     *dn;
  char     *name;          /* user: uid; group: description (cn in the first layout) */
  char     *csn;           /* entryCSN: orders versions of the entry (may be NULL) */

  /* users */
  char     *nickname;      /* displayName, else sn */
  gboolean  locked;
  gboolean  has_password;
  gboolean  has_photo;

  /* groups */
  char    **members;       /* memberUid values, as stored */
} CjEntry;

/* The attributes to ask for (jpegPhoto is asked for separately: it is large). */
extern const char *const cj_entry_attrs[];

/* Reads @message. @uuid (32 hex) may be given when the entry itself lacks entryUUID (the
 * sync protocol sends it in a control). Returns NULL for an entry that is neither a user
 * nor a group of ours. */
CjEntry *cj_entry_new_from_message (LDAP *ld, LDAPMessage *message, const char *uuid,
                                    const char *users_dn, const char *groups_dn);
/* The entry a post-read control (RFC 4527) among @controls brought with a write's answer;
 * NULL without one, or for an entry that is neither a user nor a group of ours. */
CjEntry *cj_entry_new_from_postread (LDAPControl **controls, const char *users_dn,
                                     const char *groups_dn);
CjEntry *cj_entry_ref   (CjEntry *entry);
void     cj_entry_unref (CjEntry *entry);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjEntry, cj_entry_unref)

G_END_DECLS
