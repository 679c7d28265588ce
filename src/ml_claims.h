/* Claims: a flat JSON object of strings, the payload of every sealed value.
 *
 * Values live in the caller's pool. Writing produces exactly the bytes Go's
 * encoding/json writes for a map[string]string through gorilla/securecookie's
 * JSONEncoder (sorted keys, HTML-safe escapes, a trailing newline), with no
 * allocation beyond the recycled output buffer. Reading goes through jansson,
 * whose parser vets the untrusted side (UTF-8, escapes, duplicates). */
#ifndef ML_CLAIMS_H
#define ML_CLAIMS_H

#include <apr_pools.h>
#include "ml_buf.h"

#define ML_CLAIMS_MAX 32

typedef struct ml_claim {
    const char *key;
    const char *val;
} ml_claim_t;

typedef struct ml_claims {
    ml_claim_t items[ML_CLAIMS_MAX];
    int n;
} ml_claims_t;

static inline void ml_claims_clear(ml_claims_t *c) { c->n = 0; }

/* Adds or replaces; APR_ENOSPC past ML_CLAIMS_MAX. Strings are not copied. */
apr_status_t ml_claims_set(ml_claims_t *c, const char *key, const char *val);
const char *ml_claims_get(const ml_claims_t *c, const char *key);

/* Appends the JSON to out; APR_EINVAL if a key or value is not valid UTF-8. */
apr_status_t ml_claims_to_json(const ml_claims_t *c, ml_buf_t *out);

/* Parses a JSON object whose values are all strings into *c, copying the
 * strings into p. Returns APR_EINVAL with *why set on anything else. */
apr_status_t ml_claims_from_json(ml_claims_t *c, const char *json, apr_size_t len,
                                 apr_pool_t *p, const char **why);

/* Appends str as a quoted JSON string, escaped as Go's encoder escapes it;
 * APR_EINVAL if str is not valid UTF-8. For other JSON writers (ml_jwt). */
apr_status_t ml_json_string(ml_buf_t *out, const char *str);

#endif
