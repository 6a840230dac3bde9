/* entryCSN and RFC 4533 sync cookies, as OpenLDAP writes them, and the one rule that picks a
 * user's group when several list it (another node moved the user at the same moment).
 *
 * A CSN is "YYYYmmddHHMMSS.uuuuuuZ#cccccc#sss#mmmmmm": time, a counter, the server id of the
 * provider that took the write (hex), a modifier count; fixed width, so byte order is time
 * order. A cookie is "rid=NNN[,sid=SSS],csn=<csn>[;<csn>...][,...]". With multi-provider
 * replication each persist-phase cookie carries only its origin server's CSN: a resumable
 * state is the newest CSN seen per server id (docs/scale-out.md, "Trap 2"). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CJ_CSN_LENGTH 40
#define CJ_SERVER_ID_MAX 4095

/* Whether @csn is a CSN of the form above (exactly). */
gboolean     cj_csn_valid (const char *csn, gsize length);
/* The server id field of @csn, or -1 if @csn is not a valid CSN. */
int          cj_csn_server_id (const char *csn);

/* The newest CSN per server id. */
typedef struct _CjSyncCookie CjSyncCookie;

CjSyncCookie *cj_sync_cookie_new   (void);
void          cj_sync_cookie_free  (CjSyncCookie *cookie);
void          cj_sync_cookie_clear (CjSyncCookie *cookie);
gboolean      cj_sync_cookie_is_empty (CjSyncCookie *cookie);
/* Takes the CSNs of a cookie the server sent (@length bytes, not NUL-terminated; anything
 * malformed is ignored) where they are newer than what is kept. Returns how many were taken. */
guint         cj_sync_cookie_merge (CjSyncCookie *cookie, const char *text, gsize length);
/* Every CSN of @from into @into, where newer. */
void          cj_sync_cookie_merge_all (CjSyncCookie *into, CjSyncCookie *from);
CjSyncCookie *cj_sync_cookie_copy  (CjSyncCookie *cookie);
/* Whether the state @cookie describes includes a write made at @csn: its server's CSN in
 * the cookie is as new. A NULL or malformed @csn, or one of a server the cookie does not
 * know, counts as included (the question is only ever "written after the state?", and a
 * provider's state names every server that wrote to it). */
gboolean      cj_sync_cookie_covers (CjSyncCookie *cookie, const char *csn);
/* "rid=000,csn=<csn>;<csn>..." in server id order, or NULL when empty. No sid: a consumer
 * that names a server id is not sent that server's changes. */
char         *cj_sync_cookie_to_string (CjSyncCookie *cookie);

/* The rule (docs/ldap-layout.md, "A user in several groups"): of two groups listing one
 * user, the one whose entry has the newer entryCSN keeps it; on equal CSNs (or none) the
 * smaller name in byte order, then the smaller DN. Negative when @a keeps the user. */
int           cj_group_claim_compare (const char *a_csn, const char *a_name, const char *a_dn,
                                      const char *b_csn, const char *b_name, const char *b_dn);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjSyncCookie, cj_sync_cookie_free)

G_END_DECLS
