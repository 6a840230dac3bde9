#include "config.h"
#include "cj-photo.h"

#include <errno.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <glib/gi18n.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cj-error.h"

/* The formats a photo may be in, told by their signature, and the one gdk-pixbuf loader
 * (by module name) each is handed to. gdk_pixbuf_loader_new_with_type() opens that module
 * only: no other loader (SVG through librsvg, TIFF, HEIF, ICO, TGA, XPM, ANI, ...) ever
 * sees a caller's bytes, whatever gdk-pixbuf's own sniffing would have picked. */
typedef struct {
  const char *loader;
  gsize       offset;
  const char *magic;
  gsize       length;
} Signature;

static const Signature signatures[] = {
  { "jpeg", 0, "\xff\xd8\xff", 3 },
  { "png",  0, "\x89PNG\r\n\x1a\n", 8 },
  { "gif",  0, "GIF87a", 6 },
  { "gif",  0, "GIF89a", 6 },
  { "webp", 8, "WEBP", 4 },                     /* after "RIFF" and the size, checked below */
  { "bmp",  0, "BM", 2 },
};

/* The loader for @data, or NULL when it is not one of the allowed formats. */
static const char *
sniff (const guint8 *data, gsize size)
{
  for (gsize i = 0; i < G_N_ELEMENTS (signatures); i++)
    {
      const Signature *s = &signatures[i];

      if (size < s->offset + s->length || memcmp (data + s->offset, s->magic, s->length) != 0)
        continue;
      if (g_str_equal (s->loader, "webp") && memcmp (data, "RIFF", 4) != 0)
        continue;
      return s->loader;
    }
  return NULL;
}

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
  gboolean   jpeg;
  gboolean   too_large;
  GdkPixbuf *pixbuf;            /* the loader's own pixbuf, as prepared (not owned) */
  guint8    *rows;              /* which of its rows the loader has filled */
  int        height;
} Prepared;

static void
on_size_prepared (GdkPixbufLoader *loader, int width, int height, gpointer data)
{
  Prepared *prepared = data;

  if (width <= 0 || height <= 0 || (gint64) width * height > CJ_PHOTO_MAX_PIXELS)
    {
      /* Decompression bomb: decode as little as possible, the result is thrown away. */
      prepared->too_large = TRUE;
      /* 0×0 makes the loaders stop before they allocate or decode anything (as
       * gdk_pixbuf_get_file_info() does); 1×1 would still decode every pixel. */
      gdk_pixbuf_loader_set_size (loader, 0, 0);
      return;
    }
  /* A JPEG can be decoded straight to 1/2, 1/4 or 1/8 of its size (the DCT scaling of
   * libjpeg). Ask for exactly such a size, the smallest still at least the avatar size:
   * any other size would make the loader rescale it itself, and a rescaling loader reports
   * no progress (area-updated), which complete() needs to see a truncated file. */
  if (prepared->jpeg && MAX (width, height) > CJ_PHOTO_MAX_SIDE)
    {
      int d = 8;

      while (d > 1 && MAX ((width + d - 1) / d, (height + d - 1) / d) < CJ_PHOTO_MAX_SIDE)
        d /= 2;
      if (d > 1)
        gdk_pixbuf_loader_set_size (loader, (width + d - 1) / d, (height + d - 1) / d);
    }
}

static void
on_area_prepared (GdkPixbufLoader *loader, gpointer data)
{
  Prepared *prepared = data;

  prepared->pixbuf = gdk_pixbuf_loader_get_pixbuf (loader);
  prepared->height = gdk_pixbuf_get_height (prepared->pixbuf);
  g_free (prepared->rows);
  prepared->rows = g_malloc0 ((gsize) prepared->height);
}

static void
on_area_updated (GdkPixbufLoader *loader, int x, int y, int width, int height, gpointer data)
{
  Prepared *prepared = data;

  /* The loader's final rescale (to the size set in size-prepared) is announced on a new
   * pixbuf: only what the decoder itself filled counts. */
  if (prepared->rows == NULL || gdk_pixbuf_loader_get_pixbuf (loader) != prepared->pixbuf)
    return;
  for (int row = MAX (0, y); row < MIN (prepared->height, y + height); row++)
    prepared->rows[row] = 1;
}

/* Loaders hand out a truncated image as if it were whole (the rest filled with grey):
 * every row must have been decoded. */
static gboolean
complete (const Prepared *prepared)
{
  if (prepared->rows == NULL)
    return FALSE;
  for (int row = 0; row < prepared->height; row++)
    if (!prepared->rows[row])
      return FALSE;
  return TRUE;
}

/* libjpeg makes up the end of a truncated JPEG (a warning gdk-pixbuf drops, then grey
 * rows): walk the markers, skipping segments by their length and scans up to the next
 * marker, and require EOI. */
static gboolean
jpeg_has_eoi (const guint8 *data, gsize size)
{
  gsize i = 2;

  while (i + 1 < size)
    {
      guint8 marker;

      if (data[i] != 0xff)
        return FALSE;
      marker = data[i + 1];
      if (marker == 0xff)                       /* fill byte */
        {
          i++;
          continue;
        }
      if (marker == 0xd9)
        return TRUE;
      if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7))
        {
          i += 2;
          continue;
        }
      if (i + 3 >= size)
        return FALSE;
      i += 2 + ((gsize) data[i + 2] << 8 | data[i + 3]);
      if (marker == 0xda)                       /* SOS: entropy-coded data follows */
        {
          while (i + 1 < size &&
                 !(data[i] == 0xff && data[i + 1] != 0x00 && !(data[i + 1] >= 0xd0 && data[i + 1] <= 0xd7)))
            i++;
        }
    }
  return FALSE;
}

/* gdk-pixbuf's BMP loader allocates what the file header says before it checks anything:
 * the info header at its given size, then a buffer up to the given start of the pixels
 * (up to 4 GiB each for a file of a hundred bytes: found by tests/fuzz/fuzz-photo). The
 * info header must be one the format has (12 to 124 bytes) and both must lie within the
 * file, as in any real BMP. */
static guint32
le32 (const guint8 *p)
{
  return (guint32) p[0] | (guint32) p[1] << 8 | (guint32) p[2] << 16 | (guint32) p[3] << 24;
}

static gboolean
bmp_header_fits (const guint8 *data, gsize size)
{
  guint32 pixels, header;
  guint bits;

  if (size < 18)
    return FALSE;
  pixels = le32 (data + 10);
  header = le32 (data + 14);
  /* 12 (OS/2 1.x) or 16 and more: the bits a pixel below are read at 28, inside any such
   * header that fits in the file; a 13-byte header in a 27-byte file put them past its end. */
  if ((header < 16 && header != 12) || header > 124 || 14 + (gsize) header > size || pixels > size)
    return FALSE;
  /* The pixels come after the headers, and a pixel has one of the format's sizes: a file
   * with its pixels inside its header, or 299 bits a pixel, made the loader ask for
   * gigabytes (fuzz-photo, corpus bmp-pixels-inside-header). */
  bits = header == 12 ? (guint) (data[24] | data[25] << 8) : (guint) (data[28] | data[29] << 8);
  if (pixels < 14 + header ||
      !(bits == 1 || bits == 2 || bits == 4 || bits == 8 || bits == 16 || bits == 24 || bits == 32))
    return FALSE;
  /* BITMAPINFOHEADER and later: a compression the loader knows (RGB, RLE8, RLE4,
   * BITFIELDS), and a palette of at most 2^bits (256 above 8 bits) colours that lies before
   * the pixels; 0xffffffff colours made it ask for 4 GiB. */
  if (header >= 40)
    {
      guint32 compression = le32 (data + 30), colours = le32 (data + 46);

      if (compression > 3 || colours > (bits <= 8 ? 1u << bits : 256u) ||
          14 + (guint64) header + 4 * (guint64) colours > pixels)
        return FALSE;
    }
  return TRUE;
}

static GdkPixbuf *
decode (GBytes *bytes, GError **error)
{
  gsize size = 0;
  const guint8 *data = g_bytes_get_data (bytes, &size);
  const char *format = sniff (data, size);
  g_autoptr(GdkPixbufLoader) loader = NULL;
  g_autoptr(GError) local_error = NULL;
  Prepared prepared = { FALSE, FALSE, NULL, NULL, 0 };
  gsize offset = 0;
  gboolean ok = TRUE;
  GdkPixbuf *pixbuf;

  if (format == NULL)
    {
      *error = invalid (_("Not an image in a supported format (JPEG, PNG, GIF, WebP, BMP)"));
      return NULL;
    }
  prepared.jpeg = g_str_equal (format, "jpeg");
  if (prepared.jpeg && !jpeg_has_eoi (data, size))
    {
      *error = invalid (_("The image is incomplete (the file is truncated or damaged)"));
      return NULL;
    }
  if (g_str_equal (format, "bmp") && !bmp_header_fits (data, size))
    {
      *error = invalid (_("The image is damaged (its header points past the end of the file)"));
      return NULL;
    }
  loader = gdk_pixbuf_loader_new_with_type (format, &local_error);
  if (loader == NULL)
    {
      /* WebP needs webp-pixbuf-loader, which may not be installed. */
      *error = g_error_new (CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                            _("Images of type %s cannot be read on this server"), format);
      return NULL;
    }
  g_signal_connect (loader, "size-prepared", G_CALLBACK (on_size_prepared), &prepared);
  g_signal_connect (loader, "area-prepared", G_CALLBACK (on_area_prepared), &prepared);
  g_signal_connect (loader, "area-updated", G_CALLBACK (on_area_updated), &prepared);

  /* In pieces, so that a loader that ignores the 0×0 size still stops at the next one. */
  while (ok && offset < size && !prepared.too_large)
    {
      gsize n = MIN (size - offset, 64 * 1024);
      ok = gdk_pixbuf_loader_write (loader, data + offset, n, &local_error);
      offset += n;
    }
  /* (A failed write has closed the loader already.) */
  if (ok)
    ok = gdk_pixbuf_loader_close (loader, &local_error);
  if (!ok)
    {
      if (!prepared.too_large)
        {
          *error = g_error_new (CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                                _("The image cannot be read (damaged or not an image): %s"),
                                local_error != NULL ? local_error->message : _("unknown error"));
          g_free (prepared.rows);
          return NULL;
        }
    }
  if (prepared.too_large)
    {
      g_free (prepared.rows);
      *error = g_error_new (CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                            _("The image has more than %d million pixels"), CJ_PHOTO_MAX_PIXELS / 1000000);
      return NULL;
    }
  pixbuf = gdk_pixbuf_loader_get_pixbuf (loader);
  if (pixbuf != NULL && !complete (&prepared))
    {
      g_free (prepared.rows);
      *error = invalid (_("The image is incomplete (the file is truncated or damaged)"));
      return NULL;
    }
  g_free (prepared.rows);
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
