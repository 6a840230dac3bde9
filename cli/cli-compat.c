/* The original Calculate-Server command names, with their syntax: each ends with the service
 * word ("jabber"; cl-setup also takes "ldap"). They translate to the same operations as
 * `cl-jabber`. */
#include "config.h"
#include "cli.h"

#include <glib/gi18n.h>
#include <string.h>

typedef struct _Command Command;
struct _Command {
  const char *name;
  const char *usage;      /* positional arguments, for --help */
  const char *summary;
  int (*run) (Cli *cli, const Command *command, int argc, char **argv);
};

/* The last argument names the service; this program manages "jabber" (and "ldap" for
 * cl-setup). Returns the number of other positional arguments, or -1 after an error. */
static int
check_service (int argc, char **argv, gboolean setup, const char **service, int expected)
{
  const char *services = setup ? "ldap, jabber" : "jabber";

  if (argc < 2)
    {
      cli_usage_error (_("the service word is missing: end the command with %s"), setup ? "ldap|jabber" : "jabber");
      return -1;
    }
  *service = argv[argc - 1];
  if (!(g_str_equal (*service, "jabber") || (setup && g_str_equal (*service, "ldap"))))
    {
      /* `cl-useradd guest2`: the word was forgotten, rather than another service named. */
      if (argc - 1 == expected)
        cli_usage_error (_("the service word is missing: “%s %s jabber”"), cli_program (), argv[argc - 1]);
      else
        cli_usage_error (_("the service “%s” is not managed here: this command manages %s"), *service, services);
      return -1;
    }
  if (argc - 2 != expected)
    {
      cli_usage_error (expected == 0 ? _("unexpected arguments before the service word")
                                     : _("wrong number of arguments"));
      return -1;
    }
  return expected;
}

static int
parse (const Command *command, GOptionEntry *entries, int *argc, char ***argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new (_(command->usage));
  g_autoptr(GError) error = NULL;

  g_set_prgname (cli_program ());
  g_option_context_set_summary (context, _(command->summary));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  cli_add_common_entries (context);
  if (!g_option_context_parse (context, argc, argv, &error))
    return cli_usage_error ("%s", error->message);
  return CLI_EXIT_OK;
}

static int
bad_check (int result)
{
  return CLI_EXIT_USAGE;
}

static int
cl_setup (Cli *cli, const Command *command, int argc, char **argv)
{
  g_autofree char *hosts = NULL, *history = NULL, *listen = NULL, *certificate = NULL, *primary = NULL;
  gboolean from_stdin = FALSE;
  GOptionEntry entries[] = {
    { "hosts", 0, 0, G_OPTION_ARG_STRING, &hosts, N_("Extra Jabber hosts, comma separated"), N_("HOSTS") },
    { "history", 0, 0, G_OPTION_ARG_STRING, &history, N_("Log users' messages (on or off)"), "on|off" },
    { "listen", 0, 0, G_OPTION_ARG_STRING, &listen, N_("Serve only on this IP address (\"\" for all)"), N_("ADDRESS") },
    { "certificate", 0, 0, G_OPTION_ARG_FILENAME, &certificate, N_("PEM file with the TLS certificate and key"), N_("FILE") },
    { "primary-host", 0, 0, G_OPTION_ARG_STRING, &primary, N_("The host of every JID (default: this machine's name)"), N_("HOST") },
    { "password-stdin", 'P', 0, G_OPTION_ARG_NONE, &from_stdin, N_("Read the admin password from standard input"), NULL },
    { NULL }
  };
  const char *service;
  g_auto(GStrv) host_list = NULL;
  CliSetup setup = { 0 };
  int status, checked;

  if ((status = parse (command, entries, &argc, &argv)) != CLI_EXIT_OK)
    return status;
  if ((checked = check_service (argc, argv, TRUE, &service, 0)) < 0)
    return bad_check (checked);
  if (g_str_equal (service, "ldap"))
    {
      if (hosts != NULL || history != NULL || listen != NULL || certificate != NULL || primary != NULL)
        return cli_usage_error (_("these options are for “cl-setup jabber”"));
      return cli_setup_ldap (cli);
    }
  setup.history = -1;
  if (history != NULL)
    {
      if (g_str_equal (history, "on") || g_str_equal (history, "yes"))
        setup.history = 1;
      else if (g_str_equal (history, "off") || g_str_equal (history, "no"))
        setup.history = 0;
      else
        return cli_usage_error (_("--history takes on or off"));
    }
  if (hosts != NULL)
    setup.hosts = host_list = cli_split_list (hosts);
  setup.listen = listen;
  setup.certificate = certificate;
  setup.primary_host = primary;
  setup.password_from_stdin = from_stdin;
  return cli_setup_jabber (cli, &setup);
}

static int
cl_useradd (Cli *cli, const Command *command, int argc, char **argv)
{
  gboolean ask = FALSE, from_stdin = FALSE;
  g_autofree char *nickname = NULL, *image = NULL, *group = NULL;
  GOptionEntry entries[] = {
    { "password", 'p', 0, G_OPTION_ARG_NONE, &ask, N_("Ask for the password (twice, without echo)"), NULL },
    { "password-stdin", 'P', 0, G_OPTION_ARG_NONE, &from_stdin, N_("Read the password from standard input"), NULL },
    { "comment", 'c', 0, G_OPTION_ARG_STRING, &nickname, N_("The nickname other users see"), N_("NICK") },
    { "image", 'i', 0, G_OPTION_ARG_FILENAME, &image, N_("A photo (any common image format)"), N_("FILE") },
    { "group", 'g', 0, G_OPTION_ARG_STRING, &group, N_("Put the user into this group"), N_("GROUP") },
    { NULL }
  };
  CliUserChange change = { .lock = -1 };
  g_autoptr(GError) error = NULL;
  const char *service;
  int status, checked;

  if ((status = parse (command, entries, &argc, &argv)) != CLI_EXIT_OK)
    return status;
  if ((checked = check_service (argc, argv, FALSE, &service, 1)) < 0)
    return bad_check (checked);
  if (ask && from_stdin)
    return cli_usage_error (_("-p and -P exclude each other"));
  change.name = argv[1];
  change.nickname = nickname;
  change.photo = image;
  change.group = group;
  change.password = cli_password_from_flags (ask, from_stdin, &error);
  if (error != NULL)
    return cli_fail (error);
  status = cli_user_add (cli, &change);
  cli_password_free (change.password);
  return status;
}

static int
cl_passwd (Cli *cli, const Command *command, int argc, char **argv)
{
  gboolean from_stdin = FALSE;
  GOptionEntry entries[] = {
    { "password-stdin", 'P', 0, G_OPTION_ARG_NONE, &from_stdin, N_("Read the password from standard input"), NULL },
    { NULL }
  };
  const char *service;
  int status, checked;

  if ((status = parse (command, entries, &argc, &argv)) != CLI_EXIT_OK)
    return status;
  if ((checked = check_service (argc, argv, FALSE, &service, 1)) < 0)
    return bad_check (checked);
  return cli_user_passwd (cli, argv[1], from_stdin);
}

static int
cl_name_only (Cli *cli, const Command *command, int argc, char **argv, int (*run) (Cli *, const char *))
{
  GOptionEntry entries[] = { { NULL } };
  const char *service;
  int status, checked;

  if ((status = parse (command, entries, &argc, &argv)) != CLI_EXIT_OK)
    return status;
  if ((checked = check_service (argc, argv, FALSE, &service, 1)) < 0)
    return bad_check (checked);
  return run (cli, argv[1]);
}

static int
group_add (Cli *cli, const char *name)
{
  return cli_group_add (cli, name, NULL);
}

static int
cl_userdel (Cli *cli, const Command *command, int argc, char **argv)
{
  return cl_name_only (cli, command, argc, argv, cli_user_delete);
}

static int
cl_groupadd (Cli *cli, const Command *command, int argc, char **argv)
{
  return cl_name_only (cli, command, argc, argv, group_add);
}

static int
cl_groupdel (Cli *cli, const Command *command, int argc, char **argv)
{
  return cl_name_only (cli, command, argc, argv, cli_group_delete);
}

static int
cl_usermod (Cli *cli, const Command *command, int argc, char **argv)
{
  gboolean lock = FALSE, unlock = FALSE, no_image = FALSE;
  g_autofree char *nickname = NULL, *image = NULL, *group = NULL;
  GOptionEntry entries[] = {
    { "lock", 'L', 0, G_OPTION_ARG_NONE, &lock, N_("Lock the account"), NULL },
    { "unlock", 'U', 0, G_OPTION_ARG_NONE, &unlock, N_("Unlock the account"), NULL },
    { "comment", 'c', 0, G_OPTION_ARG_STRING, &nickname, N_("Set the nickname"), N_("NICK") },
    { "group", 'g', 0, G_OPTION_ARG_STRING, &group, N_("Move the user into this group (\"\" for none)"), N_("GROUP") },
    { "image", 'i', 0, G_OPTION_ARG_FILENAME, &image, N_("Set the photo"), N_("FILE") },
    { "no-image", 'I', 0, G_OPTION_ARG_NONE, &no_image, N_("Remove the photo"), NULL },
    { NULL }
  };
  CliUserChange change = { .lock = -1 };
  const char *service;
  int status, checked;

  if ((status = parse (command, entries, &argc, &argv)) != CLI_EXIT_OK)
    return status;
  if ((checked = check_service (argc, argv, FALSE, &service, 1)) < 0)
    return bad_check (checked);
  if (lock && unlock)
    return cli_usage_error (_("-L and -U exclude each other"));
  if (image != NULL && no_image)
    return cli_usage_error (_("-i and -I exclude each other"));
  if (!lock && !unlock && nickname == NULL && group == NULL && image == NULL && !no_image)
    return cli_usage_error (_("nothing to change: give -L, -U, -c, -g, -i or -I"));
  change.name = argv[1];
  change.lock = lock ? 1 : unlock ? 0 : -1;
  change.nickname = nickname;
  change.group = group;
  change.photo = image;
  change.clear_photo = no_image;
  return cli_user_modify (cli, &change);
}

static int
cl_groupmod (Cli *cli, const Command *command, int argc, char **argv)
{
  g_autofree char *new_name = NULL, *add = NULL, *remove = NULL;
  GOptionEntry entries[] = {
    { "new-name", 'n', 0, G_OPTION_ARG_STRING, &new_name, N_("Rename the group to NEW"), N_("NEW") },
    { "add", 'a', 0, G_OPTION_ARG_STRING, &add, N_("Add these users (comma separated)"), N_("USERS") },
    { "delete", 'd', 0, G_OPTION_ARG_STRING, &remove, N_("Remove these users (comma separated)"), N_("USERS") },
    { NULL }
  };
  const char *service;
  const char *group;
  g_auto(GStrv) add_list = NULL;
  g_auto(GStrv) remove_list = NULL;
  int status, checked;

  if ((status = parse (command, entries, &argc, &argv)) != CLI_EXIT_OK)
    return status;
  if ((checked = check_service (argc, argv, FALSE, &service, 1)) < 0)
    return bad_check (checked);
  if (new_name == NULL && add == NULL && remove == NULL)
    return cli_usage_error (_("nothing to change: give -n, -a or -d"));
  group = argv[1];
  add_list = add != NULL ? cli_split_list (add) : NULL;
  remove_list = remove != NULL ? cli_split_list (remove) : NULL;
  if (add_list != NULL && add_list[0] == NULL)
    return cli_usage_error (_("-a needs user names"));
  if (remove_list != NULL && remove_list[0] == NULL)
    return cli_usage_error (_("-d needs user names"));
  /* One call for all of them: one authorization. */
  return cli_group_modify (cli, group, add_list, remove_list, new_name);
}

static const Command commands[] = {
  { "cl-setup",    N_("ldap|jabber"),  N_("Set up the directory (ldap) or the Jabber service (jabber)."), cl_setup },
  { "cl-useradd",  N_("NAME jabber"),  N_("Add a Jabber account."), cl_useradd },
  { "cl-passwd",   N_("NAME jabber"),  N_("Change the password of a Jabber account."), cl_passwd },
  { "cl-userdel",  N_("NAME jabber"),            N_("Delete a Jabber account (and take it out of its group)."), cl_userdel },
  { "cl-usermod",  N_("NAME jabber"),  N_("Change a Jabber account: lock, unlock, nickname, group, photo."), cl_usermod },
  { "cl-groupadd", N_("NAME jabber"),            N_("Add a Jabber group (its name is what users see)."), cl_groupadd },
  { "cl-groupdel", N_("NAME jabber"),            N_("Delete a Jabber group; its members stay, without a group."), cl_groupdel },
  { "cl-groupmod", N_("GROUP jabber"), N_("Rename a Jabber group or change its members."), cl_groupmod },
};

gboolean
cli_compat_is_command (const char *name)
{
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (commands[i].name, name) == 0)
      return TRUE;
  return FALSE;
}

int
cli_compat_main (Cli *cli, const char *name, int argc, char **argv)
{
  for (gsize i = 0; i < G_N_ELEMENTS (commands); i++)
    if (strcmp (commands[i].name, name) == 0)
      return commands[i].run (cli, &commands[i], argc, argv);
  g_return_val_if_reached (CLI_EXIT_USAGE);
}
