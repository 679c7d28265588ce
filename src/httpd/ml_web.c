#include "ml_web.h"
#include "ml_lang.h"
#include "ml_templates.h"

#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_script.h"
#include "apr_strings.h"

#include <openssl/crypto.h>

APLOG_USE_MODULE(magiclink);

#define ML_THREAD_KEY "mod_magiclink:scratch"

int ml_web_init(ml_req_t *q, request_rec *r)
{
    memset(q, 0, sizeof(*q));
    q->r = r;
    q->sc = ap_get_module_config(r->server->module_config, &magiclink_module);
    q->dc = ap_get_module_config(r->per_dir_config, &magiclink_module);
    q->kr = q->sc->keyring;
    q->now = apr_time_sec(r->request_time);
    if (!q->kr)
        return 0;
    q->scratch = ml_web_scratch(r);
    return q->scratch != NULL;
}

const char *ml_web_route_url(const ml_req_t *q, const char *route)
{
    return apr_pstrcat(q->r->pool, q->base ? q->base : "", "/", route, NULL);
}

ml_scratch_t *ml_web_scratch(request_rec *r)
{
    ml_scratch_t *s = NULL;
#if APR_HAS_THREADS
    apr_thread_t *t = ap_thread_current();
    void *data = NULL;

    /* Like util_pcre.c: state that lives as long as the worker thread, in
     * the thread's own pool, so no request pays for setting it up. */
    if (t) {
        apr_thread_data_get(&data, ML_THREAD_KEY, t);
        if (data)
            return data;
        if (ml_scratch_create(&s, apr_thread_pool_get(t)) != APR_SUCCESS)
            return NULL;
        apr_thread_data_set(s, ML_THREAD_KEY, NULL, t);
        return s;
    }
#endif
    /* No thread object (a non-threaded build): the request pays instead. */
    if (ml_scratch_create(&s, r->pool) != APR_SUCCESS)
        return NULL;
    return s;
}

const char *ml_web_cookie(request_rec *r, const char *name)
{
    const char *h = apr_table_get(r->headers_in, "Cookie");
    apr_size_t n = strlen(name);

    while (h && *h) {
        const char *end;
        while (*h == ' ' || *h == '\t' || *h == ';')
            h++;
        end = strchr(h, ';');
        if (!strncmp(h, name, n) && h[n] == '=') {
            const char *v = h + n + 1;
            return end ? apr_pstrmemdup(r->pool, v, (apr_size_t)(end - v)) : apr_pstrdup(r->pool, v);
        }
        h = end;
    }
    return NULL;
}

static int ml_web_secure(const ml_req_t *q)
{
    int mode = q->dc->cookie_secure == ML_UNSET ? ML_AUTO : q->dc->cookie_secure;

    if (mode != ML_AUTO)
        return mode == ML_ON;
    return q->sc->origin_https || !strcmp(ap_http_scheme(q->r), "https");
}

void ml_web_set_cookie(const ml_req_t *q, const char *name, const char *value,
                       const char *path, apr_int64_t max_age)
{
    apr_table_addn(q->r->err_headers_out, "Set-Cookie",
                   apr_psprintf(q->r->pool, "%s=%s; Path=%s; Max-Age=%" APR_INT64_T_FMT
                                "; HttpOnly; SameSite=Lax%s",
                                name, value, path, max_age, ml_web_secure(q) ? "; Secure" : ""));
}

const char *ml_web_bind_name(const ml_req_t *q)
{
    /* DESIGN section 3: magiclink_bind by default, NAME_bind for a custom
     * session cookie name. */
    if (!q->dc->cookie_name)
        return ML_DEFAULT_BIND_COOKIE;
    return apr_pstrcat(q->r->pool, q->dc->cookie_name, ML_BIND_SUFFIX, NULL);
}

void ml_web_binding(ml_req_t *q, int issue)
{
    const char *name = ml_web_bind_name(q), *sealed;

    q->bind_nonce = ml_binding_open(q->scratch, q->kr, name, ml_web_cookie(q->r, name), q->now,
                                    ML_BIND_MAX_AGE, q->r->pool);
    if (q->bind_nonce || !issue)
        return;
    q->bind_nonce = ml_nonce(q->r->pool);
    if (!q->bind_nonce || ml_binding_seal(q->scratch, q->kr, name, q->bind_nonce, q->now,
                                          q->r->pool, &sealed) != ML_CODEC_OK) {
        q->bind_nonce = NULL;
        return;
    }
    ml_web_set_cookie(q, name, sealed, "/", ML_BIND_MAX_AGE);
}

static int ml_web_form_type(request_rec *r)
{
    const char *ct = apr_table_get(r->headers_in, "Content-Type");

    return ct && !strncasecmp(ct, "application/x-www-form-urlencoded", 33)
           && (ct[33] == '\0' || ct[33] == ';' || ct[33] == ' ');
}

/* Whether the body went on past what ap_parse_form_data was allowed to read. */
static int ml_web_body_left(request_rec *r)
{
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    apr_off_t len = 0;
    apr_status_t rv;

    rv = ap_get_brigade(r->input_filters, bb, AP_MODE_READBYTES, APR_BLOCK_READ, 1);
    if (rv == APR_SUCCESS)
        apr_brigade_length(bb, 1, &len);
    apr_brigade_destroy(bb);
    return rv != APR_SUCCESS || len > 0;
}

int ml_web_read_form(ml_req_t *q)
{
    request_rec *r = q->r;
    const char *cl = apr_table_get(r->headers_in, "Content-Length");
    apr_array_header_t *pairs = NULL;
    int i, rc;

    q->form = apr_table_make(r->pool, 6);
    if (cl && apr_atoi64(cl) > ML_FORM_LIMIT)
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    if (!ml_web_form_type(r))
        return HTTP_UNSUPPORTED_MEDIA_TYPE;
    rc = ap_parse_form_data(r, NULL, &pairs, 16, ML_FORM_LIMIT);
    if (rc != OK)
        return rc;
    if (!cl && ml_web_body_left(r))
        return HTTP_REQUEST_ENTITY_TOO_LARGE;
    for (i = 0; pairs && i < pairs->nelts; i++) {
        ap_form_pair_t *pair = &APR_ARRAY_IDX(pairs, i, ap_form_pair_t);
        apr_off_t len;
        apr_size_t size;
        char *buf;

        apr_brigade_length(pair->value, 1, &len);
        size = (apr_size_t)len;
        buf = apr_palloc(r->pool, size + 1);
        apr_brigade_flatten(pair->value, buf, &size);
        buf[size] = '\0';
        if (strlen(buf) != size)
            return HTTP_BAD_REQUEST;           /* %00 in a field */
        apr_table_setn(q->form, pair->name, buf);
    }
    return OK;
}

const char *ml_web_field(const ml_req_t *q, const char *name)
{
    return q->form ? apr_table_get(q->form, name) : NULL;
}

int ml_web_equal(const char *a, const char *b)
{
    apr_size_t n;

    if (!a || !b)           /* a browser without a binding cookie: never equal */
        return 0;
    n = strlen(a);
    return n == strlen(b) && CRYPTO_memcmp(a, b, n) == 0;
}

int ml_web_csrf_ok(const ml_req_t *q)
{
    const char *t = ml_web_field(q, "csrf_token");

    if (!t)
        t = apr_table_get(q->r->headers_in, "X-CSRF-Token");
    return q->bind_nonce && t && ml_web_equal(t, q->bind_nonce);
}

void ml_web_page_headers(request_rec *r)
{
    apr_table_t *h = r->err_headers_out;

    apr_table_setn(h, "Cache-Control", "no-store");
    apr_table_setn(h, "Referrer-Policy", "no-referrer");
    apr_table_setn(h, "X-Frame-Options", "DENY");
    apr_table_setn(h, "X-Content-Type-Options", "nosniff");
    apr_table_setn(h, "Content-Security-Policy",
                   "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
                   "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
}

/* ---- language ---- */

#define ML_LANG_SUFFIX      "_lang"
#define ML_DEFAULT_LANG_COOKIE "magiclink_lang"
#define ML_LANG_COOKIE_AGE  (365 * 86400)

const char *ml_web_lang_code(int lang)
{
    return ml_lang_info[lang >= 0 && lang < ML_LANG_COUNT ? lang : ML_LANG_EN].code;
}

int ml_web_lang_index(const char *code)
{
    return code ? ml_lang_exact(code, strlen(code), ml_lang_codes, ML_LANG_COUNT) : -1;
}

const char *ml_web_lang_cookie(const ml_req_t *q)
{
    if (!q->dc->cookie_name)
        return ML_DEFAULT_LANG_COOKIE;
    return apr_pstrcat(q->r->pool, q->dc->cookie_name, ML_LANG_SUFFIX, NULL);
}

/* The value of parameter name in the query string, decoded, or NULL. */
static const char *ml_web_query(request_rec *r, const char *name)
{
    const char *a = r->args, *end;
    apr_size_t n = strlen(name);
    char *v;

    while (a && *a) {
        end = a + strcspn(a, "&;");
        if ((apr_size_t)(end - a) > n && !strncmp(a, name, n) && a[n] == '=') {
            v = apr_pstrmemdup(r->pool, a + n + 1, (apr_size_t)(end - a) - n - 1);
            return ap_unescape_url(v) == OK ? v : NULL;
        }
        a = *end ? end + 1 : end;
    }
    return NULL;
}

/* offered[i] as an index of ml_lang_info. */
static int ml_web_offered_lang(const ml_req_t *q, int i)
{
    return q->dc->nlangs ? q->dc->langs[i] : i;
}

void ml_web_negotiate(ml_req_t *q)
{
    request_rec *r = q->r;
    const char *const *offered = q->dc->nlangs ? q->dc->lang_codes : ml_lang_codes;
    int n = q->dc->nlangs ? q->dc->nlangs : ML_LANG_COUNT, i = -1;
    const char *chosen = ml_web_query(r, "lang"), *cookie, *how = "chosen";

    /* Pages differ by Accept-Language (and by cookie, but they are never
     * stored: Cache-Control no-store). */
    apr_table_mergen(r->err_headers_out, "Vary", "Accept-Language");
    if (chosen)
        i = ml_lang_find(chosen, strlen(chosen), offered, n);
    if (i >= 0) {
        ml_web_set_cookie(q, ml_web_lang_cookie(q), offered[i], "/", ML_LANG_COOKIE_AGE);
    } else {
        cookie = ml_web_cookie(r, ml_web_lang_cookie(q));
        how = "cookie";
        if (cookie)
            i = ml_lang_find(cookie, strlen(cookie), offered, n);
        if (i < 0) {
            how = "Accept-Language";
            i = ml_lang_negotiate(apr_table_get(r->headers_in, "Accept-Language"), offered, n);
        }
        if (i < 0) {
            how = "default";
            i = 0;
        }
    }
    q->lang = ml_web_offered_lang(q, i);
    ap_log_rerror(APLOG_MARK, APLOG_TRACE1, 0, r, "MAGICLINK-700: pages in %s (%s)",
                  offered[i], how);
}
