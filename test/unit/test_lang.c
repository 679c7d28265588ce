/* Language negotiation (ml_lang.h): Accept-Language with weights, lookup
 * fallbacks, "*" and refusals, explicit choices, and headers built to hurt. */
#include "ml_test.h"

#include "ml_lang.h"

static const char *const offered[] = { "en", "de", "fr", "es", "pt-BR", "ja", "ar" };
#define N ((int)(sizeof(offered) / sizeof(offered[0])))

static const char *pick(const char *accept)
{
    int i = ml_lang_negotiate(accept, offered, N);

    assert_true(i >= -1 && i < N);
    return i < 0 ? "-" : offered[i];
}

static void test_plain_and_weights(void **state)
{
    assert_string_equal(pick("de"), "de");
    assert_string_equal(pick("fr, de"), "fr");
    assert_string_equal(pick("fr;q=0.5, de"), "de");
    assert_string_equal(pick("fr;q=0.5, de;q=0.7, ja;q=0.6"), "de");
    assert_string_equal(pick("sv, de;q=0.1"), "de");
    assert_string_equal(pick("JA"), "ja");
    assert_string_equal(pick("de ; q=0.8 , fr;Q=0.9"), "fr");
    assert_string_equal(pick("sv, nb"), "-");
    assert_string_equal(pick(""), "-");
    assert_int_equal(ml_lang_negotiate(NULL, offered, N), -1);
    /* equal weights: the earlier range */
    assert_string_equal(pick("ja;q=0.5, de;q=0.5"), "ja");
    /* thousandths count */
    assert_string_equal(pick("ja;q=0.501, de;q=0.502"), "de");
}

static void test_lookup_fallbacks(void **state)
{
    assert_string_equal(pick("de-AT"), "de");
    assert_string_equal(pick("de-CH-1996"), "de");
    assert_string_equal(pick("pt"), "pt-BR");
    assert_string_equal(pick("pt-PT"), "pt-BR");
    assert_string_equal(pick("pt_br"), "pt-BR");
    assert_string_equal(pick("ar-EG, en;q=0.9"), "ar");
    assert_string_equal(pick("en-GB, de;q=0.9"), "en");
    assert_string_equal(pick("zh-Hant-TW, fr;q=0.4"), "fr");
    assert_string_equal(pick("ja-x-private"), "ja");
    /* a fallback of the first range beats a later range of lower weight */
    assert_string_equal(pick("de-AT, fr;q=0.9"), "de");
}

static void test_star_and_refusals(void **state)
{
    assert_string_equal(pick("*"), "en");
    assert_string_equal(pick("en;q=0, *"), "de");
    assert_string_equal(pick("en;q=0, de;q=0, *;q=0.1"), "fr");
    assert_string_equal(pick("fr;q=0.5, *"), "en");       /* "*" outweighs fr */
    assert_string_equal(pick("en, *;q=0.5"), "en");
    assert_string_equal(pick("de;q=0"), "-");
    assert_string_equal(pick("*;q=0"), "-");
    /* refusing en-GB does not refuse en */
    assert_string_equal(pick("en-GB;q=0, en;q=0.5"), "en");
    /* "*" means the languages no other range names */
    assert_string_equal(pick("en;q=0.1, de;q=0.1, *;q=0.5"), "fr");
}

static void test_malformed_skipped(void **state)
{
    assert_string_equal(pick("de;q=abc, fr"), "fr");
    assert_string_equal(pick("de;q=2, fr;q=0.1"), "fr");
    assert_string_equal(pick("de;q=-1, fr;q=0.1"), "fr");
    assert_string_equal(pick("de;q=0.1234, fr;q=0.1"), "fr");
    assert_string_equal(pick("de;q=1.5, fr;q=0.1"), "fr");
    assert_string_equal(pick("de;q=, fr;q=0.1"), "fr");
    assert_string_equal(pick(",,,;;;, , ja"), "ja");
    assert_string_equal(pick("d\xC3\xA9, ja"), "ja");
    assert_string_equal(pick("-de, de-, de--at, ja"), "ja");
    assert_string_equal(pick("abcdefghi, ja"), "ja");        /* subtag over 8 */
    assert_string_equal(pick("de x, ja"), "ja");
    assert_string_equal(pick("de;level=1, fr;q=0.1"), "de"); /* other parameters ignored */
    assert_string_equal(pick("de;q=1., fr;q=0.1"), "de");
    assert_string_equal(pick("de;q=0., fr;q=0.1"), "fr");
}

static char *repeat(const char *s, size_t times, const char *tail)
{
    size_t n = strlen(s), t = strlen(tail), i;
    char *out = malloc(n * times + t + 1);

    assert_non_null(out);
    for (i = 0; i < times; i++)
        memcpy(out + i * n, s, n);
    memcpy(out + n * times, tail, t + 1);
    return out;
}

static void test_hostile_headers(void **state)
{
    char *h;

    h = repeat("xx-yy;q=0.001, ", 5000, "ja;q=0.002");      /* 75 KB, 5000 ranges */
    assert_string_equal(pick(h), "ja");
    free(h);
    h = repeat("a", 100000, ", fr");                          /* one huge range */
    assert_string_equal(pick(h), "fr");
    free(h);
    h = repeat(";", 100000, "");
    assert_string_equal(pick(h), "-");
    free(h);
    h = repeat("de-", 30000, "x");                            /* a long tag: skipped */
    assert_string_equal(pick(h), "-");
    free(h);
    h = repeat("*;q=0.5,", 10000, "de;q=0.4");
    assert_string_equal(pick(h), "en");
    free(h);
}

static void test_explicit_choice(void **state)
{
    assert_int_equal(ml_lang_find("ja", 2, offered, N), 5);
    assert_int_equal(ml_lang_find("pt-BR", 5, offered, N), 4);
    assert_int_equal(ml_lang_find("pt_BR", 5, offered, N), 4);
    assert_int_equal(ml_lang_find("de-AT", 5, offered, N), 1);
    assert_int_equal(ml_lang_find("ja;", 2, offered, N), 5);  /* length, not NUL */
    assert_int_equal(ml_lang_find("sv", 2, offered, N), -1);
    assert_int_equal(ml_lang_find("*", 1, offered, N), -1);
    assert_int_equal(ml_lang_find("", 0, offered, N), -1);
    assert_int_equal(ml_lang_find("d e", 3, offered, N), -1);
    assert_int_equal(ml_lang_exact("PT-br", 5, offered, N), 4);
    assert_int_equal(ml_lang_exact("pt", 2, offered, N), -1);
    assert_int_equal(ml_lang_exact("de-AT", 5, offered, N), -1);
}

/* The site's order matters only through "*" and fallbacks to a prefix. */
static void test_offered_order(void **state)
{
    static const char *const some[] = { "fr", "de" };
    static const char *const pts[] = { "pt-PT", "pt-BR" };

    assert_int_equal(ml_lang_negotiate("*", some, 2), 0);
    assert_int_equal(ml_lang_negotiate("en", some, 2), -1);
    assert_int_equal(ml_lang_negotiate("pt", pts, 2), 0);
    assert_int_equal(ml_lang_negotiate("pt-BR", pts, 2), 1);
    assert_int_equal(ml_lang_negotiate("de", some, 0), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_weights),
        cmocka_unit_test(test_lookup_fallbacks),
        cmocka_unit_test(test_star_and_refusals),
        cmocka_unit_test(test_malformed_skipped),
        cmocka_unit_test(test_hostile_headers),
        cmocka_unit_test(test_explicit_choice),
        cmocka_unit_test(test_offered_order),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
