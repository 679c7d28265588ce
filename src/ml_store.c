#include "ml_store.h"
#include "ml_metrics.h"

#include <apr_strings.h>
#include <stdio.h>
#include <string.h>

#define ML_STORE_DEFAULT_MAP   (64 * 1024 * 1024)
#define ML_STORE_DEFAULT_TMO   1000
#define ML_STORE_DEFAULT_OUTBOX 10000

const char *ml_store_strerror(ml_store_rc_t rc)
{
    switch (rc) {
    case ML_STORE_OK:
        return "ok";
    case ML_STORE_NOTFOUND:
        return "not found";
    case ML_STORE_OVER:
        return "limit reached";
    case ML_STORE_FULL:
        return "store full";
    default:
        return "store unavailable";
    }
}

/* "64M", "1G", "65536": bytes, at least 1 MiB. */
static int ml_parse_size(const char *v, apr_int64_t *out)
{
    char *end;
    apr_int64_t n = apr_strtoi64(v, &end, 10);

    if (end == v || n <= 0)
        return 0;
    if (*end == 'K' || *end == 'k')
        n <<= 10, end++;
    else if (*end == 'M' || *end == 'm')
        n <<= 20, end++;
    else if (*end == 'G' || *end == 'g')
        n <<= 30, end++;
    *out = n;
    return *end == '\0' && n >= (1 << 20) && n <= ((apr_int64_t)1 << 40);
}

static int ml_parse_int(const char *v, int lo, int hi, int *out)
{
    char *end;
    apr_int64_t n = apr_strtoi64(v, &end, 10);

    if (end == v || *end || n < lo || n > hi)
        return 0;
    *out = (int)n;
    return 1;
}

/* One NAME=VALUE of MagicLinkCache. A refusal says what is wrong and what
 * is allowed, never the value (it may be a password). */
static apr_status_t ml_store_option(ml_store_t *st, const char *opt, char *err,
                                    apr_size_t errlen)
{
    const char *eq = strchr(opt, '=');
    const char *v = eq ? eq + 1 : "", *allowed = "not empty, no line breaks";
    apr_size_t n = eq ? (apr_size_t)(eq - opt) : strlen(opt);
    int lmdb = st->ops == &ml_store_lmdb_ops, ok = 0;

#define ML_IS(name) (n == sizeof(name) - 1 && !strncmp(opt, name, n))
    if (!eq) {
        /* Perhaps the rest of a password with a space in it. */
        apr_snprintf(err, errlen, "an argument that is not NAME=VALUE for %s (quote a value "
                     "with spaces: \"password=...\")", st->ops->scheme);
        return APR_EINVAL;
    }
    if (ML_IS("outbox"))
        ok = ml_parse_int(v, 1, 10000000, &st->opts.outbox_max), allowed = "1 to 10000000";
    else if (lmdb && ML_IS("size"))
        ok = ml_parse_size(v, &st->opts.map_size), allowed = "1M to 1T, as 64M or 2G";
    else if (!lmdb && ML_IS("timeout"))
        ok = ml_parse_int(v, 10, 60000, &st->opts.timeout_ms), allowed = "10 to 60000 ms";
    else if (!lmdb && ML_IS("db"))
        ok = ml_parse_int(v, 0, 1 << 20, &st->opts.db), allowed = "a database number";
    else if (!lmdb && ML_IS("user"))
        ok = *v && !strpbrk(v, " \t\r\n") && (st->opts.user = apr_pstrdup(st->pool, v));
    else if (!lmdb && ML_IS("password"))
        ok = *v && !strpbrk(v, "\r\n") && (st->opts.password = apr_pstrdup(st->pool, v));
    else {
        apr_snprintf(err, errlen, "unknown option \"%.*s\" for %s (%s)", (int)n, opt,
                     st->ops->scheme,
                     lmdb ? "size=64M, outbox=N" : "timeout=MS, user=, password=, db=N, outbox=N");
        return APR_EINVAL;
    }
#undef ML_IS
    if (!ok) {
        apr_snprintf(err, errlen, "bad value for option \"%.*s\" (%s)", (int)n, opt, allowed);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

/* "HOST:PORT" for redis; [v6]:port too. */
static apr_status_t ml_parse_hostport(ml_store_t *st, const char *rest, char *err,
                                      apr_size_t errlen)
{
    const char *colon = strrchr(rest, ':');
    const char *host_end = colon;

    if (!colon || colon == rest || !ml_parse_int(colon + 1, 1, 65535, &st->port)) {
        apr_snprintf(err, errlen, "redis needs HOST:PORT, e.g. redis:127.0.0.1:6379");
        return APR_EINVAL;
    }
    if (rest[0] == '[' && host_end[-1] == ']')
        st->where = apr_pstrmemdup(st->pool, rest + 1, (apr_size_t)(host_end - rest - 2));
    else
        st->where = apr_pstrmemdup(st->pool, rest, (apr_size_t)(host_end - rest));
    return APR_SUCCESS;
}

apr_status_t ml_store_parse(ml_store_t **out, const char *spec, const char *const *opts,
                            int nopts, apr_pool_t *p, char *err, apr_size_t errlen)
{
    ml_store_t *st = apr_pcalloc(p, sizeof(*st));
    const char *colon = strchr(spec, ':');
    const char *rest = colon ? colon + 1 : "";
    apr_size_t n = colon ? (apr_size_t)(colon - spec) : strlen(spec);
    apr_status_t rv;
    int i;

    st->pool = p;
    st->spec = apr_pstrdup(p, spec);
    st->opts.map_size = ML_STORE_DEFAULT_MAP;
    st->opts.timeout_ms = ML_STORE_DEFAULT_TMO;
    st->opts.outbox_max = ML_STORE_DEFAULT_OUTBOX;
    if (n == 4 && !strncmp(spec, "lmdb", 4)) {
        st->ops = &ml_store_lmdb_ops;
        if (rest[0] != '/') {
            apr_snprintf(err, errlen, "lmdb needs an absolute directory, e.g. "
                                      "lmdb:/var/lib/apache2/magiclink");
            return APR_EINVAL;
        }
        st->where = apr_pstrdup(p, rest);
    }
    else if (n == 5 && !strncmp(spec, "redis", 5)) {
        st->ops = &ml_store_redis_ops;
        if ((rv = ml_parse_hostport(st, rest, err, errlen)) != APR_SUCCESS)
            return rv;
    }
    else {
        apr_snprintf(err, errlen, "unknown store \"%.*s\": lmdb:DIR or redis:HOST:PORT (an "
                                  "evicting cache cannot hold sign-outs)", (int)n, spec);
        return APR_EINVAL;
    }
    for (i = 0; i < nopts; i++)
        if ((rv = ml_store_option(st, opts[i], err, errlen)) != APR_SUCCESS)
            return rv;
    *out = st;
    return APR_SUCCESS;
}

/* Every operation is counted (and one in ML_MET_STORE_SAMPLE timed) for
 * the metrics; "failed" is a store that did not answer, not a refusal. */
static ml_store_rc_t ml_counted(uint64_t t0, ml_store_rc_t rc)
{
    ml_metric_store_done(t0, rc != ML_STORE_DOWN);
    ml_metric_set_store_up(rc != ML_STORE_DOWN);
    return rc;
}

#define ML_COUNTED(call) \
    do { \
        uint64_t t0_ = ml_metric_store_start(); \
        return ml_counted(t0_, !st->impl ? ML_STORE_DOWN : (call)); \
    } while (0)

apr_status_t ml_store_open(ml_store_t *st, char *err, apr_size_t errlen)
{
    return st->ops->open(st, err, errlen);
}

void ml_store_close(ml_store_t *st)
{
    if (st && st->impl)
        st->ops->close(st);
}

ml_store_rc_t ml_store_issue(ml_store_t *st, const ml_store_limit_t *lims, int n,
                             const ml_store_key_t *id, const char *rec, apr_size_t len,
                             apr_int64_t now, apr_int64_t exp, const ml_store_mail_t *mail)
{
    if (!st->impl || n < 0 || n > ML_STORE_LIMITS_MAX || len > ML_STORE_REC_MAX
        || (mail && mail->len > ML_STORE_MAIL_MAX))
        return ML_STORE_DOWN;
    ML_COUNTED(st->ops->issue(st, lims, n, id, rec, len, now, exp, mail));
}

const char *ml_store_why(ml_store_t *st)
{
    const char *why = st && st->impl && st->ops->why ? st->ops->why(st) : NULL;

    return why ? why : "";
}

ml_store_rc_t ml_store_claim(ml_store_t *st, const apr_uint64_t *queues, int nqueues,
                             apr_int64_t now, int lease, apr_pool_t *p, ml_store_mail_t *out)
{
    if (nqueues <= 0 || nqueues > ML_STORE_QUEUES_MAX)
        return ML_STORE_NOTFOUND;
    ML_COUNTED(st->ops->claim(st, queues, nqueues, now, lease, p, out));
}

ml_store_rc_t ml_store_mail_done(ml_store_t *st, const ml_store_key_t *id)
{
    ML_COUNTED(st->ops->mail_done(st, id));
}

ml_store_rc_t ml_store_mail_retry(ml_store_t *st, const ml_store_key_t *id, apr_int64_t due)
{
    ML_COUNTED(st->ops->mail_retry(st, id, due));
}

ml_store_rc_t ml_store_outbox_stats(ml_store_t *st, apr_int64_t now, int *depth,
                                    apr_int64_t *oldest)
{
    *depth = 0;
    *oldest = 0;
    ML_COUNTED(st->ops->outbox_stats(st, now, depth, oldest));
}

ml_store_rc_t ml_store_get(ml_store_t *st, const ml_store_key_t *id, apr_int64_t now,
                           apr_pool_t *p, ml_store_link_t *out)
{
    ML_COUNTED(st->ops->get(st, id, now, p, out));
}

ml_store_rc_t ml_store_take(ml_store_t *st, const ml_store_key_t *id, apr_int64_t now,
                            apr_pool_t *p, ml_store_link_t *out)
{
    ML_COUNTED(st->ops->take(st, id, now, p, out));
}

ml_store_rc_t ml_store_try_code(ml_store_t *st, const ml_store_key_t *id, int max,
                                apr_int64_t now, apr_pool_t *p, ml_store_link_t *out)
{
    ML_COUNTED(st->ops->try_code(st, id, max, now, p, out));
}

ml_store_rc_t ml_store_replace(ml_store_t *st, const ml_store_key_t *id, const char *old,
                               apr_size_t oldlen, const char *rec, apr_size_t len,
                               apr_int64_t now)
{
    if (!st->impl || len > ML_STORE_REC_MAX)
        return ML_STORE_DOWN;
    ML_COUNTED(st->ops->replace(st, id, old, oldlen, rec, len, now));
}

ml_store_rc_t ml_store_set_time(ml_store_t *st, const ml_store_key_t *k, apr_int64_t value,
                                apr_int64_t exp, apr_int64_t now)
{
    ML_COUNTED(st->ops->set_time(st, k, value, exp, now));
}

ml_store_rc_t ml_store_get_times(ml_store_t *st, const ml_store_key_t *keys, int n,
                                 apr_int64_t now, apr_int64_t *values)
{
    int i;

    if (n < 1 || n > ML_STORE_TIMES_MAX)
        return ML_STORE_DOWN;
    for (i = 0; i < n; i++)
        values[i] = 0;
    ML_COUNTED(st->ops->get_times(st, keys, n, now, values));
}

ml_store_rc_t ml_store_get_time(ml_store_t *st, const ml_store_key_t *k, apr_int64_t now,
                                apr_int64_t *value)
{
    return ml_store_get_times(st, k, 1, now, value);
}

ml_store_rc_t ml_store_ping(ml_store_t *st)
{
    if (!st)
        return ML_STORE_DOWN;
    ML_COUNTED(st->ops->ping(st));
}

void ml_store_key(const ml_hmac_key_t *secret, const char *kind, const char *value,
                  apr_size_t vlen, ml_store_key_t *out)
{
    ml_hmac_t h;

    ml_hmac_begin(&h, secret);
    ml_hmac_update(&h, kind, strlen(kind));
    ml_hmac_update(&h, "|", 1);
    ml_hmac_update(&h, value, vlen);
    ml_hmac_final(&h, out->b);
}

void ml_store_key_hex(const ml_store_key_t *k, char *out)
{
    static const char hex[] = "0123456789abcdef";
    int i;

    for (i = 0; i < ML_STORE_KEY_LEN; i++) {
        *out++ = hex[k->b[i] >> 4];
        *out++ = hex[k->b[i] & 15];
    }
    *out = '\0';
}
