/* What became of a request whose answer the directory's silence lost: the entries it is
 * about are read back and compared with what was asked (cj-store.h, CjVerdict). Also the
 * comparison AddUser uses to tell its own half-made account from somebody else's. */
#include "config.h"
#include "cj-store.h"

#include <glib/gi18n.h>
#include <string.h>

#include "cj-error.h"
#include "cj-group-layout.h"
#include "cj-ldap-util.h"
#include "cj-password.h"

void
cj_verdict_free (CjVerdict *verdict)
{
  if (verdict == NULL)
    return;
  g_free (verdict->detail);
  g_clear_pointer (&verdict->changes, cj_changes_free);
  g_free (verdict);
}

const char *
cj_outcome_to_string (CjOutcome outcome)
{
  switch (outcome)
    {
    case CJ_OUTCOME_APPLIED:     return "applied";
    case CJ_OUTCOME_NOT_APPLIED: return "not applied";
    case CJ_OUTCOME_PARTIAL:     return "partly applied";
    default:                     return "?";
    }
}

/* Reading ----------------------------------------------------------------------------- */

/* The entry at @dn with @attrs into @result; *entry NULL when there is none. */
static gboolean
read_raw (CjStoreContext *ctx, const char *dn, const char *const *attrs, LDAPMessage **result,
          LDAPMessage **entry, GError **error)
{
  struct timeval timeout = { (time_t) cj_directory_get_timeout (ctx->directory), 0 };
  int rc = ldap_search_ext_s (ctx->ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)", (char **) attrs, 0,
                              NULL, NULL, &timeout, 1, result);

  *entry = NULL;
  if (rc == LDAP_NO_SUCH_OBJECT)
    return TRUE;
  if (rc != LDAP_SUCCESS)
    return cj_directory_set_error (ctx->directory, error, rc, ctx->ld, _("reading back a change"));
  *entry = ldap_first_entry (ctx->ld, *result);
  return TRUE;
}

GPtrArray *
cj_store_groups_of (CjStoreContext *ctx, const char *name, GError **error)
{
  const char *attrs[] = { "1.1", NULL };
  g_autofree char *filter = cj_group_member_filter (name);
  g_autoptr(LDAPMessage) result = NULL;
  GPtrArray *dns = g_ptr_array_new_with_free_func (g_free);
  int rc;

  rc = ldap_search_ext_s (ctx->ld, cj_directory_get_groups_dn (ctx->directory), LDAP_SCOPE_ONELEVEL,
                          filter, (char **) attrs, 0, NULL, NULL, NULL, 0, &result);
  if (rc == LDAP_NO_SUCH_OBJECT)
    return dns;
  if (rc != LDAP_SUCCESS)
    {
      g_ptr_array_unref (dns);
      cj_directory_set_error (ctx->directory, error, rc, ctx->ld, _("looking up group membership"));
      return NULL;
    }
  for (LDAPMessage *m = ldap_first_entry (ctx->ld, result); m != NULL; m = ldap_next_entry (ctx->ld, m))
    {
      char *dn = ldap_get_dn (ctx->ld, m);
      if (dn != NULL)
        g_ptr_array_add (dns, g_strdup (dn));
      ldap_memfree (dn);
    }
  return dns;
}

gboolean
cj_store_find_group_named (CjStoreContext *ctx, const char *name, const char *except_dn,
                           char **dn, GError **error)
{
  const char *attrs[] = { "1.1", NULL };
  g_autofree char *filter = cj_group_name_filter (name);
  g_autoptr(LDAPMessage) result = NULL;
  int rc;

  *dn = NULL;
  rc = ldap_search_ext_s (ctx->ld, cj_directory_get_groups_dn (ctx->directory), LDAP_SCOPE_ONELEVEL,
                          filter, (char **) attrs, 0, NULL, NULL, NULL, 0, &result);
  if (rc == LDAP_NO_SUCH_OBJECT)
    return TRUE;
  if (rc != LDAP_SUCCESS)
    return cj_directory_set_error (ctx->directory, error, rc, ctx->ld, _("looking up group names"));
  for (LDAPMessage *m = ldap_first_entry (ctx->ld, result); m != NULL && *dn == NULL;
       m = ldap_next_entry (ctx->ld, m))
    {
      char *found = ldap_get_dn (ctx->ld, m);

      if (found != NULL && (except_dn == NULL || g_ascii_strcasecmp (found, except_dn) != 0))
        *dn = g_strdup (found);
      ldap_memfree (found);
    }
  return TRUE;
}

static gboolean
value_is (LDAP *ld, LDAPMessage *entry, const char *attr, const char *expected)
{
  g_autofree char *value = cj_ldap_get_string (ld, entry, attr);

  return g_strcmp0 (value, expected) == 0;
}

static gboolean
password_is (LDAP *ld, LDAPMessage *entry, const char *password)
{
  g_auto(GStrv) stored = cj_ldap_get_strings (ld, entry, "userPassword");

  for (char **s = stored; *s != NULL; s++)
    if (cj_password_matches (password, *s))
      return TRUE;
  return FALSE;
}

static gboolean
photo_is (LDAP *ld, LDAPMessage *entry, GBytes *photo)
{
  struct berval **values = ldap_get_values_len (ld, entry, "jpegPhoto");
  gsize size = 0;
  const void *data = photo != NULL ? g_bytes_get_data (photo, &size) : NULL;
  gboolean same = photo == NULL
                  ? values == NULL || values[0] == NULL
                  : values != NULL && values[0] != NULL && values[0]->bv_len == size &&
                    memcmp (values[0]->bv_val, data, size) == 0;

  ldap_value_free_len (values);
  return same;
}

/* sn and displayName as AddUser or SetNickname write them. */
static gboolean
nickname_is (LDAP *ld, LDAPMessage *entry, const char *name, const char *nickname)
{
  gboolean empty = nickname == NULL || *nickname == '\0';

  return value_is (ld, entry, "sn", empty ? name : nickname) &&
         value_is (ld, entry, "displayName", empty ? NULL : nickname);
}

static gboolean
in_groups_as_asked (GPtrArray *groups, const char *group_dn)
{
  if (group_dn == NULL)
    return groups->len == 0;
  return groups->len == 1 && g_ascii_strcasecmp (groups->pdata[0], group_dn) == 0;
}

static gboolean
in_no_other_group (GPtrArray *groups, const char *group_dn)
{
  for (guint i = 0; i < groups->len; i++)
    if (group_dn == NULL || g_ascii_strcasecmp (groups->pdata[i], group_dn) != 0)
      return FALSE;
  return TRUE;
}

static const char *const user_attrs[] = {
  "objectClass", "sn", "displayName", "mail", "userPassword", "jpegPhoto", "shadowExpire", NULL
};

CjUserMatch
cj_store_user_as_asked (CjStoreContext *ctx, CjStoreRequest *request, const char *dn, GError **error)
{
  g_autoptr(LDAPMessage) result = NULL;
  g_autoptr(GPtrArray) groups = NULL;
  LDAPMessage *entry;
  LDAP *ld = ctx->ld;

  if (!read_raw (ctx, dn, user_attrs, &result, &entry, error))
    return CJ_USER_OTHER;
  if (entry == NULL)
    return CJ_USER_ABSENT;
  if (!cj_ldap_has_value (ld, entry, "objectClass", "inetOrgPerson") ||
      !nickname_is (ld, entry, request->name, request->nickname) ||
      !value_is (ld, entry, "mail", request->jid) ||
      (request->password != NULL ? !password_is (ld, entry, request->password)
                                 : cj_ldap_has_attr (ld, entry, "userPassword")) ||
      !photo_is (ld, entry, request->photo) ||
      cj_ldap_has_attr (ld, entry, "shadowExpire"))
    return CJ_USER_OTHER;
  /* Our own half-made account is in no group, or in the asked one already. */
  if ((groups = cj_store_groups_of (ctx, request->name, error)) == NULL)
    return CJ_USER_OTHER;
  return in_no_other_group (groups, request->group_dn) ? CJ_USER_AS_ASKED : CJ_USER_OTHER;
}

/* Verdicts per request ------------------------------------------------------------------ */

static CjVerdict *
verdict (CjStoreContext *ctx, CjOutcome outcome, char *detail)
{
  CjVerdict *v = g_new0 (CjVerdict, 1);

  v->outcome = outcome;
  v->detail = detail;
  v->changes = g_steal_pointer (&ctx->changes);
  return v;
}

/* Re-reads every group in @dns (and @also): the registry learns the memberships as they are. */
static gboolean
reread_groups (CjStoreContext *ctx, GPtrArray *dns, const char *also, GError **error)
{
  gboolean also_seen = also == NULL;

  for (guint i = 0; i < dns->len; i++)
    {
      also_seen |= also != NULL && g_ascii_strcasecmp (dns->pdata[i], also) == 0;
      if (!cj_store_reread (ctx, dns->pdata[i], FALSE, error))
        return FALSE;
    }
  if (!also_seen)
    {
      g_autoptr(GError) local_error = NULL;
      /* The asked group may be gone: that is a finding, not a failure. */
      if (!cj_store_reread (ctx, also, FALSE, &local_error) &&
          g_error_matches (local_error, CJ_ERROR, CJ_ERROR_DIRECTORY_UNAVAILABLE))
        {
          g_propagate_error (error, g_steal_pointer (&local_error));
          return FALSE;
        }
    }
  return TRUE;
}

static CjVerdict *
verify_add_user (CjStoreContext *ctx, CjStoreRequest *request, GError **error)
{
  g_autofree char *dn = cj_ldap_child_dn ("uid", request->name, cj_directory_get_users_dn (ctx->directory));
  g_autoptr(GPtrArray) groups = NULL;
  GError *local_error = NULL;
  CjUserMatch match = cj_store_user_as_asked (ctx, request, dn, &local_error);

  if (local_error != NULL)
    {
      g_propagate_error (error, local_error);
      return NULL;
    }
  if (match == CJ_USER_ABSENT)
    return verdict (ctx, CJ_OUTCOME_NOT_APPLIED, g_strdup (_("the account does not exist")));
  if ((groups = cj_store_groups_of (ctx, request->name, error)) == NULL ||
      !cj_store_reread (ctx, dn, TRUE, error) || !reread_groups (ctx, groups, request->group_dn, error))
    return NULL;
  if (match == CJ_USER_OTHER)
    return verdict (ctx, CJ_OUTCOME_NOT_APPLIED,
                    g_strdup (_("an account of that name exists, other than the one asked for")));
  if (!in_groups_as_asked (groups, request->group_dn))
    return verdict (ctx, CJ_OUTCOME_PARTIAL,
                    g_strdup (_("the account exists but is not in its group; adding it again puts it there")));
  return verdict (ctx, CJ_OUTCOME_APPLIED, NULL);
}

static CjVerdict *
verify_modify_user (CjStoreContext *ctx, CjStoreRequest *request, GError **error)
{
  g_autoptr(LDAPMessage) result = NULL;
  LDAPMessage *entry;
  LDAP *ld = ctx->ld;
  gboolean as_asked;

  if (!read_raw (ctx, request->dn, user_attrs, &result, &entry, error))
    return NULL;
  if (entry == NULL)
    return verdict (ctx, CJ_OUTCOME_NOT_APPLIED, g_strdup (_("the account no longer exists")));
  as_asked = (request->nickname == NULL || nickname_is (ld, entry, request->name, request->nickname)) &&
             (request->password == NULL || password_is (ld, entry, request->password)) &&
             (request->lock < 0 || (request->lock == 1) == cj_ldap_has_attr (ld, entry, "shadowExpire")) &&
             (request->photo == NULL || photo_is (ld, entry, request->photo)) &&
             (!request->clear_photo || !cj_ldap_has_attr (ld, entry, "jpegPhoto"));
  if (!cj_store_reread (ctx, request->dn, TRUE, error))
    return NULL;
  /* One modify: all of it or nothing. */
  return verdict (ctx, as_asked ? CJ_OUTCOME_APPLIED : CJ_OUTCOME_NOT_APPLIED, NULL);
}

static CjVerdict *
verify_membership (CjStoreContext *ctx, CjStoreRequest *request, GError **error)
{
  g_autoptr(GPtrArray) groups = NULL;
  g_autoptr(LDAPMessage) result = NULL;
  LDAPMessage *entry;
  const char *attrs[] = { "1.1", NULL };

  if (!read_raw (ctx, request->dn, attrs, &result, &entry, error) ||
      (groups = cj_store_groups_of (ctx, request->name, error)) == NULL ||
      !reread_groups (ctx, groups, request->group_dn, error))
    return NULL;
  if (request->op == CJ_STORE_DELETE_USER)
    {
      if (entry == NULL)
        {
          if (request->uuid != NULL)
            g_ptr_array_add (ctx->changes->removed, g_strdup (request->uuid));
          return verdict (ctx, CJ_OUTCOME_APPLIED, NULL);
        }
      if (!cj_store_reread (ctx, request->dn, TRUE, error))
        return NULL;
      /* Whether it left a group before is not known here (it may have been in none): the
       * account is there, so the deletion was not made; the view shows its group now. */
      return verdict (ctx, CJ_OUTCOME_NOT_APPLIED, g_strdup (_("the account still exists")));
    }
  /* SET_GROUP */
  if (entry == NULL)
    return verdict (ctx, CJ_OUTCOME_NOT_APPLIED, g_strdup (_("the account no longer exists")));
  if (!cj_store_reread (ctx, request->dn, TRUE, error))
    return NULL;
  if (in_groups_as_asked (groups, request->group_dn))
    return verdict (ctx, CJ_OUTCOME_APPLIED, NULL);
  return verdict (ctx, request->group_dn != NULL && groups->len == 0 ? CJ_OUTCOME_PARTIAL
                                                                     : CJ_OUTCOME_NOT_APPLIED,
                  groups->len == 0 ? g_strdup (_("the account is in no group"))
                                   : g_strdup (_("the account is in another group")));
}

/* How many of @names the group lists. */
static guint
count_members (LDAP *ld, LDAPMessage *group, char **names)
{
  guint n = 0;

  for (char **name = names; name != NULL && *name != NULL; name++)
    n += cj_ldap_has_value (ld, group, "memberUid", *name) ? 1 : 0;
  return n;
}

static CjVerdict *
verify_group (CjStoreContext *ctx, CjStoreRequest *request, GError **error)
{
  const char *attrs[] = { "memberUid", NULL };
  g_autofree char *named_dn = NULL;
  const char *dn = request->dn;
  g_autoptr(LDAPMessage) result = NULL;
  LDAPMessage *entry = NULL;
  guint wanted = request->members != NULL ? g_strv_length (request->members) : 0;
  guint found;

  /* A new group's DN is a fresh identifier: it is found by its name. */
  if (request->op == CJ_STORE_ADD_GROUP)
    {
      if (!cj_store_find_group_named (ctx, request->name, NULL, &named_dn, error))
        return NULL;
      dn = named_dn;
    }
  if (dn != NULL && !read_raw (ctx, dn, attrs, &result, &entry, error))
    return NULL;
  if (entry == NULL)
    {
      if (request->op == CJ_STORE_DELETE_GROUP)
        {
          if (request->uuid != NULL)
            g_ptr_array_add (ctx->changes->removed, g_strdup (request->uuid));
          return verdict (ctx, CJ_OUTCOME_APPLIED, NULL);
        }
      return verdict (ctx, CJ_OUTCOME_NOT_APPLIED, g_strdup (_("the group does not exist")));
    }
  if (!cj_store_reread (ctx, dn, TRUE, error))
    return NULL;
  found = count_members (ctx->ld, entry, request->members);
  switch (request->op)
    {
    case CJ_STORE_DELETE_GROUP:
      return verdict (ctx, CJ_OUTCOME_NOT_APPLIED, g_strdup (_("the group still exists")));
    case CJ_STORE_RENAME_GROUP:
      /* One modify of its name: all or nothing. */
      return verdict (ctx, g_strcmp0 (ctx->changes->subject->name, request->name) == 0
                           ? CJ_OUTCOME_APPLIED : CJ_OUTCOME_NOT_APPLIED, NULL);
    case CJ_STORE_REMOVE_MEMBERS:
      return verdict (ctx, found == 0 ? CJ_OUTCOME_APPLIED
                           : found == wanted ? CJ_OUTCOME_NOT_APPLIED : CJ_OUTCOME_PARTIAL, NULL);
    case CJ_STORE_MODIFY_GROUP:
      {
        /* Its parts, each counted: members added that are there, members removed that are
         * gone, the name as asked. */
        guint removing = request->remove_members != NULL ? g_strv_length (request->remove_members) : 0;
        guint parts = wanted + removing + (request->name != NULL ? 1 : 0);
        guint done = found + removing - count_members (ctx->ld, entry, request->remove_members) +
                     (request->name != NULL && g_strcmp0 (ctx->changes->subject->name, request->name) == 0 ? 1 : 0);

        return verdict (ctx, done == parts ? CJ_OUTCOME_APPLIED
                             : done == 0 ? CJ_OUTCOME_NOT_APPLIED : CJ_OUTCOME_PARTIAL, NULL);
      }
    case CJ_STORE_ADD_MEMBERS:
      return verdict (ctx, found == wanted ? CJ_OUTCOME_APPLIED
                           : found == 0 ? CJ_OUTCOME_NOT_APPLIED : CJ_OUTCOME_PARTIAL,
                      found == wanted ? NULL : g_strdup (_("not every member is in the group; adding them again puts them there")));
    default: /* ADD_GROUP: the group was made; its members may not all be in yet */
      return verdict (ctx, found == wanted ? CJ_OUTCOME_APPLIED : CJ_OUTCOME_PARTIAL,
                      found == wanted ? NULL : g_strdup (_("the group exists without all its members; adding it again puts them there")));
    }
}

static gpointer
verify (CjDirectory *directory, LDAP *ld, gpointer data, GCancellable *cancellable, GError **error)
{
  CjStoreRequest *request = data;
  CjStoreContext ctx = { directory, ld, cj_changes_new () };
  CjVerdict *v;

  switch (request->op)
    {
    case CJ_STORE_ADD_USER:
      v = verify_add_user (&ctx, request, error);
      break;
    case CJ_STORE_MODIFY_USER:
      v = verify_modify_user (&ctx, request, error);
      break;
    case CJ_STORE_DELETE_USER:
    case CJ_STORE_SET_GROUP:
      v = verify_membership (&ctx, request, error);
      break;
    default:
      v = verify_group (&ctx, request, error);
      break;
    }
  g_clear_pointer (&ctx.changes, cj_changes_free);
  return v;
}

void
cj_store_verify_async (CjDirectory *directory, CjStoreRequest *request, GAsyncReadyCallback callback,
                       gpointer user_data)
{
  cj_directory_run_settled_async (directory, verify, cj_store_request_ref (request),
                                  (GDestroyNotify) cj_store_request_free, callback, user_data);
}

CjVerdict *
cj_store_verify_finish (CjDirectory *directory, GAsyncResult *result, GError **error)
{
  return cj_directory_run_finish (directory, result, error);
}
