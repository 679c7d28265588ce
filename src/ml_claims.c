#include "ml_claims.h"

#include <apr_strings.h>
#include <jansson.h>

apr_status_t ml_claims_set(ml_claims_t *c, const char *key, const char *val)
{
    int i;

    for (i = 0; i < c->n; i++) {
        if (strcmp(c->items[i].key, key) == 0) {
            c->items[i].val = val;
            return APR_SUCCESS;
        }
    }
    if (c->n == ML_CLAIMS_MAX)
        return APR_ENOSPC;
    c->items[c->n].key = key;
    c->items[c->n].val = val;
    c->n++;
    return APR_SUCCESS;
}

const char *ml_claims_get(const ml_claims_t *c, const char *key)
{
    int i;

    for (i = 0; i < c->n; i++)
        if (strcmp(c->items[i].key, key) == 0)
            return c->items[i].val;
    return NULL;
}

/* Length of the UTF-8 sequence at s (1..4), or 0 if it is not a valid,
 * shortest-form, non-surrogate sequence. */
static int ml_utf8_len(const unsigned char *s)
{
    unsigned c = s[0];

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        return (s[1] & 0xC0) == 0x80 ? 2 : 0;
    if (c >= 0xE0 && c <= 0xEF) {
        unsigned lo = (c == 0xE0) ? 0xA0 : 0x80, hi = (c == 0xED) ? 0x9F : 0xBF;
        return (s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80) ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        unsigned lo = (c == 0xF0) ? 0x90 : 0x80, hi = (c == 0xF4) ? 0x8F : 0xBF;
        return (s[1] >= lo && s[1] <= hi && (s[2] & 0xC0) == 0x80 && (s[3] & 0xC0) == 0x80)
                   ? 4 : 0;
    }
    return 0;
}

/* Whether byte c is written as is inside a JSON string by Go's encoder
 * with HTML escaping on. */
static int ml_json_plain(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&';
}

static apr_status_t ml_json_escape_byte(ml_buf_t *out, unsigned char c)
{
    static const char hex[] = "0123456789abcdef";
    char u[6] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 15] };

    switch (c) {
    case '"':  return ml_buf_append(out, "\\\"", 2);
    case '\\': return ml_buf_append(out, "\\\\", 2);
    case '\n': return ml_buf_append(out, "\\n", 2);
    case '\r': return ml_buf_append(out, "\\r", 2);
    case '\t': return ml_buf_append(out, "\\t", 2);
    default:   return ml_buf_append(out, u, sizeof(u));
    }
}

apr_status_t ml_json_string(ml_buf_t *out, const char *str)
{
    const unsigned char *s = (const unsigned char *)str, *run = s;

    if (ml_buf_putc(out, '"') != APR_SUCCESS)
        return APR_ENOMEM;
    while (*s) {
        int n;

        if (ml_json_plain(*s)) {
            s++;
            continue;
        }
        if (ml_buf_append(out, run, (apr_size_t)(s - run)) != APR_SUCCESS)
            return APR_ENOMEM;
        if (*s < 0x80) {
            if (ml_json_escape_byte(out, *s) != APR_SUCCESS)
                return APR_ENOMEM;
            run = ++s;
            continue;
        }
        n = ml_utf8_len(s);
        if (n == 0)
            return APR_EINVAL;
        /* U+2028 and U+2029 end lines in JavaScript; Go escapes them. */
        if (n == 3 && s[0] == 0xE2 && s[1] == 0x80 && (s[2] == 0xA8 || s[2] == 0xA9)) {
            if (ml_buf_append(out, s[2] == 0xA8 ? "\\u2028" : "\\u2029", 6) != APR_SUCCESS)
                return APR_ENOMEM;
            run = s += 3;
            continue;
        }
        if (ml_buf_append(out, s, (apr_size_t)n) != APR_SUCCESS)
            return APR_ENOMEM;
        run = s += n;
    }
    if (ml_buf_append(out, run, (apr_size_t)(s - run)) != APR_SUCCESS)
        return APR_ENOMEM;
    return ml_buf_putc(out, '"');
}

apr_status_t ml_claims_to_json(const ml_claims_t *c, ml_buf_t *out)
{
    int order[ML_CLAIMS_MAX], i, j;
    apr_status_t rv;

    /* Go writes map keys in byte order; insertion sort suits a few keys. */
    for (i = 0; i < c->n; i++) {
        for (j = i; j > 0 && strcmp(c->items[order[j - 1]].key, c->items[i].key) > 0; j--)
            order[j] = order[j - 1];
        order[j] = i;
    }
    if (ml_buf_putc(out, '{') != APR_SUCCESS)
        return APR_ENOMEM;
    for (i = 0; i < c->n; i++) {
        const ml_claim_t *cl = &c->items[order[i]];
        if (i > 0 && ml_buf_putc(out, ',') != APR_SUCCESS)
            return APR_ENOMEM;
        if ((rv = ml_json_string(out, cl->key)) != APR_SUCCESS)
            return rv;
        if (ml_buf_putc(out, ':') != APR_SUCCESS)
            return APR_ENOMEM;
        if ((rv = ml_json_string(out, cl->val)) != APR_SUCCESS)
            return rv;
    }
    return ml_buf_append(out, "}\n", 2);
}

static apr_status_t ml_claims_copy(ml_claims_t *c, json_t *obj, apr_pool_t *p, const char **why)
{
    const char *key;
    json_t *val;

    ml_claims_clear(c);
    json_object_foreach(obj, key, val) {
        if (!json_is_string(val)) {
            *why = "a claim value is not a string";
            return APR_EINVAL;
        }
        if (c->n == ML_CLAIMS_MAX) {
            *why = "too many claims";
            return APR_EINVAL;
        }
        c->items[c->n].key = apr_pstrdup(p, key);
        c->items[c->n].val = apr_pstrmemdup(p, json_string_value(val), json_string_length(val));
        c->n++;
    }
    return APR_SUCCESS;
}

apr_status_t ml_claims_from_json(ml_claims_t *c, const char *json, apr_size_t len,
                                 apr_pool_t *p, const char **why)
{
    json_error_t jerr;
    json_t *root;
    apr_status_t rv;

    /* Without JSON_ALLOW_NUL jansson refuses "\u0000", which C strings could
     * not hold faithfully anyway. */
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        *why = "not valid JSON";
        return APR_EINVAL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        *why = "not a JSON object";
        return APR_EINVAL;
    }
    rv = ml_claims_copy(c, root, p, why);
    json_decref(root);
    return rv;
}
