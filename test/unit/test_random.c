/* Public randomness (ml_random.h): bytes never repeat across calls, threads
 * or a fork, and the cached pid follows the process across a fork. */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ml_test.h"

#include "ml_random.h"

#define ML_DRAW 32

static void test_draws_differ_and_refill(void **st)
{
    unsigned char a[ML_DRAW], b[ML_DRAW];
    int i;

    assert_true(ml_random_bytes(a, sizeof(a)));
    /* Past several refills of the kilobyte buffer: no draw repeats the first. */
    for (i = 0; i < 200; i++) {
        assert_true(ml_random_bytes(b, sizeof(b)));
        assert_memory_not_equal(a, b, sizeof(a));
    }
}

static void test_oversized_draw_refused(void **st)
{
    static unsigned char big[1025];

    assert_false(ml_random_bytes(big, sizeof(big)));
    assert_true(ml_random_bytes(big, 1024));
}

static void *ml_draw_thread(void *out)
{
    return ml_random_bytes(out, ML_DRAW) ? out : NULL;
}

static void test_threads_get_their_own_bytes(void **st)
{
    unsigned char mine[ML_DRAW], theirs[ML_DRAW];
    pthread_t t;
    void *rv;

    /* Prime this thread's buffer so both would start at offset 0 of a
     * shared one. */
    assert_true(ml_random_bytes(mine, 1));
    assert_int_equal(pthread_create(&t, NULL, ml_draw_thread, theirs), 0);
    assert_int_equal(pthread_join(t, &rv), 0);
    assert_non_null(rv);
    assert_true(ml_random_bytes(mine, sizeof(mine)));
    assert_memory_not_equal(mine, theirs, sizeof(mine));
}

/* A child that reused its parent's buffer would draw exactly the bytes the
 * parent draws next: the failure this checks for. */
static void test_fork_child_does_not_repeat_parent(void **st)
{
    unsigned char parent[ML_DRAW], child[ML_DRAW], first;
    pid_t child_pid_seen = 0, pid;
    int fds[2], status;

    assert_true(ml_random_bytes(&first, 1)); /* the buffer is filled */
    assert_int_equal(ml_random_pid(), getpid());
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        pid_t me = ml_random_pid();
        int ok = ml_random_bytes(child, sizeof(child)) && me == getpid();

        ok = ok && write(fds[1], child, sizeof(child)) == (ssize_t)sizeof(child)
             && write(fds[1], &me, sizeof(me)) == (ssize_t)sizeof(me);
        _exit(ok ? 0 : 1);
    }
    close(fds[1]);
    assert_true(ml_random_bytes(parent, sizeof(parent)));
    assert_int_equal(read(fds[0], child, sizeof(child)), sizeof(child));
    assert_int_equal(read(fds[0], &child_pid_seen, sizeof(child_pid_seen)), sizeof(child_pid_seen));
    close(fds[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(child_pid_seen, pid);
    assert_memory_not_equal(parent, child, sizeof(parent));
    assert_int_equal(ml_random_pid(), getpid());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_draws_differ_and_refill),
        cmocka_unit_test(test_oversized_draw_refused),
        cmocka_unit_test(test_threads_get_their_own_bytes),
        cmocka_unit_test(test_fork_child_does_not_repeat_parent),
    };

    apr_initialize();
    atexit(apr_terminate);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
