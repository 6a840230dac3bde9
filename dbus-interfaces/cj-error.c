#include "cj-error.h"

#include <gio/gio.h>

static const GDBusErrorEntry cj_error_entries[] = {
  { CJ_ERROR_FAILED,                 "org.calculate.Jabber.Error.Failed" },
  { CJ_ERROR_PERMISSION_DENIED,      "org.calculate.Jabber.Error.PermissionDenied" },
  { CJ_ERROR_NOT_FOUND,              "org.calculate.Jabber.Error.NotFound" },
  { CJ_ERROR_ALREADY_EXISTS,         "org.calculate.Jabber.Error.AlreadyExists" },
  { CJ_ERROR_INVALID_ARGUMENT,       "org.calculate.Jabber.Error.InvalidArgument" },
  { CJ_ERROR_NOT_CONFIGURED,         "org.calculate.Jabber.Error.NotConfigured" },
  { CJ_ERROR_DIRECTORY_UNAVAILABLE,  "org.calculate.Jabber.Error.DirectoryUnavailable" },
  { CJ_ERROR_BUSY,                   "org.calculate.Jabber.Error.Busy" },
  { CJ_ERROR_NOT_SUPPORTED,          "org.calculate.Jabber.Error.NotSupported" },
  { CJ_ERROR_CANCELLED,              "org.calculate.Jabber.Error.Cancelled" },
  { CJ_ERROR_OUTCOME_UNKNOWN,        "org.calculate.Jabber.Error.OutcomeUnknown" },
};

G_STATIC_ASSERT (G_N_ELEMENTS (cj_error_entries) == CJ_ERROR_N_ERRORS);

GQuark
cj_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("cj-error-quark", &quark,
                                      cj_error_entries, G_N_ELEMENTS (cj_error_entries));
  return (GQuark) quark;
}

const char *
cj_error_dbus_name (CjError code)
{
  g_return_val_if_fail ((guint) code < CJ_ERROR_N_ERRORS, NULL);
  return cj_error_entries[code].dbus_error_name;
}
