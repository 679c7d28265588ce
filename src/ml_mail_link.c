#include "ml_mail_link.h"
#include "ml_lang.h"
#include "ml_mail_msg.h"
#include "ml_templates.h"

#include <apr_strings.h>

/* The subject, rendered through the text buffer: one line, its end dropped. */
static const char *ml_subject(const ml_mail_link_t *in, int lang, ml_buf_t *text,
                              apr_pool_t *p)
{
    ml_tpl_email_subject_args_t s = { 0 };
    ml_sink_buf_t sink;
    apr_size_t n;

    s.site_name = in->site_name;
    ml_buf_reset(text);
    if (ml_tpl_email_subject(ml_sink_buf_init(&sink, text), &s, lang) != APR_SUCCESS)
        return NULL;
    for (n = text->len; n > 0 && (text->data[n - 1] == '\n' || text->data[n - 1] == ' '); n--)
        ;
    return apr_pstrmemdup(p, text->data, n);
}

static int ml_bodies(const ml_mail_link_t *in, int lang, const char *ttl, ml_buf_t *text,
                     ml_buf_t *html)
{
    ml_tpl_email_text_args_t t = { 0 };
    ml_tpl_email_html_args_t h = { 0 };
    ml_sink_buf_t st, sh;

    t.site_name = h.site_name = in->site_name;
    t.link = h.link = in->link;
    t.code = h.code = in->code;
    t.email = h.email = in->display;
    t.ttl_minutes = h.ttl_minutes = ttl;
    ml_buf_reset(text);
    ml_buf_reset(html);
    return ml_tpl_email_text(ml_sink_buf_init(&st, text), &t, lang) == APR_SUCCESS
           && ml_tpl_email_html(ml_sink_buf_init(&sh, html), &h, lang) == APR_SUCCESS;
}

apr_status_t ml_mail_link_compose(const ml_mail_link_t *in, ml_buf_t *text, ml_buf_t *html,
                                  ml_buf_t *out, apr_pool_t *p, const char **err)
{
    int lang = in->lang ? ml_lang_exact(in->lang, strlen(in->lang), ml_lang_codes,
                                        ML_LANG_COUNT)
                        : -1;
    ml_mail_msg_t m = { 0 };
    apr_status_t rv = APR_EGENERAL;

    lang = lang < 0 ? ML_LANG_EN : lang;
    m.subject = ml_subject(in, lang, text, p);
    if (!m.subject || !ml_bodies(in, lang, apr_itoa(p, in->ttl_minutes), text, html)) {
        *err = "a mail template failed";
        ml_buf_wipe(out);
    }
    else {
        m.from = in->from;
        m.to = in->to;
        m.lang = ml_lang_info[lang].code;
        m.subject_len = strlen(m.subject);
        m.text = text->data;
        m.text_len = text->len;
        m.html = html->data;
        m.html_len = html->len;
        rv = ml_mail_compose(out, &m, err);
    }
    ml_buf_wipe(text);
    ml_buf_wipe(html);
    return rv;
}
