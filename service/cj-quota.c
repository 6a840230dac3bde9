/* Per-uid bounds: see cj-quota.h. */
#include "config.h"
#include "cj-quota.h"

struct _CjQuota {
  guint       per_uid;
  guint       others;
  guint       root;
  guint       others_held;
  GHashTable *held;          /* uid -> count (GUINT_TO_POINTER), root included */
};

CjQuota *
cj_quota_new (guint per_uid, guint others, guint root)
{
  CjQuota *quota = g_new0 (CjQuota, 1);

  quota->per_uid = per_uid;
  quota->others = others;
  quota->root = root;
  quota->held = g_hash_table_new (NULL, NULL);
  return quota;
}

void
cj_quota_free (CjQuota *quota)
{
  if (quota == NULL)
    return;
  g_hash_table_unref (quota->held);
  g_free (quota);
}

guint
cj_quota_limit (CjQuota *quota, guint32 uid)
{
  return uid == 0 ? quota->root : quota->per_uid;
}

gboolean
cj_quota_take (CjQuota *quota, guint32 uid, gboolean *per_user)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (quota->held, GUINT_TO_POINTER (uid)));

  *per_user = n >= cj_quota_limit (quota, uid);
  if (*per_user || (uid != 0 && quota->others_held >= quota->others))
    return FALSE;
  if (uid != 0)
    quota->others_held++;
  g_hash_table_insert (quota->held, GUINT_TO_POINTER (uid), GUINT_TO_POINTER (n + 1));
  return TRUE;
}

void
cj_quota_give (CjQuota *quota, guint32 uid)
{
  guint n = GPOINTER_TO_UINT (g_hash_table_lookup (quota->held, GUINT_TO_POINTER (uid)));

  g_return_if_fail (n > 0);
  if (uid != 0)
    quota->others_held--;
  if (n == 1)
    g_hash_table_remove (quota->held, GUINT_TO_POINTER (uid));
  else
    g_hash_table_insert (quota->held, GUINT_TO_POINTER (uid), GUINT_TO_POINTER (n - 1));
}
