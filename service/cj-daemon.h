/* calculate-jabberd's one state object, shared by the files that implement its D-Bus objects
 * (cj-*-object.c). It owns the connection to the bus, the object tree, the gate, the
 * directory and the view of it. */
#pragma once

#include <gio/gio.h>

#include "cj-config.h"
#include "cj-directory.h"
#include "cj-ejabberd.h"
#include "cj-follower.h"
#include "cj-gate.h"
#include "cj-generated.h"
#include "cj-registry.h"
#include "cj-store.h"

G_BEGIN_DECLS

typedef struct {
  CjConfig                 *config;
  GDBusConnection          *connection;
  GDBusObjectManagerServer *object_manager;
  CjGate                   *gate;
  CjDirectory              *directory;
  CjRegistry               *registry;
  CjFollower               *follower;
  CjManager                *manager;        /* at CJ_MANAGER_PATH, beside the ObjectManager */
  CjServer                 *server;         /* at CJ_SERVER_PATH */
  CjObjectSkeleton         *server_object;
  CjEjabberd               *ejabberd;
  gboolean                  setup_running;

  GMainLoop                *loop;
  guint                     owner_id;
  gboolean                  loaded;         /* the first load finished (or failed) */
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

void      cj_reply_nothing      (CjDaemon *daemon, GDBusMethodInvocation *invocation, CjChanges *changes);
void      cj_reply_subject_path (CjDaemon *daemon, GDBusMethodInvocation *invocation, CjChanges *changes);

/* The entry behind the object a method was called on, or NULL with NotFound set. */
CjEntry  *cj_daemon_lookup_self (CjDaemon *daemon, GDBusMethodInvocation *invocation, GError **error);

/* Object paths of users to their names, all or nothing (NotFound names the unknown). */
char    **cj_daemon_user_names  (CjDaemon *daemon, const char *const *paths, GError **error);

/* Setup of the exported objects (cj-*-object.c). */
void      cj_manager_object_init (CjDaemon *daemon);
void      cj_server_object_init  (CjDaemon *daemon);
gboolean  cj_server_object_load_state (CjDaemon *daemon, GError **error);
void      cj_server_object_set_directory_state (CjDaemon *daemon, gboolean connected, gboolean configured);
void      cj_user_object_init    (CjDaemon *daemon, CjUser *user);
void      cj_group_object_init   (CjDaemon *daemon, CjGroup *group);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjDaemon, cj_daemon_free)

G_END_DECLS
