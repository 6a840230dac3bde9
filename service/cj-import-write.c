/* One batch of an import, written with many LDAP operations in flight: see cj-import-write.h. */
#include "config.h"
#include "cj-import-write.h"

#include <glib/gi18n.h>
#include <string.h>

#include "cj-error.h"
#include "cj-ldap-util.h"
#include "cj-password.h"

/* Operations in flight on the connection: enough to hide the round trips, few enough that
 * slapd's per-connection queue and our memory stay small. */
#define WINDOW 64

void
cj_import_item_free (CjImportItem *item)
{
  if (item == NULL)
    return;
  if (item->hash != NULL)
    explicit_bzero (item->hash, strlen (item->hash));
  g_free (item->hash);
  g_free (item->group_dn);
  g_free (item->refused);
  g_clear_pointer (&item->photo, g_bytes_unref);
  g_free (item->error);
  g_clear_pointer (&item->entry, cj_entry_unref);
  g_free (item);
}

void
cj_import_batch_free (CjImportBatch *batch)
{
  if (batch == NULL)
    return;
  g_ptr_array_unref (batch->items);
  g_free (batch->mail_host);
  g_free (batch);
}

/* What LDAP holds for one account of the batch. */
typedef struct {
  gboolean   exists;
  char      *sn;
  char      *display_name;
  char      *password;
  gboolean   shadow;       /* objectClass shadowAccount */
  gboolean   locked;       /* shadowExpire */
  gboolean   photo;
  GPtrArray *groups;       /* DNs of the groups listing it */
} Existing;

static void
existing_free (Existing *e)
{
  g_free (e->sn);
  g_free (e->display_name);
  if (e->password != NULL)
    explicit_bzero (e->password, strlen (e->password));
  g_free (e->password);
  g_clear_pointer (&e->groups, g_ptr_array_unref);
  g_free (e);
}

typedef struct {
  CjDirectory   *directory;
  LDAP          *ld;
  CjImportBatch *batch;
  GHashTable    *existing;   /* name -> Existing (NULL value: not in LDAP) */
  GHashTable    *groups;     /* lower-cased DN -> GroupChange */
  GArray        *pending;    /* Pending */
  GError        *fatal;
  LDAPControl   *postread[2];  /* asks for the entry as written with each answer */
} Ctx;

typedef enum { OP_USER, OP_LEAVE, OP_JOIN, OP_ROLLBACK, OP_SEARCH } OpKind;

typedef struct {
  int    msgid;
  OpKind kind;
  gpointer subject;          /* CjImportItem or GroupChange */
} Pending;

typedef struct {
  char      *dn;
  GPtrArray *leave;          /* CjImportItem */
  GPtrArray *join;           /* CjImportItem */
} GroupChange;

static void
group_change_free (GroupChange *change)
{
  g_free (change->dn);
  g_ptr_array_unref (change->leave);
  g_ptr_array_unref (change->join);
  g_free (change);
}

static void
fail_item (CjImportItem *item, const char *reason)
{
  item->outcome = CJ_IMPORT_FAILED;
  g_free (item->error);
  item->error = g_strdup (reason);
}

static void
fail_item_rc (CjImportItem *item, int rc, const char *diagnostic)
{
  g_autofree char *reason = diagnostic != NULL && *diagnostic != '\0'
                            ? g_strdup_printf ("%s: %s", ldap_err2string (rc), diagnostic)
                            : g_strdup (ldap_err2string (rc));

  fail_item (item, reason);
}

static gboolean
set_fatal (Ctx *ctx, int rc, const char *what)
{
  if (ctx->fatal == NULL)
    cj_directory_set_error (ctx->directory, &ctx->fatal, rc, ctx->ld, what);
  return FALSE;
}

/* The pipeline --------------------------------------------------------------------------- */

static void complete (Ctx *ctx, Pending *op, int rc, const char *diagnostic, LDAPControl **controls);

/* Waits for one answer and hands it to complete(). FALSE: the connection failed. */
static gboolean
collect_one (Ctx *ctx)
{
  struct timeval timeout = { (time_t) cj_directory_get_timeout (ctx->directory), 0 };
  LDAPMessage *message = NULL;
  LDAPControl **controls = NULL;
  char *diagnostic = NULL;
  int err = LDAP_SUCCESS, msgid, got;

  got = ldap_result (ctx->ld, LDAP_RES_ANY, LDAP_MSG_ALL, &timeout, &message);
  if (got <= 0)
    {
      if (message != NULL)
        ldap_msgfree (message);
      return set_fatal (ctx, got == 0 ? LDAP_TIMEOUT : LDAP_SERVER_DOWN, _("writing an import"));
    }
  msgid = ldap_msgid (message);
  if (ldap_parse_result (ctx->ld, message, &err, NULL, &diagnostic, NULL, &controls, 1) != LDAP_SUCCESS)
    err = LDAP_OTHER;
  for (guint i = 0; i < ctx->pending->len; i++)
    {
      Pending op = g_array_index (ctx->pending, Pending, i);

      if (op.msgid != msgid)
        continue;
      g_array_remove_index_fast (ctx->pending, i);
      complete (ctx, &op, err, diagnostic, controls);
      break;
    }
  ldap_memfree (diagnostic);
  ldap_controls_free (controls);
  return TRUE;
}

static gboolean
drain (Ctx *ctx)
{
  while (ctx->pending->len > 0)
    if (!collect_one (ctx))
      return FALSE;
  return TRUE;
}

/* Records an operation just sent; keeps at most WINDOW in flight. */
static gboolean
sent (Ctx *ctx, int rc, int msgid, OpKind kind, gpointer subject)
{
  Pending op = { msgid, kind, subject };

  if (rc != LDAP_SUCCESS)
    {
      if (cj_directory_error_is_connection (rc))
        return set_fatal (ctx, rc, _("writing an import"));
      complete (ctx, &op, rc, NULL, NULL);
      return TRUE;
    }
  g_array_append_val (ctx->pending, op);
  while (ctx->pending->len >= WINDOW)
    if (!collect_one (ctx))
      return FALSE;
  return TRUE;
}

/* Reading what is there ------------------------------------------------------------------- */

/* "(|(attr=a)(attr=b)…)" over the batch's names (only the written ones: @written). */
static char *
names_filter_of (Ctx *ctx, const char *attr, gboolean written)
{
  GString *filter = g_string_new ("(|");

  for (guint i = 0; i < ctx->batch->items->len; i++)
    {
      CjImportItem *item = ctx->batch->items->pdata[i];
      g_autofree char *escaped = NULL;

      if (written && ((item->outcome != CJ_IMPORT_CREATED && item->outcome != CJ_IMPORT_UPDATED) ||
                      item->entry != NULL))
        continue;
      escaped = cj_ldap_escape_filter (item->row->name);
      g_string_append_printf (filter, "(%s=%s)", attr, escaped);
    }
  g_string_append_c (filter, ')');
  return g_string_free (filter, FALSE);
}

static char *
names_filter (Ctx *ctx, const char *attr)
{
  return names_filter_of (ctx, attr, FALSE);
}

static gboolean
read_existing (Ctx *ctx)
{
  const char *attrs[] = { "uid", "sn", "displayName", "objectClass", "shadowExpire", "userPassword", NULL };
  const char *group_attrs[] = { "memberUid", NULL };
  g_autofree char *filter = names_filter (ctx, "uid");
  g_autofree char *member_filter = NULL;
  g_autofree char *members = names_filter (ctx, "memberUid");
  g_autoptr(LDAPMessage) result = NULL;
  g_autoptr(LDAPMessage) groups = NULL;
  int rc;

  rc = ldap_search_ext_s (ctx->ld, cj_directory_get_users_dn (ctx->directory), LDAP_SCOPE_ONELEVEL,
                          filter, (char **) attrs, 0, NULL, NULL, NULL, 0, &result);
  if (rc == LDAP_NO_SUCH_OBJECT)
    return cj_store_subtree_missing (cj_directory_get_users_dn (ctx->directory), &ctx->fatal);
  if (rc != LDAP_SUCCESS)
    return set_fatal (ctx, rc, _("reading the accounts of an import"));
  for (LDAPMessage *m = ldap_first_entry (ctx->ld, result); m != NULL; m = ldap_next_entry (ctx->ld, m))
    {
      g_autofree char *uid = cj_ldap_get_string (ctx->ld, m, "uid");
      Existing *e = uid != NULL ? g_hash_table_lookup (ctx->existing, uid) : NULL;

      if (e == NULL)
        continue;
      e->exists = TRUE;
      e->sn = cj_ldap_get_string (ctx->ld, m, "sn");
      e->display_name = cj_ldap_get_string (ctx->ld, m, "displayName");
      e->password = cj_ldap_get_string (ctx->ld, m, "userPassword");
      e->shadow = cj_ldap_has_value (ctx->ld, m, "objectClass", "shadowAccount");
      e->locked = cj_ldap_has_attr (ctx->ld, m, "shadowExpire");
    }

  /* Photos are large: only whether there is one, and only when the batch brings photos. */
  for (guint i = 0; i < ctx->batch->items->len; i++)
    if (((CjImportItem *) ctx->batch->items->pdata[i])->photo != NULL)
      {
        const char *photo_attrs[] = { "uid", "jpegPhoto", NULL };
        g_autoptr(LDAPMessage) photos = NULL;

        rc = ldap_search_ext_s (ctx->ld, cj_directory_get_users_dn (ctx->directory), LDAP_SCOPE_ONELEVEL,
                                filter, (char **) photo_attrs, 1, NULL, NULL, NULL, 0, &photos);
        if (rc != LDAP_SUCCESS)
          return set_fatal (ctx, rc, _("reading the accounts of an import"));
        for (LDAPMessage *m = ldap_first_entry (ctx->ld, photos); m != NULL; m = ldap_next_entry (ctx->ld, m))
          {
            g_autofree char *uid = cj_ldap_get_string (ctx->ld, m, "uid");
            Existing *e = uid != NULL ? g_hash_table_lookup (ctx->existing, uid) : NULL;

            if (e != NULL)
              e->photo = cj_ldap_has_attr (ctx->ld, m, "jpegPhoto");
          }
        break;
      }

  member_filter = g_strdup_printf ("(&(objectClass=posixGroup)%s)", members);
  rc = ldap_search_ext_s (ctx->ld, cj_directory_get_groups_dn (ctx->directory), LDAP_SCOPE_ONELEVEL,
                          member_filter, (char **) group_attrs, 0, NULL, NULL, NULL, 0, &groups);
  if (rc == LDAP_NO_SUCH_OBJECT)
    return TRUE;
  if (rc != LDAP_SUCCESS)
    return set_fatal (ctx, rc, _("looking up group membership"));
  for (LDAPMessage *m = ldap_first_entry (ctx->ld, groups); m != NULL; m = ldap_next_entry (ctx->ld, m))
    {
      char *dn = ldap_get_dn (ctx->ld, m);
      g_auto(GStrv) values = cj_ldap_get_strings (ctx->ld, m, "memberUid");

      for (char **v = values; dn != NULL && *v != NULL; v++)
        {
          Existing *e = g_hash_table_lookup (ctx->existing, *v);

          if (e != NULL)
            g_ptr_array_add (e->groups, g_strdup (dn));
        }
      ldap_memfree (dn);
    }
  return TRUE;
}

/* Writing the entries --------------------------------------------------------------------- */

/* The hash to write: the one computed before the batch, or (an account found missing that
 * the job thought existed) made here. */
static const char *
item_hash (CjImportItem *item)
{
  if (item->hash == NULL && item->row->password != NULL)
    item->hash = cj_password_hash (item->row->password, NULL);
  return item->hash;
}

static gboolean
add_entry (Ctx *ctx, CjImportItem *item)
{
  static const char *const classes[] = { "top", "person", "organizationalPerson", "inetOrgPerson", NULL };
  static const char *const locked_classes[] = { "top", "person", "organizationalPerson", "inetOrgPerson",
                                                "shadowAccount", NULL };
  const CjImportRow *row = item->row;
  g_autoptr(CjLdapMods) mods = cj_ldap_mods_new ();
  g_autofree char *dn = cj_ldap_child_dn ("uid", row->name, cj_directory_get_users_dn (ctx->directory));
  g_autofree char *mail = g_strdup_printf ("%s@%s", row->name, ctx->batch->mail_host);
  const char *nickname = row->nickname != NULL && *row->nickname != '\0' ? row->nickname : NULL;
  const char *hash = item_hash (item);
  int msgid = -1, rc;

  if (row->password != NULL && hash == NULL)
    {
      fail_item (item, _("Cannot hash the password"));
      return TRUE;
    }
  cj_ldap_mods_add (mods, LDAP_MOD_ADD, "objectClass", row->locked == 1 ? locked_classes : classes);
  cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "uid", row->name);
  cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "cn", row->name);
  cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "sn", nickname != NULL ? nickname : row->name);
  if (nickname != NULL)
    cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "displayName", nickname);
  cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "mail", mail);
  if (hash != NULL)
    cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "userPassword", hash);
  if (row->locked == 1)
    cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "shadowExpire", "1");
  /* The file's jpegPhoto as the photo sandbox re-encoded it (cj-import-job.c). */
  if (item->photo != NULL)
    cj_ldap_mods_add_bin (mods, LDAP_MOD_ADD, "jpegPhoto", item->photo);
  item->outcome = CJ_IMPORT_CREATED;
  rc = ldap_add_ext (ctx->ld, dn, cj_ldap_mods_get (mods), ctx->postread[0] != NULL ? ctx->postread : NULL,
                     NULL, &msgid);
  return sent (ctx, rc, msgid, OP_USER, item);
}

static gboolean
modify_entry (Ctx *ctx, CjImportItem *item, Existing *e)
{
  const CjImportRow *row = item->row;
  g_autoptr(CjLdapMods) mods = cj_ldap_mods_new ();
  g_autofree char *dn = cj_ldap_child_dn ("uid", row->name, cj_directory_get_users_dn (ctx->directory));
  int msgid = -1, rc;

  if (row->nickname != NULL)
    {
      gboolean empty = *row->nickname == '\0';
      const char *sn = empty ? row->name : row->nickname;
      const char *display = empty ? NULL : row->nickname;

      if (g_strcmp0 (e->sn, sn) != 0 || g_strcmp0 (e->display_name, display) != 0)
        {
          cj_ldap_mods_add1 (mods, LDAP_MOD_REPLACE, "sn", sn);
          cj_ldap_mods_add1 (mods, LDAP_MOD_REPLACE, "displayName", display);
        }
    }
  if (row->locked == 1 && !e->locked)
    {
      if (!e->shadow)
        cj_ldap_mods_add1 (mods, LDAP_MOD_ADD, "objectClass", "shadowAccount");
      cj_ldap_mods_add1 (mods, LDAP_MOD_REPLACE, "shadowExpire", "1");
      item->newly_locked = TRUE;
    }
  else if (row->locked == 0 && e->locked)
    {
      cj_ldap_mods_add1 (mods, LDAP_MOD_DELETE, "shadowExpire", NULL);
      if (e->shadow)
        cj_ldap_mods_add1 (mods, LDAP_MOD_DELETE, "objectClass", "shadowAccount");
    }
  /* An existing password is replaced only when asked, and a stored hash equal to the
   * file's is no change. */
  if ((row->password != NULL || row->hash != NULL) &&
      (e->password == NULL || ctx->batch->update_passwords) &&
      (row->hash == NULL || g_strcmp0 (row->hash, e->password) != 0))
    {
      const char *hash = item_hash (item);

      if (hash == NULL)
        {
          fail_item (item, _("Cannot hash the password"));
          return TRUE;
        }
      cj_ldap_mods_add1 (mods, LDAP_MOD_REPLACE, "userPassword", hash);
    }
  if (item->photo != NULL && !e->photo)
    cj_ldap_mods_add_bin (mods, LDAP_MOD_REPLACE, "jpegPhoto", item->photo);

  if (cj_ldap_mods_is_empty (mods))
    {
      item->outcome = CJ_IMPORT_UNCHANGED;
      return TRUE;
    }
  item->outcome = CJ_IMPORT_UPDATED;
  rc = ldap_modify_ext (ctx->ld, dn, cj_ldap_mods_get (mods), ctx->postread[0] != NULL ? ctx->postread : NULL,
                        NULL, &msgid);
  return sent (ctx, rc, msgid, OP_USER, item);
}

/* Groups ----------------------------------------------------------------------------------- */

static GroupChange *
group_change (Ctx *ctx, const char *dn)
{
  g_autofree char *key = g_ascii_strdown (dn, -1);
  GroupChange *change = g_hash_table_lookup (ctx->groups, key);

  if (change == NULL)
    {
      change = g_new0 (GroupChange, 1);
      change->dn = g_strdup (dn);
      change->leave = g_ptr_array_new ();
      change->join = g_ptr_array_new ();
      g_hash_table_insert (ctx->groups, g_steal_pointer (&key), change);
    }
  return change;
}

/* Which groups each written account leaves and joins. */
static void
plan_groups (Ctx *ctx)
{
  for (guint i = 0; i < ctx->batch->items->len; i++)
    {
      CjImportItem *item = ctx->batch->items->pdata[i];
      Existing *e = g_hash_table_lookup (ctx->existing, item->row->name);
      gboolean in_target = FALSE;
      gboolean moved = FALSE;

      if (item->outcome == CJ_IMPORT_FAILED || item->outcome == CJ_IMPORT_PENDING)
        continue;
      /* A new account named like a stale memberUid leaves that group in any case. */
      if (item->group_dn == NULL && item->outcome != CJ_IMPORT_CREATED)
        continue;
      for (guint g = 0; g < e->groups->len; g++)
        {
          const char *dn = e->groups->pdata[g];

          if (item->group_dn != NULL && g_ascii_strcasecmp (dn, item->group_dn) == 0)
            in_target = TRUE;
          else
            {
              g_ptr_array_add (group_change (ctx, dn)->leave, item);
              moved = TRUE;
            }
        }
      if (item->group_dn != NULL && *item->group_dn != '\0' && !in_target)
        {
          g_ptr_array_add (group_change (ctx, item->group_dn)->join, item);
          moved = TRUE;
        }
      if (moved && item->outcome == CJ_IMPORT_UNCHANGED)
        item->outcome = CJ_IMPORT_UPDATED;
    }
}

static gboolean
send_group_modify (Ctx *ctx, GroupChange *change, gboolean join)
{
  GPtrArray *items = join ? change->join : change->leave;
  g_autoptr(GPtrArray) names = g_ptr_array_new ();
  g_autoptr(CjLdapMods) mods = cj_ldap_mods_new ();
  int msgid = -1, rc;

  for (guint i = 0; i < items->len; i++)
    if (((CjImportItem *) items->pdata[i])->outcome != CJ_IMPORT_FAILED)
      g_ptr_array_add (names, ((CjImportItem *) items->pdata[i])->row->name);
  if (names->len == 0)
    return TRUE;
  g_ptr_array_add (names, NULL);
  cj_ldap_mods_add (mods, join ? LDAP_MOD_ADD : LDAP_MOD_DELETE, "memberUid",
                    (const char *const *) names->pdata);
  rc = ldap_modify_ext (ctx->ld, change->dn, cj_ldap_mods_get (mods), NULL, NULL, &msgid);
  return sent (ctx, rc, msgid, join ? OP_JOIN : OP_LEAVE, change);
}

/* A group modify of many values failed as a whole because one value was there already (or
 * gone already): another writer changed the group meanwhile. Each value alone, then. */
static void
group_one_by_one (Ctx *ctx, GroupChange *change, gboolean join)
{
  GPtrArray *items = join ? change->join : change->leave;

  for (guint i = 0; i < items->len; i++)
    {
      CjImportItem *item = items->pdata[i];
      g_autoptr(CjLdapMods) mods = cj_ldap_mods_new ();
      int rc;

      if (item->outcome == CJ_IMPORT_FAILED)
        continue;
      cj_ldap_mods_add1 (mods, join ? LDAP_MOD_ADD : LDAP_MOD_DELETE, "memberUid", item->row->name);
      rc = ldap_modify_ext_s (ctx->ld, change->dn, cj_ldap_mods_get (mods), NULL, NULL);
      if (rc != LDAP_SUCCESS && rc != LDAP_TYPE_OR_VALUE_EXISTS && rc != LDAP_NO_SUCH_ATTRIBUTE)
        fail_item_rc (item, rc, NULL);
    }
}

static void
complete_group (Ctx *ctx, GroupChange *change, gboolean join, int rc, const char *diagnostic)
{
  GPtrArray *items = join ? change->join : change->leave;

  if (rc == LDAP_SUCCESS || (!join && rc == LDAP_NO_SUCH_OBJECT))
    return;
  if (rc == LDAP_TYPE_OR_VALUE_EXISTS || rc == LDAP_NO_SUCH_ATTRIBUTE)
    {
      group_one_by_one (ctx, change, join);
      return;
    }
  for (guint i = 0; i < items->len; i++)
    {
      CjImportItem *item = items->pdata[i];

      if (rc == LDAP_NO_SUCH_OBJECT)
        fail_item (item, _("The group no longer exists"));
      else
        fail_item_rc (item, rc, diagnostic);
    }
}

/* The post-read control (RFC 4527) ------------------------------------------------------
 * Each add and modify of an account asks for the entry as it was written, so the batch
 * needs no search afterwards to publish it (the search cost ~15 % of an import). A server
 * without the control just answers without it: those entries are read back. */

static const char *const read_attrs[] = {
  "objectClass", "entryUUID", "entryCSN", "uid", "cn", "sn", "displayName", "shadowExpire",
  "userPassword", "memberUid", "description", "jpegPhoto", NULL
};

static void
postread_init (Ctx *ctx)
{
  BerElement *ber = ber_alloc_t (LBER_USE_DER);
  LDAPControl *control = NULL;
  struct berval value = { 0, NULL };

  if (ber == NULL)
    return;
  if (ber_printf (ber, "{v}", (char **) read_attrs) != -1 && ber_flatten2 (ber, &value, 0) != -1 &&
      ldap_control_create (LDAP_CONTROL_POST_READ, 0, &value, 1, &control) == LDAP_SUCCESS)
    ctx->postread[0] = control;
  ber_free (ber, 1);
}

static void
complete (Ctx *ctx, Pending *op, int rc, const char *diagnostic, LDAPControl **controls)
{
  switch (op->kind)
    {
    case OP_USER:
      {
        CjImportItem *item = op->subject;

        /* The account as the control describes it (cj-entry.c reads it as the follower does). */
        if (rc == LDAP_SUCCESS && controls != NULL)
          {
            item->entry = cj_entry_new_from_postread (controls, cj_directory_get_users_dn (ctx->directory),
                                                      cj_directory_get_groups_dn (ctx->directory));
            if (item->entry != NULL && item->entry->kind != CJ_ENTRY_USER)
              g_clear_pointer (&item->entry, cj_entry_unref);
          }
        if (rc == LDAP_ALREADY_EXISTS)
          fail_item (item, _("an account of that name was added meanwhile; run the import again"));
        else if (rc == LDAP_NO_SUCH_OBJECT && item->outcome == CJ_IMPORT_UPDATED)
          fail_item (item, _("the account was deleted meanwhile; run the import again"));
        else if (rc != LDAP_SUCCESS)
          fail_item_rc (item, rc, diagnostic);
      }
      break;
    case OP_LEAVE:
      complete_group (ctx, op->subject, FALSE, rc, diagnostic);
      break;
    case OP_JOIN:
      complete_group (ctx, op->subject, TRUE, rc, diagnostic);
      break;
    case OP_ROLLBACK:
    case OP_SEARCH:
      break;
    }
}

/* New accounts whose group failed go again: all or nothing. Returns FALSE on a lost
 * connection. */
static gboolean
roll_back (Ctx *ctx, GPtrArray *created)
{
  for (guint i = 0; i < created->len; i++)
    {
      CjImportItem *item = created->pdata[i];
      g_autofree char *dn = NULL;
      int msgid = -1, rc;

      if (item->outcome != CJ_IMPORT_FAILED)
        continue;
      dn = cj_ldap_child_dn ("uid", item->row->name, cj_directory_get_users_dn (ctx->directory));
      rc = ldap_delete_ext (ctx->ld, dn, NULL, NULL, &msgid);
      if (!sent (ctx, rc, msgid, OP_ROLLBACK, item))
        return FALSE;
    }
  return drain (ctx);
}

/* Reading back what was written, for the registry --------------------------------------- */

static void
read_back (Ctx *ctx, CjChanges *changes)
{
  g_autofree char *filter = names_filter_of (ctx, "uid", TRUE);
  g_autoptr(LDAPMessage) result = NULL;
  GHashTableIter iter;
  GroupChange *change;

  /* The entries the post-read control brought; the rest are searched for. */
  for (guint i = 0; i < ctx->batch->items->len; i++)
    {
      CjImportItem *item = ctx->batch->items->pdata[i];

      if (item->entry != NULL && (item->outcome == CJ_IMPORT_CREATED || item->outcome == CJ_IMPORT_UPDATED))
        g_ptr_array_add (changes->changed, cj_entry_ref (item->entry));
    }
  /* Nothing else written, nothing to read ("(|)" is an empty filter to libldap). */
  if (g_str_equal (filter, "(|)"))
    g_clear_pointer (&filter, g_free);
  /* A failed read-back costs nothing but freshness: the follower brings the same entries. */
  if (filter != NULL &&
      ldap_search_ext_s (ctx->ld, cj_directory_get_users_dn (ctx->directory), LDAP_SCOPE_ONELEVEL,
                         filter, (char **) read_attrs, 0, NULL, NULL, NULL, 0, &result) == LDAP_SUCCESS)
    for (LDAPMessage *m = ldap_first_entry (ctx->ld, result); m != NULL; m = ldap_next_entry (ctx->ld, m))
      {
        CjEntry *entry = cj_entry_new_from_message (ctx->ld, m, NULL, cj_directory_get_users_dn (ctx->directory),
                                                    cj_directory_get_groups_dn (ctx->directory));
        if (entry != NULL)
          g_ptr_array_add (changes->changed, entry);
      }
  g_hash_table_iter_init (&iter, ctx->groups);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &change))
    {
      g_autoptr(LDAPMessage) group = NULL;
      LDAPMessage *m;

      if (ldap_search_ext_s (ctx->ld, change->dn, LDAP_SCOPE_BASE, "(objectClass=*)", (char **) read_attrs,
                             0, NULL, NULL, NULL, 1, &group) != LDAP_SUCCESS ||
          (m = ldap_first_entry (ctx->ld, group)) == NULL)
        continue;
      {
        CjEntry *entry = cj_entry_new_from_message (ctx->ld, m, NULL, cj_directory_get_users_dn (ctx->directory),
                                                    cj_directory_get_groups_dn (ctx->directory));
        if (entry != NULL)
          g_ptr_array_add (changes->changed, entry);
      }
    }
}

/* The operation ------------------------------------------------------------------------------ */

static gboolean
write_batch (Ctx *ctx, GPtrArray *created)
{
  GHashTableIter iter;
  GroupChange *change;
  gint64 t0 = g_get_monotonic_time (), t1, t2;

  if (!read_existing (ctx))
    return FALSE;
  t1 = g_get_monotonic_time ();
  for (guint i = 0; i < ctx->batch->items->len; i++)
    {
      CjImportItem *item = ctx->batch->items->pdata[i];
      Existing *e = g_hash_table_lookup (ctx->existing, item->row->name);

      if (item->outcome == CJ_IMPORT_FAILED)
        continue;
      if (!(e->exists ? modify_entry (ctx, item, e) : add_entry (ctx, item)))
        return FALSE;
      if (!e->exists)
        g_ptr_array_add (created, item);
    }
  if (!drain (ctx))
    return FALSE;
  t2 = g_get_monotonic_time ();
  g_debug ("import batch of %u: read %.1f ms, entries %.1f ms", ctx->batch->items->len,
           (t1 - t0) / 1000.0, (t2 - t1) / 1000.0);

  plan_groups (ctx);
  /* Leaving first, joining after: in no group for a moment, never in two. */
  g_hash_table_iter_init (&iter, ctx->groups);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &change))
    if (!send_group_modify (ctx, change, FALSE))
      return FALSE;
  if (!drain (ctx))
    return FALSE;
  g_hash_table_iter_init (&iter, ctx->groups);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &change))
    if (!send_group_modify (ctx, change, TRUE))
      return FALSE;
  if (!drain (ctx))
    return FALSE;
  return roll_back (ctx, created);
}

static gpointer
run (CjDirectory *directory, LDAP *ld, gpointer data, GCancellable *cancellable, GError **error)
{
  CjImportBatch *batch = data;
  g_autoptr(GPtrArray) created = g_ptr_array_new ();
  Ctx ctx = { directory, ld, batch, NULL, NULL, NULL, NULL, { NULL, NULL } };
  CjChanges *changes = cj_changes_new ();

  ctx.existing = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) existing_free);
  ctx.groups = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) group_change_free);
  ctx.pending = g_array_new (FALSE, FALSE, sizeof (Pending));
  postread_init (&ctx);
  /* The directory may run this again on a new connection: start from the rows. */
  for (guint i = 0; i < batch->items->len; i++)
    {
      CjImportItem *item = batch->items->pdata[i];
      Existing *e = g_new0 (Existing, 1);

      e->groups = g_ptr_array_new_with_free_func (g_free);
      g_hash_table_replace (ctx.existing, item->row->name, e);
      item->outcome = CJ_IMPORT_PENDING;
      item->newly_locked = FALSE;
      g_clear_pointer (&item->entry, cj_entry_unref);
      g_clear_pointer (&item->error, g_free);
      if (item->refused != NULL)
        fail_item (item, item->refused);
    }
  if (write_batch (&ctx, created))
    {
      gint64 t0 = g_get_monotonic_time ();

      read_back (&ctx, changes);
      g_debug ("import batch: read back %.1f ms", (g_get_monotonic_time () - t0) / 1000.0);
    }
  else
    /* The connection failed: what is written stays, the answers not seen are unknown. The
     * accounts whose outcome is unknown are reported as failed; a second run finishes them. */
    for (guint i = 0; i < batch->items->len; i++)
      {
        CjImportItem *item = batch->items->pdata[i];

        if (item->outcome != CJ_IMPORT_FAILED && item->outcome != CJ_IMPORT_UNCHANGED)
          fail_item (item, ctx.fatal != NULL ? ctx.fatal->message : _("The directory failed"));
      }
  g_hash_table_unref (ctx.existing);
  g_hash_table_unref (ctx.groups);
  g_array_unref (ctx.pending);
  if (ctx.postread[0] != NULL)
    ldap_control_free (ctx.postread[0]);
  if (ctx.fatal != NULL)
    {
      /* Pending answers belong to a connection that is being dropped. */
      g_propagate_error (error, ctx.fatal);
      cj_changes_free (changes);
      return NULL;
    }
  return changes;
}

void
cj_import_write_async (CjDirectory *directory, CjImportBatch *batch,
                       GAsyncReadyCallback callback, gpointer user_data)
{
  cj_directory_run_async (directory, run, batch, NULL, NULL, callback, user_data);
}

CjChanges *
cj_import_write_finish (CjDirectory *directory, GAsyncResult *result, GError **error)
{
  return cj_directory_run_finish (directory, result, error);
}
