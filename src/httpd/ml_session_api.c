#include "ml_session_api.h"
#include "ml_auth.h"
#include "ml_claims.h"
#include "ml_origin.h"

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_lib.h"
#include "apr_strings.h"
#include "apr_uri.h"

APLOG_USE_MODULE(magiclink);

#define ML_SESSION_METHODS "GET, HEAD, OPTIONS"
#define ML_PREFLIGHT_MAX_AGE "600"
#define ML_REQUEST_HEADERS_MAX 512

/* ---- origins ---- */

/* s as an origin: scheme://host[:port], lower case, without the scheme's
 * default port (as browsers send Origin); NULL if s is not one. A trailing
 * "/" is allowed (an admin's spelling). For the directive: a request's
 * Origin is compared in place (ml_origin_same). */
static const char *ml_origin_norm(apr_pool_t *p, const char *s)
{
    const char *host, *port = "";
    apr_uri_t u;
    char *out;

    if (apr_uri_parse(p, s, &u) != APR_SUCCESS || !u.scheme || !u.hostname || !*u.hostname
        || u.user || u.password || u.query || u.fragment
        || (u.path && *u.path && strcmp(u.path, "/")))
        return NULL;
    if (strcasecmp(u.scheme, "http") && strcasecmp(u.scheme, "https"))
        return NULL;
    if (u.port_str && u.port != apr_uri_port_of_scheme(u.scheme))
        port = apr_psprintf(p, ":%u", u.port);
    host = strchr(u.hostname, ':') ? apr_pstrcat(p, "[", u.hostname, "]", NULL) : u.hostname;
    out = apr_pstrcat(p, u.scheme, "://", host, port, NULL);
    ap_str_tolower(out);
    return out;
}

const char *ml_cmd_cors_origin(cmd_parms *cmd, void *dc, const char *arg)
{
    ml_dir_conf_t *d = dc;
    const char *o = ml_origin_norm(cmd->pool, arg);

    if (!o)
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": expected an origin such as "
                           "https://app.example.com[:port] (no path, no *), got ", arg, NULL);
    if (!d->cors_origins)
        d->cors_origins = apr_array_make(cmd->pool, 2, sizeof(const char *));
    APR_ARRAY_PUSH(d->cors_origins, const char *) = o;
    return NULL;
}

/* The listed origin (as normalized at start) that origin is, or NULL. */
static const char *ml_origin_listed(const ml_dir_conf_t *d, const char *origin)
{
    int i;

    for (i = 0; d->cors_origins && i < d->cors_origins->nelts; i++) {
        const char *listed = APR_ARRAY_IDX(d->cors_origins, i, const char *);
        if (ml_origin_same(origin, strlen(origin), listed, strlen(listed)))
            return listed;
    }
    return NULL;
}

/* ---- answers ---- */

static int ml_json_answer(request_rec *r, int status, const char *body, apr_size_t len)
{
    r->status = status;
    ap_set_content_type(r, "application/json");
    ap_set_content_length(r, (apr_off_t)len);
    if (!r->header_only)
        ap_rwrite(body, (int)len, r);
    return OK;
}

static int ml_json_empty(request_rec *r, int status)
{
    return ml_json_answer(r, status, "{}", 2);
}

/* The realm a session belongs to, as the gate's challenge names it. */
static const char *ml_realm(const ml_req_t *q)
{
    return ap_auth_name(q->r) ? ap_auth_name(q->r) : q->sc->site_name;
}

/* A quoted-string (RFC 7230) of s. */
static const char *ml_quoted(apr_pool_t *p, const char *s)
{
    char *out = apr_palloc(p, 2 * strlen(s) + 3), *o = out;

    *o++ = '"';
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            *o++ = '\\';
        *o++ = apr_iscntrl(*s) ? ' ' : *s;
    }
    *o++ = '"';
    *o = '\0';
    return out;
}

static int ml_session_json(ml_req_t *q, const ml_session_t *sess)
{
    ml_buf_t *b = ml_scratch_buf(q->scratch, ML_SBUF_USER);
    apr_status_t rv;
    int rc;

    ml_buf_reset(b);
    rv = ml_buf_puts(b, "{\"email\":");
    if (rv == APR_SUCCESS)
        rv = ml_json_string(b, sess->email);
    if (rv == APR_SUCCESS)
        rv = ml_buf_printf(b, ",\"expires\":%" APR_INT64_T_FMT ",\"idle_expires\":%"
                           APR_INT64_T_FMT ",\"realm\":",
                           sess->iat + ml_dir_session_ttl(q->dc),
                           sess->seen + ml_dir_session_idle(q->dc));
    if (rv == APR_SUCCESS)
        rv = ml_json_string(b, ml_realm(q));
    if (rv == APR_SUCCESS)
        rv = ml_buf_putc(b, '}');
    if (rv != APR_SUCCESS) {
        ml_buf_wipe(b);
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, q->r,
                      "MAGICLINK-302: session endpoint: cannot write the answer");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    rc = ml_json_answer(q->r, HTTP_OK, b->data, b->len);
    ml_buf_wipe(b);
    return rc;
}

/* Reading the session neither renews it nor counts as activity: a page
 * that polls this endpoint does not keep an idle session alive. */
static int ml_session_get(ml_req_t *q)
{
    ml_session_t sess;

    switch (ml_auth_session(q, &sess)) {
    case 1:
        return ml_session_json(q, &sess);
    case 0:
        apr_table_setn(q->r->err_headers_out, "WWW-Authenticate",
                       apr_pstrcat(q->r->pool, "MagicLink realm=",
                                   ml_quoted(q->r->pool, ml_realm(q)), NULL));
        return ml_json_empty(q->r, HTTP_UNAUTHORIZED);
    default:
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, q->r, "MAGICLINK-511: session endpoint: "
                      "sign-outs cannot be checked; answering 503");
        apr_table_setn(q->r->err_headers_out, "Retry-After", "60");
        return ml_json_empty(q->r, HTTP_SERVICE_UNAVAILABLE);
    }
}

/* Header names as a preflight lists them: tokens, commas and spaces. */
static int ml_header_list_valid(const char *s)
{
    if (strlen(s) > ML_REQUEST_HEADERS_MAX)
        return 0;
    for (; *s; s++)
        if (!apr_isalnum(*s) && !strchr("!#$%&'*+-.^_`|~, ", *s))
            return 0;
    return 1;
}

/* OPTIONS: a preflight from a listed origin (already given its
 * Allow-Origin), or a plain OPTIONS. Only GET and HEAD are ever allowed;
 * the browser refuses anything else the preflight asked for. */
static int ml_session_options(ml_req_t *q, int cors)
{
    request_rec *r = q->r;
    const char *want = apr_table_get(r->headers_in, "Access-Control-Request-Headers");

    apr_table_setn(r->headers_out, "Allow", ML_SESSION_METHODS);
    if (cors && apr_table_get(r->headers_in, "Access-Control-Request-Method")) {
        apr_table_setn(r->headers_out, "Access-Control-Allow-Methods", "GET, HEAD");
        if (want && ml_header_list_valid(want))
            apr_table_setn(r->headers_out, "Access-Control-Allow-Headers", want);
        apr_table_setn(r->headers_out, "Access-Control-Max-Age", ML_PREFLIGHT_MAX_AGE);
        apr_table_mergen(r->err_headers_out, "Vary",
                         "Access-Control-Request-Method, Access-Control-Request-Headers");
    }
    r->status = HTTP_NO_CONTENT;
    return OK;
}

/* Same origin (or no Origin at all: a navigation, curl): 1. A listed other
 * origin: 1 with *cors set and the CORS answer headers added. Any other
 * origin (and "null"): 0. */
static int ml_origin_admitted(ml_req_t *q, int *cors)
{
    request_rec *r = q->r;
    const char *sent = apr_table_get(r->headers_in, "Origin"), *listed;

    *cors = 0;
    if (!sent)
        return 1;
    /* Compared in place, as the CSRF check does (ml_origin.h): no parse into
     * the pool, and the configured origin is not normalized again per request. */
    if (q->sc->origin && ml_origin_same(sent, strlen(sent), q->sc->origin, strlen(q->sc->origin)))
        return 1;
    if (!(listed = ml_origin_listed(q->dc, sent))) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, r, "MAGICLINK-510: session endpoint: "
                      "origin %s is not listed in MagicLinkCORSOrigin; refused",
                      ap_escape_logitem(r->pool, sent));
        return 0;
    }
    *cors = 1;
    apr_table_setn(r->err_headers_out, "Access-Control-Allow-Origin", listed);
    apr_table_setn(r->err_headers_out, "Access-Control-Allow-Credentials", "true");
    return 1;
}

int ml_route_session(ml_req_t *q)
{
    request_rec *r = q->r;
    int cors;

    apr_table_setn(r->err_headers_out, "Cache-Control", "no-store");
    apr_table_setn(r->err_headers_out, "X-Content-Type-Options", "nosniff");
    /* No other site may embed the answer (no-cors reads); CORS governs the rest. */
    apr_table_setn(r->err_headers_out, "Cross-Origin-Resource-Policy", "same-origin");
    apr_table_mergen(r->err_headers_out, "Vary", "Origin");
    if (!ml_origin_admitted(q, &cors))
        return ml_json_empty(r, HTTP_FORBIDDEN);
    if (r->method_number == M_OPTIONS)
        return ml_session_options(q, cors);
    if (r->method_number != M_GET)
        return ml_web_method_not_allowed(r, ML_METHOD(M_GET) | ML_METHOD(M_OPTIONS));
    return ml_session_get(q);
}
