#include "config.h"
#include "cj-ejabberd-config.h"

#include <string.h>

/* Whether YAML (libyaml, hence ejabberd's fast_yaml) takes @c as written inside a
 * double-quoted scalar: printable (YAML 1.1 5.1: no C0/C1 control, DEL, BOM, U+FFFE/FFFF),
 * and no line break (NEL, LS, PS are folded like a newline). */
static gboolean
yaml_plain_char (gunichar c)
{
  return (c >= 0x20 && c <= 0x7e) ||
         (c >= 0xa0 && c <= 0xfffd && c != 0x2028 && c != 0x2029 && c != 0xfeff) ||
         (c >= 0x10000 && c <= 0x10ffff);
}

/* A YAML double-quoted scalar holding exactly @value: anything YAML would refuse or fold is
 * written as an escape. Values are UTF-8 (GKeyFile and D-Bus strings are); a bad sequence
 * becomes U+FFFD, as libyaml would refuse the whole file (and ejabberd not start). */
static void
quoted (GString *out, const char *value)
{
  g_autofree char *valid = g_utf8_make_valid (value, -1);

  g_string_append_c (out, '"');
  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == '"' || c == '\\')
        g_string_append_printf (out, "\\%c", (char) c);
      else if (yaml_plain_char (c))
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
      else if (c < 0x100)
        g_string_append_printf (out, "\\x%02x", c);
      else
        g_string_append_printf (out, "\\u%04x", c);
    }
  g_string_append_c (out, '"');
}

static void
key_value (GString *out, const char *indent, const char *key, const char *value)
{
  g_string_append_printf (out, "%s%s: ", indent, key);
  quoted (out, value);
  g_string_append_c (out, '\n');
}

static void
listener (GString *out, const CjEjabberdSettings *s, guint port, const char *module)
{
  g_string_append_printf (out, "  -\n    port: %u\n", port);
  if (s->listen != NULL && *s->listen != '\0')
    key_value (out, "    ", "ip", s->listen);
  g_string_append_printf (out, "    module: %s\n", module);
}

char *
cj_ejabberd_config_render (const CjEjabberdSettings *s)
{
  GString *out = g_string_new (NULL);

  g_string_append (out,
    "# Written by calculate-jabberd (cl-setup jabber). Changes made here are lost at the next\n"
    "# setup: change the settings with cl-setup instead. The previous version is kept beside it.\n"
    "\n"
    "hosts:\n");
  for (const char *const *h = s->hosts; *h != NULL; h++)
    {
      g_string_append (out, "  - ");
      quoted (out, *h);
      g_string_append_c (out, '\n');
    }
  g_string_append (out, "\nloglevel: info\n\ncertfiles:\n  - ");
  quoted (out, s->certificate_file);
  g_string_append (out, "\n\n"
    "# Clients must use TLS: with LDAP authentication only PLAIN SASL is offered.\n"
    "listen:\n");
  listener (out, s, s->client_port, "ejabberd_c2s");
  g_string_append (out,
    "    max_stanza_size: 65536\n"
    "    shaper: c2s_shaper\n"
    "    access: c2s\n"
    "    starttls_required: true\n");
  listener (out, s, s->server_port, "ejabberd_s2s_in");
  g_string_append (out,
    "    max_stanza_size: 524288\n"
    "\n"
    "s2s_use_starttls: optional\n"
    "\n"
    "# Passwords are checked by binding to LDAP as the user: PLAIN (inside TLS) is the only\n"
    "# mechanism that can carry one. X-OAUTH2 would let in holders of ejabberd's own OAuth\n"
    "# tokens, a way in that bypasses the directory's locks; the others are refused by name\n"
    "# too, should a later ejabberd offer them for LDAP.\n"
    "disable_sasl_mechanisms:\n"
    "  - \"X-OAUTH2\"\n"
    "  - \"DIGEST-MD5\"\n"
    "  - \"SCRAM-SHA-1\"\n"
    "  - \"SCRAM-SHA-1-PLUS\"\n"
    "  - \"SCRAM-SHA-256\"\n"
    "  - \"SCRAM-SHA-256-PLUS\"\n"
    "  - \"SCRAM-SHA-512\"\n"
    "  - \"SCRAM-SHA-512-PLUS\"\n"
    "  - \"EXTERNAL\"\n"
    "  - \"ANONYMOUS\"\n"
    "\n"
    "# Users live in LDAP (calculate-jabberd writes them). No authentication cache: a changed\n"
    "# password or a lock applies at the next login, on every node.\n"
    "auth_method: ldap\n"
    "auth_use_cache: false\n"
    "ldap_servers:\n  - ");
  quoted (out, s->ldap_server);
  g_string_append_printf (out, "\nldap_port: %u\n", s->ldap_port);
  key_value (out, "", "ldap_rootdn", s->ldap_rootdn);
  key_value (out, "", "ldap_password", s->ldap_password);
  key_value (out, "", "ldap_base", s->users_dn);
  g_string_append (out,
    "ldap_uids:\n"
    "  uid: \"%u\"\n"
    "# Locked accounts carry shadowExpire.\n"
    "ldap_filter: \"(&(objectClass=inetOrgPerson)(!(shadowExpire=*)))\"\n"
    "\n"
    "acl:\n"
    "  admin:\n"
    "    user:\n");
  for (const char *const *h = s->hosts; *h != NULL; h++)
    {
      g_autofree char *jid = g_strdup_printf (CJ_ADMIN_ACCOUNT "@%s", *h);
      g_string_append (out, "      - ");
      quoted (out, jid);
      g_string_append_c (out, '\n');
    }
  g_string_append (out,
    "  local:\n"
    "    user_regexp: \"\"\n"
    "  loopback:\n"
    "    ip:\n"
    "      - 127.0.0.0/8\n"
    "      - ::1/128\n"
    "\n"
    "access_rules:\n"
    "  local:\n"
    "    allow: local\n"
    "  c2s:\n"
    "    deny: blocked\n"
    "    allow: all\n"
    "  announce:\n"
    "    allow: admin\n"
    "  configure:\n"
    "    allow: admin\n"
    "  trusted_network:\n"
    "    allow: loopback\n"
    "\n"
    "# calculate-jabberd drives ejabberd with ejabberdctl (kick_user, clear_cache, status).\n"
    "api_permissions:\n"
    "  \"console commands\":\n"
    "    from:\n"
    "      - ejabberd_ctl\n"
    "    who: all\n"
    "    what: \"*\"\n"
    "\n"
    "shaper:\n"
    "  normal:\n"
    "    rate: 3000\n"
    "    burst_size: 20000\n"
    "  fast: 100000\n"
    "\n"
    "shaper_rules:\n"
    "  max_user_sessions: 10\n"
    "  max_user_offline_messages:\n"
    "    5000: admin\n"
    "    100: all\n"
    "  c2s_shaper:\n"
    "    none: admin\n"
    "    normal: all\n"
    "  s2s_shaper: fast\n"
    "\n"
    "modules:\n"
    "  mod_adhoc: {}\n"
    "  mod_admin_extra: {}\n"
    "  mod_announce:\n"
    "    access: announce\n"
    "  mod_caps: {}\n"
    "  mod_carboncopy: {}\n"
    "  mod_client_state: {}\n"
    "  mod_configure: {}\n"
    "  mod_disco: {}\n"
    "  mod_last: {}\n"
    "  mod_offline:\n"
    "    access_max_user_messages: max_user_offline_messages\n"
    "  mod_ping: {}\n"
    "  mod_privacy: {}\n"
    "  mod_private: {}\n"
    "  mod_roster:\n"
    "    versioning: true\n"
    "  mod_stream_mgmt:\n"
    "    resend_on_timeout: if_offline\n"
    "  # Nickname and photo from LDAP.\n"
    "  mod_vcard:\n"
    "    db_type: ldap\n"
    "    use_cache: false\n"
    "    ldap_filter: \"(objectClass=inetOrgPerson)\"\n"
    "    ldap_vcard_map:\n"
    "      NICKNAME: {\"%s\": [displayName]}\n"
    "      FN: {\"%s\": [cn]}\n"
    "      FAMILY: {\"%s\": [sn]}\n"
    "      PHOTO: {\"%s\": [jpegPhoto]}\n"
    "  mod_vcard_xupdate: {}\n"
    "  # Every group (posixGroup) shows in every user's contact list, under its name\n"
    "  # (description). ejabberd pastes the cn into ldap_gfilter unescaped: the cn is an\n"
    "  # identifier calculate-jabberd made (g + 16 hex digits), never a name.\n"
    "  mod_shared_roster_ldap:\n");
  key_value (out, "    ", "ldap_base", s->jabber_dn);
  g_string_append (out,
    "    ldap_filter: \"(objectClass=*)\"\n"
    "    ldap_rfilter: \"(&(objectClass=posixGroup)(description=*))\"\n"
    "    ldap_gfilter: \"(&(objectClass=posixGroup)(cn=%g))\"\n"
    "    ldap_groupattr: cn\n"
    "    ldap_groupdesc: description\n"
    "    ldap_memberattr: memberUid\n"
    "    ldap_ufilter: \"(&(objectClass=inetOrgPerson)(uid=%u))\"\n"
    "    ldap_useruid: uid\n"
    "    ldap_userdesc: displayName\n"
    "    cache_life_time: 30\n");
  if (s->history)
    {
      g_string_append (out, "  # History: one file per pair of users per day.\n  mod_log_chat:\n");
      key_value (out, "    ", "path", s->history_dir);
      g_string_append (out, "    format: text\n");
    }
  return g_string_free (out, FALSE);
}

gboolean
cj_ejabberd_config_is_admin (const char *name)
{
  return name != NULL && g_ascii_strcasecmp (name, CJ_ADMIN_ACCOUNT) == 0;
}
