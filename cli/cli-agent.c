/* polkit asks for an administrator's password through an agent registered for the calling
 * process. A desktop session has one; a terminal (ssh, console) does not: register a text
 * agent for this process, in a thread of its own, as long as the command runs (what
 * pkttyagent does; in-process because an agent spawned as this process's child was not
 * asked by polkitd 122 here). It asks on /dev/tty. */
#include "config.h"
#include "cli.h"

#define POLKIT_AGENT_I_KNOW_API_IS_SUBJECT_TO_CHANGE
#include <polkitagent/polkitagent.h>
#include <unistd.h>

static PolkitAgentListener *listener;

void
cli_agent_start (Cli *cli)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PolkitSubject) subject = NULL;

  if (!cli->interactive || cli->agent != NULL || geteuid () == 0)
    return;
  listener = polkit_agent_text_listener_new (NULL, &error);
  if (listener == NULL)
    {
      g_debug ("no polkit agent: %s", error->message);
      return;
    }
  subject = polkit_unix_process_new_for_owner (getpid (), 0, getuid ());
  cli->agent = polkit_agent_listener_register (listener, POLKIT_AGENT_REGISTER_FLAGS_RUN_IN_THREAD,
                                               subject, NULL, NULL, &error);
  /* Another agent for this process (a desktop's) is fine: it will ask. */
  if (cli->agent == NULL)
    {
      g_debug ("no polkit agent: %s", error->message);
      g_clear_object (&listener);
    }
}

void
cli_agent_stop (Cli *cli)
{
  if (cli->agent == NULL)
    return;
  polkit_agent_listener_unregister (cli->agent);
  cli->agent = NULL;
  g_clear_object (&listener);
}
