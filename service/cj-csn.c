/* entryCSN, sync cookies and the group rule: see cj-csn.h. */
#include "config.h"
#include "cj-csn.h"

#include <string.h>

/* A cookie longer than this is not one slapd wrote (4096 server ids of 41 bytes each). */
#define MAX_COOKIE_LENGTH (64 + (CJ_SERVER_ID_MAX + 1) * (CJ_CSN_LENGTH + 1))

struct _CjSyncCookie {
  GTree *by_sid;      /* GINT_TO_POINTER (sid) -> char *csn */
};

static gboolean
all_in (const char *text, gsize length, const char *set)
{
  for (gsize i = 0; i < length; i++)
    if (text[i] == '\0' || strchr (set, text[i]) == NULL)
      return FALSE;
  return TRUE;
}

gboolean
cj_csn_valid (const char *csn, gsize length)
{
  static const char digits[] = "0123456789";
  static const char hex[] = "0123456789abcdefABCDEF";

  return csn != NULL && length == CJ_CSN_LENGTH &&
         all_in (csn, 14, digits) && csn[14] == '.' && all_in (csn + 15, 6, digits) &&
         csn[21] == 'Z' && csn[22] == '#' && all_in (csn + 23, 6, hex) && csn[29] == '#' &&
         all_in (csn + 30, 3, hex) && csn[33] == '#' && all_in (csn + 34, 6, hex);
}

int
cj_csn_server_id (const char *csn)
{
  char field[4];

  if (csn == NULL || !cj_csn_valid (csn, strlen (csn)))
    return -1;
  memcpy (field, csn + 30, 3);
  field[3] = '\0';
  return (int) g_ascii_strtoll (field, NULL, 16);
}

static gint
compare_sids (gconstpointer a, gconstpointer b, gpointer unused)
{
  return GPOINTER_TO_INT (a) - GPOINTER_TO_INT (b);
}

CjSyncCookie *
cj_sync_cookie_new (void)
{
  CjSyncCookie *cookie = g_new0 (CjSyncCookie, 1);

  cookie->by_sid = g_tree_new_full (compare_sids, NULL, NULL, g_free);
  return cookie;
}

void
cj_sync_cookie_free (CjSyncCookie *cookie)
{
  if (cookie == NULL)
    return;
  g_tree_unref (cookie->by_sid);
  g_free (cookie);
}

void
cj_sync_cookie_clear (CjSyncCookie *cookie)
{
  g_tree_unref (cookie->by_sid);
  cookie->by_sid = g_tree_new_full (compare_sids, NULL, NULL, g_free);
}

gboolean
cj_sync_cookie_is_empty (CjSyncCookie *cookie)
{
  return g_tree_nnodes (cookie->by_sid) == 0;
}

static gboolean
take (CjSyncCookie *cookie, const char *csn)
{
  int sid = cj_csn_server_id (csn);
  const char *kept;

  if (sid < 0)
    return FALSE;
  kept = g_tree_lookup (cookie->by_sid, GINT_TO_POINTER (sid));
  /* Same width, same alphabet (the hex fields as written): byte order is CSN order. */
  if (kept != NULL && strcmp (kept, csn) >= 0)
    return FALSE;
  g_tree_replace (cookie->by_sid, GINT_TO_POINTER (sid), g_strdup (csn));
  return TRUE;
}

guint
cj_sync_cookie_merge (CjSyncCookie *cookie, const char *text, gsize length)
{
  g_autofree char *copy = NULL;
  g_auto(GStrv) fields = NULL;
  guint taken = 0;

  if (text == NULL || length == 0 || length > MAX_COOKIE_LENGTH || memchr (text, '\0', length) != NULL)
    return 0;
  copy = g_strndup (text, length);
  fields = g_strsplit (copy, ",", -1);
  for (char **f = fields; *f != NULL; f++)
    {
      g_auto(GStrv) csns = NULL;

      if (!g_str_has_prefix (*f, "csn="))
        continue;
      csns = g_strsplit (*f + 4, ";", CJ_SERVER_ID_MAX + 2);
      for (char **c = csns; *c != NULL; c++)
        if (take (cookie, *c))
          taken++;
    }
  return taken;
}

static gboolean
merge_one (gpointer sid, gpointer csn, gpointer data)
{
  take (data, csn);
  return FALSE;
}

void
cj_sync_cookie_merge_all (CjSyncCookie *into, CjSyncCookie *from)
{
  g_tree_foreach (from->by_sid, merge_one, into);
}

CjSyncCookie *
cj_sync_cookie_copy (CjSyncCookie *cookie)
{
  CjSyncCookie *copy = cj_sync_cookie_new ();

  cj_sync_cookie_merge_all (copy, cookie);
  return copy;
}

gboolean
cj_sync_cookie_covers (CjSyncCookie *cookie, const char *csn)
{
  int sid = cj_csn_server_id (csn);
  const char *kept;

  if (sid < 0)
    return TRUE;
  kept = g_tree_lookup (cookie->by_sid, GINT_TO_POINTER (sid));
  return kept == NULL || strcmp (csn, kept) <= 0;
}

static gboolean
append (gpointer sid, gpointer csn, gpointer data)
{
  GString *text = data;

  if (text->str[text->len - 1] != '=')
    g_string_append_c (text, ';');
  g_string_append (text, csn);
  return FALSE;
}

char *
cj_sync_cookie_to_string (CjSyncCookie *cookie)
{
  GString *text;

  if (cj_sync_cookie_is_empty (cookie))
    return NULL;
  text = g_string_new ("rid=000,csn=");
  g_tree_foreach (cookie->by_sid, append, text);
  return g_string_free (text, FALSE);
}

int
cj_group_claim_compare (const char *a_csn, const char *a_name, const char *a_dn,
                        const char *b_csn, const char *b_name, const char *b_dn)
{
  int order = g_strcmp0 (b_csn != NULL ? b_csn : "", a_csn != NULL ? a_csn : "");

  if (order != 0)
    return order;
  order = g_strcmp0 (a_name, b_name);
  if (order != 0)
    return order;
  return g_strcmp0 (a_dn, b_dn);
}
