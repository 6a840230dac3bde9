/* Reading the a{sv} option dictionaries of the API: a key that is not known, or of the wrong
 * type, is an InvalidArgument, never silently ignored. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

typedef struct {
  const char *key;
  const char *type;     /* GVariant type string */
} CjOptionSpec;

/* Checks every key of @options against @specs (terminated by a NULL key). */
gboolean cj_options_check (GVariant *options, const CjOptionSpec *specs, GError **error);

/* The file descriptor an "h" option points at in @fd_list, or -1 with @error set. The
 * descriptor is dup()ed: the caller owns it. */
int      cj_options_get_fd (GVariant *options, const char *key, GUnixFDList *fd_list, GError **error);

/* The same for a handle passed as a method argument. */
int      cj_options_fd_from_handle (gint32 handle, GUnixFDList *fd_list, const char *what,
                                    GError **error);

G_END_DECLS
