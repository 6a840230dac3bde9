/* Photo conversion (service/cj-photo.c): any bytes a caller's file may hold either fail with
 * an error or become a JPEG within the avatar's limits; never a crash, a hang, or memory
 * the caps should have prevented. The bytes go in as the daemon gets them: a regular
 * file's descriptor (here a memfd). */
#include "config.h"

#include <gdk-pixbuf/gdk-pixbuf.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cj-photo.h"
#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  int fd = memfd_create ("photo", MFD_CLOEXEC);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) jpeg = NULL;

  FUZZ_CHECK (fd >= 0, "memfd_create");
  FUZZ_CHECK (size == 0 || write (fd, data, size) == (ssize_t) size, "write");
  jpeg = cj_photo_convert (fd, &error);
  close (fd);
  if (jpeg == NULL)
    {
      FUZZ_CHECK (error != NULL && error->message[0] != '\0', "failed without a reason");
      return 0;
    }
  FUZZ_CHECK (error == NULL, "an error and a result");
  FUZZ_CHECK (g_bytes_get_size (jpeg) > 0 && g_bytes_get_size (jpeg) <= CJ_PHOTO_MAX_JPEG,
              "JPEG of %zu bytes", g_bytes_get_size (jpeg));
  {
    g_autoptr(GdkPixbufLoader) loader = gdk_pixbuf_loader_new_with_type ("jpeg", NULL);
    GdkPixbuf *out;

    FUZZ_CHECK (gdk_pixbuf_loader_write_bytes (loader, jpeg, NULL) &&
                gdk_pixbuf_loader_close (loader, NULL), "the result is no JPEG");
    out = gdk_pixbuf_loader_get_pixbuf (loader);
    FUZZ_CHECK (out != NULL && gdk_pixbuf_get_width (out) <= CJ_PHOTO_MAX_SIDE &&
                gdk_pixbuf_get_height (out) <= CJ_PHOTO_MAX_SIDE, "the result is too large");
  }
  return 0;
}
