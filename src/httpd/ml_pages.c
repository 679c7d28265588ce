#include "ml_pages.h"
#include "ml_device.h"
#include "ml_tpl.h"

#include "http_log.h"
#include "http_protocol.h"
#include "apr_strings.h"
#include "httpd.h"

APLOG_USE_MODULE(magiclink);

typedef apr_status_t (*ml_render_fn)(ml_sink_t *out, const void *args, int lang);

const char *ml_msg(const ml_req_t *q, ml_msg_id_t id)
{
    return ml_msg_text(q->lang, id);
}

static int ml_page_send(ml_req_t *q, int status, ml_render_fn render, const void *args)
{
    request_rec *r = q->r;
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    ml_sink_brigade_t sink;
    apr_status_t rv;

    r->status = status;
    ap_set_content_type(r, "text/html; charset=utf-8");
    r->content_languages = apr_array_make(r->pool, 1, sizeof(const char *));
    APR_ARRAY_PUSH(r->content_languages, const char *) = ml_web_lang_code(q->lang);
    ml_web_page_headers(r);
    if (r->header_only)
        return OK;
    rv = render(ml_sink_brigade_init(&sink, bb), args, q->lang);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, "MAGICLINK-020: cannot render a page");
        apr_brigade_cleanup(bb);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    rv = ap_pass_brigade(r->output_filters, bb);
    return rv == APR_SUCCESS || r->connection->aborted ? OK : AP_FILTER_ERROR;
}

#define ML_RENDER(name) \
    static apr_status_t ml_render_##name(ml_sink_t *o, const void *a, int lang) \
    { return ml_tpl_##name(o, a, lang); }
ML_RENDER(login)
ML_RENDER(sent)
ML_RENDER(confirm)
ML_RENDER(signed_in)
ML_RENDER(signed_out)
ML_RENDER(error)
ML_RENDER(approve)
ML_RENDER(signout)

/* The sign-in page's URL with the return path (when not "/"): every way
 * back to sign-in keeps where the visitor was going. */
const char *ml_page_login_url(const ml_req_t *q, const char *ret)
{
    const char *login = ml_web_route_url(q, "login");

    if (!ret || !*ret || !strcmp(ret, "/"))
        return login;
    return apr_pstrcat(q->r->pool, login, "?return=", ap_escape_urlencoded(q->r->pool, ret),
                       NULL);
}

/* The language picker: language.tpl once per language the location offers,
 * into the scratch's free buffer (the page copies it); NULL with only one. */
static const char *ml_page_languages(ml_req_t *q, const char *ret)
{
    ml_buf_t *b = ml_scratch_buf(q->scratch, ML_SBUF_USER);
    ml_tpl_language_args_t a = { 0 };
    ml_sink_buf_t s;
    int i, l, n = q->dc->nlangs ? q->dc->nlangs : ML_LANG_COUNT;

    if (n < 2)
        return NULL;
    ml_buf_reset(b);
    a.login_url = ml_web_route_url(q, "login");
    a.return_to = ret && strcmp(ret, "/") ? ret : NULL;
    for (i = 0; i < n; i++) {
        l = q->dc->nlangs ? q->dc->langs[i] : i;
        a.code = ml_lang_info[l].code;
        a.name = ml_lang_info[l].name;
        a.current = l == q->lang ? "1" : NULL;
        if (ml_tpl_language(ml_sink_buf_init(&s, b), &a, q->lang) != APR_SUCCESS)
            return NULL;
    }
    return b->data;
}

int ml_page_login(ml_req_t *q, int status, const char *ret, const char *email,
                  const char *error)
{
    ml_tpl_login_args_t a = { 0 };

    a.site_name = q->sc->site_name;
    a.action_url = ml_web_route_url(q, "generate");
    a.csrf_token = q->bind_nonce;
    a.return_to = ret;
    a.email = email;
    a.error = error;
    q->ret = ret;
    a.signed_in_as = q->signed_in_as;
    a.logout_url = ml_web_route_url(q, "logout");
    a.languages = ml_page_languages(q, ret);
    return ml_page_send(q, status, ml_render_login, &a);
}

static int ml_page_sent_page(ml_req_t *q, ml_tpl_sent_args_t *a, int status)
{
    a->site_name = q->sc->site_name;
    a->code_action_url = ml_web_route_url(q, "code");
    a->csrf_token = q->bind_nonce;
    return ml_page_send(q, status, ml_render_sent, a);
}

int ml_page_sent(ml_req_t *q, const char *email, const char *pending, const ml_link_t *l,
                 int again, int refresh, int status)
{
    ml_tpl_sent_args_t a = { 0 };
    const char *wait = ml_web_route_url(q, apr_pstrcat(q->r->pool, "wait/", pending, NULL));

    a.email = email;
    a.pending = pending;
    a.number = l->match && *l->match ? l->match : NULL;
    /* Once stopped, "Continue" keeps it stopped. */
    a.check_url = refresh ? wait : apr_pstrcat(q->r->pool, wait, "?stop", NULL);
    a.refresh_url = refresh ? wait : NULL;
    a.stop_url = refresh ? apr_pstrcat(q->r->pool, wait, "?stop", NULL) : NULL;
    a.login_url = ml_page_login_url(q, l->ret);
    if (again) {
        a.again_url = ml_web_route_url(q, "generate");
        a.again_email = l->email;
        a.return_to = l->ret;
    }
    return ml_page_sent_page(q, &a, status);
}

int ml_page_code_wrong(ml_req_t *q, const char *pending, const ml_link_t *l, int tries_left)
{
    ml_tpl_sent_args_t a = { 0 };

    /* The number and the way on stay; the reload does not (the visitor is
     * typing). */
    a.number = l->match && *l->match ? l->match : NULL;
    a.check_url = ml_web_route_url(q, apr_pstrcat(q->r->pool, "wait/", pending, "?stop", NULL));
    a.login_url = ml_page_login_url(q, l->ret);
    a.pending = pending;
    a.code_wrong = "1";
    a.tries_left = tries_left >= 0 ? apr_itoa(q->r->pool, tries_left) : NULL;
    return ml_page_sent_page(q, &a, HTTP_FORBIDDEN);
}

int ml_page_code_malformed(ml_req_t *q, const char *pending)
{
    ml_tpl_sent_args_t a = { 0 };

    /* Not six digits: said as a wrong code, but 400 and no try counted. */
    a.pending = pending;
    a.code_wrong = "1";
    return ml_page_sent_page(q, &a, HTTP_BAD_REQUEST);
}

int ml_page_confirm(ml_req_t *q, const char *email)
{
    ml_tpl_confirm_args_t a = { 0 };

    a.site_name = q->sc->site_name;
    a.action_url = q->r->uri;
    a.csrf_token = q->bind_nonce;
    a.email = email;
    return ml_page_send(q, HTTP_OK, ml_render_confirm, &a);
}

int ml_page_signed_in(ml_req_t *q, const char *email, const char *cont)
{
    ml_tpl_signed_in_args_t a = { 0 };

    a.site_name = q->sc->site_name;
    a.email = email;
    a.continue_url = cont;
    apr_table_setn(q->r->headers_out, "Location", cont);
    return ml_page_send(q, HTTP_SEE_OTHER, ml_render_signed_in, &a);
}

int ml_page_signed_out(ml_req_t *q, const char *location)
{
    ml_tpl_signed_out_args_t a = { 0 };

    a.site_name = q->sc->site_name;
    a.login_url = ml_page_login_url(q, q->ret);
    if (location)
        apr_table_setn(q->r->headers_out, "Location", location);
    return ml_page_send(q, location ? HTTP_SEE_OTHER : HTTP_OK, ml_render_signed_out, &a);
}

int ml_page_signout(ml_req_t *q, const char *email)
{
    ml_tpl_signout_args_t a = { 0 };

    a.site_name = q->sc->site_name;
    a.csrf_token = q->bind_nonce;
    a.logout_url = ml_web_route_url(q, "logout");
    a.email = email;
    return ml_page_send(q, HTTP_OK, ml_render_signout, &a);
}

int ml_page_approve(ml_req_t *q, const ml_link_t *l, const char *token, int status)
{
    ml_tpl_approve_args_t a = { 0 };
    apr_int64_t minutes = (q->now - l->iat + 59) / 60;

    a.site_name = q->sc->site_name;
    a.action_url = ml_web_route_url(q, apr_pstrcat(q->r->pool, "approve/", token, NULL));
    a.csrf_token = q->bind_nonce;
    if (!ml_device_split(l->device, q->r->pool, &a.device_browser, &a.device_os))
        a.device_browser = a.device_os = NULL;
    /* "1 minute ago" for a request of the last minute: never 0. */
    a.minutes = apr_off_t_toa(q->r->pool, minutes < 1 ? 1 : minutes);
    return ml_page_send(q, status, ml_render_approve, &a);
}

int ml_page_error(ml_req_t *q, int status, const char *title, const char *message,
                  const char *retry_url, const char *retry_label)
{
    ml_tpl_error_args_t a = { 0 };

    a.site_name = q->sc->site_name;
    a.title = title;
    a.message = message;
    a.retry_url = retry_url ? retry_url : ml_page_login_url(q, q->ret);
    a.retry_label = retry_label ? retry_label : ml_msg(q, ML_MSG_REQUEST_NEW_LINK);
    return ml_page_send(q, status, ml_render_error, &a);
}
