/* User photos: an image from a file descriptor the caller opened (the daemon never opens a
 * caller-chosen path as root), decoded with gdk-pixbuf in a separate unprivileged process,
 * oriented, flattened onto white, scaled to fit CJ_PHOTO_MAX_SIDE and encoded as a JPEG of at most
 * CJ_PHOTO_MAX_JPEG bytes, so that a vCard carrying it (base64 adds a third) stays well
 * under ejabberd's 65536-byte max_stanza_size. Hostile input is the expected case: the file
 * must be a regular file of at most CJ_PHOTO_MAX_INPUT bytes and CJ_PHOTO_MAX_PIXELS pixels
 * (checked from the header, before the pixels are decoded), of a format on the allow list. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CJ_PHOTO_MAX_INPUT   (16 * 1024 * 1024)
#define CJ_PHOTO_MAX_PIXELS  (40 * 1000 * 1000)
#define CJ_PHOTO_MAX_SIDE    192
#define CJ_PHOTO_MAX_JPEG    (32 * 1024)

/* Converts in calculate-jabber-photo, a separate unprivileged process with resource limits
 * (service/cj-photo-sandbox.c). Takes ownership of @fd (closed when done). */
void    cj_photo_convert_async  (int fd, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
GBytes *cj_photo_convert_finish (GAsyncResult *result, GError **error);
/* The same, for an image in memory (an import's jpegPhoto), blocking: for worker threads. */
GBytes *cj_photo_convert_bytes  (GBytes *image, GError **error);

/* The conversion itself, in the calling process: what calculate-jabber-photo runs (and the
 * unit tests). Never called by the daemon. */
GBytes *cj_photo_convert        (int fd, GError **error);

/* Tests: the helper program to run instead of the one beside the daemon's executable. */
void    cj_photo_set_helper     (const char *path);

#define CJ_PHOTO_HELPER_NAME     "calculate-jabber-photo"
#define CJ_PHOTO_HELPER_REFUSED  3
#define CJ_PHOTO_HELPER_FAILED   4

G_END_DECLS
