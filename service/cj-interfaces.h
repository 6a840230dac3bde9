#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* TRUE when this machine can listen on @address (an IP address, maybe with an IPv6 scope),
 * or when it is the wildcard; InvalidArgument naming the machine's addresses otherwise. */
gboolean cj_interfaces_have_address (const char *address, GError **error);

G_END_DECLS
