/* ejabberd's failures in one line. A command of ejabberd's (ejabberdctl, a restart) that
 * fails may print pages: Erlang supervisor reports, the same one twice. The caller gets
 * the cause when it is a known one, else the first meaningful line, cut short; the whole
 * output goes to the daemon's log for whoever needs it. */
#include "config.h"
#include "cj-ejabberd.h"

#include <glib/gi18n.h>
#include <string.h>

#define MAX_LINE 200

static const struct {
  const char *marker;
  const char *cause;
} causes[] = {
  { "eaddrnotavail", N_("ejabberd cannot listen on its address: this machine does not have it") },
  { "eaddrinuse",    N_("ejabberd cannot listen: another program uses its port") },
  { "eacces",        N_("ejabberd was refused access to a file or a port") },
  { "nxdomain",      N_("ejabberd cannot resolve a host name it was given") },
  { "nodedown",      N_("ejabberd is not running") },
  { "is not running", N_("ejabberd is not running") },
  { "econnrefused",  N_("ejabberd cannot reach a server it needs (connection refused): is slapd running?") },
};

char *
cj_ejabberd_summarize (const char *output)
{
  g_autofree char *lower = g_ascii_strdown (output != NULL ? output : "", -1);
  g_auto(GStrv) lines = NULL;

  if (output == NULL || *output == '\0')
    return g_strdup (_("no message"));
  for (gsize i = 0; i < G_N_ELEMENTS (causes); i++)
    if (strstr (lower, causes[i].marker) != NULL)
      return g_strdup (_(causes[i].cause));
  if (strchr (output, '\n') == NULL && strlen (output) <= MAX_LINE)
    return g_strdup (output);
  lines = g_strsplit (output, "\n", -1);
  for (char **l = lines; *l != NULL; l++)
    {
      g_strstrip (*l);
      /* Report banners and Erlang terms say little alone. */
      if (**l == '\0' || g_str_has_prefix (*l, "=") || **l == '{' || **l == '[')
        continue;
      if (g_utf8_strlen (*l, -1) > MAX_LINE)
        {
          g_autofree char *cut = g_utf8_substring (*l, 0, MAX_LINE);
          return g_strdup_printf ("%s…", cut);
        }
      return g_strdup (*l);
    }
  return g_strdup (_("ejabberd failed (see its log)"));
}
