/* Unit tests of the flow's core pieces: return paths and link/pending
 * tokens with their codes (the allow policy: test_policy.c; bindings and
 * sessions: test_session.c). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ml_test.h"
#include "ml_link.h"
#include "ml_device.h"
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

static void test_link_issue_token(void **st)
{
    ml_issued_t is;
    ml_link_t l, pl;
    char bad[ML_LINK_TOKEN_LEN + 1];

    assert_int_equal(ml_link_issue(kr, NOW, 900, "a@example.com", "NONCE", "/x", "de", "Firefox|Linux", pool,
                                   &is), ML_CODEC_OK);
    assert_int_equal(strlen(is.code), ML_CODE_DIGITS);
    /* Short: an id and a MAC, base64url. */
    assert_int_equal(strlen(is.token), ML_LINK_TOKEN_LEN);
    assert_int_equal(strspn(is.token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                      "0123456789-_"), ML_LINK_TOKEN_LEN);
    assert_int_equal(ml_link_token(kr, ML_TOKEN_LINK, is.token, &l), ML_CODEC_OK);
    assert_string_equal(l.id, is.link.id);
    assert_memory_equal(l.key.b, is.link.key.b, ML_STORE_KEY_LEN);
    /* A pending value is not a link, nor the other way round. */
    assert_int_equal(ml_link_token(kr, ML_TOKEN_LINK, is.pending, &l), ML_CODEC_MAC);
    assert_int_equal(ml_link_token(kr, ML_TOKEN_PENDING, is.token, &l), ML_CODEC_MAC);
    assert_int_equal(ml_link_token(kr, ML_TOKEN_PENDING, is.pending, &pl), ML_CODEC_OK);
    assert_string_equal(pl.id, is.link.id);
    /* Any changed character, a cut or a longer token: refused before any store. */
    memcpy(bad, is.token, sizeof(bad));
    bad[3] = bad[3] == 'A' ? 'B' : 'A';
    assert_int_equal(ml_link_token(kr, ML_TOKEN_LINK, bad, &l), ML_CODEC_MAC);
    assert_int_equal(ml_link_token(kr, ML_TOKEN_LINK, apr_pstrndup(pool, is.token, 30), &l),
                     ML_CODEC_FORMAT);
    assert_int_equal(ml_link_token(kr, ML_TOKEN_LINK, apr_pstrcat(pool, is.token, "A", NULL),
                                   &l), ML_CODEC_FORMAT);
    assert_int_equal(ml_link_token(kr, ML_TOKEN_LINK, "", &l), ML_CODEC_FORMAT);
}

static void test_link_record(void **st)
{
    ml_issued_t is;
    ml_link_t l;
    char *rec;

    assert_int_equal(ml_link_issue(kr, NOW, 900, "a@example.com", "NONCE", "/x?y=1", "de", "Firefox|Linux", pool,
                                   &is), ML_CODEC_OK);
    assert_int_equal(ml_link_token(kr, ML_TOKEN_LINK, is.token, &l), ML_CODEC_OK);
    rec = apr_pstrmemdup(pool, is.rec, is.rec_len);
    assert_int_equal(ml_link_parse_record(rec, is.rec_len, &l), ML_CODEC_OK);
    assert_string_equal(l.email, "a@example.com");
    assert_string_equal(l.nonce, "NONCE");
    assert_string_equal(l.ret, "/x?y=1");
    assert_string_equal(l.lang, "de");
    assert_int_equal(l.iat, NOW);
    assert_int_equal(l.exp, NOW + 900);
    assert_int_equal(l.state, ML_LINK_OPEN);
    assert_string_equal(l.device, "Firefox|Linux");
    assert_int_equal(strlen(l.match), ML_MATCH_DIGITS);
    assert_true(l.match[0] >= '0' && l.match[0] <= '9' && l.match[1] >= '0' && l.match[1] <= '9');
    /* No address, code or token in the clear but the address itself. */
    assert_null(strstr(is.rec, is.code));
    assert_null(strstr(is.rec, is.link.id));
    assert_true(ml_link_code_matches(kr, &l, is.code));
    assert_false(ml_link_code_matches(kr, &l, "12345"));
    assert_false(ml_link_code_matches(kr, &l, "1234567"));
    /* Values that would break the record are refused when it is made. */
    l.email = "a@example.com\nn=x";
    assert_null(ml_link_record(&l, pool, &is.rec_len));
    /* Foreign or broken records do not parse. */
    rec = apr_pstrdup(pool, "ml1\ns=o\ne=a@example.com\n");
    assert_int_equal(ml_link_parse_record(rec, strlen(rec), &l), ML_CODEC_JSON);
    rec = apr_pstrdup(pool, "xx1\n");
    assert_int_equal(ml_link_parse_record(rec, strlen(rec), &l), ML_CODEC_JSON);
    rec = apr_pstrdup(pool, "ml1\ns=o\ne=a\nn=b\nr=/\nc=h\ni=zz\nx=1\n");
    assert_int_equal(ml_link_parse_record(rec, strlen(rec), &l), ML_CODEC_JSON);
}

/* The number to match: two digits, typed forgivingly, compared exactly; the
 * approval states survive the record. */
static void test_link_match(void **st)
{
    ml_issued_t is;
    ml_link_t l;
    char *rec;
    apr_size_t len;
    const char *out;
    int i, seen[100] = { 0 }, kinds = 0;

    for (i = 0; i < 400; i++) {
        assert_int_equal(ml_link_issue(kr, NOW, 900, "a@example.com", "N", "/", NULL, NULL,
                                       pool, &is), ML_CODEC_OK);
        seen[atoi(is.link.match)]++;
    }
    for (i = 0; i < 100; i++)
        kinds += seen[i] > 0;
    assert_true(kinds > 50);        /* spread over 00..99, not a handful */
    l = is.link;
    l.match = "07";
    assert_true(ml_link_match_ok(&l, "07"));
    assert_true(ml_link_match_ok(&l, "7"));
    assert_true(ml_link_match_ok(&l, " 0 7 "));
    assert_false(ml_link_match_ok(&l, "70"));
    assert_false(ml_link_match_ok(&l, "007"));
    assert_false(ml_link_match_ok(&l, ""));
    assert_false(ml_link_match_ok(&l, "0x"));
    assert_false(ml_link_match_ok(&l, NULL));
    l.match = "";                   /* a record made before numbers: never */
    assert_false(ml_link_match_ok(&l, "00"));
    assert_false(ml_link_match_ok(&l, ""));
    l.match = "42";
    l.state = ML_LINK_APPROVED;
    out = ml_link_record(&l, pool, &len);
    rec = apr_pstrmemdup(pool, out, len);
    assert_int_equal(ml_link_parse_record(rec, len, &l), ML_CODEC_OK);
    assert_int_equal(l.state, ML_LINK_APPROVED);
    assert_string_equal(l.match, "42");
    l.state = ML_LINK_REFUSED;
    out = ml_link_record(&l, pool, &len);
    rec = apr_pstrmemdup(pool, out, len);
    assert_int_equal(ml_link_parse_record(rec, len, &l), ML_CODEC_OK);
    assert_int_equal(l.state, ML_LINK_REFUSED);
    /* An older record (no m, no u) still parses, with neither. */
    rec = apr_pstrdup(pool, "ml1\ns=o\ne=a\nn=b\nr=/\nc=h\ni=1\nx=2\n");
    assert_int_equal(ml_link_parse_record(rec, strlen(rec), &l), ML_CODEC_OK);
    assert_string_equal(l.match, "");
    assert_string_equal(l.device, "");
    /* An unknown state does not parse. */
    rec = apr_pstrdup(pool, "ml1\ns=q\ne=a\nn=b\nr=/\nc=h\ni=1\nx=2\n");
    assert_int_equal(ml_link_parse_record(rec, strlen(rec), &l), ML_CODEC_JSON);
    /* A description longer than a record may carry is left out. */
    assert_int_equal(ml_link_issue(kr, NOW, 900, "a@example.com", "N", "/", NULL,
                                   apr_pstrcat(pool, "Firefox|", apr_psprintf(pool, "%080d", 0),
                                               NULL), pool, &is), ML_CODEC_OK);
    assert_string_equal(is.link.device, "");
}

/* The asking browser's description: names from the lists only. */
static void test_device(void **st)
{
    static const struct { const char *ua, *want; } cases[] = {
        { "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
          "Firefox|Linux" },
        { "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Edge|Windows" },
        { "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", "Safari|iOS" },
        { "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome|Android" },
        { "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like "
          "Gecko) Version/17.5 Safari/605.1.15", "Safari|macOS" },
        { "curl/8.5.0", NULL },
        { "python-requests/2.31", NULL },
        { "<script>Firefox/1 Linux", "Firefox|Linux" },
        { "", NULL },
    };
    const char *b, *o;
    apr_size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *got = ml_device_describe(cases[i].ua, pool);
        if (cases[i].want)
            assert_string_equal(got, cases[i].want);
        else
            assert_null(got);
    }
    assert_null(ml_device_describe(NULL, pool));
    assert_null(ml_device_describe(apr_psprintf(pool, "Firefox/1 Linux %02000d", 0), pool));
    assert_true(ml_device_split("Firefox|Linux", pool, &b, &o));
    assert_string_equal(b, "Firefox");
    assert_string_equal(o, "Linux");
    /* A stored value that is not one of ours is not shown. */
    assert_false(ml_device_split("<b>|Linux", pool, &b, &o));
    assert_false(ml_device_split("Firefox", pool, &b, &o));
    assert_false(ml_device_split("", pool, &b, &o));
    assert_false(ml_device_split(NULL, pool, &b, &o));
}

static void test_link_codes_vary(void **st)
{
    ml_issued_t a, b;
    int i, same = 0;

    for (i = 0; i < 20; i++) {
        ml_link_issue(kr, NOW, 900, "a@example.com", "N", "/", NULL, NULL, pool, &a);
        ml_link_issue(kr, NOW, 900, "a@example.com", "N", "/", NULL, NULL, pool, &b);
        same += !strcmp(a.code, b.code);
        assert_string_not_equal(a.link.id, b.link.id);
    }
    assert_true(same < 3);
}

static void test_code_clean(void **st)
{
    char c[ML_CODE_DIGITS + 1];

    assert_true(ml_link_code_clean("341383", c));
    assert_string_equal(c, "341383");
    assert_true(ml_link_code_clean(" 341 383 ", c));
    assert_string_equal(c, "341383");
    assert_true(ml_link_code_clean("341-383", c));
    assert_string_equal(c, "341383");
    assert_false(ml_link_code_clean("34138", c));
    assert_false(ml_link_code_clean("3413833", c));
    assert_false(ml_link_code_clean("34138x", c));
    assert_false(ml_link_code_clean("", c));
    assert_false(ml_link_code_clean(NULL, c));
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
        cmocka_unit_test(test_link_issue_token),
        cmocka_unit_test(test_link_record),
        cmocka_unit_test(test_link_match),
        cmocka_unit_test(test_device),
        cmocka_unit_test(test_link_codes_vary),
        cmocka_unit_test(test_code_clean),
    };
    return cmocka_run_group_tests_name("flow", tests, setup, teardown);
}
