/* cl-jabber, and the original command names installed as links to it. */
#include "config.h"
#include "cli.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <string.h>
#include <unistd.h>

/* --json may stand anywhere; take it out before the subcommand parsers see argv. */
static gboolean
take_json_flag (int *argc, char **argv)
{
  gboolean found = FALSE;
  int j = 0;

  for (int i = 0; i < *argc; i++)
    {
      if (strcmp (argv[i], "--json") == 0)
        found = TRUE;
      else
        argv[j++] = argv[i];
    }
  argv[j] = NULL;
  *argc = j;
  return found;
}

int
main (int argc, char **argv)
{
  g_autofree char *name = g_path_get_basename (argv[0]);
  Cli cli = { 0 };
  int status;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  /* Any other name (a renamed copy, a wrapper) behaves as cl-jabber. */
  if (!cli_compat_is_command (name))
    {
      g_free (name);
      name = g_strdup ("cl-jabber");
    }
  cli_set_program (name);
  /* Registers the error domain, so that the daemon's errors arrive as CJ_ERROR codes. */
  (void) cj_error_quark ();
  cli.json = take_json_flag (&argc, argv);
  cli.interactive = isatty (STDIN_FILENO);

  if (g_str_equal (name, "cl-jabber"))
    status = cli_modern_main (&cli, argc, argv);
  else
    status = cli_compat_main (&cli, name, argc, argv);
  cli_disconnect (&cli);
  return status;
}
