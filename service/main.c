/* calculate-jabberd: the system service behind org.calculate.Jabber. */
#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <stdlib.h>

#include "cj-audit.h"
#include "cj-validate.h"
#include "cj-config.h"
#include "cj-daemon.h"

int
main (int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  gboolean debug = FALSE;
  gboolean replace = FALSE;
  gboolean version = FALSE;
  /* Made at run time: a macro inside a translatable string would never be translated. */
  g_autofree char *config_help = NULL;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, NULL, N_("FILE") },
    { "debug", 'd', 0, G_OPTION_ARG_NONE, &debug, N_("Print debugging messages"), NULL },
    { "replace", 'r', 0, G_OPTION_ARG_NONE, &replace, N_("Replace a running instance"), NULL },
    { "version", 0, 0, G_OPTION_ARG_NONE, &version, N_("Print the version and exit"), NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(CjConfig) config = NULL;
  g_autoptr(CjDaemon) daemon = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  config_help = g_strdup_printf (_("Read the configuration from FILE (default: %s)"), DEFAULT_CONFIG_FILE);
  entries[0].description = config_help;
  context = g_option_context_new (NULL);
  g_option_context_set_summary (context, _("Manages the Jabber (XMPP) service: users and groups in LDAP, ejabberd's configuration."));
  g_option_context_add_main_entries (context, entries, GETTEXT_PACKAGE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("calculate-jabberd: %s\n", error->message);
      return 2;
    }
  if (version)
    {
      g_print ("calculate-jabberd %s\n", PACKAGE_VERSION);
      return 0;
    }
  if (debug)
    g_setenv ("G_MESSAGES_DEBUG", "all", TRUE);
  /* From here on, the messages go to callers of any language: the daemon speaks the
   * catalog's English on the bus (and in its log), whatever the machine's locale; each
   * client says it in its user's language (docs/dbus-api.md, "Messages and languages"). */
  setlocale (LC_MESSAGES, "C");
  g_unsetenv ("LANGUAGE");

  config = cj_config_load (config_path != NULL ? config_path : DEFAULT_CONFIG_FILE, &error);
  if (config == NULL)
    {
      g_printerr ("calculate-jabberd: %s\n", error->message);
      return 1;
    }
  cj_validate_set_password_min_length (config->password_min_length);
  cj_audit_open ();
  daemon = cj_daemon_new (config, replace, &error);
  if (daemon == NULL)
    {
      g_printerr ("calculate-jabberd: %s\n", error->message);
      return 1;
    }
  return cj_daemon_run (daemon);
}
