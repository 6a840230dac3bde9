/* GetUserTable's rows (dbus-interfaces/cj-user-table.c): what the daemon writes by hand is
 * byte for byte what GLib serializes for the same a(osssbbbos), in normal form, at every
 * offset size; cl-jabber reads it back; and hostile bytes never make the reader return a
 * string that is not NUL-terminated UTF-8 within the buffer. */
#include "config.h"

#include <string.h>

#include "cj-user-table.h"

static CjUserRow
make_row (guint i, const char *nickname)
{
  static char path[80], name[32], jid[64], group[80];
  CjUserRow row;

  g_snprintf (path, sizeof path, "/org/calculate/Jabber/Users/%032x", i);
  g_snprintf (name, sizeof name, "user%06u", i);
  g_snprintf (jid, sizeof jid, "user%06u@example.org", i);
  g_snprintf (group, sizeof group, "/org/calculate/Jabber/Groups/%032x", i % 7);
  row.path = path;
  row.name = name;
  row.jid = jid;
  row.nickname = nickname;
  row.locked = i % 2;
  row.has_password = i % 3 != 0;
  row.has_photo = i % 5 == 0;
  row.group_path = i % 4 == 0 ? "/" : group;
  row.group_name = i % 4 == 0 ? "" : "Тестовая группа";
  return row;
}

/* @n rows written both ways; @nickname_length makes rows need wider offsets. */
static void
check_same_as_glib (guint n, gsize nickname_length)
{
  g_autofree char *nickname = g_strnfill (nickname_length, 'n');
  g_autoptr(CjUserTableWriter) writer = cj_user_table_writer_new ();
  g_autoptr(GBytes) ours = NULL;
  g_autoptr(GVariant) theirs = NULL;
  g_autoptr(GVariant) loaded = NULL;
  GVariantBuilder builder;
  CjUserTableIter iter;
  CjUserRow row;
  g_autoptr(GError) error = NULL;
  guint count = 0;

  g_variant_builder_init (&builder, G_VARIANT_TYPE (CJ_USER_TABLE_TYPE));
  for (guint i = 0; i < n; i++)
    {
      CjUserRow r = make_row (i, nickname);

      g_variant_builder_add (&builder, "(osssbbbos)", r.path, r.name, r.jid, r.nickname, r.locked,
                             r.has_password, r.has_photo, r.group_path, r.group_name);
      cj_user_table_writer_add (writer, &r);
    }
  theirs = g_variant_ref_sink (g_variant_builder_end (&builder));
  ours = cj_user_table_writer_end (g_steal_pointer (&writer));

  g_assert_cmpmem (g_bytes_get_data (ours, NULL), g_bytes_get_size (ours),
                   g_variant_get_data (theirs), g_variant_get_size (theirs));
  loaded = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE (CJ_USER_TABLE_TYPE), ours, FALSE));
  g_assert_true (g_variant_is_normal_form (loaded));

  g_assert_true (cj_user_table_iter_init (&iter, g_bytes_get_data (ours, NULL), g_bytes_get_size (ours), &error));
  g_assert_no_error (error);
  g_assert_cmpuint (iter.n_rows, ==, n);
  while (cj_user_table_iter_next (&iter, &row, &error))
    {
      CjUserRow expected = make_row (count, nickname);

      g_assert_cmpstr (row.path, ==, expected.path);
      g_assert_cmpstr (row.name, ==, expected.name);
      g_assert_cmpstr (row.jid, ==, expected.jid);
      g_assert_cmpstr (row.nickname, ==, expected.nickname);
      g_assert_cmpint (row.locked, ==, expected.locked);
      g_assert_cmpint (row.has_password, ==, expected.has_password);
      g_assert_cmpint (row.has_photo, ==, expected.has_photo);
      g_assert_cmpstr (row.group_path, ==, expected.group_path);
      g_assert_cmpstr (row.group_name, ==, expected.group_name);
      count++;
    }
  g_assert_no_error (error);
  g_assert_cmpuint (count, ==, n);
}

static void
test_empty (void)
{
  check_same_as_glib (0, 0);
}

static void
test_small (void)
{
  /* Rows under 256 bytes (1-byte offsets), an array under 64 KiB (2-byte offsets). */
  check_same_as_glib (1, 3);
  check_same_as_glib (100, 10);
}

static void
test_wide_offsets (void)
{
  /* Rows of 2-byte offsets, and an array past 64 KiB (4-byte offsets). */
  check_same_as_glib (3, 300);
  check_same_as_glib (2000, 20);
  check_same_as_glib (50, 70000);
}

static void
test_invalid_utf8 (void)
{
  g_autoptr(CjUserTableWriter) writer = cj_user_table_writer_new ();
  CjUserRow row = make_row (1, "bad \xff\xfe here");
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GVariant) loaded = NULL;
  CjUserTableIter iter;
  g_autoptr(GError) error = NULL;

  cj_user_table_writer_add (writer, &row);
  bytes = cj_user_table_writer_end (g_steal_pointer (&writer));
  loaded = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE (CJ_USER_TABLE_TYPE), bytes, FALSE));
  g_assert_true (g_variant_is_normal_form (loaded));
  g_assert_true (cj_user_table_iter_init (&iter, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error));
  g_assert_true (cj_user_table_iter_next (&iter, &row, &error));
  g_assert_true (g_utf8_validate (row.nickname, -1, NULL));
  g_assert_nonnull (strstr (row.nickname, "\xef\xbf\xbd"));
}

static gboolean
inside (const char *text, const guint8 *data, gsize size)
{
  return (const guint8 *) text >= data && (const guint8 *) text + strlen (text) < data + size;
}

/* Mutated and truncated tables: an error or rows that are safe to print, never a crash
 * (run under ASan in the sanitizer pass). */
static void
test_hostile (void)
{
  g_autoptr(CjUserTableWriter) writer = cj_user_table_writer_new ();
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GRand) rand = g_rand_new_with_seed (12);
  const guint8 *good;
  gsize size;

  for (guint i = 0; i < 40; i++)
    {
      CjUserRow row = make_row (i, i % 9 == 0 ? "" : "nick");
      cj_user_table_writer_add (writer, &row);
    }
  bytes = cj_user_table_writer_end (g_steal_pointer (&writer));
  good = g_bytes_get_data (bytes, &size);

  for (guint round = 0; round < 20000; round++)
    {
      gsize length = round % 3 == 0 ? (gsize) g_rand_int_range (rand, 0, (gint32) size + 1) : size;
      /* A copy of exactly @length bytes, so that ASan sees any read past it. */
      g_autofree guint8 *data = g_memdup2 (good, MAX (length, 1));
      guint flips = (guint) g_rand_int_range (rand, 1, 6);
      CjUserTableIter iter;
      CjUserRow row;
      GError *error = NULL;

      for (guint f = 0; f < flips && length > 0; f++)
        data[g_rand_int_range (rand, 0, (gint32) length)] = (guint8) g_rand_int_range (rand, 0, 256);
      if (!cj_user_table_iter_init (&iter, data, length, &error))
        {
          g_assert_nonnull (error);
          g_clear_error (&error);
          continue;
        }
      while (cj_user_table_iter_next (&iter, &row, &error))
        {
          const char *texts[] = { row.path, row.name, row.jid, row.nickname, row.group_path, row.group_name };

          for (guint t = 0; t < G_N_ELEMENTS (texts); t++)
            {
              g_assert_true (inside (texts[t], data, length));
              g_assert_true (g_utf8_validate (texts[t], -1, NULL));
            }
        }
      g_clear_error (&error);
    }
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/user-table/empty", test_empty);
  g_test_add_func ("/user-table/small", test_small);
  g_test_add_func ("/user-table/wide-offsets", test_wide_offsets);
  g_test_add_func ("/user-table/invalid-utf8", test_invalid_utf8);
  g_test_add_func ("/user-table/hostile", test_hostile);
  return g_test_run ();
}
