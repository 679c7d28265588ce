/* Placeholder until the hiredis backend lands: every call fails closed. */
#include "ml_store.h"

#include <apr_strings.h>

static apr_status_t ml_redis_open(ml_store_t *st, char *err, apr_size_t errlen)
{
    apr_snprintf(err, errlen, "redis store not built yet");
    return APR_ENOTIMPL;
}

static void ml_redis_close(ml_store_t *st)
{
}

static ml_store_rc_t ml_redis_issue(ml_store_t *st, const ml_store_limit_t *lims, int n,
                                    const ml_store_key_t *id, const char *rec, apr_size_t len,
                                    apr_int64_t now, apr_int64_t exp)
{
    return ML_STORE_DOWN;
}

static ml_store_rc_t ml_redis_link(ml_store_t *st, const ml_store_key_t *id, apr_int64_t now,
                                   apr_pool_t *p, ml_store_link_t *out)
{
    return ML_STORE_DOWN;
}

static ml_store_rc_t ml_redis_try(ml_store_t *st, const ml_store_key_t *id, int max,
                                  apr_int64_t now, apr_pool_t *p, ml_store_link_t *out)
{
    return ML_STORE_DOWN;
}

static ml_store_rc_t ml_redis_replace(ml_store_t *st, const ml_store_key_t *id,
                                      const char *old, apr_size_t oldlen, const char *rec,
                                      apr_size_t len, apr_int64_t now)
{
    return ML_STORE_DOWN;
}

static ml_store_rc_t ml_redis_set_time(ml_store_t *st, const ml_store_key_t *k,
                                       apr_int64_t value, apr_int64_t exp, apr_int64_t now)
{
    return ML_STORE_DOWN;
}

static ml_store_rc_t ml_redis_get_time(ml_store_t *st, const ml_store_key_t *k,
                                       apr_int64_t now, apr_int64_t *value)
{
    return ML_STORE_DOWN;
}

static ml_store_rc_t ml_redis_ping(ml_store_t *st)
{
    return ML_STORE_DOWN;
}

const ml_store_ops_t ml_store_redis_ops = {
    "redis", ml_redis_open, ml_redis_close, ml_redis_issue, ml_redis_link, ml_redis_link,
    ml_redis_try, ml_redis_replace, ml_redis_set_time, ml_redis_get_time, ml_redis_ping,
};
