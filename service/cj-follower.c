#include "config.h"
#include "cj-follower.h"

#include <arpa/inet.h>
#include <glib/gi18n.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "cj-csn.h"
#include "cj-group-layout.h"
#include "cj-ldap-util.h"
#include "cj-sync-protocol.h"

#define POLL_SECONDS        30   /* without a sync provider: how often to search again */
#define UNCONFIGURED_SECONDS 10  /* how often to look whether the subtree appeared */
/* After a lost connection: the first try again soon (a slapd restart takes a moment, and
 * the resume is cheap), then doubling. */
#define FIRST_BACKOFF_MS    250
#define MAX_BACKOFF_MS      8000
/* A full load is handed over in parts of this many entries while it is read, so that the
 * main thread builds the registry beside the reading instead of after it. The tests make
 * the parts small with CJ_LOADING_BATCH (their directories have a few dozen entries). */
#define LOADING_BATCH       4096

struct _CjFollower {
  CjDirectory    *directory;
  CjFollowerHooks hooks;
  GMainContext   *context;
  GThread        *thread;
  guint           loading_batch;  /* LOADING_BATCH, or CJ_LOADING_BATCH */

  GMutex          lock;
  GCond           cond;
  gboolean        stopping;
  gboolean        reload;

  /* The state to resume from after a lost connection: the newest CSN per server id the
   * daemon has been handed, one per provider (the server at the other end of the
   * connection: a Uri may list several) — a provider is only asked to resume from what it
   * sent. Only the follower's thread touches them. Memory only: a new daemon loads
   * everything. */
  GHashTable     *cookies;    /* peer address -> CjSyncCookie */
  CjSyncCookie   *cookie;     /* the current session's provider's */
};

/* Posting to the main context ------------------------------------------------------- */

typedef struct {
  CjFollower *follower;
  GPtrArray  *entries;    /* loaded, resumed */
  GHashTable *present;    /* resumed */
  GPtrArray  *deleted;    /* resumed */
  char       *cookie;     /* resumed: the state it resumed from */
  CjSyncCookie *reached;  /* resumed: the state the refresh reached */
  CjEntry    *entry;      /* changed */
  char       *uuid;       /* removed */
  gboolean    connected, configured;
  char       *problem;
  enum { POST_LOADED, POST_RESUMED, POST_CHANGED, POST_REMOVED, POST_STATUS, POST_LOADING } kind;
} Post;

static void
post_free (Post *post)
{
  g_clear_pointer (&post->entries, g_ptr_array_unref);
  g_clear_pointer (&post->present, g_hash_table_unref);
  g_clear_pointer (&post->deleted, g_ptr_array_unref);
  g_clear_pointer (&post->entry, cj_entry_unref);
  g_free (post->uuid);
  g_free (post->cookie);
  g_clear_pointer (&post->reached, cj_sync_cookie_free);
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
    case POST_RESUMED:
      hooks->resumed (post->entries, post->present, post->deleted, post->cookie,
                       post->reached, hooks->data);
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
    case POST_LOADING:
      if (hooks->loading != NULL)
        hooks->loading (post->entries, hooks->data);
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

/* Sleeps up to @ms milliseconds; returns TRUE early when asked to stop or reload. */
static gboolean
wait_for_request_ms (CjFollower *follower, guint ms)
{
  gint64 until = g_get_monotonic_time () + (gint64) ms * G_TIME_SPAN_MILLISECOND;
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
wait_for_request (CjFollower *follower, guint seconds)
{
  return wait_for_request_ms (follower, seconds * 1000);
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
 * full load would carry every photo). Sent without waiting, so that a full load's search
 * runs in slapd beside the sync refresh instead of after it (jpegPhoto has no presence
 * index: slapd reads every user for it); -1 if it could not be sent. */
static int
send_photo_search (LDAP *ld, const char *base, int scope)
{
  const char *attrs[] = { "1.1", NULL };
  int msgid = -1;

  if (ldap_search_ext (ld, base, scope, "(jpegPhoto=*)", (char **) attrs, 0, NULL, NULL,
                       NULL, 0, &msgid) != LDAP_SUCCESS)
    return -1;
  return msgid;
}

/* The DNs of a photo search's answer (none for a failed search, as before). */
static GHashTable *
photos_of (LDAP *ld, LDAPMessage *result)
{
  GHashTable *dns = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (LDAPMessage *m = result != NULL ? ldap_first_entry (ld, result) : NULL; m != NULL;
       m = ldap_next_entry (ld, m))
    {
      char *dn = ldap_get_dn (ld, m);
      if (dn != NULL)
        g_hash_table_add (dns, g_ascii_strdown (dn, -1));
      ldap_memfree (dn);
    }
  return dns;
}

/* The answer to send_photo_search(). */
static GHashTable *
photo_search_result (CjFollower *follower, LDAP *ld, int msgid)
{
  g_autoptr(LDAPMessage) result = NULL;

  /* No time limit, as the synchronous search it replaces (a scan of every user may take
   * long in a large directory; the connection's own network timeout still holds). */
  if (msgid >= 0 && ldap_result (ld, msgid, LDAP_MSG_ALL, NULL, &result) > 0)
    return photos_of (ld, result);
  return photos_of (ld, NULL);
}

static GHashTable *
users_with_photo (CjFollower *follower, LDAP *ld, const char *base, int scope)
{
  return photo_search_result (follower, ld, send_photo_search (ld, base, scope));
}

/* Entries from @from on (those before it were handed over: records are immutable then). */
static void
mark_photos (GPtrArray *entries, guint from, GHashTable *dns)
{
  gboolean any = g_hash_table_size (dns) > 0;

  /* No photos at all is the common case: no lowercased copy of 100,000 DNs for it. */
  for (guint i = from; i < entries->len; i++)
    {
      CjEntry *entry = entries->pdata[i];

      if (entry->kind == CJ_ENTRY_USER)
        {
          g_autofree char *key = any ? g_ascii_strdown (entry->dn, -1) : NULL;

          entry->has_photo = any && g_hash_table_contains (dns, key);
        }
    }
}

static CjEntry *
read_entry (CjFollower *follower, LDAP *ld, LDAPMessage *message, const char *uuid)
{
  return cj_entry_new_from_message (ld, message, uuid,
                                    cj_directory_get_users_dn (follower->directory),
                                    cj_directory_get_groups_dn (follower->directory));
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
      mark_photos (entries, 0, photos);
      post_loaded (follower, entries);
    }
  while (!wait_for_request (follower, POLL_SECONDS));
}

/* Following (RFC 4533) -------------------------------------------------------------- */

/* What one refresh phase brought, handed over whole at its end. */
typedef struct {
  gboolean      resume;        /* started from a cookie */
  GPtrArray    *entries;       /* CjEntry: added or changed */
  GHashTable   *present;       /* entryUUIDs reported unchanged (a present phase) */
  GPtrArray    *deleted;       /* entryUUIDs reported deleted */
  gboolean      present_phase; /* the server ran a present phase: what is neither present
                                  nor sent is gone */
  CjSyncCookie *cookie;        /* the state the refresh reaches, kept once it is handed over */
  int           photo_msgid;   /* a full load: the photo search sent beside it, or -1 */
  GHashTable   *photos;        /* a full load: its answer, once read */
  guint         handed;        /* a full load: entries[0, handed) were posted while loading */
} Refresh;

static void
refresh_free (Refresh *refresh)
{
  g_ptr_array_unref (refresh->entries);
  g_hash_table_unref (refresh->present);
  g_ptr_array_unref (refresh->deleted);
  g_clear_pointer (&refresh->photos, g_hash_table_unref);
  cj_sync_cookie_free (refresh->cookie);
  g_free (refresh);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Refresh, refresh_free)

static Refresh *
refresh_new (gboolean resume)
{
  Refresh *refresh = g_new0 (Refresh, 1);

  refresh->resume = resume;
  refresh->entries = g_ptr_array_new_with_free_func ((GDestroyNotify) cj_entry_unref);
  refresh->present = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  refresh->deleted = g_ptr_array_new_with_free_func (g_free);
  refresh->cookie = cj_sync_cookie_new ();
  refresh->photo_msgid = -1;
  return refresh;
}

/* A cookie from the server: during a refresh it holds only once the refresh is handed over
 * (a connection lost in the middle resumes from the state before); in the persist phase at
 * once. */
static void
take_cookie (CjFollower *follower, Refresh *refresh, const char *cookie)
{
  if (cookie == NULL)
    return;
  cj_sync_cookie_merge (refresh != NULL ? refresh->cookie : follower->cookie, cookie, strlen (cookie));
}

/* A few changed users are asked for their photo one by one, many with one search. */
static void
mark_changed_photos (CjFollower *follower, LDAP *ld, GPtrArray *entries)
{
  guint users = 0;

  for (guint i = 0; i < entries->len; i++)
    users += ((CjEntry *) entries->pdata[i])->kind == CJ_ENTRY_USER;
  if (users > 64)
    {
      g_autoptr(GHashTable) photos =
        users_with_photo (follower, ld, cj_directory_get_users_dn (follower->directory), LDAP_SCOPE_ONELEVEL);
      mark_photos (entries, 0, photos);
      return;
    }
  for (guint i = 0; i < entries->len; i++)
    {
      CjEntry *entry = entries->pdata[i];

      if (entry->kind == CJ_ENTRY_USER)
        {
          g_autoptr(GHashTable) photos = users_with_photo (follower, ld, entry->dn, LDAP_SCOPE_BASE);
          entry->has_photo = g_hash_table_size (photos) > 0;
        }
    }
}

/* While a full load is read, every LOADING_BATCH entries go to the main thread, once the
 * photo search has answered (an entry is marked before it is handed over, never after). */
static void
hand_over_part (CjFollower *follower, LDAP *ld, Refresh *refresh)
{
  Post *p;

  if (refresh->resume || refresh->entries->len - refresh->handed < follower->loading_batch)
    return;
  if (refresh->photos == NULL)
    {
      struct timeval now = { 0, 0 };
      LDAPMessage *result = NULL;
      int rc;

      /* A poll (every 256 entries: each may cost a system call): the photo search's answer
       * is complete, or the entries wait for it. */
      if (refresh->photo_msgid < 0 ||
          (refresh->entries->len - refresh->handed - follower->loading_batch) % 256 != 0)
        return;
      rc = ldap_result (ld, refresh->photo_msgid, LDAP_MSG_ALL, &now, &result);
      if (rc == 0)
        return;
      refresh->photos = photos_of (ld, rc > 0 ? result : NULL);
      refresh->photo_msgid = -1;
      ldap_msgfree (result);
    }
  mark_photos (refresh->entries, refresh->handed, refresh->photos);
  p = g_new0 (Post, 1);
  p->kind = POST_LOADING;
  p->entries = g_ptr_array_new_full (refresh->entries->len - refresh->handed,
                                     (GDestroyNotify) cj_entry_unref);
  for (guint i = refresh->handed; i < refresh->entries->len; i++)
    g_ptr_array_add (p->entries, cj_entry_ref (refresh->entries->pdata[i]));
  refresh->handed = refresh->entries->len;
  post (follower, p);
}

static void
finish_refresh (CjFollower *follower, LDAP *ld, Refresh *refresh)
{
  g_autofree char *from = cj_sync_cookie_to_string (follower->cookie);

  cj_sync_cookie_merge_all (follower->cookie, refresh->cookie);
  if (!refresh->resume)
    {
      if (refresh->photos == NULL)
        refresh->photos =
          refresh->photo_msgid >= 0
            ? photo_search_result (follower, ld, refresh->photo_msgid)
            : users_with_photo (follower, ld, cj_directory_get_users_dn (follower->directory), LDAP_SCOPE_ONELEVEL);
      refresh->photo_msgid = -1;
      mark_photos (refresh->entries, refresh->handed, refresh->photos);
      /* The benchmark splits a start's "connected -> loaded" here: reading, then the
       * registry on the main thread. */
      g_debug ("read %u entries from the directory", refresh->entries->len);
      post_loaded (follower, refresh->entries);
    }
  else
    {
      Post *p = g_new0 (Post, 1);

      mark_changed_photos (follower, ld, refresh->entries);
      p->kind = POST_RESUMED;
      p->entries = g_ptr_array_ref (refresh->entries);
      p->present = refresh->present_phase ? g_hash_table_ref (refresh->present) : NULL;
      p->deleted = g_ptr_array_ref (refresh->deleted);
      p->cookie = g_steal_pointer (&from);
      p->reached = cj_sync_cookie_copy (follower->cookie);
      post (follower, p);
    }
  post_status (follower, TRUE, TRUE, NULL);
}

static void
handle_entry (CjFollower *follower, LDAP *ld, LDAPMessage *message, Refresh *refresh)
{
  g_autofree char *uuid = NULL;
  g_autofree char *cookie = NULL;
  int state = -1;
  Post *p;

  if (!cj_sync_parse_state (ld, message, &state, &uuid, &cookie))
    return;

  if (refresh != NULL)
    {
      CjEntry *entry;

      if (state == LDAP_SYNC_PRESENT)
        g_hash_table_add (refresh->present, g_steal_pointer (&uuid));
      else if (state == LDAP_SYNC_DELETE)
        g_ptr_array_add (refresh->deleted, g_steal_pointer (&uuid));
      else if ((entry = read_entry (follower, ld, message, uuid)) != NULL)
        {
          g_ptr_array_add (refresh->entries, entry);
          hand_over_part (follower, ld, refresh);
        }
      else
        /* No longer a user or group of ours (another tool rewrote it). */
        g_ptr_array_add (refresh->deleted, g_steal_pointer (&uuid));
      take_cookie (follower, refresh, cookie);
      return;
    }

  if (state == LDAP_SYNC_PRESENT)
    {
      take_cookie (follower, NULL, cookie);
      return;
    }
  p = g_new0 (Post, 1);
  p->entry = state == LDAP_SYNC_DELETE ? NULL : read_entry (follower, ld, message, uuid);
  if (p->entry == NULL)
    {
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
  /* The state moves on before the change is seen (in-process, nothing is lost by it). */
  take_cookie (follower, NULL, cookie);
  post (follower, p);
}

/* A Sync Info message; returns TRUE when it ends the refresh. */
static gboolean
handle_info (CjFollower *follower, LDAP *ld, LDAPMessage *message, Refresh *refresh)
{
  g_autoptr(CjSyncInfo) info = cj_sync_parse_info (ld, message);

  if (info == NULL)
    return FALSE;
  take_cookie (follower, refresh, info->cookie);
  if (refresh == NULL)
    return FALSE;
  switch (info->kind)
    {
    case CJ_SYNC_INFO_ID_SET:
      for (guint i = 0; i < info->uuids->len; i++)
        {
          char *uuid = g_strdup (info->uuids->pdata[i]);

          if (info->refresh_deletes)
            g_ptr_array_add (refresh->deleted, uuid);
          else
            g_hash_table_add (refresh->present, uuid);
        }
      return FALSE;
    case CJ_SYNC_INFO_REFRESH_PRESENT:
      refresh->present_phase = TRUE;
      return info->refresh_done;
    case CJ_SYNC_INFO_REFRESH_DELETE:
      return info->refresh_done;
    default:
      return FALSE;
    }
}

/* The provider at the other end of @ld: its address and port (or socket path). */
static char *
peer_of (CjFollower *follower, LDAP *ld)
{
  struct sockaddr_storage address;
  socklen_t length = sizeof address;
  char host[INET6_ADDRSTRLEN] = "";
  int fd = -1;

  if (ldap_get_option (ld, LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS || fd < 0 ||
      getpeername (fd, (struct sockaddr *) &address, &length) < 0)
    return g_strdup (cj_directory_get_uri (follower->directory));
  switch (address.ss_family)
    {
    case AF_INET:
      {
        struct sockaddr_in *in = (struct sockaddr_in *) &address;
        inet_ntop (AF_INET, &in->sin_addr, host, sizeof host);
        return g_strdup_printf ("%s:%u", host, ntohs (in->sin_port));
      }
    case AF_INET6:
      {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *) &address;
        inet_ntop (AF_INET6, &in6->sin6_addr, host, sizeof host);
        return g_strdup_printf ("[%s]:%u", host, ntohs (in6->sin6_port));
      }
    case AF_UNIX:
      {
        struct sockaddr_un *un = (struct sockaddr_un *) &address;
        gsize max = length > offsetof (struct sockaddr_un, sun_path)
                    ? length - offsetof (struct sockaddr_un, sun_path) : 0;
        return g_strndup (un->sun_path, MIN (max, sizeof un->sun_path));
      }
    default:
      return g_strdup (cj_directory_get_uri (follower->directory));
    }
}

/* One session on one connection: returns when the connection is lost (with @error), or
 * when asked to stop or reload. */
static void
run_session (CjFollower *follower, LDAP *ld, GError **error)
{
  g_autoptr(Refresh) refresh = NULL;
  g_autofree char *cookie = NULL;
  int msgid = -1;
  int rc = subtree_exists (follower, ld);
  g_autofree char *peer = peer_of (follower, ld);

  follower->cookie = g_hash_table_lookup (follower->cookies, peer);
  if (follower->cookie == NULL)
    {
      follower->cookie = cj_sync_cookie_new ();
      g_hash_table_insert (follower->cookies, g_steal_pointer (&peer), follower->cookie);
    }

  if (rc == LDAP_NO_SUCH_OBJECT)
    {
      g_autoptr(GPtrArray) nothing = g_ptr_array_new ();

      cj_sync_cookie_clear (follower->cookie);
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

  cookie = cj_sync_cookie_to_string (follower->cookie);
  /* The benchmark (bench/resume.py) times from these lines. */
  if (cookie != NULL)
    g_debug ("resuming the directory from %s", cookie);
  else
    g_debug ("loading the directory in full");
  rc = cj_sync_search (ld, cj_directory_get_jabber_dn (follower->directory),
                       "(|(objectClass=inetOrgPerson)(objectClass=posixGroup))",
                       cj_entry_attrs, cookie, &msgid);
  if (rc != LDAP_SUCCESS)
    {
      cj_directory_set_error (follower->directory, error, rc, ld, _("following the directory"));
      return;
    }
  refresh = refresh_new (cookie != NULL);
  /* Sent after the sync search: a photo changed after the refresh's snapshot also comes as
   * a change of the persist phase, which reads that user's photo again. */
  if (!refresh->resume)
    refresh->photo_msgid = send_photo_search (ld, cj_directory_get_users_dn (follower->directory),
                                              LDAP_SCOPE_ONELEVEL);

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
          handle_entry (follower, ld, message, refresh);
          break;

        case LDAP_RES_INTERMEDIATE:
          if (handle_info (follower, ld, message, refresh) && refresh != NULL)
            {
              finish_refresh (follower, ld, refresh);
              g_clear_pointer (&refresh, refresh_free);
            }
          break;

        case LDAP_RES_SEARCH_RESULT:
          {
            g_autofree char *done_cookie = NULL;
            int result_code = cj_sync_parse_done (ld, message, &done_cookie);

            if (result_code == LDAP_SYNC_REFRESH_REQUIRED)
              {
                /* The server cannot resume from the cookie (too old, another database):
                 * load everything again, at once. */
                g_debug ("the directory asks for a full reload (e-syncRefreshRequired)");
                cj_sync_cookie_clear (follower->cookie);
                return;
              }
            if (result_code == LDAP_UNAVAILABLE_CRITICAL_EXTENSION ||
                result_code == LDAP_PROTOCOL_ERROR)
              {
                g_message ("The LDAP server has no sync provider (syncprov): reading the "
                           "directory every %d seconds instead", POLL_SECONDS);
                cj_sync_cookie_clear (follower->cookie);
                post_status (follower, TRUE, TRUE, NULL);
                poll_without_sync (follower, ld, error);
                return;
              }
            if (refresh == NULL)
              take_cookie (follower, NULL, done_cookie);
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
  guint backoff = FIRST_BACKOFF_MS;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      LDAP *ld;

      g_mutex_lock (&follower->lock);
      /* Asked to load again: from scratch. */
      if (follower->reload)
        g_hash_table_remove_all (follower->cookies);
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
          backoff = FIRST_BACKOFF_MS;
          continue;
        }
      g_warning ("%s", error->message);
      post_status (follower, FALSE, TRUE, error->message);
      wait_for_request_ms (follower, backoff);
      backoff = MIN (backoff * 2, MAX_BACKOFF_MS);
    }
  return NULL;
}

CjFollower *
cj_follower_new (CjDirectory *directory, const CjFollowerHooks *hooks)
{
  CjFollower *follower = g_new0 (CjFollower, 1);
  const char *batch = g_getenv ("CJ_LOADING_BATCH");
  guint64 n;

  follower->loading_batch = LOADING_BATCH;
  if (batch != NULL && g_ascii_string_to_unsigned (batch, 10, 1, G_MAXINT, &n, NULL))
    follower->loading_batch = (guint) n;
  follower->directory = directory;
  follower->hooks = *hooks;
  follower->context = g_main_context_ref_thread_default ();
  g_mutex_init (&follower->lock);
  g_cond_init (&follower->cond);
  follower->cookies = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                             (GDestroyNotify) cj_sync_cookie_free);
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
  g_hash_table_unref (follower->cookies);
  g_free (follower);
}
