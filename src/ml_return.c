#include "ml_return.h"

#include <apr_lib.h>
#include <string.h>

/* The path part (before any query or fragment) has no empty segment and no
 * dot segment: "/.//host" is harmless to a browser, but not to every
 * framework that normalizes a path and then redirects to it. */
static int ml_return_path_ok(const char *s, apr_size_t n)
{
    apr_size_t i, seg = 1;

    for (i = 1; i <= n; i++) {
        if (i == n || s[i] == '/' || s[i] == '?' || s[i] == '#') {
            apr_size_t len = i - seg;
            int last = (i == n || s[i] != '/');
            if ((len == 0 && !last) || (len == 1 && s[seg] == '.')
                || (len == 2 && s[seg] == '.' && s[seg + 1] == '.'))
                return 0;
            if (last)
                return 1;
            seg = i + 1;
        }
    }
    return 1;
}

/* Checks one (possibly decoded) form of the path. */
static int ml_return_shape_ok(const char *s, apr_size_t n)
{
    apr_size_t i;

    if (n == 0 || s[0] != '/')
        return 0;
    /* "//host" and "/\host" are network-path references to browsers. */
    if (n > 1 && (s[1] == '/' || s[1] == '\\'))
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f || c == '\\')
            return 0;
    }
    return ml_return_path_ok(s, n);
}

static int ml_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)apr_tolower(c);
    return (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
}

/* Percent-decodes in[0..n) into out; returns the new length and whether
 * anything was decoded. A malformed escape is kept as is. */
static apr_size_t ml_pct_decode(const char *in, apr_size_t n, char *out, int *changed)
{
    apr_size_t i, o = 0;

    *changed = 0;
    for (i = 0; i < n; i++) {
        int hi, lo;
        if (in[i] == '%' && i + 2 < n
            && (hi = ml_hex(in[i + 1])) >= 0 && (lo = ml_hex(in[i + 2])) >= 0) {
            out[o++] = (char)(hi << 4 | lo);
            i += 2;
            *changed = 1;
        }
        else {
            out[o++] = in[i];
        }
    }
    return o;
}

int ml_return_valid(const char *path)
{
    char a[ML_RETURN_MAX + 1], b[ML_RETURN_MAX + 1];
    apr_size_t n;
    int round, changed;
    const char *cur = path;

    if (!path)
        return 0;
    n = strlen(path);
    if (n > ML_RETURN_MAX)
        return 0;
    for (round = 0; round < 4; round++) {
        char *dst = (round % 2) ? b : a;
        if (!ml_return_shape_ok(cur, n))
            return 0;
        if (round == 3)
            break;
        n = ml_pct_decode(cur, n, dst, &changed);
        if (!changed)
            break;
        cur = dst;
    }
    /* Still encoded after three rounds: nobody writes links like that. (The
     * decoded forms are not NUL-terminated: look within their length.) */
    return round < 3 || !memchr(cur, '%', n);
}

const char *ml_return_or(const char *path, const char *fallback)
{
    return ml_return_valid(path) ? path : fallback;
}
