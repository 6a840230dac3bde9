/* Which polkit action guards which method: the whole list, in one place. A method of the
 * API (dbus-interfaces/ XML files) that is not here is refused for everybody; the unit test
 * test-gate-table checks that every method of the generated interface info is listed. */
#include "cj-gate.h"

#include <string.h>

#include "cj-common.h"

const CjGateRule cj_gate_rules[] = {
  /* org.calculate.Jabber.Manager */
  { CJ_IFACE_MANAGER, "AddUser",         CJ_ACTION_USERS },
  { CJ_IFACE_MANAGER, "FindUserByName",  NULL },
  { CJ_IFACE_MANAGER, "ListUsers",       NULL },
  { CJ_IFACE_MANAGER, "GetUsers",        NULL },
  { CJ_IFACE_MANAGER, "AddGroup",        CJ_ACTION_GROUPS },
  { CJ_IFACE_MANAGER, "FindGroupByName", NULL },
  { CJ_IFACE_MANAGER, "ListGroups",      NULL },
  { CJ_IFACE_MANAGER, "GetGroups",       NULL },

  /* org.calculate.Jabber.Server */
  { CJ_IFACE_SERVER,  "SetupLdap",       CJ_ACTION_SETUP },
  { CJ_IFACE_SERVER,  "Setup",           CJ_ACTION_SETUP },
  { CJ_IFACE_SERVER,  "Reload",          CJ_ACTION_SETUP },

  /* org.calculate.Jabber.User */
  { CJ_IFACE_USER,    "SetNickname",     CJ_ACTION_USERS },
  { CJ_IFACE_USER,    "SetPassword",     CJ_ACTION_USERS },
  { CJ_IFACE_USER,    "SetLocked",       CJ_ACTION_USERS },
  /* Membership is the groups' business: a user moves between groups. */
  { CJ_IFACE_USER,    "SetGroup",        CJ_ACTION_GROUPS },
  { CJ_IFACE_USER,    "SetPhoto",        CJ_ACTION_USERS },
  { CJ_IFACE_USER,    "ClearPhoto",      CJ_ACTION_USERS },
  { CJ_IFACE_USER,    "GetPhoto",        NULL },
  { CJ_IFACE_USER,    "Delete",          CJ_ACTION_USERS },

  /* org.calculate.Jabber.Group */
  { CJ_IFACE_GROUP,   "Rename",          CJ_ACTION_GROUPS },
  { CJ_IFACE_GROUP,   "AddMembers",      CJ_ACTION_GROUPS },
  { CJ_IFACE_GROUP,   "RemoveMembers",   CJ_ACTION_GROUPS },
  { CJ_IFACE_GROUP,   "Delete",          CJ_ACTION_GROUPS },

  { NULL, NULL, NULL }
};

const CjGateRule *
cj_gate_lookup (const char *interface, const char *method)
{
  for (const CjGateRule *rule = cj_gate_rules; rule->interface != NULL; rule++)
    if (strcmp (rule->interface, interface) == 0 && strcmp (rule->method, method) == 0)
      return rule;
  return NULL;
}
