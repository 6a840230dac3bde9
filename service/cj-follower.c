#include "config.h"
#include "cj-follower.h"

#include <glib/gi18n.h>
#include <string.h>

#include "cj-group-layout.h"
#include "cj-ldap-util.h"

#define POLL_SECONDS        30   /* without a sync provider: how often to search again */
#define UNCONFIGURED_SECONDS 10  /* how often to look whether the subtree appeared */
#define MAX_BACKOFF_SECONDS 8

struct _CjFollower {
  CjDirectory    *directory;
  CjFollowerHooks hooks;
  GMainContext   *context;
  GThread        *thread;

  GMutex          lock;
  GCond           cond;
  gboolean        stopping;
  gboolean        reload;
};

/* Posting to the main context ------------------------------------------------------- */

typedef struct {
  CjFollower *follower;
  GPtrArray  *entries;    /* loaded */
  CjEntry    *entry;      /* changed */
  char       *uuid;       /* removed */
  gboolean    connected, configured;
  char       *problem;
  enum { POST_LOADED, POST_CHANGED, POST_REMOVED, POST_STATUS } kind;
} Post;

static void
post_free (Post *post)
{
  g_clear_pointer (&post->entries, g_ptr_array_unref);
  g_clear_pointer (&post->entry, cj_entry_unref);
  g_free (post->uuid);
  g_free (post->problem);
  g_free (post);
}

static gboolean
deliver (gpointer data)
{
  Post *post = data;
  const CjFollowerHooks *hooks = &post->follower->hooks;

  switch (post->kind)
    {
    case POST_LOADED:
      hooks->loaded (post->entries, hooks->data);
      break;
    case POST_CHANGED:
      hooks->changed (post->entry, hooks->data);
      break;
    case POST_REMOVED:
      hooks->removed (post->uuid, hooks->data);
      break;
    case POST_STATUS:
      hooks->status (post->connected, post->configured, post->problem, hooks->data);
      break;
    }
  return G_SOURCE_REMOVE;
}

static void
post (CjFollower *follower, Post *p)
{
  p->follower = follower;
  g_main_context_invoke_full (follower->context, G_PRIORITY_DEFAULT, deliver, p,
                              (GDestroyNotify) post_free);
}

static void
post_status (CjFollower *follower, gboolean connected, gboolean configured, const char *problem)
{
  Post *p = g_new0 (Post, 1);

  p->kind = POST_STATUS;
  p->connected = connected;
  p->configured = configured;
  p->problem = g_strdup (problem);
  post (follower, p);
}

static void
post_loaded (CjFollower *follower, GPtrArray *entries)
{
  Post *p = g_new0 (Post, 1);

  p->kind = POST_LOADED;
  p->entries = g_ptr_array_ref (entries);
  post (follower, p);
}

/* Waiting and being told ------------------------------------------------------------ */

/* Sleeps up to @seconds; returns TRUE early when asked to stop or reload. */
static gboolean
wait_for_request (CjFollower *follower, guint seconds)
{
  gint64 until = g_get_monotonic_time () + (gint64) seconds * G_TIME_SPAN_SECOND;
  gboolean requested;

  g_mutex_lock (&follower->lock);
  while (!follower->stopping && !follower->reload)
    if (!g_cond_wait_until (&follower->cond, &follower->lock, until))
      break;
  requested = follower->stopping || follower->reload;
  g_mutex_unlock (&follower->lock);
  return requested;
}

static gboolean
requested (CjFollower *follower)
{
  gboolean result;

  g_mutex_lock (&follower->lock);
  result = follower->stopping || follower->reload;
  g_mutex_unlock (&follower->lock);
  return result;
}

/* Reading entries ------------------------------------------------------------------- */

static int
subtree_exists (CjFollower *follower, LDAP *ld)
{
  const char *attrs[] = { "1.1", NULL };
  struct timeval timeout = { (time_t) cj_directory_get_timeout (follower->directory), 0 };
  g_autoptr(LDAPMessage) result = NULL;

  return ldap_search_ext_s (ld, cj_directory_get_users_dn (follower->directory), LDAP_SCOPE_BASE,
                            "(objectClass=*)", (char **) attrs, 0, NULL, NULL, &timeout, 1, &result);
}

/* The DNs of users that have a photo (jpegPhoto is not among the followed attributes: a
 * full load would carry every photo). */
static GHashTable *
users_with_photo (CjFollower *follower, LDAP *ld, const char *base, int scope)
{
  const char *attrs[] = { "1.1", NULL };
  g_autoptr(LDAPMessage) result = NULL;
  GHashTable *dns = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (ldap_search_ext_s (ld, base, scope, "(jpegPhoto=*)", (char **) attrs, 0, NULL, NULL,
                         NULL, 0, &result) != LDAP_SUCCESS && result == NULL)
    return dns;
  for (LDAPMessage *m = ldap_first_entry (ld, result); m != NULL; m = ldap_next_entry (ld, m))
    {
      char *dn = ldap_get_dn (ld, m);
      if (dn != NULL)
        g_hash_table_add (dns, g_ascii_strdown (dn, -1));
      ldap_memfree (dn);
    }
  return dns;
}

static void
mark_photos (GPtrArray *entries, GHashTable *dns)
{
  for (guint i = 0; i < entries->len; i++)
    {
      CjEntry *entry = entries->pdata[i];
      g_autofree char *key = g_ascii_strdown (entry->dn, -1);

      if (entry->kind == CJ_ENTRY_USER)
        entry->has_photo = g_hash_table_contains (dns, key);
    }
}

static CjEntry *
read_entry (CjFollower *follower, LDAP *ld, LDAPMessage *message, const char *uuid)
{
  return cj_entry_new_from_message (ld, message, uuid,
                                    cj_directory_get_users_dn (follower->directory),
                                    cj_directory_get_groups_dn (follower->directory));
}

/* The sync protocol (RFC 4533) ------------------------------------------------------ */

/* Reads the Sync State control of a search entry: state and entryUUID. */
static gboolean
parse_sync_state (LDAP *ld, LDAPMessage *message, int *state, char **uuid)
{
  LDAPControl **controls = NULL;
  LDAPControl *control;
  gboolean ok = FALSE;

  if (ldap_get_entry_controls (ld, message, &controls) != LDAP_SUCCESS || controls == NULL)
    return FALSE;
  control = ldap_control_find (LDAP_CONTROL_SYNC_STATE, controls, NULL);
  if (control != NULL)
    {
      BerElement *ber = ber_init (&control->ldctl_value);
      struct berval raw = { 0, NULL };
      ber_int_t value = 0;

      if (ber != NULL && ber_scanf (ber, "{em", &value, &raw) != LBER_ERROR)
        {
          *state = (int) value;
          *uuid = cj_ldap_uuid_from_bytes (&raw);
          ok = *uuid != NULL;
        }
      if (ber != NULL)
        ber_free (ber, 1);
    }
  ldap_controls_free (controls);
  return ok;
}

/* Whether a Sync Info message says the refresh is over. */
static gboolean
parse_refresh_done (LDAP *ld, LDAPMessage *message)
{
  char *oid = NULL;
  struct berval *data = NULL;
  gboolean done = FALSE;

  if (ldap_parse_intermediate (ld, message, &oid, &data, NULL, 0) != LDAP_SUCCESS)
    return FALSE;
  if (oid != NULL && strcmp (oid, LDAP_SYNC_INFO) == 0 && data != NULL)
    {
      BerElement *ber = ber_init (data);
      ber_len_t len;
      ber_tag_t tag = ber != NULL ? ber_peek_tag (ber, &len) : LBER_ERROR;

      if (tag == LDAP_TAG_SYNC_REFRESH_DELETE || tag == LDAP_TAG_SYNC_REFRESH_PRESENT)
        {
          ber_int_t refresh_done = 1;   /* DEFAULT TRUE */

          ber_skip_tag (ber, &len);
          tag = ber_peek_tag (ber, &len);
          if (tag == LDAP_TAG_SYNC_COOKIE)
            {
              ber_skip_tag (ber, &len);
              ber_skip_data (ber, len);
              tag = ber_peek_tag (ber, &len);
            }
          if (tag == LDAP_TAG_REFRESHDONE)
            ber_scanf (ber, "b", &refresh_done);
          done = refresh_done != 0;
        }
      if (ber != NULL)
        ber_free (ber, 1);
    }
  ldap_memfree (oid);
  ber_bvfree (data);
  return done;
}

static int
start_sync_search (CjFollower *follower, LDAP *ld, int *msgid)
{
  LDAPControl control = { 0 };
  LDAPControl *controls[] = { &control, NULL };
  BerElement *ber = ber_alloc_t (LBER_USE_DER);
  int rc;

  ber_printf (ber, "{eb}", (ber_int_t) LDAP_SYNC_REFRESH_AND_PERSIST, (ber_int_t) 0);
  if (ber_flatten2 (ber, &control.ldctl_value, 0) < 0)
    {
      ber_free (ber, 1);
      return LDAP_NO_MEMORY;
    }
  control.ldctl_oid = (char *) LDAP_CONTROL_SYNC;
  control.ldctl_iscritical = 1;
  rc = ldap_search_ext (ld, cj_directory_get_jabber_dn (follower->directory), LDAP_SCOPE_SUBTREE,
                        "(|(objectClass=inetOrgPerson)(objectClass=posixGroup))",
                        (char **) cj_entry_attrs, 0, controls, NULL, NULL, 0, msgid);
  ber_free (ber, 1);
  return rc;
}

/* Without a sync provider: the whole subtree, read again every POLL_SECONDS. */
static void
poll_without_sync (CjFollower *follower, LDAP *ld, GError **error)
{
  do
    {
      g_autoptr(LDAPMessage) result = NULL;
      g_autoptr(GPtrArray) entries = g_ptr_array_new_with_free_func ((GDestroyNotify) cj_entry_unref);
      g_autoptr(GHashTable) photos = NULL;
      int rc = ldap_search_ext_s (ld, cj_directory_get_jabber_dn (follower->directory),
                                  LDAP_SCOPE_SUBTREE,
                                  "(|(objectClass=inetOrgPerson)(objectClass=posixGroup))",
                                  (char **) cj_entry_attrs, 0, NULL, NULL, NULL, 0, &result);

      if (rc != LDAP_SUCCESS)
        {
          cj_directory_set_error (follower->directory, error, rc, ld, _("reading the directory"));
          return;
        }
      for (LDAPMessage *m = ldap_first_entry (ld, result); m != NULL; m = ldap_next_entry (ld, m))
        {
          CjEntry *entry = read_entry (follower, ld, m, NULL);
          if (entry != NULL)
            g_ptr_array_add (entries, entry);
        }
      photos = users_with_photo (follower, ld, cj_directory_get_users_dn (follower->directory),
                                 LDAP_SCOPE_ONELEVEL);
      mark_photos (entries, photos);
      post_loaded (follower, entries);
    }
  while (!wait_for_request (follower, POLL_SECONDS));
}

static void
handle_entry (CjFollower *follower, LDAP *ld, LDAPMessage *message, GPtrArray *pending)
{
  g_autofree char *uuid = NULL;
  int state = -1;
  Post *p;

  if (!parse_sync_state (ld, message, &state, &uuid))
    return;

  if (state == LDAP_SYNC_DELETE)
    {
      if (pending != NULL)
        return;
      p = g_new0 (Post, 1);
      p->kind = POST_REMOVED;
      p->uuid = g_steal_pointer (&uuid);
      post (follower, p);
      return;
    }

  if (pending != NULL)
    {
      CjEntry *entry = read_entry (follower, ld, message, uuid);
      if (entry != NULL)
        g_ptr_array_add (pending, entry);
      return;
    }

  p = g_new0 (Post, 1);
  p->entry = read_entry (follower, ld, message, uuid);
  if (p->entry == NULL)
    {
      /* No longer a user or group of ours (another tool rewrote it). */
      p->kind = POST_REMOVED;
      p->uuid = g_steal_pointer (&uuid);
    }
  else
    {
      p->kind = POST_CHANGED;
      if (p->entry->kind == CJ_ENTRY_USER)
        {
          g_autoptr(GHashTable) photos = users_with_photo (follower, ld, p->entry->dn, LDAP_SCOPE_BASE);
          p->entry->has_photo = g_hash_table_size (photos) > 0;
        }
    }
  post (follower, p);
}

/* One session on one connection: returns when the connection is lost (with @error), or
 * when asked to stop or reload. */
static void
run_session (CjFollower *follower, LDAP *ld, GError **error)
{
  g_autoptr(GPtrArray) pending = NULL;
  int msgid = -1;
  int rc = subtree_exists (follower, ld);

  if (rc == LDAP_NO_SUCH_OBJECT)
    {
      g_autoptr(GPtrArray) nothing = g_ptr_array_new ();

      post_loaded (follower, nothing);
      post_status (follower, TRUE, FALSE, NULL);
      wait_for_request (follower, UNCONFIGURED_SECONDS);
      return;
    }
  if (rc != LDAP_SUCCESS)
    {
      cj_directory_set_error (follower->directory, error, rc, ld, _("reading the directory"));
      return;
    }

  rc = start_sync_search (follower, ld, &msgid);
  if (rc != LDAP_SUCCESS)
    {
      cj_directory_set_error (follower->directory, error, rc, ld, _("following the directory"));
      return;
    }
  pending = g_ptr_array_new_with_free_func ((GDestroyNotify) cj_entry_unref);

  while (!requested (follower))
    {
      struct timeval second = { 1, 0 };
      g_autoptr(LDAPMessage) message = NULL;

      rc = ldap_result (ld, msgid, LDAP_MSG_ONE, &second, &message);
      if (rc == 0)
        continue;
      if (rc < 0)
        {
          ldap_get_option (ld, LDAP_OPT_RESULT_CODE, &rc);
          cj_directory_set_error (follower->directory, error, rc, ld, _("following the directory"));
          return;
        }

      switch (ldap_msgtype (message))
        {
        case LDAP_RES_SEARCH_ENTRY:
          handle_entry (follower, ld, message, pending);
          break;

        case LDAP_RES_INTERMEDIATE:
          if (pending != NULL && parse_refresh_done (ld, message))
            {
              g_autoptr(GHashTable) photos =
                users_with_photo (follower, ld, cj_directory_get_users_dn (follower->directory),
                                  LDAP_SCOPE_ONELEVEL);

              mark_photos (pending, photos);
              post_loaded (follower, pending);
              post_status (follower, TRUE, TRUE, NULL);
              g_clear_pointer (&pending, g_ptr_array_unref);
            }
          break;

        case LDAP_RES_SEARCH_RESULT:
          {
            int result_code = LDAP_OTHER;

            ldap_parse_result (ld, message, &result_code, NULL, NULL, NULL, NULL, 0);
            if (result_code == LDAP_UNAVAILABLE_CRITICAL_EXTENSION ||
                result_code == LDAP_PROTOCOL_ERROR)
              {
                g_message ("The LDAP server has no sync provider (syncprov): reading the "
                           "directory every %d seconds instead", POLL_SECONDS);
                post_status (follower, TRUE, TRUE, NULL);
                poll_without_sync (follower, ld, error);
                return;
              }
            cj_directory_set_error (follower->directory, error,
                                    result_code == LDAP_SUCCESS ? LDAP_SERVER_DOWN : result_code,
                                    ld, _("following the directory"));
            return;
          }

        default:
          break;
        }
    }
  ldap_abandon_ext (ld, msgid, NULL, NULL);
}

static gpointer
follow (gpointer data)
{
  CjFollower *follower = data;
  guint backoff = 1;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      LDAP *ld;

      g_mutex_lock (&follower->lock);
      follower->reload = FALSE;
      if (follower->stopping)
        {
          g_mutex_unlock (&follower->lock);
          break;
        }
      g_mutex_unlock (&follower->lock);

      ld = cj_directory_open (follower->directory, &error);
      if (ld != NULL)
        {
          g_autoptr(GError) migrate_error = NULL;

          /* Groups of the first layout (written by an older daemon or another tool) are
           * converted before they are read: their cn would reach ejabberd's filters. */
          if (!cj_group_layout_migrate (follower->directory, ld, NULL, &migrate_error))
            g_warning ("%s", migrate_error->message);
          run_session (follower, ld, &error);
          ldap_unbind_ext_s (ld, NULL, NULL);
        }
      if (error == NULL)
        {
          backoff = 1;
          continue;
        }
      g_warning ("%s", error->message);
      post_status (follower, FALSE, TRUE, error->message);
      wait_for_request (follower, backoff);
      backoff = MIN (backoff * 2, MAX_BACKOFF_SECONDS);
    }
  return NULL;
}

CjFollower *
cj_follower_new (CjDirectory *directory, const CjFollowerHooks *hooks)
{
  CjFollower *follower = g_new0 (CjFollower, 1);

  follower->directory = directory;
  follower->hooks = *hooks;
  follower->context = g_main_context_ref_thread_default ();
  g_mutex_init (&follower->lock);
  g_cond_init (&follower->cond);
  return follower;
}

void
cj_follower_start (CjFollower *follower)
{
  follower->thread = g_thread_new ("cj-follower", follow, follower);
}

static void
request (CjFollower *follower, gboolean stop)
{
  g_mutex_lock (&follower->lock);
  if (stop)
    follower->stopping = TRUE;
  else
    follower->reload = TRUE;
  g_cond_broadcast (&follower->cond);
  g_mutex_unlock (&follower->lock);
}

void
cj_follower_reload (CjFollower *follower)
{
  request (follower, FALSE);
}

void
cj_follower_free (CjFollower *follower)
{
  if (follower == NULL)
    return;
  if (follower->thread != NULL)
    {
      request (follower, TRUE);
      g_thread_join (follower->thread);
    }
  g_mutex_clear (&follower->lock);
  g_cond_clear (&follower->cond);
  g_main_context_unref (follower->context);
  g_free (follower);
}
