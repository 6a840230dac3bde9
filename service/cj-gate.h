/* The authorization gate. Every exported interface skeleton is attached to it; it sees each
 * method call before the handler does. A method found in the table as "reading" goes straight
 * to its handler; a mutating one reaches its handler only after polkit said yes for the
 * table's action; a method missing from the table never reaches its handler (fail closed).
 * So no handler can forget the check, and cj-gate-table.c is the one place that says which
 * action guards which method. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
  const char *interface;
  const char *method;
  const char *action;        /* polkit action id; NULL: reading, needs no authorization */
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

CjGate         *cj_gate_new          (guint timeout_seconds);
void            cj_gate_free         (CjGate *gate);
void            cj_gate_attach       (CjGate *gate, GDBusInterfaceSkeleton *skeleton);
/* The caller of an invocation that passed the gate (never NULL for mutating calls). */
const CjCaller *cj_gate_get_caller   (GDBusMethodInvocation *invocation);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjGate, cj_gate_free)

G_END_DECLS
