/* The authorization gate. Every method call of the API passes it before any handler sees
 * it: the skeletons (Manager, Server) through g-authorize-method (cj_gate_attach), the
 * users' and groups' subtree (cj-tree.c) by calling cj_gate_check from its dispatch; both
 * are the same check. A method found in the table as "reading" goes straight
 * to its handler; a mutating one reaches its handler only after polkit said yes for the
 * table's action (uid 0 is not asked about: polkitd authorizes it before any rule, see
 * dbus-api.md); a method missing from the table never reaches its handler (fail closed).
 * So no handler can forget the check, and cj-gate-table.c is the one place that says which
 * action guards which method.
 *
 * Every caller is a potential attacker, so the gate holds little for anyone: a mutating
 * call's arguments are checked first (a bad call costs nothing and waits for nothing), then
 * the caller is identified (cj-peers.c), then the checks in flight are counted per uid and
 * overall; past the bounds the call is answered Busy at once. Root's calls wait for no
 * polkit check, so a flood by other users never refuses or holds them. */
#pragma once

#include <gio/gio.h>

#include "cj-arguments.h"
#include "cj-peers.h"

G_BEGIN_DECLS

typedef struct {
  const char      *interface;
  const char      *method;
  const char      *action;   /* polkit action id; NULL: reading, needs no authorization */
  CjArgumentsCheck check;    /* mutating: what the call says, checked before polkit is asked */
} CjGateRule;

/* The table (cj-gate-table.c), terminated by a rule whose interface is NULL. */
extern const CjGateRule cj_gate_rules[];

const CjGateRule *cj_gate_lookup (const char *interface, const char *method);

/* Who is calling: filled in by the gate before the handler runs. */
typedef struct {
  guint32 uid;               /* G_MAXUINT32 when unknown */
  guint32 pid;               /* 0 when unknown */
  const char *action;        /* the action that authorized the call, NULL for reading */
} CjCaller;

typedef struct _CjGate CjGate;

/* @peers identifies the callers; it must outlive the gate. */
CjGate         *cj_gate_new          (CjPeers *peers, guint timeout_seconds);
void            cj_gate_free         (CjGate *gate);
void            cj_gate_attach       (CjGate *gate, GDBusInterfaceSkeleton *skeleton);

/* The one refinement of the table: for a mutating call, the daemon may name a stronger
 * action than the rule's, from the call's target (an administrator's account needs the
 * setup action, cj-admin.c). Runs in the gate's main context before polkit is asked;
 * returns the action to check, or NULL for the rule's. */
typedef const char *(*CjGateRefine) (GDBusMethodInvocation *invocation, const CjGateRule *rule,
                                     gpointer data);
void            cj_gate_set_refine   (CjGate *gate, CjGateRefine refine, gpointer data);

/* Runs a call the gate let through, in the gate's main context; it owns the invocation. */
typedef void (*CjGateDispatch) (GDBusMethodInvocation *invocation, gpointer data);

/* The check itself (any thread). TRUE: a reading method, the caller runs it now. FALSE: the
 * gate took @invocation; it refuses it, or calls @dispatch (@data; @destroy frees it) once
 * polkit said yes for the table's action. */
gboolean        cj_gate_check        (CjGate *gate, GDBusMethodInvocation *invocation,
                                      CjGateDispatch dispatch, gpointer data,
                                      GDestroyNotify destroy);
/* The caller of an invocation that passed the gate (never NULL for mutating calls). */
const CjCaller *cj_gate_get_caller   (GDBusMethodInvocation *invocation);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjGate, cj_gate_free)

G_END_DECLS
