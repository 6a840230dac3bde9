#include "config.h"
#include "cj-daemon.h"

#include <glib-unix.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gi18n.h>

#include "cj-admin.h"
#include "cj-audit.h"
#include "cj-converge.h"
#include "cj-common.h"
#include "cj-error.h"
#include "cj-health.h"
#include "cj-live.h"
#include "cj-outcome.h"
#include "cj-setup-jabber.h"

/* Errors ---------------------------------------------------------------------------- */

/* Clients only ever see the registered domain: anything else becomes Failed, with its
 * message kept. */
static GError *
map_error (GError *error)
{
  if (error->domain == CJ_ERROR)
    return error;
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      GError *mapped = g_error_new_literal (CJ_ERROR, CJ_ERROR_CANCELLED, error->message);
      g_error_free (error);
      return mapped;
    }
  {
    GError *mapped = g_error_new_literal (CJ_ERROR, CJ_ERROR_FAILED, error->message);
    g_error_free (error);
    return mapped;
  }
}

gboolean
cj_daemon_fail (GDBusMethodInvocation *invocation, const char *target, GError *error)
{
  g_autoptr(GError) mapped = map_error (error);

  if (cj_gate_get_caller (invocation) != NULL)
    cj_audit_finish (invocation, target, mapped);
  g_dbus_method_invocation_return_gerror (invocation, mapped);
  return TRUE;   /* handled, for the handle-* signal */
}

/* Running a change ------------------------------------------------------------------- */

typedef struct {
  CjDaemon              *daemon;
  GDBusMethodInvocation *invocation;
  char                  *target;
  CjReplyFunc            reply;
  CjStoreRequest        *request;
  CjChanges             *changes;
  /* What ejabberd must be told after the change (cj-ejabberd.h). */
  char                  *kick;          /* a user whose sessions end */
  guint                  pending;       /* what ejabberd is being told */
} StoreCall;

static void
store_call_free (StoreCall *call)
{
  g_clear_pointer (&call->changes, cj_changes_free);
  g_clear_pointer (&call->request, cj_store_request_free);
  g_free (call->kick);
  g_free (call->target);
  g_free (call);
}

static void
reply (StoreCall *call)
{
  /* A change found made later (cj-outcome.c) has nobody to answer. */
  if (call->invocation == NULL)
    {
      store_call_free (call);
      return;
    }
  cj_audit_finish (call->invocation, call->target, NULL);
  /* The Server's counts changed with it: on the bus before the reply, as the objects'. */
  g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (call->daemon->server));
  call->reply (call->daemon, call->invocation, call->changes);
  store_call_free (call);
}

/* The kicks run at once, on every host in parallel; the reply waits for them. */
static void
told_one (StoreCall *call)
{
  if (--call->pending == 0)
    reply (call);
}

static void
on_kicked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  StoreCall *call = user_data;
  g_autoptr(GError) error = NULL;

  /* The directory is changed already: a lock still refuses the next login. */
  if (!cj_ejabberd_kick_finish (call->daemon->ejabberd, result, &error))
    g_warning ("Could not end the sessions of %s: %s", call->kick, error->message);
  told_one (call);
}

/* A locked or deleted user is kicked on every host before the reply. The rest follows every
 * change of the directory, the daemon's own and other writers' alike (cj-live.c): one cache
 * clear for a burst of changes, roster pushes, avatars. A new password needs nothing (no
 * auth cache). The kicks go out before the changes are published, so that ejabberd ends
 * the sessions while the objects change on the bus; the reply waits for both. */
static void
publish_and_tell (StoreCall *call)
{
  CjServer *server = call->daemon->server;

  call->pending = 1;   /* this function's own, released below */
  if (call->kick != NULL && cj_server_get_configured (server))
    {
      call->pending++;
      cj_ejabberd_kick_async (call->daemon->ejabberd, call->kick, cj_server_get_hosts (server), on_kicked, call);
    }
  cj_daemon_apply_changes (call->daemon, call->changes);
  told_one (call);
}

static void
on_stored (GObject *source, GAsyncResult *result, gpointer user_data)
{
  StoreCall *call = user_data;
  CjDaemon *daemon = call->daemon;
  GError *error = NULL;

  call->changes = cj_store_run_finish (daemon->directory, result, &error);
  if (call->changes == NULL)
    {
      /* Answered now, found out later: the caller learns that it is not known yet, the
       * audit log and the objects get the real outcome once the directory answers. */
      if (g_error_matches (error, CJ_ERROR, CJ_ERROR_OUTCOME_UNKNOWN))
        cj_outcome_watch (daemon, call->invocation, call->target, call->request);
      cj_daemon_fail (call->invocation, call->target, error);
      store_call_free (call);
      return;
    }
  /* Published before the reply: a client that gets the answer finds the objects and
   * properties changed already (the follower will report the same change later; it
   * applies as a no-op). */
  publish_and_tell (call);
}

void
cj_daemon_apply_changes (CjDaemon *daemon, CjChanges *changes)
{
  for (guint i = 0; i < changes->changed->len; i++)
    cj_registry_apply (daemon->registry, changes->changed->pdata[i]);
  for (guint i = 0; i < changes->removed->len; i++)
    cj_registry_remove (daemon->registry, changes->removed->pdata[i]);
  cj_live_changed (daemon);
}

static StoreCall *
store_call_new (CjDaemon *daemon, GDBusMethodInvocation *invocation, const char *target,
                CjStoreRequest *request, CjReplyFunc reply_func)
{
  StoreCall *call = g_new0 (StoreCall, 1);

  call->daemon = daemon;
  call->invocation = invocation;
  call->target = g_strdup (target);
  call->reply = reply_func;
  call->request = cj_store_request_ref (request);
  if (request->op == CJ_STORE_DELETE_USER || (request->op == CJ_STORE_MODIFY_USER && request->lock == 1))
    call->kick = g_strdup (request->name);
  return call;
}

void
cj_daemon_store (CjDaemon *daemon, GDBusMethodInvocation *invocation, const char *target,
                 CjStoreRequest *request, CjReplyFunc reply_func)
{
  StoreCall *call = store_call_new (daemon, invocation, target, request, reply_func);

  cj_store_run_async (daemon->directory, request, NULL, on_stored, call);
}

void
cj_daemon_catch_up (CjDaemon *daemon, CjStoreRequest *request, CjChanges *changes, gboolean applied)
{
  StoreCall *call = store_call_new (daemon, NULL, NULL, request, NULL);

  call->changes = changes;
  if (!applied)
    {
      cj_daemon_apply_changes (daemon, changes);
      store_call_free (call);
      return;
    }
  publish_and_tell (call);
}

void
cj_reply_nothing (CjDaemon *daemon, GDBusMethodInvocation *invocation, CjChanges *changes)
{
  g_dbus_method_invocation_return_value (invocation, NULL);
}

void
cj_reply_subject_path (CjDaemon *daemon, GDBusMethodInvocation *invocation, CjChanges *changes)
{
  const char *path = changes->subject != NULL
                     ? cj_registry_path_of (daemon->registry, changes->subject->uuid) : NULL;

  g_dbus_method_invocation_return_value (invocation,
                                         g_variant_new ("(o)", path != NULL ? path : CJ_NO_OBJECT));
}

/* Object paths of users to their names, all or nothing. */
char **
cj_daemon_user_names (CjDaemon *daemon, const char *const *paths, GError **error)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) unknown = g_ptr_array_new ();

  for (const char *const *p = paths; p != NULL && *p != NULL; p++)
    {
      CjEntry *user = cj_registry_get (daemon->registry, *p);

      if (user == NULL || user->kind != CJ_ENTRY_USER)
        g_ptr_array_add (unknown, (gpointer) *p);
      else if (!g_ptr_array_find_with_equal_func (names, user->name, g_str_equal, NULL))
        g_ptr_array_add (names, g_strdup (user->name));
    }
  if (unknown->len > 0)
    {
      g_autofree char *list = NULL;

      g_ptr_array_add (unknown, NULL);
      list = g_strjoinv (", ", (char **) unknown->pdata);
      g_set_error (error, CJ_ERROR, CJ_ERROR_NOT_FOUND, _("No such users: %s"), list);
      return NULL;
    }
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (g_steal_pointer (&names), FALSE);
}

/* The view follows the directory ------------------------------------------------------ */

static void
on_counts_changed (guint users, guint groups, gpointer data)
{
  CjDaemon *daemon = data;

  if (cj_server_get_user_count (daemon->server) != users)
    cj_server_set_user_count (daemon->server, users);
  if (cj_server_get_group_count (daemon->server) != groups)
    cj_server_set_group_count (daemon->server, groups);
}

static void own_name (CjDaemon *daemon);

static void
on_loaded (GPtrArray *entries, gpointer data)
{
  CjDaemon *daemon = data;

  guint applied = daemon->loading != NULL ? daemon->loading->len : 0;

  if (!daemon->loaded && applied > 0 && applied <= entries->len &&
      memcmp (daemon->loading->pdata, entries->pdata, applied * sizeof (gpointer)) == 0)
    {
      /* The parts were the first entries of @entries, in order, applied to an empty
       * registry: the rest is applied, nothing can be left to remove. (Parts of a refresh
       * that was dropped midway, a reload asked for, do not match: the whole load is then
       * applied as any reload, which removes what it does not list.) */
      g_autoptr(GPtrArray) rest = g_ptr_array_sized_new (entries->len - applied);

      for (guint i = applied; i < entries->len; i++)
        g_ptr_array_add (rest, entries->pdata[i]);
      cj_registry_apply_all (daemon->registry, rest);
    }
  else
    cj_registry_replace_all (daemon->registry, entries);
  g_clear_pointer (&daemon->loading, g_ptr_array_unref);
  if (daemon->loaded)
    g_debug ("full reload: %u users and %u groups", cj_registry_count_users (daemon->registry),
             cj_registry_count_groups (daemon->registry));
  if (!daemon->loaded)
    {
      daemon->loaded = TRUE;
      g_debug ("loaded %u users and %u groups", cj_registry_count_users (daemon->registry),
               cj_registry_count_groups (daemon->registry));
      /* The name is asked for first: the bus's round trip overlaps the roster view's first
       * build (~40 ms at 100,000 users). No caller is served before this dispatch ends,
       * so none sees the daemon without its view. */
      own_name (daemon);
      cj_setup_jabber_refresh_outdated (daemon);
    }
  cj_live_changed (daemon);
  cj_converge_changed (daemon->converge);
}

/* The first load is built while it is read (nobody is served before it ends: the name is
 * owned after on_loaded); its end, on_loaded, finds these entries applied already and
 * passes over them. A reload is applied whole at its end, as before. */
static void
on_loading (GPtrArray *entries, gpointer data)
{
  CjDaemon *daemon = data;

  if (daemon->loaded)
    return;
  cj_registry_apply_all (daemon->registry, entries);
  if (daemon->loading == NULL)
    daemon->loading = g_ptr_array_new_with_free_func ((GDestroyNotify) cj_entry_unref);
  for (guint i = 0; i < entries->len; i++)
    g_ptr_array_add (daemon->loading, cj_entry_ref (entries->pdata[i]));
}

static void
on_resumed (GPtrArray *entries, GHashTable *present, GPtrArray *deleted, const char *cookie,
            CjSyncCookie *reached, gpointer data)
{
  CjDaemon *daemon = data;
  guint removed = cj_registry_resume (daemon->registry, entries, present, deleted, reached);

  /* The tests and the benchmark read this line: a resume, not a reload. */
  g_debug ("resumed with cookie %s: %u changed, %u deleted (%s)", cookie != NULL ? cookie : "-",
           entries->len, removed, present != NULL ? "present phase" : "deletions listed");
  cj_live_changed (daemon);
  cj_converge_changed (daemon->converge);
}

static void
on_changed (CjEntry *entry, gpointer data)
{
  CjDaemon *daemon = data;

  cj_registry_apply (daemon->registry, entry);
  cj_live_changed (daemon);
  cj_converge_changed (daemon->converge);
}

static void
on_removed (const char *uuid, gpointer data)
{
  CjDaemon *daemon = data;

  cj_registry_remove (daemon->registry, uuid);
  cj_live_changed (daemon);
  cj_converge_changed (daemon->converge);
}

static void
on_status (gboolean connected, gboolean configured, const char *problem, gpointer data)
{
  CjDaemon *daemon = data;

  cj_server_object_set_directory_state (daemon, connected, configured);
  if (connected)
    cj_directory_set_reachable (daemon->directory);
  /* Without a directory the daemon still serves (setup, status): it must not wait for
   * LDAP before owning its name. */
  if (!connected && !daemon->loaded)
    {
      /* A first load cut midway: the name is never owned over half a tree. */
      if (daemon->loading != NULL)
        {
          g_autoptr(GPtrArray) nothing = g_ptr_array_new ();

          cj_registry_replace_all (daemon->registry, nothing);
          g_clear_pointer (&daemon->loading, g_ptr_array_unref);
        }
      daemon->loaded = TRUE;
      own_name (daemon);
    }
}

/* The bus name ------------------------------------------------------------------------ */

static void
on_name_acquired (GDBusConnection *connection, const char *name, gpointer data)
{
  g_debug ("owning %s", name);
  /* For profiling a start (bench/README.md): callgrind then counts the start alone, not
   * the idle daemon or its teardown. Not documented for administrators: it does nothing
   * useful in service. */
  if (g_strcmp0 (g_getenv ("CJ_EXIT_AFTER_OWNING"), "1") == 0)
    exit (0);
}

static void
on_name_lost (GDBusConnection *connection, const char *name, gpointer data)
{
  CjDaemon *daemon = data;

  g_printerr ("calculate-jabberd: %s\n",
              connection == NULL ? _("lost the connection to the system bus")
                                 : _("cannot own org.calculate.Jabber (already running, or not allowed by the bus policy)"));
  daemon->exit_status = 1;
  g_main_loop_quit (daemon->loop);
}

/* Every object is exported (the tree is connected to the bus) before the name is owned:
 * a client never sees a half-loaded tree. */
static void
own_name (CjDaemon *daemon)
{
  GBusNameOwnerFlags flags = G_BUS_NAME_OWNER_FLAGS_DO_NOT_QUEUE | G_BUS_NAME_OWNER_FLAGS_ALLOW_REPLACEMENT;
  g_autoptr(GError) error = NULL;

  if (!cj_tree_publish (daemon, &error))
    {
      g_printerr ("calculate-jabberd: %s\n", error->message);
      daemon->exit_status = 1;
      g_main_loop_quit (daemon->loop);
      return;
    }
  if (daemon->replace)
    flags |= G_BUS_NAME_OWNER_FLAGS_REPLACE;
  daemon->owner_id = g_bus_own_name_on_connection (daemon->connection, CJ_BUS_NAME, flags,
                                                   on_name_acquired, on_name_lost, daemon, NULL);
  cj_health_check (daemon);
}

static gboolean
on_signal (gpointer data)
{
  CjDaemon *daemon = data;

  g_main_loop_quit (daemon->loop);
  return G_SOURCE_CONTINUE;
}

/* For the audit: the name of the user or group at a path (a refused request's target). */
static char *
name_object (const char *object_path, gpointer data)
{
  CjDaemon *daemon = data;
  CjEntry *entry = daemon->registry != NULL ? cj_registry_get (daemon->registry, object_path) : NULL;

  return entry != NULL ? g_strdup (entry->name) : NULL;
}

CjDaemon *
cj_daemon_new (CjConfig *config, gboolean replace, GError **error)
{
  g_autoptr(CjDaemon) daemon = g_new0 (CjDaemon, 1);
  CjRegistryHooks registry_hooks = { 0 };
  CjFollowerHooks follower_hooks = { on_loaded, on_resumed, on_changed, on_removed, on_status,
                                     on_loading, NULL };
  g_autofree char *address = NULL;

  daemon->config = config;
  daemon->replace = replace;
  daemon->loop = g_main_loop_new (NULL, FALSE);
  /* A connection of its own for the callers, not the process's shared one: the daemon's
   * own calls (polkit's CheckAuthorization, systemd) go over the shared one, so that what
   * callers make the daemon hold on the bus never counts against them (dbus-daemon allows
   * a connection 128 pending calls). */
  address = g_dbus_address_get_for_bus_sync (G_BUS_TYPE_SYSTEM, NULL, error);
  if (address == NULL)
    return NULL;
  daemon->connection = g_dbus_connection_new_for_address_sync (
    address, G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT | G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
    NULL, NULL, error);
  if (daemon->connection == NULL)
    return NULL;
  g_dbus_connection_set_exit_on_close (daemon->connection, FALSE);

  daemon->peers = cj_peers_new (daemon->connection);
  daemon->gate = cj_gate_new (daemon->peers, config->auth_timeout);
  daemon->reads = cj_reads_new (daemon->peers);
  daemon->directory = cj_directory_new (config);
  daemon->ejabberd = cj_ejabberd_new (config);

  cj_tree_registry_hooks (daemon, &registry_hooks);
  registry_hooks.counts_changed = on_counts_changed;
  daemon->registry = cj_registry_new (&registry_hooks);
  cj_audit_set_namer (name_object, daemon);
  /* The administrator's account needs the setup action, whatever the table says. */
  cj_gate_set_refine (daemon->gate, cj_admin_refine, daemon);

  cj_server_object_init (daemon);
  if (!cj_server_object_load_state (daemon, error))
    return NULL;
  cj_manager_object_init (daemon);
  if (!g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (daemon->manager),
                                         daemon->connection, CJ_MANAGER_PATH, error))
    return NULL;

  daemon->converge = cj_converge_new (daemon);
  follower_hooks.data = daemon;
  daemon->follower = cj_follower_new (daemon->directory, &follower_hooks);
  return g_steal_pointer (&daemon);
}

int
cj_daemon_run (CjDaemon *daemon)
{
  guint sigterm = g_unix_signal_add (SIGTERM, on_signal, daemon);
  guint sigint = g_unix_signal_add (SIGINT, on_signal, daemon);

  cj_follower_start (daemon->follower);
  g_main_loop_run (daemon->loop);
  g_source_remove (sigterm);
  g_source_remove (sigint);
  return daemon->exit_status;
}

void
cj_daemon_free (CjDaemon *daemon)
{
  if (daemon == NULL)
    return;
  /* The follower first: it posts into the registry. */
  g_clear_pointer (&daemon->follower, cj_follower_free);
  g_clear_pointer (&daemon->outcomes, cj_outcome_free);
  g_clear_pointer (&daemon->converge, cj_converge_free);
  if (daemon->owner_id != 0)
    g_bus_unown_name (daemon->owner_id);
  if (daemon->manager != NULL)
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (daemon->manager));
  if (daemon->connection != NULL)
    cj_tree_unpublish (daemon);
  g_clear_pointer (&daemon->loading, g_ptr_array_unref);
  g_clear_pointer (&daemon->registry, cj_registry_free);
  g_clear_object (&daemon->server);
  g_clear_object (&daemon->manager);
  g_clear_pointer (&daemon->directory, cj_directory_free);
  g_clear_pointer (&daemon->ejabberd, cj_ejabberd_free);
  g_clear_pointer (&daemon->gate, cj_gate_free);
  g_clear_pointer (&daemon->reads, cj_reads_free);
  g_clear_pointer (&daemon->peers, cj_peers_free);
  g_clear_object (&daemon->connection);
  g_clear_pointer (&daemon->loop, g_main_loop_unref);
  g_free (daemon);
}
