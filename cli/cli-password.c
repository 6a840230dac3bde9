/* Passwords come from the terminal (no echo) or from standard input, never from argv,
 * where any user could read them (ps, /proc). */
#include "config.h"
#include "cli.h"

#include <errno.h>
#include <glib/gi18n.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#define MAX_LINE 1024

void
cli_password_free (char *password)
{
  if (password == NULL)
    return;
  explicit_bzero (password, strlen (password));
  g_free (password);
}

static char *
read_line (FILE *in)
{
  char buffer[MAX_LINE];
  gsize length;

  if (fgets (buffer, sizeof buffer, in) == NULL)
    return NULL;
  length = strlen (buffer);
  while (length > 0 && (buffer[length - 1] == '\n' || buffer[length - 1] == '\r'))
    buffer[--length] = '\0';
  {
    char *line = g_strdup (buffer);
    explicit_bzero (buffer, sizeof buffer);
    return line;
  }
}

static char *
ask_once (FILE *tty, const char *prompt)
{
  struct termios saved, quiet;
  char *line;
  int fd = fileno (tty);

  if (tcgetattr (fd, &saved) < 0)
    return NULL;
  quiet = saved;
  quiet.c_lflag &= ~(tcflag_t) ECHO;
  quiet.c_lflag |= ECHONL;
  /* Echo off before the prompt shows: what is typed after it is never echoed, nor
   * flushed away. */
  tcsetattr (fd, TCSAFLUSH, &quiet);
  fputs (prompt, tty);
  fflush (tty);
  line = read_line (tty);
  tcsetattr (fd, TCSAFLUSH, &saved);
  return line;
}

static char *check_passwords (char *first, char *second, gboolean confirm, GError **error);

/* A mistyped retype is asked again, as passwd(1) does: up to three tries. */
#define TRIES 3

char *
cli_password_ask (const char *prompt, gboolean confirm, GError **error)
{
  FILE *tty = fopen ("/dev/tty", "r+e");
  char *first = NULL;
  char *second = NULL;

  if (tty == NULL)
    {
      g_set_error_literal (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                           _("There is no terminal to ask for the password: give it on standard input (-P)"));
      return NULL;
    }
  for (int i = 0; i < TRIES; i++)
    {
      cli_password_free (first);
      cli_password_free (second);
      second = NULL;
      first = ask_once (tty, prompt != NULL ? prompt : _("Password: "));
      if (first == NULL || !confirm)
        break;
      if (*first == '\0')
        {
          fputs (_("The password is empty; try again.\n"), tty);
          continue;
        }
      second = ask_once (tty, _("Retype password: "));
      if (second == NULL || strcmp (first, second) == 0)
        break;
      if (i + 1 < TRIES)
        fputs (_("The passwords do not match; try again.\n"), tty);
    }
  fclose (tty);
  return check_passwords (first, second, confirm, error);
}

static char *
check_passwords (char *first, char *second, gboolean confirm, GError **error)
{
  if (first == NULL)
    {
      g_set_error_literal (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT, _("No password given"));
      return NULL;
    }
  if (!confirm)
    return first;
  if (second == NULL || strcmp (first, second) != 0)
    {
      cli_password_free (first);
      cli_password_free (second);
      g_set_error_literal (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT, _("The passwords do not match"));
      return NULL;
    }
  cli_password_free (second);
  return first;
}

char *
cli_password_stdin (GError **error)
{
  char *line = read_line (stdin);

  if (line == NULL || *line == '\0')
    {
      cli_password_free (line);
      g_set_error_literal (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                           _("No password on standard input"));
      return NULL;
    }
  return line;
}

char *
cli_password_auto (gboolean confirm, GError **error)
{
  if (isatty (STDIN_FILENO))
    return cli_password_ask (NULL, confirm, error);
  return cli_password_stdin (error);
}

char *
cli_password_from_flags (gboolean ask, gboolean from_stdin, GError **error)
{
  if (ask)
    return cli_password_ask (NULL, TRUE, error);
  if (from_stdin)
    return cli_password_stdin (error);
  return NULL;
}
