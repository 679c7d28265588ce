/* Shared state over an httpd socache provider (MagicLinkCache): consumed
 * link ids, rate-limit counters, code tries and sign-out times.
 *
 * One store per process, shared by every virtual host. Keys are digests
 * (ml_scratch_digest), so no address is stored in the clear. On providers
 * that are not safe across processes (shmcb) every operation runs under a
 * global mutex, which makes consume and count atomic on one server. */
#ifndef ML_STORE_H
#define ML_STORE_H

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

/* Records key as used until expiry. *first is 1 for the one caller that
 * recorded it, 0 when it was already there. */
apr_status_t ml_store_consume(ml_store_t *st, server_rec *s, ml_scratch_t *sc,
                              const ml_crypto_t *c, const char *kind, const char *key,
                              apr_time_t expiry, int *first, apr_pool_t *p);

/* Adds one to the counter for key in a fixed window; *over is 1 when the
 * count now exceeds limit. */
apr_status_t ml_store_count(ml_store_t *st, server_rec *s, ml_scratch_t *sc,
                            const ml_crypto_t *c, const char *kind, const char *key,
                            int limit, int window, int *over, apr_pool_t *p);

/* A Unix time stored under key (sign-out "not before"); 0 when absent. */
apr_status_t ml_store_put_time(ml_store_t *st, server_rec *s, ml_scratch_t *sc,
                               const ml_crypto_t *c, const char *kind, const char *key,
                               apr_int64_t value, apr_time_t expiry, apr_pool_t *p);
apr_status_t ml_store_get_time(ml_store_t *st, server_rec *s, ml_scratch_t *sc,
                               const ml_crypto_t *c, const char *kind, const char *key,
                               apr_int64_t *value, apr_pool_t *p);

#endif
