/* cl-jabber's reader of GetUserTable's bytes (dbus-interfaces/cj-user-table.c), which it
 * walks by hand instead of through GVariant: on any bytes, no crash and no read outside
 * them; every string it returns is NUL-terminated valid UTF-8 inside the input; and on
 * every input GLib itself takes for a normal-form a(osssbbbos), it reads exactly the rows
 * GLib reads. */
#include "config.h"

#include <string.h>

#include "cj-user-table.h"
#include "fuzz-common.h"

static gboolean
inside (const char *text, const uint8_t *data, size_t size)
{
  return (const uint8_t *) text >= data && (const uint8_t *) text + strlen (text) < data + size;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* A copy of exactly @size bytes: ASan then sees a read past them. */
  g_autofree uint8_t *copy = g_memdup2 (data, MAX (size, 1));
  g_autoptr(GBytes) bytes = g_bytes_new_static (copy, size);
  g_autoptr(GVariant) glib = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE (CJ_USER_TABLE_TYPE),
                                                                           bytes, FALSE));
  gboolean normal = g_variant_is_normal_form (glib);
  g_autoptr(GError) error = NULL;
  CjUserTableIter iter;
  CjUserRow row;
  gsize n = 0;

  if (!cj_user_table_iter_init (&iter, copy, size, &error))
    {
      FUZZ_CHECK (!normal, "a normal-form table of %zu bytes refused: %s", size, error->message);
      return 0;
    }
  while (cj_user_table_iter_next (&iter, &row, &error))
    {
      const char *texts[] = { row.path, row.name, row.jid, row.nickname, row.group_path, row.group_name };

      for (guint t = 0; t < G_N_ELEMENTS (texts); t++)
        {
          FUZZ_CHECK (inside (texts[t], copy, size), "string %u of row %zu outside the input", t, n);
          FUZZ_CHECK (g_utf8_validate (texts[t], -1, NULL), "string %u of row %zu not UTF-8", t, n);
        }
      if (normal)
        {
          const char *path, *name, *jid, *nickname, *group_path, *group_name;
          gboolean locked, has_password, has_photo;

          FUZZ_CHECK (n < g_variant_n_children (glib), "more rows than GLib reads");
          g_variant_get_child (glib, n, "(&o&s&s&sbbb&o&s)", &path, &name, &jid, &nickname, &locked,
                               &has_password, &has_photo, &group_path, &group_name);
          FUZZ_CHECK (g_str_equal (path, row.path) && g_str_equal (name, row.name) &&
                      g_str_equal (jid, row.jid) && g_str_equal (nickname, row.nickname) &&
                      g_str_equal (group_path, row.group_path) &&
                      g_str_equal (group_name, row.group_name) &&
                      !locked == !row.locked && !has_password == !row.has_password &&
                      !has_photo == !row.has_photo,
                      "row %zu differs from GLib's", n);
        }
      n++;
    }
  if (normal)
    {
      FUZZ_CHECK (error == NULL, "a normal-form row refused: %s", error->message);
      FUZZ_CHECK (n == g_variant_n_children (glib), "%zu rows, GLib reads %zu", n,
                  g_variant_n_children (glib));
    }
  return 0;
}
