/* bench-tpl, the C side: ns/op, heap bytes/op and allocations/op of the
 * "sent" page rendered by the compiled template into the recycled buffer
 * sink (and, for comparison, into an APR brigade), in English, and the same
 * page in German and Arabic (the language is one table lookup away; the text
 * is compiled in). Figures, not a test.
 *
 *   bench_tpl OUT.html    writes the page (the Go side checks it renders the
 *                         same bytes) and prints one line per renderer:
 *                         NAME ns=.. bytes=.. allocs=.. size=.. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <apr_general.h>
#include <apr_pools.h>

#include "ml_templates.h"

/* Heap use, counted by wrapping glibc's allocator (not under ASan). */
#if defined(__SANITIZE_ADDRESS__)
#define ML_COUNT_MALLOC 0
#else
#define ML_COUNT_MALLOC 1
#endif

static size_t n_allocs, n_bytes;

#if ML_COUNT_MALLOC
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t m);
extern void *__libc_realloc(void *p, size_t n);
extern void __libc_free(void *p);

void *malloc(size_t n)
{
    n_allocs++;
    n_bytes += n;
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t m)
{
    n_allocs++;
    n_bytes += n * m;
    return __libc_calloc(n, m);
}

void *realloc(void *p, size_t n)
{
    n_allocs++;
    n_bytes += n;
    return __libc_realloc(p, n);
}

void free(void *p)
{
    __libc_free(p);
}
#endif

/* The same values as the golden test and the Go side. */
static const ml_tpl_sent_args_t args = {
    .site_name = "Example & Co", .email = "ada@example.com", .code_action_url = "/magic/code",
    .csrf_token = "tok3n-AbC_123.xyz", .pending = "p3nd1ng.T0ken",
};

static double now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

typedef struct target {
    const char *name;
    void (*render)(void *ctx);
    void *ctx;
} target_t;

static int lang = ML_LANG_EN;

static void render_buf(void *ctx)
{
    ml_buf_t *b = ctx;
    ml_sink_buf_t s;

    ml_buf_reset(b);
    if (ml_tpl_sent(ml_sink_buf_init(&s, b), &args, lang) != APR_SUCCESS)
        abort();
}

/* What a handler does per request: render, hand the brigade on, clean it. */
static void render_brigade(void *ctx)
{
    apr_bucket_brigade *bb = ctx;
    ml_sink_brigade_t s;

    if (ml_tpl_sent(ml_sink_brigade_init(&s, bb), &args, lang) != APR_SUCCESS)
        abort();
    apr_brigade_cleanup(bb);
}

/* Median of 5 timed runs of about 0.2 s each, after a warm-up. */
static void run(const target_t *t, size_t size, const char *same)
{
    double ns[5], tmp, start;
    size_t iters = 1000, i, r, j, allocs0, bytes0;

    for (;;) {
        start = now_ns();
        for (i = 0; i < iters; i++)
            t->render(t->ctx);
        if (now_ns() - start > 5e7)
            break;
        iters *= 2;
    }
    iters *= 4;
    allocs0 = n_allocs;
    bytes0 = n_bytes;
    for (r = 0; r < 5; r++) {
        start = now_ns();
        for (i = 0; i < iters; i++)
            t->render(t->ctx);
        ns[r] = (now_ns() - start) / (double)iters;
    }
    for (r = 1; r < 5; r++)
        for (j = r; j > 0 && ns[j - 1] > ns[j]; j--) {
            tmp = ns[j];
            ns[j] = ns[j - 1];
            ns[j - 1] = tmp;
        }
    printf("%s ns=%.1f bytes=%.1f allocs=%.3f size=%zu%s\n", t->name, ns[2],
           ML_COUNT_MALLOC ? (double)(n_bytes - bytes0) / (double)(5 * iters) : -1.0,
           ML_COUNT_MALLOC ? (double)(n_allocs - allocs0) / (double)(5 * iters) : -1.0, size,
           same);
}

static int same_as_buf(apr_bucket_brigade *bb, const ml_buf_t *buf)
{
    char flat[8192];
    apr_size_t n = sizeof(flat);
    ml_sink_brigade_t s;

    if (ml_tpl_sent(ml_sink_brigade_init(&s, bb), &args, lang) != APR_SUCCESS
        || apr_brigade_flatten(bb, flat, &n) != APR_SUCCESS)
        abort();
    apr_brigade_cleanup(bb);
    return n == buf->len && !memcmp(flat, buf->data, n);
}

int main(int argc, char **argv)
{
    apr_pool_t *pool;
    apr_bucket_alloc_t *ba;
    apr_bucket_brigade *bb;
    ml_buf_t buf;
    FILE *f;
    target_t t;

    if (argc != 2) {
        fprintf(stderr, "usage: bench_tpl OUT.html\n");
        return 2;
    }
    apr_initialize();
    apr_pool_create(&pool, NULL);
    ba = apr_bucket_alloc_create(pool);
    ml_buf_init(&buf);
    render_buf(&buf);
    if (!(f = fopen(argv[1], "wb")) || fwrite(buf.data, 1, buf.len, f) != buf.len || fclose(f)) {
        perror(argv[1]);
        return 1;
    }

    t.name = "c-buf";
    t.render = render_buf;
    t.ctx = &buf;
    run(&t, buf.len, "");
    t.name = "c-brigade";
    t.render = render_brigade;
    t.ctx = bb = apr_brigade_create(pool, ba);
    run(&t, buf.len, same_as_buf(bb, &buf) ? " same=true" : " same=false");
    /* The other languages, after the reference page was written. */
    for (lang = 0; lang < ML_LANG_COUNT; lang++) {
        static char name[32];
        ml_buf_t other;

        if (strcmp(ml_lang_info[lang].code, "de") && strcmp(ml_lang_info[lang].code, "ar"))
            continue;
        ml_buf_init(&other);
        render_buf(&other);
        snprintf(name, sizeof(name), "c-buf-%s", ml_lang_info[lang].code);
        t.name = name;
        t.render = render_buf;
        t.ctx = &other;
        run(&t, other.len, "");
        ml_buf_free(&other);
    }

    ml_buf_free(&buf);
    apr_pool_destroy(pool);
    apr_terminate();
    return 0;
}
