/* Password hashing for userPassword: {CRYPT} with yescrypt ($y$, libxcrypt, the default of
 * Debian 12 for /etc/shadow), which slapd checks on every bind through the system crypt()
 * (ejabberd logs users in by binding as them). The salt comes from getrandom(2). The clear
 * password is wiped by the callers as soon as it is hashed. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char     *cj_password_hash    (const char *password, GError **error);
/* Whether @stored (a userPassword value of ours, {CRYPT}...) is a hash of @password: to
 * tell whether a change whose answer was lost set it. Other schemes: FALSE. */
gboolean  cj_password_matches (const char *password, const char *stored);

G_END_DECLS
