/* The messages of the LDAP Content Synchronization Operation (RFC 4533) the follower reads
 * and the request it sends, decoded from BER. Debian's libldap has the ldap_sync_* calls but
 * they keep one cookie (the last, which with multi-provider replication carries one server's
 * CSN: docs/scale-out.md) and call back from inside ldap_sync_poll; the follower drives the
 * search itself. Everything from the server is checked: a malformed message is ignored. */
#pragma once

#include <glib.h>
#include <ldap.h>

G_BEGIN_DECLS

/* Starts a refreshAndPersist search; @cookie (may be NULL) resumes from that state. */
int      cj_sync_search (LDAP *ld, const char *base, const char *filter, const char *const *attrs,
                         const char *cookie, int *msgid);

/* The Sync State control of a search entry: state (LDAP_SYNC_PRESENT/ADD/MODIFY/DELETE),
 * entryUUID (32 hex) and the cookie it may carry (NULL if none). */
gboolean cj_sync_parse_state (LDAP *ld, LDAPMessage *message, int *state, char **uuid, char **cookie);

typedef enum {
  CJ_SYNC_INFO_NEW_COOKIE,
  CJ_SYNC_INFO_REFRESH_DELETE,
  CJ_SYNC_INFO_REFRESH_PRESENT,
  CJ_SYNC_INFO_ID_SET,
} CjSyncInfoKind;

typedef struct {
  CjSyncInfoKind kind;
  char      *cookie;           /* NULL if none */
  gboolean   refresh_done;     /* REFRESH_DELETE, REFRESH_PRESENT */
  gboolean   refresh_deletes;  /* ID_SET: the UUIDs are deletions, else presences */
  GPtrArray *uuids;            /* ID_SET: char *, 32 hex */
} CjSyncInfo;

/* A Sync Info intermediate message, or NULL for any other (or malformed) one. */
CjSyncInfo *cj_sync_parse_info (LDAP *ld, LDAPMessage *message);
void        cj_sync_info_free  (CjSyncInfo *info);

/* The same from the BER values themselves (the unit test feeds them hostile ones). */
gboolean    cj_sync_decode_state (const struct berval *value, int *state, char **uuid, char **cookie);
CjSyncInfo *cj_sync_decode_info  (const struct berval *value);

/* The end of the search: its result code and the Sync Done control's cookie (NULL if none). */
int      cj_sync_parse_done (LDAP *ld, LDAPMessage *message, char **cookie);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjSyncInfo, cj_sync_info_free)

G_END_DECLS
