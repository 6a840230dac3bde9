#include "config.h"
#include "cj-directory.h"

#include <glib/gi18n.h>
#include <poll.h>
#include <string.h>

#include "cj-error.h"

/* Operations waiting for the worker. Changes come authorized (and bounded by the gate);
 * reads come from anybody, so they have a small bound of their own. */
#define MAX_QUEUED_CHANGES 256
#define MAX_QUEUED_READS   32
/* After the server failed to answer, reads fail at once for this long instead of each
 * waiting the whole timeout; the first read after it tries again. */
#define DOWN_SECONDS       5
/* Connections kept open for the answer to a write in doubt (settle). */
#define MAX_IN_DOUBT       16

struct _CjDirectory {
  CjConfig *config;           /* a private copy of what we need */
  char     *jabber_dn;
  char     *users_dn;
  char     *groups_dn;

  /* One worker thread runs the operations in turn (changes before reads): the daemon's
   * own changes never interleave, and no flood of calls makes more threads. */
  GThreadPool *worker;
  GMutex    lock;             /* held by the worker while it uses ld */
  LDAP     *ld;
  gboolean  write_sent;       /* the running attempt sent a write (under lock) */
  gboolean  write_unanswered; /* ... and its last write timed out */
  GPtrArray *in_doubt;        /* LDAP*: connections of writes whose answer is awaited */
  /* Never held across an LDAP call: the main thread takes it to queue an operation. */
  GMutex    state_lock;       /* protects the counts and down_until */
  guint     queued_changes;
  guint     queued_reads;
  guint64   sequence;         /* FIFO order within a kind */
  gint64    down_until;       /* monotonic; reads fail at once before it */
};

typedef struct {
  CjDirectory    *directory;
  CjDirectoryFunc func;
  gpointer        data;
  GDestroyNotify  data_free;
  GTask          *task;
  gboolean        read;
  gboolean        settle_first;   /* cj_directory_run_settled_async */
  guint64         sequence;
} Operation;

static void
operation_free (Operation *op)
{
  if (op->data_free != NULL && op->data != NULL)
    op->data_free (op->data);
  g_free (op);
}

static void run_operation (gpointer data, gpointer user_data);

static void
unbind (gpointer ld)
{
  ldap_unbind_ext_s (ld, NULL, NULL);
}

/* Changes first, then reads; each kind in the order it came. */
static gint
compare_operations (gconstpointer a, gconstpointer b, gpointer user_data)
{
  const Operation *x = g_task_get_task_data ((GTask *) a);
  const Operation *y = g_task_get_task_data ((GTask *) b);

  if (x->read != y->read)
    return x->read ? 1 : -1;
  return x->sequence < y->sequence ? -1 : x->sequence > y->sequence;
}

CjDirectory *
cj_directory_new (const CjConfig *config)
{
  CjDirectory *directory = g_new0 (CjDirectory, 1);

  directory->config = g_new0 (CjConfig, 1);
  directory->config->ldap_uri = g_strdup (config->ldap_uri);
  directory->config->base_dn = g_strdup (config->base_dn);
  directory->config->bind_dn = g_strdup (config->bind_dn);
  directory->config->bind_password_file = g_strdup (config->bind_password_file);
  directory->config->ldap_timeout = config->ldap_timeout;
  directory->jabber_dn = g_strdup_printf ("ou=Jabber,ou=Services,%s", config->base_dn);
  directory->users_dn = g_strdup_printf ("ou=Users,%s", directory->jabber_dn);
  directory->groups_dn = g_strdup_printf ("ou=Groups,%s", directory->jabber_dn);
  g_mutex_init (&directory->lock);
  g_mutex_init (&directory->state_lock);
  directory->in_doubt = g_ptr_array_new_with_free_func (unbind);
  /* Not exclusive: the thread is GLib's, taken from its pool when there is work. */
  directory->worker = g_thread_pool_new (run_operation, directory, 1, FALSE, NULL);
  g_thread_pool_set_sort_function (directory->worker, compare_operations, NULL);
  return directory;
}

void
cj_directory_free (CjDirectory *directory)
{
  if (directory == NULL)
    return;
  /* Lets queued operations finish (their callbacks run in the main context later). */
  g_thread_pool_free (directory->worker, FALSE, TRUE);
  if (directory->ld != NULL)
    ldap_unbind_ext_s (directory->ld, NULL, NULL);
  g_ptr_array_unref (directory->in_doubt);
  g_mutex_clear (&directory->lock);
  g_mutex_clear (&directory->state_lock);
  cj_config_free (directory->config);
  g_free (directory->jabber_dn);
  g_free (directory->users_dn);
  g_free (directory->groups_dn);
  g_free (directory);
}

const char *cj_directory_get_uri (CjDirectory *d)       { return d->config->ldap_uri; }
const char *cj_directory_get_base_dn (CjDirectory *d)   { return d->config->base_dn; }
const char *cj_directory_get_jabber_dn (CjDirectory *d) { return d->jabber_dn; }
const char *cj_directory_get_users_dn (CjDirectory *d)  { return d->users_dn; }
const char *cj_directory_get_groups_dn (CjDirectory *d) { return d->groups_dn; }
guint       cj_directory_get_timeout (CjDirectory *d)   { return d->config->ldap_timeout; }

gboolean
cj_directory_error_is_connection (int rc)
{
  return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR || rc == LDAP_TIMEOUT ||
         rc == LDAP_UNAVAILABLE || rc == LDAP_BUSY || rc == LDAP_TIMELIMIT_EXCEEDED;
}

gboolean
cj_directory_set_error (CjDirectory *directory, GError **error, int rc, LDAP *ld, const char *what)
{
  g_autofree char *diagnostic = NULL;
  g_autofree char *detail = NULL;
  CjError code;

  if (ld != NULL)
    {
      char *text = NULL;
      if (ldap_get_option (ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &text) == LDAP_OPT_SUCCESS && text != NULL)
        {
          diagnostic = g_strdup (text);
          ldap_memfree (text);
        }
    }
  detail = diagnostic != NULL && *diagnostic != '\0'
           ? g_strdup_printf ("%s: %s", ldap_err2string (rc), diagnostic)
           : g_strdup (ldap_err2string (rc));

  if (cj_directory_error_is_connection (rc))
    {
      g_set_error (error, CJ_ERROR, CJ_ERROR_DIRECTORY_UNAVAILABLE,
                   _("The LDAP server %s does not answer (%s) while %s"),
                   directory->config->ldap_uri, detail, what);
      return FALSE;
    }

  switch (rc)
    {
    case LDAP_NO_SUCH_OBJECT:
      code = CJ_ERROR_NOT_FOUND;
      break;
    case LDAP_ALREADY_EXISTS:
      code = CJ_ERROR_ALREADY_EXISTS;
      break;
    case LDAP_INVALID_SYNTAX:
    case LDAP_CONSTRAINT_VIOLATION:
    case LDAP_OBJECT_CLASS_VIOLATION:
    case LDAP_INVALID_DN_SYNTAX:
    case LDAP_NAMING_VIOLATION:
      code = CJ_ERROR_INVALID_ARGUMENT;
      break;
    case LDAP_INVALID_CREDENTIALS:
    case LDAP_INAPPROPRIATE_AUTH:
    case LDAP_STRONG_AUTH_REQUIRED:
      g_set_error (error, CJ_ERROR, CJ_ERROR_FAILED,
                   _("The LDAP server %s refused the daemon's credentials (%s); check BindDn and "
                     "BindPasswordFile in the daemon's configuration"),
                   directory->config->ldap_uri, detail);
      return FALSE;
    case LDAP_INSUFFICIENT_ACCESS:
      g_set_error (error, CJ_ERROR, CJ_ERROR_FAILED,
                   _("The LDAP server does not allow the daemon's bind identity to do this (%s) while %s"),
                   detail, what);
      return FALSE;
    case LDAP_UNWILLING_TO_PERFORM:
      /* slapd without a database for the base DN yet (before `cl-setup ldap` on an empty
       * slapd) says "no global superior knowledge": the directory is not set up. */
      if (diagnostic != NULL && strstr (diagnostic, "no global superior knowledge") != NULL)
        {
          g_set_error (error, CJ_ERROR, CJ_ERROR_NOT_CONFIGURED,
                       _("The directory has no database for %s yet: run “cl-setup ldap” first"),
                       directory->config->base_dn);
          return FALSE;
        }
      code = CJ_ERROR_FAILED;
      break;
    default:
      code = CJ_ERROR_FAILED;
      break;
    }
  g_set_error (error, CJ_ERROR, code, _("LDAP error while %s: %s"), what, detail);
  return FALSE;
}

static int
sasl_interact (LDAP *ld, unsigned flags, void *defaults, void *interact)
{
  /* SASL EXTERNAL asks nothing. */
  return LDAP_SUCCESS;
}

LDAP *
cj_directory_open (CjDirectory *directory, GError **error)
{
  const CjConfig *config = directory->config;
  struct timeval timeout = { (time_t) config->ldap_timeout, 0 };
  int version = LDAP_VERSION3;
  LDAP *ld = NULL;
  int rc;

  rc = ldap_initialize (&ld, config->ldap_uri);
  if (rc != LDAP_SUCCESS)
    {
      g_set_error (error, CJ_ERROR, CJ_ERROR_FAILED, _("Invalid LDAP URI %s: %s"),
                   config->ldap_uri, ldap_err2string (rc));
      return NULL;
    }
  ldap_set_option (ld, LDAP_OPT_PROTOCOL_VERSION, &version);
  ldap_set_option (ld, LDAP_OPT_NETWORK_TIMEOUT, &timeout);
  ldap_set_option (ld, LDAP_OPT_TIMEOUT, &timeout);
  ldap_set_option (ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF);

  if (config->bind_dn != NULL)
    {
      g_autoptr(GError) local_error = NULL;
      g_autofree char *password = NULL;
      struct berval cred = { 0, NULL };

      if (config->bind_password_file != NULL)
        {
          password = cj_config_read_bind_password (config, &local_error);
          if (password == NULL)
            {
              ldap_unbind_ext_s (ld, NULL, NULL);
              g_propagate_error (error, g_steal_pointer (&local_error));
              return NULL;
            }
          cred.bv_val = password;
          cred.bv_len = strlen (password);
        }
      rc = ldap_sasl_bind_s (ld, config->bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
      if (password != NULL)
        explicit_bzero (password, cred.bv_len);
    }
  else
    rc = ldap_sasl_interactive_bind_s (ld, NULL, "EXTERNAL", NULL, NULL, LDAP_SASL_QUIET,
                                       sasl_interact, NULL);

  if (rc != LDAP_SUCCESS)
    {
      cj_directory_set_error (directory, error, rc, ld, _("connecting"));
      ldap_unbind_ext_s (ld, NULL, NULL);
      return NULL;
    }
  return ld;
}

/* Every write goes through these: the running attempt then knows that a write went out
 * (no retry after it) and whether the last one is still unanswered (kept in doubt). */
static int
wrote (CjDirectory *directory, int rc)
{
  directory->write_unanswered = rc == LDAP_TIMEOUT;
  return rc;
}

int
cj_directory_add (CjDirectory *directory, LDAP *ld, const char *dn, LDAPMod **mods)
{
  directory->write_sent = TRUE;
  return wrote (directory, ldap_add_ext_s (ld, dn, mods, NULL, NULL));
}

int
cj_directory_modify (CjDirectory *directory, LDAP *ld, const char *dn, LDAPMod **mods)
{
  directory->write_sent = TRUE;
  return wrote (directory, ldap_modify_ext_s (ld, dn, mods, NULL, NULL));
}

/* What ldap_*_ext_s does after sending (the same wait, so the same timeout and the same
 * state for keep_in_doubt), keeping the answer's controls. ldap_parse_result sets the
 * result code and diagnostic on @ld, where cj_directory_set_error finds them. */
static int
write_answer (LDAP *ld, int rc, int msgid, LDAPControl ***response)
{
  LDAPMessage *answer = NULL;
  int err = LDAP_OTHER;

  *response = NULL;
  if (rc != LDAP_SUCCESS)
    return rc;
  if (ldap_result (ld, msgid, LDAP_MSG_ALL, NULL, &answer) == -1 || answer == NULL)
    {
      ldap_get_option (ld, LDAP_OPT_RESULT_CODE, &err);
      return err;
    }
  rc = ldap_parse_result (ld, answer, &err, NULL, NULL, NULL, response, 1);
  return rc != LDAP_SUCCESS ? rc : err;
}

int
cj_directory_add_send (CjDirectory *directory, LDAP *ld, const char *dn, LDAPMod **mods,
                       LDAPControl **controls, int *msgid)
{
  directory->write_sent = TRUE;
  return ldap_add_ext (ld, dn, mods, controls, NULL, msgid);
}

int
cj_directory_write_wait (CjDirectory *directory, LDAP *ld, int msgid, LDAPControl ***response)
{
  return wrote (directory, write_answer (ld, LDAP_SUCCESS, msgid, response));
}

int
cj_directory_add_ctrls (CjDirectory *directory, LDAP *ld, const char *dn, LDAPMod **mods,
                        LDAPControl **controls, LDAPControl ***response)
{
  int msgid = -1;
  int rc = cj_directory_add_send (directory, ld, dn, mods, controls, &msgid);

  if (rc != LDAP_SUCCESS)
    {
      *response = NULL;
      return wrote (directory, rc);
    }
  return cj_directory_write_wait (directory, ld, msgid, response);
}

int
cj_directory_modify_ctrls (CjDirectory *directory, LDAP *ld, const char *dn, LDAPMod **mods,
                           LDAPControl **controls, LDAPControl ***response)
{
  int msgid = -1;
  int rc;

  directory->write_sent = TRUE;
  rc = ldap_modify_ext (ld, dn, mods, controls, NULL, &msgid);
  return wrote (directory, write_answer (ld, rc, msgid, response));
}

int
cj_directory_delete (CjDirectory *directory, LDAP *ld, const char *dn)
{
  directory->write_sent = TRUE;
  return wrote (directory, ldap_delete_ext_s (ld, dn, NULL, NULL));
}

int
cj_directory_rename (CjDirectory *directory, LDAP *ld, const char *dn, const char *new_rdn,
                     gboolean delete_old)
{
  directory->write_sent = TRUE;
  return wrote (directory, ldap_rename_s (ld, dn, new_rdn, NULL, delete_old ? 1 : 0, NULL, NULL));
}

/* A connection error after a write was sent: the server may have made the change and only
 * its answer was lost. Re-sending could make it twice or fail it for having been made
 * (AlreadyExists); answering "unavailable" would tell the caller it was not made. */
static void
outcome_unknown (CjDirectory *directory, GError **error)
{
  g_autofree char *cause = g_strdup ((*error)->message);

  g_clear_error (error);
  g_set_error (error, CJ_ERROR, CJ_ERROR_OUTCOME_UNKNOWN,
               _("The change was sent to the LDAP server, which then stopped answering (%s): "
                 "whether it was made is not known yet. The daemon checks once the server "
                 "answers again and writes the outcome to the audit log; the same request "
                 "can be repeated safely"),
               cause);
}

/* The connection that carried a write in doubt is kept open, not closed: a hung server that
 * comes back answers on it, and until it has, reading the entry back could see the state
 * before the write that the server is about to make. */
static void
keep_in_doubt (CjDirectory *directory)
{
  /* Only a write that timed out on an open connection can still bring an answer; one the
   * server closed carries nothing any more, and a read that timed out was abandoned by
   * libldap (its writes before it were answered). */
  if (directory->write_unanswered)
    {
      /* Bounded: a server hung for long must not collect connections. */
      if (directory->in_doubt->len >= MAX_IN_DOUBT)
        g_ptr_array_remove_index (directory->in_doubt, 0);
      g_ptr_array_add (directory->in_doubt, g_steal_pointer (&directory->ld));
    }
  else
    g_clear_pointer (&directory->ld, unbind);
}

/* TRUE once the server has answered (or closed) every connection that carried a write in
 * doubt, so that what is read now is the state after those writes. Never waits. */
static gboolean
settle (CjDirectory *directory, GError **error)
{
  while (directory->in_doubt->len > 0)
    {
      struct timeval now = { 0, 0 };
      LDAPMessage *message = NULL;
      int rc = ldap_result (directory->in_doubt->pdata[0], LDAP_RES_ANY, LDAP_MSG_ALL, &now, &message);

      ldap_msgfree (message);
      /* A result, or the connection closed (the server ended, or ended the request): either
       * way the server is done with the write. Nothing yet: it is still hung. */
      if (rc == 0)
        {
          g_set_error (error, CJ_ERROR, CJ_ERROR_DIRECTORY_UNAVAILABLE,
                       _("The LDAP server %s has not answered a change sent to it yet"),
                       directory->config->ldap_uri);
          return FALSE;
        }
      g_ptr_array_remove_index (directory->in_doubt, 0);
    }
  return TRUE;
}

/* Whether the server closed an idle connection (restart, idle timeout): its end shows as
 * readable (end of file, or a notice of disconnection). Checked before an operation, so that
 * a write is never the request that discovers it: that write's fate would be unknown. */
static gboolean
closed_by_server (LDAP *ld)
{
  int fd = -1;
  struct pollfd pfd = { 0 };

  if (ldap_get_option (ld, LDAP_OPT_DESC, &fd) != LDAP_OPT_SUCCESS || fd < 0)
    return TRUE;
  pfd.fd = fd;
  pfd.events = POLLIN | POLLRDHUP;
  return poll (&pfd, 1, 0) != 0;
}

/* Runs one operation with the connection, opening it if needed. */
static gpointer
execute (CjDirectory *directory, Operation *op, GCancellable *cancellable, GError **error_out)
{
  GError *error = NULL;
  gpointer result = NULL;
  int attempts = 2;

  /* Writes in doubt not answered yet: not even a connection is tried. */
  if (op->settle_first && !settle (directory, &error))
    attempts = 0;
  for (int attempt = 0; attempt < attempts; attempt++)
    {
      gboolean fresh = FALSE;

      g_clear_error (&error);
      if (g_cancellable_set_error_if_cancelled (cancellable, &error))
        break;
      if (directory->ld != NULL && closed_by_server (directory->ld))
        g_clear_pointer (&directory->ld, unbind);
      if (directory->ld == NULL)
        {
          directory->ld = cj_directory_open (directory, &error);
          if (directory->ld == NULL)
            break;
          fresh = TRUE;
        }
      directory->write_sent = directory->write_unanswered = FALSE;
      result = op->func (directory, directory->ld, op->data, cancellable, &error);
      if (error == NULL)
        break;
      /* A connection the server dropped (restart, idle timeout) fails at once: open a new
       * one and try once more. A fresh connection that fails is the server being down.
       * Never once a write went out: only what surely did not reach the server is retried. */
      if (!g_error_matches (error, CJ_ERROR, CJ_ERROR_DIRECTORY_UNAVAILABLE))
        break;
      if (directory->write_sent)
        {
          keep_in_doubt (directory);
          outcome_unknown (directory, &error);
          break;
        }
      ldap_unbind_ext_s (directory->ld, NULL, NULL);
      directory->ld = NULL;
      if (fresh)
        break;
    }
  if (error != NULL)
    g_propagate_error (error_out, error);
  return result;
}

static gboolean
known_down (CjDirectory *directory, GError **error)
{
  if (g_get_monotonic_time () >= directory->down_until)
    return FALSE;
  g_set_error (error, CJ_ERROR, CJ_ERROR_DIRECTORY_UNAVAILABLE,
               _("The LDAP server %s did not answer a moment ago; try again in a few seconds"),
               directory->config->ldap_uri);
  return TRUE;
}

/* The worker thread. */
static void
run_operation (gpointer data, gpointer user_data)
{
  g_autoptr(GTask) task = data;
  Operation *op = g_task_get_task_data (task);
  CjDirectory *directory = user_data;
  GError *error = NULL;
  gpointer result = NULL;

  gboolean skip;

  g_mutex_lock (&directory->state_lock);
  if (op->read)
    directory->queued_reads--;
  else
    directory->queued_changes--;
  /* Reads queued while the server stopped answering fail now, not one timeout each. */
  skip = op->read && known_down (directory, &error);
  g_mutex_unlock (&directory->state_lock);
  if (skip)
    {
      g_task_return_error (task, error);
      return;
    }

  g_mutex_lock (&directory->lock);
  result = execute (directory, op, g_task_get_cancellable (task), &error);
  g_mutex_unlock (&directory->lock);

  g_mutex_lock (&directory->state_lock);
  /* A write whose answer was lost is the server not answering too; a check for writes in
   * doubt that found them unanswered tried no connection and proves nothing new. */
  if ((g_error_matches (error, CJ_ERROR, CJ_ERROR_DIRECTORY_UNAVAILABLE) && !op->settle_first) ||
      g_error_matches (error, CJ_ERROR, CJ_ERROR_OUTCOME_UNKNOWN))
    directory->down_until = g_get_monotonic_time () + DOWN_SECONDS * G_USEC_PER_SEC;
  else if (error == NULL)
    directory->down_until = 0;
  g_mutex_unlock (&directory->state_lock);

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, result, NULL);
}

static void
submit (CjDirectory *directory, gboolean read, gboolean settle_first, CjDirectoryFunc func,
        gpointer data, GDestroyNotify data_free, GCancellable *cancellable,
        GAsyncReadyCallback callback, gpointer user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);
  Operation *op = g_new0 (Operation, 1);
  GError *error = NULL;

  op->directory = directory;
  op->func = func;
  op->data = data;
  op->data_free = data_free;
  op->read = read;
  op->settle_first = settle_first;
  g_task_set_task_data (task, op, (GDestroyNotify) operation_free);

  g_mutex_lock (&directory->state_lock);
  if (read && known_down (directory, &error))
    ;   /* answered at once */
  else if (read && directory->queued_reads >= MAX_QUEUED_READS)
    g_set_error_literal (&error, CJ_ERROR, CJ_ERROR_BUSY,
                         _("Too many directory reads are waiting; try again later"));
  else if (!read && directory->queued_changes >= MAX_QUEUED_CHANGES)
    g_set_error_literal (&error, CJ_ERROR, CJ_ERROR_BUSY,
                         _("Too many directory changes are waiting; try again later"));
  if (error == NULL)
    {
      op->sequence = directory->sequence++;
      if (read)
        directory->queued_reads++;
      else
        directory->queued_changes++;
    }
  g_mutex_unlock (&directory->state_lock);

  if (error != NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  g_thread_pool_push (directory->worker, task, NULL);
}

void
cj_directory_run_async (CjDirectory        *directory,
                        CjDirectoryFunc     func,
                        gpointer            data,
                        GDestroyNotify      data_free,
                        GCancellable       *cancellable,
                        GAsyncReadyCallback callback,
                        gpointer            user_data)
{
  submit (directory, FALSE, FALSE, func, data, data_free, cancellable, callback, user_data);
}

void
cj_directory_read_async (CjDirectory        *directory,
                         CjDirectoryFunc     func,
                         gpointer            data,
                         GDestroyNotify      data_free,
                         GAsyncReadyCallback callback,
                         gpointer            user_data)
{
  submit (directory, TRUE, FALSE, func, data, data_free, NULL, callback, user_data);
}

void
cj_directory_set_reachable (CjDirectory *directory)
{
  g_mutex_lock (&directory->state_lock);
  directory->down_until = 0;
  g_mutex_unlock (&directory->state_lock);
}

/* Queued as a change: a verification is not one of the reads anybody may flood. */
void
cj_directory_run_settled_async (CjDirectory        *directory,
                                CjDirectoryFunc     func,
                                gpointer            data,
                                GDestroyNotify      data_free,
                                GAsyncReadyCallback callback,
                                gpointer            user_data)
{
  submit (directory, FALSE, TRUE, func, data, data_free, NULL, callback, user_data);
}

gpointer
cj_directory_run_finish (CjDirectory *directory, GAsyncResult *result, GError **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
