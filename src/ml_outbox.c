#include "ml_outbox.h"

#include <apr_strings.h>
#include <apr_time.h>
#include <string.h>

static int ml_line_ok(const char *v)
{
    return v && !strpbrk(v, "\r\n");
}

const char *ml_outbox_encode(apr_pool_t *p, const ml_outbox_msg_t *m, apr_size_t *len)
{
    const char *head;
    char *out;
    apr_size_t n;

    if (!ml_line_ok(m->mailer) || !ml_line_ok(m->from) || !ml_line_ok(m->rcpt))
        return NULL;
    head = apr_psprintf(p, "mo1\n%c\n%s\n%s\n%s\n", m->send ? 's' : 'd', m->mailer, m->from,
                        m->rcpt);
    n = strlen(head);
    out = apr_palloc(p, n + m->len + 1);
    memcpy(out, head, n);
    memcpy(out + n, m->body, m->len);
    out[n + m->len] = '\0';
    *len = n + m->len;
    return out;
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

int ml_outbox_decode(char *data, apr_size_t len, ml_outbox_msg_t *m)
{
    char *s = data, *end = data + len, *magic, *flag;

    magic = ml_take_line(&s, end);
    flag = ml_take_line(&s, end);
    m->mailer = ml_take_line(&s, end);
    m->from = ml_take_line(&s, end);
    m->rcpt = ml_take_line(&s, end);
    if (!magic || strcmp(magic, "mo1") || !flag || (strcmp(flag, "s") && strcmp(flag, "d"))
        || !m->rcpt)
        return 0;
    m->send = flag[0] == 's';
    m->body = s;
    m->len = (apr_size_t)(end - s);
    return 1;
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

static ml_outbox_result_t ml_outbox_send(ml_store_t *st, const ml_store_mail_t *mail,
                                         const ml_outbox_msg_t *m, ml_mailer_t *mailer,
                                         apr_int64_t now, apr_pool_t *p, ml_outbox_event_t *ev)
{
    apr_time_t t0 = apr_time_now();
    apr_status_t rv = ml_mailer_send(mailer, m->from, m->rcpt, m->body, m->len, p, ev->why,
                                     sizeof(ev->why));

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

ml_outbox_result_t ml_outbox_step(ml_store_t *st, const apr_uint64_t *queues, int nqueues,
                                  ml_outbox_find_fn find, void *ctx, apr_int64_t now,
                                  apr_pool_t *p, ml_outbox_event_t *ev)
{
    ml_store_mail_t mail;
    ml_outbox_msg_t m;
    ml_mailer_t *mailer;
    ml_store_rc_t rc;

    memset(ev, 0, sizeof(*ev));
    rc = ml_store_claim(st, queues, nqueues, now, ML_OUTBOX_LEASE, p, &mail);
    if (rc != ML_STORE_OK)
        return ev->result = rc == ML_STORE_NOTFOUND ? ML_OUTBOX_IDLE : ML_OUTBOX_STORE_DOWN;
    ev->attempts = mail.attempts;
    if (!ml_outbox_decode((char *)mail.data, mail.len, &m))
        return ml_outbox_end(st, &mail, ev, ML_OUTBOX_BROKEN);
    ev->rcpt = m.rcpt;
    if (!m.send)
        return ml_outbox_end(st, &mail, ev, ML_OUTBOX_DROPPED);
    if (now > mail.exp)
        return ml_outbox_end(st, &mail, ev, ML_OUTBOX_GAVE_UP);
    mailer = find(ctx, m.mailer);
    if (!mailer) {
        /* Its queue is ours but the mailer is not (a hash collision, or a
         * configuration changed under it): tried again later. */
        ev->next = now + ML_OUTBOX_BACKOFF_MAX;
        ml_store_mail_retry(st, &mail.id, ev->next);
        return ev->result = ML_OUTBOX_UNKNOWN_MAILER;
    }
    ev->transport = ml_mailer_kind(mailer);
    return ml_outbox_send(st, &mail, &m, mailer, now, p, ev);
}
