/* The rows of Manager.GetUserTable: the users of a page laid out in GVariant's serialized
 * form of CJ_USER_TABLE_TYPE (normal form; the format of GLib's g_variant_get_data, see
 * the GVariant specification), carried as one "ay".
 *
 * Why bytes and not a typed a(...) reply: GDBus marshals and unmarshals a typed reply value
 * by value (a GVariant per field on both ends, and dbus-daemon validates each one), which
 * was most of a 100,000-user listing; an "ay" is copied whole. The daemon writes the rows
 * straight into one buffer (CjUserTableWriter) and cl-jabber walks them in place
 * (CjUserTableIter), with no GVariant per row or field. Other clients may load the bytes
 * with g_variant_new_from_bytes (CJ_USER_TABLE_TYPE) or GLib.Variant.new_from_bytes. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Object path, Name, Jid, Nickname, Locked, HasPassword, HasPhoto, Group (object path, "/"
 * for none), the group's Name ("" for none). */
#define CJ_USER_TABLE_TYPE "a(osssbbbos)"

typedef struct {
  const char *path, *name, *jid, *nickname;
  gboolean    locked, has_password, has_photo;
  const char *group_path, *group_name;
} CjUserRow;

typedef struct _CjUserTableWriter CjUserTableWriter;

CjUserTableWriter *cj_user_table_writer_new  (void);
void               cj_user_table_writer_free (CjUserTableWriter *writer);
/* Strings that are not valid UTF-8 are written made valid (U+FFFD). */
void               cj_user_table_writer_add  (CjUserTableWriter *writer, const CjUserRow *row);
/* Bytes written so far (without the array's framing offsets). */
gsize              cj_user_table_writer_size (const CjUserTableWriter *writer);
/* The serialized array; frees @writer. */
GBytes            *cj_user_table_writer_end  (CjUserTableWriter *writer);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjUserTableWriter, cj_user_table_writer_free)

typedef struct {
  const guint8 *data;
  gsize         rows_end;     /* where the array's framing offsets start */
  guint         offset_size;
  gsize         n_rows, next;
} CjUserTableIter;

/* FALSE (with @error) when @data is not such an array. The strings of the rows point into
 * @data, which must outlive the iteration. */
gboolean cj_user_table_iter_init (CjUserTableIter *iter, const guint8 *data, gsize size,
                                  GError **error);
/* FALSE at the end (error unset) or on a malformed row (error set). Every string is
 * NUL-terminated valid UTF-8. */
gboolean cj_user_table_iter_next (CjUserTableIter *iter, CjUserRow *row, GError **error);

G_END_DECLS
