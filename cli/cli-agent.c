/* polkit asks for an administrator's password through an agent registered for the calling
 * process. A desktop session has one; a terminal (ssh, console) does not: register a text
 * agent for this process, in a thread of its own, as long as the command runs (what
 * pkttyagent does; in-process because an agent spawned as this process's child was not
 * asked by polkitd 122 here). It asks on /dev/tty.
 *
 * libpolkit-agent-1 is loaded only then (g_module_open): linked, it and what it pulls in
 * (libpolkit-gobject, libsystemd, libgcrypt, lz4, zstd, lzma) cost every cl-* process
 * about 0.5 ms of dynamic loading, for an agent root and scripts never register
 * (docs/reliability.md, "cl-jabber --version"). */
#include "config.h"
#include "cli.h"

#include <gmodule.h>
#define POLKIT_AGENT_I_KNOW_API_IS_SUBJECT_TO_CHANGE
#include <polkitagent/polkitagent.h>
#include <unistd.h>

static PolkitAgentListener *listener;

static struct {
  GModule *module;
  PolkitAgentListener *(*text_listener_new) (GCancellable *, GError **);
  PolkitSubject       *(*unix_process_new_for_owner) (gint, guint64, gint);
  gpointer             (*listener_register) (PolkitAgentListener *, PolkitAgentRegisterFlags,
                                             PolkitSubject *, const gchar *, GCancellable *, GError **);
  void                 (*listener_unregister) (gpointer);
} agent;

static gboolean
load_agent_library (void)
{
  if (agent.module != NULL)
    return TRUE;
  agent.module = g_module_open ("libpolkit-agent-1.so.0", G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
  if (agent.module == NULL ||
      !g_module_symbol (agent.module, "polkit_agent_text_listener_new", (gpointer *) &agent.text_listener_new) ||
      !g_module_symbol (agent.module, "polkit_unix_process_new_for_owner", (gpointer *) &agent.unix_process_new_for_owner) ||
      !g_module_symbol (agent.module, "polkit_agent_listener_register", (gpointer *) &agent.listener_register) ||
      !g_module_symbol (agent.module, "polkit_agent_listener_unregister", (gpointer *) &agent.listener_unregister))
    {
      g_debug ("no polkit agent: %s", g_module_error ());
      g_clear_pointer (&agent.module, g_module_close);
      return FALSE;
    }
  /* The library keeps threads and GTypes: never unloaded. */
  g_module_make_resident (agent.module);
  return TRUE;
}

void
cli_agent_start (Cli *cli)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PolkitSubject) subject = NULL;

  if (!cli->interactive || cli->agent != NULL || geteuid () == 0 || !load_agent_library ())
    return;
  listener = agent.text_listener_new (NULL, &error);
  if (listener == NULL)
    {
      g_debug ("no polkit agent: %s", error->message);
      return;
    }
  subject = agent.unix_process_new_for_owner (getpid (), 0, (gint) getuid ());
  cli->agent = agent.listener_register (listener, POLKIT_AGENT_REGISTER_FLAGS_RUN_IN_THREAD,
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
  agent.listener_unregister (cli->agent);
  cli->agent = NULL;
  g_clear_object (&listener);
}
