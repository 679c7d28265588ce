/* libFuzzer target: the Cookie header (ml_cookie) and the Origin comparison
 * (ml_origin), both read from every request.
 *
 * Input: NAME '\n' HEADER1 ['\n' HEADER2]. The name is looked up as sent and
 * with the __Host- prefix, across both headers.
 *  1. Count and first value agree with a reference parser written another
 *     way (split into pieces first, then trim); two or more of a name give
 *     no value; the value lies inside the header.
 *  2. Origins: ml_origin_same is symmetric; what is the same as an origin is
 *     the same as itself; what is the same as "https://site.example" spells
 *     it, up to ASCII case and an explicit :443. */
#include "fuzz_common.h"

#include "ml_cookie.h"
#include "ml_origin.h"

#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ml_fuzz_pools();
    return 0;
}

typedef struct {
    int count;
    const char *val;
    size_t len;
} ref_hit_t;

static int ref_ws(char c)
{
    return c == ' ' || c == '\t';
}

/* Reference: collect the pieces between ';', then look at each. */
static void ref_scan(const char *h, size_t n, const char *name, size_t nlen, ref_hit_t *hit)
{
    size_t starts[4096], ends[4096], k = 0, i, b = 0;

    if (memchr(h, '\0', n))
        n = (size_t)((const char *)memchr(h, '\0', n) - h);
    for (i = 0; i <= n && k < 4096; i++) {
        if (i == n || h[i] == ';') {
            starts[k] = b;
            ends[k++] = i;
            b = i + 1;
        }
    }
    for (i = 0; i < k; i++) {
        const char *p = h + starts[i], *e = h + ends[i], *eq = memchr(p, '=', (size_t)(e - p));
        const char *ne, *vb, *ve;

        if (!eq || nlen == 0)
            continue;
        while (p < eq && ref_ws(*p))
            p++;
        for (ne = eq; ne > p && ref_ws(ne[-1]); ne--)
            ;
        if ((size_t)(ne - p) != nlen || memcmp(p, name, nlen) != 0)
            continue;
        for (vb = eq + 1; vb < e && ref_ws(*vb); vb++)
            ;
        for (ve = e; ve > vb && ref_ws(ve[-1]); ve--)
            ;
        if (hit->count++ == 0) {
            hit->val = vb;
            hit->len = (size_t)(ve - vb);
        }
    }
}

static void check_cookie(const char *name, size_t nlen, const char *h1, size_t n1,
                         const char *h2, size_t n2)
{
    ml_cookie_hit_t hit;
    ref_hit_t ref = { 0, NULL, 0 };
    const char *v;
    apr_size_t vlen;

    ml_cookie_hit_init(&hit);
    ml_cookie_scan(h1, n1, name, nlen, &hit);
    if (h2)
        ml_cookie_scan(h2, n2, name, nlen, &hit);
    ref_scan(h1, n1, name, nlen, &ref);
    if (h2)
        ref_scan(h2, n2, name, nlen, &ref);
    ML_FUZZ_ASSERT(hit.count == (ref.count > 2 ? 2 : ref.count));
    if (ml_cookie_single(&hit, &v, &vlen)) {
        ML_FUZZ_ASSERT(ref.count == 1 && v == ref.val && vlen == ref.len);
        ML_FUZZ_ASSERT((v >= h1 && v + vlen <= h1 + n1) || (h2 && v >= h2 && v + vlen <= h2 + n2));
        ML_FUZZ_ASSERT(vlen == 0 || (!ref_ws(v[0]) && !ref_ws(v[vlen - 1])));
        ML_FUZZ_ASSERT(!memchr(v, ';', vlen));
    } else {
        ML_FUZZ_ASSERT(ref.count != 1);
    }
}

/* Lower-cased, with ":443" dropped after an https host: how the site's own
 * origin may be spelled. */
static int spells_site(const char *s, size_t n)
{
    static const char site[] = "https://site.example";
    char low[64];
    size_t i;

    if (n >= sizeof(low))
        return 0;
    for (i = 0; i < n; i++)
        low[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
    if (n == sizeof(site) - 1 + 4 && memcmp(low + n - 4, ":443", 4) == 0)
        n -= 4;
    return n == sizeof(site) - 1 && memcmp(low, site, n) == 0;
}

static void check_origin(const char *a, size_t an, const char *b, size_t bn)
{
    int ab = ml_origin_same(a, an, b, bn), ba = ml_origin_same(b, bn, a, an);

    ML_FUZZ_ASSERT(ab == ba);
    if (ab)
        ML_FUZZ_ASSERT(ml_origin_same(a, an, a, an) && ml_origin_same(b, bn, b, bn));
    if (ml_origin_same(a, an, "https://site.example", 20))
        ML_FUZZ_ASSERT(spells_site(a, an));
    if (spells_site(a, an))
        ML_FUZZ_ASSERT(ml_origin_same(a, an, "https://site.example", 20));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size + 1);
    const char *nl, *nl2, *h2 = NULL;
    size_t nlen, n1, n2 = 0;
    char host[80];

    if (!in)
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    nl = memchr(in, '\n', size);
    nlen = nl ? (size_t)(nl - in) : 0;
    if (nl && nlen < 64) {
        const char *h1 = nl + 1;
        n1 = size - nlen - 1;
        if ((nl2 = memchr(h1, '\n', n1)) != NULL) {
            h2 = nl2 + 1;
            n2 = n1 - (size_t)(nl2 - h1) - 1;
            n1 = (size_t)(nl2 - h1);
        }
        check_cookie(in, nlen, h1, n1, h2, n2);
        memcpy(host, ML_COOKIE_HOST_PREFIX, 7);
        memcpy(host + 7, in, nlen);
        check_cookie(host, nlen + 7, h1, n1, h2, n2);
        check_origin(in, nlen, h1, n1);
    }
    check_origin(in, size, "http://127.0.0.1:8080", 21);
    free(in);
    return 0;
}
