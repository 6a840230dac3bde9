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

static gboolean
wants_help (int argc, char **argv)
{
  for (int i = 1; i < argc; i++)
    if (strcmp (argv[i], "--help") == 0 || strcmp (argv[i], "-h") == 0 || strcmp (argv[i], "-?") == 0)
      return TRUE;
  return FALSE;
}

int
main (int argc, char **argv)
{
  g_autofree char *name = g_path_get_basename (argv[0]);
  g_autoptr(GError) error = NULL;
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

  /* --help needs no daemon. */
  if (!wants_help (argc, argv) && !(g_str_equal (name, "cl-jabber") && argc < 2))
    {
      /* The agent first: polkit looks for one when this process's first call arrives. */
      cli_agent_start (&cli);
      if (!cli_connect (&cli, &error))
        {
          g_printerr (_("%s: cannot connect to the system bus: %s\n"), name, error->message);
          cli_agent_stop (&cli);
          return CLI_EXIT_NO_SERVICE;
        }
    }

  if (g_str_equal (name, "cl-jabber"))
    status = cli_modern_main (&cli, argc, argv);
  else
    status = cli_compat_main (&cli, name, argc, argv);
  cli_disconnect (&cli);
  return status;
}
