/* Parsing of smtp://host[:port][?options] and smtps://..., and reading of
 * the credentials file: all at start-up, so that a bad spec stops httpd
 * with a clear message instead of failing each delivery. */
#include "ml_mail_smtp.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define ML_CRED_MAX 4096
#define ML_TIMEOUT_MAX apr_time_from_sec(3600)

static int ml_hexv(char c)
{
    return apr_isdigit(c) ? c - '0' : apr_isxdigit(c) ? (apr_tolower(c) - 'a' + 10) : -1;
}

/* Percent-decodes s[0..n) into a new string; NULL on a bad escape or NUL. */
static char *ml_unescape(apr_pool_t *p, const char *s, apr_size_t n)
{
    char *out = apr_palloc(p, n + 1);
    apr_size_t i, o = 0;

    for (i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (i + 2 >= n || ml_hexv(s[i + 1]) < 0 || ml_hexv(s[i + 2]) < 0)
                return NULL;
            out[o] = (char)(ml_hexv(s[i + 1]) << 4 | ml_hexv(s[i + 2]));
            if (out[o++] == '\0')
                return NULL;
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

static int ml_parse_secs(const char *v, apr_interval_time_t *out)
{
    char *end;
    double d;

    errno = 0;
    d = strtod(v, &end);
    if (errno || end == v || *end || !(d > 0) || d * APR_USEC_PER_SEC > ML_TIMEOUT_MAX)
        return 0;
    *out = (apr_interval_time_t)(d * APR_USEC_PER_SEC);
    return *out > 0;
}

static int ml_hostname_ok(const char *h, int allow_colon)
{
    apr_size_t i;

    for (i = 0; h[i]; i++)
        if (!(apr_isalnum(h[i]) || h[i] == '-' || h[i] == '.' || (allow_colon && h[i] == ':')))
            return 0;
    return i > 0 && i <= 253;
}

/* Reads "user:password" from the first line that is not blank or a
 * comment, refusing a file others could read or change. */
static const char *ml_read_credentials(ml_mail_smtp_conf_t *s, const char *path, apr_pool_t *p)
{
    char buf[ML_CRED_MAX + 1], eb[128], *line, *nl, *colon;
    struct stat st;
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return apr_psprintf(p, "cannot open the credentials file %s: %s", path,
                            apr_strerror(APR_FROM_OS_ERROR(errno), eb, sizeof(eb)));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return apr_psprintf(p, "the credentials file %s is not a regular file", path);
    }
    if (st.st_mode & 077) {
        close(fd);
        return apr_psprintf(p, "the credentials file %s is accessible to group or others; "
                               "chmod 600 it", path);
    }
    n = read(fd, buf, ML_CRED_MAX);
    close(fd);
    if (n < 0 || n >= ML_CRED_MAX)
        return apr_psprintf(p, "cannot read the credentials file %s (or it is over 4 KB)", path);
    buf[n] = '\0';
    for (line = buf; line; line = nl ? nl + 1 : NULL) {
        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (nl && nl > line && nl[-1] == '\r')
            nl[-1] = '\0';
        if (line[0] && line[0] != '#')
            break;
    }
    colon = line ? strchr(line, ':') : NULL;
    if (!colon || colon == line || !colon[1]) {
        OPENSSL_cleanse(buf, sizeof(buf));
        return apr_psprintf(p, "the credentials file %s has no user:password line", path);
    }
    s->user = apr_pstrmemdup(p, line, (apr_size_t)(colon - line));
    s->password = apr_pstrdup(p, colon + 1);
    OPENSSL_cleanse(buf, sizeof(buf));
    return NULL;
}

static const char *ml_smtp_option(ml_mail_smtp_conf_t *s, ml_mailer_opts_t *o, const char *k,
                                  const char *v, apr_pool_t *p)
{
    apr_interval_time_t t;
    char *end;
    long n;

    if (strcmp(k, "starttls") == 0) {
        if (s->implicit_tls)
            return "starttls does not apply to smtps:// (TLS from the first byte)";
        if (strcmp(v, "off") == 0)
            o->starttls = ML_STARTTLS_OFF;
        else if (strcmp(v, "try") == 0)
            o->starttls = ML_STARTTLS_TRY;
        else if (strcmp(v, "required") == 0)
            o->starttls = ML_STARTTLS_REQUIRED;
        else
            return "starttls must be off, try or required";
    } else if (strcmp(k, "auth") == 0) {
        o->credentials_file = v;
    } else if (strcmp(k, "cafile") == 0) {
        o->ca_file = v;
    } else if (strcmp(k, "verify") == 0) {
        if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0)
            return "verify must be on or off";
        o->tls_no_verify = strcmp(v, "off") == 0;
    } else if (strcmp(k, "connect_timeout") == 0 || strcmp(k, "timeout") == 0) {
        if (!ml_parse_secs(v, &t))
            return apr_psprintf(p, "%s must be a number of seconds, above 0 and at most 3600", k);
        *(k[0] == 'c' ? &o->connect_timeout : &o->timeout) = t;
    } else if (strcmp(k, "helo") == 0) {
        if (!ml_hostname_ok(v, 0))
            return "helo must be a host name";
        o->helo = v;
    } else if (strcmp(k, "pool") == 0) {
        n = strtol(v, &end, 10);
        if (*end || end == v || n < 0 || n > 64)
            return "pool must be a number from 0 to 64";
        o->pool_max = (int)n;
    } else {
        return apr_psprintf(p, "unknown option %s (known: starttls, auth, cafile, verify, "
                               "connect_timeout, timeout, helo, pool)", k);
    }
    return NULL;
}

static const char *ml_smtp_query(ml_mail_smtp_conf_t *s, ml_mailer_opts_t *o, const char *q,
                                 apr_pool_t *p)
{
    const char *amp, *eq, *e;
    char *k, *v;

    for (; *q; q = *amp ? amp + 1 : amp) {
        amp = q + strcspn(q, "&");
        eq = memchr(q, '=', (apr_size_t)(amp - q));
        if (!eq)
            return "options are key=value pairs separated by &";
        k = apr_pstrmemdup(p, q, (apr_size_t)(eq - q));
        v = ml_unescape(p, eq + 1, (apr_size_t)(amp - eq - 1));
        if (!v)
            return apr_psprintf(p, "bad %%-escape in the value of %s", k);
        if ((e = ml_smtp_option(s, o, k, v, p)) != NULL)
            return e;
    }
    return NULL;
}

/* "//host[:port][/][?query]": host and port into *host, *port. */
static const char *ml_smtp_authority(const char *arg, const char **host, long *port,
                                     const char **rest, apr_pool_t *p)
{
    const char *h = arg + 2, *end;
    char *pe;

    if (strncmp(arg, "//", 2) != 0)
        return "expected smtp://host[:port]";
    if (*h == '[') {
        end = strchr(h, ']');
        if (!end)
            return "an IPv6 address needs a closing ]";
        end++;
    } else {
        end = h + strcspn(h, ":/?");
    }
    *host = apr_pstrmemdup(p, h, (apr_size_t)(end - h));
    if (**host == '[' ? !ml_hostname_ok(apr_pstrmemdup(p, *host + 1, strlen(*host) - 2), 1)
                      : !ml_hostname_ok(*host, 0))
        return "the host is not a valid host name or address";
    if (*end == ':') {
        *port = strtol(end + 1, &pe, 10);
        if (pe == end + 1 || *port < 1 || *port > 65535)
            return "the port must be a number from 1 to 65535";
        end = pe;
    }
    if (*end == '/')
        end++;
    if (*end && *end != '?')
        return "nothing may follow host:port except ?options";
    *rest = *end == '?' ? end + 1 : end;
    return NULL;
}

const char *ml_mail_smtp_parse(ml_mail_smtp_conf_t *s, const char *arg, int implicit_tls,
                               const ml_mailer_opts_t *given, apr_pool_t *p)
{
    ml_mailer_opts_t opts = *given, *o = &opts;
    const char *host, *query, *e;
    char helo[256];
    long port = implicit_tls ? 465 : 25;

    memset(s, 0, sizeof(*s));
    s->implicit_tls = implicit_tls;
    if ((e = ml_smtp_authority(arg, &host, &port, &query, p)) != NULL
        || (e = ml_smtp_query(s, o, query, p)) != NULL)
        return e;
    s->starttls = s->implicit_tls ? ML_STARTTLS_REQUIRED
                  : o->starttls == ML_STARTTLS_DEFAULT ? ML_STARTTLS_OFF
                                                       : o->starttls;
    if (o->credentials_file) {
        if (s->starttls != ML_STARTTLS_REQUIRED)
            return "SMTP credentials need TLS: use smtps:// or ?starttls=required";
        if ((e = ml_read_credentials(s, o->credentials_file, p)) != NULL)
            return e;
    }
    if (o->helo) {
        apr_cpystrn(helo, o->helo, sizeof(helo));
    } else if (gethostname(helo, sizeof(helo)) != 0 || !ml_hostname_ok(helo, 0)) {
        strcpy(helo, "localhost");
    }
    s->url = apr_psprintf(p, "%s://%s:%ld/%s", s->implicit_tls ? "smtps" : "smtp", host, port,
                          helo);
    s->desc = apr_psprintf(p, "%s://%s:%ld%s%s", s->implicit_tls ? "smtps" : "smtp", host, port,
                           s->implicit_tls ? ""
                           : s->starttls == ML_STARTTLS_REQUIRED ? " (starttls=required)"
                           : s->starttls == ML_STARTTLS_TRY      ? " (starttls=try)"
                                                                 : "",
                           s->user ? " with AUTH" : "");
    s->ca_file = o->ca_file;
    s->no_verify = o->tls_no_verify;
    s->connect_ms = (long)apr_time_as_msec(o->connect_timeout);
    s->total_ms = (long)apr_time_as_msec(o->timeout);
    s->pool_max = o->pool_max;
    return NULL;
}

