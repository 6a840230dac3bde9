/* What a caller sent, checked before anything else happens: the gate (cj-gate.c) runs the
 * table's check of a mutating method before it asks polkit, so a malformed or oversized call
 * is refused at once and holds nothing while a person types a password. Only what the call
 * itself says is checked here (syntax, sizes, counts, option names and types); what depends
 * on the directory (does the group exist?) is the handler's business. Pure functions. */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Members or hosts in one call: far above what a person types, far below the bus limits. */
#define CJ_MAX_LIST_ITEMS    10000
#define CJ_MAX_OPTIONS       16
#define CJ_MAX_PATH_BYTES    256

typedef gboolean (*CjArgumentsCheck) (GVariant *parameters, GUnixFDList *fds, GError **error);

gboolean cj_arguments_none          (GVariant *parameters, GUnixFDList *fds, GError **error);
gboolean cj_arguments_add_user      (GVariant *parameters, GUnixFDList *fds, GError **error);
gboolean cj_arguments_add_group     (GVariant *parameters, GUnixFDList *fds, GError **error);
gboolean cj_arguments_modify        (GVariant *parameters, GUnixFDList *fds, GError **error);
gboolean cj_arguments_modify_group  (GVariant *parameters, GUnixFDList *fds, GError **error);
gboolean cj_arguments_setup_ldap    (GVariant *parameters, GUnixFDList *fds, GError **error);
gboolean cj_arguments_setup         (GVariant *parameters, GUnixFDList *fds, GError **error);
gboolean cj_arguments_nickname      (GVariant *parameters, GUnixFDList *fds, GError **error);
gboolean cj_arguments_password      (GVariant *parameters, GUnixFDList *fds, GError **error);
gboolean cj_arguments_object        (GVariant *parameters, GUnixFDList *fds, GError **error);
gboolean cj_arguments_photo         (GVariant *parameters, GUnixFDList *fds, GError **error);
gboolean cj_arguments_group_name    (GVariant *parameters, GUnixFDList *fds, GError **error);
gboolean cj_arguments_members       (GVariant *parameters, GUnixFDList *fds, GError **error);
gboolean cj_arguments_repair        (GVariant *parameters, GUnixFDList *fds, GError **error);
gboolean cj_arguments_import        (GVariant *parameters, GUnixFDList *fds, GError **error);

G_END_DECLS
