#include "config.h"
#include "cj-secret.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <string.h>
#include <sys/random.h>

#include "cj-error.h"

gboolean
cj_secret_fill (void *buffer, gsize length, GError **error)
{
  guint8 *out = buffer;
  gsize done = 0;

  while (done < length)
    {
      ssize_t n = getrandom (out + done, length - done, 0);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int saved = n < 0 ? errno : EIO;
          explicit_bzero (buffer, length);
          g_set_error (error, CJ_ERROR, CJ_ERROR_FAILED, _("Cannot get random bytes from the kernel: %s"),
                       g_strerror (saved));
          return FALSE;
        }
      done += (gsize) n;
    }
  return TRUE;
}

char *
cj_secret_password (gsize length, GError **error)
{
  static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
  const guint size = sizeof alphabet - 1;
  /* Bytes at or above the largest multiple of the alphabet's size are drawn again: a plain
   * modulo would favour the first letters. */
  const guint limit = 256 - 256 % size;
  char *password = g_malloc0 (length + 1);
  guint8 pool[64];
  gsize filled = 0;

  while (filled < length)
    {
      if (!cj_secret_fill (pool, sizeof pool, error))
        {
          explicit_bzero (password, length);
          g_free (password);
          return NULL;
        }
      for (gsize i = 0; i < sizeof pool && filled < length; i++)
        if (pool[i] < limit)
          password[filled++] = alphabet[pool[i] % size];
    }
  explicit_bzero (pool, sizeof pool);
  return password;
}
