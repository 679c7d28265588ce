#include "ml_metrics.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

_Static_assert(ML_MET_GATE_STORE_DOWN < ML_MET_LINE / 8,
               "the gated request's counters share one cache line");
_Static_assert(ML_MET_DELIVERY_END - ML_MET_DELIVERY_FIRST == 2 * ML_MET__TRANSPORTS,
               "two delivery counters per transport");
_Static_assert(ML_GAUGE__COUNT <= 32, "gauge_set is a 32-bit mask");

static ml_metrics_t ml_metrics_private;
ml_metrics_t *ml_metrics_cur = &ml_metrics_private;

/* ---- what the series are called ---- */

typedef struct ml_family {
    const char *name, *help, *type;
    int nlabels;
    const char *label[2];
} ml_family_t;

enum { F_GATE, F_LINK, F_CONFIRM, F_CODE, F_SIGN_IN, F_SIGN_OUT, F_DELIVERIES, F_STORE, F__COUNT };

static const ml_family_t ml_counter_families[F__COUNT] = {
    [F_GATE] = {"magiclink_gated_requests_total",
                "Requests to AuthType MagicLink locations, by the gate's decision.",
                "counter",
                1,
                {"outcome"}},
    [F_LINK] = {"magiclink_link_requests_total",
                "Sign-in links asked for (POST generate), by outcome.",
                "counter",
                1,
                {"outcome"}},
    [F_CONFIRM] = {"magiclink_confirmations_total",
                   "Links confirmed in a browser (POST verify), by outcome.",
                   "counter",
                   1,
                   {"outcome"}},
    [F_CODE] = {"magiclink_code_attempts_total",
                "Codes typed into a waiting tab (POST code), by outcome.",
                "counter",
                1,
                {"outcome"}},
    [F_SIGN_IN] =
        {"magiclink_sign_ins_total", "Sessions started, by how.", "counter", 1, {"method"}},
    [F_SIGN_OUT] =
        {"magiclink_sign_outs_total", "Sessions ended, by reach.", "counter", 1, {"scope"}},
    [F_DELIVERIES] = {"magiclink_mail_deliveries_total",
                      "Mails handed to the transport, by transport and result.",
                      "counter",
                      2,
                      {"transport", "result"}},
    [F_STORE] = {"magiclink_store_operations_total",
                 "Operations on the state store, by result.",
                 "counter",
                 1,
                 {"result"}},
};

static const char *const ml_transport_names[ML_MET__TRANSPORTS] = {"maildir", "smtp", "pipe"};

/* ml_metric_delivery's slot for transport t, ok or not. */
#define ML_DELIVERY(t, name, ok)                                                                   \
    [ML_MET_DELIVERY_FIRST + 2 * (t) + !(ok)] = {F_DELIVERIES, {name, (ok) ? "ok" : "failed"}}

typedef struct ml_series {
    int family;
    const char *value[2]; /* NULL: a padding slot, no series */
} ml_series_t;

static const ml_series_t ml_counters[ML_MET__COUNT] = {
    [ML_MET_GATE_ADMITTED] = {F_GATE, {"admitted"}},
    [ML_MET_GATE_NO_SESSION] = {F_GATE, {"no_session"}},
    [ML_MET_GATE_EXPIRED] = {F_GATE, {"expired"}},
    [ML_MET_GATE_REVOKED] = {F_GATE, {"revoked"}},
    [ML_MET_GATE_NOT_ALLOWED] = {F_GATE, {"not_allowed"}},
    [ML_MET_GATE_STORE_DOWN] = {F_GATE, {"store_down"}},
    [ML_MET_LINK_MAILED] = {F_LINK, {"mailed"}},
    [ML_MET_LINK_NOT_ALLOWED] = {F_LINK, {"not_allowed"}},
    [ML_MET_LINK_THROTTLED] = {F_LINK, {"throttled"}},
    [ML_MET_LINK_INVALID] = {F_LINK, {"invalid"}},
    [ML_MET_LINK_CSRF] = {F_LINK, {"csrf"}},
    [ML_MET_LINK_STORE_DOWN] = {F_LINK, {"store_down"}},
    [ML_MET_LINK_STORE_FULL] = {F_LINK, {"store_full"}},
    [ML_MET_CONFIRM_SIGNED_IN] = {F_CONFIRM, {"signed_in"}},
    [ML_MET_CONFIRM_EXPIRED] = {F_CONFIRM, {"expired"}},
    [ML_MET_CONFIRM_USED] = {F_CONFIRM, {"used"}},
    [ML_MET_CONFIRM_OTHER_BROWSER] = {F_CONFIRM, {"other_browser"}},
    [ML_MET_CONFIRM_INVALID] = {F_CONFIRM, {"invalid"}},
    [ML_MET_CONFIRM_CSRF] = {F_CONFIRM, {"csrf"}},
    [ML_MET_CONFIRM_STORE_DOWN] = {F_CONFIRM, {"store_down"}},
    [ML_MET_CODE_RIGHT] = {F_CODE, {"right"}},
    [ML_MET_CODE_WRONG] = {F_CODE, {"wrong"}},
    [ML_MET_CODE_LOCKED] = {F_CODE, {"locked"}},
    [ML_MET_CODE_INVALID] = {F_CODE, {"invalid"}},
    [ML_MET_CODE_STORE_DOWN] = {F_CODE, {"store_down"}},
    [ML_MET_CODE_EXPIRED] = {F_CODE, {"expired"}},
    [ML_MET_CODE_USED] = {F_CODE, {"used"}},
    [ML_MET_CODE_MALFORMED] = {F_CODE, {"malformed"}},
    [ML_MET_SIGN_IN_LINK] = {F_SIGN_IN, {"link"}},
    [ML_MET_SIGN_IN_CODE] = {F_SIGN_IN, {"code"}},
    [ML_MET_SIGN_IN_APPROVAL] = {F_SIGN_IN, {"approval"}},
    [ML_MET_SIGN_OUT_BROWSER] = {F_SIGN_OUT, {"browser"}},
    [ML_MET_SIGN_OUT_EVERYWHERE] = {F_SIGN_OUT, {"everywhere"}},
    [ML_MET_SIGN_OUT_REVOKED] = {F_SIGN_OUT, {"revoked"}},
    [ML_MET_STORE_OK] = {F_STORE, {"ok"}},
    [ML_MET_STORE_FAILED] = {F_STORE, {"failed"}},
    ML_DELIVERY(ML_MET_MAILDIR, "maildir", 1),
    ML_DELIVERY(ML_MET_MAILDIR, "maildir", 0),
    ML_DELIVERY(ML_MET_SMTP, "smtp", 1),
    ML_DELIVERY(ML_MET_SMTP, "smtp", 0),
    ML_DELIVERY(ML_MET_PIPE, "pipe", 1),
    ML_DELIVERY(ML_MET_PIPE, "pipe", 0),
};

static const ml_family_t ml_gauge_families[ML_GAUGE__COUNT] = {
    [ML_GAUGE_STORE_UP] = {"magiclink_store_up",
                           "1 when the last operation on the state store got an answer, else 0.",
                           "gauge",
                           0,
                           {NULL}},
    [ML_GAUGE_MAIL_LAST_OK] = {"magiclink_mail_last_delivery_ok",
                               "1 when the last mail delivery succeeded, 0 when it failed.",
                               "gauge",
                               0,
                               {NULL}},
    [ML_GAUGE_OUTBOX_DEPTH] =
        {"magiclink_outbox_depth", "Mails waiting in the outbox.", "gauge", 0, {NULL}},
    [ML_GAUGE_OUTBOX_OLDEST_AGE] = {"magiclink_outbox_oldest_age_seconds",
                                    "Seconds the oldest mail in the outbox has waited.",
                                    "gauge",
                                    0,
                                    {NULL}},
};

static const ml_family_t ml_started_family = {
    "magiclink_counters_start_time_seconds",
    "Unix time these figures started from zero (a full restart of httpd).",
    "gauge",
    0,
    {NULL}};
static const ml_family_t ml_build_family = {
    "magiclink_build_info", "The module's version.", "gauge", 1, {"version"}};

/* ---- histograms ---- */

typedef struct ml_bucket {
    uint64_t le_ns; /* upper bound, inclusive; UINT64_MAX: +Inf */
    const char *le;
} ml_bucket_t;

#define ML_INF                                                                                     \
    {                                                                                              \
        UINT64_MAX, "+Inf"                                                                         \
    }

/* Mail: from a local maildir (about a millisecond) to a slow relay. */
static const ml_bucket_t ml_delivery_buckets[ML_MET_BUCKETS] = {
    {1000000, "0.001"},   {5000000, "0.005"},
    {10000000, "0.01"},   {25000000, "0.025"},
    {50000000, "0.05"},   {100000000, "0.1"},
    {250000000, "0.25"},  {500000000, "0.5"},
    {1000000000, "1"},    {2500000000u, "2.5"},
    {5000000000u, "5"},   {10000000000u, "10"},
    {30000000000u, "30"}, ML_INF,
};

/* The store: from shared memory (a microsecond or so) to a slow network. */
static const ml_bucket_t ml_store_buckets[ML_MET_BUCKETS] = {
    {10000, "0.00001"},  {50000, "0.00005"},
    {100000, "0.0001"},  {250000, "0.00025"},
    {500000, "0.0005"},  {1000000, "0.001"},
    {2500000, "0.0025"}, {5000000, "0.005"},
    {10000000, "0.01"},  {25000000, "0.025"},
    {100000000, "0.1"},  {250000000, "0.25"},
    {1000000000, "1"},   ML_INF,
};

static const ml_family_t ml_delivery_family = {"magiclink_mail_delivery_seconds",
                                               "Time to hand one mail to the transport.",
                                               "histogram",
                                               1,
                                               {"transport"}};
static const ml_family_t ml_store_family = {
    "magiclink_store_operation_seconds",
    "Time of a sample of the operations on the state store (each thread's first and every "
    "16th), lock included, by result.",
    "histogram",
    1,
    {"result"}};
static const char *const ml_results[2] = {"ok", "failed"};

static void ml_observe(ml_met_hist_t *h, const ml_bucket_t *b, double seconds)
{
    /* To the nearest nanosecond; a clock stepping back reads as 0, and
     * anything past a million seconds as that (the sum must not wrap). */
    uint64_t ns = seconds > 0 ? (uint64_t)((seconds < 1e6 ? seconds : 1e6) * 1e9 + 0.5) : 0;
    int i = 0;

    while (i < ML_MET_BUCKETS - 1 && ns > b[i].le_ns)
        i++;
    atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
}

/* ---- moving figures ---- */

void ml_metrics_init(ml_metrics_t *m, int64_t now)
{
    memset(m, 0, sizeof(*m));
    m->started = now;
}

void ml_metrics_use(ml_metrics_t *m)
{
    ml_metrics_cur = m ? m : &ml_metrics_private;
}

void ml_metric_observe_store(double seconds, int ok)
{
    ml_observe(&ml_metrics_cur->store[ok ? 0 : 1], ml_store_buckets, seconds);
}

static uint64_t ml_monotonic_ns(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Per thread: no line shared between threads is written to decide. */
static _Thread_local unsigned ml_store_tick;

uint64_t ml_metric_store_start(void)
{
    if (ml_store_tick++ % ML_MET_STORE_SAMPLE)
        return 0;
    return ml_monotonic_ns() | 1; /* never 0, which means "not timed" */
}

void ml_metric_store_done(uint64_t start, int ok)
{
    ml_metric_inc(ok ? ML_MET_STORE_OK : ML_MET_STORE_FAILED);
    if (start)
        ml_metric_observe_store((double)(ml_monotonic_ns() - start) / 1e9, ok);
}

void ml_metric_gauge_set(ml_gauge_t g, int64_t value)
{
    ml_metrics_t *m = ml_metrics_cur;
    uint32_t bit = 1u << g;

    /* Reads first: a store or a test-and-set on every call would pull the
     * line from every other core even when nothing changes. */
    if (atomic_load_explicit(&m->gauge[g], memory_order_relaxed) != value)
        atomic_store_explicit(&m->gauge[g], value, memory_order_relaxed);
    if (!(atomic_load_explicit(&m->gauge_set, memory_order_acquire) & bit))
        atomic_fetch_or_explicit(&m->gauge_set, bit, memory_order_release);
}

int64_t ml_metric_gauge_get(const ml_metrics_t *m, ml_gauge_t g, int *set)
{
    ml_metrics_t *w = (ml_metrics_t *)m; /* C11 atomics: loads take non-const */

    *set = (atomic_load_explicit(&w->gauge_set, memory_order_acquire) >> g) & 1;
    return atomic_load_explicit(&w->gauge[g], memory_order_relaxed);
}

void ml_metric_set_store_up(int up)
{
    ml_metric_gauge_set(ML_GAUGE_STORE_UP, up ? 1 : 0);
}

int ml_metric_transport(const char *kind)
{
    if (!kind)
        return -1;
    if (!strcmp(kind, "smtps"))
        return ML_MET_SMTP;
    for (int t = 0; t < ML_MET__TRANSPORTS; t++)
        if (!strcmp(kind, ml_transport_names[t]))
            return t;
    return -1;
}

void ml_metric_delivery(const char *kind, int ok, double seconds)
{
    int t = ml_metric_transport(kind);

    if (t >= 0) {
        ml_metric_inc((ml_metric_t)(ML_MET_DELIVERY_FIRST + 2 * t + (ok ? 0 : 1)));
        ml_observe(&ml_metrics_cur->delivery[t], ml_delivery_buckets, seconds);
        if (!ok)
            atomic_store_explicit(&ml_metrics_cur->last_failed_transport, (uint32_t)t,
                                  memory_order_relaxed);
    }
    ml_metric_gauge_set(ML_GAUGE_MAIL_LAST_OK, ok ? 1 : 0);
}

const char *ml_metrics_health(const ml_metrics_t *m, int store_ok)
{
    static const char *const failed[ML_MET__TRANSPORTS] = {"last mail delivery failed (maildir)",
                                                           "last mail delivery failed (smtp)",
                                                           "last mail delivery failed (pipe)"};
    ml_metrics_t *w = (ml_metrics_t *)m;
    uint32_t t;
    int set;

    if (!store_ok)
        return "state store not answering";
    if (ml_metric_gauge_get(m, ML_GAUGE_MAIL_LAST_OK, &set) == 0 && set) {
        t = atomic_load_explicit(&w->last_failed_transport, memory_order_relaxed);
        return t < ML_MET__TRANSPORTS ? failed[t] : "last mail delivery failed";
    }
    return NULL;
}

/* ---- reading them out ---- */

static void ml_row_start(ml_met_row_t *row, const ml_family_t *f, const char *suffix)
{
    memset(row, 0, sizeof(*row));
    row->name = f->name;
    row->type = f->type;
    row->help = f->help;
    row->suffix = suffix;
    row->nlabels = f->nlabels;
    for (int i = 0; i < f->nlabels; i++)
        row->label[i] = f->label[i];
}

static apr_status_t ml_visit_counters(ml_metrics_t *m, ml_met_visit_fn *fn, void *baton)
{
    ml_met_row_t row;
    apr_status_t rv;

    for (int f = 0; f < F__COUNT; f++)
        for (int id = 0; id < ML_MET__COUNT; id++) {
            const ml_series_t *s = &ml_counters[id];
            if (s->family != f || !s->value[0])
                continue;
            ml_row_start(&row, &ml_counter_families[f], "");
            row.value[0] = s->value[0];
            row.value[1] = s->value[1];
            snprintf(row.text, sizeof(row.text), "%" PRIu64,
                     atomic_load_explicit(&m->counter[id], memory_order_relaxed));
            if ((rv = fn(baton, &row)) != APR_SUCCESS)
                return rv;
        }
    return APR_SUCCESS;
}

/* One histogram series: cumulative buckets, then _sum and _count (the
 * count is the +Inf bucket as read here, so the two always agree). */
static apr_status_t ml_visit_hist(ml_met_hist_t *h, const ml_bucket_t *b, const ml_family_t *f,
                                  const char *label_value, ml_met_visit_fn *fn, void *baton)
{
    ml_met_row_t row;
    uint64_t cum = 0;
    apr_status_t rv;

    for (int i = 0; i < ML_MET_BUCKETS; i++) {
        cum += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
        ml_row_start(&row, f, "_bucket");
        row.value[0] = label_value;
        row.label[row.nlabels] = "le";
        row.value[row.nlabels++] = b[i].le;
        snprintf(row.text, sizeof(row.text), "%" PRIu64, cum);
        if ((rv = fn(baton, &row)) != APR_SUCCESS)
            return rv;
    }
    ml_row_start(&row, f, "_sum");
    row.value[0] = label_value;
    snprintf(row.text, sizeof(row.text), "%.9f",
             (double)atomic_load_explicit(&h->sum_ns, memory_order_relaxed) / 1e9);
    if ((rv = fn(baton, &row)) != APR_SUCCESS)
        return rv;
    ml_row_start(&row, f, "_count");
    row.value[0] = label_value;
    snprintf(row.text, sizeof(row.text), "%" PRIu64, cum);
    return fn(baton, &row);
}

static apr_status_t ml_visit_gauges(ml_metrics_t *m, const char *version, ml_met_visit_fn *fn,
                                    void *baton)
{
    ml_met_row_t row;
    apr_status_t rv;
    int set;

    for (int g = 0; g < ML_GAUGE__COUNT; g++) {
        int64_t v = ml_metric_gauge_get(m, (ml_gauge_t)g, &set);
        if (!set)
            continue;
        ml_row_start(&row, &ml_gauge_families[g], "");
        snprintf(row.text, sizeof(row.text), "%" PRId64, v);
        if ((rv = fn(baton, &row)) != APR_SUCCESS)
            return rv;
    }
    ml_row_start(&row, &ml_started_family, "");
    snprintf(row.text, sizeof(row.text), "%" PRId64, m->started);
    if ((rv = fn(baton, &row)) != APR_SUCCESS)
        return rv;
    ml_row_start(&row, &ml_build_family, "");
    row.value[0] = version;
    snprintf(row.text, sizeof(row.text), "1");
    return fn(baton, &row);
}

apr_status_t ml_metrics_visit(const ml_metrics_t *cm, const char *version, ml_met_visit_fn *fn,
                              void *baton)
{
    ml_metrics_t *m = (ml_metrics_t *)cm;
    apr_status_t rv;
    int i;

    if ((rv = ml_visit_counters(m, fn, baton)) != APR_SUCCESS)
        return rv;
    for (i = 0; i < ML_MET__TRANSPORTS; i++)
        if ((rv = ml_visit_hist(&m->delivery[i], ml_delivery_buckets, &ml_delivery_family,
                                ml_transport_names[i], fn, baton))
            != APR_SUCCESS)
            return rv;
    for (i = 0; i < 2; i++)
        if ((rv = ml_visit_hist(&m->store[i], ml_store_buckets, &ml_store_family, ml_results[i], fn,
                                baton))
            != APR_SUCCESS)
            return rv;
    return ml_visit_gauges(m, version, fn, baton);
}

/* ---- the text format ---- */

/* HELP text escapes backslash and newline; label values also the quote. */
static apr_status_t ml_put_escaped(ml_buf_t *out, const char *s, int quote)
{
    apr_status_t rv = APR_SUCCESS;

    for (; *s && rv == APR_SUCCESS; s++) {
        if (*s == '\\')
            rv = ml_buf_puts(out, "\\\\");
        else if (*s == '\n')
            rv = ml_buf_puts(out, "\\n");
        else if (*s == '"' && quote)
            rv = ml_buf_puts(out, "\\\"");
        else
            rv = ml_buf_putc(out, *s);
    }
    return rv;
}

typedef struct ml_writer {
    ml_buf_t *out;
    const char *family; /* the last one given its HELP and TYPE */
} ml_writer_t;

static apr_status_t ml_write_row(void *baton, const ml_met_row_t *row)
{
    ml_writer_t *w = baton;
    ml_buf_t *out = w->out;
    apr_status_t rv = APR_SUCCESS;

    if (w->family != row->name) {
        w->family = row->name;
        if ((rv = ml_buf_printf(out, "# HELP %s ", row->name)) != APR_SUCCESS
            || (rv = ml_put_escaped(out, row->help, 0)) != APR_SUCCESS
            || (rv = ml_buf_printf(out, "\n# TYPE %s %s\n", row->name, row->type)) != APR_SUCCESS)
            return rv;
    }
    rv = ml_buf_printf(out, "%s%s", row->name, row->suffix);
    for (int i = 0; i < row->nlabels && rv == APR_SUCCESS; i++) {
        if ((rv = ml_buf_printf(out, "%s%s=\"", i ? "," : "{", row->label[i])) == APR_SUCCESS
            && (rv = ml_put_escaped(out, row->value[i] ? row->value[i] : "", 1)) == APR_SUCCESS)
            rv = ml_buf_putc(out, '"');
    }
    if (rv == APR_SUCCESS)
        rv = ml_buf_printf(out, "%s %s\n", row->nlabels ? "}" : "", row->text);
    return rv;
}

apr_status_t ml_metrics_write(const ml_metrics_t *m, const char *version, ml_buf_t *out)
{
    ml_writer_t w = {out, NULL};

    return ml_metrics_visit(m, version, ml_write_row, &w);
}
