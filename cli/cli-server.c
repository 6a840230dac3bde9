/* The server object: status and setup. */
#include "config.h"
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gunixfdlist.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <unistd.h>

static void
json_field (GString *out, const char *key, GVariant *props, const char *property, gboolean first)
{
  g_autoptr(GVariant) value = g_variant_lookup_value (props, property, NULL);

  if (!first)
    g_string_append_c (out, ',');
  cli_json_string (out, key);
  g_string_append_c (out, ':');
  if (value != NULL)
    cli_json_variant (out, value);
  else
    g_string_append (out, "null");
}

int
cli_status (Cli *cli)
{
  static const char *const fields[][2] = {
    { "ldap_uri", "LdapUri" }, { "base_dn", "BaseDn" },
    { "directory_connected", "DirectoryConnected" }, { "ldap_configured", "LdapConfigured" },
    { "configured", "Configured" }, { "primary_host", "PrimaryHost" }, { "hosts", "Hosts" },
    { "history", "History" }, { "history_directory", "HistoryDirectory" },
    { "listen_address", "ListenAddress" }, { "users", "UserCount" }, { "groups", "GroupCount" },
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) props = cli_get_all (cli, CJ_SERVER_PATH, CJ_IFACE_SERVER, &error);
  const char *uri = "", *base = "", *primary = "", *listen = "", *history_dir = "";
  g_autofree const char **hosts = NULL;
  gboolean connected = FALSE, ldap_ready = FALSE, configured = FALSE, history = FALSE;
  guint32 users = 0, groups = 0;

  if (props == NULL)
    return cli_fail (error);
  if (cli->json)
    {
      g_autoptr(GString) out = g_string_new ("{");
      for (gsize i = 0; i < G_N_ELEMENTS (fields); i++)
        json_field (out, fields[i][0], props, fields[i][1], i == 0);
      g_print ("%s}\n", out->str);
      return CLI_EXIT_OK;
    }
  g_variant_lookup (props, "LdapUri", "&s", &uri);
  g_variant_lookup (props, "BaseDn", "&s", &base);
  g_variant_lookup (props, "DirectoryConnected", "b", &connected);
  g_variant_lookup (props, "LdapConfigured", "b", &ldap_ready);
  g_variant_lookup (props, "Configured", "b", &configured);
  g_variant_lookup (props, "PrimaryHost", "&s", &primary);
  g_variant_lookup (props, "Hosts", "^a&s", &hosts);
  g_variant_lookup (props, "History", "b", &history);
  g_variant_lookup (props, "HistoryDirectory", "&s", &history_dir);
  g_variant_lookup (props, "ListenAddress", "&s", &listen);
  g_variant_lookup (props, "UserCount", "u", &users);
  g_variant_lookup (props, "GroupCount", "u", &groups);

  {
    g_autofree char *directory = g_strdup_printf ("%s (%s), %s", uri, base,
                                                  connected ? _("connected") : _("NOT connected"));
    g_autofree char *host_list = hosts != NULL ? g_strjoinv (", ", (char **) hosts) : NULL;
    g_autofree char *history_text = history ? g_strdup_printf (_("on (%s)"), history_dir) : g_strdup (_("off"));
    g_autofree char *user_count = g_strdup_printf ("%u", users);
    g_autofree char *group_count = g_strdup_printf ("%u", groups);
    /* Labels and values apart, so that the values line up whatever the labels' widths in
     * the caller's language. */
    const char *labels[] = { _("Directory:"), _("Jabber subtree:"), _("Jabber service:"),
                             _("Primary host:"), _("Hosts:"), _("History:"), _("Listen on:"),
                             _("Users:"), _("Groups:") };
    const char *values[] = { directory, ldap_ready ? _("ready") : _("missing (run “cl-setup ldap”)"),
                             configured ? _("configured") : _("not configured (run “cl-setup jabber”)"),
                             primary, host_list, history_text,
                             *listen != '\0' ? listen : _("all addresses"), user_count, group_count };

    cli_print_fields (labels, values, G_N_ELEMENTS (labels));
  }
  return CLI_EXIT_OK;
}

static int
print_report (GVariant *reply)
{
  g_autofree const char **lines = NULL;

  g_variant_get (reply, "(^a&s)", &lines);
  /* The daemon reports in the catalog's English: each line in the caller's language. */
  for (const char **l = lines; l != NULL && *l != NULL; l++)
    {
      g_autofree char *line = cli_translate_remote (*l);
      g_print ("%s\n", line);
    }
  return CLI_EXIT_OK;
}

int
cli_setup_ldap (Cli *cli)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = cli_call (cli, CJ_SERVER_PATH, CJ_IFACE_SERVER, "SetupLdap",
                                        g_variant_new ("(a{sv})", NULL), "(as)", NULL, &error);

  if (reply == NULL)
    return cli_fail (error);
  return print_report (reply);
}

int
cli_setup_jabber (Cli *cli, const CliSetup *setup)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) props = cli_get_all (cli, CJ_SERVER_PATH, CJ_IFACE_SERVER, &error);
  g_autoptr(GUnixFDList) fds = NULL;
  gboolean configured = FALSE;
  char *password = NULL;
  GVariantBuilder options;

  if (props == NULL)
    return cli_fail (error);
  g_variant_lookup (props, "Configured", "b", &configured);

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  /* As the manual says, setup asks for the admin password (at a terminal, every time);
   * without a terminal it is read from standard input, needed the first time only. */
  if (!configured || setup->password_from_stdin || isatty (STDIN_FILENO))
    {
      if (setup->password_from_stdin || !isatty (STDIN_FILENO))
        password = cli_password_stdin (&error);
      else
        password = cli_password_ask (_("Password for the Jabber administrator “admin”: "), TRUE, &error);
      if (password == NULL)
        {
          g_variant_builder_clear (&options);
          return cli_fail (error);
        }
      g_variant_builder_add (&options, "{sv}", CJ_OPT_ADMIN_PASSWORD, g_variant_new_string (password));
      cli_password_free (password);
    }
  if (setup->primary_host != NULL)
    g_variant_builder_add (&options, "{sv}", CJ_OPT_PRIMARY_HOST, g_variant_new_string (setup->primary_host));
  if (setup->hosts != NULL)
    g_variant_builder_add (&options, "{sv}", CJ_OPT_HOSTS,
                           g_variant_new_strv ((const char *const *) setup->hosts, -1));
  if (setup->history >= 0)
    g_variant_builder_add (&options, "{sv}", CJ_OPT_HISTORY, g_variant_new_boolean (setup->history == 1));
  if (setup->listen != NULL)
    g_variant_builder_add (&options, "{sv}", CJ_OPT_LISTEN, g_variant_new_string (setup->listen));
  if (setup->certificate != NULL)
    {
      int fd = g_open (setup->certificate, O_RDONLY | O_CLOEXEC | O_NOCTTY, 0);
      if (fd < 0)
        {
          g_variant_builder_clear (&options);
          g_printerr (_("%s: Cannot open %s: %s\n"), cli_program (), setup->certificate, g_strerror (errno));
          return CLI_EXIT_INVALID;
        }
      fds = g_unix_fd_list_new_from_array (&fd, 1);
      g_variant_builder_add (&options, "{sv}", CJ_OPT_CERTIFICATE, g_variant_new_handle (0));
    }
  reply = cli_call (cli, CJ_SERVER_PATH, CJ_IFACE_SERVER, "Setup", g_variant_new ("(a{sv})", &options),
                    "(as)", fds, &error);
  if (reply == NULL)
    return cli_fail (error);
  return print_report (reply);
}

int
cli_reload (Cli *cli)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = cli_call (cli, CJ_SERVER_PATH, CJ_IFACE_SERVER, "Reload", NULL, NULL, NULL, &error);

  if (reply == NULL)
    return cli_fail (error);
  g_print (_("ejabberd reloaded\n"));
  return CLI_EXIT_OK;
}
