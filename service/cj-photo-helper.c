/* calculate-jabber-photo: converts one caller's photo, read from standard input, to the
 * avatar JPEG on standard output (service/cj-photo.c). The daemon runs it as nobody, with
 * no supplementary groups, no_new_privs and resource limits (service/cj-photo-sandbox.c),
 * so that a flaw in an image decoder is not a flaw in a root process.
 *
 * Exit status: 0 and the JPEG on standard output; CJ_PHOTO_HELPER_REFUSED and the
 * message on standard output when the image is refused; CJ_PHOTO_HELPER_FAILED and the
 * message when the conversion failed otherwise. */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <string.h>
#include <unistd.h>

#include "cj-error.h"
#include "cj-photo.h"

#ifdef __SANITIZE_ADDRESS__
/* Under the sanitizer pass: a one-shot process's leaks are not worth a failed conversion
 * (LeakSanitizer's exit status would make the daemon refuse a good photo). */
int __lsan_is_turned_off (void);
int
__lsan_is_turned_off (void)
{
  return 1;
}
#endif

static gboolean
write_all (const void *data, gsize length)
{
  const char *p = data;

  while (length > 0)
    {
      ssize_t n = write (STDOUT_FILENO, p, length);
      if (n <= 0)
        return FALSE;
      p += n;
      length -= (gsize) n;
    }
  return TRUE;
}

int
main (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) jpeg = NULL;
  gsize length = 0;
  const guint8 *data;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  jpeg = cj_photo_convert (STDIN_FILENO, &error);
  if (jpeg == NULL)
    {
      write_all (error->message, strlen (error->message));
      return g_error_matches (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT) ? CJ_PHOTO_HELPER_REFUSED
                                                                          : CJ_PHOTO_HELPER_FAILED;
    }
  data = g_bytes_get_data (jpeg, &length);
  return write_all (data, length) ? 0 : CJ_PHOTO_HELPER_FAILED;
}
