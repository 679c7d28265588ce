/* Claims: a flat JSON object of strings, the payload of every sealed value.
 *
 * Values live in the caller's pool. Writing produces exactly the bytes Go's
 * encoding/json writes for a map[string]string through gorilla/securecookie's
 * JSONEncoder (sorted keys, HTML-safe escapes, a trailing newline), with no
 * allocation beyond the recycled output buffer. Reading is our own strict
 * parser of that one shape (UTF-8, escapes, duplicates vetted as jansson's
 * json_loadb did; test/fuzz/fuzz_claims_diff.c compares the two), which
 * allocates only from the caller's pool: no heap call of its own. */
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

/* Parses a JSON object whose values are all strings into *c, the decoded
 * strings in one block of p. Refuses (APR_EINVAL, *why set to a short reason,
 * *c left empty) anything else: invalid UTF-8 or escapes, a lone surrogate,
 * NUL in a string, a duplicate name, more than ML_CLAIMS_MAX members, a
 * non-string value, anything but whitespace after the object. */
apr_status_t ml_claims_from_json(ml_claims_t *c, const char *json, apr_size_t len,
                                 apr_pool_t *p, const char **why);

/* Appends str as a quoted JSON string, escaped as Go's encoder escapes it;
 * APR_EINVAL if str is not valid UTF-8. For other JSON writers (ml_jwt). */
apr_status_t ml_json_string(ml_buf_t *out, const char *str);

#endif
