#include "ml_pages.h"
#include "ml_tpl.h"
#include "ml_templates.h"

#include "http_log.h"
#include "http_protocol.h"
#include "apr_strings.h"

APLOG_USE_MODULE(magiclink);

typedef apr_status_t (*ml_render_fn)(ml_sink_t *out, const void *args);

static int ml_page_send(ml_req_t *q, int status, ml_render_fn render, const void *args)
{
    request_rec *r = q->r;
    apr_bucket_brigade *bb = apr_brigade_create(r->pool, r->connection->bucket_alloc);
    ml_sink_brigade_t sink;
    apr_status_t rv;

    r->status = status;
    ap_set_content_type(r, "text/html; charset=utf-8");
    ml_web_page_headers(r);
    if (r->header_only)
        return OK;
    rv = render(ml_sink_brigade_init(&sink, bb), args);
    if (rv != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r, APLOGNO(10520) "cannot render a page");
        apr_brigade_cleanup(bb);
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (q->flush_page)
        APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_flush_create(bb->bucket_alloc));
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_eos_create(bb->bucket_alloc));
    rv = ap_pass_brigade(r->output_filters, bb);
    return rv == APR_SUCCESS || r->connection->aborted ? OK : AP_FILTER_ERROR;
}

#define ML_RENDER(name) \
    static apr_status_t ml_render_##name(ml_sink_t *o, const void *a) \
    { return ml_tpl_##name(o, a); }
ML_RENDER(login)
ML_RENDER(sent)
ML_RENDER(confirm)
ML_RENDER(signed_in)
ML_RENDER(signed_out)
ML_RENDER(error)

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
    a.signed_in_as = q->signed_in_as;
    a.logout_url = ml_web_route_url(q, "logout");
    return ml_page_send(q, status, ml_render_login, &a);
}

int ml_page_sent(ml_req_t *q, const char *email, const char *pending, const char *error,
                 int status)
{
    ml_tpl_sent_args_t a = { 0 };

    a.site_name = q->sc->site_name;
    a.email = email;
    a.code_action_url = ml_web_route_url(q, "code");
    a.csrf_token = q->bind_nonce;
    a.pending = pending;
    a.error = error;
    return ml_page_send(q, status, ml_render_sent, &a);
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

int ml_page_signed_out(ml_req_t *q, const char *login_url)
{
    ml_tpl_signed_out_args_t a = { 0 };

    a.site_name = q->sc->site_name;
    a.login_url = login_url;
    apr_table_setn(q->r->headers_out, "Location", login_url);
    return ml_page_send(q, HTTP_SEE_OTHER, ml_render_signed_out, &a);
}

int ml_page_error(ml_req_t *q, int status, const char *title, const char *message,
                  const char *retry_url, const char *retry_label)
{
    ml_tpl_error_args_t a = { 0 };

    a.site_name = q->sc->site_name;
    a.title = title;
    a.message = message;
    a.retry_url = retry_url ? retry_url : ml_web_route_url(q, "login");
    a.retry_label = retry_label ? retry_label : "Request a new link";
    return ml_page_send(q, status, ml_render_error, &a);
}

int ml_page_email(ml_req_t *q, const char *email, const char *link, const char *code,
                  ml_buf_t *text, ml_buf_t *html)
{
    ml_tpl_email_text_args_t t = { 0 };
    ml_tpl_email_html_args_t h = { 0 };
    ml_sink_buf_t st, sh;
    const char *ttl = apr_itoa(q->r->pool, (ml_dir_link_ttl(q->dc) + 59) / 60);

    t.site_name = h.site_name = q->sc->site_name;
    t.link = h.link = link;
    t.code = h.code = code;
    t.email = h.email = email;
    t.ttl_minutes = h.ttl_minutes = ttl;
    ml_buf_reset(text);
    ml_buf_reset(html);
    return ml_tpl_email_text(ml_sink_buf_init(&st, text), &t) == APR_SUCCESS
           && ml_tpl_email_html(ml_sink_buf_init(&sh, html), &h) == APR_SUCCESS;
}
