#include "ml_jwt.h"
#include "ml_b64.h"
#include "ml_random.h"
#include "ml_claims.h"
#include "ml_crypto.h"

#include <apr_atomic.h>
#include <apr_file_io.h>
#include <apr_strings.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>

#define ML_JWT_PEM_MAX   65536      /* the key file limit of ml_keyfile_read */
#define ML_JWT_JTI_BYTES 16
#define ML_JWT_DER_MAX   80         /* an ECDSA P-256 signature in DER: at most 72 */

static volatile apr_uint32_t ml_jwt_serial_next;

const char *ml_jwt_alg_name(ml_jwt_alg_t alg)
{
    return alg == ML_JWT_ES256 ? "ES256" : "EdDSA";
}

/* ---- the ring ---- */

static apr_status_t ml_jwt_ring_free(void *data)
{
    ml_jwt_ring_t *ring = data;
    int i;

    for (i = 0; i < ring->n; i++)
        EVP_PKEY_free(ring->keys[i].pkey);
    ring->n = 0;
    return APR_SUCCESS;
}

ml_jwt_ring_t *ml_jwt_ring_make(apr_pool_t *p)
{
    ml_jwt_ring_t *ring = apr_pcalloc(p, sizeof(*ring));

    ring->serial = apr_atomic_inc32(&ml_jwt_serial_next) + 1;
    apr_pool_cleanup_register(p, ring, ml_jwt_ring_free, apr_pool_cleanup_null);
    return ring;
}

/* Never asks for a passphrase: an encrypted key is refused, not prompted for
 * on httpd's terminal. */
static int ml_jwt_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    return -1;
}

/* A 32-byte big-endian coordinate (or Ed25519 public key) as base64url. */
static int ml_jwt_coord(char out[ML_JWT_COORD_B64 + 1], const unsigned char raw[32])
{
    char tmp[ML_JWT_COORD_B64 + 2];     /* the padded form and its NUL, before the trim */
    ml_buf_t b = { tmp, 0, sizeof(tmp) };

    if (ml_b64_encode_raw(&b, raw, 32) != APR_SUCCESS || b.len != ML_JWT_COORD_B64)
        return 0;
    memcpy(out, tmp, ML_JWT_COORD_B64 + 1);
    return 1;
}

static int ml_jwt_bn_coord(EVP_PKEY *pk, const char *param, char out[ML_JWT_COORD_B64 + 1])
{
    BIGNUM *bn = NULL;
    unsigned char raw[32];
    int ok;

    ok = EVP_PKEY_get_bn_param(pk, param, &bn) == 1 && BN_bn2binpad(bn, raw, 32) == 32
         && ml_jwt_coord(out, raw);
    BN_free(bn);
    return ok;
}

/* Which algorithm the key is for, and its public half; 0 if neither. */
static int ml_jwt_key_public(ml_jwt_key_t *k)
{
    unsigned char raw[32];
    size_t len = sizeof(raw);
    char group[32];

    if (EVP_PKEY_is_a(k->pkey, "ED25519")) {
        k->alg = ML_JWT_EDDSA;
        return EVP_PKEY_get_raw_public_key(k->pkey, raw, &len) == 1 && len == 32
               && ml_jwt_coord(k->x, raw);
    }
    if (EVP_PKEY_is_a(k->pkey, "EC")
        && EVP_PKEY_get_group_name(k->pkey, group, sizeof(group), NULL) == 1
        && (!strcmp(group, "prime256v1") || !strcmp(group, "P-256"))) {
        k->alg = ML_JWT_ES256;
        return ml_jwt_bn_coord(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, k->x)
               && ml_jwt_bn_coord(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, k->y);
    }
    return 0;
}

/* The token header of k, base64url: fixed per key, so made once. */
static apr_status_t ml_jwt_key_header(ml_jwt_key_t *k, apr_pool_t *p)
{
    char json[128];
    unsigned char *raw = (unsigned char *)json;
    ml_buf_t b;
    int n = apr_snprintf(json, sizeof(json), "{\"alg\":\"%s\",\"kid\":\"%s\",\"typ\":\"JWT\"}",
                         ml_jwt_alg_name(k->alg), k->kid);

    ml_buf_init(&b);
    if (ml_b64_encode_raw(&b, raw, (apr_size_t)n) != APR_SUCCESS) {
        ml_buf_free(&b);
        return APR_ENOMEM;
    }
    k->header = apr_pstrmemdup(p, b.data, b.len);
    ml_buf_free(&b);
    return APR_SUCCESS;
}

static apr_status_t ml_jwt_kid_check(const ml_jwt_ring_t *ring, const char *kid,
                                     const char *origin, char *err, apr_size_t errlen)
{
    int i;

    if (!ml_key_id_valid(kid)) {
        apr_snprintf(err, errlen, "%s: key id \"%s\" must be 1 to %d of A-Z a-z 0-9 . _ -",
                     origin, kid, ML_KEY_ID_MAX);
        return APR_EINVAL;
    }
    for (i = 0; i < ring->n; i++) {
        if (!strcmp(ring->keys[i].kid, kid)) {
            apr_snprintf(err, errlen, "%s: key id \"%s\" used twice", origin, kid);
            return APR_EINVAL;
        }
    }
    if (ring->n == ML_JWT_MAX_KEYS) {
        apr_snprintf(err, errlen, "%s: more than %d keys", origin, ML_JWT_MAX_KEYS);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

apr_status_t ml_jwt_ring_add_pem(ml_jwt_ring_t *ring, const char *kid, const char *pem,
                                 apr_size_t len, const char *origin, apr_pool_t *p,
                                 char *err, apr_size_t errlen)
{
    ml_jwt_key_t *k = &ring->keys[ring->n];
    apr_status_t rv = ml_jwt_kid_check(ring, kid, origin, err, errlen);
    unsigned char probe[ML_JWT_SIG_LEN];
    BIO *bio;

    if (rv != APR_SUCCESS)
        return rv;
    memset(k, 0, sizeof(*k));
    bio = BIO_new_mem_buf(pem, (int)len);
    if (bio)
        k->pkey = PEM_read_bio_PrivateKey(bio, NULL, ml_jwt_no_passphrase, NULL);
    BIO_free(bio);
    /* Leave nothing in this thread's OpenSSL error queue for mod_ssl to find. */
    ERR_clear_error();
    if (!k->pkey) {
        apr_snprintf(err, errlen, "%s: no unencrypted PEM private key (make one with "
                     "`magiclink jwt-keygen`)", origin);
        return APR_EINVAL;
    }
    if (!ml_jwt_key_public(k)) {
        EVP_PKEY_free(k->pkey);
        k->pkey = NULL;
        ERR_clear_error();
        apr_snprintf(err, errlen, "%s: only Ed25519 and EC P-256 keys sign identity tokens",
                     origin);
        return APR_EINVAL;
    }
    /* One signature now: a key that cannot sign fails the start, not a
     * request; and OpenSSL's per-key provider cache is filled here, in the
     * parent, before threads share the key. */
    if (ml_jwt_sign_raw(k, "ml_jwt", 6, probe) != APR_SUCCESS) {
        EVP_PKEY_free(k->pkey);
        k->pkey = NULL;
        apr_snprintf(err, errlen, "%s: the key cannot sign", origin);
        return APR_EINVAL;
    }
    apr_cpystrn(k->kid, kid, sizeof(k->kid));
    if (ml_jwt_key_header(k, p) != APR_SUCCESS) {
        EVP_PKEY_free(k->pkey);
        k->pkey = NULL;
        apr_snprintf(err, errlen, "%s: out of memory", origin);
        return APR_ENOMEM;
    }
    ring->n++;
    return APR_SUCCESS;
}

apr_status_t ml_jwt_ring_add_file(ml_jwt_ring_t *ring, const char *kid, const char *path,
                                  apr_pool_t *p, char *err, apr_size_t errlen)
{
    char *text = malloc(ML_JWT_PEM_MAX);
    apr_size_t len = 0;
    apr_status_t rv;

    if (!text) {
        apr_snprintf(err, errlen, "%s: out of memory", path);
        return APR_ENOMEM;
    }
    rv = ml_keyfile_read(path, text, ML_JWT_PEM_MAX, &len, p, err, errlen);
    if (rv == APR_SUCCESS)
        rv = ml_jwt_ring_add_pem(ring, kid, text, len, path, p, err, errlen);
    OPENSSL_cleanse(text, ML_JWT_PEM_MAX);
    free(text);
    return rv;
}

/* ---- the JWK Set ---- */

apr_status_t ml_jwt_jwks(const ml_jwt_ring_t *ring, ml_buf_t *out)
{
    apr_status_t rv = ml_buf_puts(out, "{\"keys\":[");
    int i;

    for (i = 0; i < ring->n && rv == APR_SUCCESS; i++) {
        const ml_jwt_key_t *k = &ring->keys[i];

        if (k->alg == ML_JWT_EDDSA)
            rv = ml_buf_printf(out, "%s{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"%s\",",
                               i ? "," : "", k->x);
        else
            rv = ml_buf_printf(out, "%s{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\","
                               "\"y\":\"%s\",", i ? "," : "", k->x, k->y);
        if (rv == APR_SUCCESS)
            rv = ml_buf_printf(out, "\"kid\":\"%s\",\"alg\":\"%s\",\"use\":\"sig\"}", k->kid,
                               ml_jwt_alg_name(k->alg));
    }
    return rv == APR_SUCCESS ? ml_buf_puts(out, "]}") : rv;
}

/* ---- signing ---- */

/* DER ECDSA-Sig-Value to the fixed-width r||s of RFC 7518 section 3.4. */
static int ml_jwt_der_to_raw(const unsigned char *der, size_t derlen,
                             unsigned char sig[ML_JWT_SIG_LEN])
{
    const unsigned char *pp = der;
    ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &pp, (long)derlen);
    const BIGNUM *r, *s;
    int ok;

    if (!es)
        return 0;
    ECDSA_SIG_get0(es, &r, &s);
    ok = BN_bn2binpad(r, sig, 32) == 32 && BN_bn2binpad(s, sig + 32, 32) == 32;
    ECDSA_SIG_free(es);
    return ok;
}

apr_status_t ml_jwt_sign_raw(const ml_jwt_key_t *k, const void *in, apr_size_t n,
                             unsigned char sig[ML_JWT_SIG_LEN])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char der[ML_JWT_DER_MAX];
    size_t len = k->alg == ML_JWT_ES256 ? sizeof(der) : ML_JWT_SIG_LEN;
    int ok;

    /* Ed25519 hashes inside the signature (no digest); ES256 is over SHA-256. */
    ok = ctx && EVP_DigestSignInit_ex(ctx, NULL, k->alg == ML_JWT_ES256 ? "SHA256" : NULL,
                                      NULL, NULL, k->pkey, NULL) == 1
         && EVP_DigestSign(ctx, k->alg == ML_JWT_ES256 ? der : sig, &len, in, n) == 1;
    EVP_MD_CTX_free(ctx);
    if (ok && k->alg == ML_JWT_ES256)
        ok = ml_jwt_der_to_raw(der, len, sig);
    else if (ok)
        ok = len == ML_JWT_SIG_LEN;
    if (!ok)
        ERR_clear_error();
    return ok ? APR_SUCCESS : APR_EGENERAL;
}

static apr_status_t ml_jwt_field(ml_buf_t *b, const char *name, const char *value)
{
    apr_status_t rv = ml_buf_printf(b, ",\"%s\":", name);

    return rv == APR_SUCCESS ? ml_json_string(b, value) : rv;
}

/* The claims as JSON; APR_EINVAL when a value is not valid UTF-8. */
static apr_status_t ml_jwt_payload(const ml_jwt_claims_t *c, const char *jti, ml_buf_t *b)
{
    apr_status_t rv;
    int i;

    ml_buf_reset(b);
    rv = ml_buf_puts(b, "{\"iss\":");
    if (rv == APR_SUCCESS)
        rv = ml_json_string(b, c->iss);
    if (rv == APR_SUCCESS)
        rv = ml_jwt_field(b, "aud", c->aud);
    if (rv == APR_SUCCESS)
        rv = ml_jwt_field(b, "sub", c->email);
    if (rv == APR_SUCCESS)
        rv = ml_jwt_field(b, "email", c->email);
    if (rv == APR_SUCCESS)
        rv = ml_buf_printf(b, ",\"iat\":%" APR_INT64_T_FMT ",\"nbf\":%" APR_INT64_T_FMT
                           ",\"exp\":%" APR_INT64_T_FMT, c->iat, c->iat, c->iat + c->ttl);
    if (rv == APR_SUCCESS)
        rv = ml_jwt_field(b, "jti", jti);
    if (rv == APR_SUCCESS && c->groups) {
        rv = ml_buf_puts(b, ",\"groups\":[");
        for (i = 0; i < c->ngroups && rv == APR_SUCCESS; i++) {
            if (i)
                rv = ml_buf_putc(b, ',');
            if (rv == APR_SUCCESS)
                rv = ml_json_string(b, c->groups[i]);
        }
        if (rv == APR_SUCCESS)
            rv = ml_buf_putc(b, ']');
    }
    return rv == APR_SUCCESS ? ml_buf_putc(b, '}') : rv;
}

static const char *ml_jwt_fresh_jti(char out[32])
{
    unsigned char raw[ML_JWT_JTI_BYTES];
    ml_buf_t b = { out, 0, 32 };

    if (!ml_random_bytes(raw, sizeof(raw))
        || ml_b64_encode_raw(&b, raw, sizeof(raw)) != APR_SUCCESS)
        return NULL;
    return out;
}

apr_status_t ml_jwt_sign(const ml_jwt_ring_t *ring, const ml_jwt_claims_t *c, ml_buf_t *work,
                         ml_buf_t *out, const char **why)
{
    unsigned char sig[ML_JWT_SIG_LEN];
    const ml_jwt_key_t *k;
    char jti_buf[32];
    const char *jti = c->jti;
    apr_status_t rv;

    if (!ring || ring->n == 0) {
        *why = "no signing key";
        return APR_EINVAL;
    }
    k = &ring->keys[0];
    if (!jti && !(jti = ml_jwt_fresh_jti(jti_buf))) {
        *why = "no random bytes for the jti";
        return APR_EGENERAL;
    }
    rv = ml_jwt_payload(c, jti, work);
    if (rv != APR_SUCCESS) {
        *why = rv == APR_EINVAL ? "a claim is not valid UTF-8" : "out of memory";
        ml_buf_wipe(work);
        return rv;
    }
    ml_buf_reset(out);
    rv = ml_buf_puts(out, k->header);
    if (rv == APR_SUCCESS)
        rv = ml_buf_putc(out, '.');
    if (rv == APR_SUCCESS)
        rv = ml_b64_encode_raw(out, (const unsigned char *)work->data, work->len);
    ml_buf_wipe(work);
    if (rv != APR_SUCCESS) {
        *why = "out of memory";
        return rv;
    }
    if (ml_jwt_sign_raw(k, out->data, out->len, sig) != APR_SUCCESS) {
        *why = "the signature failed";
        return APR_EGENERAL;
    }
    rv = ml_buf_putc(out, '.');
    if (rv == APR_SUCCESS)
        rv = ml_b64_encode_raw(out, sig, sizeof(sig));
    if (rv != APR_SUCCESS)
        *why = "out of memory";
    return rv;
}

/* ---- key generation (the CLI) ---- */

apr_status_t ml_jwt_keygen_pem(const char *alg, ml_buf_t *out, const char **why)
{
    EVP_PKEY *pk = NULL;
    BIO *bio = NULL;
    char *data;
    long n;
    apr_status_t rv = APR_EGENERAL;

    if (!strcasecmp(alg, "ed25519") || !strcasecmp(alg, "eddsa"))
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
    else if (!strcasecmp(alg, "es256") || !strcasecmp(alg, "p-256"))
        pk = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    else {
        *why = "expected ed25519 or es256";
        return APR_EINVAL;
    }
    *why = "key generation failed";
    /* Secure memory for the PEM text, freed (and cleared) with the BIO. */
    if (pk && (bio = BIO_new(BIO_s_secmem())) != NULL
        && PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0, NULL, NULL) == 1
        && (n = BIO_get_mem_data(bio, &data)) > 0)
        rv = ml_buf_append(out, data, (apr_size_t)n);
    BIO_free(bio);
    EVP_PKEY_free(pk);
    ERR_clear_error();
    return rv;
}
