/* Email addresses: normalization, refusals, punycode (RFC 3492 section 7.1
 * samples), the From spec. */
#include <stdio.h>
#include <stdlib.h>

#include "ml_test.h"

#include "ml_addr.h"
#include "ml_punycode.h"

static apr_pool_t *pool;

static int setup(void **state)
{
    apr_pool_create(&pool, NULL);
    return 0;
}

static int teardown(void **state)
{
    apr_pool_destroy(pool);
    return 0;
}

/* ---- punycode ---- */

typedef struct {
    const char *name;
    apr_uint32_t cp[24];
    apr_size_t n;
    const char *puny;
} puny_sample_t;

static const puny_sample_t samples[] = {
    {"A Arabic (Egyptian)",
     {0x0644, 0x064A, 0x0647, 0x0645, 0x0627, 0x0628, 0x062A, 0x0643, 0x0644, 0x0645, 0x0648,
      0x0634, 0x0639, 0x0631, 0x0628, 0x064A, 0x061F},
     17, "egbpdaj6bu4bxfgehfvwxn"},
    {"B Chinese (simplified)",
     {0x4ED6, 0x4EEC, 0x4E3A, 0x4EC0, 0x4E48, 0x4E0D, 0x8BF4, 0x4E2D, 0x6587},
     9, "ihqwcrb4cv8a8dqg056pqjye"},
    {"C Chinese (traditional)",
     {0x4ED6, 0x5011, 0x7232, 0x4EC0, 0x9EBD, 0x4E0D, 0x8AAA, 0x4E2D, 0x6587},
     9, "ihqwctvzc91f659drss3x8bo0yb"},
    {"D Czech",
     {0x50, 0x72, 0x6F, 0x10D, 0x70, 0x72, 0x6F, 0x73, 0x74, 0x11B, 0x6E, 0x65, 0x6D, 0x6C,
      0x75, 0x76, 0xED, 0x10D, 0x65, 0x73, 0x6B, 0x79},
     22, "Proprostnemluvesky-uyb24dma41a"},
    {"E Hebrew",
     {0x5DC, 0x5DE, 0x5D4, 0x5D4, 0x5DD, 0x5E4, 0x5E9, 0x5D5, 0x5D8, 0x5DC, 0x5D0,
      0x5DE, 0x5D3, 0x5D1, 0x5E8, 0x5D9, 0x5DD, 0x5E2, 0x5D1, 0x5E8, 0x5D9, 0x5EA},
     22, "4dbcagdahymbxekheh6e0a7fei0b"},
    {"L 3nen B gumi", {0x33, 0x5E74, 0x42, 0x7D44, 0x91D1, 0x516B, 0x5148, 0x751F}, 8,
     "3B-ww4c5e180e575a65lsy2b"},
    {"O hitotsu yane", {0x3072, 0x3068, 0x3064, 0x5C4B, 0x6839, 0x306E, 0x4E0B, 0x32}, 8,
     "2-u9tlzr9756bt3uc0v"},
    {"P Maji de Koi",
     {0x4D, 0x61, 0x6A, 0x69, 0x3067, 0x4B, 0x6F, 0x69, 0x3059, 0x308B, 0x35, 0x79D2, 0x524D},
     13, "MajiKoi5-783gue6qz075azm5e"},
    {"Q pafii de runba", {0x30D1, 0x30D5, 0x30A3, 0x30FC, 0x64, 0x65, 0x30EB, 0x30F3, 0x30D0},
     9, "de-jg4avhby1noc0d"},
    {"R sono supiido de", {0x305D, 0x306E, 0x30B9, 0x30D4, 0x30FC, 0x30C9, 0x3067}, 7,
     "d9juau41awczczp"},
    {"S -> $1.00 <-", {0x2D, 0x3E, 0x20, 0x24, 0x31, 0x2E, 0x30, 0x30, 0x20, 0x3C, 0x2D}, 11,
     "-> $1.00 <--"},
};

static void test_punycode_encode_samples(void **state)
{
    apr_size_t i;

    for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        char out[64];
        apr_size_t n = sizeof(out);
        assert_int_equal(ml_punycode_encode(samples[i].cp, samples[i].n, out, &n), APR_SUCCESS);
        assert_int_equal(n, strlen(samples[i].puny));
        assert_memory_equal(out, samples[i].puny, n);
    }
}

static void test_punycode_decode_samples(void **state)
{
    apr_size_t i;

    for (i = 0; i < sizeof(samples) / sizeof(samples[0]); i++) {
        apr_uint32_t cp[64];
        apr_size_t n = 64;
        assert_int_equal(ml_punycode_decode(samples[i].puny, strlen(samples[i].puny), cp, &n),
                         APR_SUCCESS);
        assert_int_equal(n, samples[i].n);
        assert_memory_equal(cp, samples[i].cp, n * sizeof(cp[0]));
    }
}

static void test_punycode_decode_case_insensitive(void **state)
{
    apr_uint32_t cp[8];
    apr_size_t n = 8;

    assert_int_equal(ml_punycode_decode("BCHER-KVA", 9, cp, &n), APR_SUCCESS);
    assert_int_equal(n, 6);
    assert_int_equal(cp[1], 0xFC);
}

static void test_punycode_bad(void **state)
{
    apr_uint32_t cp[8];
    apr_size_t n;
    char out[4];
    apr_uint32_t big[] = {0x110000};
    apr_uint32_t ok[] = {0xFC, 0xFC, 0xFC, 0xFC};

    n = 8;
    assert_int_equal(ml_punycode_decode("abc-!", 5, cp, &n), APR_EINVAL); /* not a digit */
    n = 8;
    assert_int_equal(ml_punycode_decode("zzzzzzzzzzzz", 12, cp, &n), APR_EINVAL); /* overflow */
    n = 8;
    assert_int_equal(ml_punycode_decode("b", 1, cp, &n), APR_EINVAL); /* truncated integer */
    n = 8;
    assert_int_equal(ml_punycode_decode("\xc3\xbc-kva", 6, cp, &n), APR_EINVAL); /* not basic */
    n = 1;
    assert_int_equal(ml_punycode_decode("bcher-kva", 9, cp, &n), APR_ENOSPC);
    n = sizeof(out);
    assert_int_equal(ml_punycode_encode(big, 1, out, &n), APR_EINVAL);
    n = sizeof(out);
    assert_int_equal(ml_punycode_encode(ok, 4, out, &n), APR_ENOSPC);
}

/* ---- normalization ---- */

static void expect_ok(const char *in, const char *ascii, const char *display)
{
    const char *a = NULL, *d = NULL, *err = NULL;
    apr_status_t rv = ml_addr_normalize(pool, in, strlen(in), &a, &d, &err);

    if (rv != APR_SUCCESS)
        fail_msg("%s refused: %s", in, err);
    assert_string_equal(a, ascii);
    assert_string_equal(d, display);
}

static void expect_refused_n(const char *in, apr_size_t len, const char *why)
{
    const char *a = NULL, *err = NULL;

    if (ml_addr_normalize(pool, in, len, &a, NULL, &err) != APR_EINVAL)
        fail_msg("accepted: %s", a);
    assert_non_null(err);
    if (!strstr(err, why))
        fail_msg("for input %zu bytes: \"%s\" does not mention \"%s\"", len, err, why);
}

static void expect_refused(const char *in, const char *why)
{
    expect_refused_n(in, strlen(in), why);
}

static void test_addr_plain(void **state)
{
    expect_ok("alice@example.com", "alice@example.com", "alice@example.com");
    /* One identity per mailbox: the whole address lower-cased. */
    expect_ok("Alice.Smith+Tag@Example.COM", "alice.smith+tag@example.com",
              "alice.smith+tag@example.com");
    expect_ok("ALICE@EXAMPLE.COM", "alice@example.com", "alice@example.com");
    expect_ok("o'brien#$&*/=?^_`{|}~-@mail.example.org",
              "o'brien#$&*/=?^_`{|}~-@mail.example.org",
              "o'brien#$&*/=?^_`{|}~-@mail.example.org");
    expect_ok("x@a-b.c0m", "x@a-b.c0m", "x@a-b.c0m");
}

static void test_addr_idn(void **state)
{
    expect_ok("user@b\xc3\xbc" "cher.example", "user@xn--bcher-kva.example",
              "user@b\xc3\xbc" "cher.example");
    /* Upper case non-ASCII (Ü) is lower-cased before encoding. */
    expect_ok("User@B\xc3\x9c" "CHER.Example", "user@xn--bcher-kva.example",
              "user@b\xc3\xbc" "cher.example");
    /* Already an A-label: checked, lower-cased, decoded for display. */
    expect_ok("user@XN--BCHER-KVA.example", "user@xn--bcher-kva.example",
              "user@b\xc3\xbc" "cher.example");
    /* Cyrillic, upper case included. */
    expect_ok("ivan@\xd0\x9f\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.\xd1\x80\xd1\x84",
              "ivan@xn--e1afmkfd.xn--p1ai",
              "ivan@\xd0\xbf\xd1\x80\xd0\xb8\xd0\xbc\xd0\xb5\xd1\x80.\xd1\x80\xd1\x84");
    /* Ideographic full stop separates labels (RFC 3490 3.1). */
    expect_ok("a@\xe4\xbe\x8b\xe3\x81\x88\xe3\x80\x82\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88",
              "a@xn--r8jz45g.xn--zckzah",
              "a@\xe4\xbe\x8b\xe3\x81\x88.\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88");
    /* IDNA2008 keeps sharp s (IDNA2003 mapped it to "ss"). */
    expect_ok("a@stra\xc3\x9f" "e.de", "a@xn--strae-oqa.de", "a@stra\xc3\x9f" "e.de");
}

/* prefix, then labels of 63, 63, 63 and `last` characters. */
static void make_domain(char *buf, const char *prefix, int last)
{
    apr_size_t o = strlen(prefix);
    int i;

    memcpy(buf, prefix, o);
    for (i = 0; i < 4; i++) {
        int n = i < 3 ? 63 : last;
        memset(buf + o, 'a' + i, (apr_size_t)n);
        o += (apr_size_t)n;
        buf[o++] = '.';
    }
    buf[o - 1] = '\0';
}

static void test_addr_refused(void **state)
{
    char buf[400];

    expect_refused("", "empty");
    expect_refused("alice.example.com", "no @");
    expect_refused("a@b@example.com", "more than one @");
    expect_refused("\"a b\"@example.com", "quoted");
    expect_refused("@example.com", "nothing before");
    expect_refused("alice@", "nothing after");
    expect_refused(".alice@example.com", "starts or ends with a dot");
    expect_refused("alice.@example.com", "starts or ends with a dot");
    expect_refused("al..ice@example.com", "two dots");
    expect_refused("alice@example..com", "empty part");
    expect_refused("alice@.example.com", "empty part");
    expect_refused("alice@example.com.", "empty part");
    expect_refused("al ice@example.com", "space");
    expect_refused(" alice@example.com", "space");
    expect_refused("alice@example.com\r\nBcc: x@evil.example", "control character");
    expect_refused("alice@example.com\n", "control character");
    expect_refused("ali\tce@example.com", "control character");
    expect_refused("alice\x7f@example.com", "control character");
    expect_refused_n("alice\0@example.com", 18, "control character");
    expect_refused_n("alice@example.com\0.evil", 23, "control character");
    expect_refused("al(ice)@example.com", "not allowed");
    expect_refused("a<b>@example.com", "not allowed");
    expect_refused("a,b@example.com", "not allowed");
    expect_refused("a\\b@example.com", "not allowed");
    expect_refused("alice@exam_ple.com", "not allowed");
    expect_refused("alice@-example.com", "hyphen");
    expect_refused("alice@example-.com", "hyphen");
    expect_refused("alice@[192.0.2.1]", "address literals");
    expect_refused("alice@192.0.2.1", "IP address");
    expect_refused("root@localhost", "at least one dot");
    /* Forms a relay would route to another mailbox. */
    expect_refused("bob%evil.example@example.com", "% or !");
    expect_refused("evil.example!bob@example.com", "% or !");
    expect_refused("@relay.example:bob@example.com", "more than one @");
    expect_refused("bob@relay.example:x@example.com", "more than one @");
    expect_refused("bob@[IPv6:2001:db8::1]", "address literals");
    expect_refused("bob@example.123", "IP address");
    expect_refused("\"bob@evil\"@example.com", "quoted");
    /* Non-ASCII local parts (including lookalikes: Cyrillic a, fullwidth a). */
    expect_refused("\xd0\xb0lice@example.com", "non-ASCII");
    expect_refused("\xef\xbd\x81lice@example.com", "non-ASCII");
    /* Lookalike and invisible characters in the domain. */
    expect_refused("a@\xef\xbd\x85xample.com", "not allowed");     /* fullwidth e */
    expect_refused("a@exa\xe2\x80\x8bmple.com", "not allowed");    /* zero width space */
    expect_refused("a@example\xe2\x81\x84" "com", "not allowed");  /* fraction slash */
    expect_refused("a@example.com\xc2\xa0", "not allowed");        /* no-break space */
    expect_refused("a@\xf0\x9f\x92\xa9.example", "not allowed");   /* emoji */
    expect_refused("a@xn--ls8h.example", "not valid punycode");    /* emoji as A-label */
    expect_refused("a@\xcc\x81" "a.example", "combining mark");
    expect_refused("a@ab--\xc3\xbc.example", "third and fourth");
    /* Malformed UTF-8: bad continuation, overlong dot, surrogate, > U+10FFFF. */
    expect_refused("a@\xc3\x28.example", "UTF-8");
    expect_refused("a@x\xc0\xae" "example", "UTF-8");
    expect_refused("a@\xed\xa0\x80.example", "UTF-8");
    expect_refused("a@\xf4\x90\x80\x80.example", "UTF-8");
    /* A-labels that are not canonical or not punycode at all. */
    expect_refused("a@xn--.example", "hyphen");
    expect_refused("a@xn--abc.example", "punycode");
    expect_refused("a@xn--bcher-kva9.example", "punycode");

    /* Lengths: local 64 ok, 65 not; label 63 ok, 64 not; domain 253; total 254. */
    memset(buf, 'a', 64);
    strcpy(buf + 64, "@example.com");
    expect_ok(buf, buf, buf);
    memset(buf, 'a', 65);
    strcpy(buf + 65, "@example.com");
    expect_refused(buf, "longer than 64");
    strcpy(buf, "a@");
    memset(buf + 2, 'b', 63);
    strcpy(buf + 65, ".com");
    expect_ok(buf, buf, buf);
    strcpy(buf, "a@");
    memset(buf + 2, 'b', 64);
    strcpy(buf + 66, ".com");
    expect_refused(buf, "longer than 63");
    /* Domains of 254 (63.63.63.62) and 253 (63.63.63.61) characters: the
     * first is too long for DNS, the second makes a 255-character address. */
    make_domain(buf, "a@", 62);
    expect_refused(buf, "longer than 253");
    make_domain(buf, "a@", 61);
    expect_refused(buf, "longer than 254");
    make_domain(buf, "a@", 60);
    expect_ok(buf, buf, buf);
    memset(buf, 'x', sizeof(buf) - 1);
    buf[sizeof(buf) - 1] = '\0';
    buf[10] = '@';
    expect_refused(buf, "longer than");
}

static void test_addr_input_limit(void **state)
{
    char *big = apr_palloc(pool, ML_ADDR_INPUT_MAX + 2);

    memset(big, 'a', ML_ADDR_INPUT_MAX + 1);
    big[1] = '@';
    big[ML_ADDR_INPUT_MAX + 1] = '\0';
    expect_refused(big, "too long");
    expect_refused_n(NULL, 0, "empty");
}

static void test_addr_canonical(void **state)
{
    static const char *const yes[] = { "a@example.com", "a.b+c@xn--bcher-kva.example" };
    static const char *const no[] = { "A@example.com", "a@Example.com",
                                       "a@b\xc3\xbc" "cher.example", "a@XN--BCHER-KVA.example",
                                       "a%b@example.com", "a@example.com ", "", "a@b" };
    apr_size_t i;

    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
        assert_true(ml_addr_is_canonical(yes[i], strlen(yes[i])));
    for (i = 0; i < sizeof(no) / sizeof(no[0]); i++)
        if (ml_addr_is_canonical(no[i], strlen(no[i])))
            fail_msg("%s taken for canonical", no[i]);
    assert_false(ml_addr_is_canonical(NULL, 0));
    assert_false(ml_addr_is_canonical("a@example.com\0x", 15));
}

static void test_addr_normalize_domain(void **state)
{
    const char *out = NULL, *err = NULL;

    assert_int_equal(ml_addr_normalize_domain(pool, "Example.COM", 11, &out, &err), APR_SUCCESS);
    assert_string_equal(out, "example.com");
    assert_int_equal(ml_addr_normalize_domain(pool, "B\xc3\x9c" "cher.example", 15, &out, &err),
                     APR_SUCCESS);
    assert_string_equal(out, "xn--bcher-kva.example");
    assert_int_equal(ml_addr_normalize_domain(pool, "XN--BCHER-KVA.example", 21, &out, &err),
                     APR_SUCCESS);
    assert_string_equal(out, "xn--bcher-kva.example");
    assert_int_equal(ml_addr_normalize_domain(pool, "localhost", 9, &out, &err), APR_EINVAL);
    assert_int_equal(ml_addr_normalize_domain(pool, "a@b.example", 11, &out, &err), APR_EINVAL);
    assert_int_equal(ml_addr_normalize_domain(pool, "[192.0.2.1]", 11, &out, &err), APR_EINVAL);
    assert_int_equal(ml_addr_normalize_domain(pool, "192.0.2.1", 9, &out, &err), APR_EINVAL);
    assert_int_equal(ml_addr_normalize_domain(pool, "*", 1, &out, &err), APR_EINVAL);
    assert_int_equal(ml_addr_normalize_domain(pool, "", 0, &out, &err), APR_EINVAL);
}

static void test_addr_domain(void **state)
{
    assert_string_equal(ml_addr_domain("a@example.com"), "example.com");
    assert_null(ml_addr_domain("nope"));
    assert_null(ml_addr_domain(NULL));
}

/* ---- From ---- */

static void expect_from(const char *spec, const char *addr, const char *name, const char *line)
{
    ml_addr_from_t f;
    const char *err = NULL;

    if (ml_addr_parse_from(pool, spec, &f, &err) != APR_SUCCESS)
        fail_msg("%s refused: %s", spec, err);
    assert_string_equal(f.addr, addr);
    if (name)
        assert_string_equal(f.name, name);
    else
        assert_null(f.name);
    assert_string_equal(f.line, line);
    assert_string_equal(f.domain, ml_addr_domain(addr));
}

static void expect_from_refused(const char *spec, const char *why)
{
    ml_addr_from_t f;
    const char *err = NULL;

    assert_int_equal(ml_addr_parse_from(pool, spec, &f, &err), APR_EINVAL);
    if (!strstr(err, why))
        fail_msg("\"%s\" does not mention \"%s\"", err, why);
}

static void test_from(void **state)
{
    expect_from("noreply@Example.com", "noreply@example.com", NULL, "From: noreply@example.com");
    expect_from("  Magic Link <noreply@example.com>  ", "noreply@example.com", "Magic Link",
                "From: Magic Link <noreply@example.com>");
    expect_from("<noreply@example.com>", "noreply@example.com", NULL,
                "From: noreply@example.com");
    expect_from("\"Acme, Inc.\" <a@example.com>", "a@example.com", "Acme, Inc.",
                "From: \"Acme, Inc.\" <a@example.com>");
}

static void test_from_quoting(void **state)
{
    expect_from("\"Say \\\"hi\\\" \\\\o/\" <a@example.com>", "a@example.com", "Say \"hi\" \\o/",
                "From: \"Say \\\"hi\\\" \\\\o/\" <a@example.com>");
    expect_from("Acme, Inc. <a@example.com>", "a@example.com", "Acme, Inc.",
                "From: \"Acme, Inc.\" <a@example.com>");
    /* Non-ASCII names become encoded-words (Q: mostly ASCII). */
    expect_from("Zo\xc3\xab Caf\xc3\xa9 <zoe@b\xc3\xbc" "cher.example>", "zoe@xn--bcher-kva.example",
                "Zo\xc3\xab Caf\xc3\xa9",
                "From: =?UTF-8?Q?Zo=C3=AB_Caf=C3=A9?= <zoe@xn--bcher-kva.example>");
    /* Looks like an encoded-word: must not be taken for one. */
    expect_from("=?UTF-8?Q?x?= <a@example.com>", "a@example.com", "=?UTF-8?Q?x?=",
                "From: =?UTF-8?Q?=3D=3FUTF-8=3FQ=3Fx=3F=3D?= <a@example.com>");
}

static void test_from_refused(void **state)
{
    expect_from_refused("", "empty");
    expect_from_refused("Name <a@example.com", "space");
    expect_from_refused("Name a@example.com>", "without a '<'");
    expect_from_refused("Na\"me <a@example.com>", "stray quote");
    expect_from_refused("\"Name\\\" <a@example.com>", "stray");
    expect_from_refused("Evil\r\nBcc: x@example.com <a@example.com>", "control");
    expect_from_refused("Bad\xc3 <a@example.com>", "UTF-8");
    expect_from_refused("Name <a@localhost>", "at least one dot");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_punycode_encode_samples),
        cmocka_unit_test(test_punycode_decode_samples),
        cmocka_unit_test(test_punycode_decode_case_insensitive),
        cmocka_unit_test(test_punycode_bad),
        cmocka_unit_test(test_addr_plain),
        cmocka_unit_test(test_addr_idn),
        cmocka_unit_test(test_addr_refused),
        cmocka_unit_test(test_addr_input_limit),
        cmocka_unit_test(test_addr_domain),
        cmocka_unit_test(test_addr_canonical),
        cmocka_unit_test(test_addr_normalize_domain),
        cmocka_unit_test(test_from),
        cmocka_unit_test(test_from_quoting),
        cmocka_unit_test(test_from_refused),
    };

    apr_initialize();
    atexit(apr_terminate);
    return cmocka_run_group_tests(tests, setup, teardown);
}
