#include "ml_link.h"
#include "ml_addr.h"
#include "ml_b64.h"

#include <apr_strings.h>
#include <openssl/crypto.h>

/* Base64url of random bytes into a pool string (no padding for 18 bytes). */
static const char *ml_random_b64(apr_pool_t *p, apr_size_t nbytes)
{
    unsigned char raw[48];
    char *out = apr_palloc(p, ml_b64_encoded_len(nbytes) + 1);
    ml_buf_t b = { out, 0, ml_b64_encoded_len(nbytes) + 1 };

    if (nbytes > sizeof(raw) || ml_crypto_random(raw, nbytes) != APR_SUCCESS)
        return NULL;
    if (ml_b64_encode(&b, raw, nbytes) != APR_SUCCESS)
        return NULL;
    return out;
}

const char *ml_nonce(apr_pool_t *p)
{
    return ml_random_b64(p, ML_NONCE_LEN / 4 * 3);
}

/* A uniformly random decimal code from the 4 random bytes at r (drawn by the
 * caller with the link id's, in one call): rejection sampling avoids modulo
 * bias, and a rejected draw (1 in 4,400,000) draws again. */
static int ml_code(const unsigned char r[4], char out[ML_CODE_DIGITS + 1])
{
    const apr_uint32_t range = 1000000, limit = 4294000000u;   /* multiple of range */
    apr_uint32_t v;

    memcpy(&v, r, sizeof(v));
    while (v >= limit) {
        if (ml_crypto_random((unsigned char *)&v, sizeof(v)) != APR_SUCCESS)
            return 0;
    }
    apr_snprintf(out, ML_CODE_DIGITS + 1, "%06u", (unsigned)(v % range));
    return 1;
}

#define ML_CODE_HASH_LEN 44     /* base64 of a 32-byte digest */
#define ML_LINK_ID_BYTES 18     /* 24 base64url characters, no padding */

static int ml_code_hash(ml_scratch_t *s, const ml_keyring_t *kr, const char *id,
                        const char *code, char out[ML_CODE_HASH_LEN + 1])
{
    unsigned char d[32];
    ml_buf_t b = { out, 0, ML_CODE_HASH_LEN + 1 };

    return ml_scratch_digest(s, kr->crypto, id, code, d)
           && ml_b64_encode(&b, d, sizeof(d)) == APR_SUCCESS;
}

static void ml_link_claims(const ml_link_t *l, ml_claims_t *c, apr_pool_t *p)
{
    ml_claims_clear(c);
    ml_claims_set(c, "email", l->email);
    ml_claims_set(c, "csrf", l->nonce);
    ml_claims_set(c, "id", l->id);
    ml_claims_set(c, "return", l->ret);
    ml_claims_set(c, "code", l->code_hash);
    ml_claims_set(c, "exp", apr_off_t_toa(p, l->exp));
}

/* Copies a sealed value out of the scratch into p. */
static ml_codec_err_t ml_keep(ml_codec_err_t e, const char *v, apr_size_t n, apr_pool_t *p,
                              const char **out)
{
    if (e == ML_CODEC_OK)
        *out = apr_pstrmemdup(p, v, n);
    return e;
}

static ml_codec_err_t ml_seal_to_pool(ml_scratch_t *s, const ml_keyring_t *kr,
                                      const char *name, const ml_claims_t *c, apr_int64_t now,
                                      apr_pool_t *p, const char **out)
{
    ml_seal_opts_t o = { .now = now };
    const char *v = NULL;
    apr_size_t n = 0;
    ml_codec_err_t e = ml_seal(s, kr, name, c, &o, &v, &n);

    return ml_keep(e, v, n, p, out);
}

ml_codec_err_t ml_link_issue(ml_scratch_t *s, const ml_keyring_t *kr, apr_int64_t now,
                             int ttl, const char *email, const char *nonce, const char *ret,
                             apr_pool_t *p, ml_issued_t *out)
{
    ml_link_t *l = &out->link;
    ml_claims_t c;
    ml_codec_err_t e;
    ml_seal_opts_t o = { .now = now };
    ml_buf_t *plain = ml_scratch_buf(s, ML_SBUF_PLAIN), idb;
    unsigned char r[ML_LINK_ID_BYTES + 4];
    const char *v = NULL;
    apr_size_t n = 0;
    apr_status_t rv;
    char *id;

    l->email = email;
    l->nonce = nonce;
    l->ret = ret;
    l->exp = now + ttl;
    /* The id's and the code's random bytes in one draw: each call into the
     * DRBG costs its locks and fork check. */
    if (ml_crypto_random(r, sizeof(r)) != APR_SUCCESS)
        return ML_CODEC_INTERNAL;
    id = apr_palloc(p, ml_b64_encoded_len(ML_LINK_ID_BYTES) + 1);
    idb = (ml_buf_t){ id, 0, ml_b64_encoded_len(ML_LINK_ID_BYTES) + 1 };
    if (ml_b64_encode(&idb, r, ML_LINK_ID_BYTES) != APR_SUCCESS
        || !ml_code(r + ML_LINK_ID_BYTES, out->code)) {
        OPENSSL_cleanse(r, sizeof(r));
        return ML_CODEC_INTERNAL;
    }
    OPENSSL_cleanse(r, sizeof(r));
    l->id = id;
    l->code_hash = apr_palloc(p, ML_CODE_HASH_LEN + 1);
    if (!ml_code_hash(s, kr, l->id, out->code, (char *)l->code_hash))
        return ML_CODEC_INTERNAL;
    ml_link_claims(l, &c, p);
    /* Both tokens carry the same claims: serialized once (as ml_seal would,
     * into the scratch's plaintext buffer, which ml_seal_raw leaves alone),
     * sealed under each name, then wiped. */
    ml_buf_reset(plain);
    rv = ml_claims_to_json(&c, plain);
    if (rv != APR_SUCCESS) {
        ml_buf_wipe(plain);
        return rv == APR_EINVAL ? ML_CODEC_ENCODING : ML_CODEC_INTERNAL;
    }
    e = ml_seal_raw(s, kr, ML_NAME_LINK, plain->data, plain->len, &o, &v, &n);
    e = ml_keep(e, v, n, p, &out->token);
    if (e == ML_CODEC_OK) {
        e = ml_seal_raw(s, kr, ML_NAME_PENDING, plain->data, plain->len, &o, &v, &n);
        e = ml_keep(e, v, n, p, &out->pending);
    }
    ml_buf_wipe(plain);
    return e;
}

static int ml_parse_i64(const char *v, apr_int64_t *out)
{
    char *end;

    if (!v || !*v)
        return 0;
    *out = apr_strtoi64(v, &end, 10);
    return *end == '\0';
}

ml_codec_err_t ml_link_open(ml_scratch_t *s, const ml_keyring_t *kr, const char *name,
                            const char *value, apr_int64_t now, int ttl, apr_pool_t *p,
                            ml_link_t *out)
{
    ml_open_opts_t o = { .now = now, .max_age = ttl };
    ml_claims_t c;
    ml_codec_err_t e;

    e = ml_open(s, kr, name, value, strlen(value), &o, p, &c, NULL, NULL);
    if (e != ML_CODEC_OK)
        return e;
    out->email = ml_claims_get(&c, "email");
    out->nonce = ml_claims_get(&c, "csrf");
    out->id = ml_claims_get(&c, "id");
    out->ret = ml_claims_get(&c, "return");
    out->code_hash = ml_claims_get(&c, "code");
    if (!out->email || !out->nonce || !out->id || !out->ret || !out->code_hash
        || !ml_parse_i64(ml_claims_get(&c, "exp"), &out->exp))
        return ML_CODEC_JSON;
    return now > out->exp ? ML_CODEC_EXPIRED : ML_CODEC_OK;
}

int ml_link_code_matches(ml_scratch_t *s, const ml_keyring_t *kr, const ml_link_t *l,
                         const char *code)
{
    char h[ML_CODE_HASH_LEN + 1];

    return strlen(code) == ML_CODE_DIGITS && strlen(l->code_hash) == ML_CODE_HASH_LEN
           && ml_code_hash(s, kr, l->id, code, h)
           && CRYPTO_memcmp(h, l->code_hash, ML_CODE_HASH_LEN) == 0;
}

/* ---- claim checks for bindings and sessions ---- */

/* Exactly the claims named in keys[0..n), no other. */
static int ml_claims_exactly(const ml_claims_t *c, const char *const *keys, int n)
{
    int i;

    if (c->n != n)
        return 0;
    for (i = 0; i < n; i++)
        if (!ml_claims_get(c, keys[i]))
            return 0;
    return 1;
}

/* A time claim: plain decimal (no sign, space or leading zero), below
 * ML_TIME_LIMIT and not further in the future than the clocks of servers
 * sharing keys may differ. */
static int ml_claim_time(const char *v, apr_int64_t now, apr_int64_t *out)
{
    apr_int64_t t = 0;
    const char *p;

    if (!v || !*v || (v[0] == '0' && v[1]) || strlen(v) > 13)
        return 0;
    for (p = v; *p; p++) {
        if (*p < '0' || *p > '9')
            return 0;
        t = t * 10 + (*p - '0');
    }
    if (t >= ML_TIME_LIMIT || t > now + ML_CODEC_FUTURE_SKEW)
        return 0;
    *out = t;
    return 1;
}

int ml_realm_valid(const char *s)
{
    apr_size_t i;

    if (!s || !*s)
        return 0;
    for (i = 0; s[i]; i++)
        if (i >= ML_REALM_MAX || (unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7F)
            return 0;
    return 1;
}

static int ml_nonce_valid(const char *n)
{
    apr_size_t i;

    if (!n || strlen(n) != ML_NONCE_LEN)
        return 0;
    for (i = 0; i < ML_NONCE_LEN; i++) {
        char c = n[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
              || c == '-' || c == '_'))
            return 0;
    }
    return 1;
}

static const char *const ml_binding_keys[] = { "n" };
static const char *const ml_session_keys[] = { "email", "iat", "seen", "aud" };

/* ---- bindings ---- */

ml_codec_err_t ml_binding_seal(ml_scratch_t *s, const ml_keyring_t *kr, const char *name,
                               const char *nonce, apr_int64_t now, apr_pool_t *p,
                               const char **out)
{
    ml_claims_t c;

    if (!ml_nonce_valid(nonce))
        return ML_CODEC_CLAIM;
    ml_claims_clear(&c);
    ml_claims_set(&c, "n", nonce);
    return ml_seal_to_pool(s, kr, name, &c, now, p, out);
}

const char *ml_binding_open(ml_scratch_t *s, const ml_keyring_t *kr, const char *name,
                            const char *value, apr_int64_t now, apr_int64_t max_age,
                            apr_pool_t *p)
{
    ml_open_opts_t o = { .now = now, .max_age = max_age };
    ml_claims_t c;
    const char *n;

    if (!value || ml_open(s, kr, name, value, strlen(value), &o, p, &c, NULL, NULL) != ML_CODEC_OK)
        return NULL;
    n = ml_claims_get(&c, "n");
    return ml_claims_exactly(&c, ml_binding_keys, 1) && ml_nonce_valid(n) ? n : NULL;
}

/* ---- sessions ---- */

static int ml_session_email_ok(const char *email)
{
    apr_size_t n = email ? strlen(email) : 0;

    return n > 0 && n <= ML_ADDR_MAX && ml_addr_is_canonical(email, n);
}

ml_codec_err_t ml_session_seal(ml_scratch_t *s, const ml_keyring_t *kr, const char *name,
                               const ml_session_t *sess, apr_int64_t now, apr_pool_t *p,
                               const char **out)
{
    char iat[24], seen[24];
    ml_claims_t c;

    if (!ml_session_email_ok(sess->email) || !ml_realm_valid(sess->aud) || sess->iat < 0
        || sess->seen < 0 || sess->iat >= ML_TIME_LIMIT || sess->seen >= ML_TIME_LIMIT)
        return ML_CODEC_CLAIM;
    apr_snprintf(iat, sizeof(iat), "%" APR_INT64_T_FMT, sess->iat);
    apr_snprintf(seen, sizeof(seen), "%" APR_INT64_T_FMT, sess->seen);
    ml_claims_clear(&c);
    ml_claims_set(&c, "email", sess->email);
    ml_claims_set(&c, "iat", iat);
    ml_claims_set(&c, "seen", seen);
    ml_claims_set(&c, "aud", sess->aud);
    return ml_seal_to_pool(s, kr, name, &c, now, p, out);
}

ml_codec_err_t ml_session_open(ml_scratch_t *s, const ml_keyring_t *kr, const char *name,
                               const char *value, apr_int64_t now, int ttl, int idle,
                               const char *aud, apr_pool_t *p, ml_session_t *out)
{
    ml_open_opts_t o = { .now = now, .max_age = ttl };
    ml_claims_t c;
    ml_codec_err_t e;

    e = ml_open(s, kr, name, value, strlen(value), &o, p, &c, NULL, NULL);
    if (e != ML_CODEC_OK)
        return e;
    out->email = ml_claims_get(&c, "email");
    out->aud = ml_claims_get(&c, "aud");
    if (!ml_claims_exactly(&c, ml_session_keys, 4) || !ml_session_email_ok(out->email)
        || !ml_realm_valid(out->aud) || !ml_claim_time(ml_claims_get(&c, "iat"), now, &out->iat)
        || !ml_claim_time(ml_claims_get(&c, "seen"), now, &out->seen))
        return ML_CODEC_CLAIM;
    if (!aud || strcmp(out->aud, aud) != 0)
        return ML_CODEC_REALM;
    if (now - out->iat > ttl || now - out->seen > idle)
        return ML_CODEC_EXPIRED;
    return ML_CODEC_OK;
}
