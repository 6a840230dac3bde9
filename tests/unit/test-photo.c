/* The photo converter (service/cj-photo.c), called directly: every supported format in, a
 * JPEG that fits the avatar size and the byte budget out (decoded back here); EXIF
 * orientation and alpha; and hostile input (empty, truncated, garbage, not a regular file,
 * too large, decompression bombs), each an InvalidArgument with a message, fast.
 *
 * Every image is made here (gdk-pixbuf's savers, or bytes built by hand); nothing is read
 * from the source tree. Set CJ_TEST_SLOW=1 to skip the timing checks (under valgrind). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gdk-pixbuf/gdk-pixbuf.h>
#include <gio/gio.h>
#include <pwd.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cj-error.h"
#include "cj-photo.h"

/* How long a refusal (or a conversion) may take, in seconds. */
#define FAST_REFUSAL  1.0
#define FAST_CONVERT  20.0

static gboolean
timing_checked (void)
{
  return g_getenv ("CJ_TEST_SLOW") == NULL;
}

/* Bytes and descriptors ------------------------------------------------------------------ */

/* A regular file holding @data, already unlinked; the caller closes it. */
static int
fd_with_data (const void *data, gsize length)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  const guint8 *p = data;
  int fd = g_file_open_tmp ("cj-photo-XXXXXX", &path, &error);

  g_assert_no_error (error);
  g_assert_cmpint (g_unlink (path), ==, 0);
  while (length > 0)
    {
      ssize_t n = write (fd, p, length);
      if (n < 0 && errno == EINTR)
        continue;
      g_assert_cmpint (n, >, 0);
      p += n;
      length -= (gsize) n;
    }
  g_assert_cmpint (lseek (fd, 0, SEEK_SET), ==, 0);
  return fd;
}

static int
fd_with_bytes (GBytes *bytes)
{
  gsize length = 0;
  const void *data = g_bytes_get_data (bytes, &length);
  return fd_with_data (data, length);
}

/* cj_photo_convert() on @fd, which is closed here (the synchronous call leaves it open). */
static GBytes *
convert_fd (int fd, GError **error)
{
  GBytes *out = cj_photo_convert (fd, error);

  if (fd >= 0)
    close (fd);
  return out;
}

static GBytes *
convert_bytes (GBytes *input, GError **error)
{
  return convert_fd (fd_with_bytes (input), error);
}

/* A writable copy of @bytes. */
static guint8 *
copy_bytes (GBytes *bytes, gsize *length)
{
  const void *data = g_bytes_get_data (bytes, length);
  return g_memdup2 (data, *length);
}

/* A deterministic generator for noise (xorshift32). */
static guint32
next_random (guint32 *state)
{
  guint32 x = *state;
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return *state = x;
}

static GBytes *
random_bytes (gsize length, guint32 seed)
{
  guint8 *data = g_malloc (length);
  guint32 state = seed;

  for (gsize i = 0; i < length; i++)
    data[i] = (guint8) (next_random (&state) >> 24);
  return g_bytes_new_take (data, length);
}

static guint32
crc32_of (const guint8 *data, gsize length)
{
  static guint32 table[256];
  guint32 crc = 0xffffffffu;

  if (table[1] == 0)
    for (guint32 n = 0; n < 256; n++)
      {
        guint32 c = n;
        for (int k = 0; k < 8; k++)
          c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
        table[n] = c;
      }
  for (gsize i = 0; i < length; i++)
    crc = table[(crc ^ data[i]) & 0xff] ^ (crc >> 8);
  return crc ^ 0xffffffffu;
}

static void
put_be32 (guint8 *p, guint32 v)
{
  p[0] = (guint8) (v >> 24);
  p[1] = (guint8) (v >> 16);
  p[2] = (guint8) (v >> 8);
  p[3] = (guint8) v;
}

static void
put_le16 (GByteArray *out, guint v)
{
  guint8 b[2] = { (guint8) (v & 0xff), (guint8) (v >> 8) };
  g_byte_array_append (out, b, 2);
}

/* Images --------------------------------------------------------------------------------- */

typedef enum { FILL_GRADIENT, FILL_NOISE, FILL_TRANSPARENT, FILL_HALVES } Fill;

/* A @width × @height image: a smooth gradient (compresses like a photo), noise (the worst
 * case for JPEG), fully transparent black, or red on the left half and blue on the right. */
static GdkPixbuf *
make_image (int width, int height, gboolean alpha, Fill fill)
{
  GdkPixbuf *pixbuf = gdk_pixbuf_new (GDK_COLORSPACE_RGB, alpha, 8, width, height);
  int channels = gdk_pixbuf_get_n_channels (pixbuf);
  int stride = gdk_pixbuf_get_rowstride (pixbuf);
  guint8 *pixels = gdk_pixbuf_get_pixels (pixbuf);
  guint32 state = 0x9e3779b9u;

  g_assert_nonnull (pixbuf);
  for (int y = 0; y < height; y++)
    for (int x = 0; x < width; x++)
      {
        guint8 *p = pixels + (gsize) y * stride + (gsize) x * channels;

        switch (fill)
          {
          case FILL_GRADIENT:
            p[0] = (guint8) (x * 255 / MAX (1, width - 1));
            p[1] = (guint8) (y * 255 / MAX (1, height - 1));
            p[2] = (guint8) (((x / 16 + y / 16) % 2) ? 200 : 60);
            break;
          case FILL_NOISE:
            {
              guint32 r = next_random (&state);
              p[0] = (guint8) r;
              p[1] = (guint8) (r >> 8);
              p[2] = (guint8) (r >> 16);
            }
            break;
          case FILL_TRANSPARENT:
            p[0] = p[1] = p[2] = 0;
            break;
          case FILL_HALVES:
            p[0] = x < width / 2 ? 255 : 0;
            p[1] = 0;
            p[2] = x < width / 2 ? 0 : 255;
            break;
          }
        if (alpha)
          p[3] = fill == FILL_TRANSPARENT ? 0 : 255;
      }
  return pixbuf;
}

static GBytes *
save (GdkPixbuf *pixbuf, const char *type, const char *key, const char *value)
{
  g_autoptr(GError) error = NULL;
  char *buffer = NULL;
  gsize length = 0;
  char *keys[] = { (char *) key, NULL };
  char *values[] = { (char *) value, NULL };

  if (!gdk_pixbuf_save_to_bufferv (pixbuf, &buffer, &length, type,
                                   key != NULL ? keys : NULL, key != NULL ? values : NULL, &error))
    g_error ("saving a %s: %s", type, error->message);
  return g_bytes_new_take (buffer, length);
}

static GBytes *
make_file (int width, int height, gboolean alpha, Fill fill, const char *type)
{
  g_autoptr(GdkPixbuf) pixbuf = make_image (width, height, alpha, fill);
  return save (pixbuf, type, NULL, NULL);
}

static gboolean
have_format (const char *name)
{
  GSList *formats = gdk_pixbuf_get_formats ();
  gboolean found = FALSE;

  for (GSList *l = formats; l != NULL; l = l->next)
    {
      g_autofree char *format_name = gdk_pixbuf_format_get_name (l->data);
      if (g_strcmp0 (format_name, name) == 0)
        found = TRUE;
    }
  g_slist_free (formats);
  return found;
}

/* A GIF built by hand: a 128-colour palette and "uncompressed" LZW (8-bit codes, a clear
 * code every 100 pixels so that the code size never grows), every byte one code. */
static GBytes *
make_gif (int width, int height)
{
  GByteArray *out = g_byte_array_new ();
  GByteArray *codes = g_byte_array_new ();
  const guint8 clear = 128, end = 129;
  guint8 b;

  g_byte_array_append (out, (const guint8 *) "GIF89a", 6);
  put_le16 (out, (guint) width);
  put_le16 (out, (guint) height);
  b = 0xf6;                             /* global table, 8-bit resolution, 2^(6+1) colours */
  g_byte_array_append (out, &b, 1);
  b = 0;
  g_byte_array_append (out, &b, 1);     /* background */
  g_byte_array_append (out, &b, 1);     /* aspect */
  for (int i = 0; i < 128; i++)
    {
      guint8 rgb[3] = { (guint8) (i * 2), (guint8) (255 - i * 2), (guint8) ((i * 37) & 0xff) };
      g_byte_array_append (out, rgb, 3);
    }
  b = ',';
  g_byte_array_append (out, &b, 1);
  put_le16 (out, 0);
  put_le16 (out, 0);
  put_le16 (out, (guint) width);
  put_le16 (out, (guint) height);
  b = 0;
  g_byte_array_append (out, &b, 1);     /* no local table, not interlaced */
  b = 7;
  g_byte_array_append (out, &b, 1);     /* LZW minimum code size */

  for (int i = 0; i < width * height; i++)
    {
      int x = i % width, y = i / width;
      guint8 index = (guint8) (((x * 127) / MAX (1, width - 1) + (y / 8) * 5) % 128);

      if (i % 100 == 0)
        g_byte_array_append (codes, &clear, 1);
      g_byte_array_append (codes, &index, 1);
    }
  g_byte_array_append (codes, &end, 1);
  for (guint off = 0; off < codes->len; off += 255)
    {
      guint8 n = (guint8) MIN (255u, codes->len - off);
      g_byte_array_append (out, &n, 1);
      g_byte_array_append (out, codes->data + off, n);
    }
  b = 0;
  g_byte_array_append (out, &b, 1);     /* block terminator */
  b = ';';
  g_byte_array_append (out, &b, 1);
  g_byte_array_unref (codes);
  return g_byte_array_free_to_bytes (out);
}

/* The classic 1×1 transparent GIF, as bytes. */
static const guint8 tiny_gif[] = {
  'G', 'I', 'F', '8', '9', 'a', 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00,
  0xff, 0xff, 0xff, 0x00, 0x00, 0x00,
  0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00,
  0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00,
  0x02, 0x02, 0x44, 0x01, 0x00, 0x3b
};

/* @jpeg with an APP1 Exif segment holding only IFD0 Orientation = @orientation, right
 * after the SOI marker. */
static GBytes *
with_exif_orientation (GBytes *jpeg, guint orientation)
{
  static const guint8 header[] = {
    0xff, 0xe1, 0x00, 0x22,                             /* APP1, length 34 */
    'E', 'x', 'i', 'f', 0x00, 0x00,
    'M', 'M', 0x00, 0x2a, 0x00, 0x00, 0x00, 0x08,       /* big-endian TIFF, IFD0 at 8 */
    0x00, 0x01,                                         /* one entry */
    0x01, 0x12, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01,     /* Orientation, SHORT, 1 value */
    0x00, 0x00, 0x00, 0x00,                             /* the value (set below) */
    0x00, 0x00, 0x00, 0x00,                             /* no next IFD */
  };
  gsize length = 0;
  const guint8 *data = g_bytes_get_data (jpeg, &length);
  GByteArray *out = g_byte_array_new ();
  guint8 segment[sizeof header];

  g_assert_cmpuint (sizeof header, ==, 36);
  g_assert_true (length > 2 && data[0] == 0xff && data[1] == 0xd8);
  memcpy (segment, header, sizeof header);
  segment[28] = (guint8) (orientation >> 8);
  segment[29] = (guint8) orientation;
  g_byte_array_append (out, data, 2);
  g_byte_array_append (out, segment, sizeof segment);
  g_byte_array_append (out, data + 2, (guint) (length - 2));
  return g_byte_array_free_to_bytes (out);
}

/* A PNG of @width × @height RGB pixels, all zero, compressed fast (zlib level 1): a few
 * MiB of file for gigabytes of pixels. Built by streaming rows, never held whole. */
static GBytes *
make_png_bomb (guint32 width, guint32 height)
{
  static const guint8 signature[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  GByteArray *out = g_byte_array_new ();
  g_autoptr(GConverter) zlib = G_CONVERTER (g_zlib_compressor_new (G_ZLIB_COMPRESSOR_FORMAT_ZLIB, 1));
  gsize row = 1 + (gsize) width * 3;
  gsize total = row * height, fed = 0;
  gsize chunk_size = 1 << 20;
  g_autofree guint8 *zeros = g_malloc0 (chunk_size);
  g_autofree guint8 *compressed = g_malloc (chunk_size);
  GByteArray *idat = g_byte_array_new ();
  guint8 ihdr[4 + 4 + 13 + 4];
  guint8 len[4];
  guint8 crc[4];

  g_byte_array_append (out, signature, sizeof signature);
  put_be32 (ihdr, 13);
  memcpy (ihdr + 4, "IHDR", 4);
  put_be32 (ihdr + 8, width);
  put_be32 (ihdr + 12, height);
  ihdr[16] = 8;                 /* bit depth */
  ihdr[17] = 2;                 /* RGB */
  ihdr[18] = ihdr[19] = ihdr[20] = 0;
  put_be32 (ihdr + 21, crc32_of (ihdr + 4, 17));
  g_byte_array_append (out, ihdr, sizeof ihdr);

  /* Every row is a filter byte 0 and zero pixels: the data are just zeros. */
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      gsize in = MIN (chunk_size, total - fed);
      gsize read = 0, written = 0;
      GConverterFlags flags = fed + in == total ? G_CONVERTER_INPUT_AT_END : G_CONVERTER_NO_FLAGS;
      GConverterResult r = g_converter_convert (zlib, zeros, in, compressed, chunk_size, flags,
                                                &read, &written, &error);

      g_assert_no_error (error);
      fed += read;
      g_byte_array_append (idat, compressed, (guint) written);
      if (r == G_CONVERTER_FINISHED)
        break;
    }

  put_be32 (len, idat->len);
  g_byte_array_append (out, len, 4);
  {
    g_autoptr(GByteArray) typed = g_byte_array_new ();
    g_byte_array_append (typed, (const guint8 *) "IDAT", 4);
    g_byte_array_append (typed, idat->data, idat->len);
    g_byte_array_append (out, typed->data, typed->len);
    put_be32 (crc, crc32_of (typed->data, typed->len));
    g_byte_array_append (out, crc, 4);
  }
  g_byte_array_unref (idat);
  put_be32 (len, 0);
  g_byte_array_append (out, len, 4);
  g_byte_array_append (out, (const guint8 *) "IEND", 4);
  put_be32 (crc, crc32_of ((const guint8 *) "IEND", 4));
  g_byte_array_append (out, crc, 4);
  return g_byte_array_free_to_bytes (out);
}

/* @png (a valid PNG) with its IHDR claiming @width × @height, the chunk's CRC recomputed. */
static GBytes *
with_ihdr_size (GBytes *png, guint32 width, guint32 height)
{
  gsize length = 0;
  guint8 *data = copy_bytes (png, &length);

  g_assert_cmpuint (length, >, 33);
  g_assert_cmpmem (data + 12, 4, "IHDR", 4);
  put_be32 (data + 16, width);
  put_be32 (data + 20, height);
  put_be32 (data + 29, crc32_of (data + 12, 17));
  return g_bytes_new_take (data, length);
}

/* @jpeg with its SOF0 frame header claiming @width × @height. */
static GBytes *
with_sof_size (GBytes *jpeg, guint width, guint height)
{
  gsize length = 0;
  guint8 *data = copy_bytes (jpeg, &length);
  gsize i = 2;

  while (i + 9 < length)
    {
      g_assert_cmpuint (data[i], ==, 0xff);
      if (data[i + 1] == 0xc0 || data[i + 1] == 0xc2)
        {
          data[i + 5] = (guint8) (height >> 8);
          data[i + 6] = (guint8) height;
          data[i + 7] = (guint8) (width >> 8);
          data[i + 8] = (guint8) width;
          return g_bytes_new_take (data, length);
        }
      i += 2 + ((gsize) data[i + 2] << 8 | data[i + 3]);
    }
  g_error ("no SOF marker");
}

/* Checking the output -------------------------------------------------------------------- */

/* @jpeg must be a JPEG within the budget, which gdk-pixbuf reads back as a JPEG (not by
 * sniffing a name: the loader is picked from the bytes) of at most the avatar size. */
static GdkPixbuf *
decode_output (GBytes *jpeg)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GdkPixbufLoader) loader = gdk_pixbuf_loader_new ();
  gsize length = 0;
  const guint8 *data = g_bytes_get_data (jpeg, &length);
  GdkPixbufFormat *format;
  g_autofree char *name = NULL;
  g_auto(GStrv) mime_types = NULL;
  GdkPixbuf *pixbuf;

  g_assert_cmpuint (length, >, 4);
  g_assert_cmpuint (length, <=, CJ_PHOTO_MAX_JPEG);
  g_assert_cmpuint (data[0], ==, 0xff);
  g_assert_cmpuint (data[1], ==, 0xd8);
  g_assert_cmpuint (data[2], ==, 0xff);
  g_assert_cmpuint (data[length - 2], ==, 0xff);
  g_assert_cmpuint (data[length - 1], ==, 0xd9);

  gdk_pixbuf_loader_write (loader, data, length, &error);
  g_assert_no_error (error);
  gdk_pixbuf_loader_close (loader, &error);
  g_assert_no_error (error);
  format = gdk_pixbuf_loader_get_format (loader);
  g_assert_nonnull (format);
  name = gdk_pixbuf_format_get_name (format);
  g_assert_cmpstr (name, ==, "jpeg");
  mime_types = gdk_pixbuf_format_get_mime_types (format);
  g_assert_true (g_strv_contains ((const char *const *) mime_types, "image/jpeg"));
  pixbuf = gdk_pixbuf_loader_get_pixbuf (loader);
  g_assert_nonnull (pixbuf);
  g_assert_false (gdk_pixbuf_get_has_alpha (pixbuf));
  g_assert_cmpint (gdk_pixbuf_get_width (pixbuf), <=, CJ_PHOTO_MAX_SIDE);
  g_assert_cmpint (gdk_pixbuf_get_height (pixbuf), <=, CJ_PHOTO_MAX_SIDE);
  return g_object_ref (pixbuf);
}

/* Converts @input, which must succeed, and checks the JPEG is @width × @height. */
static GdkPixbuf *
expect_converted (GBytes *input, int width, int height)
{
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  g_autoptr(GBytes) jpeg = convert_bytes (input, &error);
  double seconds = (g_get_monotonic_time () - start) / 1e6;
  GdkPixbuf *pixbuf;

  g_assert_no_error (error);
  g_assert_nonnull (jpeg);
  if (timing_checked ())
    g_assert_cmpfloat (seconds, <, FAST_CONVERT);
  pixbuf = decode_output (jpeg);
  g_assert_cmpint (gdk_pixbuf_get_width (pixbuf), ==, width);
  g_assert_cmpint (gdk_pixbuf_get_height (pixbuf), ==, height);
  return pixbuf;
}

static void
pixel_at (GdkPixbuf *pixbuf, int x, int y, guint8 rgb[3])
{
  const guint8 *p = gdk_pixbuf_read_pixels (pixbuf) + (gsize) y * gdk_pixbuf_get_rowstride (pixbuf)
                    + (gsize) x * gdk_pixbuf_get_n_channels (pixbuf);
  memcpy (rgb, p, 3);
}

/* Formats in ------------------------------------------------------------------------------ */

typedef struct {
  const char *type;             /* gdk-pixbuf saver */
  int width, height;            /* in */
  gboolean alpha;
  int out_width, out_height;    /* expected out */
} FormatCase;

static const FormatCase format_cases[] = {
  { "png",  800, 400, FALSE, 192,  96 },
  { "png",  800, 400, TRUE,  192,  96 },
  { "jpeg", 800, 400, FALSE, 192,  96 },
  { "bmp",  800, 400, FALSE, 192,  96 },
  { "bmp",  800, 400, TRUE,  192,  96 },
  { "png",  300, 900, FALSE,  64, 192 },      /* portrait */
  { "jpeg", 300, 900, FALSE,  64, 192 },
  { "png",  192, 192, FALSE, 192, 192 },      /* exactly the avatar size */
  { "png", 1000,   3, FALSE, 192,   1 },      /* a sliver never becomes 0 pixels high */
  { "png",   64,  32, FALSE,  64,  32 },      /* small images are not enlarged */
  { "jpeg", 100,  50, FALSE, 100,  50 },
  { "bmp",   10,  10, FALSE,  10,  10 },
  { "png",    1,   1, FALSE,   1,   1 },
};

static void
test_format (gconstpointer data)
{
  const FormatCase *c = data;
  g_autoptr(GBytes) input = make_file (c->width, c->height, c->alpha, FILL_GRADIENT, c->type);
  g_autoptr(GdkPixbuf) out = expect_converted (input, c->out_width, c->out_height);
}

static void
test_gif (void)
{
  g_autoptr(GBytes) input = make_gif (300, 150);
  g_autoptr(GBytes) small = make_gif (40, 30);
  g_autoptr(GdkPixbuf) out = expect_converted (input, 192, 96);
  g_autoptr(GdkPixbuf) out_small = expect_converted (small, 40, 30);
}

static void
test_gif_tiny_transparent (void)
{
  g_autoptr(GBytes) input = g_bytes_new_static (tiny_gif, sizeof tiny_gif);
  g_autoptr(GdkPixbuf) out = expect_converted (input, 1, 1);
  guint8 rgb[3];

  pixel_at (out, 0, 0, rgb);
  g_assert_cmpuint (rgb[0], >=, 240);
  g_assert_cmpuint (rgb[1], >=, 240);
  g_assert_cmpuint (rgb[2], >=, 240);
}

static void
test_webp (void)
{
  g_autoptr(GBytes) input = NULL;
  g_autoptr(GdkPixbuf) out = NULL;

  if (!have_format ("webp"))
    {
      g_test_skip ("no WebP loader installed");
      return;
    }
  input = make_file (800, 400, FALSE, FILL_GRADIENT, "webp");
  out = expect_converted (input, 192, 96);
}

/* Formats gdk-pixbuf reads but which are not on the allow list are refused. */
static void expect_refused (GBytes *input, const char *what);

static void
test_not_allowed_formats (void)
{
  static const char ppm[] = "P6\n2 2\n255\n\xff\x00\x00\x00\xff\x00\x00\x00\xff\xff\xff\xff";
  static const char xpm[] =
    "/* XPM */\nstatic char *x[] = {\n\"2 2 2 1\",\n\"a c #ff0000\",\n\"b c #0000ff\",\n"
    "\"ab\",\n\"ba\"};\n";
  g_autoptr(GBytes) p = g_bytes_new_static (ppm, sizeof ppm - 1);
  g_autoptr(GBytes) x = g_bytes_new_static (xpm, sizeof xpm - 1);

  static const char svg[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"400\" height=\"200\">\n"
    "  <rect x=\"0\" y=\"0\" width=\"400\" height=\"200\" fill=\"#ff0000\"/>\n"
    "</svg>\n";
  /* A TGA header (no signature: gdk-pixbuf's TGA loader takes almost anything). */
  static const guint8 tga[] = { 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 2, 0, 24, 0,
                                0xff, 0, 0, 0, 0xff, 0, 0, 0, 0xff, 0xff, 0xff, 0xff };
  /* The HEIF/AVIF box ("ftyp" at 4). */
  static const guint8 heif[] = { 0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c', 0, 0, 0, 0,
                                 'm', 'i', 'f', '1', 'h', 'e', 'i', 'c' };
  /* RIFF, but an animated cursor (ANI), not WebP. */
  static const guint8 ani[] = { 'R', 'I', 'F', 'F', 4, 0, 0, 0, 'A', 'C', 'O', 'N' };
  g_autoptr(GBytes) v = g_bytes_new_static (svg, sizeof svg - 1);
  g_autoptr(GBytes) t = g_bytes_new_static (tga, sizeof tga);
  g_autoptr(GBytes) h = g_bytes_new_static (heif, sizeof heif);
  g_autoptr(GBytes) a = g_bytes_new_static (ani, sizeof ani);
  g_autoptr(GBytes) tiff = make_file (200, 100, FALSE, FILL_GRADIENT, "tiff");
  g_autoptr(GBytes) ico = make_file (64, 64, TRUE, FILL_GRADIENT, "ico");
  g_autofree char *maps = NULL;

  expect_refused (p, "PPM");
  expect_refused (x, "XPM");
  expect_refused (v, "SVG");
  expect_refused (t, "TGA");
  expect_refused (h, "HEIF");
  expect_refused (a, "ANI");
  expect_refused (tiff, "TIFF");
  expect_refused (ico, "ICO");
  /* Refused before any loader ran: the SVG loader (librsvg) was never even loaded. */
  g_assert_true (g_file_get_contents ("/proc/self/maps", &maps, NULL, NULL));
  g_assert_null (strstr (maps, "libpixbufloader-svg"));
  g_assert_null (strstr (maps, "librsvg"));
}

/* A file of an allowed signature goes to that format's loader alone: an SVG behind "BM" is
 * a damaged BMP to the BMP loader, never rendered by librsvg. */
static void
test_polyglot (void)
{
  /* (Small BMP header fields: with text there, e.g. "BM<svg xmlns=", the BMP loader takes
   * the data offset "ns=\"" for a 574 MB header and allocates it — the reason for the
   * helper's memory limit, not what this test is about.) */
  static const char bm_svg[] =
    "BM\x01\x01\x01\x01\x01\x01\x01\x01\x20\x01\x01\x01\x0c\x01\x01\x01"
    "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"40\" height=\"20\">"
    "<rect width=\"40\" height=\"20\" fill=\"red\"/></svg>\n";
  static const char gif_svg[] =
    "GIF89a<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"40\" height=\"20\"/>\n";
  g_autoptr(GBytes) b = g_bytes_new_static (bm_svg, sizeof bm_svg - 1);
  g_autoptr(GBytes) g = g_bytes_new_static (gif_svg, sizeof gif_svg - 1);
  g_autofree char *maps = NULL;

  expect_refused (b, "SVG behind a BMP signature");
  expect_refused (g, "SVG behind a GIF signature");
  g_assert_true (g_file_get_contents ("/proc/self/maps", &maps, NULL, NULL));
  g_assert_null (strstr (maps, "libpixbufloader-svg"));
}

/* The output ---------------------------------------------------------------------------- */

static void
test_aspect_ratio_kept (void)
{
  static const int sizes[][2] = { { 800, 400 }, { 400, 800 }, { 1000, 750 }, { 333, 1000 },
                                  { 193, 192 }, { 5000, 200 } };

  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      int w = sizes[i][0], h = sizes[i][1];
      double scale = MIN (1.0, 192.0 / MAX (w, h));
      g_autoptr(GBytes) input = make_file (w, h, FALSE, FILL_GRADIENT, "png");
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) jpeg = convert_bytes (input, &error);
      g_autoptr(GdkPixbuf) out = NULL;

      g_assert_no_error (error);
      out = decode_output (jpeg);
      /* The longer side is the avatar size, the other within a pixel of the ratio. */
      g_assert_cmpint (MAX (gdk_pixbuf_get_width (out), gdk_pixbuf_get_height (out)), ==, 192);
      g_assert_cmpfloat (ABS (gdk_pixbuf_get_width (out) - w * scale), <=, 1.0);
      g_assert_cmpfloat (ABS (gdk_pixbuf_get_height (out) - h * scale), <=, 1.0);
    }
}

/* The worst case for the byte budget: noise, at exactly the avatar size (nothing averages it
 * away), and a 4000×4000 noise photo. The result fits in CJ_PHOTO_MAX_JPEG bytes (checked in
 * decode_output) whatever it had to give up. */
static void
test_noise_fits_budget (void)
{
  static const char *const types[] = { "png", "bmp" };

  for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
    {
      g_autoptr(GBytes) input = make_file (192, 192, FALSE, FILL_NOISE, types[i]);
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) jpeg = convert_bytes (input, &error);
      g_autoptr(GdkPixbuf) out = NULL;

      g_assert_no_error (error);
      out = decode_output (jpeg);
      g_assert_cmpint (gdk_pixbuf_get_width (out), ==, gdk_pixbuf_get_height (out));
      g_assert_cmpint (gdk_pixbuf_get_width (out), >=, 48);
      g_test_message ("192×192 noise %s → %d×%d, %zu bytes", types[i],
                      gdk_pixbuf_get_width (out), gdk_pixbuf_get_height (out), g_bytes_get_size (jpeg));
    }
}

static void
test_large_noise_fits_budget (void)
{
  g_autoptr(GdkPixbuf) noise = make_image (4000, 4000, FALSE, FILL_NOISE);
  g_autoptr(GBytes) input = save (noise, "jpeg", "quality", "50");
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) jpeg = NULL;
  g_autoptr(GdkPixbuf) out = NULL;
  gint64 start;

  /* It must be under the input cap to reach the encoder at all. */
  g_assert_cmpuint (g_bytes_get_size (input), <=, CJ_PHOTO_MAX_INPUT);
  start = g_get_monotonic_time ();
  jpeg = convert_bytes (input, &error);
  g_assert_no_error (error);
  if (timing_checked ())
    g_assert_cmpfloat ((g_get_monotonic_time () - start) / 1e6, <, FAST_CONVERT);
  out = decode_output (jpeg);
  g_assert_cmpint (gdk_pixbuf_get_width (out), ==, gdk_pixbuf_get_height (out));
  g_test_message ("4000×4000 noise (%zu bytes in) → %d×%d, %zu bytes", g_bytes_get_size (input),
                  gdk_pixbuf_get_width (out), gdk_pixbuf_get_height (out), g_bytes_get_size (jpeg));
}

/* Orientation 6 ("rotate 90° clockwise to display"): a 40×20 picture, red on the left and
 * blue on the right, is shown 20×40 with red on top. */
static void
test_exif_orientation (void)
{
  g_autoptr(GdkPixbuf) halves = make_image (40, 20, FALSE, FILL_HALVES);
  g_autoptr(GBytes) plain = save (halves, "jpeg", "quality", "95");
  g_autoptr(GBytes) oriented = with_exif_orientation (plain, 6);
  g_autoptr(GdkPixbuf) out = expect_converted (oriented, 20, 40);
  g_autoptr(GdkPixbuf) unrotated = expect_converted (plain, 40, 20);
  guint8 top[3], bottom[3];

  pixel_at (out, 10, 5, top);
  pixel_at (out, 10, 34, bottom);
  g_assert_cmpuint (top[0], >=, 200);
  g_assert_cmpuint (top[2], <=, 60);
  g_assert_cmpuint (bottom[0], <=, 60);
  g_assert_cmpuint (bottom[2], >=, 200);
}

/* The same when the image is also scaled down (the loader decodes it straight to a smaller
 * size): the orientation must survive the scaling. */
static void
test_exif_orientation_scaled (void)
{
  g_autoptr(GdkPixbuf) halves = make_image (800, 400, FALSE, FILL_HALVES);
  g_autoptr(GBytes) plain = save (halves, "jpeg", "quality", "90");
  g_autoptr(GBytes) oriented = with_exif_orientation (plain, 6);
  g_autoptr(GdkPixbuf) out = expect_converted (oriented, 96, 192);
  guint8 top[3], bottom[3];

  pixel_at (out, 48, 20, top);
  pixel_at (out, 48, 170, bottom);
  g_assert_cmpuint (top[0], >=, 200);
  g_assert_cmpuint (bottom[2], >=, 200);
}

/* JPEG has no alpha: transparent pixels come out white, at any size. */
static void
test_alpha_flattened_on_white (void)
{
  static const int sizes[][2] = { { 100, 50 }, { 800, 400 } };

  for (gsize i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autoptr(GBytes) input = make_file (sizes[i][0], sizes[i][1], TRUE, FILL_TRANSPARENT, "png");
      int w = MIN (sizes[i][0], 192), h = w * sizes[i][1] / sizes[i][0];
      g_autoptr(GdkPixbuf) out = expect_converted (input, w, h);

      for (int y = 0; y < h; y += 7)
        for (int x = 0; x < w; x += 7)
          {
            guint8 rgb[3];

            pixel_at (out, x, y, rgb);
            if (rgb[0] < 240 || rgb[1] < 240 || rgb[2] < 240)
              g_error ("pixel %d,%d of a transparent %d×%d image is %u,%u,%u, not white",
                       x, y, sizes[i][0], sizes[i][1], rgb[0], rgb[1], rgb[2]);
          }
    }
}

/* The asynchronous form takes the descriptor and closes it. */
static void
on_converted (GObject *source, GAsyncResult *result, gpointer data)
{
  GAsyncResult **out = data;
  *out = g_object_ref (result);
}

static gboolean
same_file (int fd, const struct stat *before)
{
  struct stat now;

  return fstat (fd, &now) == 0 && now.st_dev == before->st_dev && now.st_ino == before->st_ino;
}

static void
test_async_closes_fd (void)
{
  g_autoptr(GBytes) input = make_file (300, 300, FALSE, FILL_GRADIENT, "png");
  int fd = fd_with_bytes (input);
  int bad_fd = open ("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GAsyncResult) bad_result = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) jpeg = NULL;
  g_autoptr(GBytes) nothing = NULL;
  g_autoptr(GdkPixbuf) out = NULL;
  struct stat file_st, dir_st;

  g_assert_cmpint (fstat (fd, &file_st), ==, 0);
  g_assert_cmpint (fstat (bad_fd, &dir_st), ==, 0);
  cj_photo_convert_async (fd, NULL, on_converted, &result);
  cj_photo_convert_async (bad_fd, NULL, on_converted, &bad_result);
  while (result == NULL || bad_result == NULL)
    g_main_context_iteration (NULL, TRUE);
  jpeg = cj_photo_convert_finish (result, &error);
  g_assert_no_error (error);
  out = decode_output (jpeg);
  g_assert_cmpint (gdk_pixbuf_get_width (out), ==, 192);
  nothing = cj_photo_convert_finish (bad_result, &error);
  g_assert_null (nothing);
  g_assert_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT);
  /* Both descriptors were closed (their numbers may have been reused since, e.g. by GLib's
   * worker thread that watches the helper: not for the same files). */
  g_assert_false (same_file (fd, &file_st));
  g_assert_false (same_file (bad_fd, &dir_st));
}

/* The helper process (service/cj-photo-sandbox.c) ------------------------------------------ */

/* The built helper, copied where nobody (whom it runs as) may enter: the build tree may be
 * in a clone in root's 0700 home. Set by main(). */
static char *test_helper;

/* Runs cj_photo_convert_async on @input with @helper (NULL: the real one); the result. */
static GBytes *
convert_with_helper (GBytes *input, const char *helper, GError **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  GBytes *out;

  cj_photo_set_helper (helper != NULL ? helper : test_helper);
  cj_photo_convert_async (fd_with_bytes (input), NULL, on_converted, &result);
  while (result == NULL)
    g_main_context_iteration (NULL, TRUE);
  out = cj_photo_convert_finish (result, error);
  cj_photo_set_helper (test_helper);
  return out;
}

/* A stand-in helper: a shell script, in a directory anyone may enter (it runs as nobody). */
static char *
fake_helper (const char *body, char **dir_out)
{
  g_autoptr(GError) error = NULL;
  char *dir = g_dir_make_tmp ("cj-helper-XXXXXX", &error);
  char *path;
  g_autofree char *script = g_strconcat ("#!/bin/sh\n", body, "\n", NULL);

  g_assert_no_error (error);
  g_assert_cmpint (chmod (dir, 0755), ==, 0);
  path = g_build_filename (dir, "helper", NULL);
  g_assert_true (g_file_set_contents (path, script, -1, NULL));
  g_assert_cmpint (chmod (path, 0755), ==, 0);
  *dir_out = dir;
  return path;
}

static void
remove_fake_helper (char *path, char *dir)
{
  g_unlink (path);
  g_rmdir (dir);
  g_free (path);
  g_free (dir);
}

static void
test_helper_converts_and_refuses (void)
{
  g_autoptr(GBytes) png = make_file (800, 400, FALSE, FILL_GRADIENT, "png");
  static const char svg[] = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"4\" height=\"4\"/>";
  g_autoptr(GBytes) not_allowed = g_bytes_new_static (svg, sizeof svg - 1);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) jpeg = convert_with_helper (png, NULL, &error);
  g_autoptr(GdkPixbuf) out = NULL;
  g_autoptr(GBytes) nothing = NULL;

  g_assert_no_error (error);
  out = decode_output (jpeg);
  g_assert_cmpint (gdk_pixbuf_get_width (out), ==, 192);
  /* The helper's refusal comes back as the same InvalidArgument, message and all. */
  nothing = convert_with_helper (not_allowed, NULL, &error);
  g_assert_null (nothing);
  g_assert_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "JPEG, PNG, GIF, WebP, BMP"));
}

/* What the helper runs as: nobody (when the test is root, as the daemon is), no groups,
 * no_new_privs, the limits. The stand-in reports it as a refusal. */
static void
test_helper_is_confined (void)
{
  g_autoptr(GBytes) png = make_file (10, 10, FALSE, FILL_GRADIENT, "png");
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) nothing = NULL;
  g_autofree char *expected = NULL;
  char *dir = NULL;
  char *helper = fake_helper ("echo \"uid=$(id -u) groups=$(id -G) $(grep NoNewPrivs /proc/self/status | tr -d '\\t')"
                              " as=$(ulimit -v) cpu=$(ulimit -t) fsize=$(ulimit -f) core=$(ulimit -c)"
                              " files=$(ulimit -n)\"; exit 3", &dir);
  struct passwd *nobody = getpwnam ("nobody");

  nothing = convert_with_helper (png, helper, &error);
  remove_fake_helper (helper, dir);
  g_assert_null (nothing);
  g_assert_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT);
  g_test_message ("helper: %s", error->message);
  if (geteuid () == 0)
    {
      g_assert_nonnull (nobody);
      expected = g_strdup_printf ("uid=%u groups=%u ", (guint) nobody->pw_uid, (guint) nobody->pw_gid);
      g_assert_true (g_str_has_prefix (error->message, expected));
    }
  g_assert_nonnull (strstr (error->message, "NoNewPrivs:1"));
#ifndef __SANITIZE_ADDRESS__
  g_assert_nonnull (strstr (error->message, "as=1048576 "));
#endif
  g_assert_nonnull (strstr (error->message, "cpu=20 fsize=0 core=0 files=32"));
}

/* A helper gone wrong (as a subverted one might): killed, too much output, not a JPEG, a
 * hostile message. Each is an error, the daemon's side holds no more than the cap. */
static void
test_helper_misbehaving (void)
{
  static const struct { const char *body; int code; const char *in_message; } cases[] = {
    { "kill -SEGV $$", CJ_ERROR_INVALID_ARGUMENT, "signal 11" },
    { "head -c 10000000 /dev/zero; exit 0", CJ_ERROR_INVALID_ARGUMENT, "no usable answer" },
    { "printf 'GIF89a'; exit 0", CJ_ERROR_INVALID_ARGUMENT, "no usable answer" },
    { "head -c 10000000 /dev/zero; exit 3", CJ_ERROR_INVALID_ARGUMENT, "no usable answer" },
    { "printf 'forged\\nline \\033[31m'; exit 3", CJ_ERROR_INVALID_ARGUMENT, "forged\\u000aline \\u001b[31m" },
    { "printf 'oops'; exit 4", CJ_ERROR_FAILED, "oops" },
    { "exit 3", CJ_ERROR_INVALID_ARGUMENT, "cannot be read" },
  };
  g_autoptr(GBytes) png = make_file (10, 10, FALSE, FILL_GRADIENT, "png");

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) nothing = NULL;
      char *dir = NULL;
      char *helper = fake_helper (cases[i].body, &dir);

      nothing = convert_with_helper (png, helper, &error);
      remove_fake_helper (helper, dir);
      g_assert_null (nothing);
      g_test_message ("%s: %s", cases[i].body, error->message);
      g_assert_error (error, CJ_ERROR, cases[i].code);
      g_assert_nonnull (strstr (error->message, cases[i].in_message));
    }
}

/* Hostile input ------------------------------------------------------------------------- */

static void
expect_refused_fd (int fd, const char *what)
{
  g_autoptr(GError) error = NULL;
  gint64 start = g_get_monotonic_time ();
  g_autoptr(GBytes) out = convert_fd (fd, &error);
  double seconds = (g_get_monotonic_time () - start) / 1e6;

  if (out != NULL)
    g_error ("%s: converted (%zu bytes), a refusal was expected", what, g_bytes_get_size (out));
  g_assert_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (error->message);
  g_assert_cmpuint (strlen (error->message), >, 5);
  g_assert_true (g_utf8_validate (error->message, -1, NULL));
  g_test_message ("%s: %s (%.3f s)", what, error->message, seconds);
  if (timing_checked ())
    g_assert_cmpfloat (seconds, <, FAST_REFUSAL);
}

static void
expect_refused (GBytes *input, const char *what)
{
  expect_refused_fd (fd_with_bytes (input), what);
}

static GBytes *
truncated (GBytes *bytes, gsize keep)
{
  return g_bytes_new_from_bytes (bytes, 0, MIN (keep, g_bytes_get_size (bytes)));
}

/* A 119-byte BMP whose info header claims 0xf6f5f4f3 bytes, a 75-byte one whose pixels
 * start at 0xf6ffff35, one whose pixels start inside its header with 299 bits a pixel, and
 * two whose palettes claim up to 0xffffffff colours:
 * gdk-pixbuf's loader would ask for gigabytes before reading on (found by
 * tests/fuzz/fuzz-photo). All refused from the header. */
static void
test_bmp_header_larger_than_file (void)
{
  static const guint8 bmp[] = {
    0x42, 0x4d, 0x66, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x36, 0x00, 0xf1, 0xf2,
    0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xff, 0xc4, 0x00, 0x1f, 0x01, 0x00,
    0x03, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x01, 0x00, 0x00, 0x2a, 0x00,
    0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x00, 0x00, 0x00, 0x01, 0x00, 0x18,
    0x00, 0x7a, 0x00, 0x00, 0x00, 0x00, 0x35, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x3c, 0x99, 0x33, 0xcc, 0x66, 0x49, 0x33, 0xcc, 0x66, 0x33, 0xcc, 0x66, 0x33, 0xcc,
    0x66, 0x33, 0xcc, 0x66, 0x33, 0xcc, 0x66, 0x66, 0x33, 0xcc, 0x66, 0x33, 0xcc, 0x66,
    0x33, 0xcc, 0x66, 0x33, 0xcc, 0x66, 0x33,
  };
  static const guint8 bmp_pixels[] = {
    0x42, 0x4d, 0x66, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x35, 0xff, 0xff, 0xf6,
    0x28, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, 0x00,
    0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x30, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x21, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xcc, 0x66,
    0x33, 0xcc, 0x66, 0x33, 0xcc, 0x66, 0x33, 0xcc, 0x66, 0x33, 0xcc, 0x66, 0x14, 0xcc,
    0x66, 0x33, 0xcc, 0x66, 0x33,
  };
  static const guint8 bmp_inside[] = {
    0x42, 0x4d, 0x66, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1f, 0x00, 0x00, 0x00,
    0x28, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, 0x2b,
    0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x2b, 0x01, 0x00, 0x00, 0x00, 0x00, 0x38,
    0x39, 0x61, 0x01, 0x00, 0x09, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x80, 0x00, 0x00, 0xff, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0xcc, 0x66, 0x33, 0xcc, 0x66, 0x33, 0xcc, 0x66, 0x33, 0xcc, 0x66, 0x33, 0x00,
    0x00, 0x00, 0x00, 0x01, 0x02, 0x03, 0x04, 0x33,
  };
  static const guint8 bmp_palette[] = {
    0x42, 0x4d, 0x66, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x36, 0x00, 0x00, 0x00,
    0x28, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, 0x00,
    0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x30, 0xcc, 0x66, 0x33, 0xcc, 0x66, 0x33, 0xcc,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0x66, 0x36, 0x49, 0xcc, 0x66, 0x33, 0xcc, 0x66, 0x33, 0xcc, 0x66, 0x33,
  };
  static const guint8 bmp_palette4[] = {
    0x42, 0x4d, 0x66, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x36, 0x00, 0x00, 0x00,
    0x28, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, 0x00,
    0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x30,
    0x00, 0x00, 0x00, 0x00, 0x00, 0xcc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0x66, 0x33, 0xcc, 0x66, 0x33, 0xcc, 0x66, 0x33,
  };
  /* A 13-byte info header filling a 27-byte file: its bits a pixel would lie past the end. */
  static const guint8 bmp_short_header[] = {
    0x42, 0x4d, 0x1b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1b, 0x00, 0x00, 0x00,
    0x0d, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01,
  };
  const struct { const guint8 *data; gsize size; } cases[] = {
    { bmp, sizeof bmp }, { bmp_pixels, sizeof bmp_pixels }, { bmp_inside, sizeof bmp_inside },
    { bmp_palette, sizeof bmp_palette }, { bmp_palette4, sizeof bmp_palette4 },
    { bmp_short_header, sizeof bmp_short_header },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) out = convert_fd (fd_with_data (cases[i].data, cases[i].size), &error);

      g_assert_null (out);
      g_assert_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT);
      g_assert_nonnull (strstr (error->message, "header"));
    }
  /* A header that fits is still decoded: a real BMP converts. */
  {
    g_autoptr(GBytes) real = make_file (40, 30, FALSE, FILL_NOISE, "bmp");
    g_autoptr(GError) real_error = NULL;
    g_autoptr(GBytes) jpeg = convert_fd (fd_with_bytes (real), &real_error);
    g_assert_no_error (real_error);
    g_assert_nonnull (jpeg);
  }
}

static void
test_empty_file (void)
{
  expect_refused_fd (fd_with_data ("", 0), "empty file");
}

static void
test_truncated_png (void)
{
  g_autoptr(GBytes) png = make_file (800, 400, FALSE, FILL_NOISE, "png");
  g_autoptr(GBytes) half = truncated (png, g_bytes_get_size (png) / 2);
  g_autoptr(GBytes) header = truncated (png, 33);            /* signature and IHDR only */
  g_autoptr(GBytes) signature = truncated (png, 8);
  g_autoptr(GBytes) no_end = truncated (png, g_bytes_get_size (png) - 12);   /* no IEND */

  expect_refused (half, "PNG cut in half");
  expect_refused (header, "PNG without IDAT");
  expect_refused (signature, "PNG signature only");
  /* Without IEND all the pixels are there: accepted or refused, never a crash. */
  {
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) out = convert_bytes (no_end, &error);
    g_test_message ("PNG without IEND: %s", out != NULL ? "converted" : error->message);
    if (out == NULL)
      g_assert_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT);
  }
}

static void
test_truncated_jpeg (void)
{
  g_autoptr(GdkPixbuf) noise = make_image (800, 400, FALSE, FILL_NOISE);
  g_autoptr(GBytes) jpeg = save (noise, "jpeg", "quality", "90");
  g_autoptr(GBytes) soi = truncated (jpeg, 2);
  g_autoptr(GBytes) header = truncated (jpeg, 200);
  g_autoptr(GBytes) half = truncated (jpeg, g_bytes_get_size (jpeg) / 2);
  g_autoptr(GBytes) most = truncated (jpeg, g_bytes_get_size (jpeg) * 9 / 10);

  expect_refused (soi, "JPEG SOI only");
  expect_refused (header, "JPEG headers only");
  /* libjpeg makes up the missing rows (grey): the converter must notice. */
  expect_refused (half, "JPEG cut in half");
  expect_refused (most, "JPEG cut at 90%");
}

/* Each format cut short, at a quarter and at a half: never stored as if it were whole. */
static void
test_truncated_formats (void)
{
  static const char *const types[] = { "bmp" };
  g_autoptr(GBytes) gif = make_gif (300, 150);

  for (gsize i = 0; i < G_N_ELEMENTS (types); i++)
    {
      int side = 300;
      g_autoptr(GBytes) whole = make_file (side, side, FALSE, FILL_NOISE, types[i]);
      gsize length = g_bytes_get_size (whole);

      for (int quarters = 1; quarters <= 2; quarters++)
        {
          g_autoptr(GBytes) part = truncated (whole, length * (gsize) quarters / 4);
          g_autofree char *what = g_strdup_printf ("%s cut at %d%%", types[i], quarters * 25);
          expect_refused (part, what);
        }
    }
  for (int quarters = 1; quarters <= 2; quarters++)
    {
      g_autoptr(GBytes) part = truncated (gif, g_bytes_get_size (gif) * (gsize) quarters / 4);
      g_autofree char *what = g_strdup_printf ("gif cut at %d%%", quarters * 25);
      expect_refused (part, what);
    }
}

static void
test_corrupt_png (void)
{
  g_autoptr(GBytes) png = make_file (200, 100, FALSE, FILL_GRADIENT, "png");
  gsize length = 0;
  guint8 *data = copy_bytes (png, &length);
  g_autoptr(GBytes) corrupt = NULL;
  guint32 state = 7;

  /* Garbage over the compressed data, keeping the signature and IHDR. */
  for (gsize i = 41; i < length - 12; i++)
    data[i] = (guint8) next_random (&state);
  corrupt = g_bytes_new_take (data, length);
  expect_refused (corrupt, "PNG with garbage data");
}

static void
test_random_bytes (void)
{
  static const guint8 png_signature[] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };
  static const guint8 jpeg_soi[] = { 0xff, 0xd8, 0xff, 0xe0 };
  static const guint8 gif_head[] = { 'G', 'I', 'F', '8', '9', 'a' };
  static const struct { const guint8 *prefix; gsize length; const char *what; } prefixes[] = {
    { NULL, 0, "random bytes" },
    { png_signature, sizeof png_signature, "PNG signature and random bytes" },
    { jpeg_soi, sizeof jpeg_soi, "JPEG marker and random bytes" },
    { gif_head, sizeof gif_head, "GIF header and random bytes" },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (prefixes); i++)
    {
      g_autoptr(GBytes) noise = random_bytes (64 * 1024, 0x1234u + (guint32) i);
      gsize length = 0;
      guint8 *data = copy_bytes (noise, &length);
      g_autoptr(GBytes) input = NULL;

      if (prefixes[i].prefix != NULL)
        memcpy (data, prefixes[i].prefix, prefixes[i].length);
      input = g_bytes_new_take (data, length);
      expect_refused (input, prefixes[i].what);
    }
}

static void
test_text_file (void)
{
  static const char text[] = "Это не картинка.\nThis is not an image either.\n";
  static const char html[] = "<!DOCTYPE html><html><body><img src=\"x.png\"></body></html>\n";
  g_autoptr(GBytes) t = g_bytes_new_static (text, sizeof text - 1);
  g_autoptr(GBytes) h = g_bytes_new_static (html, sizeof html - 1);

  expect_refused (t, "text file");
  expect_refused (h, "HTML file");
}

static void
test_directory_fd (void)
{
  int fd = open (g_get_tmp_dir (), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

  g_assert_cmpint (fd, >=, 0);
  expect_refused_fd (fd, "directory");
}

static void
test_pipe_fd (void)
{
  g_autoptr(GBytes) png = make_file (20, 20, FALSE, FILL_GRADIENT, "png");
  int fds[2];

  /* The pipe holds a valid image: a pipe is refused as such, not for what it carries. */
  g_assert_cmpint (pipe (fds), ==, 0);
  g_assert_cmpint (write (fds[1], g_bytes_get_data (png, NULL), g_bytes_get_size (png)), ==,
                   (gssize) g_bytes_get_size (png));
  close (fds[1]);
  expect_refused_fd (fds[0], "pipe");

  /* And a pipe whose writer never writes nor closes must not block the converter. */
  g_assert_cmpint (pipe (fds), ==, 0);
  expect_refused_fd (fds[0], "pipe left open");
  close (fds[1]);
}

static void
test_other_non_regular_fds (void)
{
  int sv[2];
  int fd = open ("/dev/zero", O_RDONLY | O_CLOEXEC);

  g_assert_cmpint (fd, >=, 0);
  expect_refused_fd (fd, "/dev/zero");
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM, 0, sv), ==, 0);
  expect_refused_fd (sv[0], "socket");
  close (sv[1]);
}

static void
test_unreadable_fd (void)
{
  g_autoptr(GBytes) png = make_file (20, 20, FALSE, FILL_GRADIENT, "png");
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  int fd = g_file_open_tmp ("cj-photo-XXXXXX", &path, &error);
  int write_only;

  g_assert_no_error (error);
  g_assert_true (g_file_set_contents (path, g_bytes_get_data (png, NULL), (gssize) g_bytes_get_size (png), &error));
  g_assert_no_error (error);
  close (fd);
  write_only = open (path, O_WRONLY | O_CLOEXEC);
  g_unlink (path);
  g_assert_cmpint (write_only, >=, 0);
  expect_refused_fd (write_only, "write-only descriptor");

  /* A descriptor number that is not open. */
  fd = open ("/dev/null", O_RDONLY | O_CLOEXEC);
  close (fd);
  expect_refused_fd (fd, "closed descriptor");
}

static void
test_sparse_17_mib (void)
{
  int fd = fd_with_data ("", 0);

  g_assert_cmpint (ftruncate (fd, 17 * 1024 * 1024), ==, 0);
  expect_refused_fd (fd, "sparse 17 MiB file");
}

static void
test_over_input_cap (void)
{
  g_autoptr(GBytes) png = make_file (20, 20, FALSE, FILL_GRADIENT, "png");
  gsize length = g_bytes_get_size (png);
  int fd = fd_with_bytes (png);
  int at_cap = fd_with_bytes (png);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) out = NULL;

  /* A valid PNG followed by padding, one byte over the cap: refused by size. */
  g_assert_cmpint (ftruncate (fd, CJ_PHOTO_MAX_INPUT + 1), ==, 0);
  expect_refused_fd (fd, "valid PNG padded to the cap + 1");

  /* Exactly at the cap it is read (the trailing zeros after IEND are ignored). */
  g_assert_cmpint (ftruncate (at_cap, CJ_PHOTO_MAX_INPUT), ==, 0);
  out = convert_fd (at_cap, &error);
  g_assert_no_error (error);
  g_assert_nonnull (out);
  (void) length;
}

static void
test_ihdr_100000_squared (void)
{
  g_autoptr(GBytes) png = make_file (16, 16, FALSE, FILL_GRADIENT, "png");
  g_autoptr(GBytes) bomb = with_ihdr_size (png, 100000, 100000);
  g_autoptr(GBytes) wide = with_ihdr_size (png, 2000000, 1);     /* few pixels, a bad width */
  g_autoptr(GBytes) check = with_ihdr_size (png, 16, 16);

  /* The CRC is right: the unpatched size converts. */
  g_autoptr(GdkPixbuf) out = expect_converted (check, 16, 16);
  expect_refused (bomb, "PNG IHDR claiming 100000×100000");
  expect_refused (wide, "PNG IHDR claiming 2000000×1 over 16×16 data");
}

static void
test_jpeg_sof_65000_squared (void)
{
  g_autoptr(GdkPixbuf) small = make_image (16, 16, FALSE, FILL_GRADIENT);
  g_autoptr(GBytes) jpeg = save (small, "jpeg", NULL, NULL);
  g_autoptr(GBytes) bomb = with_sof_size (jpeg, 65000, 65000);

  expect_refused (bomb, "JPEG SOF claiming 65000×65000");
}

static void
test_gif_screen_65535_squared (void)
{
  g_autoptr(GBytes) gif = make_gif (4, 4);
  gsize length = 0;
  guint8 *data = copy_bytes (gif, &length);
  g_autoptr(GBytes) bomb = NULL;

  /* The logical screen and the frame both claim 65535×65535; the data has 16 pixels. */
  data[6] = data[7] = data[8] = data[9] = 0xff;
  g_assert_cmpuint (data[13 + 128 * 3], ==, ',');
  memset (data + 13 + 128 * 3 + 5, 0xff, 4);
  bomb = g_bytes_new_take (data, length);
  expect_refused (bomb, "GIF claiming 65535×65535");
}

/* A real decompression bomb, whose pixels are all there: the pixel cap must stop it before
 * the pixels are decoded, so the memory used stays far below what the pixels would take.
 * Run in a subprocess (its own peak RSS, and an address-space limit that keeps a bad
 * converter from taking the machine down). */
typedef struct {
  const char *name;
  const char *format;           /* "png": all the pixels there; "jpeg": a SOF that lies */
  guint32 width, height;
} BombCase;

static const BombCase bomb_cases[] = {
  { "png-8000x6000",   "png",  8000,  6000 },    /* 48 MP, just over the cap: 144 MB of pixels */
  { "png-20000x20000", "png",  20000, 20000 },   /* 400 MP: 1.2 GB of pixels in 5.5 MB of file */
  { "jpeg-65000x65000", "jpeg", 65000, 65000 },  /* even at 1/8: 8125² pixels, 198 MB */
};

static GBytes *
make_bomb (const BombCase *c)
{
  if (g_str_equal (c->format, "png"))
    return make_png_bomb (c->width, c->height);
  else
    {
      g_autoptr(GdkPixbuf) small = make_image (64, 64, FALSE, FILL_NOISE);
      g_autoptr(GBytes) jpeg = save (small, "jpeg", NULL, NULL);
      return with_sof_size (jpeg, c->width, c->height);
    }
}

static void
test_bomb (gconstpointer data)
{
  const BombCase *c = data;

#if defined(__SANITIZE_ADDRESS__)
  /* AddressSanitizer reserves terabytes of address space: the 3 GiB RLIMIT_AS below cannot
   * hold it. The bombs are checked in the normal build. */
  g_test_skip ("address-space limit does not work under AddressSanitizer");
  return;
#endif
  if (g_test_subprocess ())
    {
      g_autoptr(GBytes) bomb = make_bomb (c);
      struct rlimit limit = { (rlim_t) 3 << 30, (rlim_t) 3 << 30 };
      struct rusage before, after;
      g_autofree char *what = g_strdup_printf ("%s (%zu bytes)", c->name, g_bytes_get_size (bomb));
      long grown_kib;

      g_assert_cmpuint (g_bytes_get_size (bomb), <=, CJ_PHOTO_MAX_INPUT);
      g_assert_cmpint (setrlimit (RLIMIT_AS, &limit), ==, 0);
      getrusage (RUSAGE_SELF, &before);
      expect_refused (bomb, what);
      getrusage (RUSAGE_SELF, &after);
      grown_kib = after.ru_maxrss - before.ru_maxrss;
      g_test_message ("%s: peak RSS grew by %ld KiB", what, grown_kib);
      /* Well under the pixels of the smallest bomb (144 MB). */
      g_assert_cmpint (grown_kib, <, 64 * 1024);
      return;
    }
  g_test_trap_subprocess (NULL, 120 * G_USEC_PER_SEC, G_TEST_SUBPROCESS_DEFAULT);
  g_test_trap_assert_passed ();
}

/* A copy of the built helper in a directory anyone may enter (see test_helper). */
static char *
public_helper_copy (char **dir_out)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;
  char *dir = g_dir_make_tmp ("cj-photo-helper-XXXXXX", &error);
  char *path;

  g_assert_no_error (error);
  g_assert_cmpint (g_chmod (dir, 0755), ==, 0);
  path = g_build_filename (dir, "calculate-jabber-photo", NULL);
  g_assert_true (g_file_get_contents (CJ_TEST_PHOTO_HELPER, &contents, &length, &error));
  g_assert_true (g_file_set_contents_full (path, contents, (gssize) length,
                                           G_FILE_SET_CONTENTS_NONE, 0755, &error));
  *dir_out = dir;
  return path;
}

int
main (int argc, char **argv)
{
  g_autofree char *helper_dir = NULL;
  int status;

  g_test_init (&argc, &argv, NULL);
  /* cj_photo_convert_async runs the built helper (the daemon finds it beside itself). */
  test_helper = public_helper_copy (&helper_dir);
  cj_photo_set_helper (test_helper);

  for (gsize i = 0; i < G_N_ELEMENTS (format_cases); i++)
    {
      const FormatCase *c = &format_cases[i];
      g_autofree char *path = g_strdup_printf ("/photo/format/%s/%dx%d%s", c->type, c->width,
                                               c->height, c->alpha ? "-alpha" : "");
      g_test_add_data_func (path, c, test_format);
    }
  g_test_add_func ("/photo/format/gif", test_gif);
  g_test_add_func ("/photo/format/gif/tiny-transparent", test_gif_tiny_transparent);
  g_test_add_func ("/photo/format/webp", test_webp);
  g_test_add_func ("/photo/format/not-allowed", test_not_allowed_formats);
  g_test_add_func ("/photo/format/polyglot", test_polyglot);

  g_test_add_func ("/photo/output/aspect-ratio", test_aspect_ratio_kept);
  g_test_add_func ("/photo/output/noise-fits-budget", test_noise_fits_budget);
  g_test_add_func ("/photo/output/large-noise-fits-budget", test_large_noise_fits_budget);
  g_test_add_func ("/photo/output/exif-orientation", test_exif_orientation);
  g_test_add_func ("/photo/output/exif-orientation-scaled", test_exif_orientation_scaled);
  g_test_add_func ("/photo/output/alpha-flattened", test_alpha_flattened_on_white);
  g_test_add_func ("/photo/async/closes-fd", test_async_closes_fd);
  g_test_add_func ("/photo/helper/converts-and-refuses", test_helper_converts_and_refuses);
  g_test_add_func ("/photo/helper/confined", test_helper_is_confined);
  g_test_add_func ("/photo/helper/misbehaving", test_helper_misbehaving);

  g_test_add_func ("/photo/hostile/empty", test_empty_file);
  g_test_add_func ("/photo/hostile/truncated-png", test_truncated_png);
  g_test_add_func ("/photo/hostile/truncated-jpeg", test_truncated_jpeg);
  g_test_add_func ("/photo/hostile/truncated-formats", test_truncated_formats);
  g_test_add_func ("/photo/hostile/corrupt-png", test_corrupt_png);
  g_test_add_func ("/photo/hostile/random-bytes", test_random_bytes);
  g_test_add_func ("/photo/hostile/text", test_text_file);
  g_test_add_func ("/photo/hostile/directory", test_directory_fd);
  g_test_add_func ("/photo/hostile/pipe", test_pipe_fd);
  g_test_add_func ("/photo/hostile/other-fds", test_other_non_regular_fds);
  g_test_add_func ("/photo/hostile/unreadable-fd", test_unreadable_fd);
  g_test_add_func ("/photo/hostile/sparse-17MiB", test_sparse_17_mib);
  g_test_add_func ("/photo/hostile/input-cap", test_over_input_cap);
  g_test_add_func ("/photo/hostile/bmp-header-larger-than-file", test_bmp_header_larger_than_file);
  g_test_add_func ("/photo/hostile/png-ihdr-100000x100000", test_ihdr_100000_squared);
  g_test_add_func ("/photo/hostile/jpeg-sof-65000x65000", test_jpeg_sof_65000_squared);
  g_test_add_func ("/photo/hostile/gif-65535x65535", test_gif_screen_65535_squared);
  for (gsize i = 0; i < G_N_ELEMENTS (bomb_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/photo/hostile/bomb/%s", bomb_cases[i].name);
      g_test_add_data_func (path, &bomb_cases[i], test_bomb);
    }
  status = g_test_run ();
  g_unlink (test_helper);
  g_rmdir (helper_dir);
  g_free (test_helper);
  return status;
}
