/* Convergence without an administrator (issue 14; docs/ldap-layout.md, "A user in several
 * groups"): what several writers leave behind — a user listed by two groups because two
 * nodes moved it at the same moment, a memberUid whose account another node deleted — is
 * repaired by the rule of cj-csn.h, by exactly one node: the one whose provider took the
 * losing write ([Directory] ServerId equal to the server id in the losing group's entryCSN)
 * after a short settle delay; any other node only after a grace period, if the violation
 * is still there (the node that should have repaired it is down). With ServerId 0 (one
 * node) the daemon repairs everything it sees after the settle delay. Each repair re-reads
 * the entries first, goes through the directory's writer, is idempotent and audited. */
#pragma once

#include "cj-daemon.h"

G_BEGIN_DECLS

typedef struct _CjConverge CjConverge;

CjConverge *cj_converge_new     (CjDaemon *daemon);
void        cj_converge_free    (CjConverge *converge);
/* The view changed (another writer's change reached it): look again soon. */
void        cj_converge_changed (CjConverge *converge);

/* How long a node waits before repairing a violation it does not own, in seconds. */
guint       cj_converge_grace_seconds (guint server_id);

G_END_DECLS
