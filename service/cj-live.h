/* Roster pushes: mod_shared_roster_ldap shows every group to every user but never tells a
 * connected client that the groups changed (ejabberd #1706). The daemon knows the directory
 * (its registry), so it computes the shared roster as ejabberd shows it — one list of
 * contacts, the same for every viewer but for the viewer itself — and after every change
 * sends each connected session an RFC 6121 roster push per contact that changed, from the
 * session's own bare JID (the only sender a client accepts), through ejabberd's send_stanza. */
#pragma once

#include "cj-daemon.h"

G_BEGIN_DECLS

void cj_live_init    (CjDaemon *daemon);
/* The registry changed (a load, a change of ours or of another LDAP writer): the first call
 * takes the view as it is; later ones push the difference, coalesced (a burst of changes is
 * one round of pushes). */
void cj_live_changed (CjDaemon *daemon);

G_END_DECLS
