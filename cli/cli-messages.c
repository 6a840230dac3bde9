/* The daemon's messages in the caller's language.
 *
 * The daemon is a system service: its locale is the machine's, not the caller's, and a
 * D-Bus error carries a name and one string. So the daemon speaks the catalog's own
 * language on the bus (English: each message is a msgid of the calculate-jabber catalog,
 * formatted), and a client says it in its user's language with the same catalog: the
 * message is matched against the daemon's msgids (daemon-messages.h, made from the .pot at
 * build time), the arguments taken out of it, and the translation formatted with them.
 * The arguments are translated in turn when they are messages themselves (the daemon's,
 * or the C library's, such as strerror's). A message that matches nothing is shown as it
 * came. Other clients see the English, which stays the API's (docs/dbus-api.md). */
#include "config.h"
#include "cli.h"

#include <glib/gi18n.h>
#include <string.h>

#include "daemon-messages.h"

#define MAX_ARGS  9
#define MAX_DEPTH 2
#define MAX_MESSAGE 16384

typedef struct {
  char *args[MAX_ARGS];
  guint n_args;
  guint literal;        /* characters matched literally: the more, the better the match */
} Match;

static void
match_clear (Match *match)
{
  for (guint i = 0; i < match->n_args; i++)
    g_clear_pointer (&match->args[i], g_free);
  match->n_args = 0;
  match->literal = 0;
}

/* Skips one conversion after '%' (flags, width, precision, length): returns its letter
 * and moves *format past it; '\0' when it is not one this matcher knows. */
static char
conversion (const char **format)
{
  const char *p = *format;

  while (g_ascii_isdigit (*p) || *p == '$' || strchr ("-+ #0'.", *p) != NULL)
    p++;
  while (strchr ("hlLqjzt", *p) != NULL && *p != '\0')
    p++;
  if (*p == '\0' || strchr ("sdiuxXc%", *p) == NULL)
    return '\0';
  *format = p + 1;
  return *p;
}

static gboolean
match_from (const char *format, const char *text, Match *match)
{
  while (*format != '\0')
    {
      const char *after = format + 1;
      char letter;

      if (*format != '%')
        {
          if (*format != *text)
            return FALSE;
          format++, text++;
          match->literal++;
          continue;
        }
      letter = conversion (&after);
      if (letter == '\0' || match->n_args >= MAX_ARGS)
        return FALSE;
      if (letter == '%')
        {
          if (*text != '%')
            return FALSE;
          format = after, text++;
          continue;
        }
      /* Numbers: the digits; strings: the shortest text that lets the rest match. */
      {
        gsize longest = strlen (text);
        gsize start = 0;
        guint literal = match->literal;

        if (letter != 's' && letter != 'c')
          {
            gsize n = (*text == '-') ? 1 : 0;
            while (g_ascii_isxdigit (text[n]))
              n++;
            if (n == 0)
              return FALSE;
            start = longest = n;
          }
        for (gsize length = start; length <= longest; length++)
          {
            guint slot = match->n_args;

            /* A string ends where the rest can start: at the end when nothing follows,
             * else only where the next literal character is (a long argument must not
             * make this quadratic). */
            if (letter == 's' && *after == '\0')
              length = longest;
            else if (letter == 's' && *after != '%')
              {
                const char *next = strchr (text + length, *after);
                if (next == NULL)
                  break;
                length = (gsize) (next - text);
              }

            match->args[slot] = g_strndup (text, length);
            match->n_args++;
            if (match_from (after, text + length, match))
              return TRUE;
            /* Undo what the failed attempt captured. */
            while (match->n_args > slot)
              g_clear_pointer (&match->args[--match->n_args], g_free);
            match->literal = literal;
          }
        return FALSE;
      }
    }
  return *text == '\0';
}

static char *translate (const char *message, guint depth);

/* @translation with the arguments put in (positions "%2$s" honoured). */
static char *
format_with (const char *translation, Match *match, guint depth)
{
  GString *out = g_string_new (NULL);
  guint next = 0;

  for (const char *p = translation; *p != '\0';)
    {
      const char *after = p + 1;
      guint index;
      char letter;

      if (*p != '%')
        {
          g_string_append_c (out, *p++);
          continue;
        }
      index = next;
      if (g_ascii_isdigit (p[1]))
        {
          char *end = NULL;
          guint64 position = g_ascii_strtoull (p + 1, &end, 10);
          if (*end == '$' && position >= 1 && position <= MAX_ARGS)
            index = (guint) position - 1;
        }
      letter = conversion (&after);
      if (letter == '%')
        g_string_append_c (out, '%');
      else if (letter != '\0' && index < match->n_args)
        {
          g_autofree char *argument = translate (match->args[index], depth + 1);
          g_string_append (out, argument);
          next = index + 1;
        }
      else
        g_string_append_len (out, p, after - p);
      p = after;
    }
  return g_string_free (out, FALSE);
}

static gboolean
has_conversion (const char *format)
{
  for (const char *p = strchr (format, '%'); p != NULL; p = strchr (p + 2, '%'))
    if (p[1] != '%')
      return TRUE;
  return FALSE;
}

static char *
translate (const char *message, guint depth)
{
  Match best = { 0 };
  gsize best_index = G_MAXSIZE;
  gboolean best_plural = FALSE;
  const char *libc;

  /* Past a few KiB a message is mostly an argument (a list of names): shown as it came. */
  if (depth > MAX_DEPTH || *message == '\0' || strlen (message) > MAX_MESSAGE)
    return g_strdup (message);
  for (gsize i = 0; i < G_N_ELEMENTS (daemon_messages); i++)
    for (int form = 0; form < 2; form++)
      {
        const char *id = form == 0 ? daemon_messages[i].id : daemon_messages[i].plural;
        Match match = { 0 };

        if (id == NULL)
          continue;
        if (!has_conversion (id))
          {
            if (strcmp (id, message) == 0)
              return g_strdup (g_dgettext (GETTEXT_PACKAGE, id));
            continue;
          }
        if (match_from (id, message, &match) && match.literal > 0 &&
            (best_index == G_MAXSIZE || match.literal > best.literal))
          {
            match_clear (&best);
            best = match;
            best_index = i;
            best_plural = daemon_messages[i].plural != NULL;
          }
        else
          match_clear (&match);
      }
  if (best_index != G_MAXSIZE)
    {
      const char *translation;
      char *result;

      if (best_plural)
        {
          gulong n = 0;
          for (guint a = 0; a < best.n_args; a++)
            if (g_ascii_isdigit (best.args[a][0]))
              {
                n = (gulong) g_ascii_strtoull (best.args[a], NULL, 10);
                break;
              }
          translation = g_dngettext (GETTEXT_PACKAGE, daemon_messages[best_index].id,
                                     daemon_messages[best_index].plural, n);
        }
      else
        translation = g_dgettext (GETTEXT_PACKAGE, daemon_messages[best_index].id);
      result = format_with (translation, &best, depth);
      match_clear (&best);
      return result;
    }
  /* The C library's messages (strerror) have their own catalog. */
  libc = g_dgettext ("libc", message);
  return g_strdup (depth > 0 ? libc : message);
}

char *
cli_translate_remote (const char *message)
{
  return translate (message != NULL ? message : "", 0);
}
