/* Driving ejabberd: (re)starting it through the service manager present (systemd over
 * D-Bus, OpenRC, or a configured command), waiting until it answers, and the commands the
 * daemon needs (kick_user, clear_cache, status, …). Commands go through ejabberd's private
 * API socket (cj-ejabberd-api.h, a few ms each); only when that socket is absent (a
 * configuration not rendered by setup) through ejabberdctl, which boots an Erlang VM
 * (~0.3 s). Every call is async. */
#pragma once

#include <gio/gio.h>

#include "cj-config.h"
#include "cj-ejabberd-api.h"

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

/* Whether commands go through the API socket (it is configured and there). */
gboolean  cj_ejabberd_has_api        (CjEjabberd *ejabberd);

/* Runs ejabberd's @command with @args (NULL-terminated name, value pairs, strings): through
 * the API when its socket is there, else ejabberdctl (with a warning, once). Finish returns
 * the reply (through ejabberdctl: its output as a JSON string). */
void      cj_ejabberd_command_async  (CjEjabberd *ejabberd, const char *command, const char *const *args,
                                      GAsyncReadyCallback callback, gpointer user_data);
JsonNode *cj_ejabberd_command_finish (CjEjabberd *ejabberd, GAsyncResult *result, GError **error);
/* The same, never through ejabberdctl when @api_only (roster pushes and avatars: one
 * ejabberdctl each would cost ~0.3 s): fails instead. */
void      cj_ejabberd_command_full_async (CjEjabberd *ejabberd, const char *command, const char *const *args,
                                          gboolean api_only, GAsyncReadyCallback callback, gpointer user_data);
/* Whether the command of @result ran through ejabberdctl (the fallback). */
gboolean  cj_ejabberd_command_used_ctl   (GAsyncResult *result);

/* Ends every session of @user on each of @hosts, all hosts at once. */
void     cj_ejabberd_kick_async  (CjEjabberd *ejabberd, const char *user, const char *const *hosts,
                                  GAsyncReadyCallback callback, gpointer user_data);
gboolean cj_ejabberd_kick_finish (CjEjabberd *ejabberd, GAsyncResult *result, GError **error);

/* Clears ejabberd's caches (auth, roster, vCard, shared roster) after a change: finishes
 * once a clear that started after the call is done. Calls made while a clear runs share
 * the next one: a burst of changes costs two clears, not one each. */
void     cj_ejabberd_clear_cache_async  (CjEjabberd *ejabberd, GAsyncReadyCallback callback, gpointer user_data);
gboolean cj_ejabberd_clear_cache_finish (CjEjabberd *ejabberd, GAsyncResult *result, GError **error);

/* Whether ejabberd answers, now (a real round trip). */
typedef struct {
  gboolean answers;
  gboolean via_api;     /* through the API socket, not ejabberdctl */
  char    *version;     /* "23.01", or "" when not told */
  guint    sessions;    /* connected sessions */
  char    *problem;     /* why it does not answer, or NULL */
} CjEjabberdHealth;

void cj_ejabberd_probe_async  (CjEjabberd *ejabberd, GAsyncReadyCallback callback, gpointer user_data);
/* Fills @health (clear it with cj_ejabberd_health_clear). */
void cj_ejabberd_probe_finish (CjEjabberd *ejabberd, GAsyncResult *result, CjEjabberdHealth *health);
void cj_ejabberd_health_clear (CjEjabberdHealth *health);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjEjabberd, cj_ejabberd_free)

G_END_DECLS
