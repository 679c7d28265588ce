#include "ml_mail_msg.h"
#include "ml_mail_enc.h"
#include "ml_mail_utf8.h"
#include "ml_random.h"

#define ML_MSGID_BYTES 16
#define ML_BOUNDARY_BYTES 12

static const char ml_hexl[] = "0123456789abcdef";

static void ml_hex_put(char *out, const unsigned char *in, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        out[2 * i] = ml_hexl[in[i] >> 4];
        out[2 * i + 1] = ml_hexl[in[i] & 15];
    }
    out[2 * n] = '\0';
}

/* RFC 5322 3.3 date-time in UTC, with English names whatever the locale. */
static apr_status_t ml_put_date(ml_buf_t *b, apr_time_t t)
{
    static const char days[] = "SunMonTueWedThuFriSat";
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    apr_time_exp_t x;

    if (apr_time_exp_gmt(&x, t ? t : apr_time_now()) != APR_SUCCESS)
        return APR_EGENERAL;
    return ml_buf_printf(b, "Date: %.3s, %02d %.3s %04d %02d:%02d:%02d +0000\r\n",
                         days + 3 * x.tm_wday, x.tm_mday, months + 3 * x.tm_mon,
                         x.tm_year + 1900, x.tm_hour, x.tm_min, x.tm_sec);
}

/* Addresses reach us normalized; this re-check is what makes a header
 * injection through one impossible even if a caller forgot. */
static int ml_plain_addr(const char *a)
{
    apr_size_t i;

    for (i = 0; a[i]; i++)
        if ((unsigned char)a[i] <= ' ' || (unsigned char)a[i] >= 0x7F || a[i] == '<'
            || a[i] == '>' || a[i] == ',' || a[i] == '"')
            return 0;
    return i > 0 && i <= ML_ADDR_MAX && strchr(a, '@') != NULL;
}

static apr_status_t ml_put_part(ml_buf_t *b, const char *boundary, const char *type,
                                const char *body, apr_size_t n)
{
    apr_status_t rv = ml_buf_printf(b,
                                    "\r\n--%s\r\n"
                                    "Content-Type: text/%s; charset=utf-8\r\n"
                                    "Content-Transfer-Encoding: quoted-printable\r\n"
                                    "\r\n",
                                    boundary, type);
    return rv == APR_SUCCESS ? ml_mail_qp(b, body, n) : rv;
}

/* A language tag as RFC 5646 spells one: letters, digits and '-', at most
 * 35 characters, starting with a letter. Nothing else reaches the header. */
static int ml_lang_tag(const char *t)
{
    apr_size_t i;

    for (i = 0; t[i]; i++) {
        char c = t[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (i > 0 && c == '-')
              || (i > 0 && c >= '0' && c <= '9')))
            return 0;
    }
    return i > 0 && i <= 35;
}

static const char *ml_check(const ml_mail_msg_t *m)
{
    if (!m->from || !m->from->line || !m->from->domain)
        return "no From address";
    if (!m->to || !ml_plain_addr(m->to))
        return "the recipient is not a normalized address";
    if (!m->subject || m->subject_len > ML_MAIL_SUBJECT_MAX)
        return "the subject is missing or longer than 998 bytes";
    if (!ml_mail_hdr_ok(m->subject, m->subject_len))
        return "the subject has control characters or is not UTF-8";
    if (!m->text || !ml_mail_utf8_valid(m->text, m->text_len))
        return "the text part is missing or not UTF-8";
    if (!m->html || !ml_mail_utf8_valid(m->html, m->html_len))
        return "the HTML part is missing or not UTF-8";
    if (m->lang && !ml_lang_tag(m->lang))
        return "the language is not a language tag";
    return NULL;
}

static apr_status_t ml_put_headers(ml_buf_t *b, const ml_mail_msg_t *m, const char *boundary,
                                   const char *msgid)
{
    apr_status_t rv = ml_put_date(b, m->date);

    if (rv == APR_SUCCESS)
        rv = ml_buf_printf(b, "%s\r\nTo: %s\r\nSubject: ", m->from->line, m->to);
    if (rv == APR_SUCCESS)
        rv = ml_mail_hdr_text(b, m->subject, m->subject_len);
    if (rv == APR_SUCCESS)
        rv = ml_buf_printf(b,
                           "\r\nMessage-ID: <%s@%s>\r\n"
                           "MIME-Version: 1.0\r\n"
                           "Auto-Submitted: auto-generated\r\n"
                           "X-Auto-Response-Suppress: All\r\n", msgid, m->from->domain);
    if (rv == APR_SUCCESS && m->lang)
        rv = ml_buf_printf(b, "Content-Language: %s\r\n", m->lang);
    if (rv == APR_SUCCESS)
        rv = ml_buf_printf(b,
                           "Content-Type: multipart/alternative;\r\n"
                           " boundary=\"%s\"\r\n"
                           "\r\n"
                           "This is a multi-part message in MIME format.\r\n",
                           boundary);
    return rv;
}

apr_status_t ml_mail_compose(ml_buf_t *out, const ml_mail_msg_t *m, const char **err)
{
    unsigned char rnd[ML_MSGID_BYTES + ML_BOUNDARY_BYTES];
    char msgid[2 * ML_MSGID_BYTES + 1], boundary[5 + 2 * ML_BOUNDARY_BYTES + 1];
    const char *e = ml_check(m);
    apr_status_t rv;

    ml_buf_reset(out);
    if (e) {
        *err = e;
        return APR_EINVAL;
    }
    if (!ml_random_bytes(rnd, sizeof(rnd))) {
        *err = "no random bytes for the Message-ID";
        return APR_EGENERAL;
    }
    ml_hex_put(msgid, rnd, ML_MSGID_BYTES);
    memcpy(boundary, "=_ml_", 5);
    ml_hex_put(boundary + 5, rnd + ML_MSGID_BYTES, ML_BOUNDARY_BYTES);
    rv = ml_put_headers(out, m, boundary, msgid);
    if (rv == APR_SUCCESS)
        rv = ml_put_part(out, boundary, "plain", m->text, m->text_len);
    if (rv == APR_SUCCESS)
        rv = ml_put_part(out, boundary, "html", m->html, m->html_len);
    if (rv == APR_SUCCESS)
        rv = ml_buf_printf(out, "\r\n--%s--\r\n", boundary);
    if (rv != APR_SUCCESS) {
        ml_buf_wipe(out);
        *err = "out of memory composing the message";
    }
    return rv;
}
