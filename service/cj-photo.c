#include "config.h"
#include "cj-photo.h"

#include <errno.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gi18n.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cj-error.h"

/* Formats whose loaders are common and maintained; a rarely used loader (ANI, XPM, TGA,
 * ICNS, ...) is not reachable from a caller's bytes. */
static const char *const allowed_types[] = {
  "image/png", "image/jpeg", "image/gif", "image/bmp", "image/x-bmp", "image/tiff",
  "image/vnd.microsoft.icon", "image/x-icon", "image/webp", "image/svg+xml", "image/avif",
  "image/heif", NULL
};

static GError *
invalid (const char *message)
{
  return g_error_new_literal (CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT, message);
}

static GBytes *
read_all (int fd, GError **error)
{
  struct stat st;
  g_autofree guint8 *data = NULL;
  gsize length = 0;

  if (fstat (fd, &st) < 0)
    {
      *error = invalid (_("Cannot read the image"));
      return NULL;
    }
  if (!S_ISREG (st.st_mode))
    {
      *error = invalid (_("The image must be a regular file"));
      return NULL;
    }
  if (st.st_size > CJ_PHOTO_MAX_INPUT)
    {
      *error = g_error_new (CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                            _("The image is larger than %d MiB"), CJ_PHOTO_MAX_INPUT / (1024 * 1024));
      return NULL;
    }
  if (st.st_size == 0)
    {
      *error = invalid (_("The image file is empty"));
      return NULL;
    }
  /* The file may grow meanwhile: never read past the cap. */
  data = g_malloc ((gsize) st.st_size);
  while (length < (gsize) st.st_size)
    {
      ssize_t n = pread (fd, data + length, (gsize) st.st_size - length, (off_t) length);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        {
          *error = invalid (_("Cannot read the image"));
          return NULL;
        }
      if (n == 0)
        break;
      length += (gsize) n;
    }
  if (length == 0)
    {
      *error = invalid (_("The image file is empty"));
      return NULL;
    }
  return g_bytes_new_take (g_steal_pointer (&data), length);
}

typedef struct {
  gboolean too_large;
} Prepared;

static void
on_size_prepared (GdkPixbufLoader *loader, int width, int height, gpointer data)
{
  Prepared *prepared = data;
  double scale;

  if (width <= 0 || height <= 0 || (gint64) width * height > CJ_PHOTO_MAX_PIXELS)
    {
      /* Decompression bomb: decode as little as possible, the result is thrown away. */
      prepared->too_large = TRUE;
      gdk_pixbuf_loader_set_size (loader, 1, 1);
      return;
    }
  /* Decode straight to the avatar size where the loader can (JPEG does). */
  scale = MIN (1.0, (double) CJ_PHOTO_MAX_SIDE / MAX (width, height));
  if (scale < 1.0)
    gdk_pixbuf_loader_set_size (loader, MAX (1, (int) (width * scale + 0.5)),
                                MAX (1, (int) (height * scale + 0.5)));
}

static GdkPixbuf *
decode (GBytes *bytes, GError **error)
{
  gsize size = 0;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  g_autofree char *type = g_content_type_guess (NULL, data, MIN (size, 4096), NULL);
  g_autofree char *mime = g_content_type_get_mime_type (type);
  g_autoptr(GdkPixbufLoader) loader = NULL;
  g_autoptr(GError) local_error = NULL;
  Prepared prepared = { FALSE };
  GdkPixbuf *pixbuf;

  if (mime == NULL || !g_strv_contains (allowed_types, mime))
    {
      *error = invalid (_("Not an image in a supported format (PNG, JPEG, GIF, BMP, TIFF, ICO, WebP, SVG)"));
      return NULL;
    }
  loader = gdk_pixbuf_loader_new_with_mime_type (mime, &local_error);
  if (loader == NULL)
    {
      *error = g_error_new (CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                            _("Images of type %s cannot be read on this server"), mime);
      return NULL;
    }
  g_signal_connect (loader, "size-prepared", G_CALLBACK (on_size_prepared), &prepared);

  if (!gdk_pixbuf_loader_write (loader, data, size, &local_error) ||
      !gdk_pixbuf_loader_close (loader, &local_error))
    {
      if (!prepared.too_large)
        {
          *error = g_error_new (CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                                _("The image cannot be read (damaged or not an image): %s"),
                                local_error->message);
          return NULL;
        }
    }
  if (prepared.too_large)
    {
      *error = g_error_new (CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                            _("The image has more than %d million pixels"), CJ_PHOTO_MAX_PIXELS / 1000000);
      return NULL;
    }
  pixbuf = gdk_pixbuf_loader_get_pixbuf (loader);
  if (pixbuf == NULL)
    {
      *error = invalid (_("The image cannot be read (damaged or not an image)"));
      return NULL;
    }
  return g_object_ref (pixbuf);
}

static GdkPixbuf *
prepare (GdkPixbuf *decoded)
{
  g_autoptr(GdkPixbuf) oriented = gdk_pixbuf_apply_embedded_orientation (decoded);
  GdkPixbuf *current = g_object_ref (oriented != NULL ? oriented : decoded);
  int width = gdk_pixbuf_get_width (current);
  int height = gdk_pixbuf_get_height (current);
  double scale = MIN (1.0, (double) CJ_PHOTO_MAX_SIDE / MAX (width, height));
  int w = MAX (1, (int) (width * scale + 0.5));
  int h = MAX (1, (int) (height * scale + 0.5));

  if (gdk_pixbuf_get_has_alpha (current))
    {
      /* JPEG has no alpha: transparent parts become white, as on a light client theme. */
      GdkPixbuf *flat = gdk_pixbuf_composite_color_simple (current, w, h, GDK_INTERP_BILINEAR,
                                                           255, 8, 0xffffff, 0xffffff);
      g_object_unref (current);
      return flat;
    }
  if (scale < 1.0)
    {
      GdkPixbuf *scaled = gdk_pixbuf_scale_simple (current, w, h, GDK_INTERP_BILINEAR);
      g_object_unref (current);
      return scaled;
    }
  return current;
}

static GBytes *
encode (GdkPixbuf *pixbuf, GError **error)
{
  static const char *const qualities[] = { "85", "70", "55", "40" };
  g_autoptr(GdkPixbuf) current = g_object_ref (pixbuf);

  /* Lower the quality, then the size, until it fits: it always ends, at worst tiny. */
  for (;;)
    {
      for (gsize i = 0; i < G_N_ELEMENTS (qualities); i++)
        {
          g_autofree char *buffer = NULL;
          gsize length = 0;

          if (!gdk_pixbuf_save_to_buffer (current, &buffer, &length, "jpeg", error,
                                          "quality", qualities[i], NULL))
            return NULL;
          if (length <= CJ_PHOTO_MAX_JPEG)
            return g_bytes_new_take (g_steal_pointer (&buffer), length);
        }
      {
        int w = MAX (1, gdk_pixbuf_get_width (current) * 3 / 4);
        int h = MAX (1, gdk_pixbuf_get_height (current) * 3 / 4);
        GdkPixbuf *smaller = gdk_pixbuf_scale_simple (current, w, h, GDK_INTERP_BILINEAR);
        g_object_unref (current);
        current = smaller;
      }
    }
}

GBytes *
cj_photo_convert (int fd, GError **error)
{
  g_autoptr(GBytes) bytes = read_all (fd, error);
  g_autoptr(GdkPixbuf) decoded = NULL;
  g_autoptr(GdkPixbuf) prepared = NULL;

  if (bytes == NULL)
    return NULL;
  decoded = decode (bytes, error);
  if (decoded == NULL)
    return NULL;
  prepared = prepare (decoded);
  return encode (prepared, error);
}

static void
convert_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  int fd = GPOINTER_TO_INT (data);
  GError *error = NULL;
  GBytes *jpeg = cj_photo_convert (fd, &error);

  close (fd);
  if (jpeg == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, jpeg, (GDestroyNotify) g_bytes_unref);
}

void
cj_photo_convert_async (int fd, GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  
  g_task_set_task_data (task, GINT_TO_POINTER (fd), NULL);
  g_task_run_in_thread (task, convert_in_thread);
}

GBytes *
cj_photo_convert_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
