/* The RFC 4533 messages the follower decodes (service/cj-sync-protocol.c): what slapd sends
 * is read back exactly; anything malformed, truncated or random is refused, never a crash. */
#include "config.h"

#include <string.h>

#include "cj-sync-protocol.h"

#define COOKIE "rid=000,sid=001,csn=20261202053549.123456Z#000000#001#000000"
static const char UUID_BYTES[16] = "\x01\x23\x45\x67\x89\xab\xcd\xef\x00\x11\x22\x33\x44\x55\x66\x77";
#define UUID_HEX "0123456789abcdef0011223344556677"

static struct berval *
flatten (BerElement *ber)
{
  struct berval *out = NULL;

  g_assert_cmpint (ber_flatten (ber, &out), ==, 0);
  ber_free (ber, 1);
  return out;
}

static struct berval *
state_value (int state, gsize uuid_length, const char *cookie)
{
  BerElement *ber = ber_alloc_t (LBER_USE_DER);
  struct berval uuid = { uuid_length, (char *) UUID_BYTES };
  struct berval text = { cookie != NULL ? strlen (cookie) : 0, (char *) cookie };

  if (cookie != NULL)
    g_assert_cmpint (ber_printf (ber, "{eOO}", (ber_int_t) state, &uuid, &text), >=, 0);
  else
    g_assert_cmpint (ber_printf (ber, "{eO}", (ber_int_t) state, &uuid), >=, 0);
  return flatten (ber);
}

static void
test_state (void)
{
  struct berval *value = state_value (LDAP_SYNC_MODIFY, 16, COOKIE);
  g_autofree char *uuid = NULL;
  g_autofree char *cookie = NULL;
  int state = -1;

  g_assert_true (cj_sync_decode_state (value, &state, &uuid, &cookie));
  g_assert_cmpint (state, ==, LDAP_SYNC_MODIFY);
  g_assert_cmpstr (uuid, ==, UUID_HEX);
  g_assert_cmpstr (cookie, ==, COOKIE);
  ber_bvfree (value);
  g_clear_pointer (&uuid, g_free);
  g_clear_pointer (&cookie, g_free);

  value = state_value (LDAP_SYNC_DELETE, 16, NULL);
  g_assert_true (cj_sync_decode_state (value, &state, &uuid, &cookie));
  g_assert_cmpint (state, ==, LDAP_SYNC_DELETE);
  g_assert_null (cookie);
  ber_bvfree (value);
  g_clear_pointer (&uuid, g_free);

  /* An unknown state, a UUID of the wrong size, a cookie with a NUL: refused or dropped. */
  value = state_value (7, 16, NULL);
  g_assert_false (cj_sync_decode_state (value, &state, &uuid, &cookie));
  ber_bvfree (value);
  value = state_value (LDAP_SYNC_ADD, 15, NULL);
  g_assert_false (cj_sync_decode_state (value, &state, &uuid, &cookie));
  g_assert_null (uuid);
  ber_bvfree (value);
}

static void
test_info (void)
{
  struct berval cookie = { strlen (COOKIE), (char *) COOKIE };
  struct berval ids[] = { { 16, (char *) UUID_BYTES }, { 16, (char *) UUID_BYTES }, { 0, NULL } };
  BerElement *ber;
  struct berval *value;
  CjSyncInfo *info;

  ber = ber_alloc_t (LBER_USE_DER);
  ber_printf (ber, "tO", LDAP_TAG_SYNC_NEW_COOKIE, &cookie);
  value = flatten (ber);
  info = cj_sync_decode_info (value);
  g_assert_nonnull (info);
  g_assert_cmpint (info->kind, ==, CJ_SYNC_INFO_NEW_COOKIE);
  g_assert_cmpstr (info->cookie, ==, COOKIE);
  cj_sync_info_free (info);
  ber_bvfree (value);

  /* refreshPresent with refreshDone FALSE; refreshDelete with the defaults. */
  ber = ber_alloc_t (LBER_USE_DER);
  ber_printf (ber, "t{Ob}", LDAP_TAG_SYNC_REFRESH_PRESENT, &cookie, (ber_int_t) 0);
  value = flatten (ber);
  info = cj_sync_decode_info (value);
  g_assert_nonnull (info);
  g_assert_cmpint (info->kind, ==, CJ_SYNC_INFO_REFRESH_PRESENT);
  g_assert_false (info->refresh_done);
  g_assert_cmpstr (info->cookie, ==, COOKIE);
  cj_sync_info_free (info);
  ber_bvfree (value);

  ber = ber_alloc_t (LBER_USE_DER);
  ber_printf (ber, "t{N}", LDAP_TAG_SYNC_REFRESH_DELETE);
  value = flatten (ber);
  info = cj_sync_decode_info (value);
  g_assert_nonnull (info);
  g_assert_cmpint (info->kind, ==, CJ_SYNC_INFO_REFRESH_DELETE);
  g_assert_true (info->refresh_done);
  g_assert_null (info->cookie);
  cj_sync_info_free (info);
  ber_bvfree (value);

  /* syncIdSet as syncprov writes it: cookie, refreshDeletes TRUE, a SET of UUIDs. */
  ber = ber_alloc_t (LBER_USE_DER);
  ber_printf (ber, "t{Ob[W]N}", LDAP_TAG_SYNC_ID_SET, &cookie, (ber_int_t) 1, ids);
  value = flatten (ber);
  info = cj_sync_decode_info (value);
  g_assert_nonnull (info);
  g_assert_cmpint (info->kind, ==, CJ_SYNC_INFO_ID_SET);
  g_assert_true (info->refresh_deletes);
  g_assert_cmpuint (info->uuids->len, ==, 2);
  g_assert_cmpstr (info->uuids->pdata[0], ==, UUID_HEX);
  cj_sync_info_free (info);

  /* Every truncation of it is refused without a crash (or read as far as it goes). */
  for (ber_len_t cut = 0; cut < value->bv_len; cut++)
    {
      struct berval part = { cut, value->bv_val };

      info = cj_sync_decode_info (&part);
      cj_sync_info_free (info);
    }
  ber_bvfree (value);

  /* Presences (refreshDeletes absent: FALSE), no cookie. */
  ber = ber_alloc_t (LBER_USE_DER);
  ber_printf (ber, "t{[W]N}", LDAP_TAG_SYNC_ID_SET, ids);
  value = flatten (ber);
  info = cj_sync_decode_info (value);
  g_assert_nonnull (info);
  g_assert_false (info->refresh_deletes);
  g_assert_null (info->cookie);
  g_assert_cmpuint (info->uuids->len, ==, 2);
  cj_sync_info_free (info);
  ber_bvfree (value);
}

static void
test_random_input (void)
{
  GRand *rand = g_rand_new_with_seed (14);
  char buffer[64];

  for (int round = 0; round < 20000; round++)
    {
      struct berval value = { (ber_len_t) g_rand_int_range (rand, 0, sizeof buffer), buffer };
      g_autofree char *uuid = NULL;
      g_autofree char *cookie = NULL;
      int state;

      for (gsize i = 0; i < sizeof buffer; i++)
        buffer[i] = (char) g_rand_int_range (rand, 0, 256);
      /* Plausible starts: the tags the decoders look for first. */
      if (round % 2 == 0)
        buffer[0] = (char) (const guchar[]) { 0x80, 0xa1, 0xa2, 0xa3, 0x30 }[round / 2 % 5];
      cj_sync_info_free (cj_sync_decode_info (&value));
      cj_sync_decode_state (&value, &state, &uuid, &cookie);
    }
  g_rand_free (rand);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sync-protocol/state", test_state);
  g_test_add_func ("/sync-protocol/info", test_info);
  g_test_add_func ("/sync-protocol/random", test_random_input);
  return g_test_run ();
}
