/* ejabberd's HTTP API (mod_http_api) over the private Unix socket the rendered
 * configuration adds: one POST /api/<command> with a JSON object of string arguments, the
 * JSON reply parsed. In-process and asynchronous (libsoup 3, json-glib): a call costs a few
 * milliseconds where ejabberdctl boots an Erlang VM (~0.3 s). */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _CjEjabberdApi CjEjabberdApi;

/* @timeout: seconds before an unanswered call fails. */
CjEjabberdApi *cj_ejabberd_api_new  (const char *socket_path, guint timeout);
void           cj_ejabberd_api_free (CjEjabberdApi *api);

const char    *cj_ejabberd_api_get_socket (CjEjabberdApi *api);
/* Whether the socket file is there (ejabberd listens on it once configured to). */
gboolean       cj_ejabberd_api_present    (CjEjabberdApi *api);

/* @args: NULL or NULL-terminated name, value, name, value... (strings). */
void           cj_ejabberd_api_call_async  (CjEjabberdApi *api, const char *command,
                                            const char *const *args, GCancellable *cancellable,
                                            GAsyncReadyCallback callback, gpointer user_data);
/* The reply's JSON (transfer full), or NULL with an error saying what went wrong: CJ_ERROR
 * when ejabberd answered otherwise than 200, the transport's (G_IO_ERROR…) when it did not
 * answer at all. */
JsonNode      *cj_ejabberd_api_call_finish (CjEjabberdApi *api, GAsyncResult *result, GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjEjabberdApi, cj_ejabberd_api_free)

G_END_DECLS
