/* cl-jabber and the original command names: a client of org.calculate.Jabber that talks
 * only D-Bus (never LDAP, files or ejabberd). The front ends (cli-main.c for `cl-jabber
 * SUBCOMMAND`, cli-compat.c for `cl-useradd ... jabber` and friends) parse arguments and
 * call the operations below, which each make one or a few D-Bus calls. */
#pragma once

#include <gio/gio.h>

#include "cj-common.h"
#include "cj-error.h"
#include "cj-generated.h"
#include "cj-user-table.h"

G_BEGIN_DECLS

/* Exit codes (docs/cli.md). */
enum {
  CLI_EXIT_OK = 0,
  CLI_EXIT_FAILED = 1,
  CLI_EXIT_USAGE = 2,
  CLI_EXIT_PERMISSION = 3,
  CLI_EXIT_NOT_FOUND = 4,
  CLI_EXIT_EXISTS = 5,
  CLI_EXIT_INVALID = 6,
  CLI_EXIT_NOT_CONFIGURED = 7,
  CLI_EXIT_UNAVAILABLE = 8,
  CLI_EXIT_NO_SERVICE = 9,
  CLI_EXIT_OUTCOME_UNKNOWN = 10,
};

typedef struct {
  GDBusConnection *bus;
  gboolean         json;
  gboolean         interactive;   /* stdin is a terminal: polkit may ask for a password */
  gpointer         agent;         /* our polkit agent's registration, NULL if none */
  gboolean         no_legend;     /* tables without their header, fields tab-separated */
} Cli;

/* cli-call.c: connecting, calling, errors. */
void       cli_disconnect   (Cli *cli);
/* Calls METHOD of INTERFACE on PATH; a mutating call may ask for authorization. */
GVariant  *cli_call         (Cli *cli, const char *path, const char *interface, const char *method,
                             GVariant *parameters, const char *reply_type, GUnixFDList *fd_list,
                             GError **error);
/* Every page of Manager.GetUsers / GetGroups / GetUserTable (@method), as the array of each
 * reply: (transfer full) GVariants of @array_type ("ay" for GetUserTable: cj-user-table.h). */
GPtrArray *cli_pages        (Cli *cli, const char *method, const char *array_type, GError **error);
/* Object paths to names, from GetUsers, GetUserTable or GetGroups pages (borrowed from them). */
GHashTable *cli_names_by_path (GPtrArray *pages);
/* The rows of GetUserTable @pages, one after another, walked in place (cj-user-table.h):
 * zero-initialize, set .pages, call cli_user_table_next until FALSE (@error set when a page
 * is malformed). The rows' strings are borrowed from @pages. */
typedef struct {
  GPtrArray       *pages;
  guint            page;
  CjUserTableIter  iter;
} CliUserTable;
gboolean   cli_user_table_next (CliUserTable *table, CjUserRow *row, GError **error);
GVariant  *cli_get_all      (Cli *cli, const char *path, const char *interface, GError **error);
/* Prints "cl-xxx: message" and returns the exit code for @error. */
int        cli_fail         (const GError *error);
int        cli_usage_error  (const char *format, ...) G_GNUC_PRINTF (1, 2);
const char *cli_program     (void);
void       cli_set_program  (const char *name);
/* --json: errors too are written as one JSON object (on standard error). */
void       cli_set_json_errors (gboolean json);
/* The daemon's English message (the catalog's msgid, formatted) in the caller's language:
 * cli-messages.c. */
char      *cli_translate_remote (const char *message);

/* cli-agent.c: a polkit text agent for this process while it runs in a terminal. */
void       cli_agent_start  (Cli *cli);
void       cli_agent_stop   (Cli *cli);

/* cli-password.c */
/* Asks twice on the terminal without echo (@confirm), or once. */
char      *cli_password_ask   (const char *prompt, gboolean confirm, GError **error);
/* One line from standard input. */
char      *cli_password_stdin (GError **error);
/* cl-passwd's rule: ask on a terminal, else read standard input. */
char      *cli_password_auto  (gboolean confirm, GError **error);
void       cli_password_free  (char *password);
/* -p (ask twice) or -P (standard input); NULL without error when neither was given. */
char      *cli_password_from_flags (gboolean ask, gboolean from_stdin, GError **error);

/* cli-users.c */
typedef struct {
  const char *name;
  const char *nickname;     /* NULL: unchanged (mod) / the name (add) */
  char       *password;     /* NULL: none / unchanged */
  const char *group;        /* group name; "" for none; NULL unchanged */
  const char *photo;        /* a file to open as the caller; NULL: unchanged */
  gboolean    clear_photo;
  int         lock;         /* -1 unchanged, 0 unlock, 1 lock */
} CliUserChange;

int        cli_user_add     (Cli *cli, const CliUserChange *change);
int        cli_user_modify  (Cli *cli, const CliUserChange *change);
/* cl-passwd: asks at a terminal (twice), else reads standard input. */
int        cli_user_passwd  (Cli *cli, const char *name, gboolean from_stdin);
int        cli_user_delete  (Cli *cli, const char *name);
int        cli_user_list    (Cli *cli);
int        cli_user_show    (Cli *cli, const char *name);
int        cli_user_export_photo (Cli *cli, const char *name, const char *file);
/* cli-import.c: @format NULL guesses from the file name (csv by default). */
int        cli_user_import  (Cli *cli, const char *file, const char *format, gboolean create_groups,
                             gboolean update_passwords);
int        cli_user_export  (Cli *cli, const char *format);
/* cl-jabber verify [--repair]: exit 1 while inconsistencies remain. */
int        cli_verify       (Cli *cli, gboolean repair);
/* The object path of a user (or NULL with NotFound). */
char      *cli_find_user    (Cli *cli, const char *name, GError **error);

/* cli-groups.c */
int        cli_group_add    (Cli *cli, const char *name, char **members);
int        cli_group_delete (Cli *cli, const char *name);
int        cli_group_rename (Cli *cli, const char *old_name, const char *new_name);
int        cli_group_add_members    (Cli *cli, const char *group, char **users);
int        cli_group_remove_members (Cli *cli, const char *group, char **users);
/* Adds, removes and renames in one Group.Modify call (one authorization). */
int        cli_group_modify (Cli *cli, const char *group, char **add, char **remove,
                             const char *new_name);
int        cli_group_list   (Cli *cli);
int        cli_group_show   (Cli *cli, const char *name);
char      *cli_find_group   (Cli *cli, const char *name, GError **error);
/* "a,b , c" -> {"a","b","c"} */
char     **cli_split_list   (const char *list);

/* cli-server.c */
int        cli_status       (Cli *cli);
int        cli_setup_ldap   (Cli *cli);
typedef struct {
  const char *primary_host;
  char      **hosts;
  int         history;      /* -1 unchanged */
  const char *listen;
  const char *certificate;
  gboolean    password_from_stdin;
} CliSetup;
int        cli_setup_jabber (Cli *cli, const CliSetup *setup);
int        cli_reload       (Cli *cli);

/* cli-json.c: just enough JSON for --json. */
void       cli_json_string  (GString *out, const char *value);
void       cli_json_variant (GString *out, GVariant *value);

/* cli-table.c: tables and label/value lists aligned by display width. */
typedef struct _CliTable CliTable;
CliTable  *cli_table_new    (guint columns);
void       cli_table_free   (CliTable *table);
/* Copies @cells (columns of them), made safe for a terminal. */
void       cli_table_add    (CliTable *table, const char *const *cells);
/* With @header (NULL: none); @tabs: fields separated by one tab, nothing padded. */
void       cli_table_print  (CliTable *table, const char *const *header, gboolean tabs);
/* One row of --no-legend output, streamed (no widths needed, nothing kept). */
void       cli_table_append_tabs (GString *out, const char *const *cells, guint columns);
/* "Label:  value" lines, values aligned; a NULL value skips its line. */
void       cli_print_fields (const char *const *labels, const char *const *values, guint count);
char      *cli_text_safe    (const char *text);
guint      cli_text_width   (const char *text);
void       cli_print_padded (GString *out, const char *text, guint width);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CliTable, cli_table_free)

/* Front ends. */
gboolean   cli_compat_is_command (const char *name);
int        cli_compat_main  (Cli *cli, const char *command, int argc, char **argv);
/* The entries every command documents (--json, --version), handled by main.c. */
void       cli_add_common_entries (GOptionContext *context);
int        cli_modern_main  (Cli *cli, int argc, char **argv);

G_END_DECLS
