/* Who may get a link: MagicLinkAllow entries and MagicLinkAllowFile lines.
 *
 * An entry is an address ("ann@example.com"), a domain ("@example.com", which
 * does not include its subdomains) or "*" (anyone). Matching ignores ASCII
 * case, since mail systems in practice do. */
#ifndef ML_POLICY_H
#define ML_POLICY_H

#include <apr_pools.h>
#include <apr_tables.h>

typedef struct ml_policy {
    apr_array_header_t *entries;   /* const char *, lower-cased */
    int anyone;
} ml_policy_t;

ml_policy_t *ml_policy_make(apr_pool_t *p);

/* Adds one entry; NULL on success, else why it is not one. */
const char *ml_policy_add(ml_policy_t *pol, const char *entry, apr_pool_t *p);

/* Adds every line of a file; NULL on success, else "path line N: why". */
const char *ml_policy_add_file(ml_policy_t *pol, const char *path, apr_pool_t *p);

/* Entries of both; NULL arguments allowed. */
ml_policy_t *ml_policy_merge(apr_pool_t *p, const ml_policy_t *base, const ml_policy_t *add);

/* Whether a normalized address may sign in. */
int ml_policy_allows(const ml_policy_t *pol, const char *addr);

int ml_policy_empty(const ml_policy_t *pol);

#endif
