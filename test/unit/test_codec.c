/* Unit tests of the sealed-value codec: base64url, AES-CTR, claims JSON,
 * key ring, seal/open and each of open's failure classes. */
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ml_test.h"
#include "ml_b64.h"
#include "ml_codec.h"
#include "ml_ctr.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

static apr_pool_t *pool;
static ml_crypto_t *crypto;
static ml_scratch_t *scratch;

#define KEY_A "a 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f " \
              "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f\n"
#define KEY_B "b ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100 " \
              "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"

static const apr_int64_t NOW = 1700000000;

static ml_keyring_t *ring(const char *text)
{
    return ml_test_ring(crypto, text, pool);
}

/* Parse failure: returns the message. */
static const char *ring_err(const char *text)
{
    static char err[256];
    ml_keyring_t *kr = NULL;

    err[0] = '\0';
    assert_int_not_equal(ml_keyring_parse(&kr, crypto, text, strlen(text), "keys", pool, err,
                                          sizeof(err)), APR_SUCCESS);
    return err;
}

static ml_claims_t seed_claims(void)
{
    ml_claims_t c;
    ml_claims_clear(&c);
    ml_claims_set(&c, "email", "user@example.com");
    ml_claims_set(&c, "csrf", "q5iJ3K0t4dJ2o2bJXxWk3w");
    return c;
}

static const char *seal(const ml_keyring_t *kr, const char *name, const ml_claims_t *c,
                        apr_int64_t t)
{
    ml_seal_opts_t o = { .now = t };
    const char *out;
    apr_size_t n;

    assert_int_equal(ml_seal(scratch, kr, name, c, &o, &out, &n), ML_CODEC_OK);
    assert_int_equal(strlen(out), n);
    return apr_pstrmemdup(pool, out, n);
}

static ml_codec_err_t open_at(const ml_keyring_t *kr, const char *name, const char *v,
                              apr_int64_t t, apr_int64_t max_age, ml_claims_t *out)
{
    ml_open_opts_t o = { .now = t, .max_age = max_age };
    ml_claims_t tmp;
    return ml_open(scratch, kr, name, v, strlen(v), &o, pool, out ? out : &tmp, NULL, NULL);
}

/* ---- base64url ---- */

static const char *b64(const char *in)
{
    ml_buf_t b;
    char *r;
    ml_buf_init(&b);
    assert_int_equal(ml_b64_encode(&b, (const unsigned char *)in, strlen(in)), APR_SUCCESS);
    r = apr_pstrdup(pool, b.data);
    ml_buf_free(&b);
    return r;
}

static int unb64(const char *in, char *out)
{
    ml_buf_t b;
    int ok;
    ml_buf_init(&b);
    ok = ml_b64_decode(&b, in, strlen(in)) == APR_SUCCESS;
    if (ok)
        memcpy(out, b.data, b.len + 1);
    ml_buf_free(&b);
    return ok;
}

static void test_b64(void **st)
{
    char out[64];
    /* RFC 4648 section 10 vectors, plus the two URL-safe characters. */
    assert_string_equal(b64(""), "");
    assert_string_equal(b64("f"), "Zg==");
    assert_string_equal(b64("fo"), "Zm8=");
    assert_string_equal(b64("foo"), "Zm9v");
    assert_string_equal(b64("foob"), "Zm9vYg==");
    assert_string_equal(b64("fooba"), "Zm9vYmE=");
    assert_string_equal(b64("foobar"), "Zm9vYmFy");
    assert_string_equal(b64("\xfb\xff"), "-_8=");
    assert_true(unb64("Zm9vYmE=", out));
    assert_string_equal(out, "fooba");
    assert_true(unb64("-_8=", out));
    assert_string_equal(out, "\xfb\xff");
    assert_false(unb64("Zm9vYmE", out));      /* unpadded */
    assert_false(unb64("Zm9v+mE=", out));     /* standard alphabet */
    assert_false(unb64("Zm=vYmE=", out));     /* padding inside */
    assert_false(unb64("Zm9vYmF=", out));     /* non-canonical trailing bits */
    assert_false(unb64("Zm9v\nYmE", out));
    assert_false(unb64("====", out));
}

/* ---- AES-CTR ---- */

static void test_ctr_nist(void **st)
{
    /* NIST SP 800-38A, F.5.5 CTR-AES256.Encrypt */
    unsigned char key[32], iv[16], pt[64], ct[64];
    char line[200];
    ml_keyring_t *kr;

    ml_test_unhex("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", key, 32);
    ml_test_unhex("f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff", iv, 16);
    ml_test_unhex("6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e51"
                  "30c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710", pt, 64);
    ml_test_unhex("601ec313775789a5b7a7f504bbf3d228f443e3ca4d62b59aca84e990cacaf5c5"
                  "2b0930daa23de94ce87017ba2d84988ddfc9c58db67aada613c2dd08457941a6", ct, 64);
    snprintf(line, sizeof(line), "nist %064d 603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4", 0);
    kr = ring(line);
    assert_true(ml_ctr_xor(scratch, &kr->keys[0], iv, pt, 64));
    assert_memory_equal(pt, ct, 64);
    /* Decryption is the same operation. */
    assert_true(ml_ctr_xor(scratch, &kr->keys[0], iv, pt, 64));
    ml_test_unhex("6bc1bee22e409f96e93d7e117393172a", ct, 16);
    assert_memory_equal(pt, ct, 16);
    (void)key;
}

/* Against OpenSSL's own CTR mode for odd lengths and a counter that wraps. */
static void test_ctr_matches_openssl(void **st)
{
    static const char *const ivs[] = { "00000000000000000000000000000000",
                                       "fffffffffffffffffffffffffffffffe",
                                       "0000000000000000fffffffffffffffd" };
    unsigned char key[32], iv[16], buf[300], ref[300];
    ml_keyring_t *kr = ring(KEY_A);
    size_t k, n;

    ml_test_unhex("202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f", key, 32);
    for (k = 0; k < 3; k++) {
        ml_test_unhex(ivs[k], iv, 16);
        for (n = 1; n < sizeof(buf); n += 37) {
            EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
            int outl = 0;
            memset(buf, 0x5a, n);
            assert_int_equal(EVP_EncryptInit_ex(ctx, EVP_aes_256_ctr(), NULL, key, iv), 1);
            assert_int_equal(EVP_EncryptUpdate(ctx, ref, &outl, buf, (int)n), 1);
            EVP_CIPHER_CTX_free(ctx);
            assert_true(ml_ctr_xor(scratch, &kr->keys[0], iv, buf, n));
            assert_memory_equal(buf, ref, n);
        }
    }
}

/* ---- claims JSON ---- */

static const char *to_json(const ml_claims_t *c, apr_status_t *rv)
{
    ml_buf_t b;
    char *r;
    ml_buf_init(&b);
    *rv = ml_claims_to_json(c, &b);
    r = apr_pstrdup(pool, b.data ? b.data : "");
    ml_buf_free(&b);
    return r;
}

static void test_claims_json_write(void **st)
{
    ml_claims_t c;
    apr_status_t rv;

    ml_claims_clear(&c);
    assert_string_equal(to_json(&c, &rv), "{}\n");
    ml_claims_set(&c, "z", "1");
    ml_claims_set(&c, "a", "q\"b\\s/<>&\n\r\t\x01\x08\x0c\x7f");
    ml_claims_set(&c, "m", "\xc3\xa9\xe2\x80\xa8\xe2\x80\xa9\xf0\x9f\x98\x80");
    /* Byte for byte what Go 1.19's encoding/json writes for this map. */
    assert_string_equal(to_json(&c, &rv),
        "{\"a\":\"q\\\"b\\\\s/\\u003c\\u003e\\u0026\\n\\r\\t\\u0001\\u0008\\u000c\x7f\","
        "\"m\":\"\xc3\xa9\\u2028\\u2029\xf0\x9f\x98\x80\",\"z\":\"1\"}\n");
    assert_int_equal(rv, APR_SUCCESS);
    ml_claims_set(&c, "z", "replaced");
    assert_int_equal(c.n, 3);
    assert_string_equal(ml_claims_get(&c, "z"), "replaced");
    assert_null(ml_claims_get(&c, "nope"));

    ml_claims_set(&c, "bad", "\xc3(");               /* truncated sequence */
    to_json(&c, &rv);
    assert_int_equal(rv, APR_EINVAL);
    ml_claims_set(&c, "bad", "\xed\xa0\x80");        /* surrogate */
    to_json(&c, &rv);
    assert_int_equal(rv, APR_EINVAL);
    ml_claims_set(&c, "bad", "\xc0\xaf");            /* overlong */
    to_json(&c, &rv);
    assert_int_equal(rv, APR_EINVAL);
}

static apr_status_t from_json(const char *j, ml_claims_t *c)
{
    const char *why = NULL;
    apr_status_t rv = ml_claims_from_json(c, j, strlen(j), pool, &why);
    if (rv != APR_SUCCESS)
        assert_non_null(why);
    return rv;
}

static void test_claims_json_read(void **st)
{
    ml_claims_t c;

    assert_int_equal(from_json("{\"email\":\"a@b\",\"x\":\"\\u00e9\\u003c\"}\n", &c), APR_SUCCESS);
    assert_int_equal(c.n, 2);
    assert_string_equal(ml_claims_get(&c, "email"), "a@b");
    assert_string_equal(ml_claims_get(&c, "x"), "\xc3\xa9<");
    assert_int_not_equal(from_json("[\"a\"]", &c), APR_SUCCESS);
    assert_int_not_equal(from_json("{\"a\":1}", &c), APR_SUCCESS);
    assert_int_not_equal(from_json("{\"a\":null}", &c), APR_SUCCESS);
    assert_int_not_equal(from_json("{\"a\":{\"b\":\"c\"}}", &c), APR_SUCCESS);
    assert_int_not_equal(from_json("{\"a\":\"1\",\"a\":\"2\"}", &c), APR_SUCCESS);
    assert_int_not_equal(from_json("{\"a\":\"\\u0000\"}", &c), APR_SUCCESS);
    assert_int_not_equal(from_json("{\"a\":\"\xff\"}", &c), APR_SUCCESS);
    assert_int_not_equal(from_json("{\"a\":\"1\"} x", &c), APR_SUCCESS);
    assert_int_not_equal(from_json("", &c), APR_SUCCESS);
}

/* ---- key ring ---- */

static void test_keyring_parse(void **st)
{
    ml_keyring_t *kr = ring("# rotation: new key first\n\n" KEY_B "  " KEY_A);
    const char *e;

    assert_int_equal(kr->nkeys, 2);
    assert_string_equal(kr->keys[0].id, "b");
    assert_string_equal(kr->keys[1].id, "a");
    assert_int_equal(kr->keys[1].hash_key[31], 0x1f);
    assert_int_not_equal(kr->keys[0].serial, kr->keys[1].serial);

    e = ring_err("# only comments\n");
    assert_non_null(strstr(e, "no keys"));
    e = ring_err(KEY_A "a 00 11\n");
    assert_non_null(strstr(e, "line 2"));
    e = ring_err(KEY_A "c 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g "
                 "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f\n");
    assert_non_null(strstr(e, "line 2"));
    assert_non_null(strstr(e, "64 hexadecimal"));
    assert_null(strstr(e, "0001020304"));            /* never echo key material */
    e = ring_err(KEY_A KEY_A);
    assert_non_null(strstr(e, "used twice"));
    e = ring_err("bad/id 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f "
                 "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f\n");
    assert_non_null(strstr(e, "line 1"));
    e = ring_err(KEY_A "x 00 11 22 33\n");
    assert_non_null(strstr(e, "line 2"));
}

static void test_keyring_too_many(void **st)
{
    char text[ML_KEYRING_MAX * 200 + 200], *o = text;
    int i;

    for (i = 0; i <= ML_KEYRING_MAX; i++)
        o += sprintf(o, "k%d %064d %064d\n", i, i, i);
    assert_non_null(strstr(ring_err(text), "more than"));
}

static void test_keyring_file(void **st)
{
    char path[] = "/tmp/ml_test_keysXXXXXX", err[256];
    ml_keyring_t *kr = NULL;
    int fd = mkstemp(path);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, KEY_A, strlen(KEY_A)), (ssize_t)strlen(KEY_A));
    close(fd);
    chmod(path, 0600);
    assert_int_equal(ml_keyring_load(&kr, crypto, path, pool, err, sizeof(err)), APR_SUCCESS);
    assert_int_equal(kr->nkeys, 1);
    chmod(path, 0640);
    assert_int_not_equal(ml_keyring_load(&kr, crypto, path, pool, err, sizeof(err)), APR_SUCCESS);
    assert_non_null(strstr(err, "chmod 600"));
    chmod(path, 0604);
    assert_int_not_equal(ml_keyring_load(&kr, crypto, path, pool, err, sizeof(err)), APR_SUCCESS);
    unlink(path);
    assert_int_not_equal(ml_keyring_load(&kr, crypto, path, pool, err, sizeof(err)), APR_SUCCESS);
    assert_non_null(strstr(err, path));
    assert_int_not_equal(ml_keyring_load(&kr, crypto, "/tmp", pool, err, sizeof(err)), APR_SUCCESS);
    assert_non_null(strstr(err, "not a regular file"));
}

static void test_keygen(void **st)
{
    char line[ML_KEYLINE_MAX], line2[ML_KEYLINE_MAX];
    ml_keyring_t *kr;

    assert_int_equal(ml_keyring_keygen("k-1", line, sizeof(line)), APR_SUCCESS);
    assert_int_equal(ml_keyring_keygen("k-1", line2, sizeof(line2)), APR_SUCCESS);
    assert_string_not_equal(line, line2);
    assert_int_equal(strlen(line), 3 + 1 + 64 + 1 + 64 + 1);
    kr = ring(line);
    assert_string_equal(kr->keys[0].id, "k-1");
    assert_int_not_equal(ml_keyring_keygen("bad id", line, sizeof(line)), APR_SUCCESS);
}

/* ---- seal / open ---- */

static void test_roundtrip(void **st)
{
    ml_keyring_t *kr = ring(KEY_A);
    ml_claims_t c = seed_claims(), out;
    const char *v = seal(kr, "magic", &c, NOW);
    apr_int64_t ts = 0;
    int ki = -1;
    ml_open_opts_t o = { .now = NOW + 5, .max_age = 60 };

    assert_int_equal(ml_open(scratch, kr, "magic", v, strlen(v), &o, pool, &out, &ts, &ki),
                     ML_CODEC_OK);
    assert_int_equal(ts, NOW);
    assert_int_equal(ki, 0);
    assert_int_equal(out.n, 2);
    assert_string_equal(ml_claims_get(&out, "email"), "user@example.com");
    assert_string_equal(ml_claims_get(&out, "csrf"), "q5iJ3K0t4dJ2o2bJXxWk3w");
    /* Fresh IV each time: same claims never seal to the same value. */
    assert_string_not_equal(v, seal(kr, "magic", &c, NOW));
}

static void test_fixed_iv_is_deterministic(void **st)
{
    ml_keyring_t *kr = ring(KEY_A);
    ml_claims_t c = seed_claims();
    unsigned char iv[16] = { 1, 2, 3 };
    ml_seal_opts_t o = { .now = NOW, .iv = iv };
    const char *a, *b;
    apr_size_t n;

    assert_int_equal(ml_seal(scratch, kr, "magic", &c, &o, &a, &n), ML_CODEC_OK);
    a = apr_pstrdup(pool, a);
    assert_int_equal(ml_seal(scratch, kr, "magic", &c, &o, &b, &n), ML_CODEC_OK);
    assert_string_equal(a, b);
}

static void test_rotation(void **st)
{
    ml_keyring_t *old = ring(KEY_A), *rotated = ring(KEY_B KEY_A), *other = ring(KEY_B);
    ml_claims_t c = seed_claims();
    const char *by_old = seal(old, "s", &c, NOW), *by_new = seal(rotated, "s", &c, NOW);
    ml_open_opts_t o = { .now = NOW };
    ml_claims_t out;
    int ki = -1;

    assert_int_equal(ml_open(scratch, rotated, "s", by_old, strlen(by_old), &o, pool, &out,
                             NULL, &ki), ML_CODEC_OK);
    assert_int_equal(ki, 1);
    assert_int_equal(ml_open(scratch, rotated, "s", by_new, strlen(by_new), &o, pool, &out,
                             NULL, &ki), ML_CODEC_OK);
    assert_int_equal(ki, 0);
    assert_int_equal(open_at(old, "s", by_new, NOW, 0, NULL), ML_CODEC_MAC);
    assert_int_equal(open_at(other, "s", by_old, NOW, 0, NULL), ML_CODEC_MAC);
}

/* Builds "ts|inner|mac" with a correct MAC over arbitrary parts, so the
 * checks after the MAC can be reached with bad content. */
static const char *forge(const char *name, const char *ts, const char *inner_b64)
{
    static const char hk_hex[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    unsigned char hk[32], mac[32];
    unsigned int maclen = 0;
    char *msg = apr_psprintf(pool, "%s|%s|%s", name, ts, inner_b64);
    char *body = msg + strlen(name) + 1;
    ml_buf_t raw, enc;
    char *r;

    ml_test_unhex(hk_hex, hk, 32);
    HMAC(EVP_sha256(), hk, 32, (unsigned char *)msg, strlen(msg), mac, &maclen);
    ml_buf_init(&raw);
    ml_buf_puts(&raw, body);
    ml_buf_putc(&raw, '|');
    ml_buf_append(&raw, mac, 32);
    ml_buf_init(&enc);
    ml_b64_encode(&enc, (unsigned char *)raw.data, raw.len);   /* the MAC may hold NULs */
    r = apr_pstrdup(pool, enc.data);
    ml_buf_free(&raw);
    ml_buf_free(&enc);
    return r;
}

static const char *encrypt_b64(const ml_keyring_t *kr, const char *plain)
{
    unsigned char buf[256] = { 9, 9, 9 };
    size_t n = strlen(plain);
    ml_buf_t b;
    char *r;

    memcpy(buf + 16, plain, n);
    assert_true(ml_ctr_xor(scratch, &kr->keys[0], buf, buf + 16, n));
    ml_buf_init(&b);
    ml_b64_encode(&b, buf, 16 + n);
    r = apr_pstrdup(pool, b.data);
    ml_buf_free(&b);
    return r;
}

static void test_open_failures(void **st)
{
    ml_keyring_t *kr = ring(KEY_A);
    ml_claims_t c = seed_claims();
    const char *v = seal(kr, "magic", &c, NOW);
    char *t = apr_pstrdup(pool, v);
    char big[ML_CODEC_MAX_LEN + 8];
    ml_open_opts_t o = { .now = NOW, .max_len = 64 };
    ml_claims_t out;

    memset(big, 'A', sizeof(big) - 4);
    memcpy(big + sizeof(big) - 4, "AAA", 4);
    assert_int_equal(open_at(kr, "magic", big, NOW, 0, NULL), ML_CODEC_TOO_LONG);
    assert_int_equal(ml_open(scratch, kr, "magic", v, strlen(v), &o, pool, &out, NULL, NULL),
                     ML_CODEC_TOO_LONG);
    assert_int_equal(open_at(kr, "magic", "not base64!", NOW, 0, NULL), ML_CODEC_BASE64);
    assert_int_equal(open_at(kr, "magic", b64("no bars at all"), NOW, 0, NULL), ML_CODEC_FORMAT);
    assert_int_equal(open_at(kr, "magic", b64("1|only one bar"), NOW, 0, NULL), ML_CODEC_FORMAT);
    assert_int_equal(open_at(kr, "magic", b64("1|x|short mac"), NOW, 0, NULL), ML_CODEC_MAC);
    assert_int_equal(open_at(kr, "other", v, NOW, 0, NULL), ML_CODEC_MAC);
    t[10] = t[10] == 'A' ? 'B' : 'A';                         /* tampered timestamp part */
    assert_int_equal(open_at(kr, "magic", t, NOW, 0, NULL), ML_CODEC_MAC);
    t = apr_pstrdup(pool, v);
    t[strlen(t) - 10] = t[strlen(t) - 10] == 'A' ? 'B' : 'A'; /* tampered MAC */
    assert_int_equal(open_at(kr, "magic", t, NOW, 0, NULL), ML_CODEC_MAC);

    assert_int_equal(open_at(kr, "magic", forge("magic", "-5", encrypt_b64(kr, "{}")), NOW, 0,
                             NULL), ML_CODEC_TIMESTAMP);
    assert_int_equal(open_at(kr, "magic", forge("magic", "17e8", encrypt_b64(kr, "{}")), NOW, 0,
                             NULL), ML_CODEC_TIMESTAMP);
    assert_int_equal(open_at(kr, "magic", v, NOW - ML_CODEC_FUTURE_SKEW - 1, 0, NULL),
                     ML_CODEC_TIMESTAMP);
    assert_int_equal(open_at(kr, "magic", v, NOW + 61, 60, NULL), ML_CODEC_EXPIRED);
    assert_int_equal(open_at(kr, "magic", v, NOW + 60, 60, NULL), ML_CODEC_OK);
    assert_int_equal(open_at(kr, "magic", forge("magic", "1700000000", "!!!!"), NOW, 0, NULL),
                     ML_CODEC_BASE64);
    assert_int_equal(open_at(kr, "magic", forge("magic", "1700000000", b64("0123456789abcdef")),
                             NOW, 0, NULL), ML_CODEC_DECRYPT);
    assert_int_equal(open_at(kr, "magic", forge("magic", "1700000000",
                                                encrypt_b64(kr, "{\"a\":1}")), NOW, 0, NULL),
                     ML_CODEC_JSON);
    assert_int_equal(open_at(kr, "magic", forge("magic", "1700000000",
                                                encrypt_b64(kr, "{\"a\":\"1\"}")), NOW, 0, &out),
                     ML_CODEC_OK);
    assert_string_equal(ml_claims_get(&out, "a"), "1");
}

static void test_seal_limits(void **st)
{
    ml_keyring_t *kr = ring(KEY_A);
    ml_claims_t c = seed_claims();
    ml_seal_opts_t o = { .now = NOW, .max_len = 100 };
    char *long_val = apr_palloc(pool, 5000);
    const char *out;
    apr_size_t n;

    assert_int_equal(ml_seal(scratch, kr, "magic", &c, &o, &out, &n), ML_CODEC_TOO_LONG);
    memset(long_val, 'x', 4999);
    long_val[4999] = '\0';
    ml_claims_set(&c, "big", long_val);
    o.max_len = 0;
    assert_int_equal(ml_seal(scratch, kr, "magic", &c, &o, &out, &n), ML_CODEC_TOO_LONG);
    ml_claims_set(&c, "big", "\xff");
    assert_int_equal(ml_seal(scratch, kr, "magic", &c, &o, &out, &n), ML_CODEC_ENCODING);
    assert_string_equal(ml_codec_strerror(ML_CODEC_EXPIRED), "expired");
}

/* ---- threads: shared ring and crypto, a scratch each ---- */

#define THREADS 8
#define ROUNDS 2000

typedef struct { const ml_keyring_t *kr; int failures; int id; } thread_arg_t;

static void *seal_open_loop(void *data)
{
    thread_arg_t *a = data;
    apr_pool_t *p;
    ml_scratch_t *s;
    int i;

    apr_pool_create_unmanaged(&p);
    ml_scratch_create(&s, p);
    for (i = 0; i < ROUNDS; i++) {
        ml_claims_t c, out;
        ml_seal_opts_t so = { .now = NOW };
        ml_open_opts_t oo = { .now = NOW, .max_age = 10 };
        char email[64];
        const char *v;
        apr_size_t n;

        ml_claims_clear(&c);
        snprintf(email, sizeof(email), "t%d-%d@example.com", a->id, i);
        ml_claims_set(&c, "email", email);
        if (ml_seal(s, a->kr, "magic", &c, &so, &v, &n) != ML_CODEC_OK
            || ml_open(s, a->kr, "magic", v, n, &oo, p, &out, NULL, NULL) != ML_CODEC_OK
            || strcmp(ml_claims_get(&out, "email") ? ml_claims_get(&out, "email") : "", email))
            a->failures++;
        if (i % 100 == 0)
            apr_pool_clear(p), ml_scratch_create(&s, p);
    }
    apr_pool_destroy(p);
    return NULL;
}

static void test_threads(void **st)
{
    ml_keyring_t *kr = ring(KEY_B KEY_A);
    pthread_t th[THREADS];
    thread_arg_t args[THREADS];
    int i;

    for (i = 0; i < THREADS; i++) {
        args[i] = (thread_arg_t){ kr, 0, i };
        assert_int_equal(pthread_create(&th[i], NULL, seal_open_loop, &args[i]), 0);
    }
    for (i = 0; i < THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
}

static int setup(void **st)
{
    const char *err;
    apr_initialize();
    apr_pool_create(&pool, NULL);
    if (ml_crypto_create(&crypto, pool, &err) != APR_SUCCESS) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    return ml_scratch_create(&scratch, pool) == APR_SUCCESS ? 0 : -1;
}

static int teardown(void **st)
{
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_b64),
        cmocka_unit_test(test_ctr_nist),
        cmocka_unit_test(test_ctr_matches_openssl),
        cmocka_unit_test(test_claims_json_write),
        cmocka_unit_test(test_claims_json_read),
        cmocka_unit_test(test_keyring_parse),
        cmocka_unit_test(test_keyring_too_many),
        cmocka_unit_test(test_keyring_file),
        cmocka_unit_test(test_keygen),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_fixed_iv_is_deterministic),
        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_open_failures),
        cmocka_unit_test(test_seal_limits),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests_name("codec", tests, setup, teardown);
}
