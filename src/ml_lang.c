/* Language negotiation (see ml_lang.h). */
#include "ml_lang.h"

#include <string.h>

static int ml_lang_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int ml_lang_alnum(char c)
{
    return ml_lang_alpha(c) || (c >= '0' && c <= '9');
}

static char ml_lang_fold(char c)
{
    return c == '_' ? '-' : (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

/* tag[0..len) equals s, or, with prefix, is followed in s by '-'. */
static int ml_lang_same(const char *tag, apr_size_t len, const char *s, int prefix)
{
    apr_size_t i;

    for (i = 0; i < len; i++) {
        if (!s[i] || ml_lang_fold(tag[i]) != ml_lang_fold(s[i]))
            return 0;
    }
    return prefix ? s[len] == '-' : s[len] == '\0';
}

int ml_lang_exact(const char *tag, apr_size_t len, const char *const *offered, int n)
{
    int i;

    for (i = 0; i < n; i++) {
        if (ml_lang_same(tag, len, offered[i], 0))
            return i;
    }
    return -1;
}

/* A language range: "*" or 1*8ALPHA *("-" 1*8alphanum); '_' is taken for
 * '-' as some clients write it. */
static int ml_lang_range_ok(const char *s, apr_size_t len)
{
    apr_size_t i, run = 0;

    if (len == 1 && s[0] == '*')
        return 1;
    if (len == 0 || len > ML_LANG_TAG_MAX)
        return 0;
    for (i = 0; i < len; i++) {
        if (s[i] == '-' || s[i] == '_') {
            if (run == 0)
                return 0;
            run = 0;
        } else if (ml_lang_alnum(s[i]) && (i > 0 || ml_lang_alpha(s[i])) && ++run <= 8) {
            continue;
        } else {
            return 0;
        }
    }
    return run > 0;
}

int ml_lang_find(const char *tag, apr_size_t len, const char *const *offered, int n)
{
    int i;

    if (!ml_lang_range_ok(tag, len) || (len == 1 && tag[0] == '*'))
        return -1;
    while (len > 0) {
        for (i = 0; i < n; i++) {
            if (ml_lang_same(tag, len, offered[i], 0))
                return i;
        }
        for (i = 0; i < n; i++) {
            if (ml_lang_same(tag, len, offered[i], 1))
                return i;
        }
        /* Cut the last subtag, and a single-letter one left before it
         * ("zh-x-abc" -> "zh-x" -> "zh"). */
        while (len > 0 && tag[len - 1] != '-' && tag[len - 1] != '_')
            len--;
        if (len > 0)
            len--;
        if (len >= 2 && (tag[len - 2] == '-' || tag[len - 2] == '_'))
            len -= 2;
    }
    return -1;
}

/* A weight: "0", "0.", "0.d", "0.dd", "0.ddd", "1", "1." "1.0" to "1.000";
 * as thousandths, or -1. */
static int ml_lang_qvalue(const char *s, apr_size_t len)
{
    int q, scale = 100;
    apr_size_t i;

    if (len == 0 || (s[0] != '0' && s[0] != '1') || len > 5 || (len > 1 && s[1] != '.'))
        return -1;
    q = (s[0] - '0') * 1000;
    for (i = 2; i < len; i++, scale /= 10) {
        if (s[i] < '0' || s[i] > '9' || (q == 1000 && s[i] != '0'))
            return -1;
        q += (s[i] - '0') * scale;
    }
    return q;
}

static int ml_lang_ows(char c)
{
    return c == ' ' || c == '\t';
}

/* One element of the list: its range and weight (1000 when none). 0 when
 * the element is malformed. Parameters other than q are ignored. */
static int ml_lang_element(const char *s, apr_size_t len, const char **range, apr_size_t *rlen,
                           int *q)
{
    apr_size_t i = 0, b;

    while (i < len && ml_lang_ows(s[i]))
        i++;
    b = i;
    while (i < len && s[i] != ';' && !ml_lang_ows(s[i]))
        i++;
    *range = s + b;
    *rlen = i - b;
    *q = 1000;
    if (!ml_lang_range_ok(*range, *rlen))
        return 0;
    while (i < len) {
        apr_size_t pb, pe;

        while (i < len && ml_lang_ows(s[i]))
            i++;
        if (i == len)
            break;
        if (s[i++] != ';')
            return 0;
        while (i < len && ml_lang_ows(s[i]))
            i++;
        pb = i;
        while (i < len && s[i] != ';')
            i++;
        pe = i;
        while (pe > pb && ml_lang_ows(s[pe - 1]))
            pe--;
        if (pe - pb >= 2 && (s[pb] == 'q' || s[pb] == 'Q') && s[pb + 1] == '=') {
            *q = ml_lang_qvalue(s + pb + 2, pe - pb - 2);
            if (*q < 0)
                return 0;
        }
    }
    return 1;
}

typedef struct ml_lang_scan {
    const char *const *offered;
    int n;
    apr_uint64_t mentioned;     /* answered by a range other than "*" */
    apr_uint64_t refused;       /* named exactly with weight 0 */
    int star_q;                 /* the best weight of "*", -1: none */
    int best, best_q;
} ml_lang_scan_t;

/* Calls fn for each well-formed element of the list. */
static void ml_lang_each(const char *accept, ml_lang_scan_t *scan,
                         void (*fn)(ml_lang_scan_t *, const char *, apr_size_t, int))
{
    const char *s = accept, *end, *range;
    apr_size_t rlen;
    int q;

    while (*s) {
        end = strchr(s, ',');
        if (!end)
            end = s + strlen(s);
        if (ml_lang_element(s, (apr_size_t)(end - s), &range, &rlen, &q))
            fn(scan, range, rlen, q);
        s = *end ? end + 1 : end;
    }
}

static void ml_lang_note(ml_lang_scan_t *scan, const char *range, apr_size_t len, int q)
{
    int i;

    if (len == 1 && range[0] == '*') {
        if (q > scan->star_q)
            scan->star_q = q;
        return;
    }
    i = ml_lang_find(range, len, scan->offered, scan->n);
    if (i >= 0)
        scan->mentioned |= (apr_uint64_t)1 << i;
    i = ml_lang_exact(range, len, scan->offered, scan->n);
    if (i >= 0 && q == 0)
        scan->refused |= (apr_uint64_t)1 << i;
}

static void ml_lang_pick(ml_lang_scan_t *scan, const char *range, apr_size_t len, int q)
{
    int i;

    if (q <= scan->best_q || (len == 1 && range[0] == '*'))
        return;
    i = ml_lang_find(range, len, scan->offered, scan->n);
    if (i >= 0 && !(scan->refused & ((apr_uint64_t)1 << i))) {
        scan->best = i;
        scan->best_q = q;
    }
}

int ml_lang_negotiate(const char *accept, const char *const *offered, int n)
{
    ml_lang_scan_t scan = { offered, n > ML_LANG_MAX_OFFERED ? ML_LANG_MAX_OFFERED : n, 0, 0,
                            -1, -1, 0 };
    int i;

    if (!accept || scan.n <= 0)
        return -1;
    ml_lang_each(accept, &scan, ml_lang_note);
    ml_lang_each(accept, &scan, ml_lang_pick);
    if (scan.star_q > scan.best_q) {
        for (i = 0; i < scan.n; i++) {
            apr_uint64_t bit = (apr_uint64_t)1 << i;

            if (!(scan.mentioned & bit) && !(scan.refused & bit))
                return i;
        }
    }
    return scan.best;
}
