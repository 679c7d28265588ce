/* The allow policy (ml_policy.h): entries in either IDN spelling, allow files
 * re-read at run time, failing closed, reported once per change, and read by
 * many threads while they are swapped. Time is passed explicitly, so no test
 * waits for a clock. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <apr_thread_proc.h>

#include "ml_test.h"
#include "ml_policy.h"

static apr_pool_t *pool;
static char dir[] = "/tmp/ml_policyXXXXXX";

#define SEC(n) apr_time_from_sec(n)

static struct {
    int calls, ok, entries;
    char why[512];
} seen;

static void reporter(const char *path, int ok, const char *why, int entries)
{
    seen.calls++;
    seen.ok = ok;
    seen.entries = entries;
    apr_cpystrn(seen.why, why ? why : "", sizeof(seen.why));
}

static const char *file_path(const char *name)
{
    return apr_pstrcat(pool, dir, "/", name, NULL);
}

/* Writes the file by rename, as an admin's tools (and our advice) do. */
static void write_file(const char *path, const char *text)
{
    const char *tmp = apr_pstrcat(pool, path, ".tmp", NULL);
    FILE *f = fopen(tmp, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    assert_int_equal(rename(tmp, path), 0);
}

static void test_entries(void **st)
{
    ml_policy_t *p = ml_policy_make(pool), *any = ml_policy_make(pool);

    assert_true(ml_policy_empty(p));
    assert_false(ml_policy_allows(p, "a@example.com"));
    assert_false(ml_policy_allows(NULL, "a@example.com"));
    assert_null(ml_policy_add(p, "@Example.com", pool));
    assert_null(ml_policy_add(p, "Friend@other.org", pool));
    assert_null(ml_policy_add(p, "friend@OTHER.org", pool)); /* the same entry */
    assert_int_equal(ml_policy_count(p), 2);
    assert_non_null(ml_policy_add(p, "no-at-sign", pool));
    assert_non_null(ml_policy_add(p, "a@b@c.example", pool));
    assert_non_null(ml_policy_add(p, "a b@c.example", pool));
    assert_non_null(ml_policy_add(p, "@localhost", pool));
    assert_non_null(ml_policy_add(p, "@[192.0.2.1]", pool));
    assert_non_null(ml_policy_add(p, "a%b@c.example", pool));
    assert_true(ml_policy_allows(p, "anyone@example.com"));
    assert_false(ml_policy_allows(p, "x@sub.example.com"));
    assert_false(ml_policy_allows(p, "x@example.com.evil"));
    assert_true(ml_policy_allows(p, "friend@other.org"));
    assert_false(ml_policy_allows(p, "foe@other.org"));
    assert_false(ml_policy_allows(p, "no-at-sign"));
    assert_null(ml_policy_add(any, "*", pool));
    assert_true(ml_policy_allows(any, "x@y.example"));
    assert_int_equal(ml_policy_count(any), 1);
}

static void test_idn_either_spelling(void **st)
{
    ml_policy_t *u = ml_policy_make(pool), *a = ml_policy_make(pool);

    assert_null(ml_policy_add(u,
                              "@B\xc3\xbc"
                              "cher.example",
                              pool));
    assert_null(ml_policy_add(u,
                              "ann@m\xc3\xbc"
                              "ller.example",
                              pool));
    assert_null(ml_policy_add(a, "@xn--bcher-kva.example", pool));
    assert_null(ml_policy_add(a, "ann@XN--MLLER-KVA.example", pool));
    /* Lookups take canonical (A-label) addresses. */
    assert_true(ml_policy_allows(u, "x@xn--bcher-kva.example"));
    assert_true(ml_policy_allows(a, "x@xn--bcher-kva.example"));
    assert_true(ml_policy_allows(u, "ann@xn--mller-kva.example"));
    assert_true(ml_policy_allows(a, "ann@xn--mller-kva.example"));
    assert_false(ml_policy_allows(u, "bob@xn--mller-kva.example"));
}

static void test_file_reload(void **st)
{
    const char *path = file_path("reload");
    ml_policy_t *p = ml_policy_make(pool);
    apr_time_t t = apr_time_now();

    write_file(path, "# staff\n@example.com\n\n  ann@other.org  \n");
    assert_null(ml_policy_add_file(p, path, pool));
    assert_int_equal(ml_policy_count(p), 2);
    assert_true(ml_policy_allows_at(p, "ann@other.org", t));
    seen.calls = 0;
    write_file(path, "@example.com\n");
    /* Not stat'ed again within the second ... */
    assert_true(ml_policy_allows_at(p, "ann@other.org", t));
    /* ... and picked up after it. */
    assert_false(ml_policy_allows_at(p, "ann@other.org", t + SEC(2)));
    assert_true(ml_policy_allows_at(p, "bob@example.com", t + SEC(2)));
    assert_int_equal(seen.calls, 1);
    assert_true(seen.ok);
    assert_int_equal(seen.entries, 1);
    /* Unchanged: no reload, no report. */
    assert_true(ml_policy_allows_at(p, "bob@example.com", t + SEC(4)));
    assert_int_equal(seen.calls, 1);
    /* Rewritten in place with the same size: mtime or ctime tells. */
    {
        FILE *f = fopen(path, "w");
        struct stat sb;
        fputs("@example.org\n", f);
        fclose(f);
        assert_int_equal(stat(path, &sb), 0);
    }
    assert_true(ml_policy_allows_at(p, "bob@example.org", t + SEC(6)));
    assert_false(ml_policy_allows_at(p, "bob@example.com", t + SEC(6)));
    assert_int_equal(seen.calls, 2);
}

static void test_file_fails_closed(void **st)
{
    const char *path = file_path("closed");
    ml_policy_t *p = ml_policy_make(pool);
    apr_time_t t = apr_time_now();

    write_file(path, "ann@example.com\n");
    assert_null(ml_policy_add(p, "inline@example.com", pool));
    assert_null(ml_policy_add_file(p, path, pool));
    seen.calls = 0;
    /* A line that is no entry: the whole file allows nobody ... */
    write_file(path, "ann@example.com\nnot an entry\n");
    assert_false(ml_policy_allows_at(p, "ann@example.com", t + SEC(2)));
    assert_int_equal(seen.calls, 1);
    assert_false(seen.ok);
    assert_non_null(strstr(seen.why, "line 2"));
    /* ... inline entries still do, and asking again reports nothing new. */
    assert_true(ml_policy_allows_at(p, "inline@example.com", t + SEC(4)));
    assert_false(ml_policy_allows_at(p, "ann@example.com", t + SEC(6)));
    assert_int_equal(seen.calls, 1);
    /* Gone: still nobody, one more report (another reason). */
    assert_int_equal(unlink(path), 0);
    assert_false(ml_policy_allows_at(p, "ann@example.com", t + SEC(8)));
    assert_false(ml_policy_allows_at(p, "ann@example.com", t + SEC(10)));
    assert_int_equal(seen.calls, 2);
    assert_false(seen.ok);
    /* Unreadable (when not root, who reads anything): nobody, reported once. */
    if (geteuid() != 0) {
        write_file(path, "ann@example.com\n");
        assert_int_equal(chmod(path, 0), 0);
        assert_false(ml_policy_allows_at(p, "ann@example.com", t + SEC(12)));
        assert_false(ml_policy_allows_at(p, "ann@example.com", t + SEC(14)));
        assert_int_equal(seen.calls, 3);
        assert_int_equal(chmod(path, 0644), 0);
    }
    /* Fixed: back, reported once. */
    write_file(path, "ann@example.com\n");
    assert_true(ml_policy_allows_at(p, "ann@example.com", t + SEC(16)));
    assert_true(seen.ok);
    assert_int_equal(seen.calls, geteuid() != 0 ? 4 : 3);
    /* A line too long is an error, not two entries. */
    {
        char *big = apr_palloc(pool, 3010);
        memset(big, 'a', 2990);
        memcpy(big + 2990, "@x.example", 11);
        write_file(path, apr_pstrcat(pool, big, "\n", NULL));
        assert_false(ml_policy_allows_at(p, "ann@example.com", t + SEC(18)));
        assert_non_null(strstr(seen.why, "longer than"));
    }
}

static void test_file_errors_at_start(void **st)
{
    const char *path = file_path("start");
    const char *err;

    err = ml_policy_add_file(ml_policy_make(pool), file_path("missing"), pool);
    assert_non_null(err);
    write_file(path, "# ok\nann@example.com\n@\n");
    err = ml_policy_add_file(ml_policy_make(pool), path, pool);
    assert_non_null(err);
    assert_non_null(strstr(err, "line 3"));
}

static void test_file_shared(void **st)
{
    const char *path = file_path("shared");
    ml_policy_t *a = ml_policy_make(pool), *b = ml_policy_make(pool);
    apr_time_t t = apr_time_now();

    write_file(path, "ann@example.com\n");
    assert_null(ml_policy_add_file(a, path, pool));
    assert_null(ml_policy_add_file(b, path, pool));
    assert_null(ml_policy_add_file(b, path, pool));
    assert_int_equal(ml_policy_count(b), 1);
    seen.calls = 0;
    write_file(path, "bob@example.com\n");
    assert_true(ml_policy_allows_at(a, "bob@example.com", t + SEC(2)));
    assert_true(ml_policy_allows_at(b, "bob@example.com", t + SEC(2)));
    assert_int_equal(seen.calls, 1); /* one watcher for both */
}

/* ---- many readers while the list is swapped ---- */

#define READERS 4
#define SWAPS 200

typedef struct {
    ml_policy_t *p;
    int stop;
    apr_time_t now;
    long lookups;
} race_t;

#define LOAD(x) __atomic_load_n(&(x), __ATOMIC_SEQ_CST)
#define STORE(x, v) __atomic_store_n(&(x), (v), __ATOMIC_SEQ_CST)

static void *APR_THREAD_FUNC reader(apr_thread_t *th, void *data)
{
    race_t *r = data;
    long n = 0;

    while (!LOAD(r->stop)) {
        /* "always@" is in every version; "odd@"/"even@" alternate. */
        if (!ml_policy_allows_at(r->p, "always@example.com", LOAD(r->now)))
            abort();
        ml_policy_allows_at(r->p, "odd@example.com", LOAD(r->now));
        n++;
    }
    __atomic_add_fetch(&r->lookups, n, __ATOMIC_RELAXED);
    apr_thread_exit(th, APR_SUCCESS);
    return NULL;
}

static void test_readers_during_swaps(void **st)
{
    const char *path = file_path("race");
    apr_thread_t *th[READERS];
    race_t r = {0};
    apr_status_t rv;
    int i;

    write_file(path, "always@example.com\n");
    r.p = ml_policy_make(pool);
    r.now = apr_time_now();
    assert_null(ml_policy_add_file(r.p, path, pool));
    for (i = 0; i < READERS; i++)
        assert_int_equal(apr_thread_create(&th[i], NULL, reader, &r, pool), APR_SUCCESS);
    for (i = 0; i < SWAPS; i++) {
        write_file(path, i % 2 ? "always@example.com\nodd@example.com\n"
                               : "always@example.com\neven@example.com\n");
        STORE(r.now, LOAD(r.now) + SEC(2)); /* every lookup may now check the file */
        usleep(200);
    }
    STORE(r.stop, 1);
    for (i = 0; i < READERS; i++)
        apr_thread_join(&rv, th[i]);
    assert_true(r.lookups > 0);
    /* The last version is the one in force. */
    r.now += SEC(2);
    assert_true(ml_policy_allows_at(r.p, "odd@example.com", r.now));
}

static int setup(void **st)
{
    apr_initialize();
    apr_pool_create(&pool, NULL);
    ml_policy_set_reporter(reporter);
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **st)
{
    char cmd[64];

    apr_pool_destroy(pool); /* frees every list (ASan would tell) */
    apr_terminate();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_entries),
        cmocka_unit_test(test_idn_either_spelling),
        cmocka_unit_test(test_file_reload),
        cmocka_unit_test(test_file_fails_closed),
        cmocka_unit_test(test_file_errors_at_start),
        cmocka_unit_test(test_file_shared),
        cmocka_unit_test(test_readers_during_swaps),
    };
    return cmocka_run_group_tests_name("policy", tests, setup, teardown);
}
