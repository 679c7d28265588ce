#include "ml_web.h"

#include "apr_lib.h"
#include "ml_lang.h"
#include "ml_templates.h"
#include "ml_cookie.h"
#include "ml_origin.h"

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

void *ml_web_thread_state(request_rec *r, const char *key, void *(*make)(apr_pool_t *p))
{
#if APR_HAS_THREADS
    apr_thread_t *t = ap_thread_current();
    void *data = NULL;

    /* Like util_pcre.c: state that lives as long as the worker thread, in
     * the thread's own pool, so no request pays for setting it up. */
    if (t) {
        apr_thread_data_get(&data, key, t);
        if (!data && (data = make(apr_thread_pool_get(t))) != NULL)
            apr_thread_data_set(data, key, NULL, t);
        return data;
    }
#endif
    /* No thread object (a non-threaded build): the request pays instead. */
    return make(r->pool);
}

static void *ml_scratch_make(apr_pool_t *p)
{
    ml_scratch_t *s = NULL;

    return ml_scratch_create(&s, p) == APR_SUCCESS ? s : NULL;
}

ml_scratch_t *ml_web_scratch(request_rec *r)
{
    return ml_web_thread_state(r, ML_THREAD_KEY, ml_scratch_make);
}

/* Whether cookies set for r are Secure: MagicLinkCookieSecure, or with Auto
 * (the default) when the base URL or this request is https. */
static int ml_web_secure_r(request_rec *r)
{
    const ml_srv_conf_t *sc = ap_get_module_config(r->server->module_config, &magiclink_module);
    const ml_dir_conf_t *dc = ap_get_module_config(r->per_dir_config, &magiclink_module);
    int mode = dc->cookie_secure == ML_UNSET ? ML_AUTO : dc->cookie_secure;

    if (mode != ML_AUTO)
        return mode == ML_ON;
    return sc->origin_https || !strcmp(ap_http_scheme(r), "https");
}

const char *ml_web_cookie_name(request_rec *r, const char *name)
{
    return ml_web_secure_r(r) ? apr_pstrcat(r->pool, ML_COOKIE_HOST_PREFIX, name, NULL) : name;
}

static int ml_web_scan_cookie(void *data, const char *key, const char *value)
{
    void **args = data;
    const char *name = args[0];

    ml_cookie_scan(value, strlen(value), name, strlen(name), args[1]);
    return 1;
}

const char *ml_web_cookie(request_rec *r, const char *name)
{
    const char *wire = ml_web_cookie_name(r, name), *v;
    ml_cookie_hit_t hit;
    void *args[2] = { (void *)wire, &hit };
    apr_size_t n;

    ml_cookie_hit_init(&hit);
    /* Every Cookie header: a client may split them, and a duplicate in the
     * second one is as much a duplicate as one in the first. */
    apr_table_do(ml_web_scan_cookie, args, r->headers_in, "Cookie", NULL);
    if (hit.count > 1)
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "MAGICLINK-210: more than one cookie named %s; taking none of them", wire);
    return ml_cookie_single(&hit, &v, &n) ? apr_pstrmemdup(r->pool, v, n) : NULL;
}

static int ml_web_secure(const ml_req_t *q)
{
    return ml_web_secure_r(q->r);
}

void ml_web_set_cookie(const ml_req_t *q, const char *name, const char *value,
                       const char *path, apr_int64_t max_age)
{
    /* Secure, Path=/ and no Domain: the __Host- name makes the browser
     * refuse the same name from any other host (a sibling subdomain), so
     * nobody can toss a cookie of theirs into our place. */
    int secure = ml_web_secure(q);
    const char *wire = secure && !strcmp(path, "/") ? ml_web_cookie_name(q->r, name) : name;

    apr_table_addn(q->r->err_headers_out, "Set-Cookie",
                   apr_psprintf(q->r->pool, "%s=%s; Path=%s; Max-Age=%" APR_INT64_T_FMT
                                "; HttpOnly; SameSite=Lax%s",
                                wire, value, path, max_age, secure ? "; Secure" : ""));
}

ml_codec_err_t ml_web_session_seal(const ml_req_t *q, ml_session_t *sess, const char **sealed)
{
    sess->aud = q->sc->realm_eff;
    return ml_session_seal(q->scratch, q->kr, ml_dir_cookie(q->dc), sess, q->now, q->r->pool,
                           sealed);
}

ml_codec_err_t ml_web_session_open(const ml_req_t *q, const char *value, int ttl, int idle,
                                   ml_session_t *sess)
{
    return ml_session_open(q->scratch, q->kr, ml_dir_cookie(q->dc), value, q->now, ttl, idle,
                           q->sc->realm_eff, q->r->pool, sess);
}

const char *ml_web_bind_name(const ml_req_t *q)
{
    /* magiclink_bind by default, NAME_bind for a custom session cookie name
     * (README.md, MagicLinkCookieName). */
    if (!q->dc->cookie_name)
        return ML_DEFAULT_BIND_COOKIE;
    return apr_pstrcat(q->r->pool, q->dc->cookie_name, ML_BIND_SUFFIX, NULL);
}

const char *ml_web_known_name(const ml_req_t *q)
{
    if (!q->dc->cookie_name)
        return ML_DEFAULT_KNOWN_COOKIE;
    return apr_pstrcat(q->r->pool, q->dc->cookie_name, ML_KNOWN_SUFFIX, NULL);
}

void ml_web_binding(ml_req_t *q, int issue)
{
    const char *name = ml_web_bind_name(q), *sealed;

    q->bind_nonce = ml_claim_cookie_open(ML_CLAIM_BIND, q->scratch, q->kr, name,
                                         ml_web_cookie(q->r, name), q->now, ML_BIND_MAX_AGE,
                                         q->r->pool);
    if (q->bind_nonce || !issue)
        return;
    q->bind_nonce = ml_nonce(q->r->pool);
    if (!q->bind_nonce
        || ml_claim_cookie_seal(ML_CLAIM_BIND, q->scratch, q->kr, name, q->bind_nonce, q->now,
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

int ml_web_same_origin(const ml_req_t *q)
{
    request_rec *r = q->r;
    const char *origin = apr_table_get(r->headers_in, "Origin");
    const char *site = apr_table_get(r->headers_in, "Sec-Fetch-Site");

    /* The browser says where the request comes from: only this origin (or a
     * user's own navigation) may change state here. same-site is refused
     * too: a sibling subdomain is another party. */
    if (site && (!strcasecmp(site, "cross-site") || !strcasecmp(site, "same-site"))) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "MAGICLINK-211: POST with Sec-Fetch-Site: %s refused",
                      !strcasecmp(site, "cross-site") ? "cross-site" : "same-site");
        return 0;
    }
    /* "null" is an origin the browser would not say (a page under a
     * no-referrer policy, a sandbox): believed only with the browser's own
     * word that the request is same-origin. */
    if (origin && !strcmp(origin, "null") && site && !strcasecmp(site, "same-origin"))
        origin = NULL;
    if (origin && !ml_origin_same(origin, strlen(origin), q->sc->origin, strlen(q->sc->origin))) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r,
                      "MAGICLINK-212: POST from an Origin other than %s refused", q->sc->origin);
        return 0;
    }
    return 1;
}

int ml_web_csrf_ok(const ml_req_t *q)
{
    const char *t = ml_web_field(q, "csrf_token");

    if (!ml_web_same_origin(q))
        return 0;
    if (!t)
        t = apr_table_get(q->r->headers_in, "X-CSRF-Token");
    return q->bind_nonce && t && ml_web_equal(t, q->bind_nonce);
}

int ml_web_method_not_allowed(request_rec *r, apr_int64_t methods)
{
    /* httpd builds the Allow header from allowed_methods, not r->allowed. */
    r->allowed_methods->method_mask = methods;
    return HTTP_METHOD_NOT_ALLOWED;
}

void ml_web_page_headers(request_rec *r)
{
    apr_table_t *h = r->err_headers_out;

    apr_table_setn(h, "Cache-Control", "no-store");
    /* strict-origin, not no-referrer: a Referer then carries at most the
     * origin (never a path: verify URLs hold tokens), and browsers still send
     * a real Origin on our POSTs (under no-referrer they send "null"), which
     * the cross-origin check needs. */
    apr_table_setn(h, "Referrer-Policy", "strict-origin");
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

/* Whether header name a is b to a backend that folds case and reads '_' as
 * '-' (as CGI, WSGI and many frameworks do). */
static int ml_same_header(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char ca = *a == '_' ? '-' : apr_tolower(*a), cb = *b == '_' ? '-' : apr_tolower(*b);
        if (ca != cb)
            return 0;
    }
    return *a == *b;
}

static int ml_find_spelling(void *data, const char *key, const char *value)
{
    const char **names = data;

    if (ml_same_header(key, names[0]))
        names[1] = key;
    return names[1] == NULL;
}

void ml_web_strip_header(apr_table_t *headers, const char *name)
{
    const char *names[2];

    do {
        names[0] = name;
        names[1] = NULL;
        apr_table_do(ml_find_spelling, names, headers, NULL);
        if (names[1])
            apr_table_unset(headers, names[1]);
    } while (names[1]);
}
