/* libFuzzer target: our claims reader against jansson, the reader it replaced.
 *
 * The old ml_claims_from_json was json_loadb(JSON_REJECT_DUPLICATES), no
 * JSON_ALLOW_NUL, then: the root is an object, every value a string, at most
 * ML_CLAIMS_MAX members. For any input the two must agree on accept or
 * refuse, and on accept hold the same names with the same values, byte for
 * byte. Also, on accept, the decoded strings fit in as many bytes as the
 * input (the reader allocates one block of that size for them; the pool
 * would not tell ASan about an overrun, so the bound is checked here). */
#include "fuzz_common.h"

#include "ml_claims.h"

#include <jansson.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ml_fuzz_pools();
    return 0;
}

/* The old reader's verdict: the parsed object on accept, else NULL. */
static json_t *ml_jansson_claims(const char *json, size_t size)
{
    json_error_t err;
    json_t *root = json_loadb(json, size, JSON_REJECT_DUPLICATES, &err), *val;
    const char *key;

    if (!root)
        return NULL;
    if (!json_is_object(root) || json_object_size(root) > ML_CLAIMS_MAX)
        goto refused;
    json_object_foreach(root, key, val) {
        if (!json_is_string(val))
            goto refused;
    }
    return root;
refused:
    json_decref(root);
    return NULL;
}

static void ml_dump(const char *what, const uint8_t *data, size_t size, const char *why)
{
    size_t i;

    fprintf(stderr, "fuzz_claims_diff: %s (ours: %s) on %zu bytes:", what, why ? why : "-", size);
    for (i = 0; i < size && i < 512; i++)
        fprintf(stderr, " %02x", data[i]);
    fputc('\n', stderr);
}

/* Same names, same values, both ways round. */
static void ml_compare(const ml_claims_t *c, json_t *root, const uint8_t *data, size_t size)
{
    const char *key;
    json_t *val;
    size_t used = 0;
    int i;

    if ((size_t)c->n != json_object_size(root)) {
        ml_dump("member counts differ", data, size, NULL);
        abort();
    }
    for (i = 0; i < c->n; i++) {
        json_t *ref = json_object_get(root, c->items[i].key);
        size_t vlen = strlen(c->items[i].val);

        if (!ref || json_string_length(ref) != vlen
            || memcmp(json_string_value(ref), c->items[i].val, vlen) != 0) {
            ml_dump("a claim differs", data, size, NULL);
            abort();
        }
        used += strlen(c->items[i].key) + 1 + vlen + 1;
    }
    json_object_foreach(root, key, val) {
        const char *ours = ml_claims_get(c, key);

        ML_FUZZ_ASSERT(ours != NULL && strcmp(ours, json_string_value(val)) == 0);
    }
    ML_FUZZ_ASSERT(used <= size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* An exact-size copy: ASan sees any read past the end. */
    char *json = malloc(size ? size : 1);
    const char *why = NULL;
    ml_claims_t c;
    json_t *root;
    int ours;

    if (!json)
        return 0;
    if (size)
        memcpy(json, data, size);
    ours = ml_claims_from_json(&c, json, size, ml_fuzz_input, &why) == APR_SUCCESS;
    root = ml_jansson_claims(json, size);
    if (ours != (root != NULL)) {
        ml_dump(ours ? "we accept, jansson refuses" : "we refuse, jansson accepts", data, size,
                why);
        abort();
    }
    if (ours)
        ml_compare(&c, root, data, size);
    else
        ML_FUZZ_ASSERT(why != NULL && c.n == 0);
    json_decref(root);
    free(json);
    apr_pool_clear(ml_fuzz_input);
    return 0;
}
