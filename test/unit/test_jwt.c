/* Unit tests of the identity tokens (ml_jwt): base64url without padding,
 * key loading and its refusals, the JWK Set, signing (RFC 8037's Ed25519
 * vector; ES256 checked by OpenSSL's verifier after re-encoding r||s as
 * DER), and the token's header and claims read back with jansson. The
 * end-to-end checks by real JWT libraries (PyJWT, jose) are in
 * test/integration/test_jwt.py. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ml_test.h"
#include "ml_b64.h"
#include "ml_jwt.h"

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>

static apr_pool_t *pool;

/* RFC 8037 appendix A.1: the Ed25519 key (d, as PKCS#8) and its x. */
#define ED_PEM "-----BEGIN PRIVATE KEY-----\n" \
               "MC4CAQAwBQYDK2VwBCIEIJ1hsZ3v/VpguoRK9JLsLMREScVpezJpGXA7rAMcrn9g\n" \
               "-----END PRIVATE KEY-----\n"
#define ED_X "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"
/* RFC 8037 appendix A.4: the signing input and its signature. */
#define ED_INPUT "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"
#define ED_SIG "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"

/* A P-256 key in PKCS#8 and in SEC1 form; x and y computed by Python's
 * cryptography package (another implementation) from its private scalar. */
#define EC_PEM "-----BEGIN PRIVATE KEY-----\n" \
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgjpsQnnGQmL+YBIff\n" \
    "H1136cLyOQL4T0QPcrgAwEpMzKqhRANCAATPnexByzjgoOVH1U0BFBVhRGDbVOBE\n" \
    "kGDO+16IWXkk0CAZms6e01KMF+6DTj34y2cpQxjwz5vwP1pX6giLa6DW\n" \
    "-----END PRIVATE KEY-----\n"
#define EC_SEC1_PEM "-----BEGIN EC PRIVATE KEY-----\n" \
    "MHcCAQEEII6bEJ5xkJi/mASH3x9dd+nC8jkC+E9ED3K4AMBKTMyqoAoGCCqGSM49\n" \
    "AwEHoUQDQgAEz53sQcs44KDlR9VNARQVYURg21TgRJBgzvteiFl5JNAgGZrOntNS\n" \
    "jBfug049+MtnKUMY8M+b8D9aV+oIi2ug1g==\n" \
    "-----END EC PRIVATE KEY-----\n"
#define EC_X "z53sQcs44KDlR9VNARQVYURg21TgRJBgzvteiFl5JNA"
#define EC_Y "IBmazp7TUowX7oNOPfjLZylDGPDPm_A_WlfqCItroNY"

static ml_jwt_ring_t *ring_of(const char *kid, const char *pem)
{
    ml_jwt_ring_t *ring = ml_jwt_ring_make(pool);
    char err[256];

    assert_int_equal(ml_jwt_ring_add_pem(ring, kid, pem, strlen(pem), "test", pool, err,
                                         sizeof(err)), APR_SUCCESS);
    return ring;
}

/* Adding must fail; returns the message. */
static const char *add_err(ml_jwt_ring_t *ring, const char *kid, const char *pem)
{
    static char err[256];

    err[0] = '\0';
    assert_int_not_equal(ml_jwt_ring_add_pem(ring, kid, pem, strlen(pem), "keyfile", pool,
                                             err, sizeof(err)), APR_SUCCESS);
    assert_true(strlen(err) > 0);
    return err;
}

static apr_size_t unb64(const char *s, apr_size_t n, unsigned char *out, apr_size_t cap)
{
    ml_buf_t in, dec;
    apr_size_t len;

    /* Restore the padding ml_b64_decode (strict, padded) expects. */
    ml_buf_init(&in);
    ml_buf_init(&dec);
    assert_int_equal(ml_buf_append(&in, s, n), APR_SUCCESS);
    while (in.len % 4)
        assert_int_equal(ml_buf_putc(&in, '='), APR_SUCCESS);
    assert_int_equal(ml_b64_decode(&dec, in.data, in.len), APR_SUCCESS);
    len = dec.len;
    assert_true(len <= cap);
    memcpy(out, dec.data, len);
    ml_buf_free(&in);
    ml_buf_free(&dec);
    return len;
}

static const char *b64(const char *raw, apr_size_t n)
{
    ml_buf_t b;
    const char *s;

    ml_buf_init(&b);
    assert_int_equal(ml_b64_encode_raw(&b, (const unsigned char *)raw, n), APR_SUCCESS);
    s = apr_pstrdup(pool, b.data ? b.data : "");
    ml_buf_free(&b);
    return s;
}

static void test_b64_no_padding(void **state)
{
    assert_string_equal(b64("", 0), "");
    assert_string_equal(b64("f", 1), "Zg");
    assert_string_equal(b64("fo", 2), "Zm8");
    assert_string_equal(b64("foo", 3), "Zm9v");
    assert_string_equal(b64("foob", 4), "Zm9vYg");
    assert_string_equal(b64("\xfb\xff", 2), "-_8");
}

static void test_ed25519_rfc8037(void **state)
{
    ml_jwt_ring_t *ring = ring_of("ed", ED_PEM);
    unsigned char sig[ML_JWT_SIG_LEN];

    assert_int_equal(ring->n, 1);
    assert_int_equal(ring->keys[0].alg, ML_JWT_EDDSA);
    assert_string_equal(ring->keys[0].x, ED_X);
    assert_string_equal(ring->keys[0].y, "");
    assert_int_equal(ml_jwt_sign_raw(&ring->keys[0], ED_INPUT, strlen(ED_INPUT), sig),
                     APR_SUCCESS);
    assert_string_equal(b64((const char *)sig, sizeof(sig)), ED_SIG);
}

/* OpenSSL's own verifier on r||s turned back into DER. */
static int es256_verifies(EVP_PKEY *pk, const char *in, const unsigned char sig[64])
{
    ECDSA_SIG *es = ECDSA_SIG_new();
    unsigned char *der = NULL;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int derlen, ok;

    ECDSA_SIG_set0(es, BN_bin2bn(sig, 32, NULL), BN_bin2bn(sig + 32, 32, NULL));
    derlen = i2d_ECDSA_SIG(es, &der);
    ok = EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pk) == 1
         && EVP_DigestVerify(ctx, der, (size_t)derlen, (const unsigned char *)in,
                             strlen(in)) == 1;
    EVP_MD_CTX_free(ctx);
    OPENSSL_free(der);
    ECDSA_SIG_free(es);
    ERR_clear_error();
    return ok;
}

static void test_es256_keys_and_raw_signature(void **state)
{
    const char *pems[] = { EC_PEM, EC_SEC1_PEM };
    unsigned char sig[ML_JWT_SIG_LEN];
    int i;

    for (i = 0; i < 2; i++) {
        ml_jwt_ring_t *ring = ring_of("ec", pems[i]);

        assert_int_equal(ring->keys[0].alg, ML_JWT_ES256);
        assert_string_equal(ring->keys[0].x, EC_X);
        assert_string_equal(ring->keys[0].y, EC_Y);
        assert_int_equal(ml_jwt_sign_raw(&ring->keys[0], "a.b", 3, sig), APR_SUCCESS);
        assert_true(es256_verifies(ring->keys[0].pkey, "a.b", sig));
        assert_false(es256_verifies(ring->keys[0].pkey, "a.c", sig));
        sig[5] ^= 1;
        assert_false(es256_verifies(ring->keys[0].pkey, "a.b", sig));
    }
}

static void test_jwks(void **state)
{
    ml_jwt_ring_t *ring = ring_of("new-1", ED_PEM);
    char err[256];
    json_error_t jerr;
    json_t *doc, *k;
    ml_buf_t out;

    assert_int_equal(ml_jwt_ring_add_pem(ring, "old.0", EC_PEM, strlen(EC_PEM), "t", pool, err,
                                         sizeof(err)), APR_SUCCESS);
    ml_buf_init(&out);
    assert_int_equal(ml_jwt_jwks(ring, &out), APR_SUCCESS);
    doc = json_loadb(out.data, out.len, 0, &jerr);
    assert_non_null(doc);
    assert_int_equal(json_array_size(json_object_get(doc, "keys")), 2);
    k = json_array_get(json_object_get(doc, "keys"), 0);
    assert_string_equal(json_string_value(json_object_get(k, "kty")), "OKP");
    assert_string_equal(json_string_value(json_object_get(k, "crv")), "Ed25519");
    assert_string_equal(json_string_value(json_object_get(k, "x")), ED_X);
    assert_null(json_object_get(k, "y"));
    assert_null(json_object_get(k, "d"));
    assert_string_equal(json_string_value(json_object_get(k, "kid")), "new-1");
    assert_string_equal(json_string_value(json_object_get(k, "alg")), "EdDSA");
    assert_string_equal(json_string_value(json_object_get(k, "use")), "sig");
    k = json_array_get(json_object_get(doc, "keys"), 1);
    assert_string_equal(json_string_value(json_object_get(k, "kty")), "EC");
    assert_string_equal(json_string_value(json_object_get(k, "crv")), "P-256");
    assert_string_equal(json_string_value(json_object_get(k, "x")), EC_X);
    assert_string_equal(json_string_value(json_object_get(k, "y")), EC_Y);
    assert_null(json_object_get(k, "d"));
    assert_string_equal(json_string_value(json_object_get(k, "kid")), "old.0");
    assert_string_equal(json_string_value(json_object_get(k, "alg")), "ES256");
    json_decref(doc);
    ml_buf_free(&out);
}

/* Splits a token into its three parts and decodes the first two as JSON. */
typedef struct {
    json_t *header, *claims;
    unsigned char sig[128];
    apr_size_t siglen;
    const char *input;          /* header.payload */
} parsed_t;

static parsed_t parse_token(const char *tok)
{
    const char *d1 = strchr(tok, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    unsigned char buf[4096];
    apr_size_t n;
    json_error_t jerr;
    parsed_t p;

    assert_non_null(d2);
    assert_null(strchr(d2 + 1, '.'));
    assert_null(strchr(tok, '='));              /* no padding anywhere */
    n = unb64(tok, (apr_size_t)(d1 - tok), buf, sizeof(buf));
    p.header = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, &jerr);
    n = unb64(d1 + 1, (apr_size_t)(d2 - d1 - 1), buf, sizeof(buf));
    p.claims = json_loadb((const char *)buf, n, JSON_REJECT_DUPLICATES, &jerr);
    assert_non_null(p.header);
    assert_non_null(p.claims);
    p.siglen = unb64(d2 + 1, strlen(d2 + 1), p.sig, sizeof(p.sig));
    p.input = apr_pstrmemdup(pool, tok, (apr_size_t)(d2 - tok));
    return p;
}

static const char *sign(const ml_jwt_ring_t *ring, const ml_jwt_claims_t *c)
{
    ml_buf_t work, out;
    const char *why = NULL, *tok;

    ml_buf_init(&work);
    ml_buf_init(&out);
    assert_int_equal(ml_jwt_sign(ring, c, &work, &out, &why), APR_SUCCESS);
    tok = apr_pstrdup(pool, out.data);
    ml_buf_free(&work);
    ml_buf_free(&out);
    return tok;
}

static const char *jstr(json_t *o, const char *k)
{
    json_t *v = json_object_get(o, k);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

static void test_token_ed25519(void **state)
{
    ml_jwt_ring_t *ring = ring_of("k1", ED_PEM);
    const char *groups[] = { "staff", "q\"uote\\back", "gr\xc3\xbcn" };
    ml_jwt_claims_t c = { "https://www.example.com", "https://app.example.com",
                          "ann@example.com", 1700000000, 60, "jti-1", groups, 3 };
    parsed_t p = parse_token(sign(ring, &c));
    unsigned char raw[32];
    EVP_PKEY *pub;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    json_t *g;

    assert_string_equal(jstr(p.header, "alg"), "EdDSA");
    assert_string_equal(jstr(p.header, "kid"), "k1");
    assert_string_equal(jstr(p.header, "typ"), "JWT");
    assert_int_equal(json_object_size(p.header), 3);
    assert_string_equal(jstr(p.claims, "iss"), "https://www.example.com");
    assert_string_equal(jstr(p.claims, "aud"), "https://app.example.com");
    assert_string_equal(jstr(p.claims, "sub"), "ann@example.com");
    assert_string_equal(jstr(p.claims, "email"), "ann@example.com");
    assert_string_equal(jstr(p.claims, "jti"), "jti-1");
    assert_int_equal(json_integer_value(json_object_get(p.claims, "iat")), 1700000000);
    assert_int_equal(json_integer_value(json_object_get(p.claims, "nbf")), 1700000000);
    assert_int_equal(json_integer_value(json_object_get(p.claims, "exp")), 1700000060);
    g = json_object_get(p.claims, "groups");
    assert_int_equal(json_array_size(g), 3);
    assert_string_equal(json_string_value(json_array_get(g, 0)), "staff");
    assert_string_equal(json_string_value(json_array_get(g, 1)), "q\"uote\\back");
    assert_string_equal(json_string_value(json_array_get(g, 2)), "gr\xc3\xbcn");
    /* The signature, checked by OpenSSL with the public key the JWKS publishes. */
    assert_int_equal(p.siglen, 64);
    assert_int_equal(unb64(ED_X, strlen(ED_X), raw, sizeof(raw)), 32);
    pub = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, raw, 32);
    assert_non_null(pub);
    assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, pub), 1);
    assert_int_equal(EVP_DigestVerify(ctx, p.sig, p.siglen, (const unsigned char *)p.input,
                                      strlen(p.input)), 1);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pub);
    json_decref(p.header);
    json_decref(p.claims);
}

static void test_token_es256_fresh_jti_no_groups(void **state)
{
    ml_jwt_ring_t *ring = ring_of("e1", EC_PEM);
    ml_jwt_claims_t c = { "https://www.example.com", "aud", "bob@example.org", 1700000000, 5,
                          NULL, NULL, 0 };
    parsed_t p = parse_token(sign(ring, &c)), q = parse_token(sign(ring, &c));

    assert_string_equal(jstr(p.header, "alg"), "ES256");
    assert_string_equal(jstr(p.header, "kid"), "e1");
    assert_null(json_object_get(p.claims, "groups"));
    assert_int_equal(json_integer_value(json_object_get(p.claims, "exp")), 1700000005);
    assert_int_equal(strlen(jstr(p.claims, "jti")), 22);       /* 16 random bytes */
    assert_string_not_equal(jstr(p.claims, "jti"), jstr(q.claims, "jti"));
    assert_int_equal(p.siglen, 64);
    assert_true(es256_verifies(ring->keys[0].pkey, p.input, p.sig));
    json_decref(p.header);
    json_decref(p.claims);
    json_decref(q.header);
    json_decref(q.claims);
}

static void test_first_key_signs(void **state)
{
    ml_jwt_ring_t *ring = ring_of("first", EC_PEM);
    ml_jwt_claims_t c = { "i", "a", "x@example.com", 1, 60, "j", NULL, 0 };
    char err[256];
    parsed_t p;

    assert_int_equal(ml_jwt_ring_add_pem(ring, "second", ED_PEM, strlen(ED_PEM), "t", pool, err,
                                         sizeof(err)), APR_SUCCESS);
    p = parse_token(sign(ring, &c));
    assert_string_equal(jstr(p.header, "kid"), "first");
    json_decref(p.header);
    json_decref(p.claims);
}

static void test_sign_refusals(void **state)
{
    ml_jwt_ring_t *ring = ring_of("k", ED_PEM), *empty = ml_jwt_ring_make(pool);
    ml_jwt_claims_t bad_email = { "i", "a", "x\xff@example.com", 1, 60, "j", NULL, 0 };
    const char *bad_groups[] = { "ok", "\xc0\xaf" };
    ml_jwt_claims_t bad_group = { "i", "a", "x@example.com", 1, 60, "j", bad_groups, 2 };
    ml_buf_t work, out;
    const char *why = NULL;

    ml_buf_init(&work);
    ml_buf_init(&out);
    assert_int_equal(ml_jwt_sign(ring, &bad_email, &work, &out, &why), APR_EINVAL);
    assert_non_null(strstr(why, "UTF-8"));
    assert_int_equal(ml_jwt_sign(ring, &bad_group, &work, &out, &why), APR_EINVAL);
    assert_int_not_equal(ml_jwt_sign(empty, &bad_group, &work, &out, &why), APR_SUCCESS);
    assert_non_null(strstr(why, "key"));
    ml_buf_free(&work);
    ml_buf_free(&out);
}

static const char *pem_of(EVP_PKEY *pk, const char *pass)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *data;
    long n;
    const char *s;

    assert_int_equal(PEM_write_bio_PrivateKey(bio, pk, pass ? EVP_aes_256_cbc() : NULL,
                                              (unsigned char *)pass, pass ? (int)strlen(pass) : 0,
                                              NULL, NULL), 1);
    n = BIO_get_mem_data(bio, &data);
    s = apr_pstrmemdup(pool, data, (apr_size_t)n);
    BIO_free(bio);
    return s;
}

static void test_key_refusals(void **state)
{
    ml_jwt_ring_t *ring = ring_of("k", ED_PEM);
    EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
    EVP_PKEY *x25519 = EVP_PKEY_Q_keygen(NULL, NULL, "X25519");
    int i;

    assert_non_null(strstr(add_err(ring, "k", EC_PEM), "used twice"));
    assert_non_null(strstr(add_err(ring, "bad kid", EC_PEM), "key id"));
    assert_non_null(strstr(add_err(ring, "", EC_PEM), "key id"));
    assert_non_null(strstr(add_err(ring, "x", "not a key"), "PEM private key"));
    assert_non_null(strstr(add_err(ring, "x", ""), "PEM private key"));
    /* An encrypted key is refused at once: no passphrase prompt. */
    assert_non_null(strstr(add_err(ring, "x", pem_of(p384, "secret")), "PEM private key"));
    assert_non_null(strstr(add_err(ring, "x", pem_of(p384, NULL)), "Ed25519 and EC P-256"));
    assert_non_null(strstr(add_err(ring, "x", pem_of(x25519, NULL)), "Ed25519 and EC P-256"));
    /* The error names the origin, never key material. */
    assert_null(strstr(add_err(ring, "x", EC_PEM + 28), "MIG"));
    assert_int_equal(ring->n, 1);
    for (i = 1; i < ML_JWT_MAX_KEYS; i++) {
        char kid[8], err[256];
        apr_snprintf(kid, sizeof(kid), "k%d", i);
        assert_int_equal(ml_jwt_ring_add_pem(ring, kid, ED_PEM, strlen(ED_PEM), "t", pool, err,
                                             sizeof(err)), APR_SUCCESS);
    }
    assert_non_null(strstr(add_err(ring, "one-more", ED_PEM), "more than"));
    EVP_PKEY_free(p384);
    EVP_PKEY_free(x25519);
    assert_int_equal(ERR_peek_error(), 0);
}

static void test_key_files(void **state)
{
    char dir[] = "/tmp/ml-jwt-test-XXXXXX", path[64], err[256];
    ml_jwt_ring_t *ring = ml_jwt_ring_make(pool);
    FILE *f;

    assert_non_null(mkdtemp(dir));
    apr_snprintf(path, sizeof(path), "%s/k.pem", dir);
    f = fopen(path, "w");
    fputs(ED_PEM, f);
    fclose(f);
    chmod(path, 0644);
    assert_int_equal(ml_jwt_ring_add_file(ring, "k", path, pool, err, sizeof(err)), APR_EACCES);
    assert_non_null(strstr(err, "chmod 600"));
    chmod(path, 0600);
    assert_int_equal(ml_jwt_ring_add_file(ring, "k", path, pool, err, sizeof(err)), APR_SUCCESS);
    assert_string_equal(ring->keys[0].x, ED_X);
    assert_int_not_equal(ml_jwt_ring_add_file(ring, "d", dir, pool, err, sizeof(err)),
                         APR_SUCCESS);
    assert_int_not_equal(ml_jwt_ring_add_file(ring, "m", "/nonexistent/k.pem", pool, err,
                                              sizeof(err)), APR_SUCCESS);
    assert_non_null(strstr(err, "/nonexistent/k.pem"));
    unlink(path);
    rmdir(dir);
}

static void test_keygen(void **state)
{
    const char *algs[] = { "ed25519", "es256" };
    int i;

    for (i = 0; i < 2; i++) {
        ml_buf_t pem;
        const char *why;
        ml_jwt_ring_t *ring;

        ml_buf_init(&pem);
        assert_int_equal(ml_jwt_keygen_pem(algs[i], &pem, &why), APR_SUCCESS);
        assert_non_null(strstr(pem.data, "-----BEGIN PRIVATE KEY-----"));
        ring = ring_of("g", pem.data);
        assert_int_equal(ring->keys[0].alg, i ? ML_JWT_ES256 : ML_JWT_EDDSA);
        ml_buf_free(&pem);
    }
    {
        ml_buf_t pem;
        const char *why = NULL;
        ml_buf_init(&pem);
        assert_int_equal(ml_jwt_keygen_pem("rsa", &pem, &why), APR_EINVAL);
        assert_non_null(why);
        ml_buf_free(&pem);
    }
}

static void test_serials_differ(void **state)
{
    assert_int_not_equal(ml_jwt_ring_make(pool)->serial, ml_jwt_ring_make(pool)->serial);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64_no_padding),
        cmocka_unit_test(test_ed25519_rfc8037),
        cmocka_unit_test(test_es256_keys_and_raw_signature),
        cmocka_unit_test(test_jwks),
        cmocka_unit_test(test_token_ed25519),
        cmocka_unit_test(test_token_es256_fresh_jti_no_groups),
        cmocka_unit_test(test_first_key_signs),
        cmocka_unit_test(test_sign_refusals),
        cmocka_unit_test(test_key_refusals),
        cmocka_unit_test(test_key_files),
        cmocka_unit_test(test_keygen),
        cmocka_unit_test(test_serials_differ),
    };
    int rc;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
