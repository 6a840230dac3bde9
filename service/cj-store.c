#include "config.h"
#include "cj-store.h"

#include <glib/gi18n.h>
#include <string.h>

#include "cj-error.h"
#include "cj-group-layout.h"
#include "cj-ldap-util.h"

CjStoreRequest *
cj_store_request_new (CjStoreOp op)
{
  CjStoreRequest *request = g_new0 (CjStoreRequest, 1);

  g_atomic_ref_count_init (&request->ref);
  request->op = op;
  request->lock = -1;
  return request;
}

CjStoreRequest *
cj_store_request_ref (CjStoreRequest *request)
{
  g_atomic_ref_count_inc (&request->ref);
  return request;
}

void
cj_store_request_free (CjStoreRequest *request)
{
  if (request == NULL || !g_atomic_ref_count_dec (&request->ref))
    return;
  if (request->password != NULL)
    explicit_bzero (request->password, strlen (request->password));
  g_free (request->password);
  g_free (request->dn);
  g_free (request->uuid);
  g_free (request->name);
  g_free (request->nickname);
  g_free (request->jid);
  g_clear_pointer (&request->photo, g_bytes_unref);
  g_free (request->group_dn);
  g_strfreev (request->members);
  g_strfreev (request->remove_members);
  g_free (request);
}

CjChanges *
cj_changes_new (void)
{
  CjChanges *changes = g_new0 (CjChanges, 1);

  changes->changed = g_ptr_array_new_with_free_func ((GDestroyNotify) cj_entry_unref);
  changes->removed = g_ptr_array_new_with_free_func (g_free);
  changes->moved_users = g_ptr_array_new_with_free_func (g_free);
  changes->moved_from = g_ptr_array_new_with_free_func (g_free);
  return changes;
}

void
cj_changes_free (CjChanges *changes)
{
  if (changes == NULL)
    return;
  g_clear_pointer (&changes->subject, cj_entry_unref);
  g_free (changes->previous_group);
  g_ptr_array_unref (changes->changed);
  g_ptr_array_unref (changes->removed);
  g_ptr_array_unref (changes->moved_users);
  g_ptr_array_unref (changes->moved_from);
  g_free (changes);
}

/* Reading back ------------------------------------------------------------------------ */

/* What a change reads back: the entry's attributes, and jpegPhoto only to tell whether
 * there is one. */
static const char *const read_attrs[] = {
  "objectClass", "entryUUID", "entryCSN", "uid", "cn", "sn", "displayName", "shadowExpire",
  "userPassword", "memberUid", "description", "jpegPhoto", NULL
};

CjEntry *
cj_store_read (CjStoreContext *ctx, const char *dn, GError **error)
{
  const char *const *attrs = read_attrs;
  struct timeval timeout = { (time_t) cj_directory_get_timeout (ctx->directory), 0 };
  g_autoptr(LDAPMessage) result = NULL;
  LDAPMessage *message;
  CjEntry *entry;
  int rc;

  rc = ldap_search_ext_s (ctx->ld, dn, LDAP_SCOPE_BASE, "(objectClass=*)", (char **) attrs, 0,
                          NULL, NULL, &timeout, 1, &result);
  if (rc != LDAP_SUCCESS)
    {
      cj_directory_set_error (ctx->directory, error, rc, ctx->ld, _("reading back a change"));
      return NULL;
    }
  message = ldap_first_entry (ctx->ld, result);
  entry = message != NULL
          ? cj_entry_new_from_message (ctx->ld, message, NULL,
                                       cj_directory_get_users_dn (ctx->directory),
                                       cj_directory_get_groups_dn (ctx->directory))
          : NULL;
  if (entry == NULL)
    g_set_error (error, CJ_ERROR, CJ_ERROR_FAILED,
                 _("The entry %s is not a Jabber user or group"), dn);
  return entry;
}

gboolean
cj_store_reread (CjStoreContext *ctx, const char *dn, gboolean subject, GError **error)
{
  CjEntry *entry = cj_store_read (ctx, dn, error);

  if (entry == NULL)
    return FALSE;
  if (subject)
    {
      g_clear_pointer (&ctx->changes->subject, cj_entry_unref);
      ctx->changes->subject = cj_entry_ref (entry);
    }
  g_ptr_array_add (ctx->changes->changed, entry);
  return TRUE;
}

/* Writes that answer with the entry ------------------------------------------------------ */

/* slapd's permissive modify (the control Active Directory introduced): adding a value that
 * is there already, or deleting one that is not, succeeds instead of failing. */
#define CONTROL_PERMISSIVE_MODIFY "1.2.840.113556.1.4.1413"

/* The request controls of a write: the post-read control (RFC 4527, its value lists the
 * attributes to return; not critical: a server without it answers without the entry, and
 * it is read back instead), and permissive modify if asked. Returns how many. */
static int
write_controls (LDAPControl *controls[3], gboolean permissive)
{
  BerElement *ber = ber_alloc_t (LBER_USE_DER);
  struct berval value = { 0, NULL };
  int n = 0;

  controls[0] = controls[1] = controls[2] = NULL;
  if (ber != NULL && ber_printf (ber, "{v}", (char **) read_attrs) != -1 &&
      ber_flatten2 (ber, &value, 0) != -1 &&
      ldap_control_create (LDAP_CONTROL_POST_READ, 0, &value, 1, &controls[n]) == LDAP_SUCCESS)
    n++;
  if (ber != NULL)
    ber_free (ber, 1);
  if (permissive &&
      ldap_control_create (CONTROL_PERMISSIVE_MODIFY, 0, NULL, 1, &controls[n]) == LDAP_SUCCESS)
    n++;
  return n;
}

static void
free_controls (LDAPControl *controls[3], int n)
{
  for (int i = 0; i < n; i++)
    ldap_control_free (controls[i]);
}

static CjEntry *
answered_entry (CjStoreContext *ctx, int rc, LDAPControl **response)
{
  CjEntry *entry = NULL;

  if (rc == LDAP_SUCCESS && response != NULL)
    entry = cj_entry_new_from_postread (response, cj_directory_get_users_dn (ctx->directory),
                                        cj_directory_get_groups_dn (ctx->directory));
  ldap_controls_free (response);
  return entry;
}

int
cj_store_write_read (CjStoreContext *ctx, gboolean add, const char *dn, LDAPMod **mods,
                     gboolean permissive, CjEntry **entry)
{
  LDAPControl *controls[3];
  LDAPControl **response = NULL;
  int n = write_controls (controls, permissive);
  int rc;

  rc = add ? cj_directory_add_ctrls (ctx->directory, ctx->ld, dn, mods, controls, &response)
           : cj_directory_modify_ctrls (ctx->directory, ctx->ld, dn, mods, controls, &response);
  free_controls (controls, n);
  *entry = answered_entry (ctx, rc, response);
  return rc;
}

int
cj_store_add_send (CjStoreContext *ctx, const char *dn, LDAPMod **mods, int *msgid)
{
  LDAPControl *controls[3];
  int n = write_controls (controls, FALSE);
  int rc = cj_directory_add_send (ctx->directory, ctx->ld, dn, mods, controls, msgid);

  free_controls (controls, n);
  return rc;
}

int
cj_store_write_wait (CjStoreContext *ctx, int msgid, CjEntry **entry)
{
  LDAPControl **response = NULL;
  int rc = cj_directory_write_wait (ctx->directory, ctx->ld, msgid, &response);

  *entry = answered_entry (ctx, rc, response);
  return rc;
}

gboolean
cj_store_record (CjStoreContext *ctx, const char *dn, CjEntry *entry, gboolean subject,
                 GError **error)
{
  if (entry == NULL)
    return cj_store_reread (ctx, dn, subject, error);
  if (subject)
    {
      g_clear_pointer (&ctx->changes->subject, cj_entry_unref);
      ctx->changes->subject = cj_entry_ref (entry);
    }
  g_ptr_array_add (ctx->changes->changed, entry);
  return TRUE;
}

gboolean
cj_store_modify (CjStoreContext *ctx, const char *dn, LDAPMod **mods, const char *what, GError **error)
{
  int rc = cj_directory_modify (ctx->directory, ctx->ld, dn, mods);

  if (rc != LDAP_SUCCESS)
    return cj_directory_set_error (ctx->directory, error, rc, ctx->ld, what);
  return TRUE;
}

/* Membership: a user is in at most one group -------------------------------------------- */

int
cj_store_memberships_send (CjStoreContext *ctx, const char *name, int *msgid)
{
  const char *attrs[] = { "1.1", NULL };
  g_autofree char *filter = cj_group_member_filter (name);

  return ldap_search_ext (ctx->ld, cj_directory_get_groups_dn (ctx->directory), LDAP_SCOPE_ONELEVEL,
                          filter, (char **) attrs, 0, NULL, NULL, NULL, 0, msgid);
}

void
cj_store_memberships_drop (CjStoreContext *ctx, int msgid)
{
  ldap_abandon_ext (ctx->ld, msgid, NULL, NULL);
}

/* The answer to cj_store_memberships_send, waited for as ldap_search_ext_s waits (a search
 * that timed out is abandoned, as it does). */
static int
memberships_answer (CjStoreContext *ctx, int msgid, LDAPMessage **result)
{
  int rc = ldap_result (ctx->ld, msgid, LDAP_MSG_ALL, NULL, result);

  if (rc <= 0 || *result == NULL)
    {
      int err = LDAP_OTHER;

      ldap_get_option (ctx->ld, LDAP_OPT_RESULT_CODE, &err);
      if (err == LDAP_TIMEOUT)
        ldap_abandon_ext (ctx->ld, msgid, NULL, NULL);
      return err;
    }
  {
    int err = LDAP_OTHER;
    int parsed = ldap_parse_result (ctx->ld, *result, &err, NULL, NULL, NULL, NULL, 0);

    return parsed != LDAP_SUCCESS ? parsed : err;
  }
}

gboolean
cj_store_leave_groups (CjStoreContext *ctx, const char *name, const char *keep_dn,
                       gboolean record_moves, GError **error)
{
  int msgid = -1;
  int rc = cj_store_memberships_send (ctx, name, &msgid);

  if (rc != LDAP_SUCCESS)
    return cj_directory_set_error (ctx->directory, error, rc, ctx->ld, _("looking up group membership"));
  return cj_store_leave_groups_sent (ctx, msgid, name, keep_dn, record_moves, error);
}

/* Takes @name out of every group but @keep_dn. Out of the old group first, into the new one
 * after: an interruption leaves the user in no group, never in two. */
gboolean
cj_store_leave_groups_sent (CjStoreContext *ctx, int msgid, const char *name, const char *keep_dn,
                            gboolean record_moves, GError **error)
{
  g_autoptr(LDAPMessage) result = NULL;
  g_autoptr(GPtrArray) dns = g_ptr_array_new_with_free_func (g_free);
  int rc;

  rc = memberships_answer (ctx, msgid, &result);
  if (rc == LDAP_NO_SUCH_OBJECT)
    return TRUE;
  if (rc != LDAP_SUCCESS)
    return cj_directory_set_error (ctx->directory, error, rc, ctx->ld, _("looking up group membership"));

  for (LDAPMessage *m = ldap_first_entry (ctx->ld, result); m != NULL; m = ldap_next_entry (ctx->ld, m))
    {
      char *dn = ldap_get_dn (ctx->ld, m);
      if (dn != NULL)
        g_ptr_array_add (dns, g_strdup (dn));
      ldap_memfree (dn);
    }

  for (guint i = 0; i < dns->len; i++)
    {
      const char *dn = dns->pdata[i];
      g_autoptr(CjLdapMods) mods = cj_ldap_mods_new ();
      CjEntry *group;

      if (keep_dn != NULL && g_ascii_strcasecmp (dn, keep_dn) == 0)
        continue;
      cj_ldap_mods_add1 (mods, LDAP_MOD_DELETE, "memberUid", name);
      rc = cj_store_write_read (ctx, FALSE, dn, cj_ldap_mods_get (mods), FALSE, &group);
      if (rc != LDAP_SUCCESS && rc != LDAP_NO_SUCH_ATTRIBUTE && rc != LDAP_NO_SUCH_OBJECT)
        return cj_directory_set_error (ctx->directory, error, rc, ctx->ld, _("leaving a group"));
      if (rc == LDAP_NO_SUCH_OBJECT)
        continue;
      /* The answer brought the group as it is now, except when the member had gone
       * already (an error answer carries no entry). */
      if (group == NULL && (group = cj_store_read (ctx, dn, error)) == NULL)
        return FALSE;
      if (record_moves)
        {
          g_ptr_array_add (ctx->changes->moved_users, g_strdup (name));
          g_ptr_array_add (ctx->changes->moved_from, g_strdup (group->uuid));
        }
      g_ptr_array_add (ctx->changes->changed, group);
    }
  return TRUE;
}

gboolean
cj_store_join_group (CjStoreContext *ctx, const char *group_dn, const char *name, GError **error)
{
  return cj_store_join_group_read (ctx, group_dn, name, NULL, error);
}

gboolean
cj_store_join_group_read (CjStoreContext *ctx, const char *group_dn, const char *name,
                          CjEntry **group, GError **error)
{
  g_autoptr(CjLdapMods) mods = cj_ldap_mods_new ();
  g_autoptr(CjEntry) written = NULL;
  int rc;

  cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "memberUid", name);
  rc = group != NULL
       ? cj_store_write_read (ctx, FALSE, group_dn, cj_ldap_mods_get (mods), FALSE, &written)
       : cj_directory_modify (ctx->directory, ctx->ld, group_dn, cj_ldap_mods_get (mods));
  if (rc == LDAP_NO_SUCH_OBJECT)
    {
      g_set_error (error, CJ_ERROR, CJ_ERROR_NOT_FOUND, _("The group no longer exists"));
      return FALSE;
    }
  if (rc != LDAP_SUCCESS && rc != LDAP_TYPE_OR_VALUE_EXISTS)
    return cj_directory_set_error (ctx->directory, error, rc, ctx->ld, _("joining a group"));
  if (group != NULL)
    *group = g_steal_pointer (&written);
  return TRUE;
}

/* Running ------------------------------------------------------------------------------ */

static gpointer
run (CjDirectory *directory, LDAP *ld, gpointer data, GCancellable *cancellable, GError **error)
{
  CjStoreRequest *request = data;
  CjStoreContext ctx = { directory, ld, cj_changes_new () };
  gboolean ok;

  switch (request->op)
    {
    case CJ_STORE_ADD_USER:
    case CJ_STORE_MODIFY_USER:
    case CJ_STORE_DELETE_USER:
    case CJ_STORE_SET_GROUP:
      ok = cj_store_users_run (&ctx, request, error);
      break;
    default:
      ok = cj_store_groups_run (&ctx, request, error);
      break;
    }
  if (!ok)
    {
      cj_changes_free (ctx.changes);
      return NULL;
    }
  return ctx.changes;
}

void
cj_store_run_async (CjDirectory        *directory,
                    CjStoreRequest     *request,
                    GCancellable       *cancellable,
                    GAsyncReadyCallback callback,
                    gpointer            user_data)
{
  cj_directory_run_async (directory, run, request, (GDestroyNotify) cj_store_request_free,
                          cancellable, callback, user_data);
}

CjChanges *
cj_store_run_finish (CjDirectory *directory, GAsyncResult *result, GError **error)
{
  return cj_directory_run_finish (directory, result, error);
}

gpointer
cj_store_read_photo (CjDirectory *directory, LDAP *ld, gpointer data, GCancellable *cancellable,
                     GError **error)
{
  const char *attrs[] = { "jpegPhoto", NULL };
  g_autoptr(LDAPMessage) result = NULL;
  struct berval **values;
  LDAPMessage *entry;
  GBytes *bytes;
  int rc = ldap_search_ext_s (ld, data, LDAP_SCOPE_BASE, "(objectClass=*)", (char **) attrs, 0,
                              NULL, NULL, NULL, 1, &result);

  if (rc != LDAP_SUCCESS)
    {
      cj_directory_set_error (directory, error, rc, ld, _("reading the photo"));
      return NULL;
    }
  entry = ldap_first_entry (ld, result);
  values = entry != NULL ? ldap_get_values_len (ld, entry, "jpegPhoto") : NULL;
  bytes = values != NULL && values[0] != NULL
          ? g_bytes_new (values[0]->bv_val, values[0]->bv_len)
          : g_bytes_new (NULL, 0);
  ldap_value_free_len (values);
  return bytes;
}

gboolean
cj_store_subtree_missing (const char *dn, GError **error)
{
  g_set_error (error, CJ_ERROR, CJ_ERROR_NOT_CONFIGURED,
               _("The Jabber subtree %s does not exist: run “cl-setup ldap” first"), dn);
  return FALSE;
}
