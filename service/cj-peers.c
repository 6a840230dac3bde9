/* Caller credentials, cached per unique bus name: see cj-peers.h for the why. */
#include "config.h"
#include "cj-peers.h"

#include <glib/gi18n.h>

#include "cj-error.h"

/* Bus calls of ours in flight at once (dbus-daemon allows a connection 128). */
#define MAX_LOOKUPS 64
/* Calls of one name waiting for its look-up (the gate bounds what follows). */
#define MAX_WAITERS 16
/* Names remembered; past it the idle ones are forgotten (each costs ~100 bytes). */
#define MAX_CACHED 4096

typedef struct {
  CjPeerFunc func;
  gpointer   data;
} Waiter;

typedef struct {
  guint32  uid;
  guint32  pid;
  gboolean known;
  GArray  *waiters;      /* Waiter, while the look-up is in flight */
} Peer;

struct _CjPeers {
  GDBusConnection *connection;
  GHashTable      *by_name;       /* unique name -> Peer */
  guint            lookups;       /* in flight */
  guint            subscription;  /* NameOwnerChanged */
  GCancellable    *cancellable;
};

typedef struct {
  CjPeers *peers;
  char    *name;
} Lookup;

static void
peer_free (Peer *peer)
{
  g_clear_pointer (&peer->waiters, g_array_unref);
  g_free (peer);
}

static void
on_name_owner_changed (GDBusConnection *connection, const char *sender, const char *path,
                       const char *interface, const char *signal, GVariant *parameters,
                       gpointer data)
{
  CjPeers *peers = data;
  const char *name, *old_owner, *new_owner;
  Peer *peer;

  g_variant_get (parameters, "(&s&s&s)", &name, &old_owner, &new_owner);
  if (*new_owner != '\0' || (peer = g_hash_table_lookup (peers->by_name, name)) == NULL)
    return;
  /* A look-up in flight answers (with an error) and removes the name itself. */
  if (peer->known)
    g_hash_table_remove (peers->by_name, name);
}

CjPeers *
cj_peers_new (GDBusConnection *connection)
{
  CjPeers *peers = g_new0 (CjPeers, 1);

  peers->connection = g_object_ref (connection);
  peers->by_name = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) peer_free);
  peers->cancellable = g_cancellable_new ();
  peers->subscription = g_dbus_connection_signal_subscribe (connection, "org.freedesktop.DBus",
                                                            "org.freedesktop.DBus", "NameOwnerChanged",
                                                            "/org/freedesktop/DBus", NULL,
                                                            G_DBUS_SIGNAL_FLAGS_NONE,
                                                            on_name_owner_changed, peers, NULL);
  return peers;
}

void
cj_peers_free (CjPeers *peers)
{
  if (peers == NULL)
    return;
  g_dbus_connection_signal_unsubscribe (peers->connection, peers->subscription);
  /* Look-ups in flight own a reference-free pointer to us: cancel them first; their
   * callbacks see the cancellation and touch nothing. */
  g_cancellable_cancel (peers->cancellable);
  g_object_unref (peers->cancellable);
  g_hash_table_unref (peers->by_name);
  g_object_unref (peers->connection);
  g_free (peers);
}

/* Drops the names nobody waits for; called when the cache is full. */
static void
forget_idle (CjPeers *peers)
{
  GHashTableIter iter;
  Peer *peer;

  g_hash_table_iter_init (&iter, peers->by_name);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &peer))
    if (peer->known)
      g_hash_table_iter_remove (&iter);
}

static void
on_credentials (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autofree Lookup *lookup = user_data;
  g_autofree char *name = lookup->name;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = g_dbus_connection_call_finish (G_DBUS_CONNECTION (source), result, &error);
  g_autoptr(GVariant) credentials = NULL;
  g_autoptr(GArray) waiters = NULL;
  CjPeers *peers = lookup->peers;
  guint32 uid, pid;
  Peer *peer;

  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;               /* cj_peers_free: @peers is gone */
  peers->lookups--;
  peer = g_hash_table_lookup (peers->by_name, name);
  g_assert (peer != NULL && !peer->known);
  waiters = g_steal_pointer (&peer->waiters);

  if (reply != NULL)
    {
      credentials = g_variant_get_child_value (reply, 0);
      if (!g_variant_lookup (credentials, "UnixUserID", "u", &peer->uid))
        g_set_error_literal (&error, CJ_ERROR, CJ_ERROR_PERMISSION_DENIED,
                             _("The bus does not say which user the caller is"));
      g_variant_lookup (credentials, "ProcessID", "u", &peer->pid);
    }
  uid = error == NULL ? peer->uid : G_MAXUINT32;
  pid = error == NULL ? peer->pid : 0;
  if (error == NULL)
    peer->known = TRUE;
  else
    g_hash_table_remove (peers->by_name, name);    /* gone, or refused: ask again next time */

  /* @peer may be forgotten by what a waiter does: only the copies are used from here. */
  for (guint i = 0; i < waiters->len; i++)
    {
      Waiter *waiter = &g_array_index (waiters, Waiter, i);
      waiter->func (uid, pid, error, waiter->data);
    }
}

gboolean
cj_peers_lookup (CjPeers *peers, const char *sender, CjPeerFunc func, gpointer data, GError **error)
{
  Peer *peer = g_hash_table_lookup (peers->by_name, sender);
  Waiter waiter = { func, data };
  Lookup *lookup;

  if (peer != NULL && peer->known)
    {
      func (peer->uid, peer->pid, NULL, data);
      return TRUE;
    }
  if (peer != NULL)
    {
      if (peer->waiters->len >= MAX_WAITERS)
        {
          g_set_error (error, CJ_ERROR, CJ_ERROR_BUSY,
                       _("Too many calls from this connection are waiting to be identified; try again later"));
          return FALSE;
        }
      g_array_append_val (peer->waiters, waiter);
      return TRUE;
    }
  if (peers->lookups >= MAX_LOOKUPS)
    {
      g_set_error (error, CJ_ERROR, CJ_ERROR_BUSY,
                   _("The service is identifying too many callers at once; try again later"));
      return FALSE;
    }
  if (g_hash_table_size (peers->by_name) >= MAX_CACHED)
    forget_idle (peers);

  peer = g_new0 (Peer, 1);
  peer->waiters = g_array_new (FALSE, FALSE, sizeof (Waiter));
  g_array_append_val (peer->waiters, waiter);
  g_hash_table_insert (peers->by_name, g_strdup (sender), peer);
  peers->lookups++;

  lookup = g_new0 (Lookup, 1);
  lookup->peers = peers;
  lookup->name = g_strdup (sender);
  g_dbus_connection_call (peers->connection, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                          "org.freedesktop.DBus", "GetConnectionCredentials",
                          g_variant_new ("(s)", sender), G_VARIANT_TYPE ("(a{sv})"),
                          G_DBUS_CALL_FLAGS_NO_AUTO_START, -1, peers->cancellable,
                          on_credentials, lookup);
  return TRUE;
}
