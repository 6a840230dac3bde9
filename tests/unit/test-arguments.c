/* The checks the gate runs before polkit (service/cj-arguments.c): hostile calls are refused
 * with InvalidArgument, valid ones pass, and the per-uid bounds (cj-quota.c) hold. */
#include "config.h"

#include <gio/gunixfdlist.h>
#include <string.h>

#include "cj-arguments.h"
#include "cj-common.h"
#include "cj-error.h"
#include "cj-quota.h"

static void
refused (CjArgumentsCheck check, GVariant *parameters, GUnixFDList *fds)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) params = g_variant_ref_sink (parameters);

  g_assert_false (check (params, fds, &error));
  g_assert_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT);
}

static void
accepted (CjArgumentsCheck check, GVariant *parameters, GUnixFDList *fds)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) params = g_variant_ref_sink (parameters);

  g_assert_true (check (params, fds, &error));
  g_assert_no_error (error);
}

static GVariant *
empty_options (void)
{
  return g_variant_new_array (G_VARIANT_TYPE ("{sv}"), NULL, 0);
}

/* User.Modify: every key checked as its Set* method would, photo and clear-photo apart. */
static void
test_modify (void)
{
  GVariantBuilder options;

  accepted (cj_arguments_modify, g_variant_new ("(@a{sv})", empty_options ()), NULL);
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", CJ_OPT_NICKNAME, g_variant_new_string ("Ник"));
  g_variant_builder_add (&options, "{sv}", CJ_OPT_LOCKED, g_variant_new_boolean (TRUE));
  g_variant_builder_add (&options, "{sv}", CJ_OPT_GROUP, g_variant_new_object_path ("/"));
  g_variant_builder_add (&options, "{sv}", CJ_OPT_CLEAR_PHOTO, g_variant_new_boolean (TRUE));
  accepted (cj_arguments_modify, g_variant_new ("(a{sv})", &options), NULL);

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", CJ_OPT_PASSWORD, g_variant_new_string (""));
  refused (cj_arguments_modify, g_variant_new ("(a{sv})", &options), NULL);
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", CJ_OPT_LOCKED, g_variant_new_string ("yes"));
  refused (cj_arguments_modify, g_variant_new ("(a{sv})", &options), NULL);
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", CJ_OPT_NICKNAME, g_variant_new_string ("a\x01b"));
  refused (cj_arguments_modify, g_variant_new ("(a{sv})", &options), NULL);
  /* A photo without a descriptor, and with clear-photo. */
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", CJ_OPT_PHOTO, g_variant_new_handle (0));
  refused (cj_arguments_modify, g_variant_new ("(a{sv})", &options), NULL);
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", CJ_OPT_PHOTO, g_variant_new_handle (0));
  g_variant_builder_add (&options, "{sv}", CJ_OPT_CLEAR_PHOTO, g_variant_new_boolean (TRUE));
  refused (cj_arguments_modify, g_variant_new ("(a{sv})", &options), NULL);
}

static void
test_modify_group (void)
{
  GVariantBuilder options;
  const char *paths[] = { "/org/calculate/Jabber/Users/1", NULL };

  accepted (cj_arguments_modify_group, g_variant_new ("(@a{sv})", empty_options ()), NULL);
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", CJ_OPT_NAME, g_variant_new_string ("Отдел продаж"));
  g_variant_builder_add (&options, "{sv}", CJ_OPT_ADD_MEMBERS, g_variant_new_objv (paths, -1));
  accepted (cj_arguments_modify_group, g_variant_new ("(a{sv})", &options), NULL);
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", CJ_OPT_NAME, g_variant_new_string (" leading"));
  refused (cj_arguments_modify_group, g_variant_new ("(a{sv})", &options), NULL);
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", CJ_OPT_REMOVE_MEMBERS, g_variant_new_string ("x"));
  refused (cj_arguments_modify_group, g_variant_new ("(a{sv})", &options), NULL);
}

static void
test_add_user (void)
{
  g_autofree char *huge = g_malloc (8 * 1024 * 1024 + 1);
  GVariantBuilder options;

  memset (huge, 'n', 8 * 1024 * 1024);
  huge[8 * 1024 * 1024] = '\0';
  accepted (cj_arguments_add_user, g_variant_new ("(ss@a{sv})", "guest", "Гость", empty_options ()), NULL);
  refused (cj_arguments_add_user, g_variant_new ("(ss@a{sv})", "guest", huge, empty_options ()), NULL);
  refused (cj_arguments_add_user, g_variant_new ("(ss@a{sv})", "Guest", "", empty_options ()), NULL);
  refused (cj_arguments_add_user, g_variant_new ("(ss@a{sv})", "", "", empty_options ()), NULL);

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", CJ_OPT_PASSWORD, g_variant_new_string (huge));
  refused (cj_arguments_add_user, g_variant_new ("(ssa{sv})", "guest", "", &options), NULL);

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", "no-such-option", g_variant_new_string ("x"));
  refused (cj_arguments_add_user, g_variant_new ("(ssa{sv})", "guest", "", &options), NULL);

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  for (int i = 0; i < CJ_MAX_OPTIONS + 1; i++)
    g_variant_builder_add (&options, "{sv}", CJ_OPT_PASSWORD, g_variant_new_string ("pw"));
  refused (cj_arguments_add_user, g_variant_new ("(ssa{sv})", "guest", "", &options), NULL);

  /* A photo handle that points at no descriptor of the call. */
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", CJ_OPT_PHOTO, g_variant_new_handle (0));
  refused (cj_arguments_add_user, g_variant_new ("(ssa{sv})", "guest", "", &options), NULL);
}

static void
test_photo_handle (void)
{
  g_autoptr(GUnixFDList) fds = g_unix_fd_list_new ();
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_unix_fd_list_append (fds, 0, &error), ==, 0);
  accepted (cj_arguments_photo, g_variant_new ("(h)", 0), fds);
  refused (cj_arguments_photo, g_variant_new ("(h)", 1), fds);
  refused (cj_arguments_photo, g_variant_new ("(h)", -1), fds);
  refused (cj_arguments_photo, g_variant_new ("(h)", 0), NULL);
}

static void
test_members (void)
{
  GVariantBuilder paths;

  g_variant_builder_init (&paths, G_VARIANT_TYPE_OBJECT_PATH_ARRAY);
  refused (cj_arguments_members, g_variant_new ("(ao)", &paths), NULL);

  g_variant_builder_init (&paths, G_VARIANT_TYPE_OBJECT_PATH_ARRAY);
  g_variant_builder_add (&paths, "o", "/org/calculate/Jabber/Users/x");
  accepted (cj_arguments_members, g_variant_new ("(ao)", &paths), NULL);

  g_variant_builder_init (&paths, G_VARIANT_TYPE_OBJECT_PATH_ARRAY);
  for (int i = 0; i < CJ_MAX_LIST_ITEMS + 1; i++)
    g_variant_builder_add (&paths, "o", "/x");
  refused (cj_arguments_members, g_variant_new ("(ao)", &paths), NULL);
}

static void
test_long_path (void)
{
  GString *path = g_string_new ("/org");

  while (path->len <= CJ_MAX_PATH_BYTES)
    g_string_append (path, "/abcdefgh");
  refused (cj_arguments_object, g_variant_new ("(o)", path->str), NULL);
  accepted (cj_arguments_object, g_variant_new ("(o)", "/"), NULL);
  g_string_free (path, TRUE);
}

static void
test_setup (void)
{
  GVariantBuilder options;
  const char *hosts[] = { "jabber.example.org", "bad host", NULL };

  accepted (cj_arguments_setup, g_variant_new ("(@a{sv})", empty_options ()), NULL);
  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", CJ_OPT_HOSTS, g_variant_new_strv (hosts, -1));
  refused (cj_arguments_setup, g_variant_new ("(a{sv})", &options), NULL);

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", CJ_OPT_LISTEN, g_variant_new_string ("not-an-address"));
  refused (cj_arguments_setup, g_variant_new ("(a{sv})", &options), NULL);

  g_variant_builder_init (&options, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&options, "{sv}", "anything", g_variant_new_boolean (TRUE));
  refused (cj_arguments_setup_ldap, g_variant_new ("(a{sv})", &options), NULL);
}

static void
test_group_name (void)
{
  g_autofree char *long_name = g_strnfill (CJ_MAX_GROUP_BYTES + 1, 'g');

  accepted (cj_arguments_group_name, g_variant_new ("(s)", "Отдел (Москва)"), NULL);
  refused (cj_arguments_group_name, g_variant_new ("(s)", long_name), NULL);
  refused (cj_arguments_group_name, g_variant_new ("(s)", " padded "), NULL);
}

static void
test_quota (void)
{
  g_autoptr(CjQuota) quota = cj_quota_new (2, 3, 1);
  gboolean per_user;

  g_assert_true (cj_quota_take (quota, 1000, &per_user));
  g_assert_true (cj_quota_take (quota, 1000, &per_user));
  g_assert_false (cj_quota_take (quota, 1000, &per_user));
  g_assert_true (per_user);
  g_assert_true (cj_quota_take (quota, 1001, &per_user));
  /* Three held by others: the overall bound, for every user but root. */
  g_assert_false (cj_quota_take (quota, 1002, &per_user));
  g_assert_false (per_user);
  g_assert_true (cj_quota_take (quota, 0, &per_user));
  g_assert_false (cj_quota_take (quota, 0, &per_user));
  g_assert_true (per_user);
  cj_quota_give (quota, 1000);
  g_assert_true (cj_quota_take (quota, 1002, &per_user));
  cj_quota_give (quota, 0);
  g_assert_true (cj_quota_take (quota, 0, &per_user));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/arguments/add-user", test_add_user);
  g_test_add_func ("/arguments/modify", test_modify);
  g_test_add_func ("/arguments/modify-group", test_modify_group);
  g_test_add_func ("/arguments/photo-handle", test_photo_handle);
  g_test_add_func ("/arguments/members", test_members);
  g_test_add_func ("/arguments/long-path", test_long_path);
  g_test_add_func ("/arguments/setup", test_setup);
  g_test_add_func ("/arguments/group-name", test_group_name);
  g_test_add_func ("/quota/bounds", test_quota);
  return g_test_run ();
}
