/* mod_ml_trivial: the ceiling for any Apache content handler, for test/bench.
 *
 *   LoadModule ml_trivial_module build/bench/mod_ml_trivial.so
 *   <Location /trivial>
 *       SetHandler ml-trivial
 *       MLTrivialSize 3900        # body bytes [4096]
 *   </Location>
 *
 * GET/HEAD: writes a fixed text/html page of MLTrivialSize bytes, made once
 * at configuration time and sent as an immortal bucket (no copy, no
 * allocation beyond the request's pool). POST: the same page, after reading
 * and discarding the request body, as a form handler must read it. Nothing
 * else: no headers of its own, no logging, no per-request state. */
#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_buckets.h"
#include "apr_strings.h"

module AP_MODULE_DECLARE_DATA ml_trivial_module;

typedef struct {
    char *page;
    apr_size_t size;
} ml_trivial_dir_t;

#define ML_TRIVIAL_DEFAULT 4096
static const char *ml_default_page;

/* A well-formed page padded with text to exactly n bytes. */
static char *ml_trivial_page(apr_pool_t *p, apr_size_t n)
{
    static const char head[] = "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                               "<title>trivial</title></head><body><p>";
    static const char tail[] = "</p></body></html>\n";
    char *page = apr_palloc(p, n + 1);
    apr_size_t i, hl = sizeof(head) - 1, tl = sizeof(tail) - 1;

    if (n < hl + tl) {
        memset(page, 'x', n);
    }
    else {
        memcpy(page, head, hl);
        for (i = hl; i < n - tl; i++)
            page[i] = (i % 64 == 63) ? '\n' : 'x';
        memcpy(page + n - tl, tail, tl);
    }
    page[n] = '\0';
    return page;
}

static void *ml_trivial_create_dir(apr_pool_t *p, char *dir)
{
    ml_trivial_dir_t *d = apr_pcalloc(p, sizeof(*d));

    d->size = ML_TRIVIAL_DEFAULT;     /* d->page stays NULL: "not set here" */
    return d;
}

static void *ml_trivial_merge_dir(apr_pool_t *p, void *basev, void *addv)
{
    ml_trivial_dir_t *base = basev, *add = addv, *d = apr_pcalloc(p, sizeof(*d));

    /* No allocation here: merges can happen per request. */
    *d = add->page ? *add : *base;
    return d;
}

static const char *ml_trivial_size(cmd_parms *cmd, void *dv, const char *arg)
{
    ml_trivial_dir_t *d = dv;
    apr_int64_t n = apr_atoi64(arg);

    if (n < 1 || n > 16 * 1024 * 1024)
        return "MLTrivialSize must be between 1 and 16777216";
    d->size = (apr_size_t)n;
    d->page = ml_trivial_page(cmd->pool, d->size);
    return NULL;
}

static const command_rec ml_trivial_cmds[] = {
    AP_INIT_TAKE1("MLTrivialSize", ml_trivial_size, NULL, OR_ALL,
                  "size in bytes of the page the ml-trivial handler writes"),
    { NULL }
};

static int ml_trivial_handler(request_rec *r)
{
    ml_trivial_dir_t *d;
    apr_bucket_brigade *bb;
    const char *page;
    apr_size_t size;
    int rc;

    if (!r->handler || strcmp(r->handler, "ml-trivial"))
        return DECLINED;
    if (r->method_number != M_GET && r->method_number != M_POST) {
        r->allowed = (AP_METHOD_BIT << M_GET) | (AP_METHOD_BIT << M_POST);
        return HTTP_METHOD_NOT_ALLOWED;
    }
    /* Reads the body (POST) or makes sure there is none (GET). */
    if ((rc = ap_discard_request_body(r)) != OK)
        return rc;
    d = ap_get_module_config(r->per_dir_config, &ml_trivial_module);
    if (!d->page) {                   /* MLTrivialSize set nowhere */
        page = ml_default_page;
        size = ML_TRIVIAL_DEFAULT;
    }
    else {
        page = d->page;
        size = d->size;
    }
    ap_set_content_type(r, "text/html; charset=utf-8");
    ap_set_content_length(r, (apr_off_t)size);
    if (r->header_only)
        return OK;
    bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_immortal_create(page, size, bb->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    return ap_pass_brigade(r->output_filters, bb) == APR_SUCCESS || r->connection->aborted
               ? OK : AP_FILTER_ERROR;
}

/* The default page, made once in the parent before the children fork. */
static int ml_trivial_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                                  server_rec *s)
{
    ml_default_page = ml_trivial_page(s->process->pool, ML_TRIVIAL_DEFAULT);
    return OK;
}

static void ml_trivial_hooks(apr_pool_t *p)
{
    ap_hook_post_config(ml_trivial_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_handler(ml_trivial_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA ml_trivial_module = {
    STANDARD20_MODULE_STUFF,
    ml_trivial_create_dir,
    ml_trivial_merge_dir,
    NULL,
    NULL,
    ml_trivial_cmds,
    ml_trivial_hooks,
    AP_MODULE_FLAG_NONE
};
