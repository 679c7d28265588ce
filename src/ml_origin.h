/* Web origins (RFC 6454): "scheme://host[:port]", as a browser sends them in
 * the Origin header and as MagicLinkBaseURL names the site.
 *
 * Two origins are the same when scheme, host and port are: scheme and host
 * compared without regard to ASCII case, the port defaulted from the scheme
 * (http 80, https 443). Anything else in the text (a path, a query, user
 * info, "null", spaces, a second origin) makes it no origin, and no origin is
 * never the same as anything. */
#ifndef ML_ORIGIN_H
#define ML_ORIGIN_H

#include <apr.h>

#define ML_ORIGIN_MAX 512

/* 1 when a[0..alen) and b[0..blen) are both origins and the same one. */
int ml_origin_same(const char *a, apr_size_t alen, const char *b, apr_size_t blen);

#endif
