/* mailtool: drives the mail code from the command line for the Python
 * tests (and by hand).
 *
 *   mailtool addr ADDRESS          normalize: prints the ASCII and display forms
 *   mailtool addr-hex HEX          the same, address given as hex bytes (NULs)
 *   mailtool from SPEC             parse a From spec: prints addr, name, line
 *   mailtool compose [MSG]         write a composed message to stdout
 *   mailtool send --mailer SPEC [MSG] [TRANSPORT] [--count N] [--threads T]
 *
 * MSG:  --from SPEC --to ADDR --subject S --text S --html S
 *       (--subject-file/--text-file/--html-file F read them from files)
 * TRANSPORT: --timeout SECS --connect-timeout SECS --cred FILE --cafile FILE
 *       --insecure --starttls off|try|required --pool N --fsize-limit BYTES
 *
 * Exit status: 0 done, 1 usage, 2 input refused (address, From, message),
 * 3 the mailer spec refused, 4 a send failed. Reasons go to stderr. */
#include "ml_addr.h"
#include "ml_mail_msg.h"

#include <unistd.h>
#include "ml_mailer.h"

#include <apr_file_io.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

typedef struct {
    const char *mailer, *from, *to, *subject, *text, *html;
    apr_size_t subject_len, text_len, html_len;
    ml_mailer_opts_t opts;
    int count, threads;
    long fsize_limit;
} ml_tool_t;

typedef struct {
    const ml_tool_t *t;
    ml_mailer_t *m;
    const ml_mail_msg_t *msg;
    int failures;
} ml_job_t;

static void die(int code, const char *what, const char *why)
{
    fprintf(stderr, "mailtool: %s: %s\n", what, why);
    exit(code);
}

/* die() from a sending thread: exit() there would run the process's exit
 * handlers (OpenSSL's, APR's) under the other threads' feet. */
static void die_in_thread(int code, const char *what, const char *why)
{
    fprintf(stderr, "mailtool: %s: %s\n", what, why);
    fflush(stderr);
    _exit(code);
}

static const char *slurp(apr_pool_t *p, const char *path, apr_size_t *len)
{
    char *data;
    apr_file_t *f;
    apr_finfo_t fi;

    if (apr_file_open(&f, path, APR_FOPEN_READ, 0, p) != APR_SUCCESS
        || apr_file_info_get(&fi, APR_FINFO_SIZE, f) != APR_SUCCESS)
        die(1, path, "cannot read");
    data = apr_palloc(p, (apr_size_t)fi.size + 1);
    *len = (apr_size_t)fi.size;
    if (*len && apr_file_read_full(f, data, *len, NULL) != APR_SUCCESS)
        die(1, path, "cannot read");
    data[*len] = '\0';
    apr_file_close(f);
    return data;
}

static apr_interval_time_t secs(const char *v)
{
    return (apr_interval_time_t)(atof(v) * APR_USEC_PER_SEC);
}

static int parse_opt(ml_tool_t *t, const char *k, const char *v, apr_pool_t *p)
{
    if (!strcmp(k, "--mailer"))
        t->mailer = v;
    else if (!strcmp(k, "--from"))
        t->from = v;
    else if (!strcmp(k, "--to"))
        t->to = v;
    else if (!strcmp(k, "--subject"))
        t->subject = v, t->subject_len = strlen(v);
    else if (!strcmp(k, "--text"))
        t->text = v, t->text_len = strlen(v);
    else if (!strcmp(k, "--html"))
        t->html = v, t->html_len = strlen(v);
    else if (!strcmp(k, "--subject-file"))
        t->subject = slurp(p, v, &t->subject_len);
    else if (!strcmp(k, "--text-file"))
        t->text = slurp(p, v, &t->text_len);
    else if (!strcmp(k, "--html-file"))
        t->html = slurp(p, v, &t->html_len);
    else if (!strcmp(k, "--timeout"))
        t->opts.timeout = secs(v);
    else if (!strcmp(k, "--connect-timeout"))
        t->opts.connect_timeout = secs(v);
    else if (!strcmp(k, "--cred"))
        t->opts.credentials_file = v;
    else if (!strcmp(k, "--cafile"))
        t->opts.ca_file = v;
    else if (!strcmp(k, "--starttls"))
        t->opts.starttls = !strcmp(v, "off")   ? ML_STARTTLS_OFF
                           : !strcmp(v, "try") ? ML_STARTTLS_TRY
                                               : ML_STARTTLS_REQUIRED;
    else if (!strcmp(k, "--pool"))
        t->opts.pool_max = atoi(v);
    else if (!strcmp(k, "--count"))
        t->count = atoi(v);
    else if (!strcmp(k, "--threads"))
        t->threads = atoi(v);
    else if (!strcmp(k, "--fsize-limit"))
        t->fsize_limit = atol(v);
    else
        return 0;
    return 1;
}

static void parse_args(ml_tool_t *t, int argc, const char *const *argv, apr_pool_t *p)
{
    int i;

    memset(t, 0, sizeof(*t));
    t->from = "Magic Link <noreply@example.com>";
    t->subject = "Your sign-in link";
    t->text = "Sign in: https://example.com/magic/verify/TOKEN\n";
    t->html = "<p><a href=\"https://example.com/magic/verify/TOKEN\">Sign in</a></p>\n";
    t->subject_len = strlen(t->subject);
    t->text_len = strlen(t->text);
    t->html_len = strlen(t->html);
    t->count = t->threads = 1;
    for (i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--insecure"))
            t->opts.tls_no_verify = 1;
        else if (i + 1 >= argc || !parse_opt(t, argv[i], argv[i + 1], p))
            die(1, "usage", argv[i]);
        else
            i++;
    }
}

/* Everything a visitor could type is checked before a message exists. */
static void build_msg(const ml_tool_t *t, ml_mail_msg_t *msg, ml_addr_from_t *from,
                      apr_pool_t *p)
{
    const char *err = NULL, *to;

    if (ml_addr_parse_from(p, t->from, from, &err) != APR_SUCCESS)
        die(2, "from", err);
    if (!t->to)
        die(1, "usage", "--to is required");
    if (ml_addr_normalize(p, t->to, strlen(t->to), &to, NULL, &err) != APR_SUCCESS)
        die(2, "to", err);
    memset(msg, 0, sizeof(*msg));
    msg->from = from;
    msg->to = to;
    msg->subject = t->subject, msg->subject_len = t->subject_len;
    msg->text = t->text, msg->text_len = t->text_len;
    msg->html = t->html, msg->html_len = t->html_len;
}

static void *APR_THREAD_FUNC send_loop(apr_thread_t *th, void *data)
{
    ml_job_t *j = data;
    ml_buf_t buf;
    apr_pool_t *scratch;
    const char *err;
    char eb[512];
    int i;

    ml_buf_init(&buf);
    apr_pool_create(&scratch, NULL);
    for (i = 0; i < j->t->count; i++) {
        if (ml_mail_compose(&buf, j->msg, &err) != APR_SUCCESS)
            die_in_thread(2, "compose", err);
        if (ml_mailer_send(j->m, j->msg->from->addr, j->msg->to, buf.data, buf.len, scratch, eb,
                           sizeof(eb))
            != APR_SUCCESS) {
            fprintf(stderr, "mailtool: send: %s\n", eb);
            j->failures++;
        }
        ml_buf_wipe(&buf);
        apr_pool_clear(scratch);
    }
    ml_buf_free(&buf);
    apr_pool_destroy(scratch);
    return NULL;
}

static int cmd_send(const ml_tool_t *t, apr_pool_t *p)
{
    ml_mail_msg_t msg;
    ml_addr_from_t from;
    ml_mailer_t *m;
    ml_job_t *jobs = apr_pcalloc(p, sizeof(*jobs) * (apr_size_t)t->threads);
    apr_thread_t **th = apr_pcalloc(p, sizeof(*th) * (apr_size_t)t->threads);
    const char *err;
    apr_status_t trv;
    int i, failures = 0;

    build_msg(t, &msg, &from, p);
    if (!t->mailer)
        die(1, "usage", "--mailer is required");
    if (ml_mailer_create(&m, t->mailer, &t->opts, p, &err) != APR_SUCCESS)
        die(3, "mailer", err);
    if (t->fsize_limit > 0) {
        struct rlimit rl = {(rlim_t)t->fsize_limit, (rlim_t)t->fsize_limit};
        signal(SIGXFSZ, SIG_IGN);
        setrlimit(RLIMIT_FSIZE, &rl);
    }
    for (i = 0; i < t->threads; i++) {
        jobs[i].t = t, jobs[i].m = m, jobs[i].msg = &msg;
        if (apr_thread_create(&th[i], NULL, send_loop, &jobs[i], p) != APR_SUCCESS)
            die(4, "send", "cannot start a thread");
    }
    for (i = 0; i < t->threads; i++) {
        apr_thread_join(&trv, th[i]);
        failures += jobs[i].failures;
    }
    return failures ? 4 : 0;
}

static int cmd_compose(const ml_tool_t *t, apr_pool_t *p)
{
    ml_mail_msg_t msg;
    ml_addr_from_t from;
    ml_buf_t buf;
    const char *err;

    build_msg(t, &msg, &from, p);
    ml_buf_init(&buf);
    if (ml_mail_compose(&buf, &msg, &err) != APR_SUCCESS)
        die(2, "compose", err);
    fwrite(buf.data, 1, buf.len, stdout);
    ml_buf_free(&buf);
    return 0;
}

static int cmd_addr(const char *in, apr_size_t len, apr_pool_t *p)
{
    const char *ascii, *display, *err;

    if (ml_addr_normalize(p, in, len, &ascii, &display, &err) != APR_SUCCESS)
        die(2, "addr", err);
    printf("%s\n%s\n%s\n", ascii, display, ml_addr_domain(ascii));
    return 0;
}

static int cmd_addr_hex(const char *hex, apr_pool_t *p)
{
    apr_size_t n = strlen(hex) / 2, i;
    char *b = apr_palloc(p, n + 1);
    unsigned v;

    for (i = 0; i < n; i++) {
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            die(1, "usage", "bad hex");
        b[i] = (char)v;
    }
    b[n] = '\0';
    return cmd_addr(b, n, p);
}

static int cmd_from(const char *spec, apr_pool_t *p)
{
    ml_addr_from_t f;
    const char *err;

    if (ml_addr_parse_from(p, spec, &f, &err) != APR_SUCCESS)
        die(2, "from", err);
    printf("%s\n%s\n%s\n", f.addr, f.name ? f.name : "", f.line);
    return 0;
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *p;
    ml_tool_t t;
    int rc = 1;

    apr_app_initialize(&argc, &argv, NULL);
    atexit(apr_terminate);
    apr_pool_create(&p, NULL);
    if (argc >= 3 && !strcmp(argv[1], "addr"))
        rc = cmd_addr(argv[2], strlen(argv[2]), p);
    else if (argc >= 3 && !strcmp(argv[1], "addr-hex"))
        rc = cmd_addr_hex(argv[2], p);
    else if (argc >= 3 && !strcmp(argv[1], "from"))
        rc = cmd_from(argv[2], p);
    else if (argc >= 2 && !strcmp(argv[1], "compose"))
        parse_args(&t, argc, argv, p), rc = cmd_compose(&t, p);
    else if (argc >= 2 && !strcmp(argv[1], "send"))
        parse_args(&t, argc, argv, p), rc = cmd_send(&t, p);
    else
        fprintf(stderr, "usage: mailtool addr|addr-hex|from|compose|send ... (see mailtool.c)\n");
    apr_pool_destroy(p);
    return rc;
}
