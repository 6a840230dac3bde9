/* User photos: an image from a file descriptor the caller opened (the daemon never opens a
 * caller-chosen path as root), decoded with gdk-pixbuf in a worker thread, oriented,
 * flattened onto white, scaled to fit CJ_PHOTO_MAX_SIDE and encoded as a JPEG of at most
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

/* Takes ownership of @fd (closed when done). */
void    cj_photo_convert_async  (int fd, GCancellable *cancellable,
                                 GAsyncReadyCallback callback, gpointer user_data);
GBytes *cj_photo_convert_finish (GAsyncResult *result, GError **error);

/* The same, synchronously (for tests and the worker). */
GBytes *cj_photo_convert        (int fd, GError **error);

G_END_DECLS
