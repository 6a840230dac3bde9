#include "config.h"
#include "cj-setup-jabber.h"

#include <glib/gi18n.h>
#include <string.h>
#include <unistd.h>

#include "cj-audit.h"
#include "cj-common.h"
#include "cj-ejabberd-config.h"
#include "cj-ejabberd-files.h"
#include "cj-error.h"
#include "cj-interfaces.h"
#include "cj-health.h"
#include "cj-options.h"
#include "cj-outcome.h"
#include "cj-setup-ldap.h"
#include "cj-validate.h"

typedef struct {
  CjDaemon              *daemon;
  GDBusMethodInvocation *invocation;
  char                  *primary;
  char                 **hosts;       /* primary first */
  gboolean               history;
  char                  *listen;
  char                  *admin_password;
  CjStoreRequest        *admin_request;   /* kept: its outcome may have to be found later */
  int                    certificate_fd;
  GPtrArray             *report;
  gboolean               self_signed;        /* this setup made the certificate */
  char                 **kept_self_signed;   /* hosts of an earlier self-signed one kept */
} Setup;

static void
setup_free (Setup *setup)
{
  if (setup->admin_password != NULL)
    explicit_bzero (setup->admin_password, strlen (setup->admin_password));
  g_free (setup->admin_password);
  g_clear_pointer (&setup->admin_request, cj_store_request_free);
  g_free (setup->primary);
  g_strfreev (setup->hosts);
  g_free (setup->listen);
  g_strfreev (setup->kept_self_signed);
  if (setup->certificate_fd >= 0)
    close (setup->certificate_fd);
  g_clear_pointer (&setup->report, g_ptr_array_unref);
  setup->daemon->setup_running = FALSE;
  g_free (setup);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Setup, setup_free)

static void
finish (Setup *setup, GError *error)
{
  /* ejabberd was restarted (or tried to be): what answers now. */
  cj_health_check (setup->daemon);
  if (setup->invocation == NULL)
    {
      /* The daemon's own refresh (cj_setup_jabber_refresh_outdated): nobody to answer. */
      if (error != NULL)
        g_warning ("could not render ejabberd's configuration again: %s", error->message);
      else
        g_message ("rendered ejabberd's configuration again and restarted ejabberd");
      g_clear_error (&error);
      setup_free (setup);
      return;
    }
  if (error != NULL)
    {
      cj_daemon_fail (setup->invocation, NULL, error);
      setup_free (setup);
      return;
    }
  cj_audit_finish (setup->invocation, NULL, NULL);
  /* Configured, Hosts, ... reach the bus before the reply. */
  g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (setup->daemon->server));
  g_ptr_array_add (setup->report, NULL);
  /* Setup answers with its report; Reload, the same work, answers nothing. */
  if (g_str_equal (g_dbus_method_invocation_get_method_name (setup->invocation), "Reload"))
    g_dbus_method_invocation_return_value (setup->invocation, NULL);
  else
    g_dbus_method_invocation_return_value (setup->invocation,
                                           g_variant_new ("(^as)", (char **) setup->report->pdata));
  setup_free (setup);
}

static char *
state_path (CjDaemon *daemon)
{
  return g_build_filename (daemon->config->state_dir, "server.conf", NULL);
}

/* The state: StateDirectory/server.conf, read back by cj_server_object_load_state. */
static gboolean
save_state (Setup *setup, GError **error)
{
  CjDaemon *daemon = setup->daemon;
  g_autofree char *path = state_path (daemon);
  g_autoptr(GKeyFile) file = g_key_file_new ();

  g_key_file_set_boolean (file, "Jabber", "Configured", TRUE);
  g_key_file_set_string (file, "Jabber", "PrimaryHost", setup->primary);
  g_key_file_set_string_list (file, "Jabber", "Hosts", (const char *const *) setup->hosts + 1,
                              g_strv_length (setup->hosts) - 1);
  g_key_file_set_boolean (file, "Jabber", "History", setup->history);
  g_key_file_set_string (file, "Jabber", "ListenAddress", setup->listen);
  if (setup->self_signed)
    g_key_file_set_string_list (file, "Jabber", "SelfSignedFor", (const char *const *) setup->hosts,
                                g_strv_length (setup->hosts));
  else if (setup->kept_self_signed != NULL)
    g_key_file_set_string_list (file, "Jabber", "SelfSignedFor", (const char *const *) setup->kept_self_signed,
                                g_strv_length (setup->kept_self_signed));
  if (g_mkdir_with_parents (daemon->config->state_dir, 0755) < 0 ||
      !g_key_file_save_to_file (file, path, error))
    {
      if (error != NULL && *error == NULL)
        g_set_error (error, CJ_ERROR, CJ_ERROR_FAILED, _("Cannot create %s"), daemon->config->state_dir);
      return FALSE;
    }
  return cj_server_object_load_state (daemon, error);
}

static void
finish_setup (Setup *setup)
{
  GError *error = NULL;

  if (!save_state (setup, &error))
    {
      finish (setup, error);
      return;
    }
  finish (setup, NULL);
}

static void store_admin (Setup *setup);

static void
on_restored_restart (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  CjEjabberd *ejabberd = user_data;

  if (!cj_ejabberd_restart_finish (ejabberd, result, &error))
    g_warning ("ejabberd did not come back with its previous configuration either: %s", error->message);
}

static void
on_restarted (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Setup *setup = user_data;
  CjDaemon *daemon = setup->daemon;
  GError *error = NULL;

  if (!cj_ejabberd_restart_finish (daemon->ejabberd, result, &error))
    {
      g_autoptr(GError) restore_error = NULL;
      GError *reported;

      if (!cj_ejabberd_files_restore (daemon->config->ejabberd_config, &restore_error))
        g_warning ("%s", restore_error->message);
      else
        cj_ejabberd_restart_async (daemon->ejabberd, on_restored_restart, daemon->ejabberd);
      reported = g_error_new (CJ_ERROR, CJ_ERROR_FAILED,
                              _("ejabberd did not start with the new configuration, the previous one "
                                "was put back: %s"), error->message);
      g_error_free (error);
      finish (setup, reported);
      return;
    }
  g_ptr_array_add (setup->report, g_strdup (_("Restarted ejabberd")));
  /* The admin account last: a setup that failed before leaves the directory as it was. */
  if (setup->admin_password != NULL)
    store_admin (setup);
  else
    finish_setup (setup);
}

static void
on_files_written (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Setup *setup = user_data;
  GError *error = NULL;
  gboolean made_self_signed = FALSE;
  g_autoptr(GPtrArray) lines = cj_ejabberd_files_write_finish (result, &made_self_signed, &error);

  if (lines == NULL)
    {
      finish (setup, error);
      return;
    }
  setup->self_signed = made_self_signed;
  for (guint i = 0; i < lines->len; i++)
    g_ptr_array_add (setup->report, g_strdup (lines->pdata[i]));
  cj_ejabberd_restart_async (setup->daemon->ejabberd, on_restarted, setup);
}

/* The hosts the self-signed certificate in use was made for (NULL: it is not ours). */
static char **
self_signed_hosts (Setup *setup)
{
  g_autofree char *path = state_path (setup->daemon);
  g_autoptr(GKeyFile) file = g_key_file_new ();

  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, NULL))
    return NULL;
  return g_key_file_get_string_list (file, "Jabber", "SelfSignedFor", NULL, NULL);
}

static gboolean
self_signed_hosts_changed (Setup *setup)
{
  g_auto(GStrv) made_for = setup->certificate_fd < 0 ? self_signed_hosts (setup) : NULL;

  return made_for != NULL && !g_strv_equal ((const char *const *) made_for, (const char *const *) setup->hosts);
}

CjEjabberdFiles *
cj_setup_jabber_files_new (CjDaemon *daemon, const char *const *hosts, gboolean history,
                           const char *listen)
{
  const CjConfig *config = daemon->config;
  CjEjabberdFiles *files = g_new0 (CjEjabberdFiles, 1);

  files->config_file = g_strdup (config->ejabberd_config);
  files->certificate_file = g_strdup (config->certificate_file);
  files->secret_file = cj_setup_ldap_secret_path (config->state_dir);
  files->certificate_fd = -1;
  files->hosts = g_strdupv ((char **) hosts);
  files->history = history;
  files->history_dir = g_strdup (config->history_dir);
  files->listen = g_strdup (listen);
  files->client_port = config->client_port;
  files->server_port = config->server_port;
  files->ldap_server = g_strdup (config->ejabberd_ldap_server);
  files->ldap_port = config->ejabberd_ldap_port;
  files->ldap_rootdn = cj_setup_ldap_ejabberd_dn (daemon->directory);
  files->users_dn = g_strdup (cj_directory_get_users_dn (daemon->directory));
  files->jabber_dn = g_strdup (cj_directory_get_jabber_dn (daemon->directory));
  files->api_socket = g_strdup (config->api_socket);
  return files;
}

static void
write_files (Setup *setup)
{
  CjEjabberdFiles *files = cj_setup_jabber_files_new (setup->daemon, (const char *const *) setup->hosts,
                                                      setup->history, setup->listen);

  files->certificate_fd = setup->certificate_fd;
  setup->certificate_fd = -1;
  /* A certificate we made ourselves is made again when the hosts it names changed. */
  files->renew_self_signed = self_signed_hosts_changed (setup);
  if (setup->certificate_fd < 0)
    setup->kept_self_signed = self_signed_hosts (setup);
  cj_ejabberd_files_write_async (files, on_files_written, setup);
}

static void
on_admin_stored (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Setup *setup = user_data;
  GError *error = NULL;
  g_autoptr(CjChanges) changes = cj_store_run_finish (setup->daemon->directory, result, &error);

  if (changes == NULL)
    {
      if (g_error_matches (error, CJ_ERROR, CJ_ERROR_OUTCOME_UNKNOWN))
        cj_outcome_watch (setup->daemon, setup->invocation, CJ_ADMIN_ACCOUNT, setup->admin_request);
      finish (setup, error);
      return;
    }
  cj_daemon_apply_changes (setup->daemon, changes);
  finish_setup (setup);
}

/* The administrator is an ordinary Jabber account named admin, listed in ejabberd's admin
 * ACL on every host. */
static void
store_admin (Setup *setup)
{
  CjDaemon *daemon = setup->daemon;
  CjEntry *admin = cj_registry_find_user (daemon->registry, CJ_ADMIN_ACCOUNT);
  CjStoreRequest *request;

  if (admin != NULL)
    {
      request = cj_store_request_new (CJ_STORE_MODIFY_USER);
      request->dn = g_strdup (admin->dn);
      request->name = g_strdup (CJ_ADMIN_ACCOUNT);
      g_ptr_array_add (setup->report, g_strdup_printf (_("Set the password of admin@%s"), setup->primary));
    }
  else
    {
      request = cj_store_request_new (CJ_STORE_ADD_USER);
      request->name = g_strdup (CJ_ADMIN_ACCOUNT);
      request->nickname = g_strdup ("Administrator");
      request->jid = g_strdup_printf (CJ_ADMIN_ACCOUNT "@%s", setup->primary);
      g_ptr_array_add (setup->report, g_strdup_printf (_("Created the administrator account admin@%s"), setup->primary));
    }
  request->password = g_steal_pointer (&setup->admin_password);
  setup->admin_request = cj_store_request_ref (request);
  cj_store_run_async (daemon->directory, request, NULL, on_admin_stored, setup);
}

/* Options ---------------------------------------------------------------------------------- */

static gboolean
read_options (Setup *setup, GVariant *options, GUnixFDList *fd_list, GError **error)
{
  CjServer *server = setup->daemon->server;
  const char *password = NULL, *primary = NULL, *listen = NULL;
  g_autofree const char **extra = NULL;
  const char *const *current = cj_server_get_hosts (server);
  g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func (g_free);

  /* What the caller sent was checked by the gate (cj_arguments_setup); what comes from
   * the saved state is checked again below (it may have been edited by hand). */
  if (g_variant_lookup (options, CJ_OPT_ADMIN_PASSWORD, "&s", &password))
    setup->admin_password = g_strdup (password);
  else if (!cj_server_get_configured (server) ||
           cj_registry_find_user (setup->daemon->registry, CJ_ADMIN_ACCOUNT) == NULL)
    {
      g_set_error_literal (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                           _("The password of the Jabber administrator (admin) is needed the first time"));
      return FALSE;
    }

  if (!g_variant_lookup (options, CJ_OPT_PRIMARY_HOST, "&s", &primary))
    primary = cj_server_get_primary_host (server);
  if (!cj_validate_host (primary, error))
    return FALSE;
  setup->primary = g_ascii_strdown (primary, -1);
  g_ptr_array_add (hosts, g_strdup (setup->primary));
  /* Extra hosts: the given ones replace the current ones; without the option they stay. */
  if (!g_variant_lookup (options, CJ_OPT_HOSTS, "^a&s", &extra))
    extra = current != NULL && current[0] != NULL ? g_memdup2 (current + 1, sizeof (char *) * g_strv_length ((char **) current)) : NULL;
  for (const char **h = extra; h != NULL && *h != NULL; h++)
    {
      g_autofree char *lower = NULL;

      if (!cj_validate_host (*h, error))
        return FALSE;
      lower = g_ascii_strdown (*h, -1);
      if (!g_ptr_array_find_with_equal_func (hosts, lower, g_str_equal, NULL))
        g_ptr_array_add (hosts, g_steal_pointer (&lower));
    }
  g_ptr_array_add (hosts, NULL);
  setup->hosts = (char **) g_ptr_array_free (g_steal_pointer (&hosts), FALSE);

  if (!g_variant_lookup (options, CJ_OPT_HISTORY, "b", &setup->history))
    setup->history = cj_server_get_history (server);
  if (!g_variant_lookup (options, CJ_OPT_LISTEN, "&s", &listen))
    listen = cj_server_get_listen_address (server);
  /* A new address is checked against the machine's before ejabberd is touched. */
  else if (*listen != '\0' && !cj_interfaces_have_address (listen, error))
    return FALSE;
  if (listen != NULL && *listen != '\0' && !cj_validate_ip_address (listen, error))
    return FALSE;
  setup->listen = g_strdup (listen != NULL ? listen : "");

  if (g_variant_lookup (options, CJ_OPT_CERTIFICATE, "h", NULL) &&
      (setup->certificate_fd = cj_options_get_fd (options, CJ_OPT_CERTIFICATE, fd_list, error)) < 0)
    return FALSE;
  return TRUE;
}

gboolean
cj_setup_jabber_handle (CjServer *server, GDBusMethodInvocation *invocation, GUnixFDList *fd_list,
                        GVariant *options, CjDaemon *daemon)
{
  g_autoptr(Setup) setup = NULL;
  GError *error = NULL;

  if (daemon->setup_running)
    return cj_daemon_fail (invocation, NULL,
                           g_error_new_literal (CJ_ERROR, CJ_ERROR_BUSY, _("A setup is running already")));
  daemon->setup_running = TRUE;
  setup = g_new0 (Setup, 1);
  setup->daemon = daemon;
  setup->invocation = invocation;
  setup->certificate_fd = -1;
  setup->report = g_ptr_array_new_with_free_func (g_free);

  if (!cj_server_get_ldap_configured (server))
    return cj_daemon_fail (invocation, NULL,
                           g_error_new_literal (CJ_ERROR, CJ_ERROR_NOT_CONFIGURED,
                                                _("The directory is not set up for Jabber: run “cl-setup ldap” first")));
  if (!read_options (setup, options, fd_list, &error))
    return cj_daemon_fail (invocation, NULL, error);

  write_files (g_steal_pointer (&setup));
  return TRUE;
}

gboolean
cj_setup_jabber_handle_reload (CjServer *server, GDBusMethodInvocation *invocation, CjDaemon *daemon)
{
  g_autoptr(GVariant) options = NULL;

  if (!cj_server_get_configured (server))
    return cj_daemon_fail (invocation, NULL,
                           g_error_new_literal (CJ_ERROR, CJ_ERROR_NOT_CONFIGURED,
                                                _("The Jabber service is not set up yet: run “cl-setup jabber” first")));
  /* The same settings, rendered and applied again. */
  options = g_variant_ref_sink (g_variant_new ("a{sv}", NULL));
  return cj_setup_jabber_handle (server, invocation, NULL, options, daemon);
}

/* A configuration rendered before groups were cn=<id> with the name in description
 * (cj-group-layout.h) shows group identifiers as names, once the daemon has converted the
 * groups: it is rendered again, with the saved settings, once, when the daemon has loaded
 * the directory. Only the exact line the older renderer wrote triggers it. */
void
cj_setup_jabber_refresh_outdated (CjDaemon *daemon)
{
  g_autofree char *text = NULL;
  g_autofree char *api_line = cj_ejabberd_config_api_line (daemon->config->api_socket);

  if (!cj_server_get_configured (daemon->server) || daemon->setup_running ||
      !g_file_get_contents (daemon->config->ejabberd_config, &text, NULL, NULL))
    return;
  if (strstr (text, "\n    ldap_groupdesc: cn\n") != NULL)
    g_message ("%s shows groups by their cn (an older layout): rendering it again",
               daemon->config->ejabberd_config);
  /* Rendered by an older version: without the API socket, or for other commands. */
  else if (g_str_has_prefix (text, CJ_EJABBERD_CONFIG_HEADER) && api_line != NULL && strstr (text, api_line) == NULL)
    g_message ("%s has no API link for this version of calculate-jabberd: rendering it again",
               daemon->config->ejabberd_config);
  else
    return;
  cj_setup_jabber_render_again (daemon);
}

gboolean
cj_setup_jabber_render_again (CjDaemon *daemon)
{
  g_autoptr(GVariant) options = NULL;
  g_autoptr(GError) error = NULL;
  Setup *setup;

  if (!cj_server_get_configured (daemon->server) || daemon->setup_running)
    return FALSE;
  daemon->setup_running = TRUE;
  setup = g_new0 (Setup, 1);
  setup->daemon = daemon;
  setup->certificate_fd = -1;
  setup->report = g_ptr_array_new_with_free_func (g_free);
  options = g_variant_ref_sink (g_variant_new ("a{sv}", NULL));
  if (!read_options (setup, options, NULL, &error))
    {
      g_warning ("could not render ejabberd's configuration again: %s", error->message);
      setup_free (setup);
      return FALSE;
    }
  write_files (setup);
  return TRUE;
}
