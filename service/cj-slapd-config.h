/* Managing the local slapd's cn=config over ldapi as root (for `cl-setup ldap`): each
 * function checks first and changes only what is missing, adding a line to @report. */
#pragma once

#include <ldap.h>

#include "cj-directory.h"

G_BEGIN_DECLS

/* Whether cn=config can be read with this connection. */
gboolean cj_slapd_config_available (LDAP *ld);
gboolean cj_slapd_ensure_modules  (CjDirectory *directory, LDAP *ld, GPtrArray *report, GError **error);
gboolean cj_slapd_ensure_schemas  (CjDirectory *directory, LDAP *ld, const char *uri,
                                   GPtrArray *report, GError **error);
/* The mdb database for the base DN, with indexes, limits, access rules and syncprov. */
gboolean cj_slapd_ensure_database (CjDirectory *directory, LDAP *ld, const char *database_dir,
                                   const char *ejabberd_dn, GPtrArray *report, GError **error);

G_END_DECLS
