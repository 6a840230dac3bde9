/* The administrator is protected: a change to an account ejabberd treats as an
 * administrator (cj_ejabberd_config_is_admin) needs org.calculate.jabber.setup, not only
 * the action of the gate's table. Else whoever may manage users could set the
 * administrator's password (or delete the account and add it again with one of their own)
 * and log in as the Jabber administrator: a delegation would escalate.
 *
 * Which calls count: every mutating method called on the administrator's User object
 * (SetPassword, SetLocked, Delete: its credentials and existence; SetNickname, SetPhoto,
 * ClearPhoto: what others are shown as the administrator; SetGroup: whom it sees), AddUser
 * of that name (creating it is choosing its password), and the group methods that move it
 * between groups as SetGroup does (AddGroup with it among the members, AddMembers and
 * RemoveMembers naming it; Group.Modify adding or removing it; User.Modify on it is a method
 * of its User object). Renaming or deleting a group it is in does not touch the
 * account and keeps the table's action. A future import or bulk method must add its case
 * here (docs/operations.md). Manager.Import cannot be judged here (the names are in the file
 * it has not read yet): its job asks polkit for the setup action itself once the file lists
 * an administrator, and fails those rows without it (cj-import-job.c). */
#pragma once

#include "cj-daemon.h"

G_BEGIN_DECLS

/* A CjGateRefine (cj-gate.h); @data is the daemon. */
const char *cj_admin_refine (GDBusMethodInvocation *invocation, const CjGateRule *rule, gpointer data);

G_END_DECLS
