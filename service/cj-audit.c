#include "config.h"
#include "cj-audit.h"

#include <syslog.h>

#include "cj-common.h"
#include "cj-error.h"
#include "cj-gate.h"
#include "cj-validate.h"

static CjAuditNamer namer;
static gpointer namer_data;

void
cj_audit_open (void)
{
  openlog ("calculate-jabberd", LOG_PID, LOG_AUTHPRIV);
}

void
cj_audit_set_namer (CjAuditNamer func, gpointer data)
{
  namer = func;
  namer_data = data;
}

/* The target of a request that no handler named (refused by the gate, or failed before):
 * the name a Manager.Add* asked for, else the name of the object called, else its path.
 * Never another argument: those may be secrets (SetPassword). */
static char *
describe_target (GDBusMethodInvocation *invocation)
{
  const char *path = g_dbus_method_invocation_get_object_path (invocation);
  const char *interface = g_dbus_method_invocation_get_interface_name (invocation);
  GVariant *parameters = g_dbus_method_invocation_get_parameters (invocation);
  char *name;

  if (g_strcmp0 (interface, CJ_IFACE_MANAGER) == 0 && parameters != NULL &&
      g_variant_n_children (parameters) > 0)
    {
      g_autoptr(GVariant) first = g_variant_get_child_value (parameters, 0);

      if (g_variant_is_of_type (first, G_VARIANT_TYPE_STRING))
        return g_variant_dup_string (first, NULL);
    }
  if (namer != NULL && (name = namer (path, namer_data)) != NULL)
    return name;
  return g_strdup (path);
}

static void
audit_line (GDBusMethodInvocation *invocation, const char *target, const char *result, int priority)
{
  const CjCaller *caller = cj_gate_get_caller (invocation);
  g_autofree char *described = target == NULL ? describe_target (invocation) : NULL;
  g_autofree char *safe_target = cj_text_escape (target != NULL ? target : described);
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

void
cj_audit_daemon (const char *what)
{
  syslog (LOG_NOTICE, "by the daemon on its own: %s", what);
  g_debug ("audit: by the daemon on its own: %s", what);
}
