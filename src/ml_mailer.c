#include "ml_mail_transport.h"

#include <apr_strings.h>

#define ML_DEFAULT_CONNECT_TIMEOUT apr_time_from_sec(10)
#define ML_DEFAULT_TIMEOUT apr_time_from_sec(30)
#define ML_DEFAULT_POOL 4

struct ml_mailer {
    const ml_mail_transport_t *t;
    void *impl;
    const char *desc;
};

static const struct {
    const char *prefix;
    const ml_mail_transport_t *t;
} ml_transports[] = {
    {"maildir:", &ml_mail_maildir_transport},
    {"smtp:", &ml_mail_smtp_transport},
    {"smtps:", &ml_mail_smtps_transport},
    {"pipe:", &ml_mail_pipe_transport},
};

static void ml_opts_defaults(ml_mailer_opts_t *o, const ml_mailer_opts_t *given)
{
    if (given)
        *o = *given;
    else
        memset(o, 0, sizeof(*o));
    if (o->connect_timeout <= 0)
        o->connect_timeout = ML_DEFAULT_CONNECT_TIMEOUT;
    if (o->timeout <= 0)
        o->timeout = ML_DEFAULT_TIMEOUT;
    if (o->pool_max == 0)
        o->pool_max = ML_DEFAULT_POOL;
    else if (o->pool_max < 0)
        o->pool_max = 0;
}

apr_status_t ml_mailer_create(ml_mailer_t **out, const char *spec, const ml_mailer_opts_t *opts,
                              apr_pool_t *p, const char **err)
{
    ml_mailer_opts_t o;
    ml_mailer_t *m;
    apr_size_t i, n;
    apr_status_t rv;
    const char *e = NULL;

    ml_opts_defaults(&o, opts);
    for (i = 0; spec && i < sizeof(ml_transports) / sizeof(ml_transports[0]); i++) {
        n = strlen(ml_transports[i].prefix);
        if (strncmp(spec, ml_transports[i].prefix, n) != 0)
            continue;
        m = apr_pcalloc(p, sizeof(*m));
        m->t = ml_transports[i].t;
        rv = m->t->create(&m->impl, spec + n, &o, p, &m->desc, &e);
        if (rv != APR_SUCCESS) {
            *err = e ? e : "invalid";
            return rv;
        }
        *out = m;
        return APR_SUCCESS;
    }
    *err = "unknown transport; expected maildir:/dir, smtp://host:port, smtps://host:port "
           "or pipe:/path/to/sendmail -t -i";
    return APR_EINVAL;
}

/* Envelope addresses go into SMTP commands and file names: the normalized
 * form is plain printable ASCII, and anything else is a caller's bug. */
static int ml_envelope_ok(const char *a)
{
    apr_size_t i;

    if (!a)
        return 0;
    for (i = 0; a[i]; i++)
        if ((unsigned char)a[i] <= ' ' || (unsigned char)a[i] >= 0x7F || a[i] == '<'
            || a[i] == '>')
            return 0;
    return i > 0 && i <= 254 && strchr(a, '@') != NULL;
}

apr_status_t ml_mailer_send(ml_mailer_t *m, const char *envelope_from, const char *rcpt,
                            const char *msg, apr_size_t len, apr_pool_t *scratch, char *errbuf,
                            apr_size_t errlen)
{
    if (errbuf && errlen)
        errbuf[0] = '\0';
    if (!ml_envelope_ok(envelope_from) || !ml_envelope_ok(rcpt)) {
        ml_mail_errf(errbuf, errlen, "%s: the envelope address is not a normalized address",
                     m->t->name);
        return APR_EINVAL;
    }
    return m->t->send(m->impl, envelope_from, rcpt, msg, len, scratch, errbuf, errlen);
}

const char *ml_mailer_kind(const ml_mailer_t *m)
{
    return m->t->name;
}

const char *ml_mailer_describe(const ml_mailer_t *m)
{
    return m->desc;
}
