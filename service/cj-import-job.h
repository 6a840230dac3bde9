/* Manager.Import and the Job object it makes (org.calculate.Jabber.Job): a bulk import as
 * one authorized operation. The job reads the rows from the caller's file descriptor in
 * bounded chunks, parses them in a worker thread (cj-import-parse.c), makes the groups the
 * file names (--create-groups), then works through the rows in batches: passwords hashed on
 * every core (a pool of g_get_num_processors() threads), each batch one operation of the
 * directory worker with many LDAP operations in flight (cj-import-write.c), published in
 * the registry as it lands. Other callers' operations run between batches. ejabberd is told
 * once, at the end. One import runs at a time (Busy for the next). */
#pragma once

#include "cj-daemon.h"

G_BEGIN_DECLS

/* Connects Manager.Import; called once the Manager skeleton exists. */
void cj_import_job_init (CjDaemon *daemon);

G_END_DECLS
