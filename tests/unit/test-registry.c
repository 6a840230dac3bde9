/* The view of the directory (service/cj-registry.c) under several writers (issue 14): a user
 * listed by two groups shows in the one the rule of cj-csn.h picks, whatever the order the
 * entries arrive in; a resume removes what was deleted and what is no longer present, and
 * announces only what changed. */
#include "config.h"

#include <string.h>

#include "cj-registry.h"

#define CSN(sec, sid) "202612020500" sec ".000000Z#000000#" sid "#000000"

typedef struct {
  guint added, removed, changed;
} Counts;

static gpointer
snapshot (CjRecord *record, gpointer data)
{
  /* What the tree compares: here the group shown and the members' count. */
  return g_strdup_printf ("%p/%u/%s", (void *) record->group,
                          record->members != NULL ? record->members->len : 0, record->entry->name);
}

static void
added (CjRecord *record, gpointer data)
{
  ((Counts *) data)->added++;
}

static void
removed (CjRecord *record, gpointer data)
{
  ((Counts *) data)->removed++;
}

static void
changed (CjRecord *record, gpointer before, gpointer data)
{
  g_autofree char *after = snapshot (record, NULL);

  if (strcmp (after, before) != 0)
    ((Counts *) data)->changed++;
}

static CjRegistry *
new_registry (Counts *counts)
{
  CjRegistryHooks hooks = { snapshot, g_free, added, removed, changed, NULL, counts };

  return cj_registry_new (&hooks);
}

static CjEntry *
entry (CjEntryKind kind, const char *uuid, const char *name, const char *csn, const char *members)
{
  CjEntry *e = g_new0 (CjEntry, 1);

  g_atomic_ref_count_init (&e->ref);
  e->kind = kind;
  e->uuid = g_strdup (uuid);
  e->name = g_strdup (name);
  e->dn = g_strdup_printf ("%s=%s,dc=test", kind == CJ_ENTRY_USER ? "uid" : "cn", uuid);
  e->csn = g_strdup (csn);
  e->nickname = g_strdup ("");
  if (kind == CJ_ENTRY_GROUP)
    e->members = g_strsplit (members != NULL ? members : "", ",", -1);
  if (e->members != NULL && e->members[0] != NULL && e->members[0][0] == '\0')
    g_clear_pointer (&e->members, g_strfreev);
  return e;
}

static const char *
group_of (CjRegistry *registry, const char *user)
{
  CjRecord *record = cj_registry_find_user_record (registry, user);

  g_assert_nonnull (record);
  return record->group != NULL ? record->group->entry->name : NULL;
}

static void
apply (CjRegistry *registry, CjEntry *e)
{
  cj_registry_apply (registry, e);
  cj_entry_unref (e);
}

static void
test_newest_group_shows_the_user (void)
{
  Counts counts = { 0 };
  g_autoptr(CjRegistry) registry = new_registry (&counts);

  apply (registry, entry (CJ_ENTRY_USER, "u1", "ivan", CSN ("00", "001"), NULL));
  apply (registry, entry (CJ_ENTRY_GROUP, "g1", "Sales", CSN ("10", "001"), "ivan"));
  g_assert_cmpstr (group_of (registry, "ivan"), ==, "Sales");
  /* Another node's newer write lists him too: the newer group shows him. */
  apply (registry, entry (CJ_ENTRY_GROUP, "g2", "Support", CSN ("11", "002"), "ivan"));
  g_assert_cmpstr (group_of (registry, "ivan"), ==, "Support");
  g_assert_cmpuint (((CjRecord *) cj_registry_group_of_member (registry, "IVAN"))->members->len, ==, 1);
  /* An older version arriving late changes nothing. */
  apply (registry, entry (CJ_ENTRY_GROUP, "g1", "Sales", CSN ("09", "001"), "ivan"));
  g_assert_cmpstr (group_of (registry, "ivan"), ==, "Support");
  /* Sales written again (another member): now the newest, it shows him. */
  apply (registry, entry (CJ_ENTRY_GROUP, "g1", "Sales", CSN ("12", "001"), "ivan,petr"));
  g_assert_cmpstr (group_of (registry, "ivan"), ==, "Sales");
  /* The repair takes him out of Support: nothing moves. */
  apply (registry, entry (CJ_ENTRY_GROUP, "g2", "Support", CSN ("13", "002"), NULL));
  g_assert_cmpstr (group_of (registry, "ivan"), ==, "Sales");
  /* Sales lets go of him: no group. */
  apply (registry, entry (CJ_ENTRY_GROUP, "g1", "Sales", CSN ("14", "001"), "petr"));
  g_assert_null (group_of (registry, "ivan"));
}

static void
test_order_of_arrival_does_not_matter (void)
{
  const char *orders[] = { "abc", "acb", "bac", "bca", "cab", "cba" };

  for (guint o = 0; o < G_N_ELEMENTS (orders); o++)
    {
      Counts counts = { 0 };
      g_autoptr(CjRegistry) registry = new_registry (&counts);
      g_autoptr(GPtrArray) load = g_ptr_array_new_with_free_func ((GDestroyNotify) cj_entry_unref);

      g_ptr_array_add (load, entry (CJ_ENTRY_USER, "u1", "ivan", CSN ("00", "001"), NULL));
      for (const char *c = orders[o]; *c != '\0'; c++)
        {
          /* Equal CSNs for b and c: the name in byte order decides (Beta). */
          if (*c == 'a')
            g_ptr_array_add (load, entry (CJ_ENTRY_GROUP, "ga", "Alpha", CSN ("10", "001"), "ivan"));
          else if (*c == 'b')
            g_ptr_array_add (load, entry (CJ_ENTRY_GROUP, "gb", "Beta", CSN ("20", "002"), "ivan"));
          else
            g_ptr_array_add (load, entry (CJ_ENTRY_GROUP, "gc", "Gamma", CSN ("20", "002"), "ivan"));
        }
      cj_registry_replace_all (registry, load);
      g_assert_cmpstr (group_of (registry, "ivan"), ==, "Beta");
    }
}

static void
test_resume_announces_only_changes (void)
{
  Counts counts = { 0 };
  g_autoptr(CjRegistry) registry = new_registry (&counts);
  g_autoptr(GPtrArray) load = g_ptr_array_new_with_free_func ((GDestroyNotify) cj_entry_unref);
  g_autoptr(GPtrArray) changes = g_ptr_array_new_with_free_func ((GDestroyNotify) cj_entry_unref);
  g_autoptr(GHashTable) present = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) deleted = g_ptr_array_new ();
  char uuid[16], name[16];

  for (int i = 0; i < 100; i++)
    {
      g_snprintf (uuid, sizeof uuid, "u%d", i);
      g_snprintf (name, sizeof name, "user%d", i);
      g_ptr_array_add (load, entry (CJ_ENTRY_USER, uuid, name, CSN ("00", "001"), NULL));
    }
  cj_registry_replace_all (registry, load);
  g_assert_cmpuint (cj_registry_count_users (registry), ==, 100);
  memset (&counts, 0, sizeof counts);

  /* A full reload of the same versions: nothing to announce. */
  cj_registry_replace_all (registry, load);
  g_assert_cmpuint (counts.added + counts.removed + counts.changed, ==, 0);

  /* A resume: u0 changed, u1 deleted (explicitly), u2 gone (not present), one new. */
  g_ptr_array_add (changes, entry (CJ_ENTRY_USER, "u0", "user0-renamed", CSN ("30", "002"), NULL));
  g_ptr_array_add (changes, entry (CJ_ENTRY_USER, "u100", "user100", CSN ("31", "002"), NULL));
  g_ptr_array_add (deleted, (gpointer) "u1");
  for (int i = 3; i < 100; i++)
    g_hash_table_add (present, g_strdup_printf ("u%d", i));
  g_assert_cmpuint (cj_registry_resume (registry, changes, present, deleted, NULL), ==, 2);
  g_assert_cmpuint (counts.added, ==, 1);
  g_assert_cmpuint (counts.removed, ==, 2);
  g_assert_cmpuint (counts.changed, ==, 1);
  g_assert_cmpuint (cj_registry_count_users (registry), ==, 99);
  g_assert_nonnull (cj_registry_find_user (registry, "user0-renamed"));
  g_assert_null (cj_registry_find_user (registry, "user2"));

  /* The daemon's own write, read back after the server's snapshot: not in the present
   * list, newer than the state the refresh reached: it stays. */
  {
    g_autoptr(CjSyncCookie) reached = cj_sync_cookie_new ();
    const char *text = "rid=000,csn=" CSN ("40", "002");

    cj_sync_cookie_merge (reached, text, strlen (text));
    apply (registry, entry (CJ_ENTRY_USER, "u200", "user200", CSN ("41", "002"), NULL));
    apply (registry, entry (CJ_ENTRY_USER, "u201", "user201", CSN ("39", "002"), NULL));
    g_ptr_array_set_size (changes, 0);
    g_ptr_array_set_size (deleted, 0);
    g_hash_table_add (present, g_strdup ("u0"));
    g_hash_table_add (present, g_strdup ("u100"));
    g_assert_cmpuint (cj_registry_resume (registry, changes, present, deleted, reached), ==, 1);
    g_assert_nonnull (cj_registry_find_user (registry, "user200"));
    g_assert_null (cj_registry_find_user (registry, "user201"));
    g_assert_cmpuint (cj_registry_count_users (registry), ==, 100);
  }

  /* A resume with deletions only (no present phase): the rest stays. */
  memset (&counts, 0, sizeof counts);
  g_ptr_array_set_size (changes, 0);
  g_ptr_array_set_size (deleted, 0);
  g_ptr_array_add (deleted, (gpointer) "u50");
  g_assert_cmpuint (cj_registry_resume (registry, changes, NULL, deleted, NULL), ==, 1);
  g_assert_cmpuint (cj_registry_count_users (registry), ==, 99);
  g_assert_cmpuint (counts.removed, ==, 1);
  g_assert_cmpuint (counts.added + counts.changed, ==, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/registry/newest-group-shows-the-user", test_newest_group_shows_the_user);
  g_test_add_func ("/registry/order-of-arrival", test_order_of_arrival_does_not_matter);
  g_test_add_func ("/registry/resume-announces-only-changes", test_resume_announces_only_changes);
  return g_test_run ();
}
