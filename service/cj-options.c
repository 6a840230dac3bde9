#include "config.h"
#include "cj-options.h"

#include <gio/gunixfdlist.h>
#include <glib/gi18n.h>

#include "cj-error.h"
#include "cj-validate.h"

gboolean
cj_options_check (GVariant *options, const CjOptionSpec *specs, GError **error)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;

  g_variant_iter_init (&iter, options);
  while (g_variant_iter_loop (&iter, "{&sv}", &key, &value))
    {
      const CjOptionSpec *spec = specs;

      while (spec->key != NULL && g_strcmp0 (spec->key, key) != 0)
        spec++;
      if (spec->key == NULL)
        {
          g_autofree char *safe = cj_text_escape (key);
          g_set_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT, _("Unknown option “%s”"), safe);
          g_variant_unref (value);
          return FALSE;
        }
      if (!g_variant_is_of_type (value, G_VARIANT_TYPE (spec->type)))
        {
          g_set_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                       _("Option “%s” must be of type %s"), key, spec->type);
          g_variant_unref (value);
          return FALSE;
        }
    }
  return TRUE;
}

int
cj_options_fd_from_handle (gint32 handle, GUnixFDList *fd_list, const char *what, GError **error)
{
  g_autoptr(GError) local_error = NULL;
  int fd;

  if (fd_list == NULL || handle < 0 || handle >= g_unix_fd_list_get_length (fd_list))
    {
      g_set_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT,
                   _("“%s” does not refer to a file descriptor sent with the call"), what);
      return -1;
    }
  fd = g_unix_fd_list_get (fd_list, handle, &local_error);
  if (fd < 0)
    g_set_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT, _("Cannot use the file descriptor of “%s”: %s"),
                 what, local_error->message);
  return fd;
}

int
cj_options_get_fd (GVariant *options, const char *key, GUnixFDList *fd_list, GError **error)
{
  gint32 handle = -1;

  if (!g_variant_lookup (options, key, "h", &handle))
    {
      g_set_error (error, CJ_ERROR, CJ_ERROR_INVALID_ARGUMENT, _("Option “%s” is missing"), key);
      return -1;
    }
  return cj_options_fd_from_handle (handle, fd_list, key, error);
}
