#include "ml_state.h"
#include "ml_cachekey.h"
#include "ml_metrics_glue.h"

#include "ap_socache.h"
#include "ap_provider.h"
#include "http_log.h"
#include "util_mutex.h"
#include "apr_strings.h"
#include "apr_atomic.h"

APLOG_USE_MODULE(magiclink);

#define ML_MUTEX_TYPE "magiclink-cache"

struct ml_store {
    const ap_socache_provider_t *provider;
    ap_socache_instance_t *instance;
    apr_global_mutex_t *mutex;       /* NULL when the provider needs none */
    const char *name;
    int remote;                      /* redis, memcache: over the network */
    volatile apr_uint32_t down;      /* 1 while this process sees the store failing */
    volatile apr_uint32_t last_ok;   /* Unix second of the last real success */
};

/* A probe entry: written to tell a real miss from a store that is down. */
static const unsigned char ml_probe_id[] = "h-magiclink-probe";

static ml_store_t *ml_the_store;

int ml_store_spec_valid(const char *spec)
{
    const char *colon = strchr(spec, ':');
    apr_size_t n = colon ? (apr_size_t)(colon - spec) : strlen(spec);

    return n > 0 && n < 32 && strspn(spec, "abcdefghijklmnopqrstuvwxyz0123456789_") >= n;
}

void ml_store_pre_config(apr_pool_t *pconf)
{
    ap_mutex_register(pconf, ML_MUTEX_TYPE, NULL, APR_LOCK_DEFAULT, 0);
    ml_the_store = NULL;
}

static apr_status_t ml_store_cleanup(void *data)
{
    ml_store_t *st = data;

    if (st->instance)
        st->provider->destroy(st->instance, NULL);
    ml_the_store = NULL;
    return APR_SUCCESS;
}

apr_status_t ml_store_post_config(apr_pool_t *pconf, apr_pool_t *ptemp, server_rec *s,
                                  const char *spec)
{
    static struct ap_socache_hints hints = { ML_CACHEKEY_LEN, 24, 60 * APR_USEC_PER_SEC };
    ml_store_t *st = apr_pcalloc(pconf, sizeof(*st));
    const char *name = spec ? spec : "shmcb", *args = NULL, *colon = strchr(name, ':');
    const char *err;
    apr_status_t rv;

    if (colon) {
        args = colon + 1;
        name = apr_pstrmemdup(pconf, name, (apr_size_t)(colon - name));
    }
    st->name = name;
    st->provider = ap_lookup_provider(AP_SOCACHE_PROVIDER_GROUP, name,
                                      AP_SOCACHE_PROVIDER_VERSION);
    if (!st->provider) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, APLOGNO(10510)
                     "MagicLinkCache: no socache provider \"%s\" (LoadModule socache_%s_module?)",
                     name, name);
        return APR_EGENERAL;
    }
    err = st->provider->create(&st->instance, args, ptemp, pconf);
    if (err) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, APLOGNO(10511) "MagicLinkCache %s: %s",
                     name, err);
        return APR_EGENERAL;
    }
    st->remote = !(st->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE);
    if (st->provider->flags & AP_SOCACHE_FLAG_NOTMPSAFE) {
        rv = ap_global_mutex_create(&st->mutex, NULL, ML_MUTEX_TYPE, NULL, s, pconf, 0);
        if (rv != APR_SUCCESS)
            return rv;
    }
    rv = st->provider->init(st->instance, ML_CACHE_NAMESPACE, &hints, s, pconf);
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s, APLOGNO(10512)
                     "MagicLinkCache %s: cannot initialise", name);
        return rv;
    }
    apr_pool_cleanup_register(pconf, st, ml_store_cleanup, apr_pool_cleanup_null);
    ml_the_store = st;
    return APR_SUCCESS;
}

void ml_store_child_init(apr_pool_t *p, server_rec *s)
{
    ml_store_t *st = ml_the_store;
    apr_status_t rv;

    if (!st || !st->mutex)
        return;
    rv = apr_global_mutex_child_init(&st->mutex, apr_global_mutex_lockfile(st->mutex), p);
    if (rv != APR_SUCCESS)
        ap_log_error(APLOG_MARK, APLOG_CRIT, rv, s, APLOGNO(10513)
                     "MagicLinkCache: cannot attach the cache mutex in this child");
}

ml_store_t *ml_store_get(void)
{
    return ml_the_store;
}

/* Logs an outage once when it starts and once when it ends, in each
 * process, however many requests fail in between. */
static apr_status_t ml_store_note(ml_store_t *st, server_rec *s, apr_status_t rv)
{
    ml_metric_set_store_up(rv == APR_SUCCESS);
    if (rv == APR_SUCCESS)
        apr_atomic_set32(&st->last_ok, (apr_uint32_t)apr_time_sec(apr_time_now()));
    if (rv != APR_SUCCESS) {
        if (apr_atomic_cas32(&st->down, 1, 0) == 0)
            ap_log_error(APLOG_MARK, APLOG_ERR, rv, s, APLOGNO(10514)
                         "MagicLinkCache %s is failing: sign-in answers 503 until it is back",
                         st->name);
    }
    else if (apr_atomic_read32(&st->down) && apr_atomic_cas32(&st->down, 0, 1) == 1) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, APLOGNO(10515)
                     "MagicLinkCache %s works again", st->name);
    }
    return rv;
}

/* Whether a "not found" can be believed. apr-util's redis and memcache
 * clients answer "not found" without asking while they hold a server for
 * dead (retrying every few seconds), so on those a miss counts only when
 * the store answered for real within the last second; otherwise a probe
 * write decides, costing at most about one round trip a second. APR_SUCCESS
 * for a real miss, else the failure. */
static apr_status_t ml_store_miss(ml_store_t *st, server_rec *s, apr_pool_t *p)
{
    apr_uint32_t now = (apr_uint32_t)apr_time_sec(apr_time_now());
    apr_status_t rv;

    if (!st->remote
        || (!apr_atomic_read32(&st->down) && now - apr_atomic_read32(&st->last_ok) <= 1))
        return APR_SUCCESS;
    rv = st->provider->store(st->instance, s, ml_probe_id, sizeof(ml_probe_id) - 1,
                             apr_time_from_sec(now + 60), (unsigned char *)"1", 1, p);
    return ml_store_note(st, s, rv);
}

/* Counts one operation (and times it, if t0 says so: ml_metrics.h). */
static apr_status_t ml_store_timed(uint64_t t0, apr_status_t rv)
{
    ml_metric_store_done(t0, rv == APR_SUCCESS);
    return rv;
}

/* For the health answer: a store in this server's shared memory always
 * answers; a remote one is asked with the probe write. */
int ml_health_store_ok(server_rec *s, apr_pool_t *p)
{
    ml_store_t *st = ml_the_store;
    uint64_t t0;
    apr_status_t rv;

    if (!st)
        return 0;
    if (!st->remote)
        return ml_store_note(st, s, APR_SUCCESS) == APR_SUCCESS;
    t0 = ml_metric_store_start();
    rv = st->provider->store(st->instance, s, ml_probe_id, sizeof(ml_probe_id) - 1,
                             apr_time_now() + apr_time_from_sec(60), (unsigned char *)"1", 1, p);
    return ml_store_timed(t0, ml_store_note(st, s, rv)) == APR_SUCCESS;
}

static apr_status_t ml_lock(ml_store_t *st)
{
    return st->mutex ? apr_global_mutex_lock(st->mutex) : APR_SUCCESS;
}

static void ml_unlock(ml_store_t *st)
{
    if (st->mutex)
        apr_global_mutex_unlock(st->mutex);
}

/* Writes one entry under the mutex (when the provider needs one). */
static apr_status_t ml_store_put(ml_store_t *st, server_rec *s, ml_scratch_t *sc,
                                 const ml_crypto_t *c, const char *kind, const char *key,
                                 apr_time_t expiry, const char *data, apr_pool_t *p)
{
    unsigned char id[ML_CACHEKEY_LEN];
    uint64_t t0 = ml_metric_store_start();
    apr_status_t rv;

    if (!ml_cachekey(sc, c, kind, key, id))
        return APR_EGENERAL;
    if ((rv = ml_lock(st)) != APR_SUCCESS)
        return ml_store_timed(t0, rv);
    rv = st->provider->store(st->instance, s, id, sizeof(id), expiry, (unsigned char *)data,
                             (unsigned int)strlen(data), p);
    ml_unlock(st);
    return ml_store_timed(t0, ml_store_note(st, s, rv));
}

apr_status_t ml_store_consume(ml_store_t *st, server_rec *s, ml_scratch_t *sc,
                              const ml_crypto_t *c, const char *kind, const char *key,
                              int *first, apr_pool_t *p)
{
    unsigned char id[ML_CACHEKEY_LEN];
    uint64_t t0 = ml_metric_store_start();
    apr_status_t rv;

    *first = 0;
    if (!ml_cachekey(sc, c, kind, key, id))
        return APR_EGENERAL;
    if ((rv = ml_lock(st)) != APR_SUCCESS)
        return ml_store_timed(t0, rv);
    /* Whoever removes the entry used the link; every other caller, on this
     * server or another one sharing the store, finds it gone. */
    rv = st->provider->remove(st->instance, s, id, sizeof(id), p);
    ml_unlock(st);
    if (rv == APR_SUCCESS)
        *first = 1;
    else if (APR_STATUS_IS_NOTFOUND(rv))
        return ml_store_timed(t0, ml_store_miss(st, s, p));
    return ml_store_timed(t0, ml_store_note(st, s, rv));
}

/* Adds one to the counter stored under id (value "count window_end"), the
 * caller holding the lock; *over is 1 when it now exceeds c->limit. */
static apr_status_t ml_count_one(ml_store_t *st, server_rec *s, const unsigned char *id,
                                 const ml_counter_t *c, apr_int64_t now, int *over,
                                 apr_pool_t *p)
{
    unsigned char val[48];
    unsigned int vlen = sizeof(val) - 1;
    apr_int64_t count = 0, end = now + c->window, c0, e0;
    char text[48];
    apr_status_t rv;

    rv = st->provider->retrieve(st->instance, s, id, ML_CACHEKEY_LEN, val, &vlen, p);
    if (rv != APR_SUCCESS && !APR_STATUS_IS_NOTFOUND(rv))
        return rv;
    if (rv == APR_SUCCESS) {
        val[vlen] = '\0';
        if (sscanf((char *)val, "%" APR_INT64_T_FMT " %" APR_INT64_T_FMT, &c0, &e0) == 2
            && e0 > now) {
            count = c0;
            end = e0;
        }
    }
    count++;
    apr_snprintf(text, sizeof(text), "%" APR_INT64_T_FMT " %" APR_INT64_T_FMT, count, end);
    *over |= count > c->limit;
    return st->provider->store(st->instance, s, id, ML_CACHEKEY_LEN, apr_time_from_sec(end),
                               (unsigned char *)text, (unsigned int)strlen(text), p);
}

apr_status_t ml_store_count(ml_store_t *st, server_rec *s, ml_scratch_t *sc,
                            const ml_crypto_t *c, const ml_counter_t *cs, int n,
                            const ml_entry_t *issue, int *over, apr_pool_t *p)
{
    unsigned char ids[ML_STORE_MAX_COUNTERS + 1][ML_CACHEKEY_LEN];
    uint64_t t0 = ml_metric_store_start();
    apr_int64_t now = apr_time_sec(apr_time_now());
    apr_status_t rv = APR_SUCCESS;
    int i, k = 0, active[ML_STORE_MAX_COUNTERS];

    *over = 0;
    if (n > ML_STORE_MAX_COUNTERS)
        return APR_EINVAL;
    /* Digests outside the lock: it guards only the store. */
    for (i = 0; i < n; i++)
        if (cs[i].limit > 0) {
            if (!ml_cachekey(sc, c, cs[i].kind, cs[i].key, ids[k]))
                return APR_EGENERAL;
            active[k++] = i;
        }
    if (issue && !ml_cachekey(sc, c, issue->kind, issue->key, ids[ML_STORE_MAX_COUNTERS]))
        return APR_EGENERAL;
    if (!k && !issue)
        return APR_SUCCESS;
    if ((rv = ml_lock(st)) != APR_SUCCESS)
        return ml_store_timed(t0, rv);
    for (i = 0; i < k && rv == APR_SUCCESS; i++)
        rv = ml_count_one(st, s, ids[i], &cs[active[i]], now, over, p);
    if (rv == APR_SUCCESS && issue && !*over)
        rv = st->provider->store(st->instance, s, ids[ML_STORE_MAX_COUNTERS], ML_CACHEKEY_LEN,
                                 issue->expiry, (unsigned char *)"1", 1, p);
    ml_unlock(st);
    return ml_store_timed(t0, ml_store_note(st, s, rv));
}

apr_status_t ml_store_put_time(ml_store_t *st, server_rec *s, ml_scratch_t *sc,
                               const ml_crypto_t *c, const char *kind, const char *key,
                               apr_int64_t value, apr_time_t expiry, apr_pool_t *p)
{
    return ml_store_put(st, s, sc, c, kind, key, expiry, apr_off_t_toa(p, value), p);
}

apr_status_t ml_store_get_time(ml_store_t *st, server_rec *s, ml_scratch_t *sc,
                               const ml_crypto_t *c, const char *kind, const char *key,
                               apr_int64_t *value, apr_pool_t *p)
{
    unsigned char id[ML_CACHEKEY_LEN], val[24];
    unsigned int vlen = sizeof(val) - 1;
    uint64_t t0 = ml_metric_store_start();
    apr_status_t rv;

    *value = 0;
    if (!ml_cachekey(sc, c, kind, key, id))
        return APR_EGENERAL;
    if ((rv = ml_lock(st)) != APR_SUCCESS)
        return ml_store_timed(t0, rv);
    rv = st->provider->retrieve(st->instance, s, id, sizeof(id), val, &vlen, p);
    ml_unlock(st);
    if (APR_STATUS_IS_NOTFOUND(rv))                   /* absent: never signed out */
        return ml_store_timed(t0, ml_store_miss(st, s, p));
    if (rv != APR_SUCCESS)
        return ml_store_timed(t0, ml_store_note(st, s, rv));
    val[vlen] = '\0';
    *value = apr_atoi64((char *)val);
    return ml_store_timed(t0, APR_SUCCESS);
}
