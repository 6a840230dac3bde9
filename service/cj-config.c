#include "config.h"
#include "cj-config.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cj-error.h"

#include <ldap.h>

/* A bind password file is a few bytes; anything larger is not one. */
#define MAX_SECRET_BYTES 4096

static char *
get_string (GKeyFile *file, const char *group, const char *key, const char *fallback)
{
  g_autofree char *value = g_key_file_get_string (file, group, key, NULL);

  if (value != NULL)
    g_strstrip (value);
  if (value == NULL || *value == '\0')
    return g_strdup (fallback);
  return g_steal_pointer (&value);
}

static gboolean
has_control (const char *text)
{
  for (const char *p = text; *p != '\0'; p++)
    if ((unsigned char) *p < 0x20 || *p == 0x7f)
      return TRUE;
  return FALSE;
}

/* A whole number from 1 to @max; 0 with @error set when the key holds something else. */
static guint
get_number (GKeyFile *file, const char *group, const char *key, guint fallback, gint max,
            const char *what, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  gint value = g_key_file_get_integer (file, group, key, &local_error);

  if (local_error != NULL && !g_error_matches (local_error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE))
    return fallback;
  if (local_error != NULL || value <= 0 || value > max)
    {
      /* TRANSLATORS: the last %s is "a number of seconds (1-3600)" or "a port number". */
      g_set_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT, _("[%s] %s must be %s"), group, key, what);
      return 0;
    }
  return (guint) value;
}

static guint
get_seconds (GKeyFile *file, const char *group, const char *key, guint fallback, GError **error)
{
  return get_number (file, group, key, fallback, 3600, _("a number of seconds (1-3600)"), error);
}

static guint
get_port (GKeyFile *file, const char *group, const char *key, guint fallback, GError **error)
{
  return get_number (file, group, key, fallback, 65535, _("a port number"), error);
}

/* ejabberd speaks TCP only: the host and port of an ldap:// URI, else the local server. */
static void
derive_ejabberd_ldap (CjConfig *config)
{
  LDAPURLDesc *url = NULL;

  if (config->ejabberd_ldap_server == NULL && g_str_has_prefix (config->ldap_uri, "ldap://") &&
      ldap_url_parse (config->ldap_uri, &url) == LDAP_URL_SUCCESS)
    {
      if (url->lud_host != NULL && *url->lud_host != '\0')
        config->ejabberd_ldap_server = g_strdup (url->lud_host);
      if (config->ejabberd_ldap_port == 0 && url->lud_port > 0)
        config->ejabberd_ldap_port = (guint) url->lud_port;
      ldap_free_urldesc (url);
    }
  if (config->ejabberd_ldap_server == NULL)
    config->ejabberd_ldap_server = g_strdup ("127.0.0.1");
  if (config->ejabberd_ldap_port == 0)
    config->ejabberd_ldap_port = 389;
}

static char **
get_argv (GKeyFile *file, const char *group, const char *key, const char *fallback, GError **error)
{
  g_autofree char *value = get_string (file, group, key, fallback);
  char **argv = NULL;

  if (value == NULL)
    return NULL;
  if (!g_shell_parse_argv (value, NULL, &argv, NULL))
    {
      g_set_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                   _("[%s] %s is not a valid command line"), group, key);
      return NULL;
    }
  return argv;
}

static void
warn_unknown_keys (GKeyFile *file, const char *path)
{
  static const char *const known[] = {
    "Directory/Uri", "Directory/BaseDn", "Directory/BindDn", "Directory/BindPasswordFile",
    "Directory/Timeout", "Directory/DatabaseDirectory", "Directory/ServerId",
    "Directory/AutoRepair", "Ejabberd/ConfigFile",
    "Ejabberd/CertificateFile", "Ejabberd/ClientPort", "Ejabberd/ServerPort",
    "Ejabberd/LdapServer", "Ejabberd/LdapPort", "Ejabberd/StateDirectory",
    "Ejabberd/HistoryDirectory", "Ejabberd/ServiceManager", "Ejabberd/RestartCommand",
    "Ejabberd/ControlCommand", "Ejabberd/ApiSocket", "Authorization/Timeout", "Limits/ManagedObjectsMaxBytes",
    "Limits/IntrospectMaxNodes", "Passwords/MinimumLength", NULL
  };
  g_auto(GStrv) groups = g_key_file_get_groups (file, NULL);

  for (gsize i = 0; groups[i] != NULL; i++)
    {
      g_auto(GStrv) keys = g_key_file_get_keys (file, groups[i], NULL, NULL);

      for (gsize j = 0; keys != NULL && keys[j] != NULL; j++)
        {
          g_autofree char *full = g_strdup_printf ("%s/%s", groups[i], keys[j]);
          if (!g_strv_contains (known, full))
            g_warning ("%s: unknown key [%s] %s ignored", path, groups[i], keys[j]);
        }
    }
}

CjConfig *
cj_config_load (const char *path, GError **error)
{
  g_autoptr(GKeyFile) file = g_key_file_new ();
  g_autoptr(CjConfig) config = g_new0 (CjConfig, 1);
  g_autoptr(GError) local_error = NULL;

  config->path = g_strdup (path);
  if (!g_key_file_load_from_file (file, path, G_KEY_FILE_NONE, &local_error))
    {
      /* A missing file means "all defaults": the daemon must start on a fresh install. */
      if (!g_error_matches (local_error, G_FILE_ERROR, G_FILE_ERROR_NOENT))
        {
          g_set_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                       _("Cannot read configuration %s: %s"), path, local_error->message);
          return NULL;
        }
      g_clear_error (&local_error);
    }
  else
    warn_unknown_keys (file, path);

  config->ldap_uri = get_string (file, "Directory", "Uri", "ldapi:///");
  config->base_dn = get_string (file, "Directory", "BaseDn", "dc=example,dc=org");
  config->bind_dn = get_string (file, "Directory", "BindDn", NULL);
  config->bind_password_file = get_string (file, "Directory", "BindPasswordFile", NULL);
  config->ejabberd_config = get_string (file, "Ejabberd", "ConfigFile", "/etc/ejabberd/ejabberd.yml");
  config->state_dir = get_string (file, "Ejabberd", "StateDirectory", LOCALSTATEDIR "/lib/calculate-jabber");
  config->history_dir = get_string (file, "Ejabberd", "HistoryDirectory", LOCALSTATEDIR "/log/jabber");
  config->service_manager = get_string (file, "Ejabberd", "ServiceManager", "auto");
  config->database_dir = get_string (file, "Directory", "DatabaseDirectory", "/var/lib/ldap/calculate-jabber");
  config->certificate_file = get_string (file, "Ejabberd", "CertificateFile", "/etc/ejabberd/calculate-jabber.pem");
  config->api_socket = g_key_file_has_key (file, "Ejabberd", "ApiSocket", NULL)
                       ? get_string (file, "Ejabberd", "ApiSocket", NULL)
                       : g_strdup ("/run/calculate-jabber/api.sock");
  /* A Unix socket's path must fit sun_path (108 bytes), and ejabberd's listener has broken
   * on long ones (ejabberd #4435): keep it short and absolute. Empty: no API, ejabberdctl. */
  if (config->api_socket != NULL && *config->api_socket == '\0')
    g_clear_pointer (&config->api_socket, g_free);
  if (config->api_socket != NULL &&
      (!g_path_is_absolute (config->api_socket) || strlen (config->api_socket) > CJ_API_SOCKET_MAX ||
       !g_utf8_validate (config->api_socket, -1, NULL) || has_control (config->api_socket)))
    {
      g_set_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                   _("[Ejabberd] ApiSocket must be an absolute path of at most %d bytes"), CJ_API_SOCKET_MAX);
      return NULL;
    }
  config->ejabberd_ldap_server = get_string (file, "Ejabberd", "LdapServer", NULL);
  if ((config->client_port = get_port (file, "Ejabberd", "ClientPort", 5222, error)) == 0 ||
      (config->server_port = get_port (file, "Ejabberd", "ServerPort", 5269, error)) == 0)
    return NULL;
  if (g_key_file_has_key (file, "Ejabberd", "LdapPort", NULL) &&
      (config->ejabberd_ldap_port = get_port (file, "Ejabberd", "LdapPort", 389, error)) == 0)
    return NULL;
  if (!g_str_equal (config->service_manager, "auto") && !g_str_equal (config->service_manager, "systemd") &&
      !g_str_equal (config->service_manager, "openrc") && !g_str_equal (config->service_manager, "command"))
    {
      g_set_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                   _("[Ejabberd] ServiceManager must be auto, systemd, openrc or command"));
      return NULL;
    }

  if ((config->ldap_timeout = get_seconds (file, "Directory", "Timeout", 5, error)) == 0 ||
      (config->auth_timeout = get_seconds (file, "Authorization", "Timeout", 25, error)) == 0)
    return NULL;

  /* 0 (one node) is allowed here, unlike get_number's numbers. */
  if (g_key_file_has_key (file, "Directory", "ServerId", NULL))
    {
      gint id = g_key_file_get_integer (file, "Directory", "ServerId", &local_error);

      if (local_error != NULL || id < 0 || id > 4095)
        {
          g_clear_error (&local_error);
          g_set_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                       _("[Directory] ServerId must be a number from 0 to 4095 (the provider’s olcServerID)"));
          return NULL;
        }
      config->server_id = (guint) id;
    }
  config->auto_repair = TRUE;
  if (g_key_file_has_key (file, "Directory", "AutoRepair", NULL))
    {
      config->auto_repair = g_key_file_get_boolean (file, "Directory", "AutoRepair", &local_error);
      if (local_error != NULL)
        {
          g_clear_error (&local_error);
          g_set_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                       _("[Directory] AutoRepair must be true or false"));
          return NULL;
        }
    }

  config->password_min_length = get_number (file, "Passwords", "MinimumLength", 8, 256,
                                            _("a number of characters (1-256)"), error);
  if (config->password_min_length == 0)
    return NULL;

  config->max_reply_bytes = 24 * 1024 * 1024;
  if (g_key_file_has_key (file, "Limits", "ManagedObjectsMaxBytes", NULL))
    {
      config->max_reply_bytes = g_key_file_get_uint64 (file, "Limits", "ManagedObjectsMaxBytes", &local_error);
      if (local_error != NULL)
        {
          g_set_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                       _("[Limits] ManagedObjectsMaxBytes must be a number of bytes"));
          return NULL;
        }
    }

  config->introspect_max_nodes = get_number (file, "Limits", "IntrospectMaxNodes", 1000, 1000000,
                                             _("a number of nodes (1-1000000)"), error);
  if (config->introspect_max_nodes == 0)
    return NULL;

  config->restart_command = get_argv (file, "Ejabberd", "RestartCommand", NULL, &local_error);
  if (local_error == NULL)
    config->control_command = get_argv (file, "Ejabberd", "ControlCommand", "ejabberdctl", &local_error);
  if (local_error != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local_error));
      return NULL;
    }

  if (!g_str_has_prefix (config->ldap_uri, "ldap://") &&
      !g_str_has_prefix (config->ldap_uri, "ldaps://") &&
      !g_str_has_prefix (config->ldap_uri, "ldapi://"))
    {
      g_set_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                   _("[Directory] Uri must start with ldap://, ldaps:// or ldapi://"));
      return NULL;
    }

  derive_ejabberd_ldap (config);
  return g_steal_pointer (&config);
}

void
cj_config_free (CjConfig *config)
{
  if (config == NULL)
    return;
  g_free (config->path);
  g_free (config->ldap_uri);
  g_free (config->base_dn);
  g_free (config->bind_dn);
  g_free (config->bind_password_file);
  g_free (config->ejabberd_config);
  g_free (config->state_dir);
  g_free (config->history_dir);
  g_free (config->service_manager);
  g_free (config->database_dir);
  g_free (config->certificate_file);
  g_free (config->ejabberd_ldap_server);
  g_strfreev (config->restart_command);
  g_strfreev (config->control_command);
  g_free (config->api_socket);
  g_free (config);
}

char *
cj_config_read_bind_password (const CjConfig *config, GError **error)
{
  g_autofree char *contents = NULL;
  gsize length = 0;
  struct stat st;
  int fd;

  if (config->bind_password_file == NULL)
    return NULL;

  fd = open (config->bind_password_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 || fstat (fd, &st) < 0)
    {
      int saved = errno;
      if (fd >= 0)
        close (fd);
      g_set_error (error, CJ_ERROR, CJ_ERROR_FAILED, _("Cannot read the LDAP password file %s: %s"),
                   config->bind_password_file, g_strerror (saved));
      return NULL;
    }
  if (!S_ISREG (st.st_mode) || st.st_size > MAX_SECRET_BYTES)
    {
      close (fd);
      g_set_error (error, CJ_ERROR, CJ_ERROR_FAILED,
                   _("The LDAP password file %s is not a small regular file"), config->bind_password_file);
      return NULL;
    }
  if ((st.st_mode & 0077) != 0)
    g_warning ("%s is readable by others than its owner: chmod 600 it", config->bind_password_file);

  contents = g_malloc0 ((gsize) st.st_size + 1);
  while (length < (gsize) st.st_size)
    {
      gssize n = read (fd, contents + length, (gsize) st.st_size - length);
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      length += (gsize) n;
    }
  close (fd);
  contents[length] = '\0';
  /* One trailing newline is how editors save files, not part of the password. */
  if (length > 0 && contents[length - 1] == '\n')
    contents[--length] = '\0';
  return g_steal_pointer (&contents);
}
