/* The Cookie request header: finding one cookie by name.
 *
 * Browsers send "a=1; b=2" (RFC 6265 section 5.4). A cookie name may come
 * more than once: a sibling host (or a script on one) can set a cookie of
 * the same name for a parent domain or another path, and the browser then
 * sends both, in an order the server cannot trust. So the caller counts
 * every match, across all Cookie headers of the request, and takes the
 * value only when there is exactly one: two of a name are no valid cookie.
 *
 * Names are compared exactly (case-sensitive, as browsers store them);
 * spaces and tabs around names and values are not part of them; a piece
 * without '=' has no name (RFC 6265bis 5.6) and matches nothing. Nothing is
 * allocated: the value points into the header. */
#ifndef ML_COOKIE_H
#define ML_COOKIE_H

#include <apr.h>

/* The prefix that makes a browser keep a cookie only when it is Secure, has
 * Path=/ and no Domain (RFC 6265bis 4.1.3.2): no other host can set it. */
#define ML_COOKIE_HOST_PREFIX "__Host-"

typedef struct ml_cookie_hit {
    const char *val; /* the first match's value, inside the header */
    apr_size_t len;
    int count; /* cookies of the name seen: 0, 1, or 2 for "more" */
} ml_cookie_hit_t;

static inline void ml_cookie_hit_init(ml_cookie_hit_t *h)
{
    h->val = NULL;
    h->len = 0;
    h->count = 0;
}

/* Counts the cookies called name[0..nlen) in header[0..len) into *hit
 * (call once per Cookie header, same hit). A NUL ends the header early. */
void ml_cookie_scan(const char *header, apr_size_t len, const char *name, apr_size_t nlen,
                    ml_cookie_hit_t *hit);

/* 1 when exactly one cookie of the name was seen (*val, *len set), else 0. */
int ml_cookie_single(const ml_cookie_hit_t *hit, const char **val, apr_size_t *len);

#endif
