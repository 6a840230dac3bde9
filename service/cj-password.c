#include "config.h"
#include "cj-password.h"

#include <crypt.h>
#include <glib/gi18n.h>
#include <string.h>

#include "cj-error.h"
#include "cj-secret.h"

char *
cj_password_hash (const char *password, GError **error)
{
  struct crypt_data *data = g_new0 (struct crypt_data, 1);
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  /* yescrypt takes up to 32 bytes of salt entropy; the salt comes from getrandom(2) here
   * (one source of randomness for every secret the daemon makes). */
  guint8 random_bytes[32];
  char *result = NULL;
  const char *hashed;

  if (!cj_secret_fill (random_bytes, sizeof random_bytes, error))
    {
      g_free (data);
      return NULL;
    }
  /* Count 0: libxcrypt's default cost for yescrypt (5, as in Debian's /etc/login.defs). */
  if (crypt_gensalt_rn ("$y$", 0, (const char *) random_bytes, (int) sizeof random_bytes, salt,
                        (int) sizeof salt) == NULL)
    goto out;
  hashed = crypt_rn (password, salt, data, (int) sizeof *data);
  if (hashed == NULL || hashed[0] == '*')
    goto out;
  result = g_strconcat ("{CRYPT}", hashed, NULL);

out:
  explicit_bzero (random_bytes, sizeof random_bytes);
  explicit_bzero (data, sizeof *data);
  g_free (data);
  if (result == NULL)
    g_set_error_literal (error, CJ_ERROR, CJ_ERROR_FAILED, _("Cannot hash the password"));
  return result;
}

gboolean
cj_password_matches (const char *password, const char *stored)
{
  static const char prefix[] = "{CRYPT}";
  struct crypt_data *data;
  const char *hashed;
  gboolean matches;

  if (password == NULL || stored == NULL || g_ascii_strncasecmp (stored, prefix, strlen (prefix)) != 0)
    return FALSE;
  data = g_new0 (struct crypt_data, 1);
  hashed = crypt_r (password, stored + strlen (prefix), data);
  matches = hashed != NULL && hashed[0] != '*' && strcmp (hashed, stored + strlen (prefix)) == 0;
  explicit_bzero (data, sizeof *data);
  g_free (data);
  return matches;
}
