/* How much of something each uid may hold at once: at most @per_uid for any one user but
 * root, @others for all of them together, and @root for root alone, so that no flood by
 * other users can ever turn root away. The gate counts polkit checks in flight with one,
 * the bounded reading (cj-reads.c) the listings waiting for the main loop with another. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _CjQuota CjQuota;

CjQuota  *cj_quota_new   (guint per_uid, guint others, guint root);
void      cj_quota_free  (CjQuota *quota);

/* TRUE: one more is counted for @uid. FALSE: a bound is reached (@per_user says which). */
gboolean  cj_quota_take  (CjQuota *quota, guint32 uid, gboolean *per_user);
void      cj_quota_give  (CjQuota *quota, guint32 uid);
/* The bound that applies to @uid alone. */
guint     cj_quota_limit (CjQuota *quota, guint32 uid);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjQuota, cj_quota_free)

G_END_DECLS
