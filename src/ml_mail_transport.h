/* What ml_mailer.c needs from each transport, and the error-text helpers
 * they share. Internal to the mail code. */
#ifndef ML_MAIL_TRANSPORT_H
#define ML_MAIL_TRANSPORT_H

#include "ml_mailer.h"

typedef struct ml_mail_transport {
    const char *name;
    /* arg: the spec after "name:" ("//host..." for smtp). o has its
     * defaults filled in. *desc: the spec without secrets, for logs. */
    apr_status_t (*create)(void **impl, const char *arg, const ml_mailer_opts_t *o,
                           apr_pool_t *p, const char **desc, const char **err);
    apr_status_t (*send)(void *impl, const char *from, const char *rcpt, const char *msg,
                         apr_size_t len, apr_pool_t *scratch, char *errbuf, apr_size_t errlen);
} ml_mail_transport_t;

extern const ml_mail_transport_t ml_mail_maildir_transport;
extern const ml_mail_transport_t ml_mail_smtp_transport;
extern const ml_mail_transport_t ml_mail_smtps_transport;
extern const ml_mail_transport_t ml_mail_pipe_transport;

/* Formats into errbuf (always NUL-terminated, truncated to fit). */
void ml_mail_errf(char *errbuf, apr_size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Appends text from the other side (a server reply, a child's stderr):
 * its first line, non-printable bytes as '?', and anything that could be a
 * secret from the message - URLs, runs of 24 or more token characters, runs
 * of 6 or more digits - as "[...]". */
void ml_mail_err_remote(char *errbuf, apr_size_t errlen, const char *text, apr_size_t n);

#endif
