/* libFuzzer target: return paths (ml_return), where a visitor lands after
 * signing in.
 *
 * Property: a path accepted never leaves the site. It and each of its
 * percent-decoded forms (decoded here by a decoder of our own, as far as
 * decoding changes anything) start with exactly one '/', followed by
 * neither '/' nor '\', and hold no backslash, control character or DEL —
 * what browsers and frameworks could read as another host or scheme. And
 * ml_return_or gives either the path or the fallback. */
#include "fuzz_common.h"

#include "ml_return.h"

#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ml_fuzz_pools();
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static size_t decode(const char *in, size_t n, char *out)
{
    size_t i, o = 0;

    for (i = 0; i < n; i++) {
        if (in[i] == '%' && i + 2 < n && hexval(in[i + 1]) >= 0 && hexval(in[i + 2]) >= 0) {
            out[o++] = (char)(hexval(in[i + 1]) * 16 + hexval(in[i + 2]));
            i += 2;
        } else {
            out[o++] = in[i];
        }
    }
    return o;
}

static void check_on_site(const char *s, size_t n)
{
    size_t i;

    ML_FUZZ_ASSERT(n >= 1 && s[0] == '/');
    ML_FUZZ_ASSERT(n == 1 || (s[1] != '/' && s[1] != '\\'));
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        ML_FUZZ_ASSERT(c >= 0x20 && c != 0x7f && c != '\\');
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *p = malloc(size + 1), *a, *b;
    size_t n = size, round;

    if (!p)
        return 0;
    memcpy(p, data, size);
    p[size] = '\0';
    n = strlen(p);
    a = malloc(n + 1);
    b = malloc(n + 1);
    if (a && b && ml_return_valid(p)) {
        const char *cur = p;
        size_t len = n;
        check_on_site(cur, len);
        for (round = 0; round < 3; round++) {
            char *dst = round % 2 ? b : a;
            size_t m = decode(cur, len, dst);
            if (m == len && memcmp(dst, cur, m) == 0)
                break;
            check_on_site(dst, m);
            cur = dst;
            len = m;
        }
        ML_FUZZ_ASSERT(ml_return_or(p, "/") == p);
    } else if (a && b) {
        ML_FUZZ_ASSERT(strcmp(ml_return_or(p, "/fallback"), "/fallback") == 0);
    }
    free(a);
    free(b);
    free(p);
    return 0;
}
