/* libFuzzer target: Accept-Language negotiation and explicit choices
 * (ml_lang.h), on the languages the module ships.
 *
 *  1. Whatever the header, the answer is an offered language or none, the
 *     same when asked twice, and comes from a range that names it: the
 *     header holds the answer's primary subtag ("pt" for "pt-BR"), or "*".
 *  2. The same of the input read as a ?lang= value (its length, not a NUL). */
#include "fuzz_common.h"

#include "ml_lang.h"

#include <ctype.h>
#include <string.h>

static const char *const ml_fuzz_offered[] = { "en", "ar", "de", "es", "fr", "ja", "pt-BR" };
#define ML_FUZZ_N ((int)(sizeof(ml_fuzz_offered) / sizeof(ml_fuzz_offered[0])))

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ml_fuzz_pools();
    return 0;
}

/* s[0..n) holds the primary subtag of tag, in any case. */
static int ml_fuzz_names(const char *s, size_t n, const char *tag)
{
    size_t k = strcspn(tag, "-"), i, j;

    for (i = 0; i + k <= n; i++) {
        for (j = 0; j < k && tolower((unsigned char)s[i + j]) == tag[j]; j++)
            ;
        if (j == k)
            return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size + 1);
    int a, b;

    if (!in)
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';

    a = ml_lang_negotiate(in, ml_fuzz_offered, ML_FUZZ_N);
    b = ml_lang_negotiate(in, ml_fuzz_offered, ML_FUZZ_N);
    ML_FUZZ_ASSERT(a >= -1 && a < ML_FUZZ_N);
    ML_FUZZ_ASSERT(a == b);
    if (a >= 0)
        ML_FUZZ_ASSERT(memchr(in, '*', strlen(in)) || ml_fuzz_names(in, strlen(in), ml_fuzz_offered[a]));

    a = ml_lang_find((const char *)data, size, ml_fuzz_offered, ML_FUZZ_N);
    ML_FUZZ_ASSERT(a >= -1 && a < ML_FUZZ_N);
    if (a >= 0)
        ML_FUZZ_ASSERT(size >= 2 && ml_fuzz_names((const char *)data, 3 < size ? 3 : size,
                                                  ml_fuzz_offered[a]));
    a = ml_lang_exact((const char *)data, size, ml_fuzz_offered, ML_FUZZ_N);
    ML_FUZZ_ASSERT(a < 0 || size == strlen(ml_fuzz_offered[a]));
    free(in);
    return 0;
}
