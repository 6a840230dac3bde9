/* Reading the rows of a bulk import: see cj-import-parse.h. */
#include "config.h"
#include "cj-import-parse.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "cj-common.h"
#include "cj-error.h"
#include "cj-validate.h"

#define MAX_CSV_FIELDS   16
#define MAX_JSON_DEPTH   32
#define MAX_HASH_BYTES   512
/* What a stored jpegPhoto may be (cj-photo.h: CJ_PHOTO_MAX_JPEG, kept in step by hand to keep
 * this file free of the photo code). */
#define MAX_PHOTO_BYTES  (32 * 1024)

gboolean
cj_import_format_from_string (const char *text, CjImportFormat *format)
{
  if (g_str_equal (text, "csv"))
    *format = CJ_IMPORT_CSV;
  else if (g_str_equal (text, "json"))
    *format = CJ_IMPORT_JSON;
  else if (g_str_equal (text, "ldif"))
    *format = CJ_IMPORT_LDIF;
  else
    return FALSE;
  return TRUE;
}

void
cj_import_row_free (CjImportRow *row)
{
  if (row == NULL)
    return;
  if (row->password != NULL)
    explicit_bzero (row->password, strlen (row->password));
  g_free (row->password);
  g_free (row->hash);
  g_free (row->name);
  g_free (row->nickname);
  g_free (row->group);
  g_clear_pointer (&row->photo, g_bytes_unref);
  g_free (row);
}

CjImportError *
cj_import_error_new (guint line, const char *name, const char *reason)
{
  CjImportError *error = g_new0 (CjImportError, 1);

  error->line = line;
  error->name = cj_text_escape (name != NULL ? name : "");
  error->reason = g_strdup (reason);
  return error;
}

void
cj_import_error_free (CjImportError *error)
{
  if (error == NULL)
    return;
  g_free (error->name);
  g_free (error->reason);
  g_free (error);
}

void
cj_import_parsed_free (CjImportParsed *parsed)
{
  if (parsed == NULL)
    return;
  g_ptr_array_unref (parsed->rows);
  g_ptr_array_unref (parsed->errors);
  g_ptr_array_unref (parsed->groups);
  g_free (parsed);
}

static CjImportParsed *
parsed_new (void)
{
  CjImportParsed *parsed = g_new0 (CjImportParsed, 1);

  parsed->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) cj_import_row_free);
  parsed->errors = g_ptr_array_new_with_free_func ((GDestroyNotify) cj_import_error_free);
  parsed->groups = g_ptr_array_new_with_free_func (g_free);
  return parsed;
}

static void
add_error (CjImportParsed *parsed, guint line, const char *name, const char *reason)
{
  if (parsed->errors->len >= CJ_IMPORT_MAX_ERRORS)
    parsed->errors_dropped++;
  else
    g_ptr_array_add (parsed->errors, cj_import_error_new (line, name, reason));
}

/* FALSE: a new group past CJ_IMPORT_MAX_GROUPS. */
static gboolean
note_group (CjImportParsed *parsed, const char *group)
{
  if (group == NULL || *group == '\0' ||
      g_ptr_array_find_with_equal_func (parsed->groups, group, g_str_equal, NULL))
    return TRUE;
  if (parsed->groups->len >= CJ_IMPORT_MAX_GROUPS)
    return FALSE;
  g_ptr_array_add (parsed->groups, g_strdup (group));
  return TRUE;
}

/* The checks every format shares; takes @row. A name listed twice keeps its first row: the
 * second would undo it, and which one "wins" must not depend on the batches. */
static void
accept_row (CjImportParsed *parsed, GHashTable *seen, CjImportRow *row)
{
  g_autoptr(GError) error = NULL;

  if (row->password != NULL && *row->password == '\0')
    g_clear_pointer (&row->password, g_free);
  if (!cj_validate_user_name (row->name, &error) ||
      (row->nickname != NULL && *row->nickname != '\0' && !cj_validate_nickname (row->nickname, &error)) ||
      (row->password != NULL && !cj_validate_password (row->password, &error)) ||
      (row->group != NULL && *row->group != '\0' && !cj_validate_group_name (row->group, &error)))
    add_error (parsed, row->line, row->name, error->message);
  else if (g_hash_table_contains (seen, row->name))
    {
      g_autofree char *reason = g_strdup_printf (_("listed twice (first on line %u)"),
                                                 GPOINTER_TO_UINT (g_hash_table_lookup (seen, row->name)));
      add_error (parsed, row->line, row->name, reason);
    }
  else if (parsed->rows->len >= CJ_IMPORT_MAX_ROWS)
    add_error (parsed, row->line, row->name, _("too many rows in one import"));
  else if (!note_group (parsed, row->group))
    add_error (parsed, row->line, row->name, _("too many groups in one import"));
  else
    {
      g_hash_table_insert (seen, g_strdup (row->name), GUINT_TO_POINTER (row->line));
      g_ptr_array_add (parsed->rows, row);
      return;
    }
  cj_import_row_free (row);
}

static int
parse_bool (const char *text)
{
  if (*text == '\0')
    return -1;
  if (g_ascii_strcasecmp (text, "yes") == 0 || g_ascii_strcasecmp (text, "true") == 0 ||
      g_str_equal (text, "1"))
    return 1;
  if (g_ascii_strcasecmp (text, "no") == 0 || g_ascii_strcasecmp (text, "false") == 0 ||
      g_str_equal (text, "0"))
    return 0;
  return -2;
}

/* CSV (RFC 4180) ------------------------------------------------------------------------- */

typedef enum { COL_NAME, COL_NICKNAME, COL_PASSWORD, COL_GROUP, COL_LOCKED, COL_N } Column;
static const char *const column_names[COL_N] = { "name", "nickname", "password", "group", "locked" };

/* One record from @pos: fields into @fields. Returns FALSE at the end of the text. @bad is
 * set (with the record skipped to its end) when its quoting is broken. */
static gboolean
csv_record (const char *text, gsize length, gsize *pos, guint *line, GPtrArray *fields,
            gboolean *bad)
{
  gsize i = *pos;
  GString *field = g_string_new (NULL);

  g_ptr_array_set_size (fields, 0);
  *bad = FALSE;
  if (i >= length)
    {
      g_string_free (field, TRUE);
      return FALSE;
    }
  for (;;)
    {
      if (i < length && text[i] == '"')
        {
          i++;
          for (;;)
            {
              if (i >= length)
                {
                  *bad = TRUE;
                  break;
                }
              if (text[i] == '"')
                {
                  if (i + 1 < length && text[i + 1] == '"')
                    {
                      g_string_append_c (field, '"');
                      i += 2;
                      continue;
                    }
                  i++;
                  break;
                }
              if (text[i] == '\n')
                (*line)++;
              g_string_append_c (field, text[i++]);
            }
          if (!*bad && i < length && text[i] != ',' && text[i] != '\n' && text[i] != '\r')
            *bad = TRUE;
        }
      else
        while (i < length && text[i] != ',' && text[i] != '\n' && text[i] != '\r')
          {
            if (text[i] == '"')
              *bad = TRUE;
            g_string_append_c (field, text[i++]);
          }
      if (*bad)
        {
          while (i < length && text[i] != '\n')
            i++;
        }
      else
        g_ptr_array_add (fields, g_string_free (g_steal_pointer (&field), FALSE));
      if (i < length && text[i] == ',' && !*bad)
        {
          i++;
          field = g_string_new (NULL);
          continue;
        }
      if (i < length && text[i] == '\r')
        i++;
      if (i < length && text[i] == '\n')
        i++;
      break;
    }
  if (field != NULL)
    g_string_free (field, TRUE);
  *pos = i;
  return TRUE;
}

static gboolean
csv_header (GPtrArray *fields, int *columns, GError **error)
{
  for (int c = 0; c < COL_N; c++)
    columns[c] = -1;
  if (fields->len > MAX_CSV_FIELDS)
    goto bad;
  for (guint i = 0; i < fields->len; i++)
    {
      g_autofree char *name = g_ascii_strdown (g_strstrip ((char *) fields->pdata[i]), -1);
      int c;

      for (c = 0; c < COL_N; c++)
        if (g_str_equal (name, column_names[c]))
          break;
      if (c == COL_N || columns[c] >= 0)
        goto bad;
      columns[c] = (int) i;
    }
  if (columns[COL_NAME] >= 0)
    return TRUE;
bad:
  g_set_error_literal (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                       _("The first line must name the columns, each once: name (required), "
                         "nickname, password, group, locked"));
  return FALSE;
}

static void
csv_row (CjImportParsed *parsed, GHashTable *seen, const int *columns, GPtrArray *fields, guint line)
{
  CjImportRow *row;
  int locked = -1;

  for (guint i = 0; i < fields->len; i++)
    if (!g_utf8_validate (fields->pdata[i], -1, NULL))
      {
        add_error (parsed, line, "", _("not UTF-8 text"));
        return;
      }
  if (columns[COL_LOCKED] >= 0 && (locked = parse_bool (fields->pdata[columns[COL_LOCKED]])) == -2)
    {
      add_error (parsed, line, fields->pdata[columns[COL_NAME]], _("“locked” must be yes or no"));
      return;
    }
  row = g_new0 (CjImportRow, 1);
  row->line = line;
  row->locked = locked;
  row->name = g_strdup (g_strstrip ((char *) fields->pdata[columns[COL_NAME]]));
  if (columns[COL_NICKNAME] >= 0)
    row->nickname = g_strdup (fields->pdata[columns[COL_NICKNAME]]);
  if (columns[COL_PASSWORD] >= 0)
    row->password = g_strdup (fields->pdata[columns[COL_PASSWORD]]);
  if (columns[COL_GROUP] >= 0)
    row->group = g_strdup (fields->pdata[columns[COL_GROUP]]);
  accept_row (parsed, seen, row);
}

static CjImportParsed *
parse_csv (const char *text, gsize length, GError **error)
{
  g_autoptr(CjImportParsed) parsed = parsed_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) fields = g_ptr_array_new_with_free_func (g_free);
  int columns[COL_N];
  gsize pos = 0;
  guint line = 1, start;
  gboolean bad, header = FALSE;
  guint header_len = 0;

  if (length >= 3 && memcmp (text, "\xef\xbb\xbf", 3) == 0)
    pos = 3;
  for (start = line; csv_record (text, length, &pos, &line, fields, &bad); start = ++line)
    {
      if (!bad && fields->len == 1 && *(char *) fields->pdata[0] == '\0')
        continue;   /* an empty line */
      if (!header)
        {
          if (bad || !csv_header (fields, columns, error))
            {
              if (bad)
                g_set_error_literal (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                                     _("The first line (the header) is not valid CSV"));
              return NULL;
            }
          header = TRUE;
          header_len = fields->len;
          continue;
        }
      if (bad)
        add_error (parsed, start, "", _("broken quoting (RFC 4180: a quoted field ends with a quote before the comma)"));
      else if (fields->len != header_len)
        {
          g_autofree char *reason = g_strdup_printf (_("%u fields, but the header names %u"),
                                                     fields->len, header_len);
          add_error (parsed, start, "", reason);
        }
      else
        csv_row (parsed, seen, columns, fields, start);
      if (parsed->errors->len > CJ_IMPORT_MAX_ROWS)
        break;
    }
  if (!header)
    {
      g_set_error_literal (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT, _("The file is empty"));
      return NULL;
    }
  return g_steal_pointer (&parsed);
}

/* JSON ------------------------------------------------------------------------------------ */

/* json-glib parses recursively: the nesting is checked first, on the bytes. */
static gboolean
json_depth_ok (const char *text, gsize length)
{
  int depth = 0;
  gboolean in_string = FALSE;

  for (gsize i = 0; i < length; i++)
    {
      char c = text[i];

      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
        }
      else if (c == '"')
        in_string = TRUE;
      else if ((c == '[' || c == '{') && ++depth > MAX_JSON_DEPTH)
        return FALSE;
      else if (c == ']' || c == '}')
        depth--;
    }
  return TRUE;
}

/* A member that is a string (TRUE, *value set), null (TRUE, *value ""), or absent (TRUE,
 * *value NULL); anything else is FALSE. */
static gboolean
json_string (JsonObject *object, const char *key, const char **value, gboolean null_is_empty)
{
  JsonNode *node = json_object_get_member (object, key);

  *value = NULL;
  if (node == NULL)
    return TRUE;
  if (JSON_NODE_HOLDS_NULL (node))
    {
      *value = null_is_empty ? "" : NULL;
      return TRUE;
    }
  if (json_node_get_value_type (node) != G_TYPE_STRING)
    return FALSE;
  *value = json_node_get_string (node);
  return TRUE;
}

static void
json_row (CjImportParsed *parsed, GHashTable *seen, JsonNode *node, guint index)
{
  static const char *const keys[] = { "name", "nickname", "password", "group", "locked", NULL };
  const char *name = NULL, *nickname, *password, *group;
  JsonObject *object;
  JsonNode *locked;
  CjImportRow *row;

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      add_error (parsed, index, "", _("not an object"));
      return;
    }
  object = json_node_get_object (node);
  if (!json_string (object, "name", &name, FALSE) || name == NULL)
    {
      add_error (parsed, index, "", _("“name” (a string) is missing"));
      return;
    }
  {
    g_autoptr(GList) members = json_object_get_members (object);

    for (GList *l = members; l != NULL; l = l->next)
      if (!g_strv_contains (keys, l->data))
        {
          g_autofree char *safe = cj_text_escape (l->data);
          g_autofree char *reason = g_strdup_printf (_("unknown field “%s”"), safe);
          add_error (parsed, index, name, reason);
          return;
        }
  }
  locked = json_object_get_member (object, "locked");
  if (!json_string (object, "nickname", &nickname, TRUE) ||
      !json_string (object, "password", &password, FALSE) ||
      !json_string (object, "group", &group, TRUE) ||
      (locked != NULL && !JSON_NODE_HOLDS_NULL (locked) &&
       json_node_get_value_type (locked) != G_TYPE_BOOLEAN))
    {
      add_error (parsed, index, name, _("a field has the wrong type (strings, and true/false for “locked”)"));
      return;
    }
  row = g_new0 (CjImportRow, 1);
  row->line = index;
  row->name = g_strdup (name);
  row->nickname = g_strdup (nickname);
  row->password = g_strdup (password);
  row->group = g_strdup (group);
  row->locked = locked == NULL || JSON_NODE_HOLDS_NULL (locked) ? -1 : json_node_get_boolean (locked);
  accept_row (parsed, seen, row);
}

static CjImportParsed *
parse_json (const char *text, gsize length, GError **error)
{
  g_autoptr(CjImportParsed) parsed = parsed_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autoptr(GError) local_error = NULL;
  JsonNode *root;
  JsonArray *array = NULL;

  if (length > CJ_IMPORT_MAX_JSON_BYTES)
    {
      g_set_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT, _("The file is larger than %u MiB"),
                   CJ_IMPORT_MAX_JSON_BYTES / (1024 * 1024));
      return NULL;
    }
  if (!json_depth_ok (text, length) ||
      !g_utf8_validate (text, (gssize) length, NULL) ||
      !json_parser_load_from_data (parser, text, (gssize) length, &local_error))
    {
      g_set_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT, _("The file is not valid JSON: %s"),
                   local_error != NULL ? local_error->message : _("not UTF-8, or nested too deeply"));
      return NULL;
    }
  root = json_parser_get_root (parser);
  if (root != NULL && JSON_NODE_HOLDS_ARRAY (root))
    array = json_node_get_array (root);
  else if (root != NULL && JSON_NODE_HOLDS_OBJECT (root) &&
           json_object_has_member (json_node_get_object (root), "users") &&
           JSON_NODE_HOLDS_ARRAY (json_object_get_member (json_node_get_object (root), "users")))
    array = json_object_get_array_member (json_node_get_object (root), "users");
  if (array == NULL)
    {
      g_set_error_literal (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                           _("The JSON must be an array of users, or an object with one under “users”"));
      return NULL;
    }
  for (guint i = 0; i < json_array_get_length (array); i++)
    json_row (parsed, seen, json_array_get_element (array, i), i + 1);
  return g_steal_pointer (&parsed);
}

/* LDIF (RFC 2849) as Calculate-Server 2.x wrote it --------------------------------------- */

typedef struct {
  char   *name;    /* lower case, options (";lang-…") cut off */
  GBytes *value;
} Attr;

static void
attr_free (Attr *attr)
{
  g_free (attr->name);
  g_bytes_unref (attr->value);
  g_free (attr);
}

/* The first value of @name as text (NUL-terminated by construction), or NULL. */
static const char *
ldif_get (GPtrArray *attrs, const char *name)
{
  for (guint i = 0; i < attrs->len; i++)
    {
      Attr *attr = attrs->pdata[i];
      if (g_str_equal (attr->name, name))
        return g_bytes_get_data (attr->value, NULL);
    }
  return NULL;
}

static gboolean
ldif_has_value (GPtrArray *attrs, const char *name, const char *value)
{
  for (guint i = 0; i < attrs->len; i++)
    {
      Attr *attr = attrs->pdata[i];
      if (g_str_equal (attr->name, name) &&
          g_ascii_strcasecmp (g_bytes_get_data (attr->value, NULL), value) == 0)
        return TRUE;
    }
  return FALSE;
}

/* One unfolded line "attr: value", "attr:: base64". FALSE: not a line of an entry we read. */
static gboolean
ldif_attr (const char *line, GPtrArray *attrs)
{
  const char *colon = strchr (line, ':');
  g_autofree char *name = NULL;
  const char *value;
  Attr *attr;
  char *semicolon;

  if (colon == NULL || colon == line)
    return FALSE;
  name = g_ascii_strdown (line, colon - line);
  if ((semicolon = strchr (name, ';')) != NULL)
    *semicolon = '\0';
  attr = g_new0 (Attr, 1);
  attr->name = g_steal_pointer (&name);
  value = colon + 1;
  if (*value == ':')
    {
      gsize size = 0;
      guchar *decoded;

      value++;
      while (*value == ' ')
        value++;
      for (const char *p = value; *p != '\0'; p++)
        if (!g_ascii_isalnum (*p) && *p != '+' && *p != '/' && *p != '=')
          {
            attr_free (attr);
            return FALSE;
          }
      decoded = g_base64_decode (*value != '\0' ? value : "", &size);
      decoded = g_realloc (decoded, size + 1);   /* NUL-terminated for text values */
      decoded[size] = '\0';
      attr->value = g_bytes_new_take (decoded, size);
    }
  else if (*value == '<')
    {
      attr_free (attr);
      return FALSE;   /* a URL: the daemon opens no file a caller names */
    }
  else
    {
      while (*value == ' ')
        value++;
      char *copy = g_strdup (value);   /* NUL-terminated, the NUL not counted */

      attr->value = g_bytes_new_take (copy, strlen (copy));
    }
  g_ptr_array_add (attrs, attr);
  return TRUE;
}

/* Text values of our attributes must be UTF-8 without NULs. */
static gboolean
ldif_text_ok (GPtrArray *attrs)
{
  for (guint i = 0; i < attrs->len; i++)
    {
      Attr *attr = attrs->pdata[i];
      gsize size;
      const char *data = g_bytes_get_data (attr->value, &size);

      if (g_str_equal (attr->name, "jpegphoto") || g_str_equal (attr->name, "userpassword"))
        continue;
      if (memchr (data, '\0', size) != NULL || !g_utf8_validate (data, (gssize) size, NULL))
        return FALSE;
    }
  return TRUE;
}

static const char *const hash_schemes[] = { "SSHA", "SHA", "SMD5", "MD5", "CRYPT", NULL };

/* userPassword: a stored form ({SCHEME}…) slapd can check is kept as it is; a value without
 * a scheme is a clear password (hashed like any other). */
static gboolean
ldif_password (CjImportRow *row, GBytes *value, const char **reason)
{
  gsize size;
  const char *data = g_bytes_get_data (value, &size);
  const char *close;

  if (memchr (data, '\0', size) != NULL)
    goto bad;
  if (data[0] == '{' && (close = strchr (data, '}')) != NULL)
    {
      g_autofree char *scheme = g_ascii_strup (data + 1, close - data - 1);

      if (!g_strv_contains (hash_schemes, scheme))
        {
          *reason = _("a password hash of a scheme slapd does not check here (SSHA, SHA, SMD5, MD5 and CRYPT are)");
          return FALSE;
        }
      if (size > MAX_HASH_BYTES)
        goto bad;
      for (gsize i = 0; i < size; i++)
        if (data[i] <= ' ' || data[i] > '~')
          goto bad;
      row->hash = g_strdup (data);
      return TRUE;
    }
  row->password = g_strdup (data);
  return TRUE;
bad:
  *reason = _("a userPassword that is not a password hash");
  return FALSE;
}

typedef struct {
  GHashTable *group_of;   /* user name -> group name (the first group that lists it) */
  gboolean    any_group;
} LdifGroups;

static void
ldif_user (CjImportParsed *parsed, GPtrArray *attrs, guint line, GPtrArray *users)
{
  CjImportRow *row = g_new0 (CjImportRow, 1);
  const char *name = ldif_get (attrs, "uid");
  const char *nickname = ldif_get (attrs, "displayname");
  const char *initials = ldif_get (attrs, "initials");
  const char *reason = NULL;

  row->line = line;
  row->locked = -1;
  row->name = g_strdup (name != NULL ? name : "");
  if (nickname == NULL)
    nickname = ldif_get (attrs, "sn");
  /* No nickname of its own: sn was the name, as the service writes it too. */
  row->nickname = g_strdup (nickname == NULL || g_strcmp0 (nickname, name) == 0 ? "" : nickname);
  if (initials != NULL)
    row->locked = g_ascii_strcasecmp (initials, "yes") == 0;
  if (ldif_get (attrs, "shadowexpire") != NULL)
    row->locked = 1;
  for (guint i = 0; i < attrs->len && reason == NULL; i++)
    {
      Attr *attr = attrs->pdata[i];
      gsize size;
      const guint8 *data = g_bytes_get_data (attr->value, &size);

      if (g_str_equal (attr->name, "userpassword") && row->password == NULL && row->hash == NULL)
        ldif_password (row, attr->value, &reason);
      else if (g_str_equal (attr->name, "jpegphoto") && row->photo == NULL)
        {
          if (size > MAX_PHOTO_BYTES)
            reason = _("the photo is larger than 32 KiB (set it afterwards with “cl-jabber user photo”)");
          else if (size < 4 || data[0] != 0xff || data[1] != 0xd8 || data[size - 2] != 0xff || data[size - 1] != 0xd9)
            reason = _("the photo is not a JPEG image");
          else
            row->photo = g_bytes_ref (attr->value);
        }
    }
  if (reason != NULL)
    {
      add_error (parsed, line, row->name, reason);
      cj_import_row_free (row);
      return;
    }
  g_ptr_array_add (users, row);
}

static void
ldif_group (CjImportParsed *parsed, GPtrArray *attrs, guint line, LdifGroups *groups)
{
  const char *name = ldif_get (attrs, "description");
  g_autoptr(GError) error = NULL;

  if (name == NULL)
    name = ldif_get (attrs, "cn");
  if (name == NULL || !cj_validate_group_name (name, &error))
    {
      add_error (parsed, line, name, error != NULL ? error->message : _("a group without a name"));
      return;
    }
  if (!note_group (parsed, name))
    {
      add_error (parsed, line, name, _("too many groups in one import"));
      return;
    }
  groups->any_group = TRUE;
  for (guint i = 0; i < attrs->len; i++)
    {
      Attr *attr = attrs->pdata[i];
      const char *member = g_bytes_get_data (attr->value, NULL);
      const char *first;

      if (!g_str_equal (attr->name, "memberuid"))
        continue;
      first = g_hash_table_lookup (groups->group_of, member);
      if (first == NULL && g_hash_table_size (groups->group_of) >= CJ_IMPORT_MAX_ROWS)
        continue;   /* more members than an import has rows: none of them can be a row's */
      if (first == NULL)
        g_hash_table_insert (groups->group_of, g_strdup (member), g_strdup (name));
      else if (g_strcmp0 (first, name) != 0)
        {
          g_autofree char *safe = cj_text_escape (first);
          g_autofree char *reason = g_strdup_printf (_("also a member of “%s”: a user is in one group; kept there"), safe);
          add_error (parsed, line, member, reason);
        }
    }
}

static void
ldif_record (CjImportParsed *parsed, GPtrArray *attrs, guint line, gboolean *first_record,
             GPtrArray *users, LdifGroups *groups)
{
  const char *changetype = ldif_get (attrs, "changetype");
  gboolean first = *first_record;

  if (attrs->len == 0)
    return;
  *first_record = FALSE;
  if (first && attrs->len == 1 && g_str_equal (((Attr *) attrs->pdata[0])->name, "version"))
    return;
  if (!g_str_equal (((Attr *) attrs->pdata[0])->name, "dn"))
    {
      add_error (parsed, line, "", _("an entry must start with “dn:”"));
      return;
    }
  if (changetype != NULL && g_ascii_strcasecmp (changetype, "add") != 0)
    {
      add_error (parsed, line, "", _("only entries (or changetype: add) are imported"));
      return;
    }
  if (!ldif_text_ok (attrs))
    {
      add_error (parsed, line, ldif_get (attrs, "uid"), _("not UTF-8 text"));
      return;
    }
  if (ldif_has_value (attrs, "objectclass", "posixGroup"))
    ldif_group (parsed, attrs, line, groups);
  else if ((ldif_has_value (attrs, "objectclass", "inetOrgPerson") ||
            ldif_has_value (attrs, "objectclass", "person")) && ldif_get (attrs, "uid") != NULL)
    ldif_user (parsed, attrs, line, users);
  /* Anything else (the organizational units, cn=ejabberd, …) is not an account. */
}

static CjImportParsed *
parse_ldif (const char *text, gsize length, GError **error)
{
  g_autoptr(CjImportParsed) parsed = parsed_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) attrs = g_ptr_array_new_with_free_func ((GDestroyNotify) attr_free);
  g_autoptr(GPtrArray) users = g_ptr_array_new ();
  LdifGroups groups = { g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free), FALSE };
  g_autoptr(GString) logical = g_string_new (NULL);
  gboolean first_record = TRUE, in_comment = FALSE, record_bad = FALSE;
  guint line = 0, record_line = 0;
  gsize pos = 0;

  if (memchr (text, '\0', length) != NULL)
    {
      g_set_error_literal (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT, _("The file is not LDIF text"));
      g_hash_table_unref (groups.group_of);
      return NULL;
    }
  while (pos <= length)
    {
      const char *start = text + pos;
      const char *end = memchr (start, '\n', length - pos);
      gsize len = end != NULL ? (gsize) (end - start) : length - pos;
      gboolean last = end == NULL;

      line++;
      pos += len + 1;
      if (len > 0 && start[len - 1] == '\r')
        len--;
      /* A folded line continues the one before (RFC 2849). */
      if (len > 0 && start[0] == ' ')
        {
          if (!in_comment)
            g_string_append_len (logical, start + 1, len - 1);
          if (!last)
            continue;
          len = 0;
        }
      /* The logical line before this one is complete. */
      if (logical->len > 0)
        {
          if (!ldif_attr (logical->str, attrs) && !record_bad)
            {
              add_error (parsed, record_line, "", _("a line that is not “attribute: value”"));
              record_bad = TRUE;
            }
          g_string_truncate (logical, 0);
        }
      in_comment = FALSE;
      if (len == 0)
        {
          if (!record_bad && record_line != 0)
            ldif_record (parsed, attrs, record_line, &first_record, users, &groups);
          g_ptr_array_set_size (attrs, 0);
          record_line = 0;
          record_bad = FALSE;
          if (last)
            break;
          continue;
        }
      if (record_line == 0)
        record_line = line;
      if (start[0] == '#')
        in_comment = TRUE;
      else
        g_string_append_len (logical, start, len);
      if (last)
        {
          if (logical->len > 0 && !ldif_attr (logical->str, attrs) && !record_bad)
            {
              add_error (parsed, record_line, "", _("a line that is not “attribute: value”"));
              record_bad = TRUE;
            }
          if (!record_bad)
            ldif_record (parsed, attrs, record_line, &first_record, users, &groups);
          break;
        }
      if (users->len > CJ_IMPORT_MAX_ROWS)
        break;
    }
  /* Each user's group, from the groups' memberUid: with groups in the file, a user none of
   * them lists is in none. */
  for (guint i = 0; i < users->len; i++)
    {
      CjImportRow *row = users->pdata[i];
      const char *group = g_hash_table_lookup (groups.group_of, row->name);

      if (groups.any_group)
        row->group = g_strdup (group != NULL ? group : "");
      accept_row (parsed, seen, row);
    }
  g_hash_table_unref (groups.group_of);
  return g_steal_pointer (&parsed);
}

/* ----------------------------------------------------------------------------------------- */

static gint
by_line (gconstpointer a, gconstpointer b)
{
  const CjImportError *x = *(CjImportError **) a, *y = *(CjImportError **) b;

  return x->line < y->line ? -1 : x->line > y->line;
}

CjImportParsed *
cj_import_parse (CjImportFormat format, const char *text, gsize length, GError **error)
{
  CjImportParsed *parsed;

  if (length > CJ_IMPORT_MAX_BYTES)
    {
      g_set_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT, _("The file is larger than %u MiB"),
                   CJ_IMPORT_MAX_BYTES / (1024 * 1024));
      return NULL;
    }
  switch (format)
    {
    case CJ_IMPORT_CSV:
      parsed = parse_csv (text, length, error);
      break;
    case CJ_IMPORT_JSON:
      parsed = parse_json (text, length, error);
      break;
    case CJ_IMPORT_LDIF:
    default:
      parsed = parse_ldif (text, length, error);
      break;
    }
  if (parsed != NULL)
    g_ptr_array_sort (parsed->errors, by_line);
  return parsed;
}
