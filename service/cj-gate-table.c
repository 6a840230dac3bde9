/* Which polkit action guards which method, and which check of its arguments runs before
 * polkit is asked: the whole list, in one place. A method of the API (dbus-interfaces/ XML
 * files) that is not here is refused for everybody; the unit test test-gate-table checks
 * that every method of the generated interface info is listed, and that every mutating one
 * has its arguments checked. */
#include "cj-gate.h"

#include <string.h>

#include "cj-arguments.h"
#include "cj-common.h"

const CjGateRule cj_gate_rules[] = {
  /* org.calculate.Jabber.Manager */
  { CJ_IFACE_MANAGER, "AddUser",         CJ_ACTION_USERS,  cj_arguments_add_user },
  { CJ_IFACE_MANAGER, "FindUserByName",  NULL,             NULL },
  { CJ_IFACE_MANAGER, "ListUsers",       NULL,             NULL },
  { CJ_IFACE_MANAGER, "GetUsers",        NULL,             NULL },
  { CJ_IFACE_MANAGER, "GetUserTable",    NULL,             NULL },
  { CJ_IFACE_MANAGER, "AddGroup",        CJ_ACTION_GROUPS, cj_arguments_add_group },
  { CJ_IFACE_MANAGER, "FindGroupByName", NULL,             NULL },
  { CJ_IFACE_MANAGER, "ListGroups",      NULL,             NULL },
  { CJ_IFACE_MANAGER, "GetGroups",       NULL,             NULL },
  /* A file may also need manage-groups (it gives groups) and setup (it lists admin): the
   * job asks for those itself once it has read the file (cj-import-job.c). */
  { CJ_IFACE_MANAGER, "Import",          CJ_ACTION_USERS,  cj_arguments_import },

  /* org.calculate.Jabber.Server */
  { CJ_IFACE_SERVER,  "SetupLdap",       CJ_ACTION_SETUP,  cj_arguments_setup_ldap },
  { CJ_IFACE_SERVER,  "Setup",           CJ_ACTION_SETUP,  cj_arguments_setup },
  { CJ_IFACE_SERVER,  "Reload",          CJ_ACTION_SETUP,  cj_arguments_none },
  { CJ_IFACE_SERVER,  "Check",           NULL,             NULL },
  { CJ_IFACE_SERVER,  "Verify",          NULL,             NULL },
  { CJ_IFACE_SERVER,  "Repair",          CJ_ACTION_SETUP,  cj_arguments_repair },

  /* org.calculate.Jabber.User */
  { CJ_IFACE_USER,    "SetNickname",     CJ_ACTION_USERS,  cj_arguments_nickname },
  { CJ_IFACE_USER,    "SetPassword",     CJ_ACTION_USERS,  cj_arguments_password },
  { CJ_IFACE_USER,    "SetLocked",       CJ_ACTION_USERS,  cj_arguments_none },
  /* Membership is the groups' business: a user moves between groups. */
  { CJ_IFACE_USER,    "SetGroup",        CJ_ACTION_GROUPS, cj_arguments_object },
  { CJ_IFACE_USER,    "SetPhoto",        CJ_ACTION_USERS,  cj_arguments_photo },
  { CJ_IFACE_USER,    "ClearPhoto",      CJ_ACTION_USERS,  cj_arguments_none },
  /* The changes of one command (cl-usermod -c N -g G -L) in one call: one authorization.
   * Placing the user in a group is part of changing the user here (docs/dbus-api.md). */
  { CJ_IFACE_USER,    "Modify",          CJ_ACTION_USERS,  cj_arguments_modify },
  { CJ_IFACE_USER,    "GetPhoto",        NULL,             NULL },
  { CJ_IFACE_USER,    "Delete",          CJ_ACTION_USERS,  cj_arguments_none },

  /* org.calculate.Jabber.Group */
  { CJ_IFACE_GROUP,   "Rename",          CJ_ACTION_GROUPS, cj_arguments_group_name },
  { CJ_IFACE_GROUP,   "AddMembers",      CJ_ACTION_GROUPS, cj_arguments_members },
  { CJ_IFACE_GROUP,   "RemoveMembers",   CJ_ACTION_GROUPS, cj_arguments_members },
  { CJ_IFACE_GROUP,   "Delete",          CJ_ACTION_GROUPS, cj_arguments_none },
  /* cl-groupmod -a -d -n in one call: one authorization. */
  { CJ_IFACE_GROUP,   "Modify",          CJ_ACTION_GROUPS, cj_arguments_modify_group },

  /* org.calculate.Jabber.Job: stopping an import is managing users, like starting one. */
  { CJ_IFACE_JOB,     "Cancel",          CJ_ACTION_USERS,  cj_arguments_none },
  { CJ_IFACE_JOB,     "GetErrors",       NULL,             NULL },

  { NULL, NULL, NULL, NULL }
};

const CjGateRule *
cj_gate_lookup (const char *interface, const char *method)
{
  for (const CjGateRule *rule = cj_gate_rules; rule->interface != NULL; rule++)
    if (strcmp (rule->interface, interface) == 0 && strcmp (rule->method, method) == 0)
      return rule;
  return NULL;
}
