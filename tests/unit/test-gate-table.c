/* Every method of the API is in the authorization table, exactly the reading ones need
 * no authorization, and every other one has its arguments checked before polkit is asked
 * (service/cj-gate-table.c). A method added to the XML without a table
 * line fails here (and is refused by the daemon for everybody). */
#include "config.h"

#include <string.h>

#include "cj-common.h"
#include "cj-gate.h"
#include "cj-generated.h"

/* The reading methods, by name: everything else changes something. */
static const char *const reading[] = {
  "FindUserByName", "ListUsers", "GetUsers", "GetUserTable", "FindGroupByName", "ListGroups", "GetGroups",
  "GetPhoto", "Check", "GetErrors", "Verify", NULL
};

static void
check_interface (GDBusInterfaceInfo *info, guint *count)
{
  for (GDBusMethodInfo **m = info->methods; m != NULL && *m != NULL; m++)
    {
      const CjGateRule *rule = cj_gate_lookup (info->name, (*m)->name);
      gboolean reads = g_strv_contains (reading, (*m)->name);

      if (rule == NULL)
        g_error ("%s.%s is not in the authorization table", info->name, (*m)->name);
      if (reads)
        {
          g_assert_null (rule->action);
          g_assert_null (rule->check);
        }
      else if (rule->action == NULL)
        g_error ("%s.%s changes something but needs no authorization", info->name, (*m)->name);
      else if (rule->check == NULL)
        g_error ("%s.%s changes something but its arguments are not checked before polkit",
                 info->name, (*m)->name);
      else
        g_assert_true (g_str_has_prefix (rule->action, "org.calculate.jabber."));
      (*count)++;
    }
}

static void
test_every_method_listed (void)
{
  guint methods = 0, rules = 0;

  check_interface (cj_manager_interface_info (), &methods);
  check_interface (cj_server_interface_info (), &methods);
  check_interface (cj_user_interface_info (), &methods);
  check_interface (cj_group_interface_info (), &methods);
  check_interface (cj_job_interface_info (), &methods);
  for (const CjGateRule *rule = cj_gate_rules; rule->interface != NULL; rule++)
    rules++;
  /* No stale lines for methods that no longer exist. */
  g_assert_cmpuint (rules, ==, methods);
}

static void
test_actions_by_kind (void)
{
  g_assert_cmpstr (cj_gate_lookup (CJ_IFACE_SERVER, "Setup")->action, ==, CJ_ACTION_SETUP);
  g_assert_cmpstr (cj_gate_lookup (CJ_IFACE_MANAGER, "AddUser")->action, ==, CJ_ACTION_USERS);
  g_assert_cmpstr (cj_gate_lookup (CJ_IFACE_GROUP, "AddMembers")->action, ==, CJ_ACTION_GROUPS);
  g_assert_null (cj_gate_lookup (CJ_IFACE_USER, "NoSuchMethod"));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/gate/every-method-listed", test_every_method_listed);
  g_test_add_func ("/gate/actions", test_actions_by_kind);
  return g_test_run ();
}
