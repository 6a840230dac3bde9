#include "config.h"
#include "cj-password.h"

#include <crypt.h>
#include <glib/gi18n.h>
#include <string.h>

#include "cj-error.h"

char *
cj_password_hash (const char *password, GError **error)
{
  struct crypt_data *data = g_new0 (struct crypt_data, 1);
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  char *result = NULL;
  const char *hashed;

  if (crypt_gensalt_rn ("$6$", 0, NULL, 0, salt, sizeof salt) == NULL)
    goto out;
  hashed = crypt_r (password, salt, data);
  if (hashed == NULL || hashed[0] == '*')
    goto out;
  result = g_strconcat ("{CRYPT}", hashed, NULL);

out:
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
