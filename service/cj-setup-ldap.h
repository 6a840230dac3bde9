/* `cl-setup ldap`: prepares the directory for the Jabber service. Runs in the directory's
 * worker thread; idempotent (only adds what is missing) and reports what it did.
 *
 * With the local slapd (an ldapi:// URI and SASL EXTERNAL as root, Debian's default way to
 * manage cn=config) it also sets slapd up: modules, schemas, a database for BaseDn (root
 * over ldapi is its rootdn), indexes, limits, access rules, the sync provider and its
 * session log source (an accesslog database, cj-slapd-accesslog.c). Against any
 * other directory it only checks that BaseDn exists. In both cases it creates the Jabber
 * subtree and ejabberd's read-only bind identity, whose password it keeps in a root-only
 * file in StateDirectory. */
#pragma once

#include "cj-config.h"
#include "cj-directory.h"

G_BEGIN_DECLS

typedef struct {
  char    *state_dir;
  char    *database_dir;
  char    *ldap_uri;
  gboolean local;          /* ldapi + EXTERNAL: cn=config may be managed */
} CjSetupLdapRequest;

CjSetupLdapRequest *cj_setup_ldap_request_new  (const CjConfig *config);
void                cj_setup_ldap_request_free (CjSetupLdapRequest *request);

/* A CjDirectoryFunc taking a CjSetupLdapRequest: returns a GPtrArray of report lines. */
gpointer cj_setup_ldap_run (CjDirectory *directory, LDAP *ld, gpointer data,
                            GCancellable *cancellable, GError **error);

/* The file holding ejabberd's bind password, and the DN of that identity. */
char    *cj_setup_ldap_secret_path  (const char *state_dir);
char    *cj_setup_ldap_ejabberd_dn  (CjDirectory *directory);

G_END_DECLS
