/* The rows of a bulk import, read from the text a caller sent: CSV (RFC 4180, with a header
 * naming the columns), JSON (an array of objects) or LDIF as Calculate-Server 2.x wrote it.
 * Pure functions on hostile input: every field is checked (UTF-8, the service's own name
 * and nickname rules), sizes are capped, and a bad row becomes an error of its own, with
 * its line, never the end of the import. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CJ_IMPORT_MAX_BYTES   (64 * 1024 * 1024)
#define CJ_IMPORT_MAX_ROWS    200000
/* json-glib builds a tree several times the text's size: JSON files are capped lower. */
#define CJ_IMPORT_MAX_JSON_BYTES (16 * 1024 * 1024)
/* Errors kept with their text (the rest are only counted), and distinct groups a file may
 * name: what a hostile file can make the daemon hold stays bounded. */
#define CJ_IMPORT_MAX_ERRORS  10000
#define CJ_IMPORT_MAX_GROUPS  10000

typedef enum {
  CJ_IMPORT_CSV,
  CJ_IMPORT_JSON,
  CJ_IMPORT_LDIF,
} CjImportFormat;

typedef struct {
  guint    line;       /* where the row starts (JSON: its place in the array, from 1) */
  char    *name;
  char    *nickname;   /* NULL: not given (unchanged; the name for a new account) */
  char    *password;   /* clear text, NULL: none; wiped when freed */
  char    *hash;       /* a stored form kept as it is ({SSHA}…, {CRYPT}…), LDIF only */
  char    *group;      /* NULL: not given (unchanged); "": in no group */
  int      locked;     /* -1: not given */
  GBytes  *photo;      /* jpegPhoto (LDIF), NULL: none */
} CjImportRow;

typedef struct {
  guint  line;
  char  *name;         /* as given, escaped; may be "" */
  char  *reason;
} CjImportError;

typedef struct {
  GPtrArray *rows;     /* CjImportRow */
  GPtrArray *errors;   /* CjImportError */
  GPtrArray *groups;   /* char*: every group the file names (LDIF: also empty ones) */
  guint      errors_dropped;   /* errors past CJ_IMPORT_MAX_ERRORS, counted only */
} CjImportParsed;

gboolean        cj_import_format_from_string (const char *text, CjImportFormat *format);

/* Parses @text (@length bytes; need not be NUL-terminated). Fails as a whole only when the
 * file cannot be read as that format at all (no header, not JSON, …). */
CjImportParsed *cj_import_parse (CjImportFormat format, const char *text, gsize length,
                                 GError **error);
void            cj_import_parsed_free (CjImportParsed *parsed);

void            cj_import_row_free   (CjImportRow *row);
CjImportError  *cj_import_error_new  (guint line, const char *name, const char *reason);
void            cj_import_error_free (CjImportError *error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjImportParsed, cj_import_parsed_free)

G_END_DECLS
