/* The figures of src/ml_metrics.h in httpd: one shared segment per server
 * lifetime, the `SetHandler magiclink-metrics` handler (Prometheus text,
 * and `?health` for load balancers), and a section in mod_status. */
#ifndef ML_METRICS_GLUE_H
#define ML_METRICS_GLUE_H

#include "httpd.h"
#include "ml_metrics.h"

#define ML_METRICS_HANDLER "magiclink-metrics"

/* The shared segment (post_config), the handler and the status hook. */
void ml_metrics_register_hooks(apr_pool_t *p);

/* Counts the gate's decision on a request a client sent: subrequests and
 * internal redirects reuse that decision and are not counted again. */
static inline void ml_metrics_gate(const request_rec *r, ml_metric_t outcome)
{
    if (!r->main && !r->prev)
        ml_metric_inc(outcome);
}

/* 1 when the state store answers right now (asked for the health answer
 * and before a scrape); implemented by the store's glue (ml_state.c). */
int ml_health_store_ok(server_rec *s, apr_pool_t *p);

/* Sets the outbox's gauges (depth, oldest age) from the store, once per
 * scrape: reading them walks the outbox, which no request or deliverer
 * should pay for on a timer (ml_state.c). */
void ml_outbox_gauges_now(apr_int64_t now);

#endif
