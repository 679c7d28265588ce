/* libFuzzer target: the claims JSON reader and writer.
 *
 *  1. Reader: the input as JSON. Whatever ml_claims_from_json accepts must
 *     write back (the reader hands out valid UTF-8 only), the written form must
 *     read back to the same claims, and writing is idempotent from there on.
 *  2. Writer: the input split at NUL bytes into key, value, key, value...
 *     (any bytes at all, invalid UTF-8 included). ml_claims_to_json either
 *     refuses (APR_EINVAL) or writes JSON that obeys Go's HTML-safe output
 *     rules and that the reader turns back into exactly those strings. */
#include "fuzz_common.h"

#include "ml_claims.h"

#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ml_fuzz_pools();
    return 0;
}

static int ml_claims_equal(const ml_claims_t *a, const ml_claims_t *b)
{
    int i;

    if (a->n != b->n)
        return 0;
    for (i = 0; i < a->n; i++) {
        const char *v = ml_claims_get(b, a->items[i].key);
        if (!v || strcmp(v, a->items[i].val) != 0)
            return 0;
    }
    return 1;
}

/* What Go's encoder never leaves raw inside its output. */
static void ml_check_go_safe(const ml_buf_t *b)
{
    apr_size_t i;

    ML_FUZZ_ASSERT(b->len >= 3 && b->data[0] == '{' && b->data[b->len - 2] == '}'
                   && b->data[b->len - 1] == '\n');
    for (i = 0; i + 1 < b->len; i++) {
        unsigned char c = (unsigned char)b->data[i];
        ML_FUZZ_ASSERT(c >= 0x20 && c != '<' && c != '>' && c != '&');
        if (c == 0xE2 && i + 2 < b->len && (unsigned char)b->data[i + 1] == 0x80)
            ML_FUZZ_ASSERT((unsigned char)b->data[i + 2] != 0xA8
                           && (unsigned char)b->data[i + 2] != 0xA9);
    }
}

static void ml_fuzz_reader(const char *json, size_t size)
{
    ml_claims_t c, back;
    ml_buf_t out, out2;
    const char *why = NULL;
    int i;

    if (ml_claims_from_json(&c, json, size, ml_fuzz_input, &why) != APR_SUCCESS) {
        ML_FUZZ_ASSERT(why != NULL);
        return;
    }
    ML_FUZZ_ASSERT(c.n >= 0 && c.n <= ML_CLAIMS_MAX);
    /* Duplicates are refused, so keys are distinct. */
    for (i = 0; i < c.n; i++)
        ML_FUZZ_ASSERT(ml_claims_get(&c, c.items[i].key) == c.items[i].val);

    ml_buf_init(&out);
    ml_buf_init(&out2);
    ML_FUZZ_ASSERT(ml_claims_to_json(&c, &out) == APR_SUCCESS);
    ml_check_go_safe(&out);
    ML_FUZZ_ASSERT(ml_claims_from_json(&back, out.data, out.len, ml_fuzz_input, &why)
                   == APR_SUCCESS);
    ML_FUZZ_ASSERT(ml_claims_equal(&c, &back));
    ML_FUZZ_ASSERT(ml_claims_to_json(&back, &out2) == APR_SUCCESS);
    ML_FUZZ_ASSERT(out.len == out2.len && memcmp(out.data, out2.data, out.len) == 0);
    ml_buf_free(&out);
    ml_buf_free(&out2);
}

static void ml_fuzz_writer(const char *data, size_t size)
{
    char *copy = apr_palloc(ml_fuzz_input, size + 1), *s, *end;
    const char *strs[2 * ML_CLAIMS_MAX], *why;
    ml_claims_t c, back;
    ml_buf_t out;
    int n = 0, i;
    apr_status_t rv;

    memcpy(copy, data, size);
    copy[size] = '\0';
    for (s = copy, end = copy + size; s <= end && n < 2 * ML_CLAIMS_MAX; s += strlen(s) + 1)
        strs[n++] = s;
    ml_claims_clear(&c);
    for (i = 0; i < n; i += 2)
        ML_FUZZ_ASSERT(ml_claims_set(&c, strs[i], i + 1 < n ? strs[i + 1] : "") == APR_SUCCESS);

    ml_buf_init(&out);
    ML_FUZZ_ASSERT(ml_buf_puts(&out, "prefix") == APR_SUCCESS);
    rv = ml_claims_to_json(&c, &out);
    ML_FUZZ_ASSERT(rv == APR_SUCCESS || rv == APR_EINVAL);
    /* The writer appends: what was in the buffer stays. */
    ML_FUZZ_ASSERT(out.len >= 6 && memcmp(out.data, "prefix", 6) == 0);
    if (rv == APR_SUCCESS) {
        ml_buf_t body = { out.data + 6, out.len - 6, out.cap - 6 };

        ml_check_go_safe(&body);
        ML_FUZZ_ASSERT(ml_claims_from_json(&back, body.data, body.len, ml_fuzz_input, &why)
                       == APR_SUCCESS);
        ML_FUZZ_ASSERT(ml_claims_equal(&c, &back));
    }
    ml_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *json = malloc(size ? size : 1);

    if (!json)
        return 0;
    if (size)
        memcpy(json, data, size);
    ml_fuzz_reader(json, size);
    free(json);
    ml_fuzz_writer((const char *)data, size);
    apr_pool_clear(ml_fuzz_input);
    return 0;
}
