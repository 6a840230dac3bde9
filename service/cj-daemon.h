/* calculate-jabberd's one state object, shared by the files that implement its D-Bus objects
 * (cj-*-object.c, cj-tree.c, cj-object-manager.c). It owns the connection to the bus, the
 * gate, the directory and the view of it (the registry), which the tree publishes. */
#pragma once

#include <gio/gio.h>

#include "cj-config.h"
#include "cj-directory.h"
#include "cj-ejabberd.h"
#include "cj-follower.h"
#include "cj-gate.h"
#include "cj-peers.h"
#include "cj-reads.h"
#include "cj-generated.h"
#include "cj-registry.h"
#include "cj-store.h"

G_BEGIN_DECLS

typedef struct {
  CjConfig                 *config;
  GDBusConnection          *connection;
  CjPeers                  *peers;          /* who the callers are (cj-peers.c) */
  CjGate                   *gate;
  CjReads                  *reads;          /* the listings, bounded (cj-reads.c) */
  GVariant                 *managed_objects; /* GetManagedObjects' reply until a change */
  gulong                    server_notify_id;
  CjDirectory              *directory;
  CjRegistry               *registry;
  CjFollower               *follower;
  CjManager                *manager;        /* at CJ_MANAGER_PATH, beside the ObjectManager */
  CjServer                 *server;         /* at CJ_SERVER_PATH */
  guint                     users_id;       /* the subtrees (cj-tree.c) */
  guint                     groups_id;
  guint                     object_manager_id;
  gboolean                  published;      /* the tree is on the bus: announce changes */
  CjEjabberd               *ejabberd;
  gboolean                  setup_running;
  struct _CjOutcomes       *outcomes;       /* requests whose outcome is not known yet */
  struct _CjConverge       *converge;       /* repairs what several writers left (cj-converge.c) */

  GMainLoop                *loop;
  guint                     owner_id;
  gboolean                  loaded;         /* the first load finished (or failed) */
  GPtrArray                *loading;        /* entries of the first load applied before its end */
  gboolean                  replace;
  int                       exit_status;
} CjDaemon;

CjDaemon *cj_daemon_new  (CjConfig *config, gboolean replace, GError **error);
int       cj_daemon_run  (CjDaemon *daemon);
void      cj_daemon_free (CjDaemon *daemon);

/* Helpers for the object files ------------------------------------------------------- */

/* Publishes what a store request changed (before the reply), and tells ejabberd. */
void      cj_daemon_apply_changes (CjDaemon *daemon, CjChanges *changes);

/* Returns @error (mapped into CJ_ERROR) to the caller, with an audit line for changes. */
gboolean  cj_daemon_fail (GDBusMethodInvocation *invocation, const char *target, GError *error);

typedef void (*CjReplyFunc) (CjDaemon *daemon, GDBusMethodInvocation *invocation, CjChanges *changes);

/* Runs @request (transfer full) against the directory; on success publishes every change
 * in the registry, writes the audit line, then @reply answers the call. */
void      cj_daemon_store (CjDaemon *daemon, GDBusMethodInvocation *invocation, const char *target,
                           CjStoreRequest *request, CjReplyFunc reply);
/* A request whose outcome was found later (cj-outcome.c): publishes @changes (transfer
 * full) and, when @applied, tells ejabberd what the request would have told it. */
void      cj_daemon_catch_up (CjDaemon *daemon, CjStoreRequest *request, CjChanges *changes,
                              gboolean applied);

void      cj_reply_nothing      (CjDaemon *daemon, GDBusMethodInvocation *invocation, CjChanges *changes);
void      cj_reply_subject_path (CjDaemon *daemon, GDBusMethodInvocation *invocation, CjChanges *changes);

/* Object paths of users to their names, all or nothing (NotFound names the unknown). */
char    **cj_daemon_user_names  (CjDaemon *daemon, const char *const *paths, GError **error);

/* Setup of the exported objects (cj-*-object.c). */
void      cj_manager_object_init (CjDaemon *daemon);
void      cj_server_object_init  (CjDaemon *daemon);
gboolean  cj_server_object_load_state (CjDaemon *daemon, GError **error);
void      cj_server_object_set_directory_state (CjDaemon *daemon, gboolean connected, gboolean configured);

/* A User / Group method call on @entry that passed the gate (cj-user-object.c,
 * cj-group-object.c); they answer @invocation. */
void      cj_user_object_call    (CjDaemon *daemon, CjEntry *user, GDBusMethodInvocation *invocation);
void      cj_group_object_call   (CjDaemon *daemon, CjEntry *group, GDBusMethodInvocation *invocation);

/* The users' and groups' subtrees (cj-tree.c). */
void      cj_tree_registry_hooks (CjDaemon *daemon, CjRegistryHooks *hooks);
gboolean  cj_tree_publish        (CjDaemon *daemon, GError **error);
void      cj_tree_unpublish      (CjDaemon *daemon);
/* The record's properties (a{sv}, floating) and interface name. */
GVariant   *cj_tree_properties     (CjDaemon *daemon, CjRecord *record);
const char *cj_tree_interface_of   (CjRecord *record);
/* An upper bound of the record's size in a reply, in bytes. */
gsize       cj_tree_estimate_size  (CjDaemon *daemon, CjRecord *record);

/* org.freedesktop.DBus.ObjectManager (cj-object-manager.c); registering also exports
 * the Server object. */
gboolean  cj_object_manager_register     (CjDaemon *daemon, GError **error);
void      cj_object_manager_unregister   (CjDaemon *daemon);
void      cj_object_manager_emit_added   (CjDaemon *daemon, CjRecord *record);
void      cj_object_manager_emit_removed (CjDaemon *daemon, CjRecord *record);
/* Something in GetManagedObjects' reply changed: build it anew at the next call. */
void      cj_object_manager_invalidate   (CjDaemon *daemon);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjDaemon, cj_daemon_free)

G_END_DECLS
