/* RFC 4533 messages: see cj-sync-protocol.h. */
#include "config.h"
#include "cj-sync-protocol.h"

#include <string.h>

#include "cj-ldap-util.h"

/* slapd's cookies are a few dozen bytes per server id; anything past this is not one. */
#define MAX_COOKIE 262144
/* A Sync Info with more UUIDs than this is refused (slapd sends them in batches). */
#define MAX_IDS    1000000

static char *
cookie_from (const struct berval *value)
{
  if (value->bv_val == NULL || value->bv_len == 0 || value->bv_len > MAX_COOKIE ||
      memchr (value->bv_val, '\0', value->bv_len) != NULL)
    return NULL;
  return g_strndup (value->bv_val, value->bv_len);
}

int
cj_sync_search (LDAP *ld, const char *base, const char *filter, const char *const *attrs,
                const char *cookie, int *msgid)
{
  LDAPControl control = { 0 };
  LDAPControl *controls[] = { &control, NULL };
  BerElement *ber = ber_alloc_t (LBER_USE_DER);
  int rc;

  if (ber == NULL)
    return LDAP_NO_MEMORY;
  /* syncRequestValue ::= SEQUENCE { mode ENUMERATED, cookie OCTET STRING OPTIONAL,
   *                                 reloadHint BOOLEAN DEFAULT FALSE } */
  if (cookie != NULL)
    {
      struct berval value = { strlen (cookie), (char *) cookie };
      rc = ber_printf (ber, "{eOb}", (ber_int_t) LDAP_SYNC_REFRESH_AND_PERSIST, &value, (ber_int_t) 0);
    }
  else
    rc = ber_printf (ber, "{eb}", (ber_int_t) LDAP_SYNC_REFRESH_AND_PERSIST, (ber_int_t) 0);
  if (rc < 0 || ber_flatten2 (ber, &control.ldctl_value, 0) < 0)
    {
      ber_free (ber, 1);
      return LDAP_ENCODING_ERROR;
    }
  control.ldctl_oid = (char *) LDAP_CONTROL_SYNC;
  control.ldctl_iscritical = 1;
  rc = ldap_search_ext (ld, base, LDAP_SCOPE_SUBTREE, filter, (char **) attrs, 0, controls, NULL,
                        NULL, 0, msgid);
  ber_free (ber, 1);
  return rc;
}

gboolean
cj_sync_decode_state (const struct berval *value, int *state, char **uuid, char **cookie)
{
  /* syncStateValue ::= SEQUENCE { state ENUMERATED, entryUUID OCTET STRING,
   *                               cookie OCTET STRING OPTIONAL }
   * Read in place (one for every entry of a load: ber_init's copy and ber_scanf were 6 %
   * of a start at 100,000 users). */
  const guchar *p, *end;
  struct berval sequence, number, raw, value_cookie;
  guint32 bits;
  gint32 n;
  guchar tag;

  *uuid = NULL;
  *cookie = NULL;
  if (value == NULL || value->bv_val == NULL || value->bv_len == 0)
    return FALSE;
  p = (const guchar *) value->bv_val;
  end = p + value->bv_len;
  if (!cj_ldap_ber_next (&p, end, &tag, &sequence) || tag != LBER_SEQUENCE)
    return FALSE;
  p = (const guchar *) sequence.bv_val;
  end = p + sequence.bv_len;
  if (!cj_ldap_ber_next (&p, end, &tag, &number) || tag != LBER_ENUMERATED ||
      number.bv_len == 0 || number.bv_len > sizeof bits ||
      !cj_ldap_ber_next (&p, end, &tag, &raw) || tag != LBER_OCTETSTRING)
    return FALSE;
  /* Two's complement, big-endian. */
  bits = (guchar) number.bv_val[0] & 0x80 ? G_MAXUINT32 : 0;
  for (gsize i = 0; i < number.bv_len; i++)
    bits = (bits << 8) | (guchar) number.bv_val[i];
  n = (gint32) bits;
  if (n < LDAP_SYNC_PRESENT || n > LDAP_SYNC_DELETE)
    return FALSE;
  *state = (int) n;
  *uuid = cj_ldap_uuid_from_bytes (&raw);
  if (*uuid == NULL)
    return FALSE;
  if (p < end && cj_ldap_ber_next (&p, end, &tag, &value_cookie) && tag == LDAP_TAG_SYNC_COOKIE)
    *cookie = cookie_from (&value_cookie);
  return TRUE;
}

gboolean
cj_sync_parse_state (LDAP *ld, LDAPMessage *message, int *state, char **uuid, char **cookie)
{
  LDAPControl **controls = NULL;
  LDAPControl *control;
  gboolean ok = FALSE;

  *uuid = NULL;
  *cookie = NULL;
  if (ldap_get_entry_controls (ld, message, &controls) != LDAP_SUCCESS || controls == NULL)
    return FALSE;
  control = ldap_control_find (LDAP_CONTROL_SYNC_STATE, controls, NULL);
  if (control != NULL)
    ok = cj_sync_decode_state (&control->ldctl_value, state, uuid, cookie);
  ldap_controls_free (controls);
  return ok;
}

void
cj_sync_info_free (CjSyncInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->cookie);
  g_clear_pointer (&info->uuids, g_ptr_array_unref);
  g_free (info);
}

/* The optional cookie at the start of a refreshDelete/refreshPresent/syncIdSet sequence. */
static gboolean
scan_cookie (BerElement *ber, CjSyncInfo *info)
{
  ber_len_t len;

  if (ber_peek_tag (ber, &len) == LDAP_TAG_SYNC_COOKIE)
    {
      struct berval value = { 0, NULL };

      if (ber_scanf (ber, "m", &value) == LBER_ERROR)
        return FALSE;
      info->cookie = cookie_from (&value);
    }
  return TRUE;
}

static gboolean
scan_info (BerElement *ber, CjSyncInfo *info)
{
  ber_len_t len;
  ber_tag_t tag = ber_peek_tag (ber, &len);
  struct berval value = { 0, NULL };
  ber_int_t flag;

  switch (tag)
    {
    case LDAP_TAG_SYNC_NEW_COOKIE:
      info->kind = CJ_SYNC_INFO_NEW_COOKIE;
      if (ber_scanf (ber, "m", &value) == LBER_ERROR)
        return FALSE;
      info->cookie = cookie_from (&value);
      return TRUE;

    case LDAP_TAG_SYNC_REFRESH_DELETE:
    case LDAP_TAG_SYNC_REFRESH_PRESENT:
      info->kind = tag == LDAP_TAG_SYNC_REFRESH_DELETE ? CJ_SYNC_INFO_REFRESH_DELETE
                                                        : CJ_SYNC_INFO_REFRESH_PRESENT;
      info->refresh_done = TRUE;                         /* DEFAULT TRUE */
      if (ber_skip_tag (ber, &len) == LBER_ERROR || !scan_cookie (ber, info))
        return FALSE;
      if (ber_peek_tag (ber, &len) == LDAP_TAG_REFRESHDONE)
        {
          if (ber_scanf (ber, "b", &flag) == LBER_ERROR)
            return FALSE;
          info->refresh_done = flag != 0;
        }
      return TRUE;

    case LDAP_TAG_SYNC_ID_SET:
      {
        BerVarray ids = NULL;
        gsize count = 0;

        info->kind = CJ_SYNC_INFO_ID_SET;
        if (ber_skip_tag (ber, &len) == LBER_ERROR || !scan_cookie (ber, info))
          return FALSE;
        if (ber_peek_tag (ber, &len) == LDAP_TAG_REFRESHDELETES)
          {
            if (ber_scanf (ber, "b", &flag) == LBER_ERROR)
              return FALSE;
            info->refresh_deletes = flag != 0;
          }
        if (ber_scanf (ber, "[W]", &ids) == LBER_ERROR)
          return FALSE;
        for (; ids != NULL && ids[count].bv_val != NULL; count++)
          ;
        if (count > MAX_IDS)
          {
            ber_bvarray_free (ids);
            return FALSE;
          }
        info->uuids = g_ptr_array_new_full ((guint) count, g_free);
        for (gsize i = 0; i < count; i++)
          {
            char *uuid = cj_ldap_uuid_from_bytes (&ids[i]);
            if (uuid != NULL)
              g_ptr_array_add (info->uuids, uuid);
          }
        ber_bvarray_free (ids);
        return TRUE;
      }

    default:
      return FALSE;
    }
}

CjSyncInfo *
cj_sync_decode_info (const struct berval *value)
{
  BerElement *ber = value != NULL && value->bv_val != NULL && value->bv_len > 0
                    ? ber_init ((struct berval *) value) : NULL;
  CjSyncInfo *info = g_new0 (CjSyncInfo, 1);

  if (ber == NULL || !scan_info (ber, info))
    g_clear_pointer (&info, cj_sync_info_free);
  if (ber != NULL)
    ber_free (ber, 1);
  return info;
}

CjSyncInfo *
cj_sync_parse_info (LDAP *ld, LDAPMessage *message)
{
  char *oid = NULL;
  struct berval *data = NULL;
  CjSyncInfo *info = NULL;

  if (ldap_parse_intermediate (ld, message, &oid, &data, NULL, 0) != LDAP_SUCCESS)
    return NULL;
  if (oid != NULL && strcmp (oid, LDAP_SYNC_INFO) == 0 && data != NULL)
    info = cj_sync_decode_info (data);
  ldap_memfree (oid);
  ber_bvfree (data);
  return info;
}

int
cj_sync_parse_done (LDAP *ld, LDAPMessage *message, char **cookie)
{
  LDAPControl **controls = NULL;
  LDAPControl *control;
  int result_code = LDAP_OTHER;

  *cookie = NULL;
  if (ldap_parse_result (ld, message, &result_code, NULL, NULL, NULL, &controls, 0) != LDAP_SUCCESS)
    return LDAP_OTHER;
  control = controls != NULL ? ldap_control_find (LDAP_CONTROL_SYNC_DONE, controls, NULL) : NULL;
  if (control != NULL)
    {
      /* syncDoneValue ::= SEQUENCE { cookie OCTET STRING OPTIONAL,
       *                              refreshDeletes BOOLEAN DEFAULT FALSE } */
      BerElement *ber = control->ldctl_value.bv_len > 0 ? ber_init (&control->ldctl_value) : NULL;
      ber_len_t len;

      if (ber != NULL && ber_skip_tag (ber, &len) != LBER_ERROR &&
          ber_peek_tag (ber, &len) == LDAP_TAG_SYNC_COOKIE)
        {
          struct berval value = { 0, NULL };

          if (ber_scanf (ber, "m", &value) != LBER_ERROR)
            *cookie = cookie_from (&value);
        }
      if (ber != NULL)
        ber_free (ber, 1);
    }
  ldap_controls_free (controls);
  return result_code;
}
