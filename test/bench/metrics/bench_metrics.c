/* What counting costs a request: nanoseconds per call of each thing a gated
 * request now does (src/ml_metrics.h), one thread, then two threads moving
 * the same counter (the cache line bouncing between cores), and a clock
 * read for comparison (why store operations are timed by sample).
 * Figures, not a test: `make bench-metrics`. */
#include <apr_general.h>
#include <pthread.h>
#include <stdio.h>
#include <time.h>

#include "ml_metrics.h"

#define ML_CALLS 20000000

static double ml_now(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *ml_inc_loop(void *arg)
{
    for (int i = 0; i < ML_CALLS; i++)
        ml_metric_inc(ML_MET_GATE_ADMITTED);
    return arg;
}

static void ml_report(const char *what, double started)
{
    printf("  %-52s %6.1f ns\n", what, (ml_now() - started) / ML_CALLS * 1e9);
}

int main(void)
{
    volatile uint64_t sink = 0;
    struct timespec ts;
    pthread_t t[2];
    double started;

    apr_initialize();
    printf("per call, %d calls each:\n", ML_CALLS);
    started = ml_now();
    ml_inc_loop(NULL);
    ml_report("ml_metric_inc (relaxed atomic add)", started);
    started = ml_now();
    for (int i = 0; i < ML_CALLS; i++)
        ml_metric_set_store_up(1);
    ml_report("ml_metric_set_store_up, value unchanged", started);
    started = ml_now();
    for (int i = 0; i < ML_CALLS; i++)
        ml_metric_store_done(ml_metric_store_start(), 1);
    ml_report("ml_metric_store_start + _done (1 in 16 timed)", started);
    started = ml_now();
    for (int i = 0; i < ML_CALLS; i++)
        ml_metric_observe_store(0.00002, 1);
    ml_report("ml_metric_observe_store (one histogram observation)", started);
    started = ml_now();
    for (int i = 0; i < ML_CALLS; i++) {
        clock_gettime(CLOCK_MONOTONIC, &ts);
        sink += (uint64_t)ts.tv_nsec;
    }
    ml_report("clock_gettime(CLOCK_MONOTONIC), for comparison", started);
    started = ml_now();
    for (int i = 0; i < 2; i++)
        pthread_create(&t[i], NULL, ml_inc_loop, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    ml_report("ml_metric_inc, two threads on one counter (each)", started);
    apr_terminate();
    return sink == 1;
}
