#include "ml_outbox.h"
#include "ml_codec.h"

#include <apr_strings.h>
#include <apr_time.h>
#include <stdlib.h>
#include <string.h>

#define ML_OUTBOX_MAGIC "mo2"
#define ML_OUTBOX_SEALED_MAX 8192

static int ml_line_ok(const char *v)
{
    return v && !strpbrk(v, "\r\n");
}

/* The codec's name for message id: a value sealed for one message cannot
 * pass for another, nor for a cookie. */
static const char *ml_seal_name(const ml_store_key_t *id, apr_pool_t *p)
{
    char hex[2 * ML_STORE_KEY_LEN + 1];

    ml_store_key_hex(id, hex);
    return apr_pstrcat(p, "magiclink-outbox.", hex, NULL);
}

const char *ml_outbox_seal(ml_scratch_t *s, const ml_keyring_t *kr, const ml_store_key_t *id,
                           const ml_outbox_msg_t *m, apr_int64_t now, apr_pool_t *p,
                           apr_size_t *len)
{
    const ml_mail_link_t *ml = &m->mail;
    const char *fields[] = { m->mailer, m->from, ml->to, ml->display, ml->site_name,
                             ml->lang ? ml->lang : "", ml->link, ml->code };
    ml_seal_opts_t o = { now, NULL, ML_OUTBOX_SEALED_MAX };
    const char *plain, *sealed;
    apr_size_t i;

    for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        if (!ml_line_ok(fields[i]))
            return NULL;
    plain = apr_psprintf(p, ML_OUTBOX_MAGIC "\n%c\n%s\n%s\n%s\n%s\n%s\n%s\n%d\n%s\n%s\n",
                         m->send ? 's' : 'd', m->mailer, m->from, ml->to, ml->display,
                         ml->site_name, fields[5], ml->ttl_minutes, ml->link, ml->code);
    if (ml_seal_raw(s, kr, ml_seal_name(id, p), plain, strlen(plain), &o, &sealed, len)
            != ML_CODEC_OK)
        return NULL;
    /* The seal lives in the scratch until its next use: the caller keeps it. */
    return apr_pmemdup(p, sealed, *len);
}

/* The next line of s (up to end), NUL-terminated in place; NULL at the end. */
static char *ml_take_line(char **s, char *end)
{
    char *line = *s, *nl = memchr(line, '\n', (apr_size_t)(end - line));

    if (!nl)
        return NULL;
    *nl = '\0';
    *s = nl + 1;
    return line;
}

/* Reads the opened fields in place (data is modified); 1 when they are a message. */
static int ml_outbox_decode(char *data, apr_size_t len, ml_outbox_msg_t *m)
{
    char *s = data, *end = data + len, *magic, *flag, *ttl, *tail;
    ml_mail_link_t *ml = &m->mail;

    memset(m, 0, sizeof(*m));
    magic = ml_take_line(&s, end);
    flag = ml_take_line(&s, end);
    m->mailer = ml_take_line(&s, end);
    m->from = ml_take_line(&s, end);
    ml->to = ml_take_line(&s, end);
    ml->display = ml_take_line(&s, end);
    ml->site_name = ml_take_line(&s, end);
    ml->lang = ml_take_line(&s, end);
    ttl = ml_take_line(&s, end);
    ml->link = ml_take_line(&s, end);
    ml->code = ml_take_line(&s, end);
    if (!magic || strcmp(magic, ML_OUTBOX_MAGIC) || !flag
        || (strcmp(flag, "s") && strcmp(flag, "d")) || !ml->code || s != end)
        return 0;
    ml->ttl_minutes = (int)strtol(ttl, &tail, 10);
    m->send = flag[0] == 's';
    return *ttl && !*tail;
}

int ml_outbox_open(ml_scratch_t *s, const ml_keyring_t *const *rings, int nrings,
                   const ml_store_key_t *id, const char *data, apr_size_t len,
                   apr_int64_t now, apr_pool_t *p, ml_outbox_msg_t *m)
{
    ml_open_opts_t o = { now, 0, ML_OUTBOX_SEALED_MAX };
    const char *name = ml_seal_name(id, p), *plain;
    apr_size_t plen;
    int i, ok;

    for (i = 0; i < nrings; i++) {
        if (ml_open_raw(s, rings[i], name, data, len, &o, &plain, &plen, NULL, NULL)
                != ML_CODEC_OK)
            continue;
        ok = ml_outbox_decode(apr_pstrmemdup(p, plain, plen), plen, m);
        ml_buf_wipe(ml_scratch_buf(s, ML_SBUF_PLAIN));
        return ok;
    }
    return 0;
}

apr_uint64_t ml_outbox_queue(const char *mailer)
{
    apr_uint64_t h = 14695981039346656037ULL;      /* FNV-1a: a name, not a secret */

    for (; *mailer; mailer++) {
        h ^= (unsigned char)*mailer;
        h *= 1099511628211ULL;
    }
    return h;
}

apr_int64_t ml_outbox_next_try(int attempts, apr_int64_t now)
{
    apr_int64_t wait = attempts >= 6 ? ML_OUTBOX_BACKOFF_MAX : (apr_int64_t)1 << attempts;

    return now + (wait < ML_OUTBOX_BACKOFF_MAX ? wait : ML_OUTBOX_BACKOFF_MAX);
}

/* Removes the message and reports `result`. */
static ml_outbox_result_t ml_outbox_end(ml_store_t *st, const ml_store_mail_t *mail,
                                        ml_outbox_event_t *ev, ml_outbox_result_t result)
{
    ml_store_rc_t rc = ml_store_mail_done(st, &mail->id);

    /* Already gone is fine (another deliverer's lease ran out and it
     * finished first); a store that fails leaves it leased: tried again. */
    ev->result = rc == ML_STORE_DOWN ? ML_OUTBOX_STORE_DOWN : result;
    return ev->result;
}

/* Composes the message into the scratch's mail buffer: 1, or 0 with the
 * reason in ev->why. */
static int ml_outbox_compose(ml_scratch_t *sc, const ml_outbox_msg_t *m, apr_pool_t *p,
                             ml_addr_from_t *from, ml_outbox_event_t *ev)
{
    ml_mail_link_t in = m->mail;
    const char *err = NULL;

    if (ml_addr_parse_from(p, m->from, from, &err) == APR_SUCCESS) {
        in.from = from;
        ml_mail_link_compose(&in, ml_scratch_buf(sc, ML_SBUF_TEXT),
                             ml_scratch_buf(sc, ML_SBUF_HTML), ml_scratch_buf(sc, ML_SBUF_MAIL),
                             p, &err);
    }
    if (err)
        apr_snprintf(ev->why, sizeof(ev->why), "cannot compose the mail: %s", err);
    return err == NULL;
}

static ml_outbox_result_t ml_outbox_send(ml_store_t *st, const ml_store_mail_t *mail,
                                         const ml_outbox_msg_t *m, ml_mailer_t *mailer,
                                         ml_scratch_t *sc, apr_pool_t *p, ml_outbox_event_t *ev)
{
    ml_buf_t *body = ml_scratch_buf(sc, ML_SBUF_MAIL);
    ml_addr_from_t from;
    apr_time_t t0;
    apr_status_t rv;

    if (!ml_outbox_compose(sc, m, p, &from, ev))
        return ml_outbox_end(st, mail, ev, ML_OUTBOX_BROKEN);
    t0 = apr_time_now();
    rv = ml_mailer_send(mailer, from.addr, m->mail.to, body->data, body->len, p, ev->why,
                        sizeof(ev->why));
    ml_buf_wipe(body);              /* it holds the link */
    ev->seconds = (double)(apr_time_now() - t0) / APR_USEC_PER_SEC;
    if (rv == APR_SUCCESS)
        return ml_outbox_end(st, mail, ev, ML_OUTBOX_SENT);
    if (rv == ML_MAIL_REJECTED)
        return ml_outbox_end(st, mail, ev, ML_OUTBOX_REJECTED);
    ev->next = ml_outbox_next_try(mail->attempts, apr_time_sec(apr_time_now()));
    if (ev->next > mail->exp)
        return ml_outbox_end(st, mail, ev, ML_OUTBOX_GAVE_UP);
    ev->result = ml_store_mail_retry(st, &mail->id, ev->next) == ML_STORE_DOWN
                     ? ML_OUTBOX_STORE_DOWN
                     : ML_OUTBOX_RETRY;
    return ev->result;
}

ml_outbox_result_t ml_outbox_step(ml_store_t *st, const ml_outbox_reader_t *rd,
                                  apr_int64_t now, apr_pool_t *p, ml_outbox_event_t *ev)
{
    ml_store_mail_t mail;
    ml_outbox_msg_t m;
    ml_mailer_t *mailer;
    ml_store_rc_t rc;

    memset(ev, 0, sizeof(*ev));
    rc = ml_store_claim(st, rd->queues, rd->nqueues, now, ML_OUTBOX_LEASE, p, &mail);
    if (rc != ML_STORE_OK)
        return ev->result = rc == ML_STORE_NOTFOUND ? ML_OUTBOX_IDLE : ML_OUTBOX_STORE_DOWN;
    ev->attempts = mail.attempts;
    if (!ml_outbox_open(rd->scratch, rd->rings, rd->nrings, &mail.id, mail.data, mail.len,
                        now, p, &m))
        return ml_outbox_end(st, &mail, ev, ML_OUTBOX_BROKEN);
    ev->rcpt = m.mail.to;
    if (!m.send)
        return ml_outbox_end(st, &mail, ev, ML_OUTBOX_DROPPED);
    if (now > mail.exp)
        return ml_outbox_end(st, &mail, ev, ML_OUTBOX_GAVE_UP);
    mailer = rd->find(rd->ctx, m.mailer);
    if (!mailer) {
        /* Its queue is ours but the mailer is not (a hash collision, or a
         * configuration changed under it): tried again later. */
        ev->next = now + ML_OUTBOX_BACKOFF_MAX;
        ml_store_mail_retry(st, &mail.id, ev->next);
        return ev->result = ML_OUTBOX_UNKNOWN_MAILER;
    }
    ev->transport = ml_mailer_kind(mailer);
    return ml_outbox_send(st, &mail, &m, mailer, rd->scratch, p, ev);
}
