#include "ml_claims.h"

#include <apr_strings.h>
#include <string.h>

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

/* ---- reading ----
 *
 * Our own reader of the one shape we accept, a flat JSON object of strings,
 * so that opening a sealed value makes no heap call outside the caller's pool
 * (jansson mallocs per value). It accepts exactly what jansson's json_loadb
 * with JSON_REJECT_DUPLICATES and the checks that followed it accepted
 * (test/fuzz/fuzz_claims_diff.c holds it to that): RFC 8259 whitespace,
 * strict UTF-8 (no overlong form, no surrogate, nothing above U+10FFFF), all
 * JSON escapes with \u surrogate pairs joined and lone ones refused, no NUL in
 * a name or value, no duplicate name, nothing but whitespace after the
 * object. A value that is not a string (nesting included) is refused at its
 * first byte, so there is no depth to bound. */

typedef struct ml_json_in {
    const unsigned char *s, *end; /* the input not read yet */
    char *out;                    /* where the next decoded byte goes */
    const char *why;              /* why the input was refused */
} ml_json_in_t;

static int ml_read_fail(ml_json_in_t *in, const char *why)
{
    in->why = why;
    return 0;
}

static void ml_read_ws(ml_json_in_t *in)
{
    while (in->s < in->end && (*in->s == ' ' || *in->s == '\t' || *in->s == '\n' || *in->s == '\r'))
        in->s++;
}

/* Consumes byte c after any whitespace; 0 if c is not next. */
static int ml_read_take(ml_json_in_t *in, unsigned char c)
{
    ml_read_ws(in);
    if (in->s == in->end || *in->s != c)
        return 0;
    in->s++;
    return 1;
}

/* ml_utf8_len for input that may end inside the sequence: zero padding fails
 * the continuation test, so a cut sequence is refused, not read past. */
static int ml_utf8_len_in(const unsigned char *s, const unsigned char *end)
{
    unsigned char pad[4] = {0};

    if (end - s >= 4)
        return ml_utf8_len(s);
    memcpy(pad, s, (apr_size_t)(end - s));
    return ml_utf8_len(pad);
}

/* Writes scalar value cp (never a surrogate, at most U+10FFFF) as UTF-8. */
static void ml_utf8_put(ml_json_in_t *in, apr_uint32_t cp)
{
    unsigned char *o = (unsigned char *)in->out;

    if (cp < 0x80) {
        *o++ = (unsigned char)cp;
    } else if (cp < 0x800) {
        *o++ = (unsigned char)(0xC0 | cp >> 6);
        *o++ = (unsigned char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (unsigned char)(0xE0 | cp >> 12);
        *o++ = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (unsigned char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (unsigned char)(0xF0 | cp >> 18);
        *o++ = (unsigned char)(0x80 | (cp >> 12 & 0x3F));
        *o++ = (unsigned char)(0x80 | (cp >> 6 & 0x3F));
        *o++ = (unsigned char)(0x80 | (cp & 0x3F));
    }
    in->out = (char *)o;
}

/* The four hex digits of a \u escape, either case. */
static int ml_read_hex4(ml_json_in_t *in, apr_uint32_t *cp)
{
    int i;

    if (in->end - in->s < 4)
        return ml_read_fail(in, "truncated \\u escape");
    *cp = 0;
    for (i = 0; i < 4; i++) {
        unsigned h = in->s[i], lower = h | 0x20;

        if (h >= '0' && h <= '9')
            *cp = *cp << 4 | (h - '0');
        else if (lower >= 'a' && lower <= 'f')
            *cp = *cp << 4 | (lower - 'a' + 10);
        else
            return ml_read_fail(in, "bad hex digit in a \\u escape");
    }
    in->s += 4;
    return 1;
}

/* After "\u": one code unit, or a high and a low surrogate joined. */
static int ml_read_uescape(ml_json_in_t *in)
{
    apr_uint32_t cp, lo;

    if (!ml_read_hex4(in, &cp))
        return 0;
    if (cp >= 0xDC00 && cp <= 0xDFFF)
        return ml_read_fail(in, "lone low surrogate escape");
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (in->end - in->s < 2 || in->s[0] != '\\' || in->s[1] != 'u')
            return ml_read_fail(in, "lone high surrogate escape");
        in->s += 2;
        if (!ml_read_hex4(in, &lo))
            return 0;
        if (lo < 0xDC00 || lo > 0xDFFF)
            return ml_read_fail(in, "lone high surrogate escape");
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    /* C strings cannot hold NUL faithfully; jansson refused it too. */
    if (cp == 0)
        return ml_read_fail(in, "NUL in a claim");
    ml_utf8_put(in, cp);
    return 1;
}

/* After a backslash. */
static int ml_read_escape(ml_json_in_t *in)
{
    static const char from[8] = "\"\\/bfnrt", to[8] = "\"\\/\b\f\n\r\t";
    const char *hit;

    if (in->s == in->end)
        return ml_read_fail(in, "unterminated string");
    if (*in->s == 'u') {
        in->s++;
        return ml_read_uescape(in);
    }
    if (!(hit = memchr(from, *in->s, sizeof(from))))
        return ml_read_fail(in, "bad escape");
    *in->out++ = to[hit - from];
    in->s++;
    return 1;
}

/* After the opening quote: decodes the string into in->out, NUL-terminated,
 * and points *str at it with its length in *len. */
static int ml_read_string(ml_json_in_t *in, const char **str, apr_size_t *len)
{
    char *start = in->out;

    while (in->s < in->end) {
        unsigned char c = *in->s;
        int n;

        if (c == '"') {
            in->s++;
            *len = (apr_size_t)(in->out - start);
            *in->out++ = '\0';
            *str = start;
            return 1;
        }
        if (c == '\\') {
            in->s++;
            if (!ml_read_escape(in))
                return 0;
            continue;
        }
        if (c < 0x20)
            return ml_read_fail(in, "control character in a string");
        n = c < 0x80 ? 1 : ml_utf8_len_in(in->s, in->end);
        if (n == 0)
            return ml_read_fail(in, "invalid UTF-8");
        memcpy(in->out, in->s, (apr_size_t)n);
        in->out += n;
        in->s += n;
    }
    return ml_read_fail(in, "unterminated string");
}

/* One "name":"value" pair, added to c; klen holds the names' lengths. */
static int ml_read_member(ml_json_in_t *in, ml_claims_t *c, apr_size_t *klen)
{
    const char *key, *val;
    apr_size_t kn, vn;
    int i;

    if (!ml_read_take(in, '"'))
        return ml_read_fail(in, "a claim name is not a string");
    if (!ml_read_string(in, &key, &kn))
        return 0;
    if (!ml_read_take(in, ':'))
        return ml_read_fail(in, "':' expected after a claim name");
    if (!ml_read_take(in, '"'))
        return ml_read_fail(in, "a claim value is not a string");
    if (!ml_read_string(in, &val, &vn))
        return 0;
    /* No NUL inside key or val: a raw one is a control character, and
     * ml_read_uescape refuses \u0000. */
    for (i = 0; i < c->n; i++)
        if (klen[i] == kn && memcmp(c->items[i].key, key, kn) == 0)
            return ml_read_fail(in, "duplicate claim name");
    if (c->n == ML_CLAIMS_MAX)
        return ml_read_fail(in, "too many claims");
    klen[c->n] = kn;
    c->items[c->n].key = key;
    c->items[c->n].val = val;
    c->n++;
    return 1;
}

static int ml_read_object(ml_json_in_t *in, ml_claims_t *c)
{
    apr_size_t klen[ML_CLAIMS_MAX];

    if (!ml_read_take(in, '{'))
        return ml_read_fail(in, "not a JSON object");
    if (!ml_read_take(in, '}')) {
        do {
            if (!ml_read_member(in, c, klen))
                return 0;
        } while (ml_read_take(in, ','));
        if (!ml_read_take(in, '}'))
            return ml_read_fail(in, "',' or '}' expected after a claim");
    }
    ml_read_ws(in);
    if (in->s != in->end)
        return ml_read_fail(in, "data after the JSON object");
    return 1;
}

apr_status_t ml_claims_from_json(ml_claims_t *c, const char *json, apr_size_t len, apr_pool_t *p,
                                 const char **why)
{
    ml_json_in_t in;

    ml_claims_clear(c);
    if (len < 2) {
        *why = "not a JSON object";
        return APR_EINVAL;
    }
    in.s = (const unsigned char *)json;
    in.end = in.s + len;
    in.why = NULL;
    /* Every string decodes to at most as many bytes as it takes between its
     * quotes, and its NUL takes the place of a quote: one block the size of
     * the input holds all the strings, and is the only allocation. */
    in.out = apr_palloc(p, len);
    if (!ml_read_object(&in, c)) {
        ml_claims_clear(c); /* fail closed: no claims half read */
        *why = in.why;
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}
