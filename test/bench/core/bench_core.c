/* bench_core: the sign-in handler's core without HTTP, what the Go peer's
 * core benchmarks (test/bench/goseed, BenchmarkCore*) do in Go. Figures, not
 * a test: run by test/bench/run.py (`make bench`).
 *
 *   bench_core KEYFILE                   one line per case (below), JSON
 *   bench_core --only CASE KEYFILE       the same for one case (for perf record)
 *   bench_core --callgrind N KEYFILE     N warm ops per case, each case
 *                                        dumped under its own name (run under
 *                                        valgrind --tool=callgrind
 *                                        --collect-atstart=no)
 *   bench_core --trace CASE N KEYFILE    backtraces of the next N heap calls
 *                                        of one warm op (needs the shim)
 *   bench_core --render DIR              the pages with placeholder values,
 *                                        which the Go peer's pages are made of
 *   bench_core --mint N NONCE KEYFILE [EMAIL]
 *                                        N link tokens bound to NONCE, one a
 *                                        line (POST verify benchmarks)
 *
 * Cases (per op; r->pool's stand-in is cleared after every op):
 *   generate  ml_link_issue (id, code, code hash, link and pending tokens,
 *             the link record) + ml_tpl_sent into an ml_sink_buf (the "check
 *             your email" page); the store write is not in the core
 *   verify    ml_link_token (the token's MAC) + ml_link_parse_record of a
 *             copy of the stored record (as the handler reads it from the
 *             store; the store read is not in the core) + ml_tpl_confirm
 *   session   ml_session_open (a protected page's check, no page)
 *   mail      what generate does beyond the Go peer: both mail templates and
 *             ml_mail_compose (MIME, quoted-printable) into a recycled buffer
 *
 * Heap calls are counted by malloc_count.so when it is preloaded (found
 * with dlsym, so the binary also runs without it). */
#include "ml_link.h"
#include "ml_mail_msg.h"
#include "ml_templates.h"
#include "ml_tpl.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <valgrind/callgrind.h>

#define ML_ROUNDS        5
#define ML_ROUND_NS      200000000.0  /* per round and case */
#define ML_COUNT_OPS     20000        /* ops the heap counters average over */

/* Keep in step with test/bench/malloc_count.c. */
typedef struct ml_malloc_counts {
    unsigned long long calls, bytes, frees;
    long long live;
} ml_malloc_counts_t;

static void (*ml_mc_get)(ml_malloc_counts_t *);
static void (*ml_mc_trace)(long);

static const char ml_site[] = "mod_magiclink bench";
static const char ml_realm[] = "https://bench.example";
static const char ml_email[] = "bench@example.com";
static const char ml_code_url[] = "/magic/code";

typedef struct ml_core {
    ml_scratch_t *s;
    ml_keyring_t *kr;
    apr_pool_t *req;          /* cleared after every op, as r->pool */
    ml_buf_t page;            /* the rendered page (the module: brigade) */
    const char *nonce;
    char token[ML_CODEC_MAX_LEN + 1];
    const char *rec;          /* the link's record, as the store holds it */
    apr_size_t rec_len;
    char session[ML_CODEC_MAX_LEN + 1];
    char verify_url[ML_CODEC_MAX_LEN + 64];
    ml_addr_from_t from;
} ml_core_t;

static void ml_die(const char *what, const char *why)
{
    fprintf(stderr, "bench_core: %s: %s\n", what, why);
    exit(1);
}

static apr_int64_t ml_now(void)
{
    return apr_time_sec(apr_time_now());
}

static int op_generate(ml_core_t *b)
{
    ml_tpl_sent_args_t a = { 0 };
    ml_sink_buf_t sink;
    ml_issued_t is;
    int ok;

    ok = ml_link_issue(b->kr, ml_now(), 900, ml_email, b->nonce, "/", NULL, NULL, b->req, &is)
         == ML_CODEC_OK;
    a.site_name = ml_site;
    a.email = ml_email;
    a.code_action_url = ml_code_url;
    a.csrf_token = b->nonce;
    a.pending = is.pending;
    ml_buf_reset(&b->page);
    ok = ok && ml_tpl_sent(ml_sink_buf_init(&sink, &b->page), &a, ML_LANG_EN) == APR_SUCCESS;
    apr_pool_clear(b->req);
    return ok;
}

static int op_verify(ml_core_t *b)
{
    ml_tpl_confirm_args_t a = { 0 };
    ml_sink_buf_t sink;
    ml_link_t l;
    char *work;
    int ok;

    /* As ml_load_link: the token's MAC, then the record (copied out of the
     * store's answer into the request pool) parsed in place. */
    ok = ml_link_token(b->kr, ML_TOKEN_LINK, b->token, &l) == ML_CODEC_OK;
    work = apr_pstrmemdup(b->req, b->rec, b->rec_len);
    ok = ok && ml_link_parse_record(work, b->rec_len, &l) == ML_CODEC_OK
         && l.exp >= ml_now() && l.state == ML_LINK_OPEN;
    a.site_name = ml_site;
    a.action_url = b->verify_url;
    a.csrf_token = b->nonce;
    a.email = ok ? l.email : NULL;
    ml_buf_reset(&b->page);
    ok = ok && ml_tpl_confirm(ml_sink_buf_init(&sink, &b->page), &a, ML_LANG_EN) == APR_SUCCESS;
    apr_pool_clear(b->req);
    return ok;
}

static int op_session(ml_core_t *b)
{
    ml_session_t sess;
    int ok = ml_session_open(b->s, b->kr, "magiclink_session", b->session, ml_now(), 604800,
                             3600, ml_realm, b->req, &sess) == ML_CODEC_OK;

    apr_pool_clear(b->req);
    return ok;
}

static int op_mail(ml_core_t *b)
{
    ml_buf_t *text = ml_scratch_buf(b->s, ML_SBUF_TEXT), *html = ml_scratch_buf(b->s, ML_SBUF_HTML);
    ml_tpl_email_text_args_t t = { 0 };
    ml_tpl_email_html_args_t h = { 0 };
    ml_sink_buf_t st, sh;
    ml_mail_msg_t m = { 0 };
    const char *err = NULL, *link;
    int ok;

    link = apr_pstrcat(b->req, "http://127.0.0.1:8080", b->verify_url, NULL);
    t.site_name = h.site_name = ml_site;
    t.link = h.link = link;
    t.code = h.code = "123456";
    t.email = h.email = ml_email;
    t.ttl_minutes = h.ttl_minutes = "15";
    ml_buf_reset(text);
    ml_buf_reset(html);
    ok = ml_tpl_email_text(ml_sink_buf_init(&st, text), &t, ML_LANG_EN) == APR_SUCCESS
         && ml_tpl_email_html(ml_sink_buf_init(&sh, html), &h, ML_LANG_EN) == APR_SUCCESS;
    m.from = &b->from;
    m.to = ml_email;
    m.subject = "Your sign-in link for mod_magiclink bench";
    m.subject_len = strlen(m.subject);
    m.text = text->data;
    m.text_len = text->len;
    m.html = html->data;
    m.html_len = html->len;
    ok = ok && ml_mail_compose(ml_scratch_buf(b->s, ML_SBUF_MAIL), &m, &err) == APR_SUCCESS;
    ml_buf_wipe(text);
    ml_buf_wipe(html);
    ml_buf_wipe(ml_scratch_buf(b->s, ML_SBUF_MAIL));
    apr_pool_clear(b->req);
    return ok;
}

typedef struct ml_case {
    const char *name;
    int (*op)(ml_core_t *);
} ml_case_t;

static const ml_case_t ml_cases[] = {
    { "generate", op_generate },
    { "verify", op_verify },
    { "session", op_session },
    { "mail", op_mail },
};
#define ML_NCASES (sizeof(ml_cases) / sizeof(ml_cases[0]))

static double ml_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void ml_run(ml_core_t *b, const ml_case_t *c, long n)
{
    long i;

    for (i = 0; i < n; i++)
        if (!c->op(b))
            ml_die(c->name, "operation failed");
}

static int ml_cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

static void ml_measure(ml_core_t *b, const ml_case_t *c)
{
    double rounds[ML_ROUNDS], t0, t;
    ml_malloc_counts_t before, after;
    long n = 64;
    int i;

    ml_run(b, c, 2000);     /* warm: buffers grown, contexts made, pool blocks */
    for (;;) {
        t0 = ml_now_ns();
        ml_run(b, c, n);
        t = ml_now_ns() - t0;
        if (t > ML_ROUND_NS / 8)
            break;
        n *= 2;
    }
    n = (long)((double)n * ML_ROUND_NS / t) + 1;
    for (i = 0; i < ML_ROUNDS; i++) {
        t0 = ml_now_ns();
        ml_run(b, c, n);
        rounds[i] = (ml_now_ns() - t0) / (double)n;
    }
    qsort(rounds, ML_ROUNDS, sizeof(double), ml_cmp_double);
    printf("{\"case\": \"%s\", \"ns_per_op\": %.1f, \"ns_min\": %.1f, \"ns_max\": %.1f, "
           "\"ops_per_round\": %ld, \"page_bytes\": %lu",
           c->name, rounds[ML_ROUNDS / 2], rounds[0], rounds[ML_ROUNDS - 1], n,
           (unsigned long)b->page.len);
    if (ml_mc_get) {
        ml_mc_get(&before);
        ml_run(b, c, ML_COUNT_OPS);
        ml_mc_get(&after);
        printf(", \"heap_calls_per_op\": %.3f, \"heap_bytes_per_op\": %.1f, "
               "\"frees_per_op\": %.3f, \"live_delta_bytes\": %lld",
               (double)(after.calls - before.calls) / ML_COUNT_OPS,
               (double)(after.bytes - before.bytes) / ML_COUNT_OPS,
               (double)(after.frees - before.frees) / ML_COUNT_OPS, after.live - before.live);
    }
    printf("}\n");
    fflush(stdout);
}

static void ml_setup(ml_core_t *b, apr_pool_t *p, const char *keyfile)
{
    ml_crypto_t *c;
    const char *why, *v;
    char err[512];
    ml_issued_t is;
    ml_session_t sess;
    apr_int64_t now = ml_now();

    memset(b, 0, sizeof(*b));
    if (ml_crypto_create(&c, p, &why) != APR_SUCCESS)
        ml_die("crypto", why);
    if (ml_keyring_load(&b->kr, c, keyfile, p, err, sizeof(err)) != APR_SUCCESS)
        ml_die("key file", err);
    if (ml_scratch_create(&b->s, p) != APR_SUCCESS || apr_pool_create(&b->req, p) != APR_SUCCESS)
        ml_die("setup", "out of memory");
    ml_buf_init(&b->page);
    b->nonce = ml_nonce(p);
    if (!b->nonce || ml_link_issue(b->kr, now, 900, ml_email, b->nonce, "/", NULL, NULL, p, &is)
                         != ML_CODEC_OK)
        ml_die("setup", "cannot issue a link");
    apr_cpystrn(b->token, is.token, sizeof(b->token));
    b->rec = is.rec;
    b->rec_len = is.rec_len;
    apr_snprintf(b->verify_url, sizeof(b->verify_url), "/magic/verify/%s", b->token);
    /* As the module seals one at sign-in: with its own sid. */
    sess.email = ml_email;
    sess.iat = sess.seen = now;
    sess.aud = ml_realm;
    sess.sid = ml_nonce(p);
    if (ml_session_seal(b->s, b->kr, "magiclink_session", &sess, now, p, &v) != ML_CODEC_OK)
        ml_die("setup", "cannot seal a session");
    apr_cpystrn(b->session, v, sizeof(b->session));
    if (ml_addr_parse_from(p, "\"Bench\" <login@bench.example>", &b->from, &why) != APR_SUCCESS)
        ml_die("setup", why);
}

static const ml_case_t *ml_case_named(const char *name)
{
    size_t i;

    for (i = 0; i < ML_NCASES; i++)
        if (strcmp(ml_cases[i].name, name) == 0)
            return &ml_cases[i];
    ml_die(name, "no such case (generate, verify, session, mail)");
    return NULL;
}

static int ml_callgrind(ml_core_t *b, long n)
{
    size_t i;

    for (i = 0; i < ML_NCASES; i++) {
        ml_run(b, &ml_cases[i], 200);
        CALLGRIND_ZERO_STATS;
        CALLGRIND_TOGGLE_COLLECT;
        ml_run(b, &ml_cases[i], n);
        CALLGRIND_TOGGLE_COLLECT;
        CALLGRIND_DUMP_STATS_AT(ml_cases[i].name);
    }
    return 0;
}

static void ml_write_file(const char *dir, const char *name, const ml_buf_t *page)
{
    char path[4096];
    FILE *f;

    apr_snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (!(f = fopen(path, "wb")) || fwrite(page->data, 1, page->len, f) != page->len
        || fclose(f) != 0)
        ml_die(path, strerror(errno));
}

/* The pages with placeholder values (ZZSITEZZ, ...), in the shapes the
 * handlers render them (which values are present): the Go peer builds its
 * pages from these files, so both send the same bytes for the same values. */
static int ml_render(const char *dir)
{
    ml_buf_t page;
    ml_sink_buf_t sink;
    ml_tpl_login_args_t login = { 0 };
    ml_tpl_sent_args_t sent = { 0 };
    ml_tpl_confirm_args_t confirm = { 0 };
    ml_tpl_signed_in_args_t signed_in = { 0 };

    ml_buf_init(&page);
    login.site_name = "ZZSITEZZ";
    login.action_url = "ZZACTIONZZ";
    login.csrf_token = "ZZCSRFZZ";
    login.return_to = "ZZRETURNZZ";
    if (ml_tpl_login(ml_sink_buf_init(&sink, &page), &login, ML_LANG_EN) != APR_SUCCESS)
        ml_die("render", "login");
    ml_write_file(dir, "login.html", &page);

    ml_buf_reset(&page);
    sent.site_name = "ZZSITEZZ";
    sent.email = "ZZEMAILZZ";
    sent.code_action_url = "ZZACTIONZZ";
    sent.csrf_token = "ZZCSRFZZ";
    sent.pending = "ZZPENDINGZZ";
    if (ml_tpl_sent(ml_sink_buf_init(&sink, &page), &sent, ML_LANG_EN) != APR_SUCCESS)
        ml_die("render", "sent");
    ml_write_file(dir, "sent.html", &page);

    ml_buf_reset(&page);
    confirm.site_name = "ZZSITEZZ";
    confirm.action_url = "ZZACTIONZZ";
    confirm.csrf_token = "ZZCSRFZZ";
    confirm.email = "ZZEMAILZZ";
    if (ml_tpl_confirm(ml_sink_buf_init(&sink, &page), &confirm, ML_LANG_EN) != APR_SUCCESS)
        ml_die("render", "confirm");
    ml_write_file(dir, "confirm.html", &page);

    ml_buf_reset(&page);
    signed_in.site_name = "ZZSITEZZ";
    signed_in.email = "ZZEMAILZZ";
    signed_in.continue_url = "ZZCONTINUEZZ";
    if (ml_tpl_signed_in(ml_sink_buf_init(&sink, &page), &signed_in, ML_LANG_EN) != APR_SUCCESS)
        ml_die("render", "signed_in");
    ml_write_file(dir, "signed_in.html", &page);
    ml_buf_free(&page);
    return 0;
}

static int ml_mint(ml_core_t *b, long n, const char *nonce, const char *email)
{
    apr_int64_t now = ml_now();
    ml_issued_t is;
    long i;

    for (i = 0; i < n; i++) {
        if (ml_link_issue(b->kr, now, 900, email, nonce, "/", NULL, NULL, b->req, &is) != ML_CODEC_OK)
            ml_die("mint", "cannot issue a link");
        fputs(is.token, stdout);
        fputc('\n', stdout);
        apr_pool_clear(b->req);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *p;
    ml_core_t b;
    size_t i;

    apr_app_initialize(&argc, &argv, NULL);
    atexit(apr_terminate);
    apr_pool_create(&p, NULL);
    *(void **)&ml_mc_get = dlsym(RTLD_DEFAULT, "ml_malloc_count_get");
    *(void **)&ml_mc_trace = dlsym(RTLD_DEFAULT, "ml_malloc_count_trace");

    if (argc == 3 && !strcmp(argv[1], "--render"))
        return ml_render(argv[2]);
    if ((argc == 5 || argc == 6) && !strcmp(argv[1], "--mint")) {
        ml_setup(&b, p, argv[4]);
        return ml_mint(&b, atol(argv[2]), argv[3], argc == 6 ? argv[5] : ml_email);
    }
    if (argc == 4 && !strcmp(argv[1], "--callgrind")) {
        ml_setup(&b, p, argv[3]);
        return ml_callgrind(&b, atol(argv[2]));
    }
    if (argc == 5 && !strcmp(argv[1], "--trace")) {
        const ml_case_t *c;

        ml_setup(&b, p, argv[4]);
        c = ml_case_named(argv[2]);
        if (!ml_mc_trace)
            ml_die("--trace", "run with LD_PRELOAD=.../malloc_count.so");
        ml_run(&b, c, 2000);
        fprintf(stderr, "== heap calls of one warm '%s' op\n", c->name);
        ml_mc_trace(atol(argv[3]));
        ml_run(&b, c, 1);
        ml_mc_trace(0);
        return 0;
    }
    if (argc == 4 && !strcmp(argv[1], "--only")) {
        ml_setup(&b, p, argv[3]);
        ml_measure(&b, ml_case_named(argv[2]));
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: bench_core KEYFILE | --only CASE KEYFILE | --callgrind N KEYFILE | --trace CASE N "
                        "KEYFILE | --render DIR | --mint N NONCE KEYFILE [EMAIL]\n");
        return 2;
    }
    ml_setup(&b, p, argv[1]);
    if (!ml_mc_get)
        fprintf(stderr, "bench_core: malloc_count.so not preloaded: no heap figures\n");
    for (i = 0; i < ML_NCASES; i++)
        ml_measure(&b, &ml_cases[i]);
    return 0;
}
