/* GVariant serialization of a(osssbbbos), written and read by hand: see cj-user-table.h.
 *
 * What the GVariant specification says about these types (all members have alignment 1,
 * so there is never padding):
 * - a string or object path is its bytes and a NUL;
 * - a boolean is one byte, 0 or 1;
 * - a structure is its members one after the other, then the end offset of every
 *   variable-sized member but the last, in reverse order (the first member's at the very
 *   end);
 * - an array of variable-sized elements is the elements one after the other, then the end
 *   offset of every element, in order;
 * - offsets are little-endian, of 1, 2, 4 or 8 bytes: the fewest that can hold the size of
 *   the container they frame (the offsets included). */
#include "config.h"
#include "cj-user-table.h"

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <string.h>

/* Members of the row whose end is framed: o s s s (bbb are fixed) o; the last s is not. */
#define ROW_FRAMED 5

struct _CjUserTableWriter {
  GByteArray *data;
  GArray     *ends;    /* gsize: each row's end, from the start of the array */
};

static guint
offset_size_for (gsize container_size)
{
  if (container_size > G_MAXUINT32)
    return 8;
  if (container_size > G_MAXUINT16)
    return 4;
  if (container_size > G_MAXUINT8)
    return 2;
  return container_size > 0 ? 1 : 0;
}

/* The offset size a container of @body bytes and @n offsets gets (GLib's
 * gvs_calculate_total_size). */
static guint
offset_size_framing (gsize body, gsize n)
{
  if (body + n <= G_MAXUINT8)
    return 1;
  if (body + 2 * n <= G_MAXUINT16)
    return 2;
  if (body + 4 * n <= G_MAXUINT32)
    return 4;
  return 8;
}

static void
append_offset (GByteArray *data, guint64 value, guint size)
{
  guint8 bytes[8];

  for (guint i = 0; i < size; i++)
    bytes[i] = (guint8) (value >> (8 * i));
  g_byte_array_append (data, bytes, size);
}

static guint64
read_offset (const guint8 *at, guint size)
{
  guint64 value = 0;

  for (guint i = 0; i < size; i++)
    value |= (guint64) at[i] << (8 * i);
  return value;
}

static void
append_string (GByteArray *data, const char *text)
{
  if (text == NULL)
    text = "";
  if (G_LIKELY (g_utf8_validate (text, -1, NULL)))
    g_byte_array_append (data, (const guint8 *) text, (guint) strlen (text) + 1);
  else
    {
      g_autofree char *valid = g_utf8_make_valid (text, -1);
      g_byte_array_append (data, (const guint8 *) valid, (guint) strlen (valid) + 1);
    }
}

CjUserTableWriter *
cj_user_table_writer_new (void)
{
  CjUserTableWriter *writer = g_new0 (CjUserTableWriter, 1);

  writer->data = g_byte_array_sized_new (64 * 1024);
  writer->ends = g_array_new (FALSE, FALSE, sizeof (gsize));
  return writer;
}

void
cj_user_table_writer_free (CjUserTableWriter *writer)
{
  if (writer == NULL)
    return;
  g_byte_array_unref (writer->data);
  g_array_unref (writer->ends);
  g_free (writer);
}

void
cj_user_table_writer_add (CjUserTableWriter *writer, const CjUserRow *row)
{
  GByteArray *data = writer->data;
  gsize start = data->len;
  gsize ends[ROW_FRAMED];
  guint8 flags[3] = { row->locked ? 1 : 0, row->has_password ? 1 : 0, row->has_photo ? 1 : 0 };
  gsize body, end;
  guint size;

  append_string (data, row->path);
  ends[0] = data->len - start;
  append_string (data, row->name);
  ends[1] = data->len - start;
  append_string (data, row->jid);
  ends[2] = data->len - start;
  append_string (data, row->nickname);
  ends[3] = data->len - start;
  g_byte_array_append (data, flags, sizeof flags);
  append_string (data, row->group_path != NULL ? row->group_path : "/");
  ends[4] = data->len - start;
  append_string (data, row->group_name);

  body = data->len - start;
  size = offset_size_framing (body, ROW_FRAMED);
  for (int i = ROW_FRAMED - 1; i >= 0; i--)
    append_offset (data, ends[i], size);
  end = data->len;
  g_array_append_val (writer->ends, end);
}

gsize
cj_user_table_writer_size (const CjUserTableWriter *writer)
{
  return writer->data->len;
}

GBytes *
cj_user_table_writer_end (CjUserTableWriter *writer)
{
  GByteArray *data = writer->data;
  guint size = offset_size_framing (data->len, writer->ends->len);

  for (guint i = 0; i < writer->ends->len; i++)
    append_offset (data, g_array_index (writer->ends, gsize, i), size);
  writer->data = NULL;
  g_array_unref (writer->ends);
  g_free (writer);
  return g_byte_array_free_to_bytes (data);
}

/* Reading ------------------------------------------------------------------------------ */

static gboolean
malformed (GError **error)
{
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       _("The service sent a malformed user table"));
  return FALSE;
}

gboolean
cj_user_table_iter_init (CjUserTableIter *iter, const guint8 *data, gsize size, GError **error)
{
  guint64 rows_end;

  memset (iter, 0, sizeof *iter);
  iter->data = data;
  if (size == 0)
    return TRUE;
  iter->offset_size = offset_size_for (size);
  if (size < iter->offset_size)
    return malformed (error);
  rows_end = read_offset (data + size - iter->offset_size, iter->offset_size);
  if (rows_end > size || (size - rows_end) % iter->offset_size != 0 || rows_end == size)
    return malformed (error);
  iter->rows_end = (gsize) rows_end;
  iter->n_rows = (size - rows_end) / iter->offset_size;
  return TRUE;
}

/* A string member: [start, end) holds the text and its NUL, nothing else. */
static const char *
string_at (const guint8 *row, gsize start, gsize end)
{
  const char *text = (const char *) row + start;

  if (end <= start || row[end - 1] != '\0' || memchr (text, '\0', end - start - 1) != NULL ||
      !g_utf8_validate (text, (gssize) (end - start - 1), NULL))
    return NULL;
  return text;
}

gboolean
cj_user_table_iter_next (CjUserTableIter *iter, CjUserRow *row, GError **error)
{
  const guint8 *offsets = iter->data + iter->rows_end;
  gsize start, end, size, framing;
  const guint8 *data;
  gsize ends[ROW_FRAMED];
  guint z;

  if (iter->next >= iter->n_rows)
    return FALSE;
  start = iter->next == 0 ? 0 : (gsize) read_offset (offsets + (iter->next - 1) * iter->offset_size,
                                                     iter->offset_size);
  end = (gsize) read_offset (offsets + iter->next * iter->offset_size, iter->offset_size);
  iter->next++;
  if (start > end || end > iter->rows_end)
    return malformed (error);

  data = iter->data + start;
  size = end - start;
  z = offset_size_for (size);
  if (size < (gsize) ROW_FRAMED * z)
    return malformed (error);
  framing = size - (gsize) ROW_FRAMED * z;
  for (guint i = 0; i < ROW_FRAMED; i++)
    {
      guint64 value = read_offset (data + size - (i + 1) * z, z);

      if (value > framing)
        return malformed (error);
      ends[i] = (gsize) value;
    }
  if (ends[3] + 3 > ends[4])
    return malformed (error);
  row->path = string_at (data, 0, ends[0]);
  row->name = string_at (data, ends[0], ends[1]);
  row->jid = string_at (data, ends[1], ends[2]);
  row->nickname = string_at (data, ends[2], ends[3]);
  row->locked = data[ends[3]] != 0;
  row->has_password = data[ends[3] + 1] != 0;
  row->has_photo = data[ends[3] + 2] != 0;
  row->group_path = string_at (data, ends[3] + 3, ends[4]);
  row->group_name = string_at (data, ends[4], framing);
  if (row->path == NULL || row->name == NULL || row->jid == NULL || row->nickname == NULL ||
      row->group_path == NULL || row->group_name == NULL)
    return malformed (error);
  return TRUE;
}
