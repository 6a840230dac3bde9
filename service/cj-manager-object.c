/* org.calculate.Jabber.Manager at /org/calculate/Jabber: adding, finding and listing users
 * and groups. */
#include "config.h"

#include <glib/gi18n.h>
#include <string.h>
#include <unistd.h>

#include "cj-common.h"
#include "cj-daemon.h"
#include "cj-error.h"
#include "cj-import-job.h"
#include "cj-verify.h"
#include "cj-options.h"
#include "cj-photo.h"
#include "cj-user-table.h"
#include "cj-validate.h"

/* AddUser ----------------------------------------------------------------------------- */

typedef struct {
  CjDaemon              *daemon;
  GDBusMethodInvocation *invocation;
  CjStoreRequest        *request;
} AddUser;

static void
on_photo_converted (GObject *source, GAsyncResult *result, gpointer data)
{
  AddUser *add = data;
  GError *error = NULL;
  GBytes *jpeg = cj_photo_convert_finish (result, &error);

  if (jpeg == NULL)
    cj_daemon_fail (add->invocation, add->request->name, error);
  else
    {
      CjStoreRequest *request = g_steal_pointer (&add->request);

      request->photo = jpeg;
      cj_daemon_store (add->daemon, add->invocation, request->name, request, cj_reply_subject_path);
    }
  g_clear_pointer (&add->request, cj_store_request_free);
  g_free (add);
}

static gboolean
handle_add_user (CjManager *manager, GDBusMethodInvocation *invocation, GUnixFDList *fd_list,
                 const char *name, const char *nickname, GVariant *options, CjDaemon *daemon)
{
  g_autoptr(CjStoreRequest) request = cj_store_request_new (CJ_STORE_ADD_USER);
  GError *error = NULL;
  const char *group_path = NULL;
  const char *password = NULL;

  /* The arguments were checked by the gate (cj_arguments_add_user), before polkit. */
  request->name = g_strdup (name);
  request->nickname = g_strdup (nickname);
  request->jid = g_strdup_printf ("%s@%s", name, cj_server_get_primary_host (daemon->server));

  if (g_variant_lookup (options, CJ_OPT_PASSWORD, "&s", &password))
    request->password = g_strdup (password);
  if (g_variant_lookup (options, CJ_OPT_GROUP, "&o", &group_path) &&
      g_strcmp0 (group_path, CJ_NO_OBJECT) != 0)
    {
      CjEntry *group = cj_registry_get (daemon->registry, group_path);

      if (group == NULL || group->kind != CJ_ENTRY_GROUP)
        return cj_daemon_fail (invocation, name,
                               g_error_new (CJ_ERROR, CJ_ERROR_NOT_FOUND, _("No such group: %s"), group_path));
      request->group_dn = g_strdup (group->dn);
    }
  /* No AlreadyExists from the view: an existing account is the directory's to judge
   * (cj-store-users.c), since the same request again after a fault finishes what the fault
   * left half made. */

  if (g_variant_lookup (options, CJ_OPT_PHOTO, "h", NULL))
    {
      AddUser *add;
      int fd = cj_options_get_fd (options, CJ_OPT_PHOTO, fd_list, &error);

      if (fd < 0)
        return cj_daemon_fail (invocation, name, error);
      add = g_new0 (AddUser, 1);
      add->daemon = daemon;
      add->invocation = invocation;
      add->request = g_steal_pointer (&request);
      cj_photo_convert_async (fd, NULL, on_photo_converted, add);
      return TRUE;
    }

  cj_daemon_store (daemon, invocation, name, g_steal_pointer (&request), cj_reply_subject_path);
  return TRUE;
}

/* Finding and listing ------------------------------------------------------------------- */

/* "name" or "name@host" where host is one this server serves. */
static char *
local_part (CjDaemon *daemon, const char *name_or_jid)
{
  const char *at = strchr (name_or_jid, '@');
  const char *const *hosts = cj_server_get_hosts (daemon->server);

  if (at == NULL)
    return g_strdup (name_or_jid);
  if (g_ascii_strcasecmp (at + 1, cj_server_get_primary_host (daemon->server)) != 0 &&
      (hosts == NULL || !g_strv_contains (hosts, at + 1)))
    return NULL;
  return g_strndup (name_or_jid, (gsize) (at - name_or_jid));
}

static gboolean
handle_find_user (CjManager *manager, GDBusMethodInvocation *invocation, const char *name,
                  CjDaemon *daemon)
{
  g_autofree char *local = local_part (daemon, name);
  CjEntry *user = local != NULL ? cj_registry_find_user (daemon->registry, local) : NULL;
  g_autofree char *safe = cj_text_escape (name);

  if (local == NULL)
    return cj_daemon_fail (invocation, NULL,
                           g_error_new (CJ_ERROR, CJ_ERROR_NOT_FOUND,
                                        _("“%s” is not on a host this server serves"), safe));
  if (user == NULL)
    return cj_daemon_fail (invocation, NULL,
                           g_error_new (CJ_ERROR, CJ_ERROR_NOT_FOUND, _("No user named “%s”"), safe));
  cj_manager_complete_find_user_by_name (manager, invocation,
                                         cj_registry_path_of (daemon->registry, user->uuid));
  return TRUE;
}

static const char **
paths_of (GPtrArray *records)
{
  const char **paths = g_new (const char *, records->len + 1);

  for (guint i = 0; i < records->len; i++)
    paths[i] = ((CjRecord *) records->pdata[i])->path;
  paths[records->len] = NULL;
  return paths;
}

/* The listings are answered from the bounded queue (cj-reads.c), not at once. */
static void
list_users (GDBusMethodInvocation *invocation, gpointer data)
{
  CjDaemon *daemon = data;
  g_autofree const char **paths = paths_of (cj_registry_sorted_users (daemon->registry));

  cj_manager_complete_list_users (daemon->manager, invocation, paths);
}

static gboolean
handle_list_users (CjManager *manager, GDBusMethodInvocation *invocation, CjDaemon *daemon)
{
  cj_reads_submit (daemon->reads, invocation, list_users, daemon);
  return TRUE;
}

/* Paging: a page ends at @limit records or at about PAGE_BYTES, whichever comes first, but
 * holds at least one record (a reply must make progress). */
#define PAGE_BYTES (4 * 1024 * 1024)

static void
page_bounds (CjDaemon *daemon, GPtrArray *records, guint offset, guint limit, guint *end)
{
  gsize size = 0;
  guint i = MIN (offset, records->len);

  if (limit == 0)
    limit = G_MAXUINT;
  for (; i < records->len && i - offset < limit; i++)
    {
      size += cj_tree_estimate_size (daemon, records->pdata[i]);
      if (size > PAGE_BYTES && i > offset)
        break;
    }
  *end = i;
}

static void
get_users (GDBusMethodInvocation *invocation, gpointer data)
{
  CjDaemon *daemon = data;
  GPtrArray *users = cj_registry_sorted_users (daemon->registry);
  const char *host = cj_registry_get_primary_host (daemon->registry);
  GVariantBuilder builder;
  guint offset, limit, end;

  g_variant_get (g_dbus_method_invocation_get_parameters (invocation), "(uu)", &offset, &limit);
  page_bounds (daemon, users, offset, limit, &end);
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(osssbbbo)"));
  for (guint i = offset; i < end; i++)
    {
      CjRecord *user = users->pdata[i];
      CjEntry *entry = user->entry;
      g_autofree char *jid = g_strconcat (entry->name, "@", host, NULL);

      g_variant_builder_add (&builder, "(osssbbbo)", user->path, entry->name, jid, entry->nickname,
                             entry->locked, entry->has_password, entry->has_photo,
                             user->group != NULL ? user->group->path : CJ_NO_OBJECT);
    }
  g_dbus_method_invocation_return_value (invocation,
                                         g_variant_new ("(a(osssbbbo)u)", &builder, users->len));
}

static gboolean
handle_get_users (CjManager *manager, GDBusMethodInvocation *invocation, guint offset, guint limit,
                  CjDaemon *daemon)
{
  cj_reads_submit (daemon->reads, invocation, get_users, daemon);
  return TRUE;
}

/* The same rows as bytes laid out by us (cj-user-table.h): no GVariant per value here, in
 * GDBus's marshalling, in dbus-daemon's checks or in the client. A page stops once it
 * passes PAGE_BYTES, like GetUsers'. */
static void
get_user_table (GDBusMethodInvocation *invocation, gpointer data)
{
  CjDaemon *daemon = data;
  GPtrArray *users = cj_registry_sorted_users (daemon->registry);
  const char *host = cj_registry_get_primary_host (daemon->registry);
  g_autoptr(CjUserTableWriter) writer = cj_user_table_writer_new ();
  g_autoptr(GString) jid = g_string_new (NULL);
  g_autoptr(GBytes) bytes = NULL;
  guint offset, limit;

  g_variant_get (g_dbus_method_invocation_get_parameters (invocation), "(uu)", &offset, &limit);
  if (limit == 0)
    limit = G_MAXUINT;
  for (guint i = offset; i < users->len && i - offset < limit; i++)
    {
      CjRecord *user = users->pdata[i];
      CjEntry *entry = user->entry;
      CjUserRow row = {
        user->path, entry->name, NULL, entry->nickname,
        entry->locked, entry->has_password, entry->has_photo,
        user->group != NULL ? user->group->path : CJ_NO_OBJECT,
        user->group != NULL ? user->group->entry->name : "",
      };

      if (i > offset && cj_user_table_writer_size (writer) > PAGE_BYTES)
        break;
      g_string_assign (jid, entry->name);
      g_string_append_c (jid, '@');
      g_string_append (jid, host);
      row.jid = jid->str;
      cj_user_table_writer_add (writer, &row);
    }
  bytes = cj_user_table_writer_end (g_steal_pointer (&writer));
  g_dbus_method_invocation_return_value (invocation,
                                         g_variant_new ("(@ayu)",
                                                        g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING,
                                                                                  bytes, TRUE),
                                                        users->len));
}

static gboolean
handle_get_user_table (CjManager *manager, GDBusMethodInvocation *invocation, guint offset,
                       guint limit, CjDaemon *daemon)
{
  cj_reads_submit (daemon->reads, invocation, get_user_table, daemon);
  return TRUE;
}

/* Groups -------------------------------------------------------------------------------- */

static gboolean
handle_add_group (CjManager *manager, GDBusMethodInvocation *invocation, const char *name,
                  GVariant *options, CjDaemon *daemon)
{
  g_autoptr(CjStoreRequest) request = cj_store_request_new (CJ_STORE_ADD_GROUP);
  g_autofree const char **members = NULL;
  GError *error = NULL;

  /* The arguments were checked by the gate (cj_arguments_add_group). */
  if (g_variant_lookup (options, CJ_OPT_MEMBERS, "^a&o", &members) &&
      (request->members = cj_daemon_user_names (daemon, members, &error)) == NULL)
    return cj_daemon_fail (invocation, name, error);
  /* With members, the directory judges an existing group (cj-store-groups.c): the same
   * request again after a fault puts in the members a fault left out. */
  if (request->members == NULL && cj_registry_find_group (daemon->registry, name) != NULL)
    return cj_daemon_fail (invocation, name,
                           g_error_new (CJ_ERROR, CJ_ERROR_ALREADY_EXISTS,
                                        _("A group named “%s” already exists"), name));
  request->name = g_strdup (name);
  cj_daemon_store (daemon, invocation, name, g_steal_pointer (&request), cj_reply_subject_path);
  return TRUE;
}

static gboolean
handle_find_group (CjManager *manager, GDBusMethodInvocation *invocation, const char *name,
                   CjDaemon *daemon)
{
  CjEntry *group = cj_registry_find_group (daemon->registry, name);

  if (group == NULL)
    {
      g_autofree char *safe = cj_text_escape (name);
      return cj_daemon_fail (invocation, NULL,
                             g_error_new (CJ_ERROR, CJ_ERROR_NOT_FOUND, _("No group named “%s”"), safe));
    }
  cj_manager_complete_find_group_by_name (manager, invocation,
                                          cj_registry_path_of (daemon->registry, group->uuid));
  return TRUE;
}

static void
list_groups (GDBusMethodInvocation *invocation, gpointer data)
{
  CjDaemon *daemon = data;
  g_autofree const char **paths = paths_of (cj_registry_sorted_groups (daemon->registry));

  cj_manager_complete_list_groups (daemon->manager, invocation, paths);
}

static gboolean
handle_list_groups (CjManager *manager, GDBusMethodInvocation *invocation, CjDaemon *daemon)
{
  cj_reads_submit (daemon->reads, invocation, list_groups, daemon);
  return TRUE;
}

static void
get_groups (GDBusMethodInvocation *invocation, gpointer data)
{
  CjDaemon *daemon = data;
  GPtrArray *groups = cj_registry_sorted_groups (daemon->registry);
  GVariantBuilder builder;
  guint offset, limit, end;

  g_variant_get (g_dbus_method_invocation_get_parameters (invocation), "(uu)", &offset, &limit);
  page_bounds (daemon, groups, offset, limit, &end);
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(osao)"));
  for (guint i = offset; i < end; i++)
    {
      CjRecord *group = groups->pdata[i];
      g_autofree const char **members = paths_of (group->members);

      g_variant_builder_add (&builder, "(os^ao)", group->path, group->entry->name, members);
    }
  g_dbus_method_invocation_return_value (invocation,
                                         g_variant_new ("(a(osao)u)", &builder, groups->len));
}

static gboolean
handle_get_groups (CjManager *manager, GDBusMethodInvocation *invocation, guint offset, guint limit,
                   CjDaemon *daemon)
{
  cj_reads_submit (daemon->reads, invocation, get_groups, daemon);
  return TRUE;
}

void
cj_manager_object_init (CjDaemon *daemon)
{
  daemon->manager = cj_manager_skeleton_new ();
  cj_manager_set_version (daemon->manager, PACKAGE_VERSION);
  g_signal_connect (daemon->manager, "handle-add-user", G_CALLBACK (handle_add_user), daemon);
  g_signal_connect (daemon->manager, "handle-find-user-by-name", G_CALLBACK (handle_find_user), daemon);
  g_signal_connect (daemon->manager, "handle-list-users", G_CALLBACK (handle_list_users), daemon);
  g_signal_connect (daemon->manager, "handle-get-users", G_CALLBACK (handle_get_users), daemon);
  g_signal_connect (daemon->manager, "handle-get-user-table", G_CALLBACK (handle_get_user_table), daemon);
  g_signal_connect (daemon->manager, "handle-add-group", G_CALLBACK (handle_add_group), daemon);
  g_signal_connect (daemon->manager, "handle-find-group-by-name", G_CALLBACK (handle_find_group), daemon);
  g_signal_connect (daemon->manager, "handle-list-groups", G_CALLBACK (handle_list_groups), daemon);
  g_signal_connect (daemon->manager, "handle-get-groups", G_CALLBACK (handle_get_groups), daemon);
  cj_import_job_init (daemon);
  cj_verify_init (daemon);
  cj_gate_attach (daemon->gate, G_DBUS_INTERFACE_SKELETON (daemon->manager));
}
