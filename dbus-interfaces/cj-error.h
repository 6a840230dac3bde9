/* The one error domain of calculate-jabber, registered with GDBus so that an error raised
 * in the daemon arrives in the client as the same GError (domain and code). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CJ_ERROR (cj_error_quark ())

typedef enum {
  CJ_ERROR_FAILED,               /* org.calculate.Jabber.Error.Failed */
  CJ_ERROR_PERMISSION_DENIED,    /* org.calculate.Jabber.Error.PermissionDenied */
  CJ_ERROR_NOT_FOUND,            /* org.calculate.Jabber.Error.NotFound */
  CJ_ERROR_ALREADY_EXISTS,       /* org.calculate.Jabber.Error.AlreadyExists */
  CJ_ERROR_INVALID_ARGUMENT,     /* org.calculate.Jabber.Error.InvalidArgument */
  CJ_ERROR_NOT_CONFIGURED,       /* org.calculate.Jabber.Error.NotConfigured */
  CJ_ERROR_DIRECTORY_UNAVAILABLE,/* org.calculate.Jabber.Error.DirectoryUnavailable */
  CJ_ERROR_BUSY,                 /* org.calculate.Jabber.Error.Busy */
  CJ_ERROR_NOT_SUPPORTED,        /* org.calculate.Jabber.Error.NotSupported */
  CJ_ERROR_CANCELLED,            /* org.calculate.Jabber.Error.Cancelled */
  /* A change was sent to the LDAP server and its answer was lost (timeout, connection
   * dropped): it may or may not have been made. The daemon finds out once the server
   * answers again, audits the real outcome and updates its objects. */
  CJ_ERROR_OUTCOME_UNKNOWN,      /* org.calculate.Jabber.Error.OutcomeUnknown */
} CjError;

#define CJ_ERROR_N_ERRORS (CJ_ERROR_OUTCOME_UNKNOWN + 1)

GQuark       cj_error_quark    (void);
const char  *cj_error_dbus_name (CjError code);

G_END_DECLS
