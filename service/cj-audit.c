#include "config.h"
#include "cj-audit.h"

#include <syslog.h>

#include "cj-error.h"
#include "cj-gate.h"
#include "cj-validate.h"

void
cj_audit_open (void)
{
  openlog ("calculate-jabberd", LOG_PID, LOG_AUTHPRIV);
}

static void
audit_line (GDBusMethodInvocation *invocation, const char *target, const char *result, int priority)
{
  const CjCaller *caller = cj_gate_get_caller (invocation);
  g_autofree char *safe_target =
    cj_text_escape (target != NULL ? target : g_dbus_method_invocation_get_object_path (invocation));
  g_autofree char *line = NULL;

  line = g_strdup_printf ("request by uid=%d pid=%u: %s %s.%s target=\"%s\": %s",
                          caller != NULL && caller->uid != G_MAXUINT32 ? (int) caller->uid : -1,
                          caller != NULL ? caller->pid : 0,
                          caller != NULL && caller->action != NULL ? caller->action : "-",
                          g_dbus_method_invocation_get_interface_name (invocation),
                          g_dbus_method_invocation_get_method_name (invocation),
                          safe_target, result);
  syslog (priority, "%s", line);
  g_debug ("audit: %s", line);
}

void
cj_audit_finish (GDBusMethodInvocation *invocation, const char *target, const GError *error)
{
  g_autofree char *result = NULL;

  if (error == NULL)
    result = g_strdup ("ok");
  else
    {
      g_autofree char *safe_message = cj_text_escape (error->message);
      result = g_strdup_printf ("%s: %s",
                                g_error_matches (error, CJ_ERROR, CJ_ERROR_OUTCOME_UNKNOWN)
                                ? "outcome unknown" : "failed",
                                safe_message);
    }
  audit_line (invocation, target, result, error == NULL ? LOG_NOTICE : LOG_WARNING);
}

void
cj_audit_outcome (GDBusMethodInvocation *invocation, const char *target, const char *outcome,
                  const char *detail)
{
  g_autofree char *safe_detail = detail != NULL ? cj_text_escape (detail) : NULL;
  g_autofree char *result = g_strdup_printf ("outcome found: %s%s%s", outcome,
                                             safe_detail != NULL ? ": " : "",
                                             safe_detail != NULL ? safe_detail : "");

  audit_line (invocation, target, result, LOG_NOTICE);
}
