/* Mail delivery: one transport, chosen by a spec string at start-up.
 *
 *   maildir:/dir             deliver into a maildir (dir/tmp, dir/new, dir/cur)
 *   smtp://host[:port][?opts]   SMTP relay, port 25 by default; plain unless
 *                             starttls=try or starttls=required
 *   smtps://host[:port][?opts]  SMTP over TLS from the first byte, port 465
 *   pipe:/path/to/cmd args   run a command (argv split on spaces, no shell),
 *                             message on stdin; it must take the recipient
 *                             from the headers (sendmail -t): no address is
 *                             ever put on a command line
 *
 * SMTP query options (each overrides the matching ml_mailer_opts_t field):
 *   starttls=off|try|required   auth=/path/credentials   cafile=/path/ca.pem
 *   verify=on|off   connect_timeout=SECS   timeout=SECS   helo=NAME   pool=N
 * Values may be %XX-escaped; SECS may have a fraction ("0.5").
 *
 * Thread-safety: ml_mailer_create runs once, single-threaded (post_config);
 * ml_mailer_send may then be called from any number of threads at once.
 * maildir shares nothing but the directory; pipe spawns one child per call;
 * smtp keeps a mutex-protected stack of idle libcurl handles (each one with
 * its open connection), taken for one message and put back afterwards.
 *
 * Errors: ml_mailer_send fills errbuf with the reason (errno text, the SMTP
 * server's reply, the command's first line of stderr), never with the
 * message or anything from it. Remote text is additionally filtered:
 * URLs and long token-like runs are replaced with "[...]". */
#ifndef ML_MAILER_H
#define ML_MAILER_H

#include <apr_pools.h>
#include <apr_time.h>
#include <sys/types.h>

typedef struct ml_mailer ml_mailer_t;

/* ml_mailer_send's answer when the server refused the message for good
 * (SMTP 5xx): trying again cannot help. Every other failure may pass. */
#define ML_MAIL_REJECTED (APR_OS_START_USERERR + 501)

typedef enum {
    ML_STARTTLS_DEFAULT = 0, /* off for smtp://, not applicable to smtps:// */
    ML_STARTTLS_OFF,
    ML_STARTTLS_TRY,      /* upgrade when the server offers it */
    ML_STARTTLS_REQUIRED, /* fail unless the session is upgraded */
} ml_starttls_t;

/* Zero-initialized means the defaults noted on each field. */
typedef struct ml_mailer_opts {
    apr_interval_time_t connect_timeout; /* smtp: TCP, TLS and greeting; 0: 10 s */
    apr_interval_time_t timeout;         /* smtp: whole transaction, pipe: the child; 0: 30 s */
    ml_starttls_t starttls;
    const char *credentials_file; /* smtp AUTH: one line "user:password"; mode 0600 or
                                     stricter; requires TLS */
    const char *ca_file;          /* trust anchors for the server's certificate; NULL:
                                     the system store */
    int tls_no_verify;            /* non-zero: accept any certificate and name (tests only) */
    const char *helo;             /* EHLO name; NULL: this host's name */
    int pool_max;                 /* smtp: idle connections kept; 0: 4, negative: none */
    int chown_dirs;               /* maildir: give created directories to uid:gid */
    int check_only;               /* maildir: make nothing (a configuration test): a
                                     missing maildir only needs a parent to be made in */
    uid_t uid;
    gid_t gid;
} ml_mailer_opts_t;

/* Parses and validates spec, reads the credentials file, creates the
 * maildir's directories (mode 0700). On failure *err is the reason only:
 * the caller names the directive and the spec. opts may be NULL. Resources live until p is
 * cleared. */
apr_status_t ml_mailer_create(ml_mailer_t **out, const char *spec, const ml_mailer_opts_t *opts,
                              apr_pool_t *p, const char **err);

/* Delivers msg[0..len) (a complete RFC 5322 message, CRLF line endings) to
 * rcpt with envelope sender envelope_from (both normalized ASCII
 * addresses). scratch is for short-lived allocations (cleared by the
 * caller). On failure errbuf holds a one-line reason. */
apr_status_t ml_mailer_send(ml_mailer_t *m, const char *envelope_from, const char *rcpt,
                            const char *msg, apr_size_t len, apr_pool_t *scratch, char *errbuf,
                            apr_size_t errlen);

/* The transport's name ("maildir", "smtp", "smtps", "pipe"), and a
 * description of the target without secrets, for log lines. */
const char *ml_mailer_kind(const ml_mailer_t *m);
const char *ml_mailer_describe(const ml_mailer_t *m);

#endif
