/* Return paths: where a visitor lands after signing in.
 *
 * Only a same-origin absolute path is accepted: it starts with one '/', holds
 * no backslash, no control character and no scheme, and neither do its
 * percent-decoded forms (decoded up to three times, since each proxy or
 * framework on the way may decode once more). Anything else is refused, so
 * a crafted `return` can never become an open redirect. */
#ifndef ML_RETURN_H
#define ML_RETURN_H

#include <apr_pools.h>

#define ML_RETURN_MAX 2048

/* 1 if `path` is a safe return path, 0 otherwise. */
int ml_return_valid(const char *path);

/* `path` if valid, else `fallback`. */
const char *ml_return_or(const char *path, const char *fallback);

#endif
