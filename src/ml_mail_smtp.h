/* The smtp:// and smtps:// spec, parsed: what ml_mail_smtp.c needs to make
 * libcurl handles. Internal to the mail code. */
#ifndef ML_MAIL_SMTP_H
#define ML_MAIL_SMTP_H

#include "ml_mailer.h"

typedef struct ml_mail_smtp_conf {
    const char *url;  /* scheme://host:port/helo, as libcurl wants it */
    const char *desc; /* the same for logs: no secrets */
    int implicit_tls;
    ml_starttls_t starttls; /* resolved: OFF, TRY or REQUIRED */
    char *user, *password;  /* from the credentials file, or NULL */
    const char *ca_file;
    int no_verify;
    long connect_ms, total_ms;
    int pool_max;
} ml_mail_smtp_conf_t;

/* Parses arg ("//host[:port][?options]") over the defaults in o; NULL on
 * success, else why not. Reads the credentials file, if any. */
const char *ml_mail_smtp_parse(ml_mail_smtp_conf_t *c, const char *arg, int implicit_tls,
                               const ml_mailer_opts_t *o, apr_pool_t *p);

#endif
