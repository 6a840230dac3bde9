/* Password hashing for userPassword: {CRYPT} with SHA-512-crypt ($6$), which slapd checks
 * on every bind (ejabberd logs users in by binding as them). The clear password is wiped
 * by the callers as soon as it is hashed. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *cj_password_hash (const char *password, GError **error);

G_END_DECLS
