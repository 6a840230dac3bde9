/* How a group entry is named in LDAP. Its RDN is cn=<id>, an identifier the daemon makes
 * ("g" and 16 lower-case hex digits: nothing a user chose), and the name users see is its
 * `description`. ejabberd's mod_shared_roster_ldap pastes the values of its group attribute
 * (cn) into its group filter without escaping them, so only such identifiers may be there;
 * a rename is then one modify of `description`.
 * The first layout had the name itself as the cn (cn=<name>): such groups are converted. */
#pragma once

#include <glib.h>
#include <ldap.h>

#include "cj-directory.h"

G_BEGIN_DECLS

/* A fresh group identifier (random, so two writers do not pick the same one). */
char     *cj_group_id_new      (void);
gboolean  cj_group_id_is_valid (const char *id);

/* A filter matching the posixGroup named @name: by its description, or by the cn of an
 * entry in the first layout (no description), as the daemon reads names. The equality
 * rules are the attributes' own (caseIgnoreMatch for both). */
char     *cj_group_name_filter (const char *name);
/* A filter matching the posixGroups that list @name as a memberUid (escaped). */
char     *cj_group_member_filter (const char *name);

/* Converts every group of the first layout under ou=Groups to this one, keeping each
 * entry's entryUUID and members (a modify and a modrdn). Idempotent; a group that cannot be
 * converted (its name is taken by another group) is left as it is and reported. Adds one
 * line to @report (may be NULL) per outcome worth telling. FALSE only when the directory
 * fails. */
gboolean  cj_group_layout_migrate (CjDirectory *directory, LDAP *ld, GPtrArray *report,
                                   GError **error);

G_END_DECLS
