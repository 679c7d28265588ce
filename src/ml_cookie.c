#include "ml_cookie.h"

#include <string.h>

static int ml_cookie_ws(char c)
{
    return c == ' ' || c == '\t';
}

/* Trims spaces and tabs off both ends of s[*b..*e). */
static void ml_cookie_trim(const char *s, apr_size_t *b, apr_size_t *e)
{
    while (*b < *e && ml_cookie_ws(s[*b]))
        (*b)++;
    while (*e > *b && ml_cookie_ws(s[*e - 1]))
        (*e)--;
}

void ml_cookie_scan(const char *header, apr_size_t len, const char *name, apr_size_t nlen,
                    ml_cookie_hit_t *hit)
{
    const char *nul = header ? memchr(header, '\0', len) : NULL;
    apr_size_t start = 0;

    if (!header || nlen == 0)
        return;
    if (nul)
        len = (apr_size_t)(nul - header);
    while (start <= len) {
        const char *semi = memchr(header + start, ';', len - start);
        apr_size_t end = semi ? (apr_size_t)(semi - header) : len;
        const char *eq = memchr(header + start, '=', end - start);

        if (eq) {
            apr_size_t nb = start, ne = (apr_size_t)(eq - header);
            apr_size_t vb = ne + 1, ve = end;

            ml_cookie_trim(header, &nb, &ne);
            if (ne - nb == nlen && memcmp(header + nb, name, nlen) == 0) {
                ml_cookie_trim(header, &vb, &ve);
                if (hit->count == 0) {
                    hit->val = header + vb;
                    hit->len = ve - vb;
                }
                if (hit->count < 2) /* two is already "more than one" */
                    hit->count++;
            }
        }
        start = end + 1;
    }
}

int ml_cookie_single(const ml_cookie_hit_t *hit, const char **val, apr_size_t *len)
{
    if (hit->count != 1)
        return 0;
    *val = hit->val;
    *len = hit->len;
    return 1;
}
