/* The audit trail: one line per change that was asked for, to syslog (authpriv), saying who
 * (uid, pid), what (action, method), on what (target) and how it ended. Never a secret: the
 * callers pass a target name, never method arguments. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

void cj_audit_open   (void);
/* @target may be NULL (the object path is used) and is escaped: it may come from a caller. */
void cj_audit_finish (GDBusMethodInvocation *invocation, const char *target, const GError *error);

G_END_DECLS
