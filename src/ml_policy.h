/* Who may sign in: MagicLinkAllow entries and MagicLinkAllowFile lines.
 *
 * An entry is an address ("ann@example.com"), a domain ("@example.com",
 * which does not include its subdomains) or "*" (anyone). Entries are
 * normalized as ml_addr normalizes addresses (lower case, domains in
 * A-labels), so "@Bücher.example" and "@xn--bcher-kva.example" are one
 * entry and match either spelling of an address; lookups take a canonical
 * address (ml_addr_normalize's output) and compare it exactly.
 *
 * A policy is a set of inline entries plus any number of allow files.
 * Files are re-read at run time, without a restart:
 *   - a lookup stats a file at most once a second per process (whichever
 *     thread comes first does it; the others do not wait) and re-reads it
 *     when its inode, size, mtime or ctime changed;
 *   - the parsed list is immutable and published with an atomic pointer
 *     swap, so readers never block and never see half a list;
 *   - a file that cannot be read or parsed at run time allows nobody
 *     (its entries only: inline entries and other files still count) until
 *     it is fixed; the reporter hears of each change of state once, not
 *     once per request;
 *   - swapped-out lists are freed as soon as no lookup is inside one: each
 *     file counts the lookups in progress, and the thread that swapped frees
 *     the old lists the next time it sees that count at zero. At most
 *     ML_POLICY_RETIRED_MAX old lists wait per file; while that many wait, a
 *     change is picked up at a later check instead (never more memory).
 * Lists live in pools of their own; all of a file's lists are freed with
 * the pool the policy was made in (the configuration pool). */
#ifndef ML_POLICY_H
#define ML_POLICY_H

#include <apr_pools.h>
#include <apr_time.h>

#define ML_POLICY_RETIRED_MAX 8
#define ML_POLICY_LINE_MAX 1024
#define ML_POLICY_CHECK_EVERY apr_time_from_sec(1)

typedef struct ml_policy ml_policy_t;

ml_policy_t *ml_policy_make(apr_pool_t *p);

/* Adds one entry; NULL on success, else why it is not one. */
const char *ml_policy_add(ml_policy_t *pol, const char *entry, apr_pool_t *p);

/* Adds an allow file (read now: NULL on success, else "path line N: why" or
 * "path: why"). The same path added to several policies made from one pool
 * is read and watched once. */
const char *ml_policy_add_file(ml_policy_t *pol, const char *path, apr_pool_t *p);

/* Whether a canonical address may sign in under this policy now; a NULL or
 * empty policy allows nobody. Safe from any number of threads. */
int ml_policy_allows(const ml_policy_t *pol, const char *addr);
/* The same, at a given time (tests; now decides when files are stat'ed). */
int ml_policy_allows_at(const ml_policy_t *pol, const char *addr, apr_time_t now);

/* No entry at all (inline or in its files as loaded at start). */
int ml_policy_empty(const ml_policy_t *pol);
/* Entries as loaded now ("*" counts as one). */
int ml_policy_count(const ml_policy_t *pol);

/* Told about a file's state changes: ok=1 when a new version was loaded
 * (entries: how many), ok=0 when it could not be read or parsed (why says
 * what), from the thread that noticed. Process-wide; NULL: nobody told. */
typedef void ml_policy_report_fn(const char *path, int ok, const char *why, int entries);
void ml_policy_set_reporter(ml_policy_report_fn *fn);

#endif
