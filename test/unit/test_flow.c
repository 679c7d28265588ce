/* Unit tests of the flow's core pieces: return paths and link/pending
 * tokens with their codes (the allow policy: test_policy.c; bindings and
 * sessions: test_session.c). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ml_test.h"
#include "ml_link.h"
#include "ml_return.h"

static apr_pool_t *pool;
static ml_crypto_t *crypto;
static ml_scratch_t *scratch;
static ml_keyring_t *kr;

#define KEY_A "a 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f " \
              "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f\n"
static const apr_int64_t NOW = 1700000000;

/* ---- return paths: known open-redirect shapes are all refused ---- */

static void test_return_refused(void **st)
{
    static const char *const bad[] = {
        "", "//evil.com", "///evil.com", "////evil.com", "/\\evil.com", "\\\\evil.com",
        "https://evil.com", "http:evil.com", "javascript:alert(1)", "evil.com", "./x",
        "/%2fevil.com", "/%2Fevil.com", "/%5cevil.com", "/%5Cevil.com", "%2f%2fevil.com",
        "/%252fevil.com", "/%25252fevil.com", "/%09/evil.com", "/\t/evil.com",
        "/%0d%0aSet-Cookie:x", "/a\r\nLocation: //evil", "/a\\b", "/%00", "/\x7f",
        "/%2525252f", " /x", "/%5C%5Cevil.com", "/.%2f/evil.com", "/a/../../evil",
        "/./x", "/a//b", "/%2e%2e/x", "/%252e%252e/x",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (ml_return_valid(bad[i]))
            fail_msg("accepted return path: \"%s\"", bad[i]);
    }
    assert_false(ml_return_valid(NULL));
    {
        char big[ML_RETURN_MAX + 10];
        memset(big, 'a', sizeof(big));
        big[0] = '/';
        big[sizeof(big) - 1] = '\0';
        assert_false(ml_return_valid(big));
    }
}

static void test_return_accepted(void **st)
{
    static const char *const good[] = {
        "/", "/private/", "/app?x=1&y=%2F", "/a/b.c#frag", "/files/a%2Fb", "/@user",
        "/search?q=//not-a-host", "/%E2%9C%93",
    };
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (!ml_return_valid(good[i]))
            fail_msg("refused return path: \"%s\"", good[i]);
    }
    assert_string_equal(ml_return_or("//evil", "/"), "/");
    assert_string_equal(ml_return_or("/ok", "/"), "/ok");
}

/* ---- link and pending tokens ---- */

static void test_link_issue_open(void **st)
{
    ml_issued_t is;
    ml_link_t l, pl;

    assert_int_equal(ml_link_issue(scratch, kr, NOW, 900, "a@example.com", "NONCE", "/x", pool,
                                   &is), ML_CODEC_OK);
    assert_int_equal(strlen(is.code), ML_CODE_DIGITS);
    assert_int_equal(ml_link_open(scratch, kr, ML_NAME_LINK, is.token, NOW + 10, 900, pool, &l),
                     ML_CODEC_OK);
    assert_string_equal(l.email, "a@example.com");
    assert_string_equal(l.nonce, "NONCE");
    assert_string_equal(l.ret, "/x");
    assert_string_equal(l.id, is.link.id);
    assert_int_equal(l.exp, NOW + 900);
    assert_true(ml_link_code_matches(scratch, kr, &l, is.code));
    assert_false(ml_link_code_matches(scratch, kr, &l, "12345"));
    assert_false(ml_link_code_matches(scratch, kr, &l, "1234567"));
    /* A pending token is not a link, nor the other way round. */
    assert_int_equal(ml_link_open(scratch, kr, ML_NAME_LINK, is.pending, NOW, 900, pool, &l),
                     ML_CODEC_MAC);
    assert_int_equal(ml_link_open(scratch, kr, ML_NAME_PENDING, is.token, NOW, 900, pool, &l),
                     ML_CODEC_MAC);
    assert_int_equal(ml_link_open(scratch, kr, ML_NAME_PENDING, is.pending, NOW, 900, pool, &pl),
                     ML_CODEC_OK);
    assert_string_equal(pl.id, is.link.id);
    assert_int_equal(ml_link_open(scratch, kr, ML_NAME_LINK, is.token, NOW + 901, 900, pool, &l),
                     ML_CODEC_EXPIRED);
    /* Sealed longer ago than a (lowered) lifetime, though exp is later. */
    assert_int_equal(ml_link_open(scratch, kr, ML_NAME_LINK, is.token, NOW + 120, 60, pool, &l),
                     ML_CODEC_EXPIRED);
}

static void test_link_codes_vary(void **st)
{
    ml_issued_t a, b;
    int i, same = 0;

    for (i = 0; i < 20; i++) {
        ml_link_issue(scratch, kr, NOW, 900, "a@example.com", "N", "/", pool, &a);
        ml_link_issue(scratch, kr, NOW, 900, "a@example.com", "N", "/", pool, &b);
        same += !strcmp(a.code, b.code);
        assert_string_not_equal(a.link.id, b.link.id);
    }
    assert_true(same < 3);
}

static void test_link_missing_claims(void **st)
{
    ml_claims_t c;
    ml_seal_opts_t o = { .now = NOW };
    const char *v;
    apr_size_t n;
    ml_link_t l;

    ml_claims_clear(&c);
    ml_claims_set(&c, "email", "a@example.com");
    assert_int_equal(ml_seal(scratch, kr, ML_NAME_LINK, &c, &o, &v, &n), ML_CODEC_OK);
    assert_int_equal(ml_link_open(scratch, kr, ML_NAME_LINK, apr_pstrdup(pool, v), NOW, 900,
                                  pool, &l), ML_CODEC_JSON);
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
        cmocka_unit_test(test_return_refused),
        cmocka_unit_test(test_return_accepted),
        cmocka_unit_test(test_link_issue_open),
        cmocka_unit_test(test_link_codes_vary),
        cmocka_unit_test(test_link_missing_claims),
    };
    return cmocka_run_group_tests_name("flow", tests, setup, teardown);
}
