/* Unit tests of the claims JSON reader (ml_claims_from_json): what it accepts
 * and decodes, and each class of input it must refuse. The reader replaced
 * jansson; test/fuzz/fuzz_claims_diff.c compares the two on any input. */
#include "ml_test.h"
#include "ml_claims.h"

static apr_pool_t *pool;

/* String literals may hold NUL bytes: their length comes from sizeof. */
#define READ(lit, c) read_json(lit, sizeof(lit) - 1, c)
#define ACCEPTS(lit) assert_accepts(lit, sizeof(lit) - 1, __LINE__)
#define REFUSES(lit) assert_refuses(lit, sizeof(lit) - 1, __LINE__)

static const char *last_why;

/* Parses a private copy of json, which is then scribbled over: the claims
 * must live in the pool, not point into the caller's input. */
static apr_status_t read_json(const char *json, size_t len, ml_claims_t *c)
{
    char *copy = malloc(len ? len : 1);
    apr_status_t rv;

    assert_non_null(copy);
    memcpy(copy, json, len);
    last_why = NULL;
    c->n = -1;
    rv = ml_claims_from_json(c, copy, len, pool, &last_why);
    memset(copy, 'X', len);
    free(copy);
    return rv;
}

static void assert_refuses(const char *json, size_t len, int line)
{
    ml_claims_t c;

    if (read_json(json, len, &c) != APR_EINVAL)
        fail_msg("line %d: accepted", line);
    if (!last_why || !*last_why)
        fail_msg("line %d: no reason", line);
    /* Fail closed: nothing half read is left for a careless caller. */
    if (c.n != 0)
        fail_msg("line %d: %d claims left after a refusal", line, c.n);
}

static void assert_accepts(const char *json, size_t len, int line)
{
    ml_claims_t c;

    if (read_json(json, len, &c) != APR_SUCCESS)
        fail_msg("line %d: refused (%s)", line, last_why);
}

/* The value of key "k" in a one-member object {"k":"<body>"}. */
static const char *value_of(const char *body, size_t len)
{
    char *json = apr_psprintf(pool, "{\"k\":\"%.*s\"}", (int)len, body);
    ml_claims_t c;

    if (read_json(json, strlen(json), &c) != APR_SUCCESS)
        fail_msg("{\"k\":\"%.*s\"} refused (%s)", (int)len, body, last_why);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.items[0].key, "k");
    return c.items[0].val;
}
#define VALUE(lit) value_of(lit, sizeof(lit) - 1)

static void test_empty_and_whitespace(void **st)
{
    ml_claims_t c;

    assert_int_equal(READ("{}", &c), APR_SUCCESS);
    assert_int_equal(c.n, 0);
    assert_int_equal(READ(" \t\r\n{ \t\r\n} \t\r\n", &c), APR_SUCCESS);
    assert_int_equal(c.n, 0);
    assert_int_equal(READ("\n{ \"a\" \t:\r\n\"1\" , \"b\":\"2\"\n}\n", &c), APR_SUCCESS);
    assert_int_equal(c.n, 2);
    assert_string_equal(ml_claims_get(&c, "a"), "1");
    assert_string_equal(ml_claims_get(&c, "b"), "2");
    /* Only RFC 8259's four whitespace bytes. */
    REFUSES("\f{}");
    REFUSES("\v{}");
    REFUSES("{}\f");
    REFUSES("{\xc2\xa0}");     /* U+00A0 */
    REFUSES("\xef\xbb\xbf{}"); /* byte order mark */
}

static void test_members(void **st)
{
    ml_claims_t c;

    assert_int_equal(READ("{\"\":\"\",\"E\":\"x\",\"e\":\"y\"}", &c), APR_SUCCESS);
    assert_int_equal(c.n, 3);
    assert_string_equal(ml_claims_get(&c, ""), "");
    assert_string_equal(ml_claims_get(&c, "E"), "x");
    assert_string_equal(ml_claims_get(&c, "e"), "y");
    /* Input order kept (the writer sorts, the reader need not). */
    assert_string_equal(c.items[0].key, "");
    assert_string_equal(c.items[2].key, "e");
}

static void test_escapes(void **st)
{
    assert_string_equal(VALUE("\\\""), "\"");
    assert_string_equal(VALUE("\\\\"), "\\");
    assert_string_equal(VALUE("\\/"), "/");
    assert_string_equal(VALUE("\\b"), "\b");
    assert_string_equal(VALUE("\\f"), "\f");
    assert_string_equal(VALUE("\\n"), "\n");
    assert_string_equal(VALUE("\\r"), "\r");
    assert_string_equal(VALUE("\\t"), "\t");
    assert_string_equal(VALUE("\\u0001\\u001f\\u0020\\u007f"), "\x01\x1f \x7f");
    assert_string_equal(VALUE("\\u003c\\u003E\\u0026"), "<>&");
    assert_string_equal(VALUE("\\u00e9\\u00E9\\u07ff"), "\xc3\xa9\xc3\xa9\xdf\xbf");
    assert_string_equal(VALUE("\\u0800\\u20aC\\u2028\\uFFFF"),
                        "\xe0\xa0\x80\xe2\x82\xac\xe2\x80\xa8\xef\xbf\xbf");
    assert_string_equal(VALUE("\\uD83D\\uDE00\\ud800\\udc00\\uDBFF\\uDFFF"),
                        "\xf0\x9f\x98\x80\xf0\x90\x80\x80\xf4\x8f\xbf\xbf");
    /* An escaped backslash then "u0000" is text, not an escape. */
    assert_string_equal(VALUE("\\\\u0000"), "\\u0000");
    assert_string_equal(VALUE("a\\nb\\\"c"), "a\nb\"c");
    /* Escapes in names too. */
    {
        ml_claims_t c;
        assert_int_equal(READ("{\"\\u0061\\n\":\"v\"}", &c), APR_SUCCESS);
        assert_string_equal(c.items[0].key, "a\n");
    }
}

static void test_escape_errors(void **st)
{
    REFUSES("{\"k\":\"\\x\"}");
    REFUSES("{\"k\":\"\\U0041\"}");
    REFUSES("{\"k\":\"\\a\"}");
    REFUSES("{\"k\":\"\\'\"}");
    REFUSES("{\"k\":\"\\0\"}");
    REFUSES("{\"k\":\"\\\x00\"}");
    REFUSES("{\"k\":\"\\"); /* input ends after the backslash */
    REFUSES("{\"k\":\"\\u12\"}");
    REFUSES("{\"k\":\"\\u12G4\"}");
    REFUSES("{\"k\":\"\\u-123\"}");
    REFUSES("{\"k\":\"\\u 123\"}");
    REFUSES("{\"k\":\"\\u004"); /* input ends inside the digits */
    /* Lone surrogates, as jansson refused them. */
    REFUSES("{\"k\":\"\\ud800\"}");
    REFUSES("{\"k\":\"\\uDBFF\"}");
    REFUSES("{\"k\":\"\\udc00\"}");
    REFUSES("{\"k\":\"\\uDFFF\"}");
    REFUSES("{\"k\":\"\\ud800x\"}");
    REFUSES("{\"k\":\"\\ud800\\n\"}");
    REFUSES("{\"k\":\"\\ud800\\u0041\"}");
    REFUSES("{\"k\":\"\\ud800\\ud800\"}");
    REFUSES("{\"k\":\"\\udc00\\ud800\"}");
    REFUSES("{\"k\":\"\\ud800\\udc0\"}");
    REFUSES("{\"k\":\"\\ud800\\u");
    REFUSES("{\"\\ud800\":\"v\"}");
    /* NUL, escaped or raw, in a value or a name. */
    REFUSES("{\"k\":\"\\u0000\"}");
    REFUSES("{\"k\":\"a\\u0000b\"}");
    REFUSES("{\"\\u0000\":\"v\"}");
    REFUSES("{\"k\":\"a\x00\"}");
    REFUSES("{\"k\x00\":\"v\"}");
}

static void test_control_characters(void **st)
{
    REFUSES("{\"k\":\"\x01\"}");
    REFUSES("{\"k\":\"\x1f\"}");
    REFUSES("{\"k\":\"a\nb\"}");
    REFUSES("{\"k\":\"\t\"}");
    REFUSES("{\"\r\":\"v\"}");
    assert_string_equal(VALUE("\x7f"), "\x7f"); /* DEL is not a control here */
}

static void test_utf8(void **st)
{
    /* Raw UTF-8 of each length, and the edges of the valid ranges. */
    assert_string_equal(VALUE("\xc2\x80\xdf\xbf"), "\xc2\x80\xdf\xbf");
    assert_string_equal(VALUE("\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf"),
                        "\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf");
    assert_string_equal(VALUE("\xf0\x90\x80\x80\xf4\x8f\xbf\xbf"),
                        "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf");
    assert_string_equal(VALUE("\xe2\x80\xa8"), "\xe2\x80\xa8");
    ACCEPTS("{\"\xc3\xa9\xf0\x9f\x98\x80\":\"v\"}");
}

static void test_utf8_errors(void **st)
{
    static const char *const bad[] = {
        /* stray continuation bytes */
        "\x80", "\xbf", "\x80\x80",
        /* overlong forms */
        "\xc0\xaf", "\xc1\xbf", "\xe0\x80\xaf", "\xe0\x9f\xbf", "\xf0\x80\x80\xaf",
        "\xf0\x8f\xbf\xbf",
        /* surrogates encoded in UTF-8 */
        "\xed\xa0\x80", "\xed\xaf\xbf", "\xed\xb0\x80", "\xed\xbf\xbf",
        /* above U+10FFFF, and bytes that never occur */
        "\xf4\x90\x80\x80", "\xf5\x80\x80\x80", "\xf7\xbf\xbf\xbf", "\xf8\x88\x80\x80\x80",
        "\xfc\x84\x80\x80\x80\x80", "\xfe", "\xff",
        /* sequences cut short or broken by a non-continuation byte */
        "\xc3", "\xc3(", "\xe2\x82", "\xe2(\xa1", "\xe2\x82(", "\xf0\x9f\x98", "\xf0\x9f(\x80",
        "\xf0(\x98\x80",
    };
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
        const char *in_val = apr_pstrcat(pool, "{\"k\":\"", bad[i], "\"}", NULL);
        const char *in_key = apr_pstrcat(pool, "{\"", bad[i], "\":\"v\"}", NULL);
        const char *at_end = apr_pstrcat(pool, "{\"k\":\"", bad[i], NULL);
        const char *outside = apr_pstrcat(pool, "{}", bad[i], NULL);

        assert_refuses(in_val, strlen(in_val), (int)i);
        assert_refuses(in_key, strlen(in_key), (int)i);
        assert_refuses(at_end, strlen(at_end), (int)i); /* the input ends in it */
        assert_refuses(outside, strlen(outside), (int)i);
    }
    /* Valid UTF-8 is still refused outside a string. */
    REFUSES("{} \xc3\xa9");
}

static void test_duplicates(void **st)
{
    ml_claims_t c;

    REFUSES("{\"a\":\"1\",\"a\":\"2\"}");
    REFUSES("{\"a\":\"1\",\"a\":\"1\"}");
    REFUSES("{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\",\"b\":\"4\"}");
    REFUSES("{\"a\":\"1\",\"\\u0061\":\"2\"}"); /* the same once decoded */
    REFUSES("{\"\":\"1\",\"\":\"2\"}");
    REFUSES("{\"\\u00e9\":\"1\",\"\xc3\xa9\":\"2\"}");
    assert_int_equal(READ("{\"a\":\"1\",\"a\":\"2\"}", &c), APR_EINVAL);
    assert_string_equal(last_why, "duplicate claim name");
    /* A prefix is not a duplicate. */
    ACCEPTS("{\"ab\":\"1\",\"a\":\"2\",\"abc\":\"3\"}");
}

static void test_member_limit(void **st)
{
    ml_claims_t c;
    const char *json;
    int i;

    json = "{";
    for (i = 0; i < ML_CLAIMS_MAX; i++)
        json = apr_psprintf(pool, "%s%s\"k%02d\":\"v%d\"", json, i ? "," : "", i, i);
    assert_int_equal(read_json(apr_pstrcat(pool, json, "}", NULL), strlen(json) + 1, &c),
                     APR_SUCCESS);
    assert_int_equal(c.n, ML_CLAIMS_MAX);
    assert_string_equal(ml_claims_get(&c, "k31"), "v31");
    json = apr_pstrcat(pool, json, ",\"one\":\"more\"}", NULL);
    assert_int_equal(read_json(json, strlen(json), &c), APR_EINVAL);
    assert_string_equal(last_why, "too many claims");
    assert_int_equal(c.n, 0);
}

static void test_not_strings(void **st)
{
    REFUSES("{\"a\":1}");
    REFUSES("{\"a\":-1}");
    REFUSES("{\"a\":1.5e3}");
    REFUSES("{\"a\":true}");
    REFUSES("{\"a\":false}");
    REFUSES("{\"a\":null}");
    REFUSES("{\"a\":{}}");
    REFUSES("{\"a\":{\"b\":\"c\"}}");
    REFUSES("{\"a\":[]}");
    REFUSES("{\"a\":[\"b\"]}");
    REFUSES("{\"a\":\"1\",\"b\":2}");
    REFUSES("{\"a\":'b'}");
    REFUSES("{\"a\":b}");
    REFUSES("{1:\"a\"}");
    REFUSES("{a:\"b\"}");
    REFUSES("{'a':\"b\"}");
    /* Other top-level values. */
    REFUSES("[]");
    REFUSES("[\"a\"]");
    REFUSES("\"a\"");
    REFUSES("1");
    REFUSES("true");
    REFUSES("null");
    /* Deep nesting is refused at the first level, with no recursion. */
    {
        char deep[20001];
        memset(deep, '[', 10000);
        memset(deep + 10000, ']', 10000);
        assert_refuses(deep, 20000, __LINE__);
        memset(deep, '{', 10000);
        assert_refuses(deep, 10000, __LINE__);
    }
}

static void test_syntax_errors(void **st)
{
    REFUSES("");
    REFUSES(" ");
    REFUSES("{");
    REFUSES("}");
    REFUSES("{\"a\"");
    REFUSES("{\"a\":");
    REFUSES("{\"a\":\"b");
    REFUSES("{\"a\":\"b\"");
    REFUSES("{\"a\":\"b\",");
    REFUSES("{\"a\":\"b\",}");
    REFUSES("{,\"a\":\"b\"}");
    REFUSES("{\"a\":\"b\",,\"c\":\"d\"}");
    REFUSES("{\"a\":\"b\" \"c\":\"d\"}");
    REFUSES("{\"a\" \"b\"}");
    REFUSES("{\"a\"=\"b\"}");
    REFUSES("{\"a\"::\"b\"}");
    REFUSES("{\"a\":\"b\";\"c\":\"d\"}");
    REFUSES("{\"a\"}");
}

static void test_trailing_data(void **st)
{
    REFUSES("{}x");
    REFUSES("{} x");
    REFUSES("{}{}");
    REFUSES("{\"a\":\"1\"} {\"b\":\"2\"}");
    REFUSES("{}\x00");
    REFUSES("{}\n\x00");
    REFUSES("{}}");
    REFUSES("{},");
    REFUSES("x{}");
    ACCEPTS("{}\n");
}

/* What the writer produces reads back to the same claims. */
static void test_round_trip(void **st)
{
    ml_claims_t c, back;
    ml_buf_t b;

    ml_claims_clear(&c);
    ml_claims_set(&c, "email", "a@example.com");
    ml_claims_set(&c, "x", "q\"b\\s/<>&\n\r\t\x01\x7f\xc3\xa9\xe2\x80\xa8\xf0\x9f\x98\x80");
    ml_claims_set(&c, "", "");
    ml_buf_init(&b);
    assert_int_equal(ml_claims_to_json(&c, &b), APR_SUCCESS);
    assert_int_equal(read_json(b.data, b.len, &back), APR_SUCCESS);
    ml_buf_free(&b);
    assert_int_equal(back.n, 3);
    assert_string_equal(ml_claims_get(&back, "email"), "a@example.com");
    assert_string_equal(ml_claims_get(&back, "x"), ml_claims_get(&c, "x"));
    assert_string_equal(ml_claims_get(&back, ""), "");
}

static int setup(void **st)
{
    apr_initialize();
    return apr_pool_create(&pool, NULL) == APR_SUCCESS ? 0 : -1;
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
        cmocka_unit_test(test_empty_and_whitespace),
        cmocka_unit_test(test_members),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_escape_errors),
        cmocka_unit_test(test_control_characters),
        cmocka_unit_test(test_utf8),
        cmocka_unit_test(test_utf8_errors),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_member_limit),
        cmocka_unit_test(test_not_strings),
        cmocka_unit_test(test_syntax_errors),
        cmocka_unit_test(test_trailing_data),
        cmocka_unit_test(test_round_trip),
    };

    return cmocka_run_group_tests_name("claims", tests, setup, teardown);
}
