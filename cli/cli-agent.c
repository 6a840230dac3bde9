/* polkit asks for an administrator's password through an agent registered for the calling
 * process. A desktop session has one; a terminal (ssh, console) does not: start pkttyagent
 * for this process, as systemctl and fwupdmgr do, and wait until it is registered. */
#include "config.h"
#include "cli.h"

#include <glib-unix.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define PKTTYAGENT "/usr/bin/pkttyagent"

void
cli_agent_start (Cli *cli)
{
  g_autofree char *pid = g_strdup_printf ("%d", (int) getpid ());
  g_autofree char *notify = NULL;
  int fds[2];
  char byte;

  if (!cli->interactive || cli->agent != 0 || geteuid () == 0 ||
      !g_file_test (PKTTYAGENT, G_FILE_TEST_IS_EXECUTABLE))
    return;
  if (!g_unix_open_pipe (fds, FD_CLOEXEC, NULL))
    return;
  notify = g_strdup_printf ("%d", fds[1]);
  {
    const char *argv[] = { PKTTYAGENT, "--process", pid, "--notify-fd", notify, "--fallback", NULL };
    g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_NONE);
    g_autoptr(GSubprocess) agent = NULL;

    g_subprocess_launcher_take_fd (launcher, fds[1], fds[1]);
    agent = g_subprocess_launcher_spawnv (launcher, argv, NULL);
    if (agent == NULL)
      {
        close (fds[0]);
        return;
      }
    cli->agent = (GPid) atoi (g_subprocess_get_identifier (agent));
  }
  /* pkttyagent closes the notify fd once it is registered (or dies). */
  while (read (fds[0], &byte, 1) > 0)
    ;
  close (fds[0]);
}

void
cli_agent_stop (Cli *cli)
{
  if (cli->agent == 0)
    return;
  kill (cli->agent, SIGTERM);
  waitpid (cli->agent, NULL, 0);
  cli->agent = 0;
}
