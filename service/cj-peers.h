/* Who is behind a unique bus name: the uid and pid dbus-daemon vouches for
 * (GetConnectionCredentials). A unique name is never reused while the bus runs and a
 * connection's credentials never change, so an answer is kept until the name leaves the
 * bus (NameOwnerChanged). Look-ups of one name share one call, and the calls in flight are
 * bounded: a caller that opens connection after connection cannot make the daemon hold
 * more than MAX_LOOKUPS of its own calls on the bus (dbus-daemon refuses a connection's
 * 129th pending call, and that connection is the one every caller's reply goes through). */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct _CjPeers CjPeers;

/* @error is NULL when @uid and @pid are known. */
typedef void (*CjPeerFunc) (guint32 uid, guint32 pid, const GError *error, gpointer data);

CjPeers  *cj_peers_new    (GDBusConnection *connection);
void      cj_peers_free   (CjPeers *peers);

/* Calls @func with @data once the credentials of @sender are known: at once from the
 * cache, later otherwise. FALSE with CJ_ERROR_BUSY (and @func never called) when too many
 * look-ups are in flight or too many calls of @sender wait for one. */
gboolean  cj_peers_lookup (CjPeers *peers, const char *sender, CjPeerFunc func, gpointer data,
                           GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjPeers, cj_peers_free)

G_END_DECLS
