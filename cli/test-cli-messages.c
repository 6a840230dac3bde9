/* The daemon's English in the caller's language (cli-messages.c), with the build tree's
 * Russian catalog. Skipped where ru_RU.UTF-8 is not installed (scripts/install-deps makes
 * it). */
#include "config.h"
#include "cli.h"

#include <glib/gi18n.h>
#include <locale.h>
#include <string.h>

static gboolean
has_cyrillic (const char *text)
{
  for (const char *p = text; *p != '\0'; p = g_utf8_next_char (p))
    if (g_unichar_get_script (g_utf8_get_char (p)) == G_UNICODE_SCRIPT_CYRILLIC)
      return TRUE;
  return FALSE;
}

static void
test_translated (void)
{
  g_autofree char *simple = cli_translate_remote ("No user named “nosuch”");
  g_autofree char *nested = cli_translate_remote ("LDAP error while adding the user: Busy");
  g_autofree char *plain = cli_translate_remote ("Something the catalog never heard of");

  g_assert_true (has_cyrillic (simple));
  g_assert_nonnull (strstr (simple, "«nosuch»"));
  /* The frame and the nested message both, the unknown part as it came. */
  g_assert_true (has_cyrillic (nested));
  g_assert_null (strstr (nested, "adding the user"));
  g_assert_nonnull (strstr (nested, "Busy"));
  g_assert_cmpstr (plain, ==, "Something the catalog never heard of");
}

static void
test_long_arguments (void)
{
  g_autoptr(GString) names = g_string_new ("No user named “");
  g_autofree char *result = NULL;

  /* A long argument full of the literal characters that follow conversions. */
  for (int i = 0; i < 1500; i++)
    g_string_append (names, ": ” ”(");
  g_string_append (names, "”");
  result = cli_translate_remote (names->str);
  /* No timing assertion (a loaded machine): that it ends, with the argument kept. */
  g_assert_nonnull (strstr (result, ": ” ”("));
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (setlocale (LC_ALL, "ru_RU.UTF-8") == NULL)
    {
      g_test_skip ("no ru_RU.UTF-8 locale (scripts/install-deps makes it)");
      return g_test_run ();
    }
  bindtextdomain (GETTEXT_PACKAGE, CJ_TEST_LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_test_add_func ("/cli-messages/translated", test_translated);
  g_test_add_func ("/cli-messages/long-arguments", test_long_arguments);
  return g_test_run ();
}
