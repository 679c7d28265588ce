#include "ml_link.h"
#include "ml_addr.h"
#include "ml_b64.h"
#include "ml_random.h"

#include <apr_strings.h>
#include <openssl/crypto.h>

/* Base64url of random bytes into a pool string (no padding for 18 bytes). */
static const char *ml_random_b64(apr_pool_t *p, apr_size_t nbytes)
{
    unsigned char raw[48];
    char *out = apr_palloc(p, ml_b64_encoded_len(nbytes) + 1);
    ml_buf_t b = { out, 0, ml_b64_encoded_len(nbytes) + 1 };

    if (nbytes > sizeof(raw) || !ml_random_bytes(raw, nbytes))
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
        if (!ml_random_bytes((unsigned char *)&v, sizeof(v)))
            return 0;
    }
    apr_snprintf(out, ML_CODE_DIGITS + 1, "%06u", (unsigned)(v % range));
    return 1;
}

/* Base64url without padding of in[0..n) into out (room for 4/3 n + 3). */
static void ml_b64url_encode(ml_buf_t *out, const unsigned char *in, apr_size_t n)
{
    out->len = 0;
    if (ml_b64_encode_raw(out, in, n) != APR_SUCCESS)
        out->len = 0;
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

#define ML_CODE_HASH_LEN 43     /* base64url of a 32-byte digest, unpadded */
#define ML_LINK_ID_BYTES 16
#define ML_LINK_MAC_BYTES 12

/* Keyed with the store secret, so a copy of the store alone cannot be
 * searched for the code. */
static void ml_code_hash(const ml_keyring_t *kr, const char *id, const char *code,
                         char out[ML_CODE_HASH_LEN + 1])
{
    char both[ML_LINK_ID_LEN + 1 + ML_CODE_DIGITS + 1];
    ml_store_key_t d;
    char tmp[ML_CODE_HASH_LEN + 4];
    ml_buf_t b = { tmp, 0, sizeof(tmp) };

    apr_snprintf(both, sizeof(both), "%s|%s", id, code);
    ml_store_key(&kr->store_secret, "c", both, strlen(both), &d);
    ml_b64url_encode(&b, d.b, sizeof(d.b));
    memcpy(out, tmp, ML_CODE_HASH_LEN);
    out[ML_CODE_HASH_LEN] = '\0';
    OPENSSL_cleanse(both, sizeof(both));
}

/* The token's MAC over the id: 'L' for links, 'P' for pending values. */
static void ml_token_mac(const ml_keyring_t *kr, ml_token_kind_t kind, const char *id,
                         char out[ML_LINK_MAC_LEN + 1])
{
    ml_store_key_t d;
    char tmp[ML_LINK_MAC_LEN + 4];
    ml_buf_t b = { tmp, 0, sizeof(tmp) };

    ml_store_key(&kr->store_secret, kind == ML_TOKEN_LINK ? "L" : "P", id, ML_LINK_ID_LEN, &d);
    ml_b64url_encode(&b, d.b, ML_LINK_MAC_BYTES);
    memcpy(out, tmp, ML_LINK_MAC_LEN);
    out[ML_LINK_MAC_LEN] = '\0';
}

static const char *ml_token_of(const ml_keyring_t *kr, ml_token_kind_t kind, const char *id,
                               apr_pool_t *p)
{
    char mac[ML_LINK_MAC_LEN + 1];

    ml_token_mac(kr, kind, id, mac);
    return apr_pstrcat(p, id, mac, NULL);
}

/* Two uniformly random decimal digits from the random byte b, drawing again
 * past the largest multiple of 100 (no modulo bias). */
static int ml_match_number(unsigned char b, char out[ML_MATCH_DIGITS + 1])
{
    while (b >= 200) {
        if (!ml_random_bytes(&b, 1))
            return 0;
    }
    apr_snprintf(out, ML_MATCH_DIGITS + 1, "%02u", (unsigned)(b % 100));
    return 1;
}

ml_codec_err_t ml_link_issue(const ml_keyring_t *kr, apr_int64_t now, int ttl,
                             const char *email, const char *nonce, const char *ret,
                             const char *lang, const char *device, apr_pool_t *p,
                             ml_issued_t *out)
{
    ml_link_t *l = &out->link;
    unsigned char r[ML_LINK_ID_BYTES + 4 + 1];
    char *match = apr_palloc(p, ML_MATCH_DIGITS + 1);
    char tmp[ML_LINK_ID_LEN + 4];
    ml_buf_t idb = { tmp, 0, sizeof(tmp) };
    char *hash;

    memset(l, 0, sizeof(*l));
    l->email = email;
    l->nonce = nonce;
    l->ret = ret;
    l->lang = lang ? lang : "";
    l->device = device && strlen(device) <= ML_DEVICE_MAX ? device : "";
    l->iat = now;
    l->exp = now + ttl;
    l->state = ML_LINK_OPEN;
    /* The id's and the code's random bytes in one draw. */
    if (!ml_random_bytes(r, sizeof(r)))
        return ML_CODEC_INTERNAL;
    ml_b64url_encode(&idb, r, ML_LINK_ID_BYTES);
    if (idb.len != ML_LINK_ID_LEN || !ml_code(r + ML_LINK_ID_BYTES, out->code)
        || !ml_match_number(r[ML_LINK_ID_BYTES + 4], match)) {
        OPENSSL_cleanse(r, sizeof(r));
        return ML_CODEC_INTERNAL;
    }
    OPENSSL_cleanse(r, sizeof(r));
    l->match = match;
    memcpy(l->id, tmp, ML_LINK_ID_LEN);
    l->id[ML_LINK_ID_LEN] = '\0';
    ml_store_key(&kr->store_secret, "u", l->id, ML_LINK_ID_LEN, &l->key);
    hash = apr_palloc(p, ML_CODE_HASH_LEN + 1);
    ml_code_hash(kr, l->id, out->code, hash);
    l->code_hash = hash;
    out->token = ml_token_of(kr, ML_TOKEN_LINK, l->id, p);
    out->pending = ml_token_of(kr, ML_TOKEN_PENDING, l->id, p);
    out->rec = ml_link_record(l, p, &out->rec_len);
    return out->rec ? ML_CODEC_OK : ML_CODEC_ENCODING;
}

static int ml_b64url_char(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')
           || c == '-' || c == '_';
}

ml_codec_err_t ml_link_token(const ml_keyring_t *kr, ml_token_kind_t kind, const char *token,
                             ml_link_t *out)
{
    char mac[ML_LINK_MAC_LEN + 1];
    int i;

    memset(out, 0, sizeof(*out));
    for (i = 0; i < ML_LINK_TOKEN_LEN; i++)
        if (!ml_b64url_char(token[i]))
            return ML_CODEC_FORMAT;
    if (token[ML_LINK_TOKEN_LEN] != '\0')
        return ML_CODEC_FORMAT;
    memcpy(out->id, token, ML_LINK_ID_LEN);
    out->id[ML_LINK_ID_LEN] = '\0';
    ml_token_mac(kr, kind, out->id, mac);
    if (CRYPTO_memcmp(mac, token + ML_LINK_ID_LEN, ML_LINK_MAC_LEN) != 0)
        return ML_CODEC_MAC;
    ml_store_key(&kr->store_secret, "u", out->id, ML_LINK_ID_LEN, &out->key);
    return ML_CODEC_OK;
}

/* ---- the link record: "ml1" then one "k=value" line per claim ---- */

static int ml_rec_value_ok(const char *v)
{
    for (; *v; v++)
        if ((unsigned char)*v < 0x20 || *v == 0x7f)
            return 0;
    return 1;
}

const char *ml_link_record(const ml_link_t *l, apr_pool_t *p, apr_size_t *len)
{
    const char *rec;

    if (!ml_rec_value_ok(l->email) || !ml_rec_value_ok(l->nonce) || !ml_rec_value_ok(l->ret)
        || !ml_rec_value_ok(l->code_hash) || !ml_rec_value_ok(l->lang)
        || !ml_rec_value_ok(l->match ? l->match : "")
        || !ml_rec_value_ok(l->device ? l->device : ""))
        return NULL;
    rec = apr_psprintf(p, "ml1\ns=%c\ne=%s\nn=%s\nr=%s\nc=%s\nl=%s\nm=%s\nu=%s\ni=%"
                          APR_INT64_T_FMT "\nx=%" APR_INT64_T_FMT "\n",
                       l->state, l->email, l->nonce, l->ret, l->code_hash, l->lang,
                       l->match ? l->match : "", l->device ? l->device : "", l->iat, l->exp);
    *len = strlen(rec);
    return *len <= ML_STORE_REC_MAX ? rec : NULL;
}

static int ml_parse_i64(const char *v, apr_int64_t *out)
{
    char *end;

    if (!v || !*v)
        return 0;
    *out = apr_strtoi64(v, &end, 10);
    return *end == '\0';
}

static void ml_rec_field(ml_link_t *l, char k, char *v, apr_int64_t *iat, apr_int64_t *exp,
                         int *bad)
{
    switch (k) {
    case 's':
        l->state = (v[0] == ML_LINK_OPEN || v[0] == ML_LINK_USED || v[0] == ML_LINK_APPROVED
                    || v[0] == ML_LINK_REFUSED) && !v[1] ? v[0] : 0;
        break;
    case 'e':
        l->email = v;
        break;
    case 'n':
        l->nonce = v;
        break;
    case 'r':
        l->ret = v;
        break;
    case 'c':
        l->code_hash = v;
        break;
    case 'l':
        l->lang = v;
        break;
    case 'm':
        l->match = v;
        break;
    case 'u':
        l->device = v;
        break;
    case 'i':
        *bad |= !ml_parse_i64(v, iat);
        break;
    case 'x':
        *bad |= !ml_parse_i64(v, exp);
        break;
    default:
        break;      /* a later version's claim: ignored */
    }
}

ml_codec_err_t ml_link_parse_record(char *rec, apr_size_t len, ml_link_t *l)
{
    char *s = rec, *end = rec + len;
    int bad = 0;

    l->email = l->nonce = l->ret = l->code_hash = NULL;
    l->lang = l->match = l->device = "";
    l->state = 0;
    if (len < 4 || memcmp(rec, "ml1\n", 4) != 0 || rec[len] != '\0')
        return ML_CODEC_JSON;
    for (s += 4; s < end;) {
        char *nl = memchr(s, '\n', (apr_size_t)(end - s));
        if (!nl || nl - s < 2 || s[1] != '=')
            return ML_CODEC_JSON;
        *nl = '\0';
        ml_rec_field(l, s[0], s + 2, &l->iat, &l->exp, &bad);
        s = nl + 1;
    }
    if (bad || !l->state || !l->email || !l->nonce || !l->ret || !l->code_hash)
        return ML_CODEC_JSON;
    return ML_CODEC_OK;
}

int ml_link_code_matches(const ml_keyring_t *kr, const ml_link_t *l, const char *code)
{
    char h[ML_CODE_HASH_LEN + 1];

    if (strlen(code) != ML_CODE_DIGITS || strlen(l->code_hash) != ML_CODE_HASH_LEN)
        return 0;
    ml_code_hash(kr, l->id, code, h);
    return CRYPTO_memcmp(h, l->code_hash, ML_CODE_HASH_LEN) == 0;
}

int ml_link_digits(const char *typed, const char *seps, char *out, int max)
{
    int n = 0;

    for (; typed && *typed; typed++) {
        if (*typed >= '0' && *typed <= '9') {
            if (n == max)
                return -1;
            out[n++] = *typed;
        }
        else if (!strchr(seps, *typed))
            return -1;
    }
    out[n] = '\0';
    return n;
}

int ml_link_match_ok(const ml_link_t *l, const char *typed)
{
    char want[ML_MATCH_DIGITS + 1], got[ML_MATCH_DIGITS + 1];
    int n;

    if (!l->match || strlen(l->match) != ML_MATCH_DIGITS)
        return 0;
    n = ml_link_digits(typed, " \t", got, ML_MATCH_DIGITS);
    if (n <= 0)
        return 0;
    /* "7" is "07": right-aligned, zero-filled. */
    memset(want, '0', ML_MATCH_DIGITS);
    memcpy(want + ML_MATCH_DIGITS - n, got, (apr_size_t)n);
    want[ML_MATCH_DIGITS] = '\0';
    return CRYPTO_memcmp(want, l->match, ML_MATCH_DIGITS) == 0;
}

int ml_link_code_clean(const char *typed, char out[ML_CODE_DIGITS + 1])
{
    return ml_link_digits(typed, " -\t", out, ML_CODE_DIGITS) == ML_CODE_DIGITS;
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
static const char *const ml_session_keys[] = { "email", "iat", "seen", "aud", "sid" };

/* ---- cookies of one claim: bindings and known browsers ---- */

/* A known browser's claim: the digest of an address it signed in as. */
static int ml_known_valid(const char *d)
{
    apr_size_t i;

    if (!d || strlen(d) != ML_KNOWN_LEN)
        return 0;
    for (i = 0; i < ML_KNOWN_LEN; i++)
        if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f')))
            return 0;
    return 1;
}

static const char *const ml_known_keys[] = { "k" };

static const struct {
    const char *const *claim;   /* its one claim's name */
    int (*valid)(const char *);
} ml_claim_cookies[] = {
    [ML_CLAIM_BIND] = { ml_binding_keys, ml_nonce_valid },
    [ML_CLAIM_KNOWN] = { ml_known_keys, ml_known_valid },
};

ml_codec_err_t ml_claim_cookie_seal(ml_claim_cookie_t kind, ml_scratch_t *s,
                                    const ml_keyring_t *kr, const char *name, const char *value,
                                    apr_int64_t now, apr_pool_t *p, const char **out)
{
    ml_claims_t c;

    if (!ml_claim_cookies[kind].valid(value))
        return ML_CODEC_CLAIM;
    ml_claims_clear(&c);
    ml_claims_set(&c, ml_claim_cookies[kind].claim[0], value);
    return ml_seal_to_pool(s, kr, name, &c, now, p, out);
}

const char *ml_claim_cookie_open(ml_claim_cookie_t kind, ml_scratch_t *s, const ml_keyring_t *kr,
                                 const char *name, const char *value, apr_int64_t now,
                                 apr_int64_t max_age, apr_pool_t *p)
{
    ml_open_opts_t o = { .now = now, .max_age = max_age };
    const char *const *claim = ml_claim_cookies[kind].claim;
    ml_claims_t c;
    const char *v;

    if (!value || ml_open(s, kr, name, value, strlen(value), &o, p, &c, NULL, NULL) != ML_CODEC_OK)
        return NULL;
    v = ml_claims_get(&c, claim[0]);
    return ml_claims_exactly(&c, claim, 1) && ml_claim_cookies[kind].valid(v) ? v : NULL;
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
        || sess->seen < 0 || sess->iat >= ML_TIME_LIMIT || sess->seen >= ML_TIME_LIMIT
        || (sess->sid && !ml_nonce_valid(sess->sid)))
        return ML_CODEC_CLAIM;
    apr_snprintf(iat, sizeof(iat), "%" APR_INT64_T_FMT, sess->iat);
    apr_snprintf(seen, sizeof(seen), "%" APR_INT64_T_FMT, sess->seen);
    ml_claims_clear(&c);
    ml_claims_set(&c, "email", sess->email);
    ml_claims_set(&c, "iat", iat);
    ml_claims_set(&c, "seen", seen);
    ml_claims_set(&c, "aud", sess->aud);
    if (sess->sid)
        ml_claims_set(&c, "sid", sess->sid);
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
    out->sid = ml_claims_get(&c, "sid");
    /* sid is optional (a backend's session may have none); nothing else is. */
    if (!ml_claims_exactly(&c, ml_session_keys, out->sid ? 5 : 4)
        || (out->sid && !ml_nonce_valid(out->sid)) || !ml_session_email_ok(out->email)
        || !ml_realm_valid(out->aud) || !ml_claim_time(ml_claims_get(&c, "iat"), now, &out->iat)
        || !ml_claim_time(ml_claims_get(&c, "seen"), now, &out->seen))
        return ML_CODEC_CLAIM;
    if (!aud || strcmp(out->aud, aud) != 0)
        return ML_CODEC_REALM;
    if (now - out->iat > ttl || now - out->seen > idle)
        return ML_CODEC_EXPIRED;
    return ML_CODEC_OK;
}
