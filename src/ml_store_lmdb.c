/* Placeholder until the hilmdb backend lands: every call fails closed. */
#include "ml_store.h"

#include <apr_strings.h>

static apr_status_t ml_lmdb_open(ml_store_t *st, char *err, apr_size_t errlen)
{
    apr_snprintf(err, errlen, "lmdb store not built yet");
    return APR_ENOTIMPL;
}

static void ml_lmdb_close(ml_store_t *st)
{
}

static ml_store_rc_t ml_lmdb_issue(ml_store_t *st, const ml_store_limit_t *lims, int n,
                                    const ml_store_key_t *id, const char *rec, apr_size_t len,
                                    apr_int64_t now, apr_int64_t exp)
{
    return ML_STORE_DOWN;
}

static ml_store_rc_t ml_lmdb_link(ml_store_t *st, const ml_store_key_t *id, apr_int64_t now,
                                   apr_pool_t *p, ml_store_link_t *out)
{
    return ML_STORE_DOWN;
}

static ml_store_rc_t ml_lmdb_try(ml_store_t *st, const ml_store_key_t *id, int max,
                                  apr_int64_t now, apr_pool_t *p, ml_store_link_t *out)
{
    return ML_STORE_DOWN;
}

static ml_store_rc_t ml_lmdb_replace(ml_store_t *st, const ml_store_key_t *id,
                                      const char *old, apr_size_t oldlen, const char *rec,
                                      apr_size_t len, apr_int64_t now)
{
    return ML_STORE_DOWN;
}

static ml_store_rc_t ml_lmdb_set_time(ml_store_t *st, const ml_store_key_t *k,
                                       apr_int64_t value, apr_int64_t exp, apr_int64_t now)
{
    return ML_STORE_DOWN;
}

static ml_store_rc_t ml_lmdb_get_time(ml_store_t *st, const ml_store_key_t *k,
                                       apr_int64_t now, apr_int64_t *value)
{
    return ML_STORE_DOWN;
}

static ml_store_rc_t ml_lmdb_ping(ml_store_t *st)
{
    return ML_STORE_DOWN;
}

const ml_store_ops_t ml_store_lmdb_ops = {
    "lmdb", ml_lmdb_open, ml_lmdb_close, ml_lmdb_issue, ml_lmdb_link, ml_lmdb_link,
    ml_lmdb_try, ml_lmdb_replace, ml_lmdb_set_time, ml_lmdb_get_time, ml_lmdb_ping,
};
