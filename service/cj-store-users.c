/* The users half of cj-store: adding, changing and deleting a Jabber account and moving it
 * between groups. */
#include "config.h"
#include "cj-store.h"

#include <glib/gi18n.h>
#include <string.h>

#include "cj-error.h"
#include "cj-ldap-util.h"
#include "cj-password.h"

static char *
user_dn (CjStoreContext *ctx, const char *name)
{
  return cj_ldap_child_dn ("uid", name, cj_directory_get_users_dn (ctx->directory));
}

/* The group must exist before anyone is put into it; checked in LDAP, not in the view.
 * Returns the group as it is now. */
static CjEntry *
check_group (CjStoreContext *ctx, const char *group_dn, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autoptr(CjEntry) group = cj_store_read (ctx, group_dn, &local_error);

  if (group != NULL && group->kind == CJ_ENTRY_GROUP)
    return g_steal_pointer (&group);
  if (local_error != NULL && !g_error_matches (local_error, CJ_ERROR, CJ_ERROR_NOT_FOUND) &&
      !g_error_matches (local_error, CJ_ERROR, CJ_ERROR_FAILED))
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }
  g_set_error (error, CJ_ERROR, CJ_ERROR_NOT_FOUND, _("The group does not exist (any more)"));
  return NULL;
}

static gboolean
add_user (CjStoreContext *ctx, CjStoreRequest *request, GError **error)
{
  static const char *const classes[] = { "top", "person", "organizationalPerson", "inetOrgPerson", NULL };
  g_autofree char *dn = user_dn (ctx, request->name);
  g_autofree char *hash = NULL;
  g_autoptr(CjLdapMods) mods = cj_ldap_mods_new ();
  const char *nickname = request->nickname != NULL && *request->nickname != '\0'
                         ? request->nickname : NULL;
  g_autoptr(CjEntry) added = NULL;
  g_autoptr(GError) add_error = NULL;
  int add_id = -1, search_id = -1;
  int rc, search_rc = LDAP_OTHER;

  if (request->group_dn != NULL)
    {
      g_autoptr(CjEntry) group = check_group (ctx, request->group_dn, error);
      if (group == NULL)
        return FALSE;
    }
  if (request->password != NULL && (hash = cj_password_hash (request->password, error)) == NULL)
    return FALSE;

  cj_ldap_mods_add (mods, LDAP_MOD_ADD, "objectClass", classes);
  cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "uid", request->name);
  cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "cn", request->name);
  /* sn is required by the schema; Calculate-Server kept the nickname there. */
  cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "sn", nickname != NULL ? nickname : request->name);
  if (nickname != NULL)
    cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "displayName", nickname);
  cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "mail", request->jid);
  if (hash != NULL)
    cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "userPassword", hash);
  if (request->photo != NULL)
    cj_ldap_mods_add_bin (mods, LDAP_MOD_ADD, "jpegPhoto", request->photo);

  /* The add carries the post-read control: its answer brings the account as written, so
   * nothing is read back. Right behind it, before its answer, goes the search for groups
   * that list the name already (below): one round trip for both. */
  rc = cj_store_add_send (ctx, dn, cj_ldap_mods_get (mods), &add_id);
  if (rc == LDAP_SUCCESS)
    {
      search_rc = cj_store_memberships_send (ctx, request->name, &search_id);
      rc = cj_store_write_wait (ctx, add_id, &added);
    }
  if (hash != NULL)
    explicit_bzero (hash, strlen (hash));
  if (rc == LDAP_ALREADY_EXISTS)
    {
      /* The same request again after a fault left it half made (the account without its
       * group, or an answer lost): an account exactly as asked is ours, and the steps after
       * the add are done now. Any other account of that name is somebody else's. */
      CjUserMatch match = cj_store_user_as_asked (ctx, request, dn, &add_error);

      if (add_error == NULL && match != CJ_USER_AS_ASKED)
        g_set_error (&add_error, CJ_ERROR, CJ_ERROR_ALREADY_EXISTS,
                     _("A user named “%s” already exists"), request->name);
    }
  else if (rc == LDAP_NO_SUCH_OBJECT)
    cj_store_subtree_missing (cj_directory_get_users_dn (ctx->directory), &add_error);
  else if (rc != LDAP_SUCCESS)
    cj_directory_set_error (ctx->directory, &add_error, rc, ctx->ld, _("adding the user"));
  if (add_error != NULL)
    {
      if (search_rc == LDAP_SUCCESS)
        cj_store_memberships_drop (ctx, search_id);
      g_propagate_error (error, g_steal_pointer (&add_error));
      return FALSE;
    }

  /* A memberUid left behind by an earlier account of the same name (written by another
   * tool) must not pull the new account into that group. */
  if (search_rc == LDAP_SUCCESS
      ? !cj_store_leave_groups_sent (ctx, search_id, request->name, request->group_dn, FALSE, error)
      : !cj_store_leave_groups (ctx, request->name, request->group_dn, FALSE, error))
    return FALSE;
  if (request->group_dn != NULL)
    {
      GError *local_error = NULL;
      CjEntry *group = NULL;

      if (!cj_store_join_group_read (ctx, request->group_dn, request->name, &group, &local_error))
        {
          /* All or nothing: the account goes again when the group went meanwhile. Not
           * when the server stopped answering: it would not answer the delete either, and
           * the same request again finishes the account instead. */
          if (!g_error_matches (local_error, CJ_ERROR, CJ_ERROR_DIRECTORY_UNAVAILABLE))
            cj_directory_delete (ctx->directory, ctx->ld, dn);
          g_propagate_error (error, local_error);
          return FALSE;
        }
      if (!cj_store_record (ctx, request->group_dn, group, FALSE, error))
        return FALSE;
    }
  return cj_store_record (ctx, dn, g_steal_pointer (&added), TRUE, error);
}

/* What a lock, an unlock or a cleared photo changes depends on what the entry holds. */
typedef struct {
  gboolean shadow;   /* objectClass shadowAccount */
  gboolean expire;   /* shadowExpire */
  gboolean photo;    /* jpegPhoto */
} UserState;

static int
read_state (CjStoreContext *ctx, const char *dn, UserState *state)
{
  const char *attrs[] = { "objectClass", "shadowExpire", "jpegPhoto", NULL };
  g_autoptr(LDAPMessage) result = NULL;
  LDAPMessage *entry;
  int rc = ldap_search_ext_s (ctx->ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)", (char **) attrs,
                              0, NULL, NULL, NULL, 1, &result);

  if (rc != LDAP_SUCCESS)
    return rc;
  entry = ldap_first_entry (ctx->ld, result);
  if (entry == NULL)
    return LDAP_NO_SUCH_OBJECT;
  state->shadow = cj_ldap_has_value (ctx->ld, entry, "objectClass", "shadowAccount");
  state->expire = cj_ldap_has_attr (ctx->ld, entry, "shadowExpire");
  state->photo = cj_ldap_has_attr (ctx->ld, entry, "jpegPhoto");
  return LDAP_SUCCESS;
}

/* The user was deleted (by another writer) while the request was on its way. */
static gboolean
user_gone (CjStoreRequest *request, GError **error)
{
  g_set_error (error, CJ_ERROR, CJ_ERROR_NOT_FOUND, _("The user “%s” no longer exists"), request->name);
  return FALSE;
}

/* The modification for @request. @state NULL: for a permissive modify, which needs no
 * state (adding the objectClass value again, deleting an attribute that is not there, are
 * no errors); else only what the entry lacks is added, only what it has deleted. */
static void
user_mods (CjLdapMods *mods, CjStoreRequest *request, const char *hash, const UserState *state)
{
  if (request->nickname != NULL)
    {
      gboolean empty = *request->nickname == '\0';

      cj_ldap_mods_add1 (mods, LDAP_MOD_REPLACE, "sn", empty ? request->name : request->nickname);
      cj_ldap_mods_add1 (mods, LDAP_MOD_REPLACE, "displayName", empty ? NULL : request->nickname);
    }
  if (hash != NULL)
    cj_ldap_mods_add1 (mods, LDAP_MOD_REPLACE, "userPassword", hash);
  /* Locked = shadowAccount with shadowExpire: 1 (the epoch's next day): ejabberd's
   * ldap_filter leaves out entries with shadowExpire. */
  if (request->lock == 1)
    {
      if (state == NULL || !state->shadow)
        cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "objectClass", "shadowAccount");
      cj_ldap_mods_add1 (mods, LDAP_MOD_REPLACE, "shadowExpire", "1");
    }
  else if (request->lock == 0)
    {
      if (state == NULL || state->expire)
        cj_ldap_mods_add1 (mods, LDAP_MOD_DELETE, "shadowExpire", NULL);
      if (state == NULL || state->shadow)
        cj_ldap_mods_add1 (mods, LDAP_MOD_DELETE, "objectClass", "shadowAccount");
    }
  if (request->photo != NULL)
    cj_ldap_mods_add_bin (mods, LDAP_MOD_REPLACE, "jpegPhoto", request->photo);
  else if (request->clear_photo && (state == NULL || state->photo))
    cj_ldap_mods_add1 (mods, LDAP_MOD_DELETE, "jpegPhoto", NULL);
}

/* One round trip for the usual change: the modify asks for permissive modify, so a lock,
 * an unlock or a cleared photo needs no read of the entry before it, and for the post-read
 * control, so it needs no read after it (what the registry publishes comes with the
 * answer). A modify of an entry that is gone answers noSuchObject, which says that the
 * user no longer exists as the read before it did. Against a server that ignores the
 * permissive control (an "already there" or "not there" answer), the entry is read and
 * the modification made to fit it, as before. */
static gboolean
modify_user (CjStoreContext *ctx, CjStoreRequest *request, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  g_autofree char *hash = NULL;
  gboolean depends = request->lock >= 0 || request->clear_photo;
  CjEntry *entry = NULL;
  gboolean ok = TRUE;
  int rc = LDAP_SUCCESS;

  if (request->password != NULL && (hash = cj_password_hash (request->password, error)) == NULL)
    return FALSE;

  {
    g_autoptr(CjLdapMods) mods = cj_ldap_mods_new ();

    user_mods (mods, request, hash, NULL);
    if (!cj_ldap_mods_is_empty (mods))
      rc = cj_store_write_read (ctx, FALSE, request->dn, cj_ldap_mods_get (mods), depends, &entry);
  }
  if (depends && (rc == LDAP_TYPE_OR_VALUE_EXISTS || rc == LDAP_NO_SUCH_ATTRIBUTE))
    {
      g_autoptr(CjLdapMods) mods = cj_ldap_mods_new ();
      UserState state = { 0 };

      rc = read_state (ctx, request->dn, &state);
      if (rc == LDAP_SUCCESS)
        {
          user_mods (mods, request, hash, &state);
          if (!cj_ldap_mods_is_empty (mods))
            rc = cj_store_write_read (ctx, FALSE, request->dn, cj_ldap_mods_get (mods), FALSE, &entry);
        }
      else if (rc != LDAP_NO_SUCH_OBJECT)
        ok = cj_directory_set_error (ctx->directory, &local_error, rc, ctx->ld, _("reading the user"));
    }
  if (hash != NULL)
    explicit_bzero (hash, strlen (hash));
  if (ok && rc != LDAP_SUCCESS)
    ok = cj_directory_set_error (ctx->directory, &local_error, rc, ctx->ld, _("changing the user"));
  if (ok)
    ok = cj_store_record (ctx, request->dn, entry, TRUE, &local_error);
  else
    g_clear_pointer (&entry, cj_entry_unref);
  if (ok)
    return TRUE;
  if (g_error_matches (local_error, CJ_ERROR, CJ_ERROR_NOT_FOUND))
    return user_gone (request, error);
  g_propagate_error (error, g_steal_pointer (&local_error));
  return FALSE;
}

/* The user a request is about, as LDAP has it now. */
static CjEntry *
read_user (CjStoreContext *ctx, CjStoreRequest *request, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  CjEntry *user = cj_store_read (ctx, request->dn, &local_error);

  if (user != NULL)
    return user;
  if (g_error_matches (local_error, CJ_ERROR, CJ_ERROR_NOT_FOUND))
    user_gone (request, error);
  else
    g_propagate_error (error, g_steal_pointer (&local_error));
  return NULL;
}

static gboolean
delete_user (CjStoreContext *ctx, CjStoreRequest *request, GError **error)
{
  g_autoptr(CjEntry) user = read_user (ctx, request, error);
  int rc;

  if (user == NULL)
    return FALSE;
  /* Out of its group first: a failure then leaves a user without a group, never a group
   * with a member that does not exist. */
  if (!cj_store_leave_groups (ctx, user->name, NULL, FALSE, error))
    return FALSE;
  rc = cj_directory_delete (ctx->directory, ctx->ld, request->dn);
  if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT)
    return cj_directory_set_error (ctx->directory, error, rc, ctx->ld, _("deleting the user"));
  g_ptr_array_add (ctx->changes->removed, g_strdup (user->uuid));
  return TRUE;
}

static gboolean
set_group (CjStoreContext *ctx, CjStoreRequest *request, GError **error)
{
  g_autoptr(CjEntry) user = read_user (ctx, request, error);

  if (user == NULL)
    return FALSE;
  if (request->group_dn != NULL)
    {
      g_autoptr(CjEntry) group = check_group (ctx, request->group_dn, error);

      if (group == NULL)
        return FALSE;
      if (group->members != NULL && g_strv_contains ((const char *const *) group->members, user->name))
        ctx->changes->previous_group = g_strdup (group->uuid);
    }
  if (!cj_store_leave_groups (ctx, user->name, request->group_dn, TRUE, error))
    return FALSE;
  if (ctx->changes->previous_group == NULL && ctx->changes->moved_from->len > 0)
    ctx->changes->previous_group = g_strdup (ctx->changes->moved_from->pdata[0]);
  if (request->group_dn != NULL)
    {
      CjEntry *group = NULL;

      if (!cj_store_join_group_read (ctx, request->group_dn, user->name, &group, error) ||
          !cj_store_record (ctx, request->group_dn, group, FALSE, error))
        return FALSE;
    }
  ctx->changes->subject = cj_entry_ref (user);
  return TRUE;
}

gboolean
cj_store_users_run (CjStoreContext *ctx, CjStoreRequest *request, GError **error)
{
  switch (request->op)
    {
    case CJ_STORE_ADD_USER:
      return add_user (ctx, request, error);
    case CJ_STORE_MODIFY_USER:
      /* User.Modify: the group first; modify_user then reads the subject back. */
      if (request->set_group && !set_group (ctx, request, error))
        return FALSE;
      return modify_user (ctx, request, error);
    case CJ_STORE_DELETE_USER:
      return delete_user (ctx, request, error);
    case CJ_STORE_SET_GROUP:
      return set_group (ctx, request, error);
    default:
      g_assert_not_reached ();
    }
}
