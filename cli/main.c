/* cl-jabber, and the original command names installed as links to it. */
#include "config.h"
#include "cli.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <string.h>
#include <unistd.h>

/* --json and --version may stand anywhere (before a "--"); take them out before the
 * subcommand parsers see argv. */
static gboolean
take_flag (int *argc, char **argv, const char *flag)
{
  gboolean found = FALSE, options = TRUE;
  int j = 0;

  for (int i = 0; i < *argc; i++)
    {
      if (strcmp (argv[i], "--") == 0)
        options = FALSE;
      if (options && strcmp (argv[i], flag) == 0)
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
  /* CJ_LOCALEDIR: the catalogs of a build tree (the sandbox, the tests). */
  bindtextdomain (GETTEXT_PACKAGE, g_getenv ("CJ_LOCALEDIR") != NULL ? g_getenv ("CJ_LOCALEDIR") : LOCALEDIR);
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
  cli.json = take_flag (&argc, argv, "--json");
  cli_set_json_errors (cli.json);
  if (take_flag (&argc, argv, "--version"))
    {
      g_print ("%s (%s) %s\n", name, GETTEXT_PACKAGE, PACKAGE_VERSION);
      return CLI_EXIT_OK;
    }
  cli.interactive = isatty (STDIN_FILENO);

  if (g_str_equal (name, "cl-jabber"))
    status = cli_modern_main (&cli, argc, argv);
  else
    status = cli_compat_main (&cli, name, argc, argv);
  cli_disconnect (&cli);
  return status;
}

void
cli_add_common_entries (GOptionContext *context)
{
  /* Only for --help: main() takes these out of argv before any parser runs. */
  static gboolean unused;
  static GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &unused, N_("Print the result, and any error, as JSON"), NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &unused, N_("Print the version and exit"), NULL },
    { NULL }
  };

  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
}
