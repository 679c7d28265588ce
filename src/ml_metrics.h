/* Counters, gauges and histograms of the sign-in and the gate, and their
 * Prometheus text exposition (format version 0.0.4).
 *
 * Every figure lives in one ml_metrics_t: a struct of C11 atomics holding no
 * pointer, so it can sit in memory shared by every process of a server (the
 * httpd glue puts it there: src/httpd/ml_metrics_glue.c) and any thread of
 * any of them moves a figure with one relaxed atomic add: no lock, no system
 * call. Relaxed is enough: each figure is exact on its own, and nothing is
 * ordered by them. A scrape reads each figure once; figures moved while it
 * reads may be seen by it or by the next scrape (a histogram's _count is
 * summed from the buckets it read, so it always equals its +Inf bucket).
 *
 * Until ml_metrics_use() names a struct, figures go to one private to the
 * process, so code that counts works in the CLI and in tests as well.
 *
 * Series (labels are fixed sets; every series is written from the start,
 * at 0):
 *   magiclink_gated_requests_total{outcome}      AuthType MagicLink decisions
 *   magiclink_link_requests_total{outcome}       POST generate
 *   magiclink_confirmations_total{outcome}       POST verify
 *   magiclink_code_attempts_total{outcome}       POST code
 *   magiclink_sign_ins_total{method}             sessions started
 *   magiclink_sign_outs_total{scope}             sessions ended
 *   magiclink_mail_deliveries_total{transport,result}
 *   magiclink_mail_delivery_seconds{transport}   histogram
 *   magiclink_store_operations_total{result}
 *   magiclink_store_operation_seconds{result}    histogram of a sample (below)
 *   magiclink_store_up, magiclink_mail_last_delivery_ok,
 *   magiclink_outbox_depth, magiclink_outbox_oldest_age_seconds
 *                                                gauges, written once set
 *   magiclink_counters_start_time_seconds        when these figures began
 *   magiclink_build_info{version}                1
 */
#ifndef ML_METRICS_H
#define ML_METRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "ml_buf.h"

/* Shared between processes, the atomics must work without a lock (a lock
 * inside a libatomic would be per process). */
_Static_assert(ATOMIC_LLONG_LOCK_FREE == 2 && ATOMIC_LONG_LOCK_FREE == 2,
               "64-bit atomics must be lock-free to live in shared memory");

#define ML_MET_LINE 64 /* bytes in a cache line */

typedef enum ml_metric {
    /* Gated requests: the hot path, in a cache line of their own. */
    ML_MET_GATE_ADMITTED = 0,
    ML_MET_GATE_NO_SESSION,
    ML_MET_GATE_EXPIRED,
    ML_MET_GATE_REVOKED,
    ML_MET_GATE_NOT_ALLOWED,
    ML_MET_GATE_STORE_DOWN,

    ML_MET_LINK_MAILED = ML_MET_LINE / 8,
    ML_MET_LINK_NOT_ALLOWED,
    ML_MET_LINK_THROTTLED,
    ML_MET_LINK_INVALID,
    ML_MET_LINK_CSRF,
    ML_MET_LINK_STORE_DOWN,
    ML_MET_LINK_STORE_FULL,

    ML_MET_CONFIRM_SIGNED_IN,
    ML_MET_CONFIRM_EXPIRED,
    ML_MET_CONFIRM_USED,
    ML_MET_CONFIRM_OTHER_BROWSER,
    ML_MET_CONFIRM_INVALID,
    ML_MET_CONFIRM_CSRF,
    ML_MET_CONFIRM_STORE_DOWN,

    ML_MET_CODE_RIGHT,
    ML_MET_CODE_WRONG,
    ML_MET_CODE_LOCKED,
    ML_MET_CODE_INVALID,
    ML_MET_CODE_STORE_DOWN,
    ML_MET_CODE_EXPIRED,
    ML_MET_CODE_USED,
    ML_MET_CODE_MALFORMED,

    ML_MET_SIGN_IN_LINK,
    ML_MET_SIGN_IN_CODE,
    ML_MET_SIGN_IN_APPROVAL,

    ML_MET_SIGN_OUT_BROWSER,
    ML_MET_SIGN_OUT_EVERYWHERE,
    ML_MET_SIGN_OUT_REVOKED,

    ML_MET_STORE_OK,
    ML_MET_STORE_FAILED,

    /* Two per transport (ok, failed), in ml_met_transport_t's order; moved
     * by ml_metric_delivery. */
    ML_MET_DELIVERY_FIRST,
    ML_MET_DELIVERY_END = ML_MET_DELIVERY_FIRST + 2 * 3,

    ML_MET__COUNT = ML_MET_DELIVERY_END
} ml_metric_t;

typedef enum ml_met_transport {
    ML_MET_MAILDIR = 0,
    ML_MET_SMTP, /* smtp:// and smtps:// */
    ML_MET_PIPE,
    ML_MET__TRANSPORTS
} ml_met_transport_t;

typedef enum ml_gauge {
    ML_GAUGE_STORE_UP = 0,      /* the last store operation answered: 1, else 0 */
    ML_GAUGE_MAIL_LAST_OK,      /* the last delivery succeeded: 1, else 0 */
    ML_GAUGE_OUTBOX_DEPTH,      /* messages waiting in the outbox */
    ML_GAUGE_OUTBOX_OLDEST_AGE, /* seconds the oldest of them has waited */
    ML_GAUGE__COUNT
} ml_gauge_t;

/* A histogram: a count per bucket (not cumulative; the writer sums them),
 * the last one +Inf, and the sum of what was observed, in nanoseconds. */
#define ML_MET_BUCKETS 14
typedef struct ml_met_hist {
    _Atomic uint64_t bucket[ML_MET_BUCKETS];
    _Atomic uint64_t sum_ns;
} ml_met_hist_t;

/* Bump when the layout changes: the glue keys its shared segment by it, so
 * a newer module never reads an older layout after a graceful restart. */
#define ML_METRICS_LAYOUT 1

typedef struct ml_metrics {
    int64_t started; /* Unix seconds, set by init */
    _Alignas(ML_MET_LINE) _Atomic uint64_t counter[ML_MET__COUNT];
    _Alignas(ML_MET_LINE) _Atomic int64_t gauge[ML_GAUGE__COUNT];
    _Atomic uint32_t gauge_set;             /* bit g: gauge g was set */
    _Atomic uint32_t last_failed_transport; /* of the last failed delivery */
    _Alignas(ML_MET_LINE) ml_met_hist_t delivery[ML_MET__TRANSPORTS];
    _Alignas(ML_MET_LINE) ml_met_hist_t store[2]; /* [0] ok, [1] failed */
} ml_metrics_t;

/* The struct figures go to (never NULL). */
extern ml_metrics_t *ml_metrics_cur;

/* Zeroes m and dates it; m may be memory shared with other processes. */
void ml_metrics_init(ml_metrics_t *m, int64_t now);
/* From now on figures go to m (call before the processes that count fork). */
void ml_metrics_use(ml_metrics_t *m);

static inline void ml_metric_inc(ml_metric_t id)
{
    atomic_fetch_add_explicit(&ml_metrics_cur->counter[id], 1, memory_order_relaxed);
}

static inline uint64_t ml_metric_get(const ml_metrics_t *m, ml_metric_t id)
{
    return atomic_load_explicit(&m->counter[id], memory_order_relaxed);
}

/* A store operation: ml_metric_store_done(ml_metric_store_start(), ok)
 * around it counts it, and times one in ML_MET_STORE_SAMPLE of each
 * thread's operations (its first among them) into the histogram: reading a
 * clock twice costs more here than everything else a gated request counts
 * (about 90 ns a read on a KVM guest), and the gate reads the store on
 * every request. start is 0 for an operation that is not timed. */
#define ML_MET_STORE_SAMPLE 16
uint64_t ml_metric_store_start(void);
void ml_metric_store_done(uint64_t start, int ok);
/* One observation for the store histogram alone (store_done makes them). */
void ml_metric_observe_store(double seconds, int ok);
/* Whether the store answered, as last seen by anyone: written only when it
 * changes, so calling it on every operation costs a read. */
void ml_metric_set_store_up(int up);
/* One delivery through a transport named as ml_mailer_kind() names it. */
void ml_metric_delivery(const char *transport, int ok, double seconds);
/* Sets a gauge (the outbox's: depth and oldest age, as often as it likes). */
void ml_metric_gauge_set(ml_gauge_t g, int64_t value);
/* A gauge's value; *set is 0 when it was never set. */
int64_t ml_metric_gauge_get(const ml_metrics_t *m, ml_gauge_t g, int *set);

/* The transport's slot, or -1 for a name this file does not know. */
int ml_metric_transport(const char *kind);

/* NULL when healthy: the store answers (store_ok, asked by the caller just
 * now) and the last mail delivery did not fail. Otherwise a one-line
 * reason for a load balancer's log. */
const char *ml_metrics_health(const ml_metrics_t *m, int store_ok);

/* Appends the exposition (text format 0.0.4) of m to out. */
apr_status_t ml_metrics_write(const ml_metrics_t *m, const char *version, ml_buf_t *out);

/* Each series in exposition order, for other renderings (mod_status).
 * Histograms come as their _bucket, _sum and _count series. */
typedef struct ml_met_row {
    const char *name;   /* family name, e.g. "magiclink_link_requests_total" */
    const char *suffix; /* "", "_bucket", "_sum" or "_count" */
    const char *type;   /* "counter", "gauge" or "histogram" */
    const char *help;
    int nlabels;
    const char *label[3];
    const char *value[3];
    char text[40]; /* the sample's value, as written */
} ml_met_row_t;

typedef apr_status_t ml_met_visit_fn(void *baton, const ml_met_row_t *row);

/* Calls fn for every series; stops at and returns fn's first failure. */
apr_status_t ml_metrics_visit(const ml_metrics_t *m, const char *version, ml_met_visit_fn *fn,
                              void *baton);

#endif
