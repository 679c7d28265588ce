#include "ml_codec.h"
#include "ml_b64.h"
#include "ml_ctr.h"
#include "ml_random.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

const char *ml_codec_strerror(ml_codec_err_t e)
{
    switch (e) {
    case ML_CODEC_OK:        return "ok";
    case ML_CODEC_TOO_LONG:  return "value too long";
    case ML_CODEC_BASE64:    return "malformed base64";
    case ML_CODEC_FORMAT:    return "malformed value";
    case ML_CODEC_MAC:       return "MAC mismatch (tampered, or sealed with another key or name)";
    case ML_CODEC_TIMESTAMP: return "invalid timestamp";
    case ML_CODEC_EXPIRED:   return "expired";
    case ML_CODEC_DECRYPT:   return "ciphertext too short";
    case ML_CODEC_JSON:      return "payload is not a JSON object of strings";
    case ML_CODEC_ENCODING:  return "claim is not valid UTF-8";
    case ML_CODEC_INTERNAL:  return "internal error";
    case ML_CODEC_CLAIM:     return "a claim is missing, unknown, malformed or out of bounds";
    case ML_CODEC_REALM:     return "sealed for another realm";
    }
    return "unknown error";
}

/* HMAC-SHA256(key, name "|" ts_inner) where ts_inner is "ts|inner". */
static void ml_mac(const ml_key_t *k, const char *name, const void *ts_inner, apr_size_t n,
                   unsigned char mac[ML_CODEC_MAC_LEN])
{
    ml_hmac_t h;

    ml_hmac_begin(&h, &k->mac);
    ml_hmac_update(&h, name, strlen(name));
    ml_hmac_update(&h, "|", 1);
    ml_hmac_update(&h, ts_inner, n);
    ml_hmac_final(&h, mac);
}

ml_codec_err_t ml_seal_raw(ml_scratch_t *s, const ml_keyring_t *kr, const char *name,
                           const void *plain, apr_size_t plainlen, const ml_seal_opts_t *o,
                           const char **out, apr_size_t *outlen)
{
    const ml_key_t *k = &kr->keys[0];
    ml_buf_t *inner = ml_scratch_buf(s, ML_SBUF_INNER);
    ml_buf_t *outer = ml_scratch_buf(s, ML_SBUF_OUTER);
    ml_buf_t *result = ml_scratch_buf(s, ML_SBUF_RESULT);
    unsigned char mac[ML_CODEC_MAC_LEN], *ct;
    apr_size_t max_len = o->max_len ? o->max_len : ML_CODEC_MAX_LEN;

    /* inner = iv || plaintext, encrypted in place after the IV. */
    ml_buf_reset(inner);
    if (ml_buf_reserve(inner, ML_CODEC_IV_LEN + plainlen) != APR_SUCCESS)
        return ML_CODEC_INTERNAL;
    if (o->iv)
        memcpy(inner->data, o->iv, ML_CODEC_IV_LEN);
    else if (!ml_random_bytes((unsigned char *)inner->data, ML_CODEC_IV_LEN))
        return ML_CODEC_INTERNAL;
    ct = (unsigned char *)inner->data + ML_CODEC_IV_LEN;
    memcpy(ct, plain, plainlen);
    inner->len = ML_CODEC_IV_LEN + plainlen;
    if (!ml_ctr_xor(s, k, (unsigned char *)inner->data, ct, plainlen))
        return ML_CODEC_INTERNAL;

    /* outer = ts "|" b64(inner) "|" mac */
    ml_buf_reset(outer);
    if (ml_buf_printf(outer, "%" APR_INT64_T_FMT "|", o->now) != APR_SUCCESS
        || ml_b64_encode(outer, (unsigned char *)inner->data, inner->len) != APR_SUCCESS)
        return ML_CODEC_INTERNAL;
    ml_mac(k, name, outer->data, outer->len, mac);
    if (ml_buf_putc(outer, '|') != APR_SUCCESS
        || ml_buf_append(outer, mac, sizeof(mac)) != APR_SUCCESS)
        return ML_CODEC_INTERNAL;

    ml_buf_reset(result);
    if (ml_b64_encode(result, (unsigned char *)outer->data, outer->len) != APR_SUCCESS)
        return ML_CODEC_INTERNAL;
    if (result->len > max_len)
        return ML_CODEC_TOO_LONG;
    *out = result->data;
    *outlen = result->len;
    return ML_CODEC_OK;
}

ml_codec_err_t ml_seal(ml_scratch_t *s, const ml_keyring_t *kr, const char *name,
                       const ml_claims_t *claims, const ml_seal_opts_t *o,
                       const char **out, apr_size_t *outlen)
{
    ml_buf_t *plain = ml_scratch_buf(s, ML_SBUF_PLAIN);
    ml_codec_err_t e;
    apr_status_t rv;

    ml_buf_reset(plain);
    rv = ml_claims_to_json(claims, plain);
    if (rv == APR_EINVAL)
        return ML_CODEC_ENCODING;
    if (rv != APR_SUCCESS)
        return ML_CODEC_INTERNAL;
    e = ml_seal_raw(s, kr, name, plain->data, plain->len, o, out, outlen);
    ml_buf_wipe(plain);
    return e;
}

/* Parses a decimal Unix time: digits only, as the sealer writes it. */
static int ml_parse_ts(const char *s, apr_size_t n, apr_int64_t *ts)
{
    apr_int64_t v = 0;
    apr_size_t i;

    if (n == 0 || n > 18)
        return 0;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    *ts = v;
    return 1;
}

/* Which key, if any, made mac over name|ts_inner; every comparison is
 * constant-time. Returns the key index or -1. */
static int ml_mac_check(const ml_keyring_t *kr, const char *name, const char *ts_inner,
                        apr_size_t n, const unsigned char *mac)
{
    unsigned char want[ML_CODEC_MAC_LEN];
    int i;

    for (i = 0; i < kr->nkeys; i++) {
        ml_mac(&kr->keys[i], name, ts_inner, n, want);
        if (CRYPTO_memcmp(want, mac, ML_CODEC_MAC_LEN) == 0)
            return i;
    }
    return -1;
}

ml_codec_err_t ml_open_raw(ml_scratch_t *s, const ml_keyring_t *kr, const char *name,
                           const char *value, apr_size_t len, const ml_open_opts_t *o,
                           const char **plain, apr_size_t *plainlen, apr_int64_t *ts,
                           int *key_index)
{
    ml_buf_t *outer = ml_scratch_buf(s, ML_SBUF_OUTER);
    ml_buf_t *inner = ml_scratch_buf(s, ML_SBUF_INNER);
    ml_buf_t *pbuf = ml_scratch_buf(s, ML_SBUF_PLAIN);
    apr_size_t max_len = o->max_len ? o->max_len : ML_CODEC_MAX_LEN;
    const char *bar1, *bar2, *end;
    apr_int64_t t;
    int k;

    if (len > max_len)
        return ML_CODEC_TOO_LONG;
    ml_buf_reset(outer);
    if (ml_b64_decode(outer, value, len) != APR_SUCCESS)
        return ML_CODEC_BASE64;

    /* "ts|inner|mac": the MAC is raw bytes and may itself hold '|'. */
    end = outer->data + outer->len;
    bar1 = memchr(outer->data, '|', outer->len);
    bar2 = bar1 ? memchr(bar1 + 1, '|', (apr_size_t)(end - bar1 - 1)) : NULL;
    if (!bar2)
        return ML_CODEC_FORMAT;
    if ((apr_size_t)(end - bar2 - 1) != ML_CODEC_MAC_LEN)
        return ML_CODEC_MAC;
    k = ml_mac_check(kr, name, outer->data, (apr_size_t)(bar2 - outer->data),
                     (const unsigned char *)bar2 + 1);
    if (k < 0)
        return ML_CODEC_MAC;

    if (!ml_parse_ts(outer->data, (apr_size_t)(bar1 - outer->data), &t)
        || t > o->now + ML_CODEC_FUTURE_SKEW)
        return ML_CODEC_TIMESTAMP;
    if (o->max_age > 0 && t < o->now - o->max_age)
        return ML_CODEC_EXPIRED;

    ml_buf_reset(inner);
    if (ml_b64_decode(inner, bar1 + 1, (apr_size_t)(bar2 - bar1 - 1)) != APR_SUCCESS)
        return ML_CODEC_BASE64;
    if (inner->len <= ML_CODEC_IV_LEN)
        return ML_CODEC_DECRYPT;
    ml_buf_reset(pbuf);
    if (ml_buf_append(pbuf, inner->data + ML_CODEC_IV_LEN, inner->len - ML_CODEC_IV_LEN)
            != APR_SUCCESS
        || !ml_ctr_xor(s, &kr->keys[k], (unsigned char *)inner->data,
                       (unsigned char *)pbuf->data, pbuf->len))
        return ML_CODEC_INTERNAL;
    *plain = pbuf->data;
    *plainlen = pbuf->len;
    if (ts)
        *ts = t;
    if (key_index)
        *key_index = k;
    return ML_CODEC_OK;
}

ml_codec_err_t ml_open(ml_scratch_t *s, const ml_keyring_t *kr, const char *name,
                       const char *value, apr_size_t len, const ml_open_opts_t *o,
                       apr_pool_t *p, ml_claims_t *claims, apr_int64_t *ts, int *key_index)
{
    const char *plain, *why;
    apr_size_t plainlen;
    ml_codec_err_t e;
    apr_status_t rv;

    e = ml_open_raw(s, kr, name, value, len, o, &plain, &plainlen, ts, key_index);
    if (e != ML_CODEC_OK)
        return e;
    rv = ml_claims_from_json(claims, plain, plainlen, p, &why);
    ml_buf_wipe(ml_scratch_buf(s, ML_SBUF_PLAIN));
    return rv == APR_SUCCESS ? ML_CODEC_OK : ML_CODEC_JSON;
}
