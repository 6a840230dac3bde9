/* Driving ejabberd: (re)starting it through the service manager present (systemd over
 * D-Bus, OpenRC, or a configured command), waiting until it answers, and the ejabberdctl
 * commands the daemon needs (status, kick_user, clear_cache). Every call is async: each
 * ejabberdctl boots an Erlang VM (~0.2-0.3 s). */
#pragma once

#include <gio/gio.h>

#include "cj-config.h"

G_BEGIN_DECLS

typedef struct _CjEjabberd CjEjabberd;

CjEjabberd *cj_ejabberd_new  (const CjConfig *config);
void        cj_ejabberd_free (CjEjabberd *ejabberd);
/* A failed command's output in one line for the caller (cj-ejabberd-summary.c). */
char       *cj_ejabberd_summarize (const char *output);

/* Restarts ejabberd and waits (up to a minute) until `ejabberdctl status` succeeds. */
void     cj_ejabberd_restart_async  (CjEjabberd *ejabberd, GAsyncReadyCallback callback, gpointer user_data);
gboolean cj_ejabberd_restart_finish (CjEjabberd *ejabberd, GAsyncResult *result, GError **error);

/* Runs `ejabberdctl ARGS…`. */
void     cj_ejabberd_control_async  (CjEjabberd *ejabberd, const char *const *args,
                                     GAsyncReadyCallback callback, gpointer user_data);
gboolean cj_ejabberd_control_finish (CjEjabberd *ejabberd, GAsyncResult *result, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjEjabberd, cj_ejabberd_free)

G_END_DECLS
