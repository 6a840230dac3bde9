#include "config.h"
#include "cj-live.h"

#include <string.h>

#include "cj-avatars.h"

/* Changes within this much are pushed together. Computing the view costs about 2 ms at 3,000
 * users (bench/live), so tens of milliseconds of the main loop at 100,000: in a burst, rounds
 * start ten times their cost apart (at most a second), so that a bulk change by another
 * writer cannot take the loop. */
#define COALESCE_MILLISECONDS 50
#define MAX_SPACING_MILLISECONDS 1000
/* At most this many pushes (sessions × changed contacts) for one round: past it, clients see
 * the change at their next login, as without pushes (a bulk change seen by thousands of
 * sessions must not queue millions of calls). */
#define MAX_PUSHES 5000

/* One contact of the shared roster: a user who is in at least one named group and is not
 * locked, with the names of its groups (sorted). */
typedef struct {
  char      *nickname;
  GPtrArray *groups;   /* char * */
} Contact;

static void
contact_free (Contact *contact)
{
  g_free (contact->nickname);
  g_ptr_array_unref (contact->groups);
  g_free (contact);
}

static gboolean
contact_equal (const Contact *a, const Contact *b)
{
  if (g_strcmp0 (a->nickname, b->nickname) != 0 || a->groups->len != b->groups->len)
    return FALSE;
  for (guint i = 0; i < a->groups->len; i++)
    if (strcmp (a->groups->pdata[i], b->groups->pdata[i]) != 0)
      return FALSE;
  return TRUE;
}

typedef struct {
  CjDaemon   *daemon;
  GHashTable *view;        /* uid -> Contact; NULL until the first call */
  guint       timer;
  gboolean    busy;        /* a round of pushes is running */
  gboolean    dirty;       /* changed meanwhile */
  GHashTable *changed;     /* the round's: uid -> Contact, or NULL for "gone" */
  guint       pending;
  guint64     serial;
  guint       spacing;     /* milliseconds between the starts of two rounds */
  gint64      last_start;  /* monotonic, of the last round */
} Live;

static void
live_free (Live *live)
{
  g_clear_handle_id (&live->timer, g_source_remove);
  g_clear_pointer (&live->view, g_hash_table_unref);
  g_clear_pointer (&live->changed, g_hash_table_unref);
  g_free (live);
}

static Live *
get_live (CjDaemon *daemon)
{
  return g_object_get_data (G_OBJECT (daemon->server), "cj-live");
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

/* The shared roster as ejabberd shows it (the rendered configuration): every group with a
 * name lists its memberUid values that are existing, unlocked users, each under the user's
 * displayName. */
static GHashTable *
build_view (CjRegistry *registry)
{
  GHashTable *view = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) contact_free);
  GPtrArray *groups = cj_registry_sorted_groups (registry);

  for (guint i = 0; i < groups->len; i++)
    {
      CjEntry *group = ((CjRecord *) groups->pdata[i])->entry;

      if (group->name == NULL || *group->name == '\0')
        continue;
      for (char **m = group->members; m != NULL && *m != NULL; m++)
        {
          CjEntry *user = cj_registry_find_user (registry, *m);
          Contact *contact;

          if (user == NULL || user->locked)
            continue;
          contact = g_hash_table_lookup (view, user->name);
          if (contact == NULL)
            {
              contact = g_new0 (Contact, 1);
              contact->nickname = g_strdup (user->nickname != NULL && *user->nickname != '\0'
                                            ? user->nickname : user->name);
              contact->groups = g_ptr_array_new_with_free_func (g_free);
              g_hash_table_insert (view, g_strdup (user->name), contact);
            }
          if (!g_ptr_array_find_with_equal_func (contact->groups, group->name, g_str_equal, NULL))
            g_ptr_array_add (contact->groups, g_strdup (group->name));
        }
    }
  {
    GHashTableIter iter;
    Contact *contact;

    g_hash_table_iter_init (&iter, view);
    while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &contact))
      g_ptr_array_sort (contact->groups, compare_strings);
  }
  return view;
}

/* uid (a copy) -> the new Contact (borrowed from @after) or NULL: what differs. */
static GHashTable *
diff_views (GHashTable *before, GHashTable *after)
{
  GHashTable *changed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  GHashTableIter iter;
  const char *uid;
  Contact *contact;

  g_hash_table_iter_init (&iter, after);
  while (g_hash_table_iter_next (&iter, (gpointer *) &uid, (gpointer *) &contact))
    {
      Contact *old = g_hash_table_lookup (before, uid);
      if (old == NULL || !contact_equal (old, contact))
        g_hash_table_insert (changed, g_strdup (uid), contact);
    }
  g_hash_table_iter_init (&iter, before);
  while (g_hash_table_iter_next (&iter, (gpointer *) &uid, NULL))
    if (!g_hash_table_contains (after, uid))
      g_hash_table_insert (changed, g_strdup (uid), NULL);
  return changed;
}

/* <iq type='set'><query xmlns='jabber:iq:roster'><item …/></query></iq> for one contact. */
static char *
push_stanza (Live *live, const char *uid, const char *host, const Contact *contact)
{
  GString *out = g_string_new (NULL);
  g_autofree char *jid = g_markup_printf_escaped ("%s@%s", uid, host);

  g_string_append_printf (out, "<iq type='set' id='cj-push-%" G_GUINT64_FORMAT "'>"
                          "<query xmlns='jabber:iq:roster'>", ++live->serial);
  if (contact == NULL)
    g_string_append_printf (out, "<item jid='%s' subscription='remove'/>", jid);
  else
    {
      g_autofree char *name = g_markup_escape_text (contact->nickname, -1);

      g_string_append_printf (out, "<item jid='%s' name='%s' subscription='both'>", jid, name);
      for (guint i = 0; i < contact->groups->len; i++)
        {
          g_autofree char *group = g_markup_escape_text (contact->groups->pdata[i], -1);
          g_string_append_printf (out, "<group>%s</group>", group);
        }
      g_string_append (out, "</item>");
    }
  g_string_append (out, "</query></iq>");
  return g_string_free (out, FALSE);
}

static void schedule (Live *live);

static void
round_done (Live *live)
{
  g_clear_pointer (&live->changed, g_hash_table_unref);
  live->busy = FALSE;
  if (live->dirty)
    schedule (live);
}

static void
on_pushed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Live *live = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = cj_ejabberd_command_finish (live->daemon->ejabberd, result, &error);

  /* A session that ended meanwhile is no failure worth more than a debug line. */
  if (reply == NULL)
    g_debug ("roster push: %s", error->message);
  if (--live->pending == 0)
    round_done (live);
}

static void
on_sessions (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Live *live = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) reply = cj_ejabberd_command_finish (live->daemon->ejabberd, result, &error);
  JsonArray *sessions;
  guint n, total;

  if (reply == NULL || !JSON_NODE_HOLDS_ARRAY (reply))
    {
      g_warning ("Cannot push roster changes: no list of sessions from ejabberd: %s",
                 error != NULL ? error->message : "not a list");
      round_done (live);
      return;
    }
  sessions = json_node_get_array (reply);
  n = json_array_get_length (sessions);
  total = n * g_hash_table_size (live->changed);
  if (total > MAX_PUSHES)
    {
      g_message ("%u roster pushes needed (%u sessions, %u contacts): too many, clients see "
                 "the change at their next login", total, n, g_hash_table_size (live->changed));
      round_done (live);
      return;
    }
  live->pending = 1;
  for (guint i = 0; i < n; i++)
    {
      JsonNode *element = json_array_get_element (sessions, i);
      const char *full = JSON_NODE_HOLDS_VALUE (element) && json_node_get_value_type (element) == G_TYPE_STRING
                         ? json_node_get_string (element) : NULL;
      const char *at, *slash;
      g_autofree char *user = NULL, *host = NULL, *bare = NULL;
      GHashTableIter iter;
      const char *uid;
      Contact *contact;

      if (full == NULL || (at = strchr (full, '@')) == NULL || (slash = strchr (at, '/')) == NULL)
        continue;
      user = g_strndup (full, (gsize) (at - full));
      host = g_strndup (at + 1, (gsize) (slash - at - 1));
      bare = g_strndup (full, (gsize) (slash - full));
      g_hash_table_iter_init (&iter, live->changed);
      while (g_hash_table_iter_next (&iter, (gpointer *) &uid, (gpointer *) &contact))
        {
          g_autofree char *stanza = NULL;

          if (strcmp (uid, user) == 0)   /* nobody sees itself */
            continue;
          stanza = push_stanza (live, uid, host, contact);
          {
            const char *const args[] = { "from", bare, "to", full, "stanza", stanza, NULL };
            live->pending++;
            cj_ejabberd_command_full_async (live->daemon->ejabberd, "send_stanza", args, TRUE, on_pushed, live);
          }
        }
    }
  if (--live->pending == 0)
    round_done (live);
}

/* Every round clears ejabberd's caches (auth, roster, vCard, shared roster): whatever
 * changed in the directory, a login after it sees it. The clear comes first: a client that
 * logs in after a push gets the same roster. Pushes go only through the API (ejabberdctl
 * would cost ~0.3 s each). */
static void
on_cleared (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Live *live = user_data;
  g_autoptr(GError) error = NULL;

  if (!cj_ejabberd_clear_cache_finish (live->daemon->ejabberd, result, &error))
    g_warning ("Could not tell ejabberd about the change: %s", error->message);
  if (g_hash_table_size (live->changed) == 0 || !cj_ejabberd_has_api (live->daemon->ejabberd))
    {
      round_done (live);
      return;
    }
  cj_ejabberd_command_full_async (live->daemon->ejabberd, "connected_users", NULL, TRUE, on_sessions, live);
}

static void
push_round (gpointer data)
{
  Live *live = data;
  CjDaemon *daemon = live->daemon;
  GHashTable *after;

  live->timer = 0;
  live->dirty = FALSE;
  live->busy = TRUE;
  /* Before Setup nothing is told; the view stays as it was (a later round pushes what
   * changed meanwhile, which at worst repeats what a client fetched). */
  if (!cj_server_get_configured (daemon->server))
    {
      round_done (live);
      return;
    }
  {
    gint64 start = live->last_start = g_get_monotonic_time ();

    after = build_view (daemon->registry);
    live->spacing = (guint) CLAMP ((g_get_monotonic_time () - start) / 100, COALESCE_MILLISECONDS,
                                   MAX_SPACING_MILLISECONDS);
    g_debug ("shared roster view: %u contacts in %" G_GINT64_FORMAT " us", g_hash_table_size (after),
             g_get_monotonic_time () - start);
  }
  /* Contacts (borrowed from @after) stay valid while the round runs: the view is replaced
   * only by the next round, which waits for this one. */
  live->changed = diff_views (live->view, after);
  g_hash_table_unref (live->view);
  live->view = after;
  cj_ejabberd_clear_cache_async (daemon->ejabberd, on_cleared, live);
}

/* A change after a quiet time goes out after COALESCE_MILLISECONDS; in a burst, rounds start
 * live->spacing apart. */
static void
schedule (Live *live)
{
  gint64 wait;

  live->dirty = TRUE;
  if (live->timer != 0 || live->busy)
    return;
  wait = (live->last_start + (gint64) live->spacing * 1000 - g_get_monotonic_time ()) / 1000;
  live->timer = g_timeout_add_once ((guint) CLAMP (wait, COALESCE_MILLISECONDS, MAX_SPACING_MILLISECONDS),
                                    push_round, live);
}

void
cj_live_changed (CjDaemon *daemon)
{
  Live *live = get_live (daemon);

  cj_avatars_changed (daemon);
  if (live->view == NULL)
    live->view = build_view (daemon->registry);
  else
    schedule (live);
}

void
cj_live_init (CjDaemon *daemon)
{
  Live *live = g_new0 (Live, 1);

  live->daemon = daemon;
  live->spacing = COALESCE_MILLISECONDS;
  g_object_set_data_full (G_OBJECT (daemon->server), "cj-live", live, (GDestroyNotify) live_free);
}
