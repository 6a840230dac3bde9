/* Requests whose outcome the directory's silence left unknown (CJ_ERROR_OUTCOME_UNKNOWN).
 * The caller was told so; here the daemon finds out: once the server has answered the
 * connection that carried the write, the entries are read back and compared with what was
 * asked (cj_store_verify_async). The real outcome gets its own audit line, the objects are
 * updated, and ejabberd is told as it would have been. Until the directory answers, the
 * check is repeated with a growing pause (1 s up to 30 s). */
#pragma once

#include "cj-daemon.h"

G_BEGIN_DECLS

typedef struct _CjOutcomes CjOutcomes;

/* Remembers @request (a reference is taken) and the call it came with. */
void cj_outcome_watch (CjDaemon *daemon, GDBusMethodInvocation *invocation, const char *target,
                       CjStoreRequest *request);
/* At shutdown: what is still unknown is logged, then forgotten. */
void cj_outcome_free  (CjOutcomes *outcomes);

G_END_DECLS
