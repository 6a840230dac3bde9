/* Shared by the libFuzzer targets: the input as a C string, and a property check that
 * crashes (a finding) with a message saying which property broke. */
#pragma once

#include <glib.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

/* The daemon gets its strings from D-Bus, which has no NUL inside a string: the input up
 * to its first NUL. */
static inline char *
fuzz_string (const uint8_t *data, size_t size)
{
  return g_strndup ((const char *) data, size);
}

/* The next field of @data: up to a 0xff byte (never in UTF-8) or the end. */
static inline char *
fuzz_field (const uint8_t **data, size_t *size)
{
  const uint8_t *end = memchr (*data, 0xff, *size);
  size_t n = end != NULL ? (size_t) (end - *data) : *size;
  char *field = g_strndup ((const char *) *data, n);

  *data += end != NULL ? n + 1 : n;
  *size -= end != NULL ? n + 1 : n;
  return field;
}

#define FUZZ_CHECK(cond, ...)                                     \
  do {                                                            \
    if (!(cond))                                                  \
      {                                                           \
        fprintf (stderr, "property broken: %s: ", #cond);         \
        fprintf (stderr, __VA_ARGS__);                            \
        fputc ('\n', stderr);                                     \
        abort ();                                                 \
      }                                                           \
  } while (0)
