/* The groups half of cj-store: shared roster groups (posixGroup entries whose memberUid
 * lists user names), and the rule that a user is in at most one of them. */
#include "config.h"
#include "cj-store.h"

#include <glib/gi18n.h>
#include <stdlib.h>
#include <string.h>

#include "cj-error.h"
#include "cj-group-layout.h"
#include "cj-ldap-util.h"

#define FIRST_GID 10000

static gboolean
read_group (CjStoreContext *ctx, const char *dn, CjEntry **group, GError **error)
{
  g_autoptr(GError) local_error = NULL;

  *group = cj_store_read (ctx, dn, &local_error);
  if (*group != NULL && (*group)->kind == CJ_ENTRY_GROUP)
    return TRUE;
  g_clear_pointer (group, cj_entry_unref);
  if (local_error != NULL && g_error_matches (local_error, CJ_ERROR, CJ_ERROR_DIRECTORY_UNAVAILABLE))
    g_propagate_error (error, g_steal_pointer (&local_error));
  else
    g_set_error (error, CJ_ERROR, CJ_ERROR_NOT_FOUND, _("The group no longer exists"));
  return FALSE;
}

/* All or nothing: every name must be a user in LDAP, or nothing changes and the error names
 * the missing ones. */
static gboolean
check_users_exist (CjStoreContext *ctx, char **names, GError **error)
{
  const char *attrs[] = { "uid", NULL };
  g_autoptr(GString) filter = g_string_new ("(&(objectClass=inetOrgPerson)(|");
  g_autoptr(LDAPMessage) result = NULL;
  g_autoptr(GHashTable) found = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) missing = g_ptr_array_new ();
  int rc;

  if (names == NULL || names[0] == NULL)
    return TRUE;
  for (char **n = names; *n != NULL; n++)
    {
      g_autofree char *escaped = cj_ldap_escape_filter (*n);
      g_string_append_printf (filter, "(uid=%s)", escaped);
    }
  g_string_append (filter, "))");

  rc = ldap_search_ext_s (ctx->ld, cj_directory_get_users_dn (ctx->directory), LDAP_SCOPE_ONELEVEL,
                          filter->str, (char **) attrs, 0, NULL, NULL, NULL, 0, &result);
  if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT)
    return cj_directory_set_error (ctx->directory, error, rc, ctx->ld, _("looking up users"));
  for (LDAPMessage *m = ldap_first_entry (ctx->ld, result); m != NULL; m = ldap_next_entry (ctx->ld, m))
    {
      g_auto(GStrv) uids = cj_ldap_get_strings (ctx->ld, m, "uid");
      for (char **u = uids; *u != NULL; u++)
        g_hash_table_add (found, g_utf8_casefold (*u, -1));
    }
  for (char **n = names; *n != NULL; n++)
    {
      g_autofree char *key = g_utf8_casefold (*n, -1);
      if (!g_hash_table_contains (found, key))
        g_ptr_array_add (missing, *n);
    }
  if (missing->len == 0)
    return TRUE;
  g_ptr_array_add (missing, NULL);
  {
    g_autofree char *list = g_strjoinv (", ", (char **) missing->pdata);
    g_set_error (error, CJ_ERROR, CJ_ERROR_NOT_FOUND,
                 g_dngettext (GETTEXT_PACKAGE, "No such user: %s", "No such users: %s", missing->len - 1),
                 list);
  }
  return FALSE;
}

static gboolean
next_gid (CjStoreContext *ctx, guint *gid, GError **error)
{
  const char *attrs[] = { "gidNumber", NULL };
  g_autoptr(LDAPMessage) result = NULL;
  guint64 highest = FIRST_GID - 1;
  int rc = ldap_search_ext_s (ctx->ld, cj_directory_get_groups_dn (ctx->directory), LDAP_SCOPE_ONELEVEL,
                              "(objectClass=posixGroup)", (char **) attrs, 0, NULL, NULL, NULL, 0, &result);

  if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT)
    return cj_directory_set_error (ctx->directory, error, rc, ctx->ld, _("choosing a group number"));
  for (LDAPMessage *m = ldap_first_entry (ctx->ld, result); m != NULL; m = ldap_next_entry (ctx->ld, m))
    {
      g_autofree char *value = cj_ldap_get_string (ctx->ld, m, "gidNumber");
      guint64 number = value != NULL ? g_ascii_strtoull (value, NULL, 10) : 0;
      if (number > highest && number < G_MAXUINT32)
        highest = number;
    }
  *gid = (guint) (highest + 1);
  return TRUE;
}

/* Moves every one of @names into the group at @dn, out of any other group. */
static gboolean
move_into (CjStoreContext *ctx, const char *dn, char **names, GError **error)
{
  for (char **n = names; n != NULL && *n != NULL; n++)
    if (!cj_store_leave_groups (ctx, *n, dn, TRUE, error) ||
        !cj_store_join_group (ctx, dn, *n, error))
      return FALSE;
  return TRUE;
}

/* Whether a group other than @except_dn is named @name (the attributes' own equality
 * rules: case-insensitive). Run in the writer thread, so the daemon's own writes cannot
 * race it; against other writers the local slapd's unique overlay on description
 * (cj-slapd-config.c) decides, and a write it refuses is reported by write_error. */
static gboolean
check_name_free (CjStoreContext *ctx, const char *name, const char *except_dn, GError **error)
{
  g_autofree char *other = NULL;

  if (!cj_store_find_group_named (ctx, name, except_dn, &other, error))
    return FALSE;
  if (other != NULL)
    {
      g_set_error (error, CJ_ERROR, CJ_ERROR_ALREADY_EXISTS, _("A group named “%s” already exists"), name);
      return FALSE;
    }
  return TRUE;
}

/* A write refused with @rc: a constraint violation is the unique overlay's answer when
 * another writer took the name meanwhile. */
static gboolean
write_error (CjStoreContext *ctx, int rc, const char *name, const char *except_dn, const char *what,
             GError **error)
{
  if (rc == LDAP_CONSTRAINT_VIOLATION && !check_name_free (ctx, name, except_dn, error))
    return FALSE;
  return cj_directory_set_error (ctx->directory, error, rc, ctx->ld, what);
}

/* Whether every member of @group is one of @names, and @names is not empty. */
static gboolean
members_within (CjEntry *group, char **names)
{
  if (names == NULL || names[0] == NULL)
    return FALSE;
  for (char **m = group->members; m != NULL && *m != NULL; m++)
    if (!g_strv_contains ((const char *const *) names, *m))
      return FALSE;
  return TRUE;
}

/* The same AddGroup again after a fault left the group without all its members: a group of
 * that name holding only asked members is the earlier attempt's, and the rest go in now.
 * *done: the request was handled here (finished, or refused as AlreadyExists). */
static gboolean
finish_earlier_add (CjStoreContext *ctx, CjStoreRequest *request, gboolean *done, GError **error)
{
  g_autofree char *dn = NULL;
  g_autoptr(CjEntry) group = NULL;

  *done = FALSE;
  if (!cj_store_find_group_named (ctx, request->name, NULL, &dn, error))
    return FALSE;
  if (dn == NULL)
    return TRUE;
  *done = TRUE;
  if (!read_group (ctx, dn, &group, error))
    return FALSE;
  if (!members_within (group, request->members))
    {
      g_set_error (error, CJ_ERROR, CJ_ERROR_ALREADY_EXISTS,
                   _("A group named “%s” already exists"), request->name);
      return FALSE;
    }
  return move_into (ctx, dn, request->members, error) && cj_store_reread (ctx, dn, TRUE, error);
}

static gboolean
add_group (CjStoreContext *ctx, CjStoreRequest *request, GError **error)
{
  static const char *const classes[] = { "top", "posixGroup", NULL };
  g_autofree char *dn = NULL;
  g_autofree char *gid_text = NULL;
  guint gid = 0;
  int rc = LDAP_OTHER;
  gboolean done = FALSE;

  if (!check_users_exist (ctx, request->members, error) ||
      !finish_earlier_add (ctx, request, &done, error))
    return FALSE;
  if (done)
    return TRUE;
  if (!next_gid (ctx, &gid, error))
    return FALSE;
  gid_text = g_strdup_printf ("%u", gid);
  /* The RDN is a fresh identifier, never the name (cj-group-layout.h); a clash of two
   * random ids is not expected, the loop only keeps it harmless. */
  for (int attempt = 0; attempt < 3; attempt++)
    {
      g_autofree char *id = cj_group_id_new ();
      g_autoptr(CjLdapMods) mods = cj_ldap_mods_new ();

      g_free (dn);
      dn = cj_ldap_child_dn ("cn", id, cj_directory_get_groups_dn (ctx->directory));
      cj_ldap_mods_add (mods, LDAP_MOD_ADD, "objectClass", classes);
      cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "cn", id);
      cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "description", request->name);
      cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "gidNumber", gid_text);
      rc = cj_directory_add (ctx->directory, ctx->ld, dn, cj_ldap_mods_get (mods));
      if (rc != LDAP_ALREADY_EXISTS)
        break;
    }
  if (rc == LDAP_NO_SUCH_OBJECT)
    return cj_store_subtree_missing (cj_directory_get_groups_dn (ctx->directory), error);
  if (rc != LDAP_SUCCESS)
    return write_error (ctx, rc, request->name, NULL, _("adding the group"), error);
  return move_into (ctx, dn, request->members, error) && cj_store_reread (ctx, dn, TRUE, error);
}

/* One modify of the description: the entry keeps its DN and its entryUUID. */
static gboolean
rename_group (CjStoreContext *ctx, CjStoreRequest *request, GError **error)
{
  g_autoptr(CjEntry) group = NULL;
  g_autoptr(CjLdapMods) mods = cj_ldap_mods_new ();
  int rc;

  if (!read_group (ctx, request->dn, &group, error))
    return FALSE;
  if (strcmp (group->name, request->name) == 0)
    return cj_store_reread (ctx, request->dn, TRUE, error);
  if (!check_name_free (ctx, request->name, request->dn, error))
    return FALSE;
  cj_ldap_mods_add1 (mods, LDAP_MOD_REPLACE, "description", request->name);
  rc = cj_directory_modify (ctx->directory, ctx->ld, request->dn, cj_ldap_mods_get (mods));
  if (rc != LDAP_SUCCESS)
    return write_error (ctx, rc, request->name, request->dn, _("renaming the group"), error);
  return cj_store_reread (ctx, request->dn, TRUE, error);
}

static gboolean
add_members (CjStoreContext *ctx, CjStoreRequest *request, GError **error)
{
  g_autoptr(CjEntry) group = NULL;

  return read_group (ctx, request->dn, &group, error) &&
         check_users_exist (ctx, request->members, error) &&
         move_into (ctx, request->dn, request->members, error) &&
         cj_store_reread (ctx, request->dn, TRUE, error);
}

static gboolean
remove_members (CjStoreContext *ctx, CjStoreRequest *request, GError **error)
{
  g_autoptr(CjEntry) group = NULL;
  g_autoptr(CjLdapMods) mods = cj_ldap_mods_new ();

  if (!read_group (ctx, request->dn, &group, error))
    return FALSE;
  for (char **n = request->members; n != NULL && *n != NULL; n++)
    if (group->members == NULL || !g_strv_contains ((const char *const *) group->members, *n))
      {
        g_set_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                     _("“%s” is not a member of the group “%s”"), *n, group->name);
        return FALSE;
      }
  cj_ldap_mods_add (mods, LDAP_MOD_DELETE, "memberUid", (const char *const *) request->members);
  return cj_store_modify (ctx, request->dn, cj_ldap_mods_get (mods), _("removing members"), error) &&
         cj_store_reread (ctx, request->dn, TRUE, error);
}

static gboolean
delete_group (CjStoreContext *ctx, CjStoreRequest *request, GError **error)
{
  g_autoptr(CjEntry) group = NULL;
  int rc;

  if (!read_group (ctx, request->dn, &group, error))
    return FALSE;
  rc = cj_directory_delete (ctx->directory, ctx->ld, request->dn);
  if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_OBJECT)
    return cj_directory_set_error (ctx->directory, error, rc, ctx->ld, _("deleting the group"));
  g_ptr_array_add (ctx->changes->removed, g_strdup (group->uuid));
  return TRUE;
}

/* Group.Modify: the changes of one command (cl-groupmod -a -d -n) in one request, so one
 * authorization: members added, then removed, then the rename, as the CLI did them one call
 * each; a failure stops there (what was done before stays, as it did). */
static gboolean
modify_group (CjStoreContext *ctx, CjStoreRequest *request, GError **error)
{
  /* Each part reads request->members / request->name: they are lent to it in turn, and the
   * request is left as it came — the outcome check (cj-store-verify.c) reads it when an
   * answer was lost. */
  char **added = g_steal_pointer (&request->members);
  char *new_name = g_steal_pointer (&request->name);
  gboolean ok = TRUE;

  if (added != NULL && added[0] != NULL)
    {
      request->members = added;
      ok = add_members (ctx, request, error);
      request->members = NULL;
    }
  if (ok && request->remove_members != NULL && request->remove_members[0] != NULL)
    {
      request->members = request->remove_members;
      ok = remove_members (ctx, request, error);
      request->members = NULL;
    }
  if (ok && new_name != NULL)
    {
      request->name = new_name;
      ok = rename_group (ctx, request, error);
      request->name = NULL;
    }
  request->members = added;
  request->name = new_name;
  if (ok && ctx->changes->subject == NULL)
    ok = cj_store_reread (ctx, request->dn, TRUE, error);
  return ok;
}

gboolean
cj_store_groups_run (CjStoreContext *ctx, CjStoreRequest *request, GError **error)
{
  switch (request->op)
    {
    case CJ_STORE_ADD_GROUP:
      return add_group (ctx, request, error);
    case CJ_STORE_RENAME_GROUP:
      return rename_group (ctx, request, error);
    case CJ_STORE_ADD_MEMBERS:
      return add_members (ctx, request, error);
    case CJ_STORE_REMOVE_MEMBERS:
      return remove_members (ctx, request, error);
    case CJ_STORE_DELETE_GROUP:
      return delete_group (ctx, request, error);
    case CJ_STORE_MODIFY_GROUP:
      return modify_group (ctx, request, error);
    default:
      g_assert_not_reached ();
    }
}
