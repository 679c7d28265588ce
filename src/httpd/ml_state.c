#include "ml_state.h"
#include "ml_metrics_glue.h"

#include "http_core.h"
#include "http_log.h"
#include "unixd.h"
#include "apr_strings.h"
#include "apr_atomic.h"

#include <sys/stat.h>
#include <unistd.h>

APLOG_USE_MODULE(magiclink);

static ml_store_t *ml_the_store;
static volatile apr_uint32_t ml_down, ml_full;

const char *ml_state_parse(apr_pool_t *p, int argc, char *const argv[], ml_store_t **out)
{
    char err[256];

    if (argc < 1)
        return "needs a store: lmdb:DIR or redis:HOST:PORT";
    if (ml_store_parse(out, argv[0], (const char *const *)argv + 1, argc - 1, p, err,
                       sizeof(err)) != APR_SUCCESS)
        return apr_pstrdup(p, err);
    return NULL;
}

void ml_state_pre_config(void)
{
    ml_the_store = NULL;
}

static apr_status_t ml_state_close(void *data)
{
    ml_store_close(data);
    if (ml_the_store == data)
        ml_the_store = NULL;
    return APR_SUCCESS;
}

/* The children run as User: the directory and LMDB's two files must be
 * theirs. Created here, as root, since a child could not. */
static apr_status_t ml_state_own(apr_pool_t *p, server_rec *s, ml_store_t *st, int made_dir)
{
    static const char *const files[] = { "", "/data.mdb", "/lock.mdb" };
    int i;

    if (geteuid() != 0)
        return APR_SUCCESS;
    /* A directory the admin made keeps its owner; one made here is User's. */
    for (i = made_dir ? 0 : 1; i < 3; i++) {
        const char *f = apr_pstrcat(p, st->where, files[i], NULL);
        if (chown(f, ap_unixd_config.user_id, ap_unixd_config.group_id) != 0) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, errno, s,
                         "MAGICLINK-010: MagicLinkCache %s: cannot give %s to the server's "
                         "User", st->spec, f);
            return APR_EGENERAL;
        }
    }
    return APR_SUCCESS;
}

apr_status_t ml_state_post_config(apr_pool_t *pconf, server_rec *s, ml_store_t *st)
{
    char err[256];
    struct stat dir;
    int made_dir;
    apr_status_t rv;

    if (!st && ml_store_parse(&st, ML_DEFAULT_STORE, NULL, 0, pconf, err, sizeof(err))
                   != APR_SUCCESS)
        return APR_EGENERAL;
    /* Opened once here to create it (LMDB) or to reach it and read its
     * eviction policy (redis), then closed: a store opened before fork
     * must not be used after it. */
    made_dir = st->ops == &ml_store_lmdb_ops && stat(st->where, &dir) != 0;
    /* A wrong setting stops the first start; on a restart (a reload, as
     * logrotate does every night) it must not take the server down: the
     * store then fails closed until it lets us in. */
    st->refusal_is_outage = ap_state_query(AP_SQ_CONFIG_GEN) > 0;
    rv = ml_store_open(st, err, sizeof(err));
    if (rv != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "MAGICLINK-011: MagicLinkCache %s: %s",
                     st->spec, err);
        return rv;
    }
    if (st->warning)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "MAGICLINK-012: MagicLinkCache %s: %s",
                     st->spec, st->warning);
    ml_store_close(st);
    if (st->ops == &ml_store_lmdb_ops && (rv = ml_state_own(pconf, s, st, made_dir)) != APR_SUCCESS)
        return rv;
    ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "MAGICLINK-013: state store %s", st->spec);
    ml_the_store = st;
    apr_pool_cleanup_register(pconf, st, ml_state_close, apr_pool_cleanup_null);
    return APR_SUCCESS;
}

void ml_state_child_init(apr_pool_t *p, server_rec *s)
{
    char err[256];

    if (!ml_the_store)
        return;
    ml_the_store->refusal_is_outage = 1;    /* a child never gives up on its store */
    if (ml_store_open(ml_the_store, err, sizeof(err)) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                     "MAGICLINK-014: MagicLinkCache %s: cannot open in this child: %s; "
                     "sign-in answers 503", ml_the_store->spec, err);
        apr_atomic_set32(&ml_down, 1);
    }
}

ml_store_t *ml_state_store(void)
{
    return ml_the_store;
}

ml_store_rc_t ml_state_note(server_rec *s, ml_store_rc_t rc)
{
    const char *spec = ml_the_store ? ml_the_store->spec : "(none)";

    if (rc == ML_STORE_DOWN) {
        if (apr_atomic_cas32(&ml_down, 1, 0) == 0) {
            const char *why = ml_store_why(ml_the_store);
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                         "MAGICLINK-015: MagicLinkCache %s is failing%s%s%s: sign-in and gated "
                         "requests answer 503 until it is back", spec, *why ? " (" : "", why,
                         *why ? ")" : "");
        }
        return rc;
    }
    if (rc == ML_STORE_FULL) {
        if (apr_atomic_cas32(&ml_full, 1, 0) == 0)
            ap_log_error(APLOG_MARK, APLOG_ERR, 0, s,
                         "MAGICLINK-016: MagicLinkCache %s is full: new links are refused "
                         "(503), sign-outs are still recorded; %s, and check that mail is "
                         "being delivered", spec,
                         ml_the_store && ml_the_store->ops == &ml_store_lmdb_ops
                             ? "raise its size= or outbox= option"
                             : "raise redis's maxmemory or the outbox= option");
        return rc;
    }
    if (apr_atomic_read32(&ml_down) && apr_atomic_cas32(&ml_down, 0, 1) == 1)
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s, "MAGICLINK-017: MagicLinkCache %s works "
                     "again", spec);
    return rc;
}

void ml_state_room(void)
{
    /* Only a new link stored says the store has room again: any other
     * answer (a read, a sign-out) would let every refusal log once more. */
    if (apr_atomic_read32(&ml_full))
        apr_atomic_set32(&ml_full, 0);
}

int ml_health_store_ok(server_rec *s, apr_pool_t *p)
{
    ml_store_t *st = ml_the_store;

    return st && ml_state_note(s, ml_store_ping(st)) == ML_STORE_OK;
}

void ml_outbox_gauges_now(apr_int64_t now)
{
    ml_store_t *st = ml_the_store;
    apr_int64_t oldest = 0;
    int depth = 0;

    if (!st || ml_store_outbox_stats(st, now, &depth, &oldest) != ML_STORE_OK)
        return;
    ml_metric_gauge_set(ML_GAUGE_OUTBOX_DEPTH, depth);
    ml_metric_gauge_set(ML_GAUGE_OUTBOX_OLDEST_AGE, oldest ? now - oldest : 0);
}
