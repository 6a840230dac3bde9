/* Managing the local slapd's cn=config over ldapi as root (for `cl-setup ldap`): each
 * function checks first and changes only what is missing, adding a line to @report. */
#pragma once

#include <ldap.h>

#include "cj-directory.h"
#include "cj-ldap-util.h"

G_BEGIN_DECLS

/* Who root is when it talks to slapd over ldapi with SASL EXTERNAL. */
#define CJ_SLAPD_PEERCRED_ROOT "gidNumber=0+uidNumber=0,cn=peercred,cn=external,cn=auth"

/* Whether cn=config can be read with this connection. */
gboolean cj_slapd_config_available (LDAP *ld);
gboolean cj_slapd_ensure_modules  (CjDirectory *directory, LDAP *ld, GPtrArray *report, GError **error);
gboolean cj_slapd_ensure_schemas  (CjDirectory *directory, LDAP *ld, const char *uri,
                                   GPtrArray *report, GError **error);
/* The mdb database for the base DN, with indexes, limits, access rules and syncprov. */
gboolean cj_slapd_ensure_database (CjDirectory *directory, LDAP *ld, const char *database_dir,
                                   const char *ejabberd_dn, GPtrArray *report, GError **error);

/* The accesslog database beside the Jabber database, as syncprov's session log source
 * (cj-slapd-accesslog.c): a follower resuming from its cookie is told what was deleted
 * instead of being sent the entryUUID of every unchanged entry. */
gboolean cj_slapd_ensure_session_log (CjDirectory *directory, LDAP *ld, const char *database,
                                      const char *database_dir, GPtrArray *report, GError **error);
/* Where the accesslog database lives: beside @database_dir ("<database_dir>-accesslog"). */
char    *cj_slapd_accesslog_directory (const char *database_dir);

/* Helpers shared by the cn=config code. Every value of @attr of the entries found, stripped
 * of their "{N}" prefix; whether @values holds @value (case-insensitively); the DN of the
 * database whose suffix is @base (NULL if none); a new database directory, owned by whoever
 * owns its parent (openldap on Debian: slapd runs as that user). */
GPtrArray *cj_slapd_search_values (LDAP *ld, const char *base, int scope, const char *filter,
                                   const char *attr, int *rc);
gboolean   cj_slapd_contains      (GPtrArray *values, const char *value);
char      *cj_slapd_find_database (LDAP *ld, const char *base, int *rc);
gboolean   cj_slapd_make_database_directory (const char *path, GError **error);
/* The add request's first attributes for an mdb database of @suffix in @database_dir, root
 * over ldapi its rootdn, with @indexes; the caller adds its limits and access rules. */
CjLdapMods *cj_slapd_mdb_database_mods (const char *suffix, const char *database_dir,
                                        const char *const *indexes);

G_END_DECLS
