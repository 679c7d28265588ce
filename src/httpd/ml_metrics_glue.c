#include "ml_metrics_glue.h"
#include "ml_conf.h"
#include "ml_web.h"
#include "ml_version.h"

#include "http_config.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_status.h"
#include "apr_optional_hooks.h"
#include "apr_shm.h"
#include "apr_strings.h"

APLOG_USE_MODULE(magiclink);

/* ---- one segment per server lifetime ---- */

/* Kept in the parent across configuration generations (graceful and
 * SIGHUP restarts: the module is unloaded and loaded again, its statics
 * start over, this does not). The layout is in the key, so a module whose
 * ml_metrics_t differs never reads an older one's segment. */
#define ML_METRICS_KEY "mod_magiclink:metrics:layout-" APR_STRINGIFY(ML_METRICS_LAYOUT)

typedef struct ml_metrics_kept {
    apr_shm_t *shm;
    ml_metrics_t *m;
    apr_size_t size; /* sizeof(ml_metrics_t) of the module that made it */
} ml_metrics_kept_t;

/* Anonymous shared memory in the process pool, made before the children
 * are forked: every child of every generation inherits the mapping. */
static apr_status_t ml_metrics_segment(ml_metrics_kept_t *kept, server_rec *s)
{
    apr_size_t size = sizeof(ml_metrics_t) + ML_MET_LINE;
    apr_uintptr_t base;
    apr_status_t rv;

    rv = apr_shm_create(&kept->shm, size, NULL, s->process->pool);
    if (rv != APR_SUCCESS)
        return rv;
    /* apr_shm's usable address is not line-aligned; the struct wants it. */
    base = (apr_uintptr_t)apr_shm_baseaddr_get(kept->shm);
    kept->m = (ml_metrics_t *)((base + ML_MET_LINE - 1) & ~(apr_uintptr_t)(ML_MET_LINE - 1));
    kept->size = sizeof(ml_metrics_t);
    ml_metrics_init(kept->m, apr_time_sec(apr_time_now()));
    return APR_SUCCESS;
}

static int ml_metrics_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                                  server_rec *s)
{
    ml_metrics_kept_t *kept = ap_retained_data_get(ML_METRICS_KEY);
    apr_status_t rv;

    if (!kept)
        kept = ap_retained_data_create(ML_METRICS_KEY, sizeof(*kept));
    /* A layout changed without a new ML_METRICS_LAYOUT: a segment of its own.
     * (The old one stays: the last generation's children may still count.) */
    if (kept->m && kept->size != sizeof(ml_metrics_t)) {
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     "MAGICLINK-601: new metrics layout; counters start from zero");
        kept->m = NULL;
    }
    if (!kept->m && (rv = ml_metrics_segment(kept, s)) != APR_SUCCESS) {
        /* Per-process figures would be wrong without saying so: refuse. */
        ap_log_error(APLOG_MARK, APLOG_EMERG, rv, s,
                     "MAGICLINK-600: cannot create the shared memory for the metrics");
        return !OK;
    }
    ml_metrics_use(kept->m);
    return OK;
}

/* ---- SetHandler magiclink-metrics ---- */

static int ml_metrics_health_answer(request_rec *r)
{
    const char *why = ml_metrics_health(ml_metrics_cur, ml_health_store_ok(r->server, r->pool));

    r->status = why ? HTTP_SERVICE_UNAVAILABLE : HTTP_OK;
    ap_set_content_type(r, "text/plain; charset=utf-8");
    if (!r->header_only)
        ap_rvputs(r, why ? why : "ok", "\n", NULL);
    return OK;
}

/* magiclink_store_up and the outbox gauges as of now, not as of the last
 * sign-in: asked of the store by whoever reads the figures. */
static void ml_store_figures_now(request_rec *r)
{
    if (ml_health_store_ok(r->server, r->pool))
        ml_outbox_gauges_now(apr_time_sec(r->request_time));
}

static int ml_metrics_scrape(request_rec *r)
{
    ml_buf_t text;
    apr_status_t rv;

    ml_store_figures_now(r);
    ml_buf_init(&text);
    rv = ml_buf_reserve(&text, 16384);
    if (rv == APR_SUCCESS)
        rv = ml_metrics_write(ml_metrics_cur, ML_VERSION, &text);
    if (rv != APR_SUCCESS) {
        ml_buf_free(&text);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, "MAGICLINK-602: cannot write the metrics");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ap_set_content_type(r, "text/plain; version=0.0.4; charset=utf-8");
    ap_set_content_length(r, (apr_off_t)text.len);
    if (!r->header_only)
        ap_rwrite(text.data, (int)text.len, r);
    ml_buf_free(&text);
    return OK;
}

static int ml_metrics_handler(request_rec *r)
{
    if (!r->handler || strcmp(r->handler, ML_METRICS_HANDLER))
        return DECLINED;
    if (r->method_number != M_GET) /* HEAD is a GET with header_only */
        return ml_web_method_not_allowed(r, ML_METHOD(M_GET));
    apr_table_setn(r->headers_out, "Cache-Control", "no-store");
    if (r->args && !strcmp(r->args, "health"))
        return ml_metrics_health_answer(r);
    return ml_metrics_scrape(r);
}

/* ---- mod_status (ExtendedStatus On) ---- */

/* ?auto keys: the family without "_total", its label values, the suffix:
 * magiclink_link_requests_mailed, magiclink_store_operation_seconds_ok_count. */
static apr_status_t ml_status_auto_row(void *baton, const ml_met_row_t *row)
{
    request_rec *r = baton;
    apr_size_t n = strlen(row->name);

    if (!strcmp(row->suffix, "_bucket") || !strcmp(row->name, "magiclink_build_info"))
        return APR_SUCCESS; /* the version has its own line */
    if (n > 6 && !strcmp(row->name + n - 6, "_total"))
        n -= 6;
    ap_rwrite(row->name, (int)n, r);
    for (int i = 0; i < row->nlabels; i++)
        ap_rvputs(r, "_", row->value[i], NULL);
    ap_rvputs(r, row->suffix, ": ", row->text, "\n", NULL);
    return APR_SUCCESS;
}

typedef struct ml_status_html {
    request_rec *r;
    int table; /* 0 for ?notable */
} ml_status_html_t;

/* HTML: one row per series, named as Prometheus names it (buckets left
 * out: the scrape has them). */
static apr_status_t ml_status_html_row(void *baton, const ml_met_row_t *row)
{
    ml_status_html_t *h = baton;
    request_rec *r = h->r;
    const char *series = apr_pstrcat(r->pool, row->name, row->suffix, NULL);

    if (!strcmp(row->suffix, "_bucket"))
        return APR_SUCCESS;
    for (int i = 0; i < row->nlabels; i++)
        series = apr_pstrcat(r->pool, series, i ? "," : "{", row->label[i], "=\"", row->value[i],
                             "\"", i == row->nlabels - 1 ? "}" : "", NULL);
    series = ap_escape_html(r->pool, series);
    if (h->table)
        ap_rvputs(r, "<tr><td>", series, "</td><td>", row->text, "</td></tr>\n", NULL);
    else
        ap_rvputs(r, series, " ", row->text, "<br />\n", NULL);
    return APR_SUCCESS;
}

static int ml_status_hook(request_rec *r, int flags)
{
    ml_status_html_t h = {r, !(flags & AP_STATUS_NOTABLE)};

    if (!(flags & AP_STATUS_EXTENDED))
        return OK;
    ml_store_figures_now(r);
    if (flags & AP_STATUS_SHORT) {
        ap_rvputs(r, "magiclink_version: ", ML_VERSION, "\n", NULL);
        ml_metrics_visit(ml_metrics_cur, ML_VERSION, ml_status_auto_row, r);
        return OK;
    }
    ap_rvputs(r, "<hr />\n<h2>mod_magiclink ", ML_VERSION, "</h2>\n",
              h.table ? "<table border=\"0\">\n" : "", NULL);
    ml_metrics_visit(ml_metrics_cur, ML_VERSION, ml_status_html_row, &h);
    if (h.table)
        ap_rputs("</table>\n", r);
    return OK;
}

void ml_metrics_register_hooks(apr_pool_t *p)
{
    ap_hook_post_config(ml_metrics_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(ml_metrics_handler, NULL, NULL, APR_HOOK_MIDDLE);
    APR_OPTIONAL_HOOK(ap, status_hook, ml_status_hook, NULL, NULL, APR_HOOK_MIDDLE);
}
