/* Bounded reading. Reading needs no authorization, so any local user may ask for the
 * listings (GetManagedObjects, ListUsers, GetUsers, GetUserTable, ListGroups, GetGroups),
 * which cost the main loop up to tens of milliseconds each at 100,000 users. Such a call
 * is not answered at once: it waits in a queue served at low priority, one call per
 * main-loop iteration, so that everything else (root's FindUserByName, a change, a
 * signal) goes first. The queue is bounded per uid and overall (cj-quota.c), and a call
 * past the bounds is answered Busy at once; root has a bound of its own. */
#pragma once

#include <gio/gio.h>

#include "cj-peers.h"

G_BEGIN_DECLS

typedef struct _CjReads CjReads;

/* Answers @invocation (it always does: a GError from the queue goes to the caller). */
typedef void (*CjReadFunc) (GDBusMethodInvocation *invocation, gpointer data);

CjReads *cj_reads_new    (CjPeers *peers);
void     cj_reads_free   (CjReads *reads);

/* Takes @invocation; @func answers it later, in the main context (with @data). */
void     cj_reads_submit (CjReads *reads, GDBusMethodInvocation *invocation, CjReadFunc func,
                          gpointer data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjReads, cj_reads_free)

G_END_DECLS
