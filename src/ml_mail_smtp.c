/* smtp://host[:port][?opts] and smtps://host[:port][?opts] through libcurl.
 *
 * Connection reuse: idle easy handles (each keeps its connection open) sit
 * on a small stack under a mutex; a send pops one or makes one, and pushes
 * it back after a success. A stack rather than a handle per thread because
 * an MPM may run hundreds of threads and a relay limits connections per
 * client: the stack bounds idle connections to pool_max and hands out the
 * most recently used (least likely to have been closed by the server). A
 * handle whose transfer failed is closed, not reused. libcurl itself
 * re-connects when a kept connection has died or is older than
 * ML_SMTP_MAXAGE seconds. */
#include "ml_mail_smtp.h"
#include "ml_mail_transport.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_thread_mutex.h>
#include <curl/curl.h>
#include <openssl/crypto.h>
#include <sys/socket.h>

#define ML_SMTP_MAXAGE 60 /* seconds an idle connection is trusted to be alive */
#define ML_REPLY_MAX 512

typedef struct {
    ml_mail_smtp_conf_t c;
    int nidle;
    CURL **idle; /* pool_max idle handles, most recently used last */
    apr_thread_mutex_t *lock;
} ml_smtp_t;

/* One message's transfer state, on the sender's stack. */
typedef struct {
    const char *msg;
    apr_size_t len, off;
    char reply[ML_REPLY_MAX]; /* the server's last 4xx/5xx reply line */
} ml_smtp_io_t;

static apr_status_t ml_smtp_cleanup(void *data)
{
    ml_smtp_t *s = data;

    while (s->nidle > 0)
        curl_easy_cleanup(s->idle[--s->nidle]);
    if (s->c.password)
        OPENSSL_cleanse(s->c.password, strlen(s->c.password));
    curl_global_cleanup();
    return APR_SUCCESS;
}

static apr_status_t ml_smtp_create_any(void **impl, const char *arg, const ml_mailer_opts_t *o,
                                       apr_pool_t *p, const char **desc, const char **err,
                                       int implicit_tls)
{
    ml_smtp_t *s = apr_pcalloc(p, sizeof(*s));
    const curl_version_info_data *cv;

    if ((*err = ml_mail_smtp_parse(&s->c, arg, implicit_tls, o, p)) != NULL)
        return APR_EINVAL;
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        *err = "curl_global_init failed";
        return APR_EGENERAL;
    }
    s->idle = apr_pcalloc(p, sizeof(CURL *) * (apr_size_t)(s->c.pool_max + 1));
    apr_pool_cleanup_register(p, s, ml_smtp_cleanup, apr_pool_cleanup_null);
    cv = curl_version_info(CURLVERSION_NOW);
    if (s->c.starttls != ML_STARTTLS_OFF && !(cv->features & CURL_VERSION_SSL)) {
        *err = "this libcurl has no TLS support";
        return APR_ENOTIMPL;
    }
    if (apr_thread_mutex_create(&s->lock, APR_THREAD_MUTEX_DEFAULT, p) != APR_SUCCESS) {
        *err = "cannot create a mutex";
        return APR_EGENERAL;
    }
    *desc = s->c.desc;
    *impl = s;
    return APR_SUCCESS;
}

static apr_status_t ml_smtp_create(void **impl, const char *arg, const ml_mailer_opts_t *o,
                                   apr_pool_t *p, const char **desc, const char **err)
{
    return ml_smtp_create_any(impl, arg, o, p, desc, err, 0);
}

static apr_status_t ml_smtps_create(void **impl, const char *arg, const ml_mailer_opts_t *o,
                                    apr_pool_t *p, const char **desc, const char **err)
{
    return ml_smtp_create_any(impl, arg, o, p, desc, err, 1);
}

/* ---- transfers ---- */

static size_t ml_smtp_read(char *buf, size_t size, size_t nitems, void *data)
{
    ml_smtp_io_t *io = data;
    size_t n = size * nitems;

    if (n > io->len - io->off)
        n = io->len - io->off;
    memcpy(buf, io->msg + io->off, n);
    io->off += n;
    return n;
}

/* libcurl hands every server reply line to the header callback. Keep the
 * last 4xx/5xx line: the one that explains a failure (libcurl's own
 * message has the code only), not the "221 Bye" to the QUIT after it. */
static size_t ml_smtp_reply(char *buf, size_t size, size_t nitems, void *data)
{
    ml_smtp_io_t *io = data;
    size_t n = size * nitems, k = n < sizeof(io->reply) - 1 ? n : sizeof(io->reply) - 1;

    while (k > 0 && (buf[k - 1] == '\r' || buf[k - 1] == '\n'))
        k--;
    if (k >= 3 && (buf[0] == '4' || buf[0] == '5') && apr_isdigit(buf[1])
        && apr_isdigit(buf[2])) {
        memcpy(io->reply, buf, k);
        io->reply[k] = '\0';
    }
    return n;
}

static CURL *ml_smtp_handle(const ml_mail_smtp_conf_t *s)
{
    CURL *h = curl_easy_init();
    long use_ssl = s->starttls == ML_STARTTLS_REQUIRED ? CURLUSESSL_ALL
                   : s->starttls == ML_STARTTLS_TRY    ? CURLUSESSL_TRY
                                                       : CURLUSESSL_NONE;

    if (!h)
        return NULL;
    curl_easy_setopt(h, CURLOPT_URL, s->url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
    /* Many threads: no SIGALRM for time-outs (the resolver is threaded). */
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, s->connect_ms);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, s->total_ms);
    /* Bounds the QUIT that closing a connection sends, which the total
     * time-out does not cover. */
    curl_easy_setopt(h, CURLOPT_SERVER_RESPONSE_TIMEOUT, (s->total_ms + 999) / 1000);
    curl_easy_setopt(h, CURLOPT_MAXAGE_CONN, (long)ML_SMTP_MAXAGE);
    curl_easy_setopt(h, CURLOPT_USE_SSL, use_ssl);
    curl_easy_setopt(h, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, s->no_verify ? 0L : 1L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, s->no_verify ? 0L : 2L);
    if (s->ca_file)
        curl_easy_setopt(h, CURLOPT_CAINFO, s->ca_file);
    if (s->user) {
        curl_easy_setopt(h, CURLOPT_USERNAME, s->user);
        curl_easy_setopt(h, CURLOPT_PASSWORD, s->password);
    }
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, ml_smtp_read);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, ml_smtp_reply);
    return h;
}

static CURL *ml_smtp_take(ml_smtp_t *s)
{
    CURL *h = NULL;

    apr_thread_mutex_lock(s->lock);
    if (s->nidle > 0)
        h = s->idle[--s->nidle];
    apr_thread_mutex_unlock(s->lock);
    return h ? h : ml_smtp_handle(&s->c);
}

static void ml_smtp_give(ml_smtp_t *s, CURL *h)
{
    apr_thread_mutex_lock(s->lock);
    if (s->nidle < s->c.pool_max) {
        s->idle[s->nidle++] = h;
        h = NULL;
    }
    apr_thread_mutex_unlock(s->lock);
    if (h)
        curl_easy_cleanup(h);
}

/* Closes a handle after a failure. After a time-out the server is not
 * answering, and libcurl would still send QUIT and wait for its reply:
 * shutting the socket down first makes that fail at once. */
static void ml_smtp_discard(CURL *h, CURLcode rc)
{
    curl_socket_t fd = CURL_SOCKET_BAD;

    if (rc == CURLE_OPERATION_TIMEDOUT
        && curl_easy_getinfo(h, CURLINFO_ACTIVESOCKET, &fd) == CURLE_OK && fd != CURL_SOCKET_BAD)
        shutdown(fd, SHUT_RDWR);
    curl_easy_cleanup(h);
}

static apr_status_t ml_smtp_send(void *impl, const char *from, const char *rcpt,
                                 const char *msg, apr_size_t len, apr_pool_t *scratch,
                                 char *errbuf, apr_size_t errlen)
{
    ml_smtp_t *s = impl;
    ml_smtp_io_t io = {msg, len, 0, ""};
    char cerr[CURL_ERROR_SIZE] = "", mfrom[260], mrcpt[260];
    struct curl_slist to = {mrcpt, NULL};
    CURL *h = ml_smtp_take(s);
    long code = 0;
    CURLcode rc;

    if (!h) {
        ml_mail_errf(errbuf, errlen, "%s: cannot create a libcurl handle", s->c.desc);
        return APR_ENOMEM;
    }
    apr_snprintf(mfrom, sizeof(mfrom), "<%s>", from);
    apr_snprintf(mrcpt, sizeof(mrcpt), "<%s>", rcpt);
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, mfrom);
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, &to);
    curl_easy_setopt(h, CURLOPT_READDATA, &io);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &io);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, cerr);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
    rc = curl_easy_perform(h);
    /* The handle outlives this frame: forget the pointers into it. */
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, NULL);
    curl_easy_setopt(h, CURLOPT_READDATA, NULL);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, NULL);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, NULL);
    if (rc == CURLE_OK) {
        ml_smtp_give(s, h);
        return APR_SUCCESS;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    ml_smtp_discard(h, rc);
    ml_mail_errf(errbuf, errlen, "%s: %s%s", s->c.desc, cerr[0] ? cerr : curl_easy_strerror(rc),
                 rc == CURLE_OPERATION_TIMEDOUT ? " (timed out)" : "");
    if (io.reply[0]) {
        apr_size_t o = strlen(errbuf);
        ml_mail_errf(errbuf + o, errlen - o, "; server said: ");
        ml_mail_err_remote(errbuf, errlen, io.reply, strlen(io.reply));
    }
    if (code >= 500 && code < 600)
        return ML_MAIL_REJECTED;
    return rc == CURLE_OPERATION_TIMEDOUT ? APR_TIMEUP : APR_EGENERAL;
}

const ml_mail_transport_t ml_mail_smtp_transport = {"smtp", ml_smtp_create, ml_smtp_send};
const ml_mail_transport_t ml_mail_smtps_transport = {"smtps", ml_smtps_create, ml_smtp_send};
