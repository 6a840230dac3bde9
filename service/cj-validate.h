/* Checks of everything a caller sends, before anything is written. Pure functions: each
 * returns FALSE with a CJ_ERROR_INVALID_ARGUMENT that says what is wrong. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean cj_validate_user_name  (const char *name, GError **error);
gboolean cj_validate_nickname   (const char *nickname, GError **error);
gboolean cj_validate_group_name (const char *name, GError **error);
gboolean cj_validate_password   (const char *password, GError **error);
/* The shortest password accepted, in characters ([Passwords] MinimumLength). */
#define CJ_DEFAULT_PASSWORD_MIN_LENGTH 8
void     cj_validate_set_password_min_length (guint length);
gboolean cj_validate_host       (const char *host, GError **error);
gboolean cj_validate_ip_address (const char *address, GError **error);

/* Caller-given text made safe to show in a message or a log line. */
char    *cj_text_escape         (const char *text);

G_END_DECLS
