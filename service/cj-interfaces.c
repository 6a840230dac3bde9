/* Which addresses this machine can listen on: `cl-setup --listen ADDRESS` is checked before
 * ejabberd is touched (ejabberd restarted with an address it cannot bind fails with pages of
 * supervisor reports, and the setup must then undo its change). The test is a bind to port 0
 * on the address, which is what ejabberd will do (all of 127.0.0.0/8 is local on Linux
 * without being an interface's address); the interfaces' addresses (getifaddrs) name the
 * choices in the message. */
#include "config.h"
#include "cj-interfaces.h"

#include <glib/gi18n.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "cj-error.h"

static GInetAddress *
address_of (const struct sockaddr *sa)
{
  if (sa == NULL)
    return NULL;
  if (sa->sa_family == AF_INET)
    return g_inet_address_new_from_bytes ((const guint8 *) &((const struct sockaddr_in *) sa)->sin_addr,
                                          G_SOCKET_FAMILY_IPV4);
  if (sa->sa_family == AF_INET6)
    return g_inet_address_new_from_bytes ((const guint8 *) &((const struct sockaddr_in6 *) sa)->sin6_addr,
                                          G_SOCKET_FAMILY_IPV6);
  return NULL;
}

static gboolean
can_bind (const char *text)
{
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new_from_string (text, 0);
  g_autoptr(GSocket) socket = NULL;

  if (address == NULL)
    return FALSE;
  socket = g_socket_new (g_socket_address_get_family (address), G_SOCKET_TYPE_DATAGRAM,
                         G_SOCKET_PROTOCOL_UDP, NULL);
  return socket != NULL && g_socket_bind (socket, address, FALSE, NULL);
}

gboolean
cj_interfaces_have_address (const char *text, GError **error)
{
  g_autofree char *bare = g_strdup (text);
  g_autoptr(GInetAddress) wanted = NULL;
  g_autoptr(GPtrArray) known = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *list = NULL;
  struct ifaddrs *addresses = NULL;
  char *percent = strchr (bare, '%');

  if (percent != NULL)          /* fe80::1%eth0: the scope names the interface */
    *percent = '\0';
  wanted = g_inet_address_new_from_string (bare);
  if (wanted == NULL || g_inet_address_get_is_any (wanted) || can_bind (text))
    return TRUE;                /* not an address (checked elsewhere), every address, or ours */
  if (getifaddrs (&addresses) < 0)
    return TRUE;                /* cannot tell: let ejabberd say */
  for (struct ifaddrs *a = addresses; a != NULL; a = a->ifa_next)
    {
      g_autoptr(GInetAddress) have = address_of (a->ifa_addr);

      if (have == NULL)
        continue;
      if (g_inet_address_equal (have, wanted))
        {
          freeifaddrs (addresses);
          return TRUE;
        }
      if (known->len < 16)
        g_ptr_array_add (known, g_inet_address_to_string (have));
    }
  freeifaddrs (addresses);
  g_ptr_array_add (known, NULL);
  list = g_strjoinv (", ", (char **) known->pdata);
  g_set_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
               _("This machine has no address %s, so ejabberd could not listen on it (its addresses: %s)"),
               bare, list);
  return FALSE;
}
