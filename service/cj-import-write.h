/* Writing one batch of an import to the directory, in the directory's worker thread (one
 * operation of cj-directory.c: nothing else interleaves with a batch, and everything else
 * runs between batches). The batch reads what LDAP holds for its accounts (two searches),
 * then writes with many operations in flight on the one connection (libldap's asynchronous
 * calls, a bounded window) instead of one round trip each: the entries first, then one
 * modify per group for all its leaving and joining members (leaving before joining, so an
 * interruption leaves a user in no group, never in two). Every account of a batch is either
 * written wholly (entry and group) or not at all: a new account whose group could not be
 * joined is deleted again. */
#pragma once

#include "cj-directory.h"
#include "cj-import-parse.h"
#include "cj-store.h"

G_BEGIN_DECLS

typedef enum {
  CJ_IMPORT_PENDING,
  CJ_IMPORT_CREATED,
  CJ_IMPORT_UPDATED,
  CJ_IMPORT_UNCHANGED,
  CJ_IMPORT_FAILED,
} CjImportOutcome;

typedef struct {
  CjImportRow    *row;          /* borrowed from the job */
  char           *group_dn;     /* NULL: not given; "": in no group */
  char           *hash;         /* the userPassword to write if one is written, or NULL */
  char           *refused;      /* set before the batch: the row fails with this reason */
  gboolean        wants_hash;   /* the row's clear password is to be hashed (row->password) */
  gboolean        wants_photo;  /* the row's jpegPhoto is to go through the photo sandbox */
  GBytes         *photo;        /* the jpegPhoto to write, as the sandbox made it, or NULL */
  /* Results. */
  CjImportOutcome outcome;
  char           *error;
  gboolean        newly_locked; /* an existing account the batch locked: end its sessions */
  CjEntry        *entry;        /* the entry as written, from the post-read control, or NULL */
} CjImportItem;

void cj_import_item_free (CjImportItem *item);

typedef struct {
  GPtrArray *items;             /* CjImportItem */
  char      *mail_host;         /* the primary host: mail = name@host for new accounts */
  gboolean   update_passwords;
} CjImportBatch;

void cj_import_batch_free (CjImportBatch *batch);

/* @batch must stay alive until @callback ran. The result: the entries written, read back
 * (for the registry); the items' outcomes are set even when it fails (the rows not written
 * stay PENDING). */
void       cj_import_write_async  (CjDirectory *directory, CjImportBatch *batch,
                                   GAsyncReadyCallback callback, gpointer user_data);
CjChanges *cj_import_write_finish (CjDirectory *directory, GAsyncResult *result, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjImportBatch, cj_import_batch_free)

G_END_DECLS
