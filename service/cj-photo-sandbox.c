/* Caller photos are decoded in calculate-jabber-photo, not in the daemon: a separate
 * process run as nobody (no supplementary groups, no_new_privs) with limits on its address
 * space, CPU time, file writes, open files and core dumps. An image decoder is the code most
 * exposed to hostile bytes; a flaw in one then yields nobody's rights for a few seconds,
 * not root's in the process that writes the directory and ejabberd's configuration.
 *
 * The caller's descriptor becomes the helper's standard input; the JPEG (or the message of
 * a refusal) comes back on its standard output, read up to a cap. What comes back is not
 * trusted either: it must look like a JPEG of at most CJ_PHOTO_MAX_JPEG bytes. */
#include "config.h"
#include "cj-photo.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cj-error.h"
#include "cj-validate.h"

/* Decoding a 40-megapixel image takes about 160 MB of pixels, plus the libraries: 1 GiB of
 * address space is ample and still stops a decompression bomb or a loader that believes a
 * header. The CPU limit ends a decoder that loops (SIGXCPU, then SIGKILL at the hard limit:
 * the daemon has no right to signal nobody's processes itself). */
#define HELPER_MAX_ADDRESS_SPACE ((rlim_t) 1024 * 1024 * 1024)
#define HELPER_MAX_CPU_SECONDS   20
#define HELPER_MAX_FILES         32
#define HELPER_MAX_MESSAGE       1024
#define NOBODY_ID                65534

static char *helper_override;

void
cj_photo_set_helper (const char *path)
{
  g_free (helper_override);
  helper_override = g_strdup (path);
}

/* Beside the daemon's executable (both are in libexecdir; in the build tree, both in
 * service/). */
static char *
helper_path (void)
{
  g_autofree char *self = NULL;
  g_autofree char *dir = NULL;

  if (helper_override != NULL)
    return g_strdup (helper_override);
  self = g_file_read_link ("/proc/self/exe", NULL);
  if (self == NULL)
    return g_build_filename (LIBEXECDIR, CJ_PHOTO_HELPER_NAME, NULL);
  dir = g_path_get_dirname (self);
  return g_build_filename (dir, CJ_PHOTO_HELPER_NAME, NULL);
}

typedef struct {
  gboolean drop;                /* only root can, and needs to, switch to nobody */
  uid_t    uid;
  gid_t    gid;
} Confinement;

static gboolean
limit (int resource, rlim_t soft, rlim_t hard)
{
  struct rlimit value = { soft, hard };

  return setrlimit (resource, &value) == 0;
}

/* Between fork and exec: only system calls (async-signal-safe), nothing allocated. A step
 * that fails ends the child before the helper runs. */
static void
confine (gpointer data)
{
  const Confinement *c = data;

  if (
#ifndef __SANITIZE_ADDRESS__
      /* (AddressSanitizer reserves terabytes of address space up front.) */
      !limit (RLIMIT_AS, HELPER_MAX_ADDRESS_SPACE, HELPER_MAX_ADDRESS_SPACE) ||
#endif
      !limit (RLIMIT_CPU, HELPER_MAX_CPU_SECONDS, HELPER_MAX_CPU_SECONDS + 5) ||
      !limit (RLIMIT_FSIZE, 0, 0) ||
      !limit (RLIMIT_CORE, 0, 0) ||
      !limit (RLIMIT_NOFILE, HELPER_MAX_FILES, HELPER_MAX_FILES) ||
      prctl (PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
    _exit (126);
  if (c->drop && (setgroups (0, NULL) < 0 || setgid (c->gid) < 0 || setuid (c->uid) < 0 ||
                  setuid (0) == 0))
    _exit (126);
}

static void
find_nobody (Confinement *c)
{
  struct passwd entry, *found = NULL;
  char buffer[1024];

  c->drop = geteuid () == 0;
  c->uid = NOBODY_ID;
  c->gid = NOBODY_ID;
  if (getpwnam_r ("nobody", &entry, buffer, sizeof buffer, &found) == 0 && found != NULL)
    {
      c->uid = found->pw_uid;
      c->gid = found->pw_gid;
    }
}

/* libjpeg's output starts with SOI and ends with EOI. */
static gboolean
looks_like_jpeg (const guint8 *data, gsize length)
{
  return length >= 4 && length <= CJ_PHOTO_MAX_JPEG && data[0] == 0xff && data[1] == 0xd8 &&
         data[length - 2] == 0xff && data[length - 1] == 0xd9;
}

/* The helper's message, from a process that may have been subverted: valid UTF-8, no
 * control characters, bounded. */
static GError *
refusal (const char *output, gsize length, int code)
{
  g_autofree char *text = g_strndup (output, length);
  g_autofree char *valid = g_utf8_make_valid (text, -1);
  g_autofree char *escaped = cj_text_escape (valid);

  if (*escaped == '\0')
    return g_error_new_literal (CJ_ERROR, code, _("The image cannot be read (damaged or not an image)"));
  return g_error_new_literal (CJ_ERROR, code, escaped);
}

static GBytes *
convert (int fd, GError **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GSubprocess) process = NULL;
  g_autofree char *path = helper_path ();
  g_autofree guint8 *output = NULL;
  gsize length = 0;
  struct stat st;
  Confinement confinement;

  /* Checked here too, so that only a regular file is ever handed to the helper. */
  if (fstat (fd, &st) < 0 || !S_ISREG (st.st_mode))
    {
      close (fd);
      g_set_error_literal (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT, _("The image must be a regular file"));
      return NULL;
    }
  find_nobody (&confinement);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_take_stdin_fd (launcher, fd);
  g_subprocess_launcher_set_child_setup (launcher, confine, &confinement, NULL);
  process = g_subprocess_launcher_spawn (launcher, error, path, NULL);
  /* The launcher holds the caller's descriptor: gone with it, the helper has its copy. */
  g_clear_object (&launcher);
  if (process == NULL)
    {
      g_prefix_error (error, _("Cannot start the photo converter %s: "), path);
      return NULL;
    }
  /* One byte more than a JPEG may have, then the pipe is closed: a helper that writes on
   * gets SIGPIPE and cannot make the daemon hold more. */
  output = g_malloc (MAX (CJ_PHOTO_MAX_JPEG, HELPER_MAX_MESSAGE) + 1);
  g_input_stream_read_all (g_subprocess_get_stdout_pipe (process), output,
                           MAX (CJ_PHOTO_MAX_JPEG, HELPER_MAX_MESSAGE) + 1, &length, NULL, NULL);
  g_input_stream_close (g_subprocess_get_stdout_pipe (process), NULL, NULL);
  if (!g_subprocess_wait (process, NULL, error))
    return NULL;

  if (g_subprocess_get_if_exited (process))
    {
      int status = g_subprocess_get_exit_status (process);

      if (status == 0 && looks_like_jpeg (output, length))
        return g_bytes_new_take (g_steal_pointer (&output), length);
      if (status == CJ_PHOTO_HELPER_REFUSED && length <= HELPER_MAX_MESSAGE)
        {
          *error = refusal ((const char *) output, length, CJ_ERROR_INVALID_ARGUMENT);
          return NULL;
        }
      if (status == CJ_PHOTO_HELPER_FAILED && length <= HELPER_MAX_MESSAGE)
        {
          *error = refusal ((const char *) output, length, CJ_ERROR_FAILED);
          return NULL;
        }
      if (status == 126)
        {
          g_set_error (error, CJ_ERROR, CJ_ERROR_FAILED,
                       _("Cannot start the photo converter %s: its limits or user could not be set"), path);
          return NULL;
        }
      g_set_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                   _("The image cannot be read (the converter gave no usable answer, status %d)"), status);
      return NULL;
    }
  /* Killed: a resource limit (SIGXCPU, SIGKILL), or a decoder that crashed (SIGSEGV, SIGABRT
   * when the address space ran out) — on the caller's bytes, so the caller's error. */
  g_set_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
               _("The image cannot be read (the converter was stopped by signal %d: too large, too "
                 "slow or damaged)"), g_subprocess_get_term_sig (process));
  return NULL;
}

static void
convert_in_thread (GTask *task, gpointer source, gpointer data, GCancellable *cancellable)
{
  GError *error = NULL;
  GBytes *jpeg = convert (GPOINTER_TO_INT (data), &error);

  if (jpeg == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, jpeg, (GDestroyNotify) g_bytes_unref);
}

/* Bytes from a file the daemon read (an import's jpegPhoto) go to the helper the same way,
 * from an anonymous memory file: the helper gets a regular file as for SetPhoto, and the
 * daemon never writes a caller's bytes to a path. */
GBytes *
cj_photo_convert_bytes (GBytes *image, GError **error)
{
  gsize size;
  const guint8 *data = g_bytes_get_data (image, &size);
  int fd;

  if (size > CJ_PHOTO_MAX_INPUT)
    {
      g_set_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT, _("The image is larger than %d MiB"),
                   CJ_PHOTO_MAX_INPUT / (1024 * 1024));
      return NULL;
    }
  fd = memfd_create ("calculate-jabber-photo", MFD_CLOEXEC);
  if (fd < 0)
    {
      int saved = errno;
      g_set_error (error, CJ_ERROR, CJ_ERROR_FAILED, _("Cannot pass the image to the photo converter: %s"),
                   g_strerror (saved));
      return NULL;
    }
  for (gsize done = 0; done < size;)
    {
      ssize_t n = write (fd, data + done, size - done);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        {
          int saved = errno;
          close (fd);
          g_set_error (error, CJ_ERROR, CJ_ERROR_FAILED, _("Cannot pass the image to the photo converter: %s"),
                       g_strerror (saved));
          return NULL;
        }
      done += (gsize) n;
    }
  if (lseek (fd, 0, SEEK_SET) != 0)
    {
      int saved = errno;
      close (fd);
      g_set_error (error, CJ_ERROR, CJ_ERROR_FAILED, _("Cannot pass the image to the photo converter: %s"),
                   g_strerror (saved));
      return NULL;
    }
  return convert (fd, error);
}

void
cj_photo_convert_async (int fd, GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_task_data (task, GINT_TO_POINTER (fd), NULL);
  /* A thread waits for the helper: reading its answer and waitpid() block. */
  g_task_run_in_thread (task, convert_in_thread);
}

GBytes *
cj_photo_convert_finish (GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
