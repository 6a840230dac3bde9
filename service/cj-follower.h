/* Follows the Jabber subtree of the directory with an RFC 4533 refreshAndPersist search:
 * the refresh is the initial load, the persist phase carries every later change, whoever
 * made it (this daemon, ldapmodify, another replica). Runs in its own thread; everything it
 * learns is handed to the main context through the hooks. On a lost connection it reconnects
 * and resumes from its sync cookie (the newest CSN per server id it has seen, kept per
 * provider: the address at the other end of the connection): the server sends only what
 * changed meanwhile. A full reload is only the first load, an explicit reload, or when the
 * server asks for one (e-syncRefreshRequired). A server without the sync provider is read
 * with a plain search every POLL_SECONDS instead. */
#pragma once

#include <glib.h>

#include "cj-csn.h"
#include "cj-directory.h"
#include "cj-entry.h"

G_BEGIN_DECLS

typedef struct {
  /* The whole subtree as it is now (after a (re)load). (transfer none) */
  void (*loaded)  (GPtrArray *entries, gpointer data);
  /* A resumed session's refresh (RFC 4533): @entries changed or added since @cookie; with
   * @present (a set of entryUUIDs, NULL when the server sent deletions instead) every known
   * entry neither present nor in @entries is gone, unless written after the state the
   * refresh @reached; every one in @deleted is gone. */
  void (*resumed) (GPtrArray *entries, GHashTable *present, GPtrArray *deleted,
                   const char *cookie, CjSyncCookie *reached, gpointer data);
  void (*changed) (CjEntry *entry, gpointer data);
  void (*removed) (const char *uuid, gpointer data);
  /* @connected: a session is up; @configured: the Jabber subtree exists. */
  void (*status)  (gboolean connected, gboolean configured, const char *problem, gpointer data);
  /* Part of a full load while it is read (thousands of entries at a time, each once, in the
   * order read): a receiver may apply them early; loaded() still brings them all. May be
   * NULL. (transfer none) */
  void (*loading) (GPtrArray *entries, gpointer data);
  gpointer data;
} CjFollowerHooks;

typedef struct _CjFollower CjFollower;

CjFollower *cj_follower_new    (CjDirectory *directory, const CjFollowerHooks *hooks);
/* Starts the thread; hooks run in the thread-default main context of the caller. */
void        cj_follower_start  (CjFollower *follower);
/* Drops the session and loads again, from scratch (after the subtree was created, for
 * instance). */
void        cj_follower_reload (CjFollower *follower);
void        cj_follower_free   (CjFollower *follower);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjFollower, cj_follower_free)

G_END_DECLS
