/* The authorization gate: see cj-gate.h for the why. */
#include "config.h"
#include "cj-gate.h"

#include <glib/gi18n.h>
#include <polkit/polkit.h>

#include <gio/gunixfdlist.h>

#include "cj-audit.h"
#include "cj-error.h"
#include "cj-peers.h"
#include "cj-quota.h"

/* An interactive check waits for a person typing a password, a wait the caller imposes on
 * the daemon (root is never asked about: on_peer). */
#define INTERACTIVE_TIMEOUT        120

/* polkit checks in flight. Each holds one call of ours to polkitd (on the shared system
 * bus connection, not the one callers use) and the caller's message: these bounds keep
 * both far below dbus-daemon's 128 pending calls per connection and the memory small. */
#define MAX_CHECKS_PER_UID 4
#define MAX_CHECKS_OTHERS  32
#define MAX_CHECKS_ROOT    16   /* unused: root is not asked about (on_peer) */

struct _CjGate {
  GMainContext    *context;        /* where handlers run */
  PolkitAuthority *authority;      /* obtained at the first check */
  guint            timeout_seconds;
  CjPeers         *peers;          /* the daemon's */
  CjQuota         *in_flight;      /* polkit checks */
  guint            busy_refusals;  /* since the last log line about them */
  gint64           busy_logged;    /* monotonic time of that line */
  CjGateRefine     refine;
  gpointer         refine_data;
};

typedef struct {
  CjGate                 *gate;
  CjGateDispatch          dispatch;
  gpointer                dispatch_data;
  GDestroyNotify          dispatch_destroy;
  GDBusMethodInvocation  *invocation;
  const CjGateRule       *rule;
  const char             *action;      /* the rule's, or the refined one */
  GCancellable           *cancellable;
  guint                   timeout_id;
  gboolean                timed_out;
  gboolean                interactive;
  gboolean                counted;     /* in the in-flight counts, for caller.uid */
  guint32                 uid;
} Check;

static void
check_free (Check *check)
{
  if (check->counted)
    cj_quota_give (check->gate->in_flight, check->uid);
  if (check->timeout_id != 0)
    g_source_remove (check->timeout_id);
  g_clear_object (&check->cancellable);
  if (check->dispatch_destroy != NULL)
    check->dispatch_destroy (check->dispatch_data);
  g_clear_object (&check->invocation);
  g_free (check);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Check, check_free)

static const char caller_key[] = "cj-gate-caller";

const CjCaller *
cj_gate_get_caller (GDBusMethodInvocation *invocation)
{
  return g_object_get_data (G_OBJECT (invocation), caller_key);
}

static void
refuse (Check *check, const char *message)
{
  g_autoptr(GError) error = g_error_new_literal (CJ_ERROR, CJ_ERROR_PERMISSION_DENIED, message);

  cj_audit_finish (check->invocation, NULL, error);
  g_dbus_method_invocation_return_gerror (g_steal_pointer (&check->invocation), error);
}

/* Busy is not audited call by call (a flood would flood the log too): a line at most every
 * ten seconds says how many were turned away. */
static void
refuse_busy (Check *check, const GError *error)
{
  CjGate *gate = check->gate;
  gint64 now = g_get_monotonic_time ();

  gate->busy_refusals++;
  if (now - gate->busy_logged >= 10 * G_USEC_PER_SEC)
    {
      g_message ("Turned away %u change requests as busy (last: uid %d): %s", gate->busy_refusals,
                 check->uid != G_MAXUINT32 ? (int) check->uid : -1, error->message);
      gate->busy_refusals = 0;
      gate->busy_logged = now;
    }
  g_dbus_method_invocation_return_gerror (g_steal_pointer (&check->invocation), error);
}

/* The call is authorized: hand it on. */
static void
dispatch (Check *check)
{
  check->dispatch (g_steal_pointer (&check->invocation), check->dispatch_data);
}

/* For a skeleton: the generated dispatcher, which emits handle-<method>. */
static void
dispatch_to_skeleton (GDBusMethodInvocation *invocation, gpointer data)
{
  const GDBusInterfaceVTable *vtable = g_dbus_interface_skeleton_get_vtable (data);

  vtable->method_call (g_dbus_method_invocation_get_connection (invocation),
                       g_dbus_method_invocation_get_sender (invocation),
                       g_dbus_method_invocation_get_object_path (invocation),
                       g_dbus_method_invocation_get_interface_name (invocation),
                       g_dbus_method_invocation_get_method_name (invocation),
                       g_dbus_method_invocation_get_parameters (invocation),
                       invocation,
                       g_dbus_method_invocation_get_user_data (invocation));
}

static guint
check_timeout (Check *check)
{
  return check->interactive ? INTERACTIVE_TIMEOUT : check->gate->timeout_seconds;
}

static gboolean
on_timeout (gpointer user_data)
{
  Check *check = user_data;

  check->timeout_id = 0;
  check->timed_out = TRUE;
  g_cancellable_cancel (check->cancellable);
  return G_SOURCE_REMOVE;
}

static void
on_checked (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr(Check) check = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PolkitAuthorizationResult) result =
    polkit_authority_check_authorization_finish (POLKIT_AUTHORITY (source), res, &error);
  g_autofree char *message = NULL;

  if (result == NULL)
    {
      if (check->timed_out)
        message = g_strdup_printf (_("Authorization service (polkit) did not answer within %u seconds"),
                                   check_timeout (check));
      else
        message = g_strdup_printf (_("Cannot check authorization, is polkit running? (%s)"),
                                   error->message);
      refuse (check, message);
      return;
    }

  if (polkit_authorization_result_get_is_authorized (result))
    {
      dispatch (check);
      return;
    }

  if (polkit_authorization_result_get_is_challenge (result))
    refuse (check, _("Authentication is required: run the command in a terminal so that polkit can ask for a password"));
  else if (polkit_authorization_result_get_dismissed (result))
    refuse (check, _("Authentication was dismissed"));
  else
    refuse (check, _("Not authorized to perform this operation"));
}

static void
check_authorization (Check *check)
{
  const char *sender = g_dbus_method_invocation_get_sender (check->invocation);
  g_autoptr(PolkitSubject) subject = polkit_system_bus_name_new (sender);
  PolkitCheckAuthorizationFlags flags = POLKIT_CHECK_AUTHORIZATION_FLAGS_NONE;

  if (check->interactive)
    flags |= POLKIT_CHECK_AUTHORIZATION_FLAGS_ALLOW_USER_INTERACTION;

  polkit_authority_check_authorization (check->gate->authority, subject, check->action,
                                        NULL, flags, check->cancellable, on_checked, check);
}

static void
on_authority (GObject *source, GAsyncResult *res, gpointer user_data)
{
  g_autoptr(Check) check = user_data;
  g_autoptr(GError) error = NULL;
  PolkitAuthority *authority = polkit_authority_get_finish (res, &error);

  if (authority == NULL)
    {
      g_autofree char *message =
        g_strdup_printf (_("Cannot check authorization, is polkit running? (%s)"), error->message);
      refuse (check, message);
      return;
    }
  if (check->gate->authority == NULL)
    check->gate->authority = authority;
  else
    g_object_unref (authority);
  check_authorization (g_steal_pointer (&check));
}

static void
on_peer (guint32 uid, guint32 pid, const GError *peer_error, gpointer user_data)
{
  g_autoptr(Check) check = user_data;
  g_autoptr(GError) error = NULL;
  CjCaller *caller = g_new0 (CjCaller, 1);
  gboolean per_user;

  caller->uid = uid;
  caller->pid = pid;
  caller->action = check->action;
  g_object_set_data_full (G_OBJECT (check->invocation), caller_key, caller, g_free);

  if (peer_error != NULL)
    {
      if (g_error_matches (peer_error, CJ_ERROR, CJ_ERROR_BUSY))
        refuse_busy (check, peer_error);
      else
        refuse (check, _("Cannot identify the caller"));
      return;
    }
  check->uid = uid;
  /* Root needs no question: polkitd authorizes uid 0 before any rule runs (no rule can
   * refuse it), so asking would only add a round trip to polkitd (which asks the bus
   * about the caller again) and a refusal whenever polkitd is down or hung. systemd's
   * services do the same for a privileged caller. The uid is the bus's (SO_PEERCRED): root
   * of another user namespace is its mapped uid there, not 0. See dbus-api.md. */
  if (uid == 0)
    {
      dispatch (check);
      return;
    }
  if (!cj_quota_take (check->gate->in_flight, uid, &per_user))
    {
      if (per_user)
        g_set_error (&error, CJ_ERROR, CJ_ERROR_BUSY,
                     _("Too many changes of this user are waiting for authorization (at most %u); "
                       "try again when they are answered"),
                     cj_quota_limit (check->gate->in_flight, uid));
      else
        g_set_error_literal (&error, CJ_ERROR, CJ_ERROR_BUSY,
                             _("Too many changes are waiting for authorization; try again later"));
      refuse_busy (check, error);
      return;
    }
  check->counted = TRUE;
  check->cancellable = g_cancellable_new ();
  check->timeout_id = g_timeout_add_seconds (check_timeout (check), on_timeout, check);

  if (check->gate->authority == NULL)
    {
      GCancellable *cancellable = check->cancellable;
      polkit_authority_get_async (cancellable, on_authority, g_steal_pointer (&check));
    }
  else
    check_authorization (g_steal_pointer (&check));
}

/* Runs in the gate's main context. */
static gboolean
start_check (gpointer user_data)
{
  Check *check = user_data;
  GDBusMessage *message = g_dbus_method_invocation_get_message (check->invocation);
  g_autoptr(GError) error = NULL;

  check->action = check->gate->refine != NULL
                  ? check->gate->refine (check->invocation, check->rule, check->gate->refine_data)
                  : NULL;
  if (check->action == NULL)
    check->action = check->rule->action;
  check->interactive = (g_dbus_message_get_flags (message) &
                        G_DBUS_MESSAGE_FLAGS_ALLOW_INTERACTIVE_AUTHORIZATION) != 0;
  check->uid = G_MAXUINT32;
  if (!cj_peers_lookup (check->gate->peers, g_dbus_method_invocation_get_sender (check->invocation),
                        on_peer, check, &error))
    {
      refuse_busy (check, error);
      check_free (check);
    }
  return G_SOURCE_REMOVE;
}

gboolean
cj_gate_check (CjGate *gate, GDBusMethodInvocation *invocation, CjGateDispatch dispatch_func,
               gpointer data, GDestroyNotify destroy)
{
  const CjGateRule *rule = cj_gate_lookup (g_dbus_method_invocation_get_interface_name (invocation),
                                           g_dbus_method_invocation_get_method_name (invocation));
  g_autoptr(GError) error = NULL;
  Check *check;

  if (rule != NULL && rule->action == NULL)
    {
      if (destroy != NULL)
        destroy (data);
      return TRUE;
    }

  if (rule == NULL)
    {
      g_dbus_method_invocation_return_error (invocation, CJ_ERROR,
                                             CJ_ERROR_PERMISSION_DENIED,
                                             _("Method %s.%s is not in the authorization table"),
                                             g_dbus_method_invocation_get_interface_name (invocation),
                                             g_dbus_method_invocation_get_method_name (invocation));
      if (destroy != NULL)
        destroy (data);
      return FALSE;
    }

  /* Before anything is held for the call: a bad one is answered here and now. */
  if (!rule->check (g_dbus_method_invocation_get_parameters (invocation),
                    g_dbus_message_get_unix_fd_list (g_dbus_method_invocation_get_message (invocation)),
                    &error))
    {
      g_dbus_method_invocation_return_gerror (invocation, error);
      if (destroy != NULL)
        destroy (data);
      return FALSE;
    }

  check = g_new0 (Check, 1);
  check->gate = gate;
  check->dispatch = dispatch_func;
  check->dispatch_data = data;
  check->dispatch_destroy = destroy;
  check->invocation = invocation;
  check->rule = rule;
  g_main_context_invoke (gate->context, start_check, check);
  return FALSE;
}

/* GLib emits g-authorize-method in a worker thread (cj_gate_check decides there what needs
 * no state, and moves everything else to the main context). Returning FALSE means "the gate
 * answers": it hands GLib's reference to the invocation to us (gdbusinterfaceskeleton.c),
 * and answering the call consumes it. */
static gboolean
on_authorize_method (GDBusInterfaceSkeleton *skeleton,
                     GDBusMethodInvocation  *invocation,
                     gpointer                user_data)
{
  return cj_gate_check (user_data, invocation, dispatch_to_skeleton, g_object_ref (skeleton),
                        g_object_unref);
}

CjGate *
cj_gate_new (CjPeers *peers, guint timeout_seconds)
{
  CjGate *gate = g_new0 (CjGate, 1);

  gate->context = g_main_context_ref_thread_default ();
  gate->timeout_seconds = timeout_seconds > 0 ? timeout_seconds : 25;
  gate->peers = peers;
  gate->in_flight = cj_quota_new (MAX_CHECKS_PER_UID, MAX_CHECKS_OTHERS, MAX_CHECKS_ROOT);
  return gate;
}

void
cj_gate_free (CjGate *gate)
{
  if (gate == NULL)
    return;
  g_clear_object (&gate->authority);
  g_clear_pointer (&gate->in_flight, cj_quota_free);
  g_main_context_unref (gate->context);
  g_free (gate);
}

void
cj_gate_set_refine (CjGate *gate, CjGateRefine refine, gpointer data)
{
  gate->refine = refine;
  gate->refine_data = data;
}

void
cj_gate_attach (CjGate *gate, GDBusInterfaceSkeleton *skeleton)
{
  g_signal_connect (skeleton, "g-authorize-method", G_CALLBACK (on_authorize_method), gate);
}
