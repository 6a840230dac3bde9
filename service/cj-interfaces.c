/* Which addresses this machine has: `cl-setup --listen ADDRESS` is checked against them
 * before ejabberd is touched (ejabberd restarted with an address it cannot bind fails with
 * pages of supervisor reports, and the setup must then undo its change). */
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
  if (wanted == NULL || g_inet_address_get_is_any (wanted))
    return TRUE;                /* not an address (checked elsewhere), or every address */
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
