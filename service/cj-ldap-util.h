/* Small libldap helpers: DNs built with libldap's own escaping (RFC 4514), filter values
 * escaped (RFC 4515), attribute values read. Caller-given names only ever reach LDAP
 * through these. */
#pragma once

#include <glib.h>
#include <ldap.h>

G_BEGIN_DECLS

/* "<attr>=<escaped value>,<parent>" */
char  *cj_ldap_child_dn      (const char *attr, const char *value, const char *parent);
/* @value escaped for use inside a filter. */
char  *cj_ldap_escape_filter (const char *value);
/* The first value of @attr, or NULL. */
char  *cj_ldap_get_string    (LDAP *ld, LDAPMessage *entry, const char *attr);
/* All values of @attr (never NULL). */
char **cj_ldap_get_strings   (LDAP *ld, LDAPMessage *entry, const char *attr);
gboolean cj_ldap_has_value   (LDAP *ld, LDAPMessage *entry, const char *attr, const char *value);
gboolean cj_ldap_has_attr    (LDAP *ld, LDAPMessage *entry, const char *attr);
/* entryUUID as 32 lower-case hex digits (also usable in an object path). */
char  *cj_ldap_uuid_from_text  (const char *text);
char  *cj_ldap_uuid_from_bytes (const struct berval *raw);
/* Whether @dn is directly below @parent (ASCII case-insensitive, no parsing: cheap enough
 * for every entry of a load). */
gboolean cj_ldap_dn_is_child_of (const char *dn, const char *parent);
/* One BER element at *@p within [*@p, @end): its tag (one octet: the elements of an entry
 * and of the sync controls have no others) and its content, in place; *@p moves past it.
 * FALSE if it does not fit (the server's data is checked, not trusted). Cheaper than
 * ber_scanf, which parses its format and allocates for every element. */
gboolean cj_ldap_ber_next (const guchar **p, const guchar *end, guchar *tag, struct berval *content);

/* A LDAPMod list that owns its strings. */
typedef struct _CjLdapMods CjLdapMods;
CjLdapMods *cj_ldap_mods_new     (void);
void        cj_ldap_mods_free    (CjLdapMods *mods);
/* @op is LDAP_MOD_ADD/REPLACE/DELETE; @values NULL-terminated, may be NULL for DELETE. */
void        cj_ldap_mods_add     (CjLdapMods *mods, int op, const char *attr, const char *const *values);
void        cj_ldap_mods_add1    (CjLdapMods *mods, int op, const char *attr, const char *value);
void        cj_ldap_mods_add_bin (CjLdapMods *mods, int op, const char *attr, GBytes *value);
LDAPMod   **cj_ldap_mods_get     (CjLdapMods *mods);
gboolean    cj_ldap_mods_is_empty (CjLdapMods *mods);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CjLdapMods, cj_ldap_mods_free)

G_END_DECLS
