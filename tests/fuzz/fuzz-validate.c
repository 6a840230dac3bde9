/* The validators of everything a caller sends (service/cj-validate.c), and the escaping of
 * caller text for logs: no crash, and what they accept keeps the promises the rest of the
 * daemon relies on (a user name is a plain lower-case ASCII word, an escaped text holds no
 * control character and no unescaped quote). */
#include "config.h"

#include <string.h>

#include "cj-common.h"
#include "cj-validate.h"
#include "fuzz-common.h"

static void
check_user_name (const char *s)
{
  g_autoptr(GError) error = NULL;

  if (!cj_validate_user_name (s, &error))
    {
      FUZZ_CHECK (error != NULL && error->message[0] != '\0', "no reason for %s", s);
      return;
    }
  FUZZ_CHECK (*s != '\0' && strlen (s) <= CJ_MAX_NAME_BYTES, "length of %s", s);
  FUZZ_CHECK (s[0] != '.' && s[0] != '-', "first character of %s", s);
  for (const char *p = s; *p != '\0'; p++)
    FUZZ_CHECK (g_ascii_islower (*p) || g_ascii_isdigit (*p) || strchr ("_.-", *p) != NULL,
                "character %d in %s", *p, s);
}

static void
check_text (const char *s, gboolean (*validate) (const char *, GError **), const char *what)
{
  g_autoptr(GError) error = NULL;

  if (!validate (s, &error))
    {
      FUZZ_CHECK (error != NULL && error->message[0] != '\0', "no reason for %s", what);
      /* The reason quotes nothing raw that could forge a log line. */
      return;
    }
  FUZZ_CHECK (g_utf8_validate (s, -1, NULL), "%s accepted invalid UTF-8", what);
  for (const char *p = s; *p != '\0'; p = g_utf8_next_char (p))
    FUZZ_CHECK (!g_unichar_iscntrl (g_utf8_get_char (p)), "%s accepted a control character", what);
}

static void
check_host (const char *s)
{
  g_autoptr(GError) error = NULL;

  if (!cj_validate_host (s, &error))
    return;
  FUZZ_CHECK (*s != '\0' && strlen (s) <= 253, "host length");
  FUZZ_CHECK (s[0] != '.' && s[strlen (s) - 1] != '.' && strstr (s, "..") == NULL, "host labels: %s", s);
  for (const char *p = s; *p != '\0'; p++)
    FUZZ_CHECK (g_ascii_isalnum (*p) || *p == '.' || *p == '-', "host character %d", *p);
}

static void
check_escape (const char *s)
{
  g_autofree char *escaped = cj_text_escape (s);

  FUZZ_CHECK (g_utf8_validate (escaped, -1, NULL), "escaped text is not UTF-8");
  for (const char *p = escaped; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      FUZZ_CHECK (!g_unichar_iscntrl (c) && c != 0x2028 && c != 0x2029,
                  "escaped text holds U+%04X", c);
      if (*p == '\\')
        {
          p++;                          /* the escaped character, or the u of \uXXXX */
          FUZZ_CHECK (*p != '\0', "escaped text ends in a lone backslash");
        }
      else
        FUZZ_CHECK (*p != '"', "escaped text holds an unescaped quote");
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *s = fuzz_string (data, size);
  g_autoptr(GError) error = NULL;

  check_user_name (s);
  check_text (s, cj_validate_nickname, "nickname");
  check_text (s, cj_validate_group_name, "group name");
  check_text (s, cj_validate_password, "password");
  check_host (s);
  if (cj_validate_ip_address (s, &error))
    FUZZ_CHECK (g_hostname_is_ip_address (s), "IP address");
  check_escape (s);
  return 0;
}
