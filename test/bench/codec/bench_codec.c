/* bench_codec: what a seal and an open of a seed-sized claim set (email,
 * csrf) cost, beside gorilla/securecookie doing the same work in Go.
 * Figures, not a test: `make bench-codec` (and `make bench-codec-callgrind`).
 *
 *   bench_codec KEYFILE [GO_RESULTS]      the table
 *   bench_codec --trace CASE N KEYFILE    backtraces of the next N heap calls
 *                                         of one warm CASE op (needs the shim)
 *   bench_codec --callgrind N KEYFILE     N warm ops per case, each case
 *                                         dumped under its own name
 *
 * Heap calls are counted by test/bench/malloc_count.so when it is preloaded
 * (found with dlsym, so the binary also runs without it). GO_RESULTS is the
 * output of gobench.go: "NAME NS_PER_OP BYTES_PER_OP ALLOCS_PER_OP" lines. */
#include "ml_codec.h"
#include "ml_ctr.h"
#include "ml_random.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <dlfcn.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <valgrind/callgrind.h>

#define ML_BENCH_NAME    "magic"
#define ML_BENCH_ROUNDS  5
#define ML_BENCH_ROUND_NS 200000000.0   /* per round and case */
#define ML_BENCH_COUNT_OPS 20000        /* ops the heap counters average over */

/* Keep in step with test/bench/malloc_count.c. */
typedef struct ml_malloc_counts {
    unsigned long long calls, bytes, frees;
    long long live;
} ml_malloc_counts_t;

static void (*ml_mc_get)(ml_malloc_counts_t *);
static void (*ml_mc_trace)(long);

typedef struct ml_bench {
    ml_scratch_t *s;
    ml_keyring_t *kr;
    apr_pool_t *req;           /* cleared after every op, as r->pool */
    ml_claims_t claims;
    ml_buf_t value, plain, json;
    ml_open_opts_t open_opts;
} ml_bench_t;

static const char ml_email[] = "alice@example.com";
static const char ml_csrf[] = "pQ8uK3mZ0vY7rT2xW9aB4cD6eF1gH5jL8nS0qU3wX7y";

static void ml_die(const char *what, const char *why)
{
    fprintf(stderr, "bench_codec: %s: %s\n", what, why);
    exit(1);
}

/* The claims are built per op, as a handler builds them per request. */
static void ml_fill_claims(ml_bench_t *b)
{
    ml_claims_clear(&b->claims);
    ml_claims_set(&b->claims, "email", ml_email);
    ml_claims_set(&b->claims, "csrf", ml_csrf);
}

static int op_seal(ml_bench_t *b)
{
    ml_seal_opts_t o = { .now = apr_time_sec(apr_time_now()) };
    const char *out;
    apr_size_t len;

    ml_fill_claims(b);
    return ml_seal(b->s, b->kr, ML_BENCH_NAME, &b->claims, &o, &out, &len) == ML_CODEC_OK;
}

static int op_open(ml_bench_t *b)
{
    ml_claims_t c;
    int ok;

    b->open_opts.now = apr_time_sec(apr_time_now());
    ok = ml_open(b->s, b->kr, ML_BENCH_NAME, b->value.data, b->value.len, &b->open_opts, b->req,
                 &c, NULL, NULL) == ML_CODEC_OK && c.n == 2;
    apr_pool_clear(b->req);
    return ok;
}

static int op_seal_open(ml_bench_t *b)
{
    ml_seal_opts_t so = { .now = apr_time_sec(apr_time_now()) };
    const char *out;
    apr_size_t len;
    ml_claims_t c;
    int ok;

    ml_fill_claims(b);
    if (ml_seal(b->s, b->kr, ML_BENCH_NAME, &b->claims, &so, &out, &len) != ML_CODEC_OK)
        return 0;
    /* out is in the scratch's result buffer, which opening does not touch. */
    b->open_opts.now = apr_time_sec(apr_time_now());
    ok = ml_open(b->s, b->kr, ML_BENCH_NAME, out, len, &b->open_opts, b->req, &c, NULL, NULL)
             == ML_CODEC_OK && c.n == 2;
    apr_pool_clear(b->req);
    return ok;
}

static int op_open_raw(ml_bench_t *b)
{
    const char *plain;
    apr_size_t len;

    b->open_opts.now = apr_time_sec(apr_time_now());
    return ml_open_raw(b->s, b->kr, ML_BENCH_NAME, b->value.data, b->value.len, &b->open_opts,
                       &plain, &len, NULL, NULL) == ML_CODEC_OK;
}

static int op_json_parse(ml_bench_t *b)
{
    ml_claims_t c;
    const char *why;
    int ok = ml_claims_from_json(&c, b->plain.data, b->plain.len, b->req, &why) == APR_SUCCESS;

    apr_pool_clear(b->req);
    return ok;
}

static int op_json_write(ml_bench_t *b)
{
    ml_fill_claims(b);
    ml_buf_reset(&b->json);
    return ml_claims_to_json(&b->claims, &b->json) == APR_SUCCESS;
}

/* The pieces of a seal, each as the codec does it, to show where time and
 * heap calls go. */
static int op_iv(ml_bench_t *b)
{
    unsigned char iv[ML_CODEC_IV_LEN];

    return ml_random_bytes(iv, sizeof(iv));
}

static int op_hmac(ml_bench_t *b)
{
    unsigned char mac[ML_CODEC_MAC_LEN];
    /* name "|" ts "|" inner, as long as the seed value's */
    apr_size_t n = b->value.len * 3 / 4 - ML_CODEC_MAC_LEN - 1;
    ml_hmac_t h;

    ml_hmac_begin(&h, &b->kr->keys[0].mac);
    ml_hmac_update(&h, ML_BENCH_NAME, strlen(ML_BENCH_NAME));
    ml_hmac_update(&h, "|", 1);
    ml_hmac_update(&h, b->value.data, n);
    ml_hmac_final(&h, mac);
    return 1;
}

static int op_ctr(ml_bench_t *b)
{
    static const unsigned char iv[ML_CODEC_IV_LEN];
    unsigned char data[256];

    memcpy(data, b->plain.data, b->plain.len);
    return ml_ctr_xor(b->s, &b->kr->keys[0], iv, data, b->plain.len);
}

typedef struct ml_case {
    const char *name;      /* also the Go result it is compared with */
    const char *label;
    int (*op)(ml_bench_t *);
} ml_case_t;

static const ml_case_t ml_cases[] = {
    { "seal", "seal", op_seal },
    { "open", "open", op_open },
    { "seal+open", "seal+open", op_seal_open },
    { "open_raw", "  open up to JSON (ml_open_raw)", op_open_raw },
    { "json_parse", "  JSON parse (claims_from_json)", op_json_parse },
    { "json_write", "  JSON write (claims_to_json)", op_json_write },
    { "iv", "  IV: ml_random_bytes(16)", op_iv },
    { "hmac", "  MAC: HMAC-SHA256, precomputed", op_hmac },
    { "ctr", "  AES-CTR of the payload", op_ctr },
};
#define ML_NCASES (sizeof(ml_cases) / sizeof(ml_cases[0]))

static double ml_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void ml_run(ml_bench_t *b, const ml_case_t *c, long n)
{
    long i;

    for (i = 0; i < n; i++)
        if (!c->op(b))
            ml_die(c->name, "operation failed");
}

static int ml_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

typedef struct ml_result {
    double ns, calls, bytes, frees;
    long long live_delta;
    int have_heap;
} ml_result_t;

static ml_result_t ml_measure(ml_bench_t *b, const ml_case_t *c)
{
    double rounds[ML_BENCH_ROUNDS], t0, t;
    ml_malloc_counts_t before, after;
    ml_result_t r = { 0 };
    long n = 256;
    int i;

    /* Warm: buffers grown, contexts made, the pool's blocks allocated. */
    ml_run(b, c, 2000);
    for (;;) {
        t0 = ml_now_ns();
        ml_run(b, c, n);
        t = ml_now_ns() - t0;
        if (t > ML_BENCH_ROUND_NS / 8)
            break;
        n *= 2;
    }
    n = (long)((double)n * ML_BENCH_ROUND_NS / t) + 1;
    for (i = 0; i < ML_BENCH_ROUNDS; i++) {
        t0 = ml_now_ns();
        ml_run(b, c, n);
        rounds[i] = (ml_now_ns() - t0) / (double)n;
    }
    qsort(rounds, ML_BENCH_ROUNDS, sizeof(double), ml_cmp_double);
    r.ns = rounds[ML_BENCH_ROUNDS / 2];

    if (ml_mc_get) {
        ml_mc_get(&before);
        ml_run(b, c, ML_BENCH_COUNT_OPS);
        ml_mc_get(&after);
        r.have_heap = 1;
        r.calls = (double)(after.calls - before.calls) / ML_BENCH_COUNT_OPS;
        r.bytes = (double)(after.bytes - before.bytes) / ML_BENCH_COUNT_OPS;
        r.frees = (double)(after.frees - before.frees) / ML_BENCH_COUNT_OPS;
        r.live_delta = after.live - before.live;
    }
    return r;
}

typedef struct ml_go_result {
    char name[32];
    double ns, bytes, allocs;
} ml_go_result_t;

static int ml_read_go(const char *path, ml_go_result_t *out, int max, char *version, size_t vlen)
{
    char line[256];
    int n = 0;
    FILE *f = fopen(path, "r");

    if (!f)
        return -1;
    while (n < max && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "# ", 2) == 0) {
            line[strcspn(line, "\n")] = '\0';
            apr_cpystrn(version, line + 2, vlen);
            continue;
        }
        if (sscanf(line, "%31s %lf %lf %lf", out[n].name, &out[n].ns, &out[n].bytes,
                   &out[n].allocs) == 4)
            n++;
    }
    fclose(f);
    return n;
}

static const ml_go_result_t *ml_go_find(const ml_go_result_t *go, int n, const char *name)
{
    int i;

    for (i = 0; i < n; i++)
        if (strcmp(go[i].name, name) == 0)
            return &go[i];
    return NULL;
}

static void ml_setup(ml_bench_t *b, apr_pool_t *p, const char *keyfile)
{
    ml_crypto_t *c;
    const char *why, *out, *plain;
    apr_size_t len, plainlen;
    char err[512];
    ml_seal_opts_t so = { .now = apr_time_sec(apr_time_now()) };

    if (ml_crypto_create(&c, p, &why) != APR_SUCCESS)
        ml_die("crypto", why);
    if (ml_keyring_load(&b->kr, c, keyfile, p, err, sizeof(err)) != APR_SUCCESS)
        ml_die("key file", err);
    if (ml_scratch_create(&b->s, p) != APR_SUCCESS || apr_pool_create(&b->req, p) != APR_SUCCESS)
        ml_die("setup", "out of memory");
    ml_buf_init(&b->value);
    ml_buf_init(&b->plain);
    ml_buf_init(&b->json);
    b->open_opts.max_age = 86400 * 30;     /* securecookie's default, as Go runs it */
    ml_fill_claims(b);
    if (ml_seal(b->s, b->kr, ML_BENCH_NAME, &b->claims, &so, &out, &len) != ML_CODEC_OK
        || ml_buf_append(&b->value, out, len) != APR_SUCCESS)
        ml_die("setup", "seal failed");
    b->open_opts.now = so.now;
    if (ml_open_raw(b->s, b->kr, ML_BENCH_NAME, b->value.data, b->value.len, &b->open_opts,
                    &plain, &plainlen, NULL, NULL) != ML_CODEC_OK
        || ml_buf_append(&b->plain, plain, plainlen) != APR_SUCCESS)
        ml_die("setup", "open failed");
}

static const ml_case_t *ml_case_named(const char *name)
{
    size_t i;

    for (i = 0; i < ML_NCASES; i++)
        if (strcmp(ml_cases[i].name, name) == 0)
            return &ml_cases[i];
    ml_die(name, "no such case (seal, open, seal+open, open_raw, json_parse, json_write)");
    return NULL;
}

static int ml_trace_case(ml_bench_t *b, const char *name, long n)
{
    const ml_case_t *c = ml_case_named(name);

    if (!ml_mc_trace)
        ml_die("--trace", "run with LD_PRELOAD=.../malloc_count.so");
    ml_run(b, c, 2000);
    fprintf(stderr, "== heap calls of one warm '%s' op\n", name);
    ml_mc_trace(n);
    ml_run(b, c, 1);
    ml_mc_trace(0);
    return 0;
}

static int ml_callgrind(ml_bench_t *b, long n)
{
    size_t i;

    /* Run under valgrind --tool=callgrind --collect-atstart=no: only the
     * n warm ops of each case are counted, each dumped as its own part. */
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

static void ml_fmt_heap(char *out, size_t n, const ml_result_t *r, double v)
{
    if (r->have_heap)
        snprintf(out, n, "%.2f", v);
    else
        snprintf(out, n, "n/a");
}

static int ml_table(ml_bench_t *b, const char *go_path)
{
    ml_go_result_t go[16];
    ml_result_t res[ML_NCASES];
    char version[128] = "Go", calls[16], bytes[16];
    int ngo = go_path ? ml_read_go(go_path, go, 16, version, sizeof(version)) : 0;
    const ml_result_t *so = &res[2], *open = &res[1], *raw = &res[3], *parse = &res[4];
    const ml_go_result_t *gso;
    size_t i;

    if (go_path && ngo <= 0)
        fprintf(stderr, "bench_codec: no Go results in %s\n", go_path);
    for (i = 0; i < ML_NCASES; i++)
        res[i] = ml_measure(b, &ml_cases[i]);

    printf("\nCodec: seal and open of {email, csrf}; sealed value %zu bytes; one key.\n"
           "C: this build; heap calls counted by malloc_count.so%s.\n"
           "Go: %s, gorilla/securecookie JSONEncoder, testing.Benchmark.\n"
           "Times: median of %d rounds. B/op: bytes requested from the heap per op.\n\n",
           (size_t)b->value.len, ml_mc_get ? "" : " (NOT preloaded: no heap figures)", version,
           ML_BENCH_ROUNDS);
    printf("%-34s %9s %9s %8s | %9s %9s %8s | %8s\n", "case", "C ns/op", "C mallocs", "C B/op",
           "Go ns/op", "Go allocs", "Go B/op", "Go/C");
    for (i = 0; i < ML_NCASES; i++) {
        const ml_go_result_t *g = ml_go_find(go, ngo, ml_cases[i].name);

        ml_fmt_heap(calls, sizeof(calls), &res[i], res[i].calls);
        ml_fmt_heap(bytes, sizeof(bytes), &res[i], res[i].bytes);
        printf("%-34s %9.0f %9s %8s", ml_cases[i].label, res[i].ns, calls, bytes);
        if (g)
            printf(" | %9.0f %9.0f %8.0f | %7.1fx\n", g->ns, g->allocs, g->bytes, g->ns / res[i].ns);
        else
            printf(" | %9s %9s %8s | %8s\n", "-", "-", "-", "-");
    }

    printf("\n");
    if (so->have_heap) {
        for (i = 0; i < ML_NCASES; i++)
            if (res[i].live_delta != 0)
                printf("note: %s left %lld heap bytes live over %d ops\n", ml_cases[i].name,
                       res[i].live_delta, ML_BENCH_COUNT_OPS);
        printf("heap calls in open: %.2f, of which up to the JSON step (ml_open_raw) %.2f; "
               "the JSON step (ml_claims_from_json) %.2f\n",
               open->calls, raw->calls, open->calls - raw->calls);
        printf("JSON parse alone (ml_claims_from_json, no codec): %.2f calls, %.0f B\n",
               parse->calls, parse->bytes);
    }
    if ((gso = ml_go_find(go, ngo, "seal+open"))) {
        double ratio = gso->ns / so->ns;
        printf("target: seal+open at least 5x faster than Go: %.1fx  %s\n", ratio,
               ratio >= 5 ? "MET" : "NOT MET");
    }
    if (so->have_heap)
        printf("target: at most 2 heap calls per seal+open: %.2f  %s%s\n", so->calls,
               so->calls <= 2 ? "MET" : "NOT MET",
               so->calls > 2 && res[0].calls <= 0.01 && raw->calls <= 0.01
                   ? " (all of them in the JSON step: seal and open up to JSON make none)" : "");
    return 0;
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *p;
    ml_bench_t b;
    int rc;

    *(void **)&ml_mc_get = dlsym(RTLD_DEFAULT, "ml_malloc_count_get");
    *(void **)&ml_mc_trace = dlsym(RTLD_DEFAULT, "ml_malloc_count_trace");
    if (argc < 2) {
        fputs("usage: bench_codec KEYFILE [GO_RESULTS] | --trace CASE N KEYFILE"
              " | --callgrind N KEYFILE\n", stderr);
        return 2;
    }
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&p, NULL);
    if (strcmp(argv[1], "--trace") == 0 && argc == 5) {
        ml_setup(&b, p, argv[4]);
        rc = ml_trace_case(&b, argv[2], atol(argv[3]));
    }
    else if (strcmp(argv[1], "--callgrind") == 0 && argc == 4) {
        ml_setup(&b, p, argv[3]);
        rc = ml_callgrind(&b, atol(argv[2]));
    }
    else {
        ml_setup(&b, p, argv[1]);
        rc = ml_table(&b, argc > 2 ? argv[2] : NULL);
    }
    ml_buf_free(&b.value);
    ml_buf_free(&b.plain);
    ml_buf_free(&b.json);
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}
