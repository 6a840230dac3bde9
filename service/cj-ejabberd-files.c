#include "config.h"
#include "cj-ejabberd-files.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cj-error.h"

#define MAX_CERTIFICATE_BYTES (1024 * 1024)

void
cj_ejabberd_files_settings (const CjEjabberdFiles *files, const char *password,
                            CjEjabberdSettings *settings)
{
  *settings = (CjEjabberdSettings) { 0 };
  settings->hosts = (const char *const *) files->hosts;
  settings->history = files->history;
  settings->history_dir = files->history_dir;
  settings->listen = files->listen;
  settings->certificate_file = files->certificate_file;
  settings->client_port = files->client_port;
  settings->server_port = files->server_port;
  settings->ldap_server = files->ldap_server;
  settings->ldap_port = files->ldap_port;
  settings->ldap_rootdn = files->ldap_rootdn;
  settings->ldap_password = password;
  settings->users_dn = files->users_dn;
  settings->jabber_dn = files->jabber_dn;
  settings->api_socket = files->api_socket;
}

void
cj_ejabberd_files_free (CjEjabberdFiles *files)
{
  if (files == NULL)
    return;
  if (files->certificate_fd >= 0)
    close (files->certificate_fd);
  g_free (files->config_file);
  g_free (files->certificate_file);
  g_free (files->secret_file);
  g_strfreev (files->hosts);
  g_free (files->history_dir);
  g_free (files->listen);
  g_free (files->ldap_server);
  g_free (files->ldap_rootdn);
  g_free (files->users_dn);
  g_free (files->jabber_dn);
  g_free (files->api_socket);
  g_free (files);
}

/* The message, then ": " and what errno says. */
static gboolean set_error_errno (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
set_error_errno (GError **error, const char *format, ...)
{
  int saved = errno;
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, CJ_ERROR, CJ_ERROR_FAILED, "%s: %s", message, g_strerror (saved));
  return FALSE;
}

/* Atomic, 0640, owned by root and the group of its directory. A directory made here is
 * 0755 whatever the umask (the unit's is 0077): ejabberd must reach the file. */
static gboolean
write_private (const char *path, const char *contents, gsize length, GError **error)
{
  g_autofree char *dir = g_path_get_dirname (path);
  g_autofree char *tmp = g_strconcat (path, ".XXXXXX", NULL);
  gboolean existed = g_file_test (dir, G_FILE_TEST_IS_DIR);
  struct stat st;
  int fd;

  if (g_mkdir_with_parents (dir, 0755) < 0 || (!existed && chmod (dir, 0755) < 0) || stat (dir, &st) < 0)
    return set_error_errno (error, _("Cannot create the directory of %s"), path);
  fd = g_mkstemp_full (tmp, O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0)
    return set_error_errno (error, _("Cannot write %s"), path);
  if (fchown (fd, 0, st.st_gid) < 0 || fchmod (fd, 0640) < 0 ||
      write (fd, contents, length) != (ssize_t) length || fsync (fd) < 0)
    {
      set_error_errno (error, _("Cannot write %s"), path);
      close (fd);
      g_unlink (tmp);
      return FALSE;
    }
  close (fd);
  if (rename (tmp, path) < 0)
    {
      set_error_errno (error, _("Cannot write %s"), path);
      g_unlink (tmp);
      return FALSE;
    }
  return TRUE;
}

static char *
read_secret (const char *path, GError **error)
{
  g_autofree char *contents = NULL;

  if (!g_file_get_contents (path, &contents, NULL, NULL))
    {
      g_set_error (error, CJ_ERROR, CJ_ERROR_NOT_CONFIGURED,
                   _("ejabberd's LDAP password (%s) is missing: run “cl-setup ldap” first"), path);
      return NULL;
    }
  return g_strdup (g_strstrip (contents));
}

/* Runs openssl on @file; its standard output, or NULL when it fails. */
static char *
openssl_output (const char *const *argv)
{
  g_autofree char *out = NULL;
  int status = 0;

  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, &out, NULL, &status, NULL) ||
      !g_spawn_check_wait_status (status, NULL))
    return NULL;
  return g_steal_pointer (&out);
}

/* The PEM holds a certificate and the private key that goes with it: openssl reads both and
 * derives the same public key from each. */
static gboolean
certificate_matches_key (const char *file)
{
  const char *x509[] = { "openssl", "x509", "-noout", "-pubkey", "-in", file, NULL };
  const char *pkey[] = { "openssl", "pkey", "-pubout", "-in", file, NULL };
  g_autofree char *from_certificate = openssl_output (x509);
  g_autofree char *from_key = openssl_output (pkey);

  return from_certificate != NULL && from_key != NULL && *from_key != '\0' &&
         g_str_equal (from_certificate, from_key);
}

/* A certificate from the caller: a regular file holding a certificate and its key. Checked
 * in a private copy before it replaces the one ejabberd uses. */
static gboolean
install_given_certificate (CjEjabberdFiles *files, GPtrArray *report, GError **error)
{
  g_autofree char *pem = g_malloc0 (MAX_CERTIFICATE_BYTES + 1);
  g_autofree char *dir = NULL, *copy = NULL;
  struct stat st;
  gsize length = 0;
  gboolean ok;

  if (fstat (files->certificate_fd, &st) < 0 || !S_ISREG (st.st_mode) || st.st_size > MAX_CERTIFICATE_BYTES)
    {
      g_set_error_literal (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                           _("The certificate must be a regular PEM file of at most 1 MiB"));
      return FALSE;
    }
  while (length < (gsize) st.st_size)
    {
      ssize_t n = pread (files->certificate_fd, pem + length, (gsize) st.st_size - length, (off_t) length);
      if (n <= 0)
        break;
      length += (gsize) n;
    }
  if ((dir = g_dir_make_tmp ("cj-cert-XXXXXX", error)) == NULL)
    return FALSE;
  copy = g_build_filename (dir, "given.pem", NULL);
  ok = g_file_set_contents_full (copy, pem, (gssize) length, G_FILE_SET_CONTENTS_NONE, 0600, error);
  if (ok && !certificate_matches_key (copy))
    {
      g_set_error_literal (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                           _("The certificate file must hold a PEM certificate and its private key"));
      ok = FALSE;
    }
  g_unlink (copy);
  g_rmdir (dir);
  ok = ok && write_private (files->certificate_file, pem, length, error);
  explicit_bzero (pem, length);
  if (ok)
    g_ptr_array_add (report, g_strdup_printf (_("Installed the given certificate as %s"), files->certificate_file));
  return ok;
}

/* No certificate yet: a self-signed one for every host (clients will ask to trust it). */
static gboolean
make_self_signed (CjEjabberdFiles *files, GPtrArray *report, GError **error)
{
  g_autofree char *dir = g_dir_make_tmp ("cj-cert-XXXXXX", error);
  g_autofree char *key = NULL, *cert = NULL, *subject = NULL, *names = NULL, *err = NULL;
  g_autofree char *key_pem = NULL, *cert_pem = NULL, *both = NULL;
  g_autoptr(GString) san = g_string_new ("subjectAltName=");
  int status = 0;
  gboolean ok;

  if (dir == NULL)
    return FALSE;
  key = g_build_filename (dir, "key.pem", NULL);
  cert = g_build_filename (dir, "cert.pem", NULL);
  subject = g_strdup_printf ("/CN=%s", files->hosts[0]);
  for (char **h = files->hosts; *h != NULL; h++)
    g_string_append_printf (san, "%sDNS:%s", h == files->hosts ? "" : ",", *h);
  {
    const char *argv[] = { "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
                           "-subj", subject, "-addext", san->str, "-keyout", key, "-out", cert, NULL };
    ok = g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                       NULL, NULL, NULL, &err, &status, error) &&
         g_spawn_check_wait_status (status, NULL) &&
         g_file_get_contents (key, &key_pem, NULL, NULL) &&
         g_file_get_contents (cert, &cert_pem, NULL, NULL);
  }
  g_unlink (key);
  g_unlink (cert);
  g_rmdir (dir);
  if (!ok)
    {
      g_clear_error (error);
      g_set_error (error, CJ_ERROR, CJ_ERROR_FAILED, _("Cannot make a self-signed certificate with openssl: %s"),
                   err != NULL ? g_strstrip (err) : "");
      return FALSE;
    }
  both = g_strconcat (cert_pem, key_pem, NULL);
  ok = write_private (files->certificate_file, both, strlen (both), error);
  explicit_bzero (both, strlen (both));
  explicit_bzero (key_pem, strlen (key_pem));
  if (ok)
    g_ptr_array_add (report, g_strdup_printf (_("Made a self-signed certificate for %s in %s"),
                                              names = g_strjoinv (", ", files->hosts), files->certificate_file));
  return ok;
}

/* mod_log_chat writes as the user ejabberd runs as. A new directory is 0750 whatever the
 * umask (the unit's is 0077); an existing one keeps the mode it was given. */
static gboolean
make_history_directory (const char *path, GError **error)
{
  struct passwd *ejabberd = getpwnam ("ejabberd");
  gboolean existed = g_file_test (path, G_FILE_TEST_IS_DIR);

  if (g_mkdir_with_parents (path, 0750) < 0 || (!existed && chmod (path, 0750) < 0))
    return set_error_errno (error, _("Cannot create the history directory %s"), path);
  if (ejabberd != NULL && chown (path, ejabberd->pw_uid, ejabberd->pw_gid) < 0)
    return set_error_errno (error, _("Cannot give %s to ejabberd"), path);
  return TRUE;
}

static void
write_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  CjEjabberdFiles *files = data;
  g_autoptr(GPtrArray) report = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *password = NULL;
  g_autofree char *rendered = NULL;
  g_autofree char *previous = g_strconcat (files->config_file, ".previous", NULL);
  GError *error = NULL;
  CjEjabberdSettings settings = { 0 };

  if ((password = read_secret (files->secret_file, &error)) == NULL)
    goto fail;
  if (files->certificate_fd >= 0)
    {
      if (!install_given_certificate (files, report, &error))
        goto fail;
    }
  else if (files->renew_self_signed || !g_file_test (files->certificate_file, G_FILE_TEST_EXISTS))
    {
      if (!make_self_signed (files, report, &error))
        goto fail;
      files->made_self_signed = TRUE;
    }
  if (files->history && !make_history_directory (files->history_dir, &error))
    goto fail;

  cj_ejabberd_files_settings (files, password, &settings);
  rendered = cj_ejabberd_config_render (&settings);
  explicit_bzero (password, strlen (password));

  /* The previous configuration stays beside the new one, to go back to. */
  g_unlink (previous);
  if (g_file_test (files->config_file, G_FILE_TEST_EXISTS) && link (files->config_file, previous) < 0)
    {
      set_error_errno (&error, _("Cannot keep the previous configuration %s"), files->config_file);
      goto fail;
    }
  if (!write_private (files->config_file, rendered, strlen (rendered), &error))
    goto fail;
  explicit_bzero (rendered, strlen (rendered));
  g_ptr_array_add (report, g_strdup_printf (_("Wrote %s"), files->config_file));
  g_task_return_pointer (task, g_steal_pointer (&report), (GDestroyNotify) g_ptr_array_unref);
  return;

fail:
  if (rendered != NULL)
    explicit_bzero (rendered, strlen (rendered));
  g_task_return_error (task, error);
}

void
cj_ejabberd_files_write_async (CjEjabberdFiles *files, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, NULL, callback, user_data);

  g_task_set_task_data (task, files, (GDestroyNotify) cj_ejabberd_files_free);
  g_task_run_in_thread (task, write_in_thread);
}

GPtrArray *
cj_ejabberd_files_write_finish (GAsyncResult *result, gboolean *made_self_signed, GError **error)
{
  CjEjabberdFiles *files = g_task_get_task_data (G_TASK (result));

  *made_self_signed = files->made_self_signed;
  return g_task_propagate_pointer (G_TASK (result), error);
}

gboolean
cj_ejabberd_files_restore (const char *config_file, GError **error)
{
  g_autofree char *previous = g_strconcat (config_file, ".previous", NULL);

  if (!g_file_test (previous, G_FILE_TEST_EXISTS))
    {
      /* There was none: leave no configuration that does not work. */
      g_unlink (config_file);
      return TRUE;
    }
  if (rename (previous, config_file) < 0)
    return set_error_errno (error, _("Cannot restore %s"), config_file);
  return TRUE;
}
