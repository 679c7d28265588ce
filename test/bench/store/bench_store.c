/* The state store's write on its own (issue 13): what one POST generate's
 * ml_store_issue costs in CPU, page faults and context switches, with no
 * httpd around it, alone and under the concurrency of httpd's children.
 *
 *   bench_store DIR [REQUESTS]
 *
 * Each case runs P processes of T threads (as an MPM's children), each
 * thread doing REQUESTS "requests": W microseconds of CPU work (a stand-in
 * for the rest of a request: parse, seal, render, send), then, unless the
 * case is the baseline, one issue as a generate makes it (three rate-limit
 * counters shared by every thread, as one client's repeated sign-ins, and
 * a new link record of a link's size). The store's cost per request is
 * the case's CPU per request less its baseline's. A fresh LMDB store in
 * DIR/<case> for each case, removed after. Prints a table; not a test. */
#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ml_hmac.h"
#include "ml_store.h"

#define NOW       1700000000
#define REC_LEN   260          /* a link record's size */
#define MAX_THR   64

typedef struct bench_case {
    const char *name;
    int procs, threads, work_us;
} bench_case_t;

static const bench_case_t cases[] = {
    { "1 process x 1 thread, store only", 1, 1, 0 },
    { "1 process x 25 threads, store only", 1, 25, 0 },
    { "1 process x 48 threads, 60 us work", 1, 48, 60 },
    { "4 processes x 12 threads, 60 us work", 4, 12, 60 },
    { "48 processes x 1 thread, 60 us work", 48, 1, 60 },
};

typedef struct bench_run {
    ml_store_t *st;
    ml_hmac_key_t secret;
    int requests, work_us, with_store;
} bench_run_t;

/* Burns us microseconds of this thread's CPU time. */
static void burn(int us)
{
    struct timespec a, b;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &a);
    do
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &b);
    while ((b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000 < us);
}

static void *requests(void *arg)
{
    bench_run_t *run = arg;
    ml_store_limit_t lims[3];
    char rec[REC_LEN], v[64];
    const char *kinds[3] = { "i", "e", "E" }, *values[3] = { "192.0.2", "a@b|192.0.2", "a@b" };
    int i;

    memset(rec, 'r', sizeof(rec));
    for (i = 0; i < 3; i++) {
        ml_store_key(&run->secret, kinds[i], values[i], strlen(values[i]), &lims[i].key);
        lims[i].limit = 1000000000;
        lims[i].window = 3600;
    }
    for (i = 0; i < run->requests; i++) {
        ml_store_key_t id;
        int n = snprintf(v, sizeof(v), "%ld-%p-%d", (long)getpid(), (void *)&id, i);

        if (run->work_us)
            burn(run->work_us);
        if (!run->with_store)
            continue;
        ml_store_key(&run->secret, "l", v, (apr_size_t)n, &id);
        if (ml_store_issue(run->st, lims, 3, &id, rec, sizeof(rec), NOW, NOW + 900, NULL)
            != ML_STORE_OK) {
            fprintf(stderr, "bench_store: an issue failed\n");
            exit(2);
        }
    }
    return NULL;
}

/* One child: opens the store as an httpd child does, runs its threads. */
static int child(const char *dir, const bench_case_t *c, bench_run_t *run, apr_pool_t *p)
{
    const char *opts[1] = { "size=4G" };
    pthread_t th[MAX_THR];
    char err[256];
    int t;

    if (ml_store_parse(&run->st, apr_pstrcat(p, "lmdb:", dir, NULL), opts, 1, p, err,
                       sizeof(err)) != APR_SUCCESS
        || ml_store_open(run->st, err, sizeof(err)) != APR_SUCCESS) {
        fprintf(stderr, "bench_store: %s\n", err);
        return 2;
    }
    for (t = 0; t < c->threads; t++)
        pthread_create(&th[t], NULL, requests, run);
    for (t = 0; t < c->threads; t++)
        pthread_join(th[t], NULL);
    ml_store_close(run->st);
    return 0;
}

static double secs(struct timeval tv)
{
    return (double)tv.tv_sec + (double)tv.tv_usec / 1e6;
}

/* Runs a case (with or without the store) and prints its row: CPU per
 * request; returned for the difference. */
static double run_case(const char *base, const bench_case_t *c, int n, int with_store,
                       apr_pool_t *p)
{
    const char *dir = apr_psprintf(p, "%s/%s-%d", base, with_store ? "store" : "none", getpid());
    bench_run_t run = { .requests = n, .work_us = c->work_us, .with_store = with_store };
    unsigned char key[32];
    struct timeval t0, t1;
    struct rusage before, after;
    double total = (double)c->procs * c->threads * n, cpu;
    int i, failed = 0;

    memset(key, 7, sizeof(key));
    ml_hmac_key_init(&run.secret, key, sizeof(key));
    getrusage(RUSAGE_CHILDREN, &before);
    gettimeofday(&t0, NULL);
    for (i = 0; i < c->procs; i++)
        if (fork() == 0)
            _exit(child(dir, c, &run, p));
    for (i = 0; i < c->procs; i++) {
        int status;
        wait(&status);
        failed |= !WIFEXITED(status) || WEXITSTATUS(status) != 0;
    }
    gettimeofday(&t1, NULL);
    getrusage(RUSAGE_CHILDREN, &after);
    if (failed) {
        fprintf(stderr, "bench_store: a child failed (%s)\n", c->name);
        exit(2);
    }
    cpu = secs(after.ru_utime) - secs(before.ru_utime) + secs(after.ru_stime)
          - secs(before.ru_stime);
    printf("| %s | %s | %.0f | %.1f | %.1f | %.3f | %.2f |\n", c->name,
           with_store ? "issue" : "baseline", total / (secs(t1) - secs(t0)), cpu * 1e6 / total,
           (secs(after.ru_stime) - secs(before.ru_stime)) * 1e6 / total,
           (double)(after.ru_minflt - before.ru_minflt) / total,
           (double)(after.ru_nvcsw - before.ru_nvcsw + after.ru_nivcsw - before.ru_nivcsw)
               / total);
    fflush(stdout);
    if (system(apr_psprintf(p, "rm -rf '%s'", dir)) != 0)
        fprintf(stderr, "bench_store: cannot remove %s\n", dir);
    return cpu * 1e6 / total;
}

int main(int argc, char **argv)
{
    apr_pool_t *p;
    int n = argc > 2 ? atoi(argv[2]) : 2000;
    double cost[sizeof(cases) / sizeof(cases[0])];
    apr_size_t i;

    if (argc < 2 || n <= 0) {
        fprintf(stderr, "usage: bench_store DIR [REQUESTS per thread]\n");
        return 2;
    }
    apr_initialize();
    apr_pool_create(&p, NULL);
    printf("| case | run | req/s | CPU µs/req | of it system | page faults/req "
           "| context switches/req |\n|---|---|---|---|---|---|---|\n");
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double none = run_case(argv[1], &cases[i], n, 0, p);
        cost[i] = run_case(argv[1], &cases[i], n, 1, p) - none;
    }
    printf("\nThe store's write per request (CPU beside the baseline's):\n\n");
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        printf("- %s: %.1f µs\n", cases[i].name, cost[i]);
    return 0;
}
