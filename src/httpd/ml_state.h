/* Shared state over an httpd socache provider (MagicLinkCache): consumed
 * link ids, rate-limit counters, code tries and sign-out times.
 *
 * One store per process, shared by every virtual host. Keys are digests
 * (ml_scratch_digest), so no address is stored in the clear. On providers
 * that are not safe across processes (shmcb) every operation runs under a
 * global mutex, which makes consume and count atomic on one server.
 * Counters (rate limits, code tries) are read-modify-write: exact on one
 * server, best effort across servers (two servers may both count from the
 * same value), since socache offers no atomic increment.
 * Every failure of the provider is reported to the caller (fail closed);
 * the log gets one line when failures start and one when they stop. */
#ifndef ML_STATE_H
#define ML_STATE_H

#include "httpd.h"
#include "ml_scratch.h"

typedef struct ml_store ml_store_t;

int ml_store_spec_valid(const char *spec);

/* pre_config: register the mutex type. */
void ml_store_pre_config(apr_pool_t *pconf);
/* post_config: create and initialise the provider instance. */
apr_status_t ml_store_post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                                  const char *spec);
void ml_store_child_init(apr_pool_t *p, server_rec *s);

ml_store_t *ml_store_get(void);

/* A counter in a fixed window: limit <= 0 turns it off. */
typedef struct {
    const char *kind, *key;
    int limit, window;
} ml_counter_t;

/* An entry recorded as present until expiry. */
typedef struct {
    const char *kind, *key;
    apr_time_t expiry;
} ml_entry_t;

#define ML_STORE_MAX_COUNTERS 4

/* Adds one to each of the n counters; *over is 1 when any now exceeds its
 * limit. Unless one does, records issue (when not NULL). All of it under
 * one hold of the lock: a sign-in request takes it once.
 *
 * Single use, by remove-as-consume: issue records a link id as usable;
 * consume removes it, and *first is 1 only for the one caller whose remove
 * found it. socache has no compare-and-set, but every provider's remove
 * reports whether the entry was there, so this holds across servers
 * sharing redis or memcache; and since a lost entry reads as "used", an
 * evicted entry or a restarted shmcb can never let a link be used twice
 * (it fails closed: the link reads as used). */
apr_status_t ml_store_count(ml_store_t *st, server_rec *s, ml_scratch_t *sc,
                            const ml_crypto_t *c, const ml_counter_t *cs, int n,
                            const ml_entry_t *issue, int *over, apr_pool_t *p);
apr_status_t ml_store_consume(ml_store_t *st, server_rec *s, ml_scratch_t *sc,
                              const ml_crypto_t *c, const char *kind, const char *key,
                              int *first, apr_pool_t *p);

/* A Unix time stored under key (sign-out "not before"); 0 when absent. */
apr_status_t ml_store_put_time(ml_store_t *st, server_rec *s, ml_scratch_t *sc,
                               const ml_crypto_t *c, const char *kind, const char *key,
                               apr_int64_t value, apr_time_t expiry, apr_pool_t *p);
apr_status_t ml_store_get_time(ml_store_t *st, server_rec *s, ml_scratch_t *sc,
                               const ml_crypto_t *c, const char *kind, const char *key,
                               apr_int64_t *value, apr_pool_t *p);

#endif
