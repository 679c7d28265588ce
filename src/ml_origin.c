#include "ml_origin.h"

#include <string.h>

typedef struct {
    const char *scheme, *host;
    apr_size_t slen, hlen;
    unsigned port;
} ml_origin_t;

static int ml_lower_eq(const char *a, const char *b, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a[i], y = (unsigned char)b[i];
        if (x >= 'A' && x <= 'Z')
            x += 32;
        if (y >= 'A' && y <= 'Z')
            y += 32;
        if (x != y)
            return 0;
    }
    return 1;
}

/* Host characters: a registered name, an IPv4 address, or an IPv6 literal
 * in brackets; no '@' (user info), '/', '?', '#', '%' or controls. */
static int ml_host_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
           || c == '.' || c == '_' || c == '~';
}

static int ml_host_ok(const char *h, apr_size_t n)
{
    apr_size_t i;

    if (n == 0)
        return 0;
    if (h[0] == '[') {
        if (n < 3 || h[n - 1] != ']')
            return 0;
        for (i = 1; i + 1 < n; i++)
            if (!(h[i] == ':' || h[i] == '.' || (h[i] >= '0' && h[i] <= '9')
                  || ((h[i] | 0x20) >= 'a' && (h[i] | 0x20) <= 'f')))
                return 0;
        return 1;
    }
    for (i = 0; i < n; i++)
        if (!ml_host_char((unsigned char)h[i]))
            return 0;
    return 1;
}

static int ml_origin_parse(const char *s, apr_size_t n, ml_origin_t *o)
{
    const char *sep = n >= 3 ? memchr(s, ':', n) : NULL, *port = NULL, *end = s + n, *p;
    unsigned v = 0;

    if (!sep || n > ML_ORIGIN_MAX || (apr_size_t)(end - sep) < 3 || sep[1] != '/' || sep[2] != '/')
        return 0;
    o->scheme = s;
    o->slen = (apr_size_t)(sep - s);
    if (o->slen == 4 && ml_lower_eq(s, "http", 4))
        o->port = 80;
    else if (o->slen == 5 && ml_lower_eq(s, "https", 5))
        o->port = 443;
    else
        return 0;
    o->host = sep + 3;
    /* The port's ':' is the last one, and after an IPv6 literal's ']'. */
    for (p = end; p > o->host && p[-1] != ':' && p[-1] != ']'; p--)
        ;
    if (p > o->host && p[-1] == ':')
        port = p;
    o->hlen = (apr_size_t)((port ? port - 1 : end) - o->host);
    if (!ml_host_ok(o->host, o->hlen))
        return 0;
    if (port) {
        if (port == end || end - port > 5)
            return 0;
        for (p = port; p < end; p++) {
            if (*p < '0' || *p > '9')
                return 0;
            v = v * 10 + (unsigned)(*p - '0');
        }
        if (v == 0 || v > 65535)
            return 0;
        o->port = v;
    }
    return 1;
}

int ml_origin_same(const char *a, apr_size_t alen, const char *b, apr_size_t blen)
{
    ml_origin_t x, y;

    if (!a || !b || !ml_origin_parse(a, alen, &x) || !ml_origin_parse(b, blen, &y))
        return 0;
    return x.slen == y.slen && ml_lower_eq(x.scheme, y.scheme, x.slen) && x.hlen == y.hlen
           && ml_lower_eq(x.host, y.host, x.hlen) && x.port == y.port;
}
