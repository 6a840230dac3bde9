/* `cl-jabber SUBCOMMAND`: the modern form of every operation. */
#include "config.h"
#include "cli.h"

#include <glib/gi18n.h>
#include <string.h>

/* @usage: the positional arguments, already translated. The usage line names the whole
 * command ("cl-jabber user add"), as cli_program() does. */
static int
parse (const char *usage, const char *summary, GOptionEntry *entries, int *argc, char ***argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new (usage);
  g_autoptr(GError) error = NULL;

  g_set_prgname (cli_program ());
  g_option_context_set_summary (context, summary);
  if (entries != NULL)
    g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  cli_add_common_entries (context);
  if (!g_option_context_parse (context, argc, argv, &error))
    return cli_usage_error ("%s", error->message);
  return CLI_EXIT_OK;
}

static int
expect_args (int argc, int expected)
{
  if (argc - 1 != expected)
    return cli_usage_error (_("wrong number of arguments"));
  return CLI_EXIT_OK;
}

/* user ... ------------------------------------------------------------------------------ */

static int
user_add_or_mod (Cli *cli, gboolean add, int argc, char **argv)
{
  gboolean ask = FALSE, from_stdin = FALSE, no_group = FALSE, clear_photo = FALSE;
  g_autofree char *nickname = NULL, *group = NULL, *photo = NULL;
  GOptionEntry entries[] = {
    { "nickname", 'c', 0, G_OPTION_ARG_STRING, &nickname, N_("The nickname other users see"), N_("NICK") },
    { "password", 'p', 0, G_OPTION_ARG_NONE, &ask, N_("Ask for the password"), NULL },
    { "password-stdin", 'P', 0, G_OPTION_ARG_NONE, &from_stdin, N_("Read the password from standard input"), NULL },
    { "group", 'g', 0, G_OPTION_ARG_STRING, &group, N_("Put the user into this group"), N_("GROUP") },
    { "photo", 'i', 0, G_OPTION_ARG_FILENAME, &photo, N_("Set the photo from this image file"), N_("FILE") },
    { "no-group", 0, add ? G_OPTION_FLAG_HIDDEN : 0, G_OPTION_ARG_NONE, &no_group, N_("Take the user out of any group"), NULL },
    { "clear-photo", 0, add ? G_OPTION_FLAG_HIDDEN : 0, G_OPTION_ARG_NONE, &clear_photo, N_("Remove the photo"), NULL },
    { NULL }
  };
  CliUserChange change = { .lock = -1 };
  g_autoptr(GError) error = NULL;
  int status;

  if ((status = parse (_("NAME"), add ? _("Add a Jabber account.") : _("Change a Jabber account."),
                       entries, &argc, &argv)) != CLI_EXIT_OK ||
      (status = expect_args (argc, 1)) != CLI_EXIT_OK)
    return status;
  if ((ask && from_stdin) || (group != NULL && no_group) || (photo != NULL && clear_photo))
    return cli_usage_error (_("conflicting options"));
  if (!add && nickname == NULL && !ask && !from_stdin && group == NULL && !no_group && photo == NULL &&
      !clear_photo)
    return cli_usage_error (_("nothing to change: give -c, -p, -P, -g, --no-group, -i or --clear-photo"));
  change.name = argv[1];
  change.nickname = nickname;
  change.group = no_group ? "" : group;
  change.photo = photo;
  change.clear_photo = clear_photo;
  change.password = cli_password_from_flags (ask, from_stdin, &error);
  if (error != NULL)
    return cli_fail (error);
  status = add ? cli_user_add (cli, &change) : cli_user_modify (cli, &change);
  cli_password_free (change.password);
  return status;
}

static int
user_passwd (Cli *cli, int argc, char **argv)
{
  gboolean from_stdin = FALSE;
  GOptionEntry entries[] = {
    { "password-stdin", 'P', 0, G_OPTION_ARG_NONE, &from_stdin, N_("Read the password from standard input"), NULL },
    { NULL }
  };
  int status;

  if ((status = parse (_("NAME"), _("Change the password."), entries, &argc, &argv)) != CLI_EXIT_OK ||
      (status = expect_args (argc, 1)) != CLI_EXIT_OK)
    return status;
  return cli_user_passwd (cli, argv[1], from_stdin);
}

static int
user_lock (Cli *cli, gboolean lock, int argc, char **argv)
{
  CliUserChange change = { .lock = lock ? 1 : 0 };
  int status;

  if ((status = parse (_("NAME"), lock ? _("Lock an account.") : _("Unlock an account."), NULL, &argc, &argv)) != CLI_EXIT_OK ||
      (status = expect_args (argc, 1)) != CLI_EXIT_OK)
    return status;
  change.name = argv[1];
  return cli_user_modify (cli, &change);
}

static int
user_photo (Cli *cli, int argc, char **argv)
{
  gboolean clear = FALSE;
  g_autofree char *export = NULL;
  GOptionEntry entries[] = {
    { "clear", 0, 0, G_OPTION_ARG_NONE, &clear, N_("Remove the photo"), NULL },
    { "export", 0, 0, G_OPTION_ARG_FILENAME, &export, N_("Write the stored JPEG to FILE (- for standard output)"), N_("FILE") },
    { NULL }
  };
  CliUserChange change = { .lock = -1 };
  int status;

  if ((status = parse (_("NAME [FILE]"), _("Set, remove or export a user's photo."), entries, &argc, &argv)) != CLI_EXIT_OK)
    return status;
  if (argc == 3 && !clear && export == NULL)
    {
      change.name = argv[1];
      change.photo = argv[2];
      return cli_user_modify (cli, &change);
    }
  if (argc != 2 || (clear && export != NULL) || (!clear && export == NULL))
    return cli_usage_error (_("give either FILE, --clear or --export FILE"));
  if (export != NULL)
    return cli_user_export_photo (cli, argv[1], export);
  change.name = argv[1];
  change.clear_photo = TRUE;
  return cli_user_modify (cli, &change);
}

static int
user_import (Cli *cli, int argc, char **argv)
{
  g_autofree char *format = NULL;
  gboolean create_groups = FALSE, update_passwords = FALSE;
  GOptionEntry entries[] = {
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format, N_("csv, json or ldif (default: from the file name, else csv)"), N_("FORMAT") },
    { "create-groups", 0, 0, G_OPTION_ARG_NONE, &create_groups, N_("Make the groups the file names that do not exist"), NULL },
    { "update-passwords", 0, 0, G_OPTION_ARG_NONE, &update_passwords, N_("Also set the passwords of accounts that exist"), NULL },
    { NULL }
  };
  int status;

  if ((status = parse ("FILE|-", _("Import accounts from a CSV, JSON or LDIF file."), entries, &argc, &argv)) != CLI_EXIT_OK ||
      (status = expect_args (argc, 1)) != CLI_EXIT_OK)
    return status;
  if (format != NULL && !g_str_equal (format, "csv") && !g_str_equal (format, "json") && !g_str_equal (format, "ldif"))
    return cli_usage_error (_("the format is csv, json or ldif"));
  return cli_user_import (cli, argv[1], format, create_groups, update_passwords);
}

static int
user_export (Cli *cli, int argc, char **argv)
{
  g_autofree char *format = NULL;
  GOptionEntry entries[] = {
    { "format", 'f', 0, G_OPTION_ARG_STRING, &format, N_("csv (the default) or json"), N_("FORMAT") },
    { NULL }
  };
  int status;

  if ((status = parse ("", _("Write every account (without passwords) to standard output."), entries, &argc, &argv)) != CLI_EXIT_OK ||
      (status = expect_args (argc, 0)) != CLI_EXIT_OK)
    return status;
  return cli_user_export (cli, format);
}

static int
one_name (Cli *cli, const char *summary, int (*run) (Cli *, const char *), int argc, char **argv)
{
  int status;

  if ((status = parse (_("NAME"), summary, NULL, &argc, &argv)) != CLI_EXIT_OK ||
      (status = expect_args (argc, 1)) != CLI_EXIT_OK)
    return status;
  return run (cli, argv[1]);
}

static int
no_args (Cli *cli, const char *summary, int (*run) (Cli *), int argc, char **argv)
{
  int status;

  if ((status = parse ("", summary, NULL, &argc, &argv)) != CLI_EXIT_OK ||
      (status = expect_args (argc, 0)) != CLI_EXIT_OK)
    return status;
  return run (cli);
}

static int
list_args (Cli *cli, const char *summary, int (*run) (Cli *), int argc, char **argv)
{
  GOptionEntry entries[] = {
    { "no-legend", 0, 0, G_OPTION_ARG_NONE, &cli->no_legend,
      N_("No header; fields separated by one tab (for scripts; see also --json)"), NULL },
    { NULL }
  };
  int status;

  if ((status = parse ("", summary, entries, &argc, &argv)) != CLI_EXIT_OK ||
      (status = expect_args (argc, 0)) != CLI_EXIT_OK)
    return status;
  return run (cli);
}

typedef struct {
  const char *verb;
  const char *arguments;
  const char *summary;
} Verb;

static const Verb user_verbs[] = {
  { "add",    N_("[OPTION…] NAME"),   N_("Add a Jabber account") },
  { "passwd", N_("[-P] NAME"),        N_("Change the password") },
  { "lock",   N_("NAME"),             N_("Lock an account") },
  { "unlock", N_("NAME"),             N_("Unlock an account") },
  { "mod",    N_("[OPTION…] NAME"),   N_("Change an account (nickname, password, group, photo)") },
  { "del",    N_("NAME"),             N_("Delete an account") },
  { "list",   N_("[--no-legend]"),    N_("List the accounts") },
  { "show",   N_("NAME"),             N_("Show an account") },
  { "photo",  N_("NAME FILE|--clear|--export FILE"), N_("Set, remove or export a photo") },
  { "import", N_("[--format csv|json|ldif] [--create-groups] [--update-passwords] FILE|-"),
    N_("Import accounts from a CSV, JSON or LDIF file") },
  { "export", N_("[--format csv|json]"), N_("Write every account (without passwords)") },
};

static const Verb group_verbs[] = {
  { "add",            N_("[-m USERS] NAME"), N_("Add a group") },
  { "del",            N_("NAME"),            N_("Delete a group (its members stay)") },
  { "rename",         N_("OLD NEW"),         N_("Rename a group") },
  { "add-members",    N_("GROUP USER…"),     N_("Add users to a group") },
  { "remove-members", N_("GROUP USER…"),     N_("Remove users from a group") },
  { "list",           N_("[--no-legend]"),   N_("List the groups") },
  { "show",           N_("NAME"),            N_("Show a group") },
};

static void
print_verbs (const char *noun, const Verb *verbs, gsize count)
{
  g_autoptr(GString) out = g_string_new (NULL);
  guint width = 0;

  g_string_append_printf (out, _("Usage: cl-jabber %s COMMAND [ARGUMENTS…]\n\nCommands:\n"), noun);
  for (gsize i = 0; i < count; i++)
    {
      g_autofree char *line = g_strdup_printf ("%s %s", verbs[i].verb, _(verbs[i].arguments));
      width = MAX (width, cli_text_width (line));
    }
  for (gsize i = 0; i < count; i++)
    {
      g_autofree char *line = g_strdup_printf ("%s %s", verbs[i].verb, _(verbs[i].arguments));
      g_string_append (out, "  ");
      cli_print_padded (out, line, width + 2);
      g_string_append_printf (out, "%s\n", _(verbs[i].summary));
    }
  g_string_append_printf (out, _("\n“cl-jabber %s COMMAND --help” describes each command; --json prints "
                                 "results and errors as JSON.\n"), noun);
  g_print ("%s", out->str);
}

/* Help, a missing or an unknown command: returns TRUE with *status set when @verb is not
 * one of @verbs; sets the program name ("cl-jabber user add") when it is. */
static gboolean
dispatch_check (const char *noun, const Verb *verbs, gsize count, const char *verb, int *status)
{
  g_autofree char *names = NULL;
  GPtrArray *list;

  if (verb != NULL && (g_str_equal (verb, "--help") || g_str_equal (verb, "-h") || g_str_equal (verb, "help")))
    {
      print_verbs (noun, verbs, count);
      *status = CLI_EXIT_OK;
      return TRUE;
    }
  for (gsize i = 0; verb != NULL && i < count; i++)
    if (g_str_equal (verb, verbs[i].verb))
      {
        g_autofree char *program = g_strdup_printf ("cl-jabber %s %s", noun, verb);
        cli_set_program (program);
        return FALSE;
      }
  list = g_ptr_array_new ();
  for (gsize i = 0; i < count; i++)
    g_ptr_array_add (list, (gpointer) verbs[i].verb);
  g_ptr_array_add (list, NULL);
  names = g_strjoinv (", ", (char **) list->pdata);
  g_ptr_array_free (list, TRUE);
  {
    g_autofree char *program = g_strdup_printf ("cl-jabber %s", noun);
    cli_set_program (program);
  }
  if (verb == NULL)
    *status = cli_usage_error (_("a command is missing (%s)"), names);
  else
    *status = cli_usage_error (_("unknown command “%s” (%s)"), verb, names);
  return TRUE;
}

static int
user_main (Cli *cli, int argc, char **argv)
{
  const char *verb = argc > 1 ? argv[1] : NULL;
  int status;

  if (dispatch_check ("user", user_verbs, G_N_ELEMENTS (user_verbs), verb, &status))
    return status;
  argc--, argv++;
  if (g_str_equal (verb, "add"))
    return user_add_or_mod (cli, TRUE, argc, argv);
  if (g_str_equal (verb, "mod"))
    return user_add_or_mod (cli, FALSE, argc, argv);
  if (g_str_equal (verb, "passwd"))
    return user_passwd (cli, argc, argv);
  if (g_str_equal (verb, "lock") || g_str_equal (verb, "unlock"))
    return user_lock (cli, g_str_equal (verb, "lock"), argc, argv);
  if (g_str_equal (verb, "del"))
    return one_name (cli, _("Delete an account."), cli_user_delete, argc, argv);
  if (g_str_equal (verb, "show"))
    return one_name (cli, _("Show an account."), cli_user_show, argc, argv);
  if (g_str_equal (verb, "list"))
    return list_args (cli, _("List the accounts."), cli_user_list, argc, argv);
  if (g_str_equal (verb, "import"))
    return user_import (cli, argc, argv);
  if (g_str_equal (verb, "export"))
    return user_export (cli, argc, argv);
  return user_photo (cli, argc, argv);
}

/* group ... ----------------------------------------------------------------------------- */

static int
group_add (Cli *cli, int argc, char **argv)
{
  g_autofree char *members = NULL;
  GOptionEntry entries[] = {
    { "members", 'm', 0, G_OPTION_ARG_STRING, &members, N_("Put these users into it (comma separated)"), N_("USERS") },
    { NULL }
  };
  g_auto(GStrv) list = NULL;
  int status;

  if ((status = parse (_("NAME"), _("Add a group."), entries, &argc, &argv)) != CLI_EXIT_OK ||
      (status = expect_args (argc, 1)) != CLI_EXIT_OK)
    return status;
  if (members != NULL)
    list = cli_split_list (members);
  return cli_group_add (cli, argv[1], list);
}

static int
group_members (Cli *cli, gboolean add, int argc, char **argv)
{
  g_autoptr(GPtrArray) users = g_ptr_array_new_with_free_func (g_free);
  int status;

  if ((status = parse (_("GROUP USER…"), add ? _("Add users to a group.") : _("Remove users from a group."),
                       NULL, &argc, &argv)) != CLI_EXIT_OK)
    return status;
  if (argc < 3)
    return cli_usage_error (_("give a group and at least one user"));
  for (int i = 2; i < argc; i++)
    {
      g_auto(GStrv) parts = cli_split_list (argv[i]);
      for (char **p = parts; *p != NULL; p++)
        g_ptr_array_add (users, g_strdup (*p));
    }
  g_ptr_array_add (users, NULL);
  return add ? cli_group_add_members (cli, argv[1], (char **) users->pdata)
             : cli_group_remove_members (cli, argv[1], (char **) users->pdata);
}

static int
group_rename (Cli *cli, int argc, char **argv)
{
  int status;

  if ((status = parse (_("OLD NEW"), _("Rename a group."), NULL, &argc, &argv)) != CLI_EXIT_OK ||
      (status = expect_args (argc, 2)) != CLI_EXIT_OK)
    return status;
  return cli_group_rename (cli, argv[1], argv[2]);
}

static int
group_main (Cli *cli, int argc, char **argv)
{
  const char *verb = argc > 1 ? argv[1] : NULL;
  int status;

  if (dispatch_check ("group", group_verbs, G_N_ELEMENTS (group_verbs), verb, &status))
    return status;
  argc--, argv++;
  if (g_str_equal (verb, "add"))
    return group_add (cli, argc, argv);
  if (g_str_equal (verb, "del"))
    return one_name (cli, _("Delete a group; its members stay, without a group."), cli_group_delete, argc, argv);
  if (g_str_equal (verb, "rename"))
    return group_rename (cli, argc, argv);
  if (g_str_equal (verb, "add-members"))
    return group_members (cli, TRUE, argc, argv);
  if (g_str_equal (verb, "remove-members"))
    return group_members (cli, FALSE, argc, argv);
  if (g_str_equal (verb, "list"))
    return list_args (cli, _("List the groups."), cli_group_list, argc, argv);
  return one_name (cli, _("Show a group."), cli_group_show, argc, argv);
}

static int
verify_main (Cli *cli, int argc, char **argv)
{
  gboolean repair = FALSE;
  GOptionEntry entries[] = {
    { "repair", 0, 0, G_OPTION_ARG_NONE, &repair, N_("Fix what has one deterministic fix (needs the setup authorization)"), NULL },
    { NULL }
  };
  int status;

  if ((status = parse ("", _("Check the directory, ejabberd's configuration and certificate, and ejabberd."),
                       entries, &argc, &argv)) != CLI_EXIT_OK ||
      (status = expect_args (argc, 0)) != CLI_EXIT_OK)
    return status;
  return cli_verify (cli, repair);
}

static void
print_help (void)
{
  g_print (_("Usage: cl-jabber [--json] [--version] COMMAND [ARGUMENTS…]\n"
             "\n"
             "Manage the Jabber (XMPP) service of this server.\n"
             "\n"
             "Commands:\n"
             "  status                          Show the state of the directory and of ejabberd\n"
             "  setup ldap                      Prepare the directory (cl-setup ldap)\n"
             "  setup [OPTION…] jabber          Set up ejabberd (cl-setup jabber)\n"
             "  reload                          Make ejabberd load its configuration again\n"
             "  verify [--repair]               Find (and fix) inconsistencies\n"
             "  user add|passwd|lock|unlock|mod|del|list|show|photo|import|export …\n"
             "  group add|del|rename|add-members|remove-members|list|show …\n"
             "\n"
             "The original commands work too: cl-setup, cl-useradd, cl-passwd, cl-userdel,\n"
             "cl-usermod, cl-groupadd, cl-groupdel, cl-groupmod (ending with “jabber”).\n"
             "“cl-jabber COMMAND --help” describes each command.\n"
             "--json prints results, and errors (on standard error), as JSON.\n"));
}

int
cli_modern_main (Cli *cli, int argc, char **argv)
{
  const char *command = argc > 1 ? argv[1] : NULL;

  if (command == NULL)
    return cli_usage_error (_("a command is missing (status, setup, reload, verify, user, group)"));
  if (g_str_equal (command, "--help") || g_str_equal (command, "-h") || g_str_equal (command, "help"))
    {
      print_help ();
      return CLI_EXIT_OK;
    }
  argc--, argv++;
  if (g_str_equal (command, "status") || g_str_equal (command, "reload"))
    {
      g_autofree char *program = g_strdup_printf ("cl-jabber %s", command);
      cli_set_program (program);
    }
  if (g_str_equal (command, "status"))
    return no_args (cli, _("Show the state of the directory and of ejabberd."), cli_status, argc, argv);
  if (g_str_equal (command, "reload"))
    return no_args (cli, _("Make ejabberd load its configuration again."), cli_reload, argc, argv);
  if (g_str_equal (command, "setup"))
    {
      cli_set_program ("cl-jabber setup");
      return cli_compat_main (cli, "cl-setup", argc, argv);
    }
  if (g_str_equal (command, "user"))
    return user_main (cli, argc, argv);
  if (g_str_equal (command, "verify"))
    return verify_main (cli, argc, argv);
  if (g_str_equal (command, "group"))
    return group_main (cli, argc, argv);
  return cli_usage_error (_("unknown command “%s”"), command);
}
