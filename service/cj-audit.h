/* The audit trail: one line per change that was asked for, to syslog (authpriv), saying who
 * (uid, pid), what (action, method), on what (target) and how it ended. Never a secret: the
 * callers pass a target name, never method arguments. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

void cj_audit_open   (void);
/* Names the object at a path (a user's or group's name), for requests refused before any
 * handler named their target; returns NULL when unknown. Set once by the daemon. */
typedef char *(*CjAuditNamer) (const char *object_path, gpointer data);
void cj_audit_set_namer (CjAuditNamer namer, gpointer data);
/* @target may be NULL (the object path is used) and is escaped: it may come from a caller. */
void cj_audit_finish (GDBusMethodInvocation *invocation, const char *target, const GError *error);
/* The later line for a request that ended "outcome unknown" (CJ_ERROR_OUTCOME_UNKNOWN):
 * what the daemon found once the directory answered again ("applied", "not applied",
 * "partly applied"), with @detail (may be NULL). Same who/what/target as the first line. */
void cj_audit_outcome (GDBusMethodInvocation *invocation, const char *target, const char *outcome,
                       const char *detail);

/* A change the daemon made on its own, for nobody's request (the repair of a user left in
 * several groups by two nodes: cj-converge.c). @what must hold only escaped names
 * (cj_text_escape). */
void cj_audit_daemon (const char *what);

G_END_DECLS
