/* The bulk import's parsers (service/cj-import-parse.c) on anything: the first byte picks
 * the format (CSV, JSON, LDIF), the rest is the file. No crash, and what they accept keeps
 * the promises the writer relies on: every row's name is a valid user name listed once,
 * its nickname and group valid, a kept hash a printable {SCHEME} value, a photo a bounded
 * JPEG; the counts stay within the bounds. */
#include "config.h"

#include <string.h>

#include "cj-import-parse.h"
#include "cj-validate.h"
#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CjImportParsed) parsed = NULL;
  g_autoptr(GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
  CjImportFormat format;

  if (size < 1)
    return 0;
  format = (CjImportFormat) (data[0] % 3);
  parsed = cj_import_parse (format, (const char *) data + 1, size - 1, &error);
  if (parsed == NULL)
    {
      FUZZ_CHECK (error != NULL && error->message[0] != '\0', "a failure without a reason");
      return 0;
    }
  FUZZ_CHECK (parsed->rows->len <= CJ_IMPORT_MAX_ROWS, "%u rows", parsed->rows->len);
  FUZZ_CHECK (parsed->errors->len <= CJ_IMPORT_MAX_ERRORS, "%u errors", parsed->errors->len);
  FUZZ_CHECK (parsed->groups->len <= CJ_IMPORT_MAX_GROUPS, "%u groups", parsed->groups->len);
  for (guint i = 0; i < parsed->rows->len; i++)
    {
      CjImportRow *row = parsed->rows->pdata[i];

      FUZZ_CHECK (cj_validate_user_name (row->name, NULL), "row name %s", row->name);
      FUZZ_CHECK (!g_hash_table_contains (names, row->name), "%s listed twice", row->name);
      g_hash_table_add (names, row->name);
      FUZZ_CHECK (row->nickname == NULL || *row->nickname == '\0' || cj_validate_nickname (row->nickname, NULL),
                  "nickname of %s", row->name);
      FUZZ_CHECK (row->group == NULL || *row->group == '\0' || cj_validate_group_name (row->group, NULL),
                  "group of %s", row->name);
      FUZZ_CHECK (row->password == NULL || cj_validate_password (row->password, NULL), "password of %s", row->name);
      FUZZ_CHECK (row->locked >= -1 && row->locked <= 1, "lock of %s", row->name);
      if (row->hash != NULL)
        {
          FUZZ_CHECK (format == CJ_IMPORT_LDIF && row->hash[0] == '{' && strchr (row->hash, '}') != NULL,
                      "hash of %s", row->name);
          for (const char *p = row->hash; *p != '\0'; p++)
            FUZZ_CHECK (*p > ' ' && *p <= '~', "a hash character %d", *p);
        }
      if (row->photo != NULL)
        {
          gsize n;
          const guint8 *jpeg = g_bytes_get_data (row->photo, &n);

          FUZZ_CHECK (n >= 4 && n <= 32 * 1024 && jpeg[0] == 0xff && jpeg[1] == 0xd8, "photo of %s", row->name);
        }
    }
  for (guint i = 0; i < parsed->errors->len; i++)
    {
      CjImportError *e = parsed->errors->pdata[i];

      FUZZ_CHECK (e->reason != NULL && e->reason[0] != '\0', "an error without a reason");
      FUZZ_CHECK (g_utf8_validate (e->name, -1, NULL), "an error's name is not UTF-8");
      for (const char *p = e->name; *p != '\0'; p = g_utf8_next_char (p))
        FUZZ_CHECK (!g_unichar_iscntrl (g_utf8_get_char (p)), "an error's name holds a control character");
    }
  return 0;
}
