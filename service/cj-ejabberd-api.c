#include "config.h"
#include "cj-ejabberd-api.h"

#include <glib/gi18n.h>
#include <libsoup/soup.h>
#include <string.h>
#include <sys/stat.h>

#include "cj-error.h"

/* ejabberd's replies are small (a number, a short list); a status or an error message. Past
 * this the reply is refused rather than parsed. */
#define MAX_REPLY_BYTES (4 * 1024 * 1024)

struct _CjEjabberdApi {
  char        *socket_path;
  SoupSession *session;
};

CjEjabberdApi *
cj_ejabberd_api_new (const char *socket_path, guint timeout)
{
  CjEjabberdApi *api = g_new0 (CjEjabberdApi, 1);
  g_autoptr(GSocketAddress) address = g_unix_socket_address_new (socket_path);

  api->socket_path = g_strdup (socket_path);
  /* Every request goes to the socket whatever the URI's host says. A few connections
   * are kept open: kicks on several hosts run in parallel. */
  api->session = soup_session_new_with_options ("remote-connectable", address,
                                                "timeout", timeout,
                                                "idle-timeout", 30,
                                                "max-conns", 8,
                                                "max-conns-per-host", 8,
                                                "user-agent", "calculate-jabberd",
                                                NULL);
  return api;
}

void
cj_ejabberd_api_free (CjEjabberdApi *api)
{
  if (api == NULL)
    return;
  soup_session_abort (api->session);
  g_object_unref (api->session);
  g_free (api->socket_path);
  g_free (api);
}

const char *
cj_ejabberd_api_get_socket (CjEjabberdApi *api)
{
  return api->socket_path;
}

gboolean
cj_ejabberd_api_present (CjEjabberdApi *api)
{
  struct stat st;

  return stat (api->socket_path, &st) == 0 && S_ISSOCK (st.st_mode);
}

typedef struct {
  char        *command;
  SoupMessage *message;
} Call;

static void
call_free (Call *call)
{
  g_free (call->command);
  g_clear_object (&call->message);
  g_free (call);
}

/* mod_http_api's errors: {"status":"error","code":N,"message":"..."}. */
static char *
error_message (JsonNode *node)
{
  JsonObject *object;
  const char *message;

  if (node != NULL && JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING)
    return g_utf8_make_valid (json_node_get_string (node), 512);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  object = json_node_get_object (node);
  message = json_object_get_string_member_with_default (object, "message", NULL);
  return message != NULL ? g_utf8_make_valid (message, 512) : NULL;
}

static void
on_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GTask) task = user_data;
  Call *call = g_task_get_task_data (task);
  CjEjabberdApi *api = g_object_get_data (G_OBJECT (task), "cj-api");
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  g_autoptr(JsonParser) parser = NULL;
  guint status;
  JsonNode *root;

  if (body == NULL)
    {
      /* The transport's domain and code are kept: a refused connection (a socket file left
       * by an ejabberd that no longer listens there) is told apart by the caller. */
      g_task_return_new_error (task, error->domain, error->code,
                               _("ejabberd does not answer on its API socket %s (%s): %s"),
                               api->socket_path, call->command, error->message);
      return;
    }
  status = soup_message_get_status (call->message);
  if (g_bytes_get_size (body) > MAX_REPLY_BYTES)
    {
      g_task_return_new_error (task, CJ_ERROR, CJ_ERROR_FAILED,
                               _("ejabberd's answer to %s is too large"), call->command);
      return;
    }
  parser = json_parser_new_immutable ();
  if (status != SOUP_STATUS_OK && status >= 400 && g_bytes_get_size (body) < 4096 &&
      !json_parser_load_from_data (parser, g_bytes_get_data (body, NULL), (gssize) g_bytes_get_size (body), NULL))
    {
      g_autofree char *text = g_utf8_make_valid (g_bytes_get_data (body, NULL), (gssize) g_bytes_get_size (body));

      g_task_return_new_error (task, CJ_ERROR, CJ_ERROR_FAILED, _("ejabberd refused %s (HTTP %u): %s"),
                               call->command, status, g_strstrip (text));
      return;
    }
  if (!json_parser_load_from_data (parser, g_bytes_get_data (body, NULL), (gssize) g_bytes_get_size (body),
                                   &error))
    {
      g_task_return_new_error (task, CJ_ERROR, CJ_ERROR_FAILED,
                               _("ejabberd answered %s with HTTP %u and no JSON: %s"),
                               call->command, status, error->message);
      return;
    }
  root = json_parser_get_root (parser);
  if (status != SOUP_STATUS_OK)
    {
      g_autofree char *message = error_message (root);

      g_task_return_new_error (task, CJ_ERROR, CJ_ERROR_FAILED, _("ejabberd refused %s (HTTP %u): %s"),
                               call->command, status, message != NULL ? message : _("no message"));
      return;
    }
  g_task_return_pointer (task, root != NULL ? json_node_copy (root) : json_node_new (JSON_NODE_NULL),
                         (GDestroyNotify) json_node_unref);
}

void
cj_ejabberd_api_call_async (CjEjabberdApi *api, const char *command, const char *const *args,
                            GCancellable *cancellable, GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Call *call = g_new0 (Call, 1);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *uri = NULL;
  g_autoptr(GBytes) body = NULL;
  char *text;

  g_object_set_data (G_OBJECT (task), "cj-api", api);
  call->command = g_strdup (command);
  g_task_set_task_data (task, call, (GDestroyNotify) call_free);

  json_builder_begin_object (builder);
  for (const char *const *a = args; a != NULL && a[0] != NULL && a[1] != NULL; a += 2)
    {
      json_builder_set_member_name (builder, a[0]);
      json_builder_add_string_value (builder, a[1]);
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  text = json_generator_to_data (generator, NULL);
  body = g_bytes_new_take (text, strlen (text));

  /* The command names are ours (a fixed list), never a caller's: no escaping needed. */
  uri = g_strconcat ("http://localhost/api/", command, NULL);
  call->message = soup_message_new ("POST", uri);
  /* libsoup opens a new connection for every POST unless told that sending it twice does
   * no harm; each of the daemon's commands is so (a kick, a cache clear, a status, a
   * roster push or avatar item sent again leaves the same state). Marked, a request goes
   * on an idle connection kept open (a lock's kicks then cost no connect and no new
   * process in ejabberd), and one that meets a connection ejabberd had just closed is sent
   * again on a new one. */
  soup_message_add_flags (call->message, SOUP_MESSAGE_IDEMPOTENT);
  soup_message_set_request_body_from_bytes (call->message, "application/json", body);
  soup_session_send_and_read_async (api->session, call->message, G_PRIORITY_DEFAULT, cancellable,
                                    on_sent, task);
}

JsonNode *
cj_ejabberd_api_call_finish (CjEjabberdApi *api, GAsyncResult *result, GError **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
