/* Metrics (ml_metrics.h): exact counts across threads and across processes
 * sharing the struct, histogram buckets, gauges that appear once set, the
 * health verdict, and the text format's lines and escapes. (The real
 * Prometheus parser reads the module's output in test_metrics.py.) */
#include <pthread.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ml_test.h"

#include "ml_mailer.h"
#include "ml_metrics.h"

#define ML_THREADS 8
#define ML_PER_THREAD 100000
#define ML_CHILDREN 4
#define ML_PER_CHILD 50000

static ml_metrics_t *ml_fresh(void)
{
    static ml_metrics_t m;

    ml_metrics_init(&m, 1700000000);
    ml_metrics_use(&m);
    return &m;
}

/* The exposition of m, NUL-terminated in a buffer the caller frees. */
static char *ml_text(const ml_metrics_t *m, const char *version)
{
    ml_buf_t b;

    ml_buf_init(&b);
    assert_int_equal(ml_metrics_write(m, version, &b), APR_SUCCESS);
    return b.data;
}

static void ml_has_line(const char *text, const char *line)
{
    char *want = malloc(strlen(line) + 3);

    sprintf(want, "\n%s\n", line);
    if (!strstr(text, want))
        fail_msg("no line \"%s\" in:\n%s", line, text);
    free(want);
}

static void *ml_count_thread(void *arg)
{
    for (int i = 0; i < ML_PER_THREAD; i++)
        ml_metric_inc(ML_MET_GATE_ADMITTED);
    return arg;
}

static void test_threads_count_exactly(void **st)
{
    ml_metrics_t *m = ml_fresh();
    pthread_t t[ML_THREADS];

    for (int i = 0; i < ML_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, ml_count_thread, NULL), 0);
    for (int i = 0; i < ML_THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(ml_metric_get(m, ML_MET_GATE_ADMITTED), ML_THREADS * ML_PER_THREAD);
}

/* What the glue does: one struct in shared anonymous memory, made before
 * the children fork; every child's counts are seen by the parent. */
static void test_forked_children_count_into_one_struct(void **st)
{
    ml_metrics_t *m =
        mmap(NULL, sizeof(*m), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    pid_t pids[ML_CHILDREN];
    int status;

    assert_true(m != MAP_FAILED);
    ml_metrics_init(m, 1);
    ml_metrics_use(m);
    for (int c = 0; c < ML_CHILDREN; c++) {
        pids[c] = fork();
        assert_true(pids[c] >= 0);
        if (pids[c] == 0) {
            for (int i = 0; i < ML_PER_CHILD; i++) {
                ml_metric_inc(ML_MET_LINK_MAILED);
                ml_metric_observe_store(0.0002, 1);
            }
            ml_metric_delivery("smtp", 0, 0.3);
            _exit(0);
        }
    }
    for (int c = 0; c < ML_CHILDREN; c++) {
        assert_int_equal(waitpid(pids[c], &status, 0), pids[c]);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    assert_int_equal(ml_metric_get(m, ML_MET_LINK_MAILED), ML_CHILDREN * ML_PER_CHILD);
    assert_int_equal(ml_metric_get(m, ML_MET_DELIVERY_FIRST + 2 * ML_MET_SMTP + 1), ML_CHILDREN);
    assert_int_equal(m->store[0].bucket[3], ML_CHILDREN * ML_PER_CHILD); /* le 0.00025 */
    assert_string_equal(ml_metrics_health(m, 1), "last mail delivery failed (smtp)");
    ml_metrics_use(NULL);
    munmap(m, sizeof(*m));
}

static void test_every_series_is_written_from_the_start(void **st)
{
    ml_metrics_t *m = ml_fresh();
    char *text = ml_text(m, "1.2.3");

    ml_has_line(text, "# TYPE magiclink_gated_requests_total counter");
    ml_has_line(text, "magiclink_gated_requests_total{outcome=\"admitted\"} 0");
    ml_has_line(text, "magiclink_link_requests_total{outcome=\"csrf\"} 0");
    ml_has_line(text, "magiclink_confirmations_total{outcome=\"other_browser\"} 0");
    ml_has_line(text, "magiclink_code_attempts_total{outcome=\"locked\"} 0");
    ml_has_line(text, "magiclink_sign_ins_total{method=\"approval\"} 0");
    ml_has_line(text, "magiclink_sign_outs_total{scope=\"revoked\"} 0");
    ml_has_line(text, "magiclink_mail_deliveries_total{transport=\"pipe\",result=\"failed\"} 0");
    ml_has_line(text, "# TYPE magiclink_mail_delivery_seconds histogram");
    ml_has_line(text, "magiclink_mail_delivery_seconds_bucket{transport=\"smtp\",le=\"+Inf\"} 0");
    ml_has_line(text, "magiclink_store_operation_seconds_count{result=\"failed\"} 0");
    ml_has_line(text, "magiclink_counters_start_time_seconds 1700000000");
    ml_has_line(text, "magiclink_build_info{version=\"1.2.3\"} 1");
    /* Gauges nobody set yet are left out; HELP and TYPE once per family. */
    assert_null(strstr(text, "magiclink_store_up"));
    assert_null(strstr(text, "magiclink_outbox"));
    assert_null(strstr(strstr(text, "# HELP magiclink_link_requests_total") + 1,
                       "# HELP magiclink_link_requests_total"));
    assert_int_equal(text[strlen(text) - 1], '\n');
    free(text);
}

static void test_counts_and_gauges_reach_the_text(void **st)
{
    ml_metrics_t *m = ml_fresh();
    char *text;

    for (int i = 0; i < 3; i++)
        ml_metric_inc(ML_MET_CODE_WRONG);
    ml_metric_set_store_up(1);
    ml_metric_set_store_up(0);
    ml_metric_gauge_set(ML_GAUGE_OUTBOX_DEPTH, 17);
    ml_metric_gauge_set(ML_GAUGE_OUTBOX_OLDEST_AGE, 42);
    ml_metric_delivery("maildir", 1, 0.002);
    text = ml_text(m, "v");
    ml_has_line(text, "magiclink_code_attempts_total{outcome=\"wrong\"} 3");
    ml_has_line(text, "magiclink_store_up 0");
    ml_has_line(text, "magiclink_outbox_depth 17");
    ml_has_line(text, "magiclink_outbox_oldest_age_seconds 42");
    ml_has_line(text, "magiclink_mail_last_delivery_ok 1");
    ml_has_line(text, "magiclink_mail_deliveries_total{transport=\"maildir\",result=\"ok\"} 1");
    ml_has_line(text,
                "magiclink_mail_delivery_seconds_bucket{transport=\"maildir\",le=\"0.001\"} 0");
    ml_has_line(text,
                "magiclink_mail_delivery_seconds_bucket{transport=\"maildir\",le=\"0.005\"} 1");
    ml_has_line(text,
                "magiclink_mail_delivery_seconds_bucket{transport=\"maildir\",le=\"+Inf\"} 1");
    ml_has_line(text, "magiclink_mail_delivery_seconds_sum{transport=\"maildir\"} 0.002000000");
    ml_has_line(text, "magiclink_mail_delivery_seconds_count{transport=\"maildir\"} 1");
    free(text);
}

/* Bounds are inclusive (Prometheus "le"); beyond the last one is +Inf. */
static void test_histogram_bounds(void **st)
{
    ml_metrics_t *m = ml_fresh();

    ml_metric_observe_store(0.00001, 1);     /* exactly the first bound */
    ml_metric_observe_store(0.000010001, 1); /* a nanosecond above it */
    ml_metric_observe_store(0, 1);
    ml_metric_observe_store(-1, 1);  /* a clock step backwards: 0 */
    ml_metric_observe_store(5.0, 0); /* over 1 s: +Inf */
    ml_metric_observe_store(1e300, 0);
    assert_int_equal(m->store[0].bucket[0], 3);
    assert_int_equal(m->store[0].bucket[1], 1);
    assert_int_equal(m->store[1].bucket[ML_MET_BUCKETS - 1], 2);
    assert_int_equal(m->store[0].sum_ns, 10000 + 10001);
    assert_int_equal(m->store[1].sum_ns, 5000000000u + 1000000000000000u);
}

static void *ml_store_ops_thread(void *arg)
{
    for (int i = 0; i < 100; i++)
        ml_metric_store_done(ml_metric_store_start(), i % 10 != 0);
    return arg;
}

/* Every operation counted; each thread's first and every 16th timed. */
static void test_store_operations_counted_and_sampled(void **st)
{
    ml_metrics_t *m = ml_fresh();
    pthread_t t[2];
    uint64_t timed[2] = {0, 0};

    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&t[i], NULL, ml_store_ops_thread, NULL), 0);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    assert_int_equal(ml_metric_get(m, ML_MET_STORE_OK), 2 * 90);
    assert_int_equal(ml_metric_get(m, ML_MET_STORE_FAILED), 2 * 10);
    for (int s = 0; s < 2; s++)
        for (int b = 0; b < ML_MET_BUCKETS; b++)
            timed[s] += m->store[s].bucket[b];
    /* Each thread times i = 0, 16, ... 96; of those, 0 and 80 failed. */
    assert_int_equal(timed[0], 2 * 5);
    assert_int_equal(timed[1], 2 * 2);
}

static void test_transports_and_health(void **st)
{
    ml_metrics_t *m = ml_fresh();

    assert_int_equal(ml_metric_transport("maildir"), ML_MET_MAILDIR);
    assert_int_equal(ml_metric_transport("smtp"), ML_MET_SMTP);
    assert_int_equal(ml_metric_transport("smtps"), ML_MET_SMTP);
    assert_int_equal(ml_metric_transport("pipe"), ML_MET_PIPE);
    assert_int_equal(ml_metric_transport("carrier-pigeon"), -1);
    assert_int_equal(ml_metric_transport(NULL), -1);

    assert_null(ml_metrics_health(m, 1)); /* no delivery yet */
    assert_string_equal(ml_metrics_health(m, 0), "state store not answering");
    ml_metric_delivery("pipe", 0, 0.1);
    assert_string_equal(ml_metrics_health(m, 1), "last mail delivery failed (pipe)");
    assert_string_equal(ml_metrics_health(m, 0), "state store not answering");
    /* An unknown transport counts nowhere but still decides the verdict. */
    ml_metric_delivery("carrier-pigeon", 1, 0.1);
    assert_null(ml_metrics_health(m, 1));
    ml_metric_delivery("carrier-pigeon", 0, 0.1);
    assert_non_null(ml_metrics_health(m, 1));
    ml_metric_delivery("smtps", 1, 0.1);
    assert_null(ml_metrics_health(m, 1));
    assert_int_equal(ml_metric_get(m, ML_MET_DELIVERY_FIRST + 2 * ML_MET_SMTP), 1);
}

/* Every transport ml_mailer makes has a label: none is counted nowhere. */
static void test_every_mailer_kind_has_a_transport_label(void **st)
{
    static const char *const specs[] = {"maildir:%s", "smtp://127.0.0.1:25",
                                        "smtps://127.0.0.1:465", "pipe:/bin/cat"};
    char dir[] = "/tmp/ml-test-metrics-XXXXXX";
    apr_pool_t *p;

    assert_non_null(mkdtemp(dir));
    apr_pool_create(&p, NULL);
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
        const char *err = NULL;
        ml_mailer_t *mailer;
        const char *spec = apr_psprintf(p, specs[i], apr_pstrcat(p, dir, "/mail", NULL));

        assert_int_equal(ml_mailer_create(&mailer, spec, NULL, p, &err), APR_SUCCESS);
        assert_true(ml_metric_transport(ml_mailer_kind(mailer)) >= 0);
    }
    assert_int_equal(system(apr_psprintf(p, "rm -rf '%s'", dir)), 0);
    apr_pool_destroy(p);
}

static void test_label_values_and_help_are_escaped(void **st)
{
    ml_metrics_t *m = ml_fresh();
    char *text = ml_text(m, "a\"b\\c\nd");

    ml_has_line(text, "magiclink_build_info{version=\"a\\\"b\\\\c\\nd\"} 1");
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_count_exactly),
        cmocka_unit_test(test_forked_children_count_into_one_struct),
        cmocka_unit_test(test_every_series_is_written_from_the_start),
        cmocka_unit_test(test_counts_and_gauges_reach_the_text),
        cmocka_unit_test(test_histogram_bounds),
        cmocka_unit_test(test_store_operations_counted_and_sampled),
        cmocka_unit_test(test_transports_and_health),
        cmocka_unit_test(test_every_mailer_kind_has_a_transport_label),
        cmocka_unit_test(test_label_values_and_help_are_escaped),
    };

    apr_initialize();
    atexit(apr_terminate);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
