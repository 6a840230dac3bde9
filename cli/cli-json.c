/* Just enough JSON for `--json`: strings escaped per RFC 8259, GVariants of the API's
 * types (s, o, b, u, as, ao) written as their natural JSON. */
#include "config.h"
#include "cli.h"

void
cli_json_string (GString *out, const char *value)
{
  g_string_append_c (out, '"');
  for (const unsigned char *p = (const unsigned char *) value; *p != '\0'; p++)
    {
      switch (*p)
        {
        case '"':  g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        default:
          if (*p < 0x20)
            g_string_append_printf (out, "\\u%04x", *p);
          else
            g_string_append_c (out, (char) *p);
        }
    }
  g_string_append_c (out, '"');
}

void
cli_json_variant (GString *out, GVariant *value)
{
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING) ||
      g_variant_is_of_type (value, G_VARIANT_TYPE_OBJECT_PATH))
    cli_json_string (out, g_variant_get_string (value, NULL));
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    g_string_append (out, g_variant_get_boolean (value) ? "true" : "false");
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    g_string_append_printf (out, "%u", g_variant_get_uint32 (value));
  else if (g_variant_is_container (value))
    {
      GVariantIter iter;
      GVariant *child;
      gboolean first = TRUE;

      g_string_append_c (out, '[');
      g_variant_iter_init (&iter, value);
      while ((child = g_variant_iter_next_value (&iter)) != NULL)
        {
          if (!first)
            g_string_append_c (out, ',');
          first = FALSE;
          cli_json_variant (out, child);
          g_variant_unref (child);
        }
      g_string_append_c (out, ']');
    }
  else
    g_string_append (out, "null");
}
