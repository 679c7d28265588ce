/* The content handler (SetHandler magiclink): the sign-in routes of
 * DESIGN section 3, relative to the handler's <Location>. */
#include "ml_routes.h"
#include "ml_auth.h"
#include "ml_mailer.h"
#include "ml_addr.h"
#include "ml_mail_msg.h"
#include "ml_pages.h"
#include "ml_return.h"
#include "ml_state.h"

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_script.h"
#include "apr_strings.h"

APLOG_USE_MODULE(magiclink);

#define ML_M(m) (AP_METHOD_BIT << (m))

/* ---- shared steps ---- */

static const char *ml_login_url(const ml_req_t *q)
{
    return ml_web_route_url(q, "login");
}

/* The store already logged the incident once; here only at debug level, so
 * an outage is one line in the log, not one per request. */
static int ml_unavailable(ml_req_t *q, apr_status_t rv, const char *what)
{
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, q->r, APLOGNO(10530)
                  "%s failed; answering 503", what);
    apr_table_setn(q->r->err_headers_out, "Retry-After", "60");
    return ml_page_error(q, HTTP_SERVICE_UNAVAILABLE, "Temporarily unavailable",
                         "Signing in is not possible right now. Please try again in a minute.",
                         NULL, "Back to sign-in");
}

static int ml_csrf_failed(ml_req_t *q)
{
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, q->r, APLOGNO(10531)
                  "CSRF token missing or not this browser's; refused");
    return ml_page_error(q, HTTP_FORBIDDEN, "Please try again",
                         "This form has expired or was not sent from this site. Open the "
                         "sign-in page again and resend it.", NULL, "Open the sign-in page");
}

/* Reads the form and checks CSRF: OK, or the status already answered. */
static int ml_post_prologue(ml_req_t *q, int *done)
{
    int rc = ml_web_read_form(q);

    *done = 1;
    if (rc != OK)
        return rc;
    ml_web_binding(q, 0);
    if (!ml_web_csrf_ok(q))
        return ml_csrf_failed(q);
    *done = 0;
    return OK;
}

/* Counts the request against each rate limit and, unless one is exceeded,
 * records the link as usable: one trip to the store. 1 when admitted; else
 * 0, with the refusal page answered and *status set. */
static int ml_admit(ml_req_t *q, const char *email, const ml_link_t *l, int *status)
{
    const char *at = strrchr(email, '@');
    const ml_counter_t limits[] = {
        { "i", q->r->useragent_ip, q->sc->rate_ip.limit, q->sc->rate_ip.window },
        { "e", email, q->sc->rate_email.limit, q->sc->rate_email.window },
        { "d", at ? at + 1 : "", q->sc->rate_domain.limit, q->sc->rate_domain.window },
    };
    const ml_entry_t link = { "u", l->id, apr_time_from_sec(l->exp + 60) };
    int over = 0;
    apr_status_t rv = ml_store_count(ml_store_get(), q->r->server, q->scratch, q->kr->crypto,
                                     limits, 3, &link, &over, q->r->pool);

    if (rv != APR_SUCCESS)
        *status = ml_unavailable(q, rv, "counting and recording the new link");
    else if (over)
        *status = ml_page_error(q, HTTP_TOO_MANY_REQUESTS, "Too many requests",
                                "Too many sign-in links were asked for. Please wait a while "
                                "and try again.", NULL, "Back to sign-in");
    return rv == APR_SUCCESS && !over;
}

/* Starts the session: sets the cookie and answers 303 to the return path. */
static int ml_sign_in(ml_req_t *q, const ml_link_t *l)
{
    ml_session_t sess = { l->email, q->now, q->now, NULL };   /* aud: ml_web_session_seal */
    apr_int64_t not_before = 0;
    const char *sealed;

    /* A sign-out revokes sessions issued up to its second: one that begins
     * in that same second is dated just after it, so it survives. */
    if (ml_store_get_time(ml_store_get(), q->r->server, q->scratch, q->kr->crypto, "v",
                          l->email, &not_before, q->r->pool) == APR_SUCCESS
        && not_before >= sess.iat)
        sess.iat = sess.seen = not_before + 1;
    if (ml_web_session_seal(q, &sess, &sealed) != ML_CODEC_OK)
        return HTTP_INTERNAL_SERVER_ERROR;
    ml_web_set_cookie(q, ml_dir_cookie(q->dc), sealed, "/", ml_dir_session_ttl(q->dc));
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, q->r, APLOGNO(10532) "signed in");
    return ml_page_signed_in(q, l->email, ml_return_or(l->ret, "/"));
}

/* Marks the link used; 1 when this request is the one that used it. */
static int ml_consume(ml_req_t *q, const ml_link_t *l, int *status)
{
    int first = 0;
    apr_status_t rv = ml_store_consume(ml_store_get(), q->r->server, q->scratch, q->kr->crypto,
                                       "u", l->id, &first, q->r->pool);

    if (rv != APR_SUCCESS) {
        *status = ml_unavailable(q, rv, "recording the link as used");
        return 0;
    }
    if (!first)
        *status = ml_page_error(q, HTTP_GONE, "Link already used",
                                "This sign-in link has already been used (or the server "
                                "forgot it). Each link works once; request a new one.",
                                NULL, NULL);
    return first;
}

/* Answers for a link or pending token that does not open. */
static int ml_link_failed(ml_req_t *q, ml_codec_err_t e)
{
    if (e == ML_CODEC_EXPIRED)
        return ml_page_error(q, HTTP_GONE, "Link expired",
                             "This sign-in link has expired. Request a new one.", NULL, NULL);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, q->r, APLOGNO(10533) "link refused: %s",
                  ml_codec_strerror(e));
    return ml_page_error(q, HTTP_BAD_REQUEST, "Invalid link",
                         "This sign-in link is not valid. It may have been cut short by your "
                         "mail program; request a new one.", NULL, NULL);
}

/* ---- routes ---- */

static int ml_route_login(ml_req_t *q)
{
    const char *ret = NULL;
    ml_session_t sess;

    if (q->r->args) {
        apr_table_t *args;
        ap_args_to_table(q->r, &args);
        ret = apr_table_get(args, "return");
    }
    ml_web_binding(q, 1);
    if (!q->bind_nonce)
        return HTTP_INTERNAL_SERVER_ERROR;
    /* A signed-in visitor gets the sign-out button here. */
    if (ml_auth_session(q, &sess) == 1)
        q->signed_in_as = sess.email;
    return ml_page_login(q, HTTP_OK, ml_return_or(ret, "/"), NULL, NULL);
}

/* Composes the link's mail into the scratch's mail buffer: the same work
 * for every address, allowed or not. 1 on success. */
static int ml_compose(ml_req_t *q, const char *email, const char *display,
                      const ml_issued_t *is)
{
    ml_buf_t *text = ml_scratch_buf(q->scratch, ML_SBUF_TEXT);
    ml_buf_t *html = ml_scratch_buf(q->scratch, ML_SBUF_HTML);
    ml_mail_msg_t m = { 0 };
    const char *link, *err = NULL;

    /* The origin is configuration, never this request's Host header. */
    link = apr_pstrcat(q->r->pool, q->sc->origin,
                       ml_web_route_url(q, apr_pstrcat(q->r->pool, "verify/", is->token, NULL)),
                       NULL);
    if (!ml_page_email(q, display, link, is->code, text, html)) {
        err = "a mail template failed";
    }
    else {
        m.from = &q->sc->from;
        m.to = email;
        m.subject = apr_pstrcat(q->r->pool, "Your sign-in link for ", q->sc->site_name, NULL);
        m.subject_len = strlen(m.subject);
        m.text = text->data;
        m.text_len = text->len;
        m.html = html->data;
        m.html_len = html->len;
        ml_mail_compose(ml_scratch_buf(q->scratch, ML_SBUF_MAIL), &m, &err);
    }
    ml_buf_wipe(text);
    ml_buf_wipe(html);
    if (err)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r, APLOGNO(10534)
                      "cannot compose the link mail: %s", err);
    return err == NULL;
}

/* Delivers the composed mail, after the page has gone out. */
static void ml_deliver(ml_req_t *q, const char *email)
{
    ml_buf_t *msg = ml_scratch_buf(q->scratch, ML_SBUF_MAIL);
    char errbuf[256];
    apr_status_t rv;

    rv = ml_mailer_send(q->sc->mailer, q->sc->from.addr, email, msg->data, msg->len, q->r->pool,
                        errbuf, sizeof(errbuf));
    if (rv != APR_SUCCESS)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, q->r, APLOGNO(10537)
                      "mail delivery through %s failed: %s", ml_mailer_describe(q->sc->mailer),
                      errbuf);
}

/* Every address gets the same page at the same moment: the page is written
 * out first, and only then is the mail delivered (when the address may sign
 * in), so neither the answer nor its timing tells who has an account, and a
 * slow relay delays no one's page. A delivery failure is logged. */
static int ml_route_generate(ml_req_t *q)
{
    const char *raw, *email, *display, *why = NULL, *ret;
    int done, rc, allowed;
    ml_issued_t is;

    rc = ml_post_prologue(q, &done);
    if (done)
        return rc;
    raw = ml_web_field(q, "email");
    ret = ml_return_or(ml_web_field(q, "return"), "/");
    if (!raw || ml_addr_normalize(q->r->pool, raw, strlen(raw), &email, &display, &why)
                    != APR_SUCCESS)
        return ml_page_login(q, HTTP_BAD_REQUEST, ret, NULL,
                             "Please enter a valid email address, like name@example.com.");
    if (ml_link_issue(q->scratch, q->kr, q->now, ml_dir_link_ttl(q->dc), email, q->bind_nonce,
                      ret, q->r->pool, &is) != ML_CODEC_OK)
        return HTTP_INTERNAL_SERVER_ERROR;
    if (!ml_admit(q, email, &is.link, &rc))
        return rc;
    if (!ml_compose(q, email, display, &is))
        return HTTP_INTERNAL_SERVER_ERROR;
    allowed = ml_auth_may_sign_in(q, email);
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, q->r, APLOGNO(10535)
                  "link requested (%s)", allowed ? "mailing it" : "address not allowed");
    q->flush_page = 1;
    rc = ml_page_sent(q, display, is.pending, NULL, HTTP_OK);
    if (rc == OK && allowed)
        ml_deliver(q, email);
    ml_buf_wipe(ml_scratch_buf(q->scratch, ML_SBUF_MAIL));
    return rc;
}

static int ml_route_verify(ml_req_t *q, const char *token)
{
    ml_link_t l;
    ml_codec_err_t e;
    int done, rc = OK;

    if (q->r->method_number == M_POST) {
        rc = ml_post_prologue(q, &done);
        if (done)
            return rc;
    }
    else {
        ml_web_binding(q, 1);
    }
    e = ml_link_open(q->scratch, q->kr, ML_NAME_LINK, token, q->now, ml_dir_link_ttl(q->dc),
                     q->r->pool, &l);
    if (e != ML_CODEC_OK)
        return ml_link_failed(q, e);
    if (q->r->method_number != M_POST)    /* mail scanners fetch links: never consume */
        return ml_page_confirm(q, l.email);
    if (ml_dir_bind_browser(q->dc) && !ml_web_equal(l.nonce, q->bind_nonce))
        return ml_page_error(q, HTTP_FORBIDDEN, "Opened in another browser",
                             "For your safety this link works only in the browser where it "
                             "was asked for. Go back to that tab and type the code from the "
                             "email there.", NULL, "Request a link in this browser");
    if (!ml_consume(q, &l, &rc))
        return rc;
    return ml_sign_in(q, &l);
}

static int ml_route_code(ml_req_t *q)
{
    const char *pending, *code;
    ml_link_t l;
    ml_counter_t tries;
    ml_codec_err_t e;
    apr_status_t rv;
    int done, rc, over = 0;

    rc = ml_post_prologue(q, &done);
    if (done)
        return rc;
    pending = ml_web_field(q, "pending");
    code = ml_web_field(q, "code");
    if (!pending || !code)
        return ml_page_error(q, HTTP_BAD_REQUEST, "Incomplete form",
                             "Type the code from the email.", NULL, NULL);
    e = ml_link_open(q->scratch, q->kr, ML_NAME_PENDING, pending, q->now,
                     ml_dir_link_ttl(q->dc), q->r->pool, &l);
    if (e != ML_CODEC_OK)
        return ml_link_failed(q, e);
    if (!ml_web_equal(l.nonce, q->bind_nonce))
        return ml_csrf_failed(q);
    tries = (ml_counter_t){ "t", l.id, ML_CODE_TRIES, ml_dir_link_ttl(q->dc) + 60 };
    rv = ml_store_count(ml_store_get(), q->r->server, q->scratch, q->kr->crypto, &tries, 1, NULL,
                        &over, q->r->pool);
    if (rv != APR_SUCCESS)
        return ml_unavailable(q, rv, "counting code tries");
    if (over)
        return ml_page_error(q, HTTP_TOO_MANY_REQUESTS, "Too many tries",
                             "That code was mistyped too many times. Request a new link.",
                             NULL, NULL);
    while (*code == ' ')
        code++;
    if (!ml_link_code_matches(q->scratch, q->kr, &l, code))
        return ml_page_sent(q, NULL, pending, "That code is not right. Check the email and "
                            "try again.", HTTP_FORBIDDEN);
    if (!ml_consume(q, &l, &rc))
        return rc;
    return ml_sign_in(q, &l);
}

static int ml_route_logout(ml_req_t *q)
{
    const char *name = ml_dir_cookie(q->dc), *cookie = ml_web_cookie(q->r, name);
    ml_session_t sess;
    int done, rc;

    rc = ml_post_prologue(q, &done);
    if (done)
        return rc;
    /* Sign out everywhere: sessions issued before now stop opening. */
    if (cookie && ml_web_session_open(q, cookie, ml_dir_session_ttl(q->dc), &sess) == ML_CODEC_OK) {
        apr_status_t rv = ml_store_put_time(ml_store_get(), q->r->server, q->scratch,
                                            q->kr->crypto, "v", sess.email, q->now,
                                            apr_time_from_sec(q->now + ml_dir_session_ttl(q->dc)),
                                            q->r->pool);
        if (rv != APR_SUCCESS)
            return ml_unavailable(q, rv, "recording the sign-out");
    }
    ml_web_set_cookie(q, name, "", "/", 0);
    return ml_page_signed_out(q, ml_login_url(q));
}

/* ---- dispatch ---- */

static int ml_method_not_allowed(request_rec *r, apr_int64_t allowed)
{
    /* httpd builds the Allow header from allowed_methods, not r->allowed. */
    r->allowed_methods->method_mask = allowed;
    return HTTP_METHOD_NOT_ALLOWED;
}

/* Splits the URI into the handler's base path and the route below it, from
 * the route names themselves: httpd does not tell a handler which section
 * set it, and this way it works in <Location>, <LocationMatch> and
 * <Directory> alike. Returns the route ("" for the base itself) or NULL. */
static const char *ml_route_split(ml_req_t *q)
{
    static const char *const routes[] = { "login", "generate", "code", "logout" };
    const char *uri = q->r->uri, *slash = strrchr(uri, '/'), *v;
    apr_size_t i;

    if (!slash)
        return NULL;
    for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (!strcmp(slash + 1, routes[i])) {
            q->base = apr_pstrmemdup(q->r->pool, uri, (apr_size_t)(slash - uri));
            return routes[i];
        }
    }
    v = slash - 7 >= uri && !strncmp(slash - 7, "/verify/", 8) ? slash - 7 : NULL;
    if (v && slash[1]) {
        q->base = apr_pstrmemdup(q->r->pool, uri, (apr_size_t)(v - uri));
        return v + 1;
    }
    if (!slash[1]) {
        q->base = apr_pstrmemdup(q->r->pool, uri, (apr_size_t)(slash - uri));
        return "";
    }
    return NULL;
}

/* ---- skipping the filesystem ---- */

/* The handler's pages are not files, so the <Directory> walk and its stat
 * calls (a tenth of a request's time) are skipped for them, as mod_proxy
 * skips them for proxied URLs; <Location> and <If> sections still apply.
 * Only translate_name still sees the <Location> walk (map_to_storage runs
 * on the server defaults), so the decision is noted there. */
static const char ml_virtual;

int ml_translate(request_rec *r)
{
    core_dir_config *d = ap_get_core_module_config(r->per_dir_config);
    const char *err = NULL, *h;

    if (!d->expr_handler)
        return DECLINED;
    h = ap_expr_str_exec(r, d->expr_handler, &err);
    if (!err && h && !strcmp(h, ML_HANDLER))
        ap_set_module_config(r->request_config, &magiclink_module, (void *)&ml_virtual);
    return DECLINED;
}

int ml_map_to_storage(request_rec *r)
{
    return ap_get_module_config(r->request_config, &magiclink_module) == &ml_virtual ? OK
                                                                                    : DECLINED;
}

/* ---- the handler ---- */

int ml_handler(request_rec *r)
{
    int m = r->method_number, get = (m == M_GET);
    const char *sub;
    ml_req_t q;

    if (!r->handler || strcmp(r->handler, ML_HANDLER))
        return DECLINED;
    if (!ml_web_init(&q, r)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, APLOGNO(10536)
                      "SetHandler magiclink without MagicLinkKeyFile for this server");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    sub = ml_route_split(&q);
    if (!sub)
        return HTTP_NOT_FOUND;
    if (!strcmp(sub, "")) {
        apr_table_setn(r->headers_out, "Location", ml_login_url(&q));
        return HTTP_MOVED_TEMPORARILY;
    }
    if (!strcmp(sub, "login"))
        return get ? ml_route_login(&q) : ml_method_not_allowed(r, ML_M(M_GET));
    if (!strncmp(sub, "verify/", 7))
        return (get || m == M_POST) ? ml_route_verify(&q, sub + 7)
                                    : ml_method_not_allowed(r, ML_M(M_GET) | ML_M(M_POST));
    if (!strcmp(sub, "generate"))
        return m == M_POST ? ml_route_generate(&q) : ml_method_not_allowed(r, ML_M(M_POST));
    if (!strcmp(sub, "code"))
        return m == M_POST ? ml_route_code(&q) : ml_method_not_allowed(r, ML_M(M_POST));
    if (!strcmp(sub, "logout"))
        return m == M_POST ? ml_route_logout(&q) : ml_method_not_allowed(r, ML_M(M_POST));
    return HTTP_NOT_FOUND;
}
