#include "config.h"
#include "cj-validate.h"

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <net/if.h>
#include <string.h>

#include "cj-common.h"
#include "cj-error.h"

static gboolean
invalid (GError **error, const char *format, ...) G_GNUC_PRINTF (2, 3);

static gboolean
invalid (GError **error, const char *format, ...)
{
  va_list args;

  if (error == NULL)
    return FALSE;
  va_start (args, format);
  *error = g_error_new_valist (CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT, format, args);
  va_end (args);
  return FALSE;
}

static gboolean
has_control (const char *s)
{
  for (const char *p = s; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      if (g_unichar_iscntrl (c) || c == 0x2028 || c == 0x2029)
        return TRUE;
    }
  return FALSE;
}

/* Account names are the JID's localpart, the LDAP uid and a memberUid value. memberUid is
 * an IA5 (ASCII) string, ejabberd lower-cases JIDs, and names end up in file names (the
 * history logs) and command lines: so the portable POSIX user-name set, lower case only. */
gboolean
cj_validate_user_name (const char *name, GError **error)
{
  if (name == NULL || *name == '\0')
    return invalid (error, _("The user name is empty"));
  if (strlen (name) > CJ_MAX_NAME_BYTES)
    return invalid (error, _("The user name is longer than %d characters"), CJ_MAX_NAME_BYTES);
  for (const char *p = name; *p != '\0'; p++)
    {
      char c = *p;
      gboolean letter = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';

      if (c >= 'A' && c <= 'Z')
        return invalid (error, _("The user name must be in lower case (Jabber IDs are not case sensitive)"));
      if (!letter && !(p != name && (c == '.' || c == '-')))
        return invalid (error, _("The user name may contain only the Latin letters a-z, digits, "
                                 "“_”, and “.” or “-” after the first character"));
    }
  return TRUE;
}

gboolean
cj_validate_nickname (const char *nickname, GError **error)
{
  /* The byte count first: an 8 MiB argument is refused without walking it twice. */
  if (nickname != NULL && strlen (nickname) > CJ_MAX_NICKNAME_CHARS * 4)
    return invalid (error, _("The nickname is longer than %d characters"), CJ_MAX_NICKNAME_CHARS);
  if (nickname == NULL || !g_utf8_validate (nickname, -1, NULL))
    return invalid (error, _("The nickname is not valid UTF-8"));
  if (g_utf8_strlen (nickname, -1) > CJ_MAX_NICKNAME_CHARS)
    return invalid (error, _("The nickname is longer than %d characters"), CJ_MAX_NICKNAME_CHARS);
  if (has_control (nickname))
    return invalid (error, _("The nickname must not contain control characters"));
  /* "" means "the account name" (the stored nickname is never empty); only spaces is a
   * mistake, not a nickname. */
  if (*nickname != '\0')
    {
      g_autofree char *stripped = g_strstrip (g_strdup (nickname));
      if (*stripped == '\0')
        return invalid (error, _("The nickname must not be only spaces"));
    }
  return TRUE;
}

gboolean
cj_validate_group_name (const char *name, GError **error)
{
  g_autofree char *stripped = NULL;

  if (name != NULL && strlen (name) > CJ_MAX_GROUP_BYTES)
    return invalid (error, _("The group name is longer than %d characters"), CJ_MAX_GROUP_CHARS);
  if (name == NULL || !g_utf8_validate (name, -1, NULL))
    return invalid (error, _("The group name is not valid UTF-8"));
  stripped = g_strstrip (g_strdup (name));
  if (*stripped == '\0')
    return invalid (error, _("The group name is empty"));
  if (strcmp (stripped, name) != 0)
    return invalid (error, _("The group name must not begin or end with spaces"));
  if (g_utf8_strlen (name, -1) > CJ_MAX_GROUP_CHARS)
    return invalid (error, _("The group name is longer than %d characters"), CJ_MAX_GROUP_CHARS);
  if (has_control (name))
    return invalid (error, _("The group name must not contain control characters"));
  return TRUE;
}

/* The password policy: [Passwords] MinimumLength of the daemon's configuration, set once at
 * start (main.c); 8 characters unless configured. */
static guint password_min_length = CJ_DEFAULT_PASSWORD_MIN_LENGTH;

void
cj_validate_set_password_min_length (guint length)
{
  password_min_length = length;
}

gboolean
cj_validate_password (const char *password, GError **error)
{
  if (password == NULL || *password == '\0')
    return invalid (error, _("The password is empty"));
  if (strlen (password) > CJ_MAX_PASSWORD_BYTES)
    return invalid (error, _("The password is longer than %d bytes"), CJ_MAX_PASSWORD_BYTES);
  if (!g_utf8_validate (password, -1, NULL))
    return invalid (error, _("The password is not valid UTF-8"));
  if (g_utf8_strlen (password, -1) < (glong) password_min_length)
    return invalid (error, _("The password is shorter than %u characters"), password_min_length);
  if (has_control (password))
    return invalid (error, _("The password must not contain control characters"));
  return TRUE;
}

gboolean
cj_validate_host (const char *host, GError **error)
{
  gsize length;

  if (host == NULL || *host == '\0')
    return invalid (error, _("The host name is empty"));
  length = strlen (host);
  if (length > 253)
    return invalid (error, _("The host name is longer than 253 characters"));
  for (const char *label = host; ; )
    {
      const char *dot = strchr (label, '.');
      gsize label_length = dot != NULL ? (gsize) (dot - label) : strlen (label);

      if (label_length == 0 || label_length > 63)
        return invalid (error, _("“%s” is not a valid host name"), host);
      for (gsize i = 0; i < label_length; i++)
        {
          char c = label[i];
          if (!g_ascii_isalnum (c) && !(c == '-' && i > 0 && i + 1 < label_length))
            return invalid (error, _("“%s” is not a valid host name"), host);
        }
      if (dot == NULL)
        break;
      label = dot + 1;
    }
  return TRUE;
}

/* An IPv6 zone (RFC 4007): an interface name or index. GLib's check accepts any characters
 * after "%", and the address goes into ejabberd's YAML and its log lines: only what a Linux
 * interface name may hold ([A-Za-z0-9_.-], IFNAMSIZ - 1 bytes, not "." or ".."), or a
 * decimal index that fits 32 bits. */
static gboolean
valid_scope_id (const char *scope)
{
  gsize length = strlen (scope);

  if (length == 0 || length > IFNAMSIZ - 1 || g_str_equal (scope, ".") || g_str_equal (scope, ".."))
    return FALSE;
  if (strspn (scope, "0123456789") == length)
    return g_ascii_strtoull (scope, NULL, 10) <= G_MAXUINT32;
  for (const char *p = scope; *p != '\0'; p++)
    if (!g_ascii_isalnum (*p) && *p != '_' && *p != '.' && *p != '-')
      return FALSE;
  return TRUE;
}

/* inet_pton's grammar (GInetAddress): g_hostname_is_ip_address() also takes ":" (found by
 * fuzz-validate), which ejabberd would not listen on. */
static gboolean
is_inet_address (const char *text)
{
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (text);

  return address != NULL;
}

gboolean
cj_validate_ip_address (const char *address, GError **error)
{
  g_autofree char *shown = NULL;
  const char *percent;

  if (address == NULL)
    return invalid (error, _("“%s” is not an IP address"), "");
  percent = strchr (address, '%');
  if (percent != NULL)
    {
      g_autofree char *host = g_strndup (address, (gsize) (percent - address));

      /* A zone only after an IPv6 address, the address part checked alone, and the whole
       * as GLib reads it too (which refuses a zone on "::", all addresses). */
      if (strchr (host, ':') != NULL && is_inet_address (host) && valid_scope_id (percent + 1) &&
          g_hostname_is_ip_address (address))
        return TRUE;
      if (strchr (host, ':') != NULL && is_inet_address (host))
        return invalid (error, _("The scope of an IPv6 address must be an interface name (at most %d "
                                 "letters, digits, “_”, “.” or “-”) or number"), IFNAMSIZ - 1);
    }
  else if (is_inet_address (address))
    return TRUE;
  /* The caller's text goes back escaped: it may hold anything. */
  shown = cj_text_escape (address);
  return invalid (error, _("“%s” is not an IP address"), shown);
}

/* Keeps UTF-8 (Cyrillic names stay readable), escapes what could forge a log line or a
 * message: quotes, backslashes, control characters. */
char *
cj_text_escape (const char *text)
{
  GString *out = g_string_new (NULL);

  if (!g_utf8_validate (text, -1, NULL))
    {
      g_autofree char *octal = g_strescape (text, NULL);
      g_string_append (out, octal);
      return g_string_free (out, FALSE);
    }
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == '"' || c == '\\')
        g_string_append_printf (out, "\\%c", (char) c);
      else if (g_unichar_iscntrl (c) || c == 0x2028 || c == 0x2029)
        g_string_append_printf (out, "\\u%04x", c);
      else
        g_string_append_unichar (out, c);
    }
  return g_string_free (out, FALSE);
}

