/* Tests of the compiled templates and their runtime (ml_tpl.h):
 *  - golden output of every template in every compiled language, byte for
 *    byte, through both sinks: test/templates/golden/LANG/
 *    (ML_TPL_GOLDEN_UPDATE=1 rewrites them instead);
 *  - the catalogs as compiled: every message in every language, plural
 *    forms picked by each language's rule, right-to-left pages;
 *  - hostile values: markup, quotes, URL schemes, CR/LF, ill-formed UTF-8,
 *    1 MB values; the page's structure must not change;
 *  - the escapers and sinks on their own: runs, errors, no malloc per render.
 * Run from the top of the tree (the Makefile does). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <sys/stat.h>

#include "ml_templates.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- malloc counting (not under ASan, which owns malloc) ---- */

#if defined(__SANITIZE_ADDRESS__)
#define ML_COUNT_MALLOC 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ML_COUNT_MALLOC 0
#endif
#endif
#ifndef ML_COUNT_MALLOC
#define ML_COUNT_MALLOC 1
#endif

static size_t n_allocs;
static int counting;

#if ML_COUNT_MALLOC
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

void *malloc(size_t n)
{
    n_allocs += (size_t)counting;
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
    n_allocs += (size_t)counting;
    return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
    n_allocs += (size_t)counting;
    return __libc_realloc(p, n);
}

void free(void *p)
{
    __libc_free(p);
}
#endif

/* ---- helpers ---- */

static apr_pool_t *pool;
static apr_bucket_alloc_t *balloc;

typedef apr_status_t (*render_fn)(ml_sink_t *out);

/* The language the g_ and all_ renderers use. */
static int glang = ML_LANG_EN;

static void render_buf(render_fn fn, ml_buf_t *b)
{
    ml_sink_buf_t s;

    ml_buf_reset(b);
    assert_int_equal(fn(ml_sink_buf_init(&s, b)), APR_SUCCESS);
}

static size_t count_char(const char *s, size_t n, char c)
{
    size_t i, k = 0;

    for (i = 0; i < n; i++)
        k += s[i] == c;
    return k;
}

/* Every template, all params set to one value. The union fills every field
 * whatever the template declares (all are const char *). */
#define FILL_ALL(NAME)                                                               \
    static apr_status_t all_##NAME(ml_sink_t *o, const char *v)                        \
    {                                                                                  \
        union {                                                                        \
            ml_tpl_##NAME##_args_t a;                                                  \
            const char *f[sizeof(ml_tpl_##NAME##_args_t) / sizeof(const char *)];      \
        } u;                                                                           \
        size_t i;                                                                      \
        for (i = 0; i < COUNT(u.f); i++)                                               \
            u.f[i] = v;                                                                \
        trusted_##NAME(&u.a);                                                          \
        return ml_tpl_##NAME(o, &u.a, glang);                                          \
    }
/* {{raw}} params hold the module's own rendered markup, never a value from
 * outside: the hostile fills leave them out. */
#define NO_RAW(NAME) static void trusted_##NAME(ml_tpl_##NAME##_args_t *a) { (void)a; }
NO_RAW(sent)
NO_RAW(confirm)
NO_RAW(signed_in)
NO_RAW(error)
NO_RAW(signed_out)
NO_RAW(email_html)
NO_RAW(email_text)
NO_RAW(email_subject)
NO_RAW(language)
NO_RAW(approve)
NO_RAW(signout)
static void trusted_login(ml_tpl_login_args_t *a) { a->languages = NULL; }
FILL_ALL(login)
FILL_ALL(sent)
FILL_ALL(confirm)
FILL_ALL(signed_in)
FILL_ALL(error)
FILL_ALL(signed_out)
FILL_ALL(email_html)
FILL_ALL(email_text)
FILL_ALL(email_subject)
FILL_ALL(language)
FILL_ALL(approve)
FILL_ALL(signout)

typedef struct all_tpl {
    const char *name;
    apr_status_t (*fn)(ml_sink_t *, const char *);
    int html;
} all_tpl_t;

static const all_tpl_t all_tpls[] = {
    { "login", all_login, 1 },         { "sent", all_sent, 1 },
    { "confirm", all_confirm, 1 },     { "signed_in", all_signed_in, 1 },
    { "error", all_error, 1 },         { "signed_out", all_signed_out, 1 },
    { "email_html", all_email_html, 1 }, { "email_text", all_email_text, 0 },
    { "email_subject", all_email_subject, 0 }, { "language", all_language, 1 },
    { "approve", all_approve, 1 },     { "signout", all_signout, 1 },
};

static void render_all(const all_tpl_t *t, const char *v, ml_buf_t *b)
{
    ml_sink_buf_t s;

    ml_buf_reset(b);
    assert_int_equal(t->fn(ml_sink_buf_init(&s, b), v), APR_SUCCESS);
}

/* ---- golden files ---- */

#define SITE "Example & Co"
#define TOKEN "tok3n-AbC_123.xyz"

static apr_status_t g_login(ml_sink_t *o)
{
    ml_tpl_login_args_t a = { .site_name = SITE, .action_url = "/magic/generate",
        .csrf_token = TOKEN, .return_to = "/app/?a=1&b=2", .email = "ada@example.com",
        .error = "That doesn't look like an email address.", .logout_url = "/magic/logout" };
    return ml_tpl_login(o, &a, glang);
}

/* A signed-in browser: "Signed in as", Continue and both sign-outs, no form. */
static apr_status_t g_login_signed_in(ml_sink_t *o)
{
    ml_tpl_login_args_t a = { .site_name = SITE, .action_url = "/magic/generate",
        .csrf_token = TOKEN, .return_to = "/app/?a=1&b=2",
        .signed_in_as = "<b>bob</b>@example.com", .logout_url = "/magic/logout" };
    return ml_tpl_login(o, &a, glang);
}

/* The waiting tab: number, reload, Continue, another address, send again. */
static apr_status_t g_sent_waiting(ml_sink_t *o)
{
    ml_tpl_sent_args_t a = { .site_name = SITE, .email = "ada@example.com",
        .code_action_url = "/magic/code", .csrf_token = TOKEN, .pending = "p3nd1ng.T0ken",
        .number = "07", .refresh_url = "/magic/wait/p3nd1ng.T0ken",
        .check_url = "/magic/wait/p3nd1ng.T0ken", .stop_url = "/magic/wait/p3nd1ng.T0ken?stop",
        .login_url = "/magic/login?return=%2Fapp%2F",
        .again_url = "/magic/generate", .again_email = "ada@example.com",
        .return_to = "/app/" };
    return ml_tpl_sent(o, &a, glang);
}

static apr_status_t g_approve(ml_sink_t *o)
{
    ml_tpl_approve_args_t a = { .site_name = SITE, .action_url = "/magic/approve/AbC.dEf-123",
        .csrf_token = TOKEN, .device_browser = "Firefox", .device_os = "Linux",
        .minutes = "3" };
    return ml_tpl_approve(o, &a, glang);
}

static apr_status_t g_approve_unknown(ml_sink_t *o)
{
    ml_tpl_approve_args_t a = { .site_name = SITE, .action_url = "/magic/approve/AbC.dEf-123",
        .csrf_token = TOKEN, .minutes = "1" };
    return ml_tpl_approve(o, &a, glang);
}

static apr_status_t g_signout(ml_sink_t *o)
{
    ml_tpl_signout_args_t a = { .site_name = SITE, .csrf_token = TOKEN,
        .logout_url = "/magic/logout", .email = "ada@example.com" };
    return ml_tpl_signout(o, &a, glang);
}

static apr_status_t g_login_min(ml_sink_t *o)
{
    ml_tpl_login_args_t a = { .site_name = SITE, .action_url = "/magic/generate",
        .csrf_token = TOKEN };
    return ml_tpl_login(o, &a, glang);
}

static apr_status_t g_sent(ml_sink_t *o)
{
    ml_tpl_sent_args_t a = { .site_name = SITE, .email = "ada@example.com",
        .code_action_url = "/magic/code", .csrf_token = TOKEN, .pending = "p3nd1ng.T0ken" };
    return ml_tpl_sent(o, &a, glang);
}

static apr_status_t g_sent_min(ml_sink_t *o)
{
    ml_tpl_sent_args_t a = { .site_name = SITE, .code_action_url = "/magic/code",
        .csrf_token = TOKEN, .pending = "p3nd1ng.T0ken" };
    return ml_tpl_sent(o, &a, glang);
}

static apr_status_t g_confirm(ml_sink_t *o)
{
    ml_tpl_confirm_args_t a = { .site_name = SITE, .action_url = "/magic/verify/AbC.dEf-123",
        .csrf_token = TOKEN, .email = "ada@example.com" };
    return ml_tpl_confirm(o, &a, glang);
}

static apr_status_t g_signed_in(ml_sink_t *o)
{
    ml_tpl_signed_in_args_t a = { .site_name = SITE, .email = "ada@example.com",
        .continue_url = "/app/" };
    return ml_tpl_signed_in(o, &a, glang);
}

static apr_status_t g_error(ml_sink_t *o)
{
    ml_tpl_error_args_t a = { .site_name = SITE, .title = "Link expired",
        .message = "This sign-in link has expired. Ask for a new one.",
        .retry_url = "/magic/login?return=%2Fapp%2F", .retry_label = "Get a new link" };
    return ml_tpl_error(o, &a, glang);
}

static apr_status_t g_error_min(ml_sink_t *o)
{
    ml_tpl_error_args_t a = { .site_name = SITE, .title = "Too many requests",
        .message = "Wait a few minutes, then try again." };
    return ml_tpl_error(o, &a, glang);
}

static apr_status_t g_signed_out(ml_sink_t *o)
{
    ml_tpl_signed_out_args_t a = { .site_name = SITE, .login_url = "/magic/login" };
    return ml_tpl_signed_out(o, &a, glang);
}

#define LINK "https://example.com/magic/verify/AbC.dEf-123"

static apr_status_t g_email_text(ml_sink_t *o)
{
    ml_tpl_email_text_args_t a = { .site_name = SITE, .link = LINK, .code = "123456",
        .email = "ada@example.com", .ttl_minutes = "15" };
    return ml_tpl_email_text(o, &a, glang);
}

static apr_status_t g_email_text_min(ml_sink_t *o)
{
    ml_tpl_email_text_args_t a = { .site_name = SITE, .link = LINK, .code = "123456" };
    return ml_tpl_email_text(o, &a, glang);
}

static apr_status_t g_email_html(ml_sink_t *o)
{
    ml_tpl_email_html_args_t a = { .site_name = SITE, .link = LINK, .code = "123456",
        .email = "ada@example.com", .ttl_minutes = "15" };
    return ml_tpl_email_html(o, &a, glang);
}

static apr_status_t g_email_html_min(ml_sink_t *o)
{
    ml_tpl_email_html_args_t a = { .site_name = SITE, .link = LINK, .code = "123456",
        .ttl_minutes = "1" };
    return ml_tpl_email_html(o, &a, glang);
}

static apr_status_t g_email_subject(ml_sink_t *o)
{
    ml_tpl_email_subject_args_t a = { .site_name = SITE };
    return ml_tpl_email_subject(o, &a, glang);
}

static apr_status_t g_sent_wrong_code(ml_sink_t *o)
{
    ml_tpl_sent_args_t a = { .site_name = SITE, .code_action_url = "/magic/code",
        .csrf_token = TOKEN, .pending = "p3nd1ng.T0ken", .code_wrong = "1", .tries_left = "2" };
    return ml_tpl_sent(o, &a, glang);
}

static apr_status_t g_login_picker(ml_sink_t *o)
{
    static const char picker[] =
        "<li><a href=\"/magic/login?lang=en\" hreflang=\"en\" lang=\"en\">English</a></li>\n";
    ml_tpl_login_args_t a = { .site_name = SITE, .action_url = "/magic/generate",
        .csrf_token = TOKEN, .return_to = "/", .languages = picker };
    return ml_tpl_login(o, &a, glang);
}

static apr_status_t g_language(ml_sink_t *o)
{
    ml_tpl_language_args_t a = { .code = "pt-BR", .name = "Portugu\xC3\xAAs (Brasil)",
        .login_url = "/magic/login", .return_to = "/app/?a=1&b=2", .current = "1" };
    return ml_tpl_language(o, &a, glang);
}

typedef struct golden {
    const char *file;
    render_fn fn;
} golden_t;

static const golden_t goldens[] = {
    { "login.html", g_login },           { "login-minimal.html", g_login_min },
    { "sent.html", g_sent },             { "sent-minimal.html", g_sent_min },
    { "confirm.html", g_confirm },       { "signed_in.html", g_signed_in },
    { "error.html", g_error },           { "error-minimal.html", g_error_min },
    { "signed_out.html", g_signed_out }, { "email_text.txt", g_email_text },
    { "email_text-minimal.txt", g_email_text_min }, { "email_html.html", g_email_html },
    { "email_html-minimal.html", g_email_html_min }, { "email_subject.txt", g_email_subject },
    { "sent-wrong-code.html", g_sent_wrong_code }, { "login-picker.html", g_login_picker },
    { "language.html", g_language },     { "login-signed-in.html", g_login_signed_in },
    { "sent-waiting.html", g_sent_waiting }, { "approve.html", g_approve },
    { "approve-unknown.html", g_approve_unknown }, { "signout.html", g_signout },
};

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static void write_all(const char *path, const char *s, size_t n)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(s, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Points at the first difference, with its line, so a failure is readable. */
static void report_diff(const char *path, const char *want, size_t wn, const char *got,
                        size_t gn)
{
    size_t i = 0, line = 1, ls;

    while (i < wn && i < gn && want[i] == got[i]) {
        if (want[i] == '\n')
            line++;
        i++;
    }
    for (ls = i; ls > 0 && want[ls - 1] != '\n'; ls--)
        ;
    fprintf(stderr, "%s: differs at byte %zu (line %zu); lengths %zu (golden) and %zu\n"
            "  golden: %.80s\n  got:    %.80s\n"
            "  (after a deliberate change: make templates-golden-update, review the diff)\n",
            path, i, line, wn, gn, want + ls, gn >= ls ? got + ls : "");
}

static const char *golden_dir(void)
{
    const char *d = getenv("ML_TPL_GOLDEN_DIR");
    return d ? d : "test/templates/golden";
}

/* Every golden page in every compiled language: golden/LANG/FILE. */
static void test_golden(void **state)
{
    ml_buf_t b;
    char path[512];
    size_t i, wn;
    char *want;
    int update = getenv("ML_TPL_GOLDEN_UPDATE") != NULL, failed = 0, l;

    ml_buf_init(&b);
    for (l = 0, i = 0; l < ML_LANG_COUNT; i = (i + 1) % COUNT(goldens), l += i == 0) {
        glang = l;
        snprintf(path, sizeof(path), "%s/%s/%s", golden_dir(), ml_lang_info[l].code,
                 goldens[i].file);
        render_buf(goldens[i].fn, &b);
        if (update) {
            char langdir[512];

            snprintf(langdir, sizeof(langdir), "%s/%s", golden_dir(), ml_lang_info[l].code);
            mkdir(langdir, 0755);                 /* a new language: its directory */
            write_all(path, b.data, b.len);
            fprintf(stderr, "wrote %s\n", path);
            continue;
        }
        want = read_all(path, &wn);
        if (!want) {
            fprintf(stderr, "%s: %s (make templates-golden-update creates it)\n", path,
                    strerror(errno));
            failed = 1;
            continue;
        }
        if (wn != b.len || memcmp(want, b.data, wn)) {
            report_diff(path, want, wn, b.data, b.len);
            failed = 1;
        }
        free(want);
    }
    glang = ML_LANG_EN;
    ml_buf_free(&b);
    assert_false(failed);
}

/* ---- brigade sink ---- */

static char *render_brigade(render_fn fn, apr_size_t *len, apr_bucket_brigade **out)
{
    apr_bucket_brigade *bb = apr_brigade_create(pool, balloc);
    ml_sink_brigade_t s;
    char *flat;

    assert_int_equal(fn(ml_sink_brigade_init(&s, bb)), APR_SUCCESS);
    assert_int_equal(apr_brigade_pflatten(bb, &flat, len, pool), APR_SUCCESS);
    if (out)
        *out = bb;
    else
        apr_brigade_destroy(bb);
    return flat;
}

static void test_brigade_matches_buffer(void **state)
{
    ml_buf_t b;
    apr_size_t n;
    char *flat;
    size_t i;

    ml_buf_init(&b);
    for (i = 0; i < COUNT(goldens); i++) {
        render_buf(goldens[i].fn, &b);
        flat = render_brigade(goldens[i].fn, &n, NULL);
        assert_int_equal(n, b.len);
        assert_memory_equal(flat, b.data, n);
    }
    ml_buf_free(&b);
}

/* Static text is referenced, not copied; a page's dynamic text shares one
 * heap buffer; buckets in a row are never both dynamic. */
static void test_brigade_buckets(void **state)
{
    apr_bucket_brigade *bb;
    apr_bucket *e;
    apr_size_t n;
    const char *data;
    const void *bases[8];
    size_t nbases = 0, immortal = 0, heap = 0, k;
    int prev_heap = 0;

    render_brigade(g_sent, &n, &bb);
    for (e = APR_BRIGADE_FIRST(bb); e != APR_BRIGADE_SENTINEL(bb); e = APR_BUCKET_NEXT(e)) {
        if (APR_BUCKET_IS_IMMORTAL(e)) {
            immortal++;
            prev_heap = 0;
            continue;
        }
        assert_true(APR_BUCKET_IS_HEAP(e));
        assert_false(prev_heap);
        prev_heap = 1;
        heap++;
        assert_int_equal(apr_bucket_read(e, &data, &n, APR_BLOCK_READ), APR_SUCCESS);
        assert_true(n > 0);
        for (k = 0; k < nbases && bases[k] != ((apr_bucket_heap *)e->data)->base; k++)
            ;
        if (k == nbases) {
            assert_true(nbases < COUNT(bases));
            bases[nbases++] = ((apr_bucket_heap *)e->data)->base;
        }
    }
    assert_true(immortal >= 5);
    assert_true(heap >= 5);
    assert_int_equal(nbases, 1);
    apr_brigade_destroy(bb);
}

/* Buckets the caller adds between two writes keep their place. */
static void test_brigade_interleaved(void **state)
{
    apr_bucket_brigade *bb = apr_brigade_create(pool, balloc);
    ml_sink_brigade_t s;
    ml_sink_t *out = ml_sink_brigade_init(&s, bb);
    char flat[64];
    apr_size_t n = sizeof(flat);

    assert_int_equal(ml_tpl_put_html(out, "a&"), APR_SUCCESS);
    APR_BRIGADE_INSERT_TAIL(bb, apr_bucket_immortal_create("X", 1, balloc));
    assert_int_equal(ml_tpl_put_html(out, "b"), APR_SUCCESS);
    assert_int_equal(ml_tpl_put_html(out, "c"), APR_SUCCESS);
    assert_int_equal(apr_brigade_flatten(bb, flat, &n), APR_SUCCESS);
    assert_int_equal(n, 9);
    assert_memory_equal(flat, "a&amp;Xbc", 9);
    apr_brigade_destroy(bb);
}

/* Long values through the brigade sink: runs that get their own bucket,
 * runs that fill chunk after chunk, sizes around the chunk's edges. */
static const char *long_message;

static apr_status_t long_error(ml_sink_t *o)
{
    ml_tpl_error_args_t a = { .site_name = SITE, .title = "T", .message = long_message,
        .retry_url = long_message };
    return ml_tpl_error(o, &a, glang);
}

static void test_brigade_long_values(void **state)
{
    static const size_t sizes[] = { 1999, 2000, 2001, 7999, 8000, 8001, 20000, 1 << 20 };
    static const char *const fills[] = { "m", "<", "a<", "<\xC3\xA9\xFF" };
    size_t i, f, k, flen;
    ml_buf_t b;
    apr_size_t n;
    char *v, *flat;

    ml_buf_init(&b);
    for (i = 0; i < COUNT(sizes); i++) {
        for (f = 0; f < COUNT(fills); f++) {
            v = apr_palloc(pool, sizes[i] + 1);
            flen = strlen(fills[f]);
            for (k = 0; k < sizes[i]; k++)
                v[k] = fills[f][k % flen];
            v[sizes[i]] = '\0';
            long_message = v;
            render_buf(long_error, &b);
            assert_true(b.len > sizes[i]);
            flat = render_brigade(long_error, &n, NULL);
            assert_int_equal(n, b.len);
            assert_memory_equal(flat, b.data, n);
        }
    }
    ml_buf_free(&b);
}

/* ---- escapers ---- */

typedef struct rec_sink {
    ml_sink_t sink;
    ml_buf_t out;
    int calls;
    int fail_at;          /* 0: never */
} rec_sink_t;

static apr_status_t rec_put(ml_sink_t *s, const char *p, apr_size_t n)
{
    rec_sink_t *r = (rec_sink_t *)s;

    if (++r->calls == r->fail_at)
        return APR_EGENERAL;
    return ml_buf_append(&r->out, p, n);
}

static void rec_init(rec_sink_t *r)
{
    r->sink.put_static = rec_put;
    r->sink.put = rec_put;
    ml_buf_init(&r->out);
    r->calls = 0;
    r->fail_at = 0;
}

static const char *esc(apr_status_t (*fn)(ml_sink_t *, const char *), const char *in)
{
    static rec_sink_t r;

    ml_buf_free(&r.out);
    rec_init(&r);
    assert_int_equal(fn(&r.sink, in), APR_SUCCESS);
    return r.out.data ? r.out.data : "";
}

static void test_escape_html(void **state)
{
    assert_string_equal(esc(ml_tpl_put_html, "a<b>&\"c'd"), "a&lt;b&gt;&amp;&#34;c&#39;d");
    assert_string_equal(esc(ml_tpl_put_attr, "\" onmouseover='x'"),
                        "&#34; onmouseover=&#39;x&#39;");
    assert_string_equal(esc(ml_tpl_put_html, "tab\tlf\ncr\r"), "tab\tlf\ncr\r");
    assert_string_equal(esc(ml_tpl_put_html, "bell\a del\x7f"), "bell\xEF\xBF\xBD del\xEF\xBF\xBD");
    assert_string_equal(esc(ml_tpl_put_html, "&amp;"), "&amp;amp;");
    assert_string_equal(esc(ml_tpl_put_html, ""), "");
    assert_string_equal(esc(ml_tpl_put_html, NULL), "");
}

/* Ill-formed UTF-8 becomes U+FFFD, one per maximal ill-formed subsequence. */
static void test_escape_utf8(void **state)
{
    static const struct { const char *in, *out; } cases[] = {
        { "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80", "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80" },
        { "a\xFF" "b", "a\xEF\xBF\xBD" "b" },
        { "\xC0\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD" },                        /* overlong '/' */
        { "\xE0\x80\xAF", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" },        /* overlong */
        { "\xED\xA0\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" },        /* surrogate */
        { "\xF4\x90\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" },
        { "\xE2\x82", "\xEF\xBF\xBD" },                                   /* truncated */
        { "\xF0\x9F\x98<", "\xEF\xBF\xBD&lt;" },                           /* cut by ASCII */
        { "\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD" },                        /* stray */
        { "\xF8\x88\x80\x80\x80", "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD" },
    };
    size_t i;

    for (i = 0; i < COUNT(cases); i++) {
        assert_string_equal(esc(ml_tpl_put_html, cases[i].in), cases[i].out);
        assert_string_equal(esc(ml_tpl_put_text, cases[i].in),
                            i == 7 ? "\xEF\xBF\xBD<" : cases[i].out);
    }
    assert_string_equal(esc(ml_tpl_put_raw, "<b>\xFF</b>"), "<b>\xEF\xBF\xBD</b>");
    assert_string_equal(esc(ml_tpl_put_url, "/p\xC3"), "/p\xEF\xBF\xBD");
}

static void test_escape_text(void **state)
{
    assert_string_equal(esc(ml_tpl_put_text, "a\r\nBcc: x@evil\tq\x1b[31m\x7f."),
                        "a  Bcc: x@evil q [31m .");
    /* NEL, another C1, LINE and PARAGRAPH SEPARATOR */
    assert_string_equal(esc(ml_tpl_put_text, "a\xC2\x85" "b\xC2\x9B" "c\xE2\x80\xA8" "d\xE2\x80\xA9" "e"),
                        "a b c d e");
    /* text is not HTML: markup stays as is (it is not rendered) */
    assert_string_equal(esc(ml_tpl_put_text, "<b>&\xC2\xA0\xE2\x80\xA7"), "<b>&\xC2\xA0\xE2\x80\xA7");
}

static void test_url_schemes(void **state)
{
    static const char *const good[] = {
        "https://example.com/x", "http://example.com", "HTTPS://EXAMPLE.COM", "mailto:a@b.c",
        "/magic/login?return=%2F", "relative/path", "?q=1", "#frag", "//host/x", "",
        "./javascript:x", "/a:b", "javascript&#58;alert(1)", "jav&#x61;script:x",
        /* what browsers ignore is ignored here too, not taken as a bad scheme */
        " https://example.com/", "\x01\nhttps://example.com/", "ht\ttps://example.com/",
    };
    static const char *const bad[] = {
        "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)",
        "\tjavascript:alert(1)", "java\tscript:alert(1)", "java\nscript:x", "java\rscript:x",
        "\x01\x02javascript:x", "data:text/html,<script>alert(1)</script>", "DATA:x",
        "vbscript:msgbox(1)", "VBScript:x", "file:///etc/passwd", "ftp://x", "about:blank",
        "javascript\\:x", "\xE2\x80\x8Bjavascript:x", "svn+ssh://x", ":x",
        "httpsx:y", "blob:https://x",
    };
    size_t i;

    for (i = 0; i < COUNT(good); i++) {
        if (!ml_tpl_url_is_safe(good[i]))
            fail_msg("should pass: \"%s\"", good[i]);
    }
    for (i = 0; i < COUNT(bad); i++) {
        if (ml_tpl_url_is_safe(bad[i]))
            fail_msg("should be blocked: \"%s\"", bad[i]);
        assert_string_equal(esc(ml_tpl_put_url, bad[i]), ML_TPL_URL_BLOCKED);
    }
    assert_string_equal(esc(ml_tpl_put_url, "/a?x=1&y=\"2\""), "/a?x=1&amp;y=&#34;2&#34;");
    assert_string_equal(esc(ml_tpl_put_url, "javascript&#58;alert(1)"),
                        "javascript&amp;#58;alert(1)");
}

static void test_url_part(void **state)
{
    assert_string_equal(esc(ml_tpl_put_url_part, "a b/c:d?e=f&g#\"<\xC3\xA9~._-Z9"),
                        "a%20b%2Fc%3Ad%3Fe%3Df%26g%23%22%3C%C3%A9~._-Z9");
    assert_string_equal(esc(ml_tpl_put_url_part, "javascript:x"), "javascript%3Ax");
    assert_string_equal(esc(ml_tpl_put_url_part, "x\xFFy"), "x%EF%BF%BDy");
}

/* Safe bytes go out in runs: one sink call per run, one per replacement. */
static void test_escape_runs(void **state)
{
    char big[4097];
    rec_sink_t r;

    rec_init(&r);
    assert_int_equal(ml_tpl_put_html(&r.sink, "hello <b> world"), APR_SUCCESS);
    assert_int_equal(r.calls, 5);
    ml_buf_free(&r.out);

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    rec_init(&r);
    assert_int_equal(ml_tpl_put_html(&r.sink, big), APR_SUCCESS);
    assert_int_equal(r.calls, 1);
    assert_int_equal(r.out.len, sizeof(big) - 1);
    ml_buf_free(&r.out);

    rec_init(&r);
    assert_int_equal(ml_tpl_put_text(&r.sink, "caf\xC3\xA9 na\xC3\xAFve"), APR_SUCCESS);
    assert_int_equal(r.calls, 1);
    ml_buf_free(&r.out);
}

/* The first error a sink returns ends the render and is returned. */
static void test_sink_error_stops(void **state)
{
    rec_sink_t r;
    int total;

    rec_init(&r);
    assert_int_equal(g_login(&r.sink), APR_SUCCESS);
    total = r.calls;
    ml_buf_free(&r.out);
    assert_true(total > 10);

    rec_init(&r);
    r.fail_at = total / 2;
    assert_int_equal(g_login(&r.sink), APR_EGENERAL);
    assert_int_equal(r.calls, total / 2);
    ml_buf_free(&r.out);
}

/* ---- hostile values in the real templates ---- */

static const char *const hostile[] = {
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>",
    "' onmouseover='alert(1)' x='",
    "</title><script>alert(1)</script>",
    "--><!--<script>",
    "javascript:alert(1)",
    "JaVaScRiPt:alert(1)",
    " javascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript:msgbox(1)",
    "line1\r\nBcc: victim@example.com\r\n\r\nbody",
    "\xC0\xBCscript\xC0\xBE\xFF\xFE",
    "&lt;script&gt;",
    "{{site_name}}",
};

/* Markup comes only from the template: with any value, a page has the same
 * number of < > " ' characters (and the text email the same line count) as
 * with a harmless value. */
static void test_hostile_structure(void **state)
{
    ml_buf_t base, got;
    size_t i, h;
    static const char marks[] = "<>\"'";

    ml_buf_init(&base);
    ml_buf_init(&got);
    for (glang = 0, i = 0; glang < ML_LANG_COUNT; i = (i + 1) % COUNT(all_tpls), glang += i == 0) {
        render_all(&all_tpls[i], "x", &base);
        for (h = 0; h < COUNT(hostile); h++) {
            render_all(&all_tpls[i], hostile[h], &got);
            if (all_tpls[i].html) {
                const char *m;
                for (m = marks; *m; m++) {
                    if (count_char(got.data, got.len, *m) != count_char(base.data, base.len, *m))
                        fail_msg("%s with value %zu: count of '%c' changed", all_tpls[i].name, h,
                                 *m);
                }
                assert_null(strstr(got.data, "<script"));
                assert_null(strstr(got.data, "<img"));
                assert_null(strstr(got.data, "<svg"));
            } else {
                assert_int_equal(count_char(got.data, got.len, '\n'),
                                 count_char(base.data, base.len, '\n'));
                assert_int_equal(count_char(got.data, got.len, '\r'), 0);
            }
            assert_null(strstr(got.data, "\xC0"));
            assert_null(strstr(got.data, "\xFF"));
        }
    }
    glang = ML_LANG_EN;
    ml_buf_free(&base);
    ml_buf_free(&got);
}

static void test_hostile_urls_blocked(void **state)
{
    static const char *const urls[] = {
        "javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)",
        "data:text/html,x", "vbscript:x", "java\tscript:x",
    };
    ml_buf_t b;
    ml_sink_buf_t s;
    size_t i;

    ml_buf_init(&b);
    for (i = 0; i < COUNT(urls); i++) {
        ml_tpl_signed_in_args_t a = { .site_name = SITE, .continue_url = urls[i] };
        ml_tpl_login_args_t l = { .site_name = SITE, .action_url = urls[i] };
        ml_tpl_email_html_args_t m = { .site_name = SITE, .link = urls[i], .code = "1" };

        ml_buf_reset(&b);
        assert_int_equal(ml_tpl_signed_in(ml_sink_buf_init(&s, &b), &a, ML_LANG_EN), APR_SUCCESS);
        assert_non_null(strstr(b.data, "href=\"" ML_TPL_URL_BLOCKED "\""));
        ml_buf_reset(&b);
        assert_int_equal(ml_tpl_login(ml_sink_buf_init(&s, &b), &l, ML_LANG_EN), APR_SUCCESS);
        assert_non_null(strstr(b.data, "action=\"" ML_TPL_URL_BLOCKED "\""));
        ml_buf_reset(&b);
        assert_int_equal(ml_tpl_email_html(ml_sink_buf_init(&s, &b), &m, ML_LANG_EN), APR_SUCCESS);
        assert_non_null(strstr(b.data, "href=\"" ML_TPL_URL_BLOCKED "\""));
    }
    ml_buf_free(&b);
}

/* Where each value lands and how it is escaped there. */
static void test_hostile_contexts(void **state)
{
    ml_buf_t b;
    ml_sink_buf_t s;
    ml_tpl_login_args_t a = { .site_name = "</title><script>", .action_url = "/g",
        .csrf_token = "\"><script>", .return_to = "/x\" onfocus=\"alert(1)",
        .email = "a@b'><svg onload=alert(1)>", .error = "<b>bad</b> & worse" };

    ml_buf_init(&b);
    assert_int_equal(ml_tpl_login(ml_sink_buf_init(&s, &b), &a, ML_LANG_EN), APR_SUCCESS);
    assert_non_null(strstr(b.data, "<title>Sign in \xE2\x80\x94 &lt;/title&gt;&lt;script&gt;</title>"));
    assert_non_null(strstr(b.data, "<meta name=\"csrf-token\" content=\"&#34;&gt;&lt;script&gt;\">"));
    assert_non_null(strstr(b.data, "name=\"csrf_token\" value=\"&#34;&gt;&lt;script&gt;\">"));
    assert_non_null(strstr(b.data, "value=\"/x&#34; onfocus=&#34;alert(1)\">"));
    assert_non_null(strstr(b.data, "value=\"a@b&#39;&gt;&lt;svg onload=alert(1)&gt;\">"));
    assert_non_null(strstr(b.data, "role=\"alert\">&lt;b&gt;bad&lt;/b&gt; &amp; worse</div>"));
    ml_buf_free(&b);
}

/* NULL and "" both mean absent; set means present. */
static void test_absent_values(void **state)
{
    ml_buf_t n, e, set;
    ml_sink_buf_t s;
    ml_tpl_login_args_t a = { .site_name = SITE, .action_url = "/g", .csrf_token = "t" };

    ml_buf_init(&n);
    ml_buf_init(&e);
    ml_buf_init(&set);
    assert_int_equal(ml_tpl_login(ml_sink_buf_init(&s, &n), &a, ML_LANG_EN), APR_SUCCESS);
    a.error = "";
    a.email = "";
    assert_int_equal(ml_tpl_login(ml_sink_buf_init(&s, &e), &a, ML_LANG_EN), APR_SUCCESS);
    assert_int_equal(n.len, e.len);
    assert_memory_equal(n.data, e.data, n.len);
    assert_null(strstr(n.data, "role=\"alert\""));
    a.error = "E";
    assert_int_equal(ml_tpl_login(ml_sink_buf_init(&s, &set), &a, ML_LANG_EN), APR_SUCCESS);
    assert_non_null(strstr(set.data, "<div class=\"alert\" role=\"alert\">E</div>"));

    /* no csrf token: no meta tag */
    a.csrf_token = NULL;
    ml_buf_reset(&set);
    assert_int_equal(ml_tpl_login(ml_sink_buf_init(&s, &set), &a, ML_LANG_EN), APR_SUCCESS);
    assert_null(strstr(set.data, "csrf-token"));
    ml_buf_free(&n);
    ml_buf_free(&e);
    ml_buf_free(&set);
}

static char *make_long(char c, size_t n)
{
    char *s = apr_palloc(pool, n + 1);

    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* 1 MB values, escaped (every byte replaced) and not, in each context. */
static void test_long_values(void **state)
{
    const size_t mb = 1 << 20;
    const char *lt = make_long('<', mb), *plain = make_long('a', mb);
    char *bad = make_long('\xFF', mb), *nl = make_long('\n', mb);
    ml_buf_t base, b;
    ml_sink_buf_t s;
    ml_tpl_sent_args_t a = { .site_name = "x", .email = "x", .code_action_url = "x",
        .csrf_token = "x", .pending = "x" };
    ml_tpl_email_text_args_t t = { .site_name = "x", .link = "x", .code = "x" };

    ml_buf_init(&base);
    ml_buf_init(&b);
    assert_int_equal(ml_tpl_sent(ml_sink_buf_init(&s, &base), &a, ML_LANG_EN), APR_SUCCESS);

    a.email = lt;         /* text: 4 bytes each */
    a.pending = plain;    /* attribute: as is */
    a.code_action_url = plain;
    assert_int_equal(ml_tpl_sent(ml_sink_buf_init(&s, &b), &a, ML_LANG_EN), APR_SUCCESS);
    assert_int_equal(b.len, base.len - 3 + 4 * mb + 2 * mb);
    ml_buf_reset(&b);
    a.email = bad;        /* each byte one U+FFFD */
    a.pending = "x";
    a.code_action_url = "x";
    assert_int_equal(ml_tpl_sent(ml_sink_buf_init(&s, &b), &a, ML_LANG_EN), APR_SUCCESS);
    assert_int_equal(b.len, base.len - 1 + 3 * mb);

    ml_buf_reset(&base);
    assert_int_equal(ml_tpl_email_text(ml_sink_buf_init(&s, &base), &t, ML_LANG_EN), APR_SUCCESS);
    ml_buf_reset(&b);
    t.email = nl;
    t.link = lt;
    assert_int_equal(ml_tpl_email_text(ml_sink_buf_init(&s, &b), &t, ML_LANG_EN), APR_SUCCESS);
    assert_int_equal(count_char(b.data, b.len, '\n'), count_char(base.data, base.len, '\n'));
    ml_buf_free(&base);
    ml_buf_free(&b);
}

/* A warm buffer sink renders with no allocation at all. */
static void test_no_malloc_per_render(void **state)
{
    ml_buf_t b;
    char *data;
    size_t cap;
    int i;

    ml_buf_init(&b);
    render_buf(g_sent, &b);
    data = b.data;
    cap = b.cap;
    n_allocs = 0;
    counting = 1;
    for (i = 0; i < 100; i++)
        render_buf(g_sent, &b);
    counting = 0;
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.cap, cap);
    if (ML_COUNT_MALLOC)
        assert_int_equal(n_allocs, 0);
    ml_buf_free(&b);
}

/* The page's fixed promises: no script, no external assets, the meta tags. */
static void test_page_promises(void **state)
{
    ml_buf_t b;
    size_t i;

    ml_buf_init(&b);
    for (i = 0; i < COUNT(goldens); i++) {
        render_buf(goldens[i].fn, &b);
        assert_null(strstr(b.data, "<script"));
        assert_null(strstr(b.data, "<link"));
        assert_null(strstr(b.data, "src="));
        assert_null(strstr(b.data, "@import"));
        assert_null(strstr(b.data, "url("));
        if (strstr(goldens[i].file, ".html") && strncmp(goldens[i].file, "email", 5)
            && strcmp(goldens[i].file, "language.html")) {
            assert_non_null(strstr(b.data, "<html lang=\"en\" dir=\"ltr\">"));
            assert_non_null(strstr(b.data, "<meta charset=\"utf-8\">"));
            assert_non_null(strstr(b.data, "<meta name=\"viewport\""));
            assert_non_null(strstr(b.data, " \xE2\x80\x94 Example &amp; Co</title>"));
            assert_non_null(strstr(b.data, "<header>Example &amp; Co</header>"));
        }
    }
    render_buf(g_login, &b);
    assert_non_null(strstr(b.data, "<meta name=\"csrf-token\" content=\"" TOKEN "\">"));
    assert_non_null(strstr(b.data, "<input type=\"hidden\" name=\"csrf_token\" value=\"" TOKEN "\">"));
    assert_non_null(strstr(b.data, "<input type=\"hidden\" name=\"return\" value=\"/app/?a=1&amp;b=2\">"));
    assert_non_null(strstr(b.data, "<label for=\"email\">"));
    assert_non_null(strstr(b.data, "name=\"email\" type=\"email\" autocomplete=\"email\" dir=\"ltr\" required"));
    assert_non_null(strstr(b.data, "<form method=\"post\" action=\"/magic/generate\">"));
    render_buf(g_sent, &b);
    assert_non_null(strstr(b.data, "inputmode=\"numeric\" autocomplete=\"one-time-code\""));
    assert_non_null(strstr(b.data, "name=\"pending\" value=\"p3nd1ng.T0ken\""));
    assert_non_null(strstr(b.data, "<label for=\"code\">"));
    render_buf(g_confirm, &b);
    assert_non_null(strstr(b.data, "<button type=\"submit\">Sign in</button>"));
    /* nothing that could submit the form by itself */
    assert_null(strstr(b.data, "onload"));
    assert_null(strstr(b.data, "onpageshow"));
    assert_null(strstr(b.data, "submit()"));
    assert_null(strstr(b.data, "http-equiv"));
    render_buf(g_email_text, &b);
    assert_non_null(strstr(b.data, LINK "\n"));
    assert_non_null(strstr(b.data, "123456"));
    assert_non_null(strstr(b.data, "If you didn't ask for this, ignore this email"));
    render_buf(g_email_html, &b);
    assert_non_null(strstr(b.data, "<a href=\"" LINK "\""));
    assert_non_null(strstr(b.data, ">123456</p>"));
    assert_non_null(strstr(b.data, "If you didn't ask for this, ignore this email"));
    ml_buf_free(&b);
}

/* ---- the catalogs, as compiled ---- */

static int lang_index(const char *code)
{
    int l;

    for (l = 0; l < ML_LANG_COUNT; l++) {
        if (!strcmp(ml_lang_info[l].code, code))
            return l;
    }
    fail_msg("language %s is not compiled in", code);
    return -1;
}

/* Every language ships every message translated: none is English (the
 * build would only have warned). Placeholders are the build's to check:
 * check_mltc.sh runs mltc -Werror on the shipped catalogs. */
static void test_catalog_complete(void **state)
{
    static const char *const shipped[] = { "en", "de", "fr", "es", "pt-BR", "ja", "ar" };
    int l, id;
    size_t i;

    assert_int_equal(ML_LANG_COUNT, COUNT(shipped));
    for (i = 0; i < COUNT(shipped); i++)
        lang_index(shipped[i]);
    assert_string_equal(ml_lang_info[ML_LANG_EN].code, "en");
    for (l = 0; l < ML_LANG_COUNT; l++) {
        assert_true(!strcmp(ml_lang_info[l].dir, "ltr") || !strcmp(ml_lang_info[l].dir, "rtl"));
        assert_string_equal(ml_lang_codes[l], ml_lang_info[l].code);
        for (id = 0; id < ML_MSG_COUNT; id++) {
            const char *t = ml_msg_text(l, (ml_msg_id_t)id), *en = ml_msg_text(ML_LANG_EN, (ml_msg_id_t)id);

            assert_non_null(t);
            assert_true(*t);
            assert_null(strchr(t, '{'));
            assert_null(strchr(t, '<'));
            if (l != ML_LANG_EN && !strcmp(t, en))
                fail_msg("%s: message %d is the English \"%s\"", ml_lang_info[l].code, id, en);
        }
    }
    assert_string_equal(ml_lang_info[lang_index("de")].name, "Deutsch");
    assert_string_equal(ml_lang_info[lang_index("ar")].dir, "rtl");
    assert_string_equal(ml_msg_text(-1, ML_MSG_LOGIN_TITLE), "Sign in");
    assert_string_equal(ml_msg_text(ML_LANG_COUNT, ML_MSG_LOGIN_TITLE), "Sign in");
    assert_string_equal(ml_msg_text(lang_index("de"), ML_MSG_LOGIN_TITLE), "Anmelden");
}

static const char *mail_for(const char *code, const char *minutes, ml_buf_t *b)
{
    ml_tpl_email_text_args_t a = { .site_name = SITE, .link = LINK, .code = "123456",
        .ttl_minutes = minutes };
    ml_sink_buf_t s;

    ml_buf_reset(b);
    assert_int_equal(ml_tpl_email_text(ml_sink_buf_init(&s, b), &a, lang_index(code)),
                     APR_SUCCESS);
    return b->data;
}

/* Each language's Plural-Forms picks the form: one, two, few, many... */
static void test_plural_forms(void **state)
{
    static const struct { const char *lang, *n, *want; } cases[] = {
        { "en", "1", "expire in 1 minute." },        { "en", "0", "expire in 0 minutes." },
        { "en", "15", "expire in 15 minutes." },
        { "de", "1", "in 1 Minute ab." },            { "de", "2", "in 2 Minuten ab." },
        { "fr", "0", "dans 0 minute." },             { "fr", "1", "dans 1 minute." },
        { "fr", "2", "dans 2 minutes." },
        { "es", "1", "en 1 minuto." },               { "es", "30", "en 30 minutos." },
        { "pt-BR", "1", "em 1 minuto." },            { "pt-BR", "0", "em 0 minuto." },
        { "pt-BR", "5", "em 5 minutos." },
        { "ja", "1", "1\xE5\x88\x86" },             { "ja", "15", "15\xE5\x88\x86" },
        /* Arabic: zero, one, two, few (3-10), many (11-99), other (100-102) */
        { "ar", "0", "\xD8\xA3\xD9\x82\xD9\x84 \xD9\x85\xD9\x86 \xD8\xAF\xD9\x82\xD9\x8A\xD9\x82\xD8\xA9" },
        { "ar", "1", "\xD8\xAF\xD9\x82\xD9\x8A\xD9\x82\xD8\xA9 \xD9\x88\xD8\xA7\xD8\xAD\xD8\xAF\xD8\xA9" },
        { "ar", "2", "\xD8\xAF\xD9\x82\xD9\x8A\xD9\x82\xD8\xAA\xD9\x8A\xD9\x86" },
        { "ar", "3", "3 \xD8\xAF\xD9\x82\xD8\xA7\xD8\xA6\xD9\x82" },
        { "ar", "110", "110 \xD8\xAF\xD9\x82\xD8\xA7\xD8\xA6\xD9\x82" },
        { "ar", "11", "11 \xD8\xAF\xD9\x82\xD9\x8A\xD9\x82\xD8\xA9" },
        { "ar", "100", "100 \xD8\xAF\xD9\x82\xD9\x8A\xD9\x82\xD8\xA9" },
        /* not a number: the last form, the value as it is */
        { "en", "15x", "expire in 15x minutes." },   { "ar", "x", "x \xD8\xAF\xD9\x82\xD9\x8A\xD9\x82\xD8\xA9" },
        { "en", "99999999999999999999", "99999999999999999999 minutes." },
    };
    ml_buf_t b;
    size_t i;

    ml_buf_init(&b);
    for (i = 0; i < COUNT(cases); i++) {
        const char *got = mail_for(cases[i].lang, cases[i].n, &b);
        if (!strstr(got, cases[i].want))
            fail_msg("%s, %s minutes: no \"%s\" in:\n%s", cases[i].lang, cases[i].n,
                     cases[i].want, got);
    }
    ml_buf_free(&b);
}

/* The runtime half of plural forms on its own. */
static unsigned long rule_ar(unsigned long n)
{
    return n == 0 ? 0 : n == 1 ? 1 : n == 2 ? 2 : n % 100 >= 3 && n % 100 <= 10 ? 3
         : n % 100 >= 11 ? 4 : 5;
}

static unsigned long rule_bad(unsigned long n)
{
    return n + 100;
}

static void test_plural_runtime(void **state)
{
    assert_int_equal(ml_tpl_plural("0", rule_ar, 6), 0);
    assert_int_equal(ml_tpl_plural("2", rule_ar, 6), 2);
    assert_int_equal(ml_tpl_plural("1003", rule_ar, 6), 3);
    assert_int_equal(ml_tpl_plural("111", rule_ar, 6), 4);
    assert_int_equal(ml_tpl_plural("101", rule_ar, 6), 5);
    assert_int_equal(ml_tpl_plural("", rule_ar, 6), 5);
    assert_int_equal(ml_tpl_plural(NULL, rule_ar, 6), 5);
    assert_int_equal(ml_tpl_plural("-1", rule_ar, 6), 5);
    assert_int_equal(ml_tpl_plural(" 1", rule_ar, 6), 5);
    assert_int_equal(ml_tpl_plural("1 ", rule_ar, 6), 5);
    assert_int_equal(ml_tpl_plural("1", rule_bad, 2), 1);    /* out of range: the last */
}

/* Right-to-left where the language is; the CSS mirrors by itself: logical
 * properties only, nothing pinned to the left or the right. */
static void test_direction(void **state)
{
    static const char *const physical[] = {
        "margin-left", "margin-right", "padding-left", "padding-right", "border-left",
        "border-right", "text-align:left", "text-align:right", "float:", "left:", "right:",
    };
    ml_buf_t b;
    size_t i;
    int l;

    ml_buf_init(&b);
    for (l = 0; l < ML_LANG_COUNT; l++) {
        int rtl = !strcmp(ml_lang_info[l].dir, "rtl");
        char want[64];

        glang = l;
        snprintf(want, sizeof(want), "<html lang=\"%s\" dir=\"%s\">", ml_lang_info[l].code,
                 ml_lang_info[l].dir);
        for (i = 0; i < COUNT(goldens); i++) {
            render_buf(goldens[i].fn, &b);
            if (strstr(goldens[i].file, ".txt") || !strcmp(goldens[i].file, "language.html"))
                continue;
            assert_non_null(strstr(b.data, want));
            if (!strncmp(goldens[i].file, "email_html", 10))
                assert_non_null(strstr(b.data, rtl ? "<td dir=\"rtl\"" : "<td dir=\"ltr\""));
        }
        render_buf(g_login, &b);
        for (i = 0; i < COUNT(physical); i++) {
            if (strstr(b.data, physical[i]))
                fail_msg("%s: the page's CSS has \"%s\"", ml_lang_info[l].code, physical[i]);
        }
        /* addresses and codes are typed left to right whatever the page */
        assert_non_null(strstr(b.data, "type=\"email\" autocomplete=\"email\" dir=\"ltr\""));
    }
    glang = ML_LANG_EN;
    ml_buf_free(&b);
}

/* A page without messages is one function for every language. */
static void test_language_fragment(void **state)
{
    ml_buf_t a, b;
    int l;

    ml_buf_init(&a);
    ml_buf_init(&b);
    glang = ML_LANG_EN;
    render_buf(g_language, &a);
    for (l = 0; l < ML_LANG_COUNT; l++) {
        glang = l;
        render_buf(g_language, &b);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len);
    }
    glang = ML_LANG_EN;
    assert_non_null(strstr(a.data, "href=\"/magic/login?lang=pt-BR&amp;return=%2Fapp%2F%3Fa%3D1%26b%3D2\""));
    assert_non_null(strstr(a.data, "aria-current=\"true\""));
    ml_buf_free(&a);
    ml_buf_free(&b);
}

static void test_content_types(void **state)
{
    assert_string_equal(ML_TPL_LOGIN_CONTENT_TYPE, "text/html; charset=utf-8");
    assert_string_equal(ML_TPL_EMAIL_TEXT_CONTENT_TYPE, "text/plain; charset=utf-8");
    assert_string_equal(ML_TPL_EMAIL_HTML_CONTENT_TYPE, "text/html; charset=utf-8");
}

static int setup(void **state)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    balloc = apr_bucket_alloc_create(pool);
    return 0;
}

static int teardown(void **state)
{
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_golden),
        cmocka_unit_test(test_brigade_matches_buffer),
        cmocka_unit_test(test_brigade_buckets),
        cmocka_unit_test(test_brigade_long_values),
        cmocka_unit_test(test_brigade_interleaved),
        cmocka_unit_test(test_escape_html),
        cmocka_unit_test(test_escape_utf8),
        cmocka_unit_test(test_escape_text),
        cmocka_unit_test(test_url_schemes),
        cmocka_unit_test(test_url_part),
        cmocka_unit_test(test_escape_runs),
        cmocka_unit_test(test_sink_error_stops),
        cmocka_unit_test(test_hostile_structure),
        cmocka_unit_test(test_hostile_urls_blocked),
        cmocka_unit_test(test_hostile_contexts),
        cmocka_unit_test(test_absent_values),
        cmocka_unit_test(test_long_values),
        cmocka_unit_test(test_no_malloc_per_render),
        cmocka_unit_test(test_page_promises),
        cmocka_unit_test(test_content_types),
        cmocka_unit_test(test_catalog_complete),
        cmocka_unit_test(test_plural_forms),
        cmocka_unit_test(test_plural_runtime),
        cmocka_unit_test(test_direction),
        cmocka_unit_test(test_language_fragment),
    };
    return cmocka_run_group_tests_name("templates", tests, setup, teardown);
}
