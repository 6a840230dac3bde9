/* org.calculate.Jabber.Server at /org/calculate/Jabber/Server: the state of the directory
 * and of the Jabber service, and their setup. The service settings (hosts, history, listen
 * address) are kept in StateDirectory/server.conf, written by Setup. */
#include "config.h"

#include <glib/gi18n.h>

#include "cj-audit.h"
#include "cj-avatars.h"
#include "cj-common.h"
#include "cj-daemon.h"
#include "cj-error.h"
#include "cj-health.h"
#include "cj-live.h"
#include "cj-options.h"
#include "cj-setup-jabber.h"
#include "cj-setup-ldap.h"

static char *
state_file (CjDaemon *daemon)
{
  return g_build_filename (daemon->config->state_dir, "server.conf", NULL);
}

gboolean
cj_server_object_load_state (CjDaemon *daemon, GError **error)
{
  g_autofree char *path = state_file (daemon);
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(GError) local_error = NULL;
  g_autofree char *primary = NULL;
  g_auto(GStrv) extra = NULL;
  g_autoptr(GPtrArray) hosts = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *listen = NULL;

  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, &local_error) &&
      !g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
    {
      g_set_error (error, CJ_ERROR, CJ_ERROR_FAILED, _("Cannot read %s: %s"), path, local_error->message);
      return FALSE;
    }
  primary = g_key_file_get_string (file, "Jabber", "PrimaryHost", NULL);
  if (primary == NULL || *primary == '\0')
    {
      g_free (primary);
      primary = g_strdup (g_get_host_name ());
    }
  extra = g_key_file_get_string_list (file, "Jabber", "Hosts", NULL, NULL);
  listen = g_key_file_get_string (file, "Jabber", "ListenAddress", NULL);

  g_ptr_array_add (hosts, g_strdup (primary));
  for (char **h = extra; h != NULL && *h != NULL; h++)
    if (g_ascii_strcasecmp (*h, primary) != 0)
      g_ptr_array_add (hosts, g_strdup (*h));
  g_ptr_array_add (hosts, NULL);

  cj_server_set_primary_host (daemon->server, primary);
  cj_server_set_hosts (daemon->server, (const char *const *) hosts->pdata);
  cj_server_set_history (daemon->server, g_key_file_get_boolean (file, "Jabber", "History", NULL));
  cj_server_set_listen_address (daemon->server, listen != NULL ? listen : "");
  cj_server_set_configured (daemon->server, g_key_file_get_boolean (file, "Jabber", "Configured", NULL));
  cj_registry_set_primary_host (daemon->registry, primary);
  return TRUE;
}

void
cj_server_object_set_directory_state (CjDaemon *daemon, gboolean connected, gboolean configured)
{
  if (cj_server_get_directory_connected (daemon->server) != connected)
    cj_server_set_directory_connected (daemon->server, connected);
  /* While disconnected, what we knew about the subtree still holds. */
  if (connected && cj_server_get_ldap_configured (daemon->server) != configured)
    cj_server_set_ldap_configured (daemon->server, configured);
}

/* SetupLdap ----------------------------------------------------------------------------- */

static void
on_ldap_set_up (GObject *source, GAsyncResult *result, gpointer data)
{
  GDBusMethodInvocation *invocation = data;
  CjDaemon *daemon = g_object_get_data (G_OBJECT (invocation), "cj-daemon");
  GError *error = NULL;
  g_autoptr(GPtrArray) report = cj_directory_run_finish (daemon->directory, result, &error);

  if (report == NULL)
    {
      cj_daemon_fail (invocation, NULL, error);
      return;
    }
  cj_server_object_set_directory_state (daemon, TRUE, TRUE);
  /* The follower may be waiting for the subtree to appear: look now. */
  cj_follower_reload (daemon->follower);
  cj_audit_finish (invocation, NULL, NULL);
  g_ptr_array_add (report, NULL);
  g_dbus_interface_skeleton_flush (G_DBUS_INTERFACE_SKELETON (daemon->server));
  cj_server_complete_setup_ldap (daemon->server, invocation, (const char *const *) report->pdata);
}

static gboolean
handle_setup_ldap (CjServer *server, GDBusMethodInvocation *invocation, GVariant *options,
                   CjDaemon *daemon)
{
  /* No options are known yet: the gate refused any (cj_arguments_setup_ldap). */
  g_object_set_data (G_OBJECT (invocation), "cj-daemon", daemon);
  cj_directory_run_async (daemon->directory, cj_setup_ldap_run,
                          cj_setup_ldap_request_new (daemon->config),
                          (GDestroyNotify) cj_setup_ldap_request_free, NULL, on_ldap_set_up, invocation);
  return TRUE;
}

void
cj_server_object_init (CjDaemon *daemon)
{
  daemon->server = cj_server_skeleton_new ();
  cj_server_set_ldap_uri (daemon->server, daemon->config->ldap_uri);
  cj_server_set_base_dn (daemon->server, daemon->config->base_dn);
  cj_server_set_history_directory (daemon->server, daemon->config->history_dir);
  cj_server_set_hosts (daemon->server, (const char *const[]) { NULL });
  g_signal_connect (daemon->server, "handle-setup-ldap", G_CALLBACK (handle_setup_ldap), daemon);
  g_signal_connect (daemon->server, "handle-setup", G_CALLBACK (cj_setup_jabber_handle), daemon);
  g_signal_connect (daemon->server, "handle-reload", G_CALLBACK (cj_setup_jabber_handle_reload), daemon);
  cj_health_init (daemon);
  cj_live_init (daemon);
  cj_avatars_init (daemon);
  cj_gate_attach (daemon->gate, G_DBUS_INTERFACE_SKELETON (daemon->server));
}
