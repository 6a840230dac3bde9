/* Tables for people: columns aligned by the width text takes on a terminal (a Cyrillic
 * letter is one column, a CJK ideograph two, a combining accent none), never by bytes.
 * Cells are made safe first: a nickname is anybody's text, and a control character in it
 * must neither move the cursor nor break the rows. */
#include "config.h"
#include "cli.h"

#include <stdio.h>
#include <string.h>

struct _CliTable {
  guint    columns;
  GString *text;        /* every cell, made safe, each with its NUL, row after row */
  GArray  *cells;       /* gsize: where each cell starts in text */
  guint   *widths;
};

/* Printable ASCII needs neither making safe nor measuring: most names and nicknames are,
 * and a 100,000-user listing walks 700,000 cells. */
static gboolean
plain_ascii (const char *text, gsize *length)
{
  const char *p = text;

  for (; *p != '\0'; p++)
    if ((guchar) *p < 0x20 || (guchar) *p >= 0x7f)
      return FALSE;
  *length = (gsize) (p - text);
  return TRUE;
}

/* Appends @text made safe (with its NUL) to @out; returns its width. */
static guint
append_safe (GString *out, const char *text)
{
  gsize length;

  if (plain_ascii (text, &length))
    {
      g_string_append_len (out, text, (gssize) length + 1);
      return (guint) length;
    }
  else
    {
      g_autofree char *safe = cli_text_safe (text);
      guint width = cli_text_width (safe);

      g_string_append_len (out, safe, (gssize) strlen (safe) + 1);
      return width;
    }
}

char *
cli_text_safe (const char *text)
{
  GString *out = g_string_new (NULL);

  if (text == NULL)
    return g_string_free (out, FALSE);
  if (!g_utf8_validate (text, -1, NULL))
    {
      g_autofree char *valid = g_utf8_make_valid (text, -1);
      g_string_free (out, TRUE);
      return cli_text_safe (valid);
    }
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      /* Controls (C0, DEL, C1) and the line/paragraph separators: one visible mark. */
      if (c < 0x20 || (c >= 0x7f && c < 0xa0) || c == 0x2028 || c == 0x2029)
        g_string_append_unichar (out, 0xfffd);
      else
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
    }
  return g_string_free (out, FALSE);
}

guint
cli_text_width (const char *text)
{
  guint width = 0;
  gsize length;

  if (plain_ascii (text, &length))
    return (guint) length;
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_iszerowidth (c))
        continue;
      width += g_unichar_iswide (c) ? 2 : 1;
    }
  return width;
}

static void
pad (GString *out, guint used, guint width)
{
  static const char spaces[] = "                                ";

  while (used < width)
    {
      guint n = MIN (width - used, (guint) sizeof spaces - 1);

      g_string_append_len (out, spaces, n);
      used += n;
    }
}

void
cli_print_padded (GString *out, const char *text, guint width)
{
  g_string_append (out, text);
  pad (out, cli_text_width (text), width);
}

CliTable *
cli_table_new (guint columns)
{
  CliTable *table = g_new0 (CliTable, 1);

  table->columns = columns;
  table->text = g_string_new (NULL);
  table->cells = g_array_new (FALSE, FALSE, sizeof (gsize));
  table->widths = g_new0 (guint, columns);
  return table;
}

void
cli_table_free (CliTable *table)
{
  if (table == NULL)
    return;
  g_string_free (table->text, TRUE);
  g_array_unref (table->cells);
  g_free (table->widths);
  g_free (table);
}

void
cli_table_add (CliTable *table, const char *const *cells)
{
  for (guint i = 0; i < table->columns; i++)
    {
      gsize start = table->text->len;
      guint width = append_safe (table->text, cells[i] != NULL ? cells[i] : "");

      table->widths[i] = MAX (table->widths[i], width);
      g_array_append_val (table->cells, start);
    }
}

static void
print_row (const CliTable *table, GString *out, const char *const *cells, gboolean tabs)
{
  for (guint i = 0; i < table->columns; i++)
    {
      gboolean last = i + 1 == table->columns;

      if (tabs)
        {
          g_string_append (out, cells[i]);
          g_string_append_c (out, last ? '\n' : '\t');
        }
      else if (last)
        {
          g_string_append (out, cells[i]);
          /* No trailing blanks when the last column is empty. */
          while (out->len > 0 && out->str[out->len - 1] == ' ')
            g_string_truncate (out, out->len - 1);
          g_string_append_c (out, '\n');
        }
      else
        {
          cli_print_padded (out, cells[i], table->widths[i]);
          g_string_append_len (out, "  ", 2);
        }
    }
}

void
cli_table_print (CliTable *table, const char *const *header, gboolean tabs)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autofree const char **cells = g_new (const char *, table->columns);

  if (header != NULL)
    {
      for (guint i = 0; i < table->columns; i++)
        table->widths[i] = MAX (table->widths[i], cli_text_width (header[i]));
      print_row (table, out, header, tabs);
    }
  for (guint row = 0; row * table->columns < table->cells->len; row++)
    {
      for (guint i = 0; i < table->columns; i++)
        cells[i] = table->text->str + g_array_index (table->cells, gsize, row * table->columns + i);
      print_row (table, out, cells, tabs);
      if (out->len > 65536)
        {
          fwrite (out->str, 1, out->len, stdout);
          g_string_truncate (out, 0);
        }
    }
  fwrite (out->str, 1, out->len, stdout);
}

void
cli_table_append_tabs (GString *out, const char *const *cells, guint columns)
{
  for (guint i = 0; i < columns; i++)
    {
      append_safe (out, cells[i] != NULL ? cells[i] : "");
      /* In place of the NUL. */
      out->str[out->len - 1] = i + 1 == columns ? '\n' : '\t';
    }
}

void
cli_print_fields (const char *const *labels, const char *const *values, guint count)
{
  g_autoptr(GString) out = g_string_new (NULL);
  guint width = 0;

  for (guint i = 0; i < count; i++)
    width = MAX (width, cli_text_width (labels[i]));
  for (guint i = 0; i < count; i++)
    {
      g_autofree char *safe = cli_text_safe (values[i]);

      if (values[i] == NULL)
        continue;
      cli_print_padded (out, labels[i], width + 2);
      g_string_append (out, safe);
      g_string_append_c (out, '\n');
    }
  fwrite (out->str, 1, out->len, stdout);
}
