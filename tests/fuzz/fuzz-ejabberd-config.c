/* ejabberd.yml rendering (service/cj-ejabberd-config.c): whatever the settings hold, the
 * file loads with libyaml (what ejabberd's fast_yaml is built on) and every setting comes
 * back exactly where it was put, so no value can end the string it sits in, add a key, or
 * keep ejabberd from starting. Values are UTF-8 (GKeyFile and D-Bus strings are); invalid
 * UTF-8 comes back with U+FFFD in place of each bad sequence. */
#include "config.h"

#include <string.h>
#include <yaml.h>

#include "cj-ejabberd-config.h"
#include "fuzz-common.h"

/* The number of top-level keys is the one of the same settings with harmless values: no
 * value may add one (counted, not listed, so that a new setting of the renderer needs no
 * change here). */
static gsize
top_level_keys (const char *yml)
{
  yaml_parser_t parser;
  yaml_document_t doc;
  yaml_node_t *root;
  gsize n = 0;

  yaml_parser_initialize (&parser);
  yaml_parser_set_input_string (&parser, (const unsigned char *) yml, strlen (yml));
  if (yaml_parser_load (&parser, &doc))
    {
      root = yaml_document_get_root_node (&doc);
      if (root != NULL && root->type == YAML_MAPPING_NODE)
        n = (gsize) (root->data.mapping.pairs.top - root->data.mapping.pairs.start);
      yaml_document_delete (&doc);
    }
  yaml_parser_delete (&parser);
  return n;
}

static gsize
harmless_keys (const CjEjabberdSettings *fuzzed)
{
  CjEjabberdSettings s = *fuzzed;
  const char *hosts[3] = { "a.example", fuzzed->hosts[1] != NULL ? "b.example" : NULL, NULL };
  g_autofree char *yml = NULL;

  s.hosts = hosts;
  s.history_dir = "/var/log/h";
  s.listen = *fuzzed->listen != '\0' ? "127.0.0.1" : "";
  s.certificate_file = "/etc/c.pem";
  s.ldap_server = "127.0.0.1";
  s.ldap_rootdn = "cn=a";
  s.ldap_password = "p";
  s.users_dn = "ou=u";
  s.jabber_dn = "ou=j";
  yml = cj_ejabberd_config_render (&s);
  return top_level_keys (yml);
}

enum { HOST1, HOST2, LISTEN, CERT, LDAP_SERVER, ROOTDN, PASSWORD, USERS_DN, JABBER_DN, HISTORY, N_FIELDS };

static yaml_node_t *
get (yaml_document_t *doc, yaml_node_t *map, const char *key)
{
  if (map == NULL || map->type != YAML_MAPPING_NODE)
    return NULL;
  for (yaml_node_pair_t *pair = map->data.mapping.pairs.start; pair < map->data.mapping.pairs.top; pair++)
    {
      yaml_node_t *k = yaml_document_get_node (doc, pair->key);

      if (k->type == YAML_SCALAR_NODE && k->data.scalar.length == strlen (key) &&
          memcmp (k->data.scalar.value, key, k->data.scalar.length) == 0)
        return yaml_document_get_node (doc, pair->value);
    }
  return NULL;
}

static yaml_node_t *
item (yaml_document_t *doc, yaml_node_t *seq, int index)
{
  if (seq == NULL || seq->type != YAML_SEQUENCE_NODE ||
      index >= seq->data.sequence.items.top - seq->data.sequence.items.start)
    return NULL;
  return yaml_document_get_node (doc, seq->data.sequence.items.start[index]);
}

static void
expect (yaml_node_t *node, const char *value, const char *where)
{
  g_autofree char *valid = g_utf8_make_valid (value, -1);

  FUZZ_CHECK (node != NULL && node->type == YAML_SCALAR_NODE, "%s: no string", where);
  FUZZ_CHECK (node->data.scalar.length == strlen (valid) &&
              memcmp (node->data.scalar.value, valid, node->data.scalar.length) == 0,
              "%s: \"%.*s\" instead of \"%s\"", where, (int) node->data.scalar.length,
              node->data.scalar.value, valid);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  char *f[N_FIELDS];
  const char *hosts[3] = { NULL, NULL, NULL };
  CjEjabberdSettings s = { 0 };
  g_autofree char *yml = NULL;
  yaml_parser_t parser;
  yaml_document_t doc;
  yaml_node_t *root, *listen;
  gboolean two_hosts, loaded;
  guint flags = size > 0 ? data[0] : 0;

  if (size > 0)
    data++, size--;
  for (int i = 0; i < N_FIELDS; i++)
    f[i] = fuzz_field (&data, &size);
  two_hosts = (flags & 1) != 0;
  hosts[0] = f[HOST1];
  hosts[1] = two_hosts ? f[HOST2] : NULL;
  s.hosts = hosts;
  s.history = (flags & 2) != 0;
  s.history_dir = f[HISTORY];
  s.listen = f[LISTEN];
  s.certificate_file = f[CERT];
  s.client_port = 5222 + (flags >> 2);
  s.server_port = 5269;
  s.ldap_server = f[LDAP_SERVER];
  s.ldap_port = 389;
  s.ldap_rootdn = f[ROOTDN];
  s.ldap_password = f[PASSWORD];
  s.users_dn = f[USERS_DN];
  s.jabber_dn = f[JABBER_DN];

  yml = cj_ejabberd_config_render (&s);
  FUZZ_CHECK (g_utf8_validate (yml, -1, NULL), "the file is not UTF-8");

  yaml_parser_initialize (&parser);
  yaml_parser_set_input_string (&parser, (const unsigned char *) yml, strlen (yml));
  loaded = yaml_parser_load (&parser, &doc);
  FUZZ_CHECK (loaded, "does not load: %s (line %zu)", parser.problem ? parser.problem : "?",
              parser.problem_mark.line + 1);
  root = yaml_document_get_root_node (&doc);
  FUZZ_CHECK (root != NULL && root->type == YAML_MAPPING_NODE, "no mapping");

  expect (item (&doc, get (&doc, root, "hosts"), 0), f[HOST1], "hosts[0]");
  if (two_hosts)
    {
      g_autofree char *jid = g_strdup_printf ("admin@%s", f[HOST2]);
      expect (item (&doc, get (&doc, root, "hosts"), 1), f[HOST2], "hosts[1]");
      expect (item (&doc, get (&doc, get (&doc, get (&doc, root, "acl"), "admin"), "user"), 1),
              jid, "acl admin");
    }
  FUZZ_CHECK (item (&doc, get (&doc, root, "hosts"), two_hosts ? 2 : 1) == NULL, "extra host");
  expect (item (&doc, get (&doc, root, "certfiles"), 0), f[CERT], "certfiles");
  listen = get (&doc, root, "listen");
  for (int i = 0; i < 2; i++)
    {
      yaml_node_t *l = item (&doc, listen, i);
      FUZZ_CHECK (l != NULL, "listener %d missing", i);
      if (*f[LISTEN] != '\0')
        expect (get (&doc, l, "ip"), f[LISTEN], "listen ip");
      else
        FUZZ_CHECK (get (&doc, l, "ip") == NULL, "an ip for every address");
    }
  expect (item (&doc, get (&doc, root, "ldap_servers"), 0), f[LDAP_SERVER], "ldap_servers");
  expect (get (&doc, root, "ldap_rootdn"), f[ROOTDN], "ldap_rootdn");
  expect (get (&doc, root, "ldap_password"), f[PASSWORD], "ldap_password");
  expect (get (&doc, root, "ldap_base"), f[USERS_DN], "ldap_base");
  {
    yaml_node_t *modules = get (&doc, root, "modules");
    expect (get (&doc, get (&doc, modules, "mod_shared_roster_ldap"), "ldap_base"),
            f[JABBER_DN], "shared roster base");
    if (s.history)
      expect (get (&doc, get (&doc, modules, "mod_log_chat"), "path"), f[HISTORY], "history");
    else
      FUZZ_CHECK (get (&doc, modules, "mod_log_chat") == NULL, "history without asking");
  }
  /* Nothing added at the top level by a value. */
  FUZZ_CHECK ((gsize) (root->data.mapping.pairs.top - root->data.mapping.pairs.start) == harmless_keys (&s),
              "keys: %d, not %d", (int) (root->data.mapping.pairs.top - root->data.mapping.pairs.start),
              (int) harmless_keys (&s));

  yaml_document_delete (&doc);
  yaml_parser_delete (&parser);
  for (int i = 0; i < N_FIELDS; i++)
    g_free (f[i]);
  return 0;
}
