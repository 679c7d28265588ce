/* Bindings and sessions (ml_link.h): lifetimes, the realm, and the claim
 * checks that apply whoever sealed the value (ml_seal here plays a backend
 * that holds the keys and seals anything). */
#include <stdio.h>
#include <stdlib.h>

#include "ml_test.h"
#include "ml_link.h"

static apr_pool_t *pool;
static ml_crypto_t *crypto;
static ml_scratch_t *scratch;
static ml_keyring_t *kr;

#define KEY_A                                                                                      \
    "a 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f "                          \
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f\n"
#define REALM "https://www.example.com"
static const apr_int64_t NOW = 1700000000;

/* ---- browser cookies of one claim: bindings, known browsers ---- */

static const char *seal_one(ml_claim_cookie_t kind, const char *name, const char *value)
{
    const char *sealed = NULL;

    if (ml_claim_cookie_seal(kind, scratch, kr, name, value, NOW, pool, &sealed) != ML_CODEC_OK)
        return NULL;
    return sealed;
}

static const char *open_one(ml_claim_cookie_t kind, const char *name, const char *value,
                            apr_int64_t now)
{
    return ml_claim_cookie_open(kind, scratch, kr, name, value, now, 100, pool);
}

static void test_binding(void **st)
{
    const char *n = ml_nonce(pool), *sealed;

    assert_int_equal(strlen(n), ML_NONCE_LEN);
    assert_string_not_equal(n, ml_nonce(pool));
    assert_non_null(sealed = seal_one(ML_CLAIM_BIND, "c_bind", n));
    assert_string_equal(open_one(ML_CLAIM_BIND, "c_bind", sealed, NOW), n);
    assert_null(open_one(ML_CLAIM_BIND, "c", sealed, NOW));
    assert_null(open_one(ML_CLAIM_BIND, "c_bind", sealed, NOW + 101));
    assert_null(open_one(ML_CLAIM_BIND, "c_bind", NULL, NOW));
    assert_null(open_one(ML_CLAIM_BIND, "c_bind", "garbage", NOW));
    /* Nothing that is not a nonce is sealed as one. */
    assert_null(seal_one(ML_CLAIM_BIND, "c_bind", "short"));
}

static void test_known_browser(void **st)
{
    const char *d = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const char *sealed = seal_one(ML_CLAIM_KNOWN, "c_known", d);

    assert_non_null(sealed);
    assert_string_equal(open_one(ML_CLAIM_KNOWN, "c_known", sealed, NOW), d);
    assert_null(open_one(ML_CLAIM_KNOWN, "c_bind", sealed, NOW));        /* another name */
    assert_null(open_one(ML_CLAIM_BIND, "c_known", sealed, NOW));        /* another claim */
    assert_null(open_one(ML_CLAIM_KNOWN, "c_known", sealed, NOW + 101)); /* too old */
    /* Only 64 lowercase hex digits are a digest. */
    assert_null(seal_one(ML_CLAIM_KNOWN, "c_known", "0123"));
    assert_null(seal_one(ML_CLAIM_KNOWN, "c_known",
                         "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef"));
    assert_null(open_one(ML_CLAIM_KNOWN, "c_bind",
                         seal_one(ML_CLAIM_BIND, "c_bind", ml_nonce(pool)), NOW));
}

/* Seals claims as they are (JSON of strings) under name, at NOW. */
static const char *seal_raw(const char *name, const char *const *kv)
{
    ml_seal_opts_t o = {.now = NOW};
    ml_claims_t c;
    const char *v;
    apr_size_t n;

    ml_claims_clear(&c);
    for (; kv[0]; kv += 2)
        ml_claims_set(&c, kv[0], kv[1]);
    assert_int_equal(ml_seal(scratch, kr, name, &c, &o, &v, &n), ML_CODEC_OK);
    return apr_pstrmemdup(pool, v, n);
}

static void test_binding_claims(void **st)
{
    static const char *const extra[] = {"n", "AAAAAAAAAAAAAAAAAAAAAAAA", "x", "1", NULL};
    static const char *const bad_char[] = {"n", "AAAAAAAAAAAAAAAAAAAAAA\r\n", NULL};
    static const char *const long_n[] = {"n", "AAAAAAAAAAAAAAAAAAAAAAAAA", NULL};
    static const char *const good[] = {"n", "AAAAAAAAAAAAAAAAAAAA-_z9", NULL};

    assert_string_equal(open_one(ML_CLAIM_BIND, "b", seal_raw("b", good), NOW), good[1]);
    assert_null(open_one(ML_CLAIM_BIND, "b", seal_raw("b", extra), NOW));
    assert_null(open_one(ML_CLAIM_BIND, "b", seal_raw("b", bad_char), NOW));
    assert_null(open_one(ML_CLAIM_BIND, "b", seal_raw("b", long_n), NOW));
}

/* ---- sessions ---- */

static ml_codec_err_t open_at(const char *v, apr_int64_t now, ml_session_t *out)
{
    return ml_session_open(scratch, kr, "sess", v, now, 1000, 100, REALM, pool, out);
}

static void test_session(void **st)
{
    ml_session_t s = {"a@example.com", NOW, NOW, REALM, "abcdefghijklmnopqrstuvwx"}, out;
    const char *v;

    assert_int_equal(ml_session_seal(scratch, kr, "sess", &s, NOW, pool, &v), ML_CODEC_OK);
    assert_int_equal(open_at(v, NOW + 50, &out), ML_CODEC_OK);
    assert_string_equal(out.email, "a@example.com");
    assert_string_equal(out.sid, "abcdefghijklmnopqrstuvwx");
    assert_string_equal(out.aud, REALM);
    assert_int_equal(out.iat, NOW);
    /* Idle too long. */
    assert_int_equal(open_at(v, NOW + 101, &out), ML_CODEC_EXPIRED);
    /* Renewed (seen moved) but past the absolute lifetime since iat. */
    s.seen = NOW + 990;
    assert_int_equal(ml_session_seal(scratch, kr, "sess", &s, NOW + 990, pool, &v), ML_CODEC_OK);
    assert_int_equal(open_at(v, NOW + 995, &out), ML_CODEC_OK);
    assert_int_equal(open_at(v, NOW + 1001, &out), ML_CODEC_EXPIRED);
    assert_int_equal(
        ml_session_open(scratch, kr, "other", v, NOW + 995, 1000, 100, REALM, pool, &out),
        ML_CODEC_MAC);
}

static void test_session_realm(void **st)
{
    ml_session_t s = {"a@example.com", NOW, NOW, "shared-realm", NULL}, out;
    const char *v;

    assert_int_equal(ml_session_seal(scratch, kr, "sess", &s, NOW, pool, &v), ML_CODEC_OK);
    assert_int_equal(
        ml_session_open(scratch, kr, "sess", v, NOW, 1000, 100, "shared-realm", pool, &out),
        ML_CODEC_OK);
    assert_int_equal(open_at(v, NOW, &out), ML_CODEC_REALM);
    assert_int_equal(ml_session_open(scratch, kr, "sess", v, NOW, 1000, 100, NULL, pool, &out),
                     ML_CODEC_REALM);
    assert_int_equal(
        ml_session_open(scratch, kr, "sess", v, NOW, 1000, 100, "shared-realm2", pool, &out),
        ML_CODEC_REALM);
    assert_true(ml_realm_valid("https://a.example:8443"));
    assert_false(ml_realm_valid(""));
    assert_false(ml_realm_valid("two words"));
    assert_false(ml_realm_valid("tab\there"));
    assert_false(ml_realm_valid("caf\xc3\xa9"));
}

/* What ml_session_seal refuses to seal. */
static void test_session_seal_refuses(void **st)
{
    static const ml_session_t bad[] = {
        {"A@example.com", NOW, NOW, REALM, NULL},
        {"a@Example.com", NOW, NOW, REALM, NULL},
        {"a@example.com\r\n", NOW, NOW, REALM, NULL},
        {NULL, NOW, NOW, REALM, NULL},
        {"a@example.com", -1, NOW, REALM, NULL},
        {"a@example.com", NOW, (apr_int64_t)1 << 40, REALM, NULL},
        {"a@example.com", NOW, NOW, NULL, NULL},
        {"a@example.com", NOW, NOW, "", NULL},
        {"a@example.com", NOW, NOW, "a realm", NULL},
        {"a@example.com", NOW, NOW, REALM, "short"},
    };
    const char *v;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (ml_session_seal(scratch, kr, "sess", &bad[i], NOW, pool, &v) != ML_CODEC_CLAIM)
            fail_msg("sealed bad session %zu", i);
}

/* Hostile claims, sealed with the right key: each is no session. */
static void test_session_hostile_claims(void **st)
{
    char big[10 * 1024 + 16], t[32];
    ml_session_t out;
    size_t i;
    struct {
        const char *email, *iat, *seen, *aud, *extra;
    } cases[] = {
        {"a@example.com\r\nX-Evil: 1", "1700000000", "1700000000", REALM, NULL},
        {"a@example.com\n", "1700000000", "1700000000", REALM, NULL},
        {"A@Example.com", "1700000000", "1700000000", REALM, NULL},
        {"a@b\xc3\xbc"
         "cher.example",
         "1700000000", "1700000000", REALM, NULL},
        {"a%b@example.com", "1700000000", "1700000000", REALM, NULL},
        {big, "1700000000", "1700000000", REALM, NULL},
        {"", "1700000000", "1700000000", REALM, NULL},
        {"a@example.com", "99999999999999999999", "1700000000", REALM, NULL},
        {"a@example.com", "1099511627776", "1700000000", REALM, NULL}, /* 2^40 */
        {"a@example.com", "-5", "1700000000", REALM, NULL},
        {"a@example.com", "+1700000000", "1700000000", REALM, NULL},
        {"a@example.com", " 1700000000", "1700000000", REALM, NULL},
        {"a@example.com", "01700000000", "1700000000", REALM, NULL},
        {"a@example.com", "1700000000", "1700000301", REALM, NULL}, /* future > skew */
        {"a@example.com", "1700000000", "17e8", REALM, NULL},
        {"a@example.com", "1700000000", "", REALM, NULL},
        {"a@example.com", "1700000000", "1700000000", "https://other.example", NULL},
        {"a@example.com", "1700000000", "1700000000", REALM "\n", NULL},
        {"a@example.com", "1700000000", "1700000000", REALM, "role"},
        {"a@example.com", "1700000000", "1700000000", NULL, NULL},
        {"a@example.com", "1700000000", "1700000000", REALM, "sid"},   /* a sid too short */
    };

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big + sizeof(big) - 14, "@example.com", 12);
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *kv[12];
        const char *v;
        int k = 0;
        ml_codec_err_t e;

        kv[k++] = "email", kv[k++] = cases[i].email;
        kv[k++] = "iat", kv[k++] = cases[i].iat;
        kv[k++] = "seen", kv[k++] = cases[i].seen;
        if (cases[i].aud)
            kv[k++] = "aud", kv[k++] = cases[i].aud;
        if (cases[i].extra)
            kv[k++] = cases[i].extra, kv[k++] = "admin";
        kv[k] = NULL;
        /* The 10 KB email is over the codec's length limit: sealed longer. */
        {
            ml_seal_opts_t o = {.now = NOW, .max_len = 64 * 1024};
            ml_claims_t c;
            apr_size_t n;
            int j;

            ml_claims_clear(&c);
            for (j = 0; kv[j]; j += 2)
                ml_claims_set(&c, kv[j], kv[j + 1]);
            assert_int_equal(ml_seal(scratch, kr, "sess", &c, &o, &v, &n), ML_CODEC_OK);
            v = apr_pstrmemdup(pool, v, n);
        }
        e = open_at(v, NOW, &out);
        if (e == ML_CODEC_OK)
            fail_msg("hostile session %zu opened", i);
    }
    /* The control: the same shape with good values opens. */
    apr_snprintf(t, sizeof(t), "%" APR_INT64_T_FMT, NOW);
    {
        const char *kv[] = {"email", "a@example.com", "iat", t, "seen", t, "aud", REALM, NULL};
        const char *with_sid[] = {"email", "a@example.com", "iat", t,    "seen",
                                  t,       "aud",           REALM, "sid", "abcdefghijklmnopqrstuvwx",
                                  NULL};
        assert_int_equal(open_at(seal_raw("sess", kv), NOW, &out), ML_CODEC_OK);
        assert_int_equal(open_at(seal_raw("sess", with_sid), NOW, &out), ML_CODEC_OK);
    }
}

static int setup(void **st)
{
    const char *err;
    char ebuf[256];

    apr_initialize();
    apr_pool_create(&pool, NULL);
    if (ml_crypto_create(&crypto, pool, &err) != APR_SUCCESS)
        return -1;
    if (ml_keyring_parse(&kr, crypto, KEY_A, strlen(KEY_A), "t", pool, ebuf, sizeof(ebuf)))
        return -1;
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
        cmocka_unit_test(test_binding),
        cmocka_unit_test(test_known_browser),
        cmocka_unit_test(test_binding_claims),
        cmocka_unit_test(test_session),
        cmocka_unit_test(test_session_realm),
        cmocka_unit_test(test_session_seal_refuses),
        cmocka_unit_test(test_session_hostile_claims),
    };
    return cmocka_run_group_tests_name("session", tests, setup, teardown);
}
