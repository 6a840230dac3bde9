/* Secrets and salts from the kernel's CSPRNG (getrandom(2)). GLib's g_random_* is a
 * Mersenne Twister seeded from the clock and /dev/urandom: predictable from its output, so
 * never used for a password, a key or a salt. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Fills @buffer with @length random bytes; blocks only before the kernel's pool is first
 * initialized (early boot). */
gboolean cj_secret_fill (void *buffer, gsize length, GError **error);

/* A password of @length characters drawn uniformly from letters and digits that cannot be
 * confused (no 0/O, 1/l/I): about 5.8 bits each. */
char *cj_secret_password (gsize length, GError **error);

G_END_DECLS
