/* The LMDB store (ml_store_lmdb.c) against the store contract of
 * ml_store.h, on a real LMDB environment in a temporary directory: every
 * operation's meaning, limits that refuse without writing, exactly-once
 * and exactly-N under several processes racing (fork, each opening the
 * store as httpd's children do), reclaiming expired records, and a full
 * map that refuses links yet keeps room for sign-outs. */
#include <pthread.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ml_test.h"

#include "ml_store.h"

#define Q 0x1234567890abcdefULL   /* an outbox queue */

#define NOW 1700000000

static apr_pool_t *pool;
static char dir[64];
static ml_hmac_key_t secret;

static ml_store_t *open_store(const char *size)
{
    const char *opts[1] = { size };
    char spec[96], err[256];
    ml_store_t *st;

    snprintf(spec, sizeof(spec), "lmdb:%s", dir);
    assert_int_equal(ml_store_parse(&st, spec, opts, size ? 1 : 0, pool, err, sizeof(err)),
                     APR_SUCCESS);
    if (ml_store_open(st, err, sizeof(err)) != APR_SUCCESS)
        fail_msg("open: %s", err);
    return st;
}

static ml_store_key_t key(const char *kind, const char *v)
{
    ml_store_key_t k;

    ml_store_key(&secret, kind, v, strlen(v), &k);
    return k;
}

static int setup(void **st)
{
    strcpy(dir, "/tmp/ml-lmdb-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **st)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd);
}

static void test_parse(void **unused)
{
    const char *bad_size[1] = { "size=1" }, *unknown[1] = { "colour=red" };
    const char *pw[1] = { "password=hunter2x" };
    const char *small[1] = { "size=100K" }, *spaced[2] = { "password=correct", "horse-battery" };
    char err[256];
    ml_store_t *st;

    assert_int_equal(ml_store_parse(&st, "lmdb:relative", NULL, 0, pool, err, sizeof(err)),
                     APR_EINVAL);
    assert_int_equal(ml_store_parse(&st, "shmcb", NULL, 0, pool, err, sizeof(err)), APR_EINVAL);
    assert_non_null(strstr(err, "evicting"));
    assert_int_equal(ml_store_parse(&st, "memcache:127.0.0.1:11211", NULL, 0, pool, err,
                                    sizeof(err)), APR_EINVAL);
    assert_int_equal(ml_store_parse(&st, "lmdb:/x", bad_size, 1, pool, err, sizeof(err)),
                     APR_EINVAL);
    assert_int_equal(ml_store_parse(&st, "lmdb:/x", unknown, 1, pool, err, sizeof(err)),
                     APR_EINVAL);
    assert_int_equal(ml_store_parse(&st, "redis:127.0.0.1", NULL, 0, pool, err, sizeof(err)),
                     APR_EINVAL);
    assert_int_equal(ml_store_parse(&st, "redis:[::1]:6379", pw, 1, pool, err, sizeof(err)),
                     APR_SUCCESS);
    assert_string_equal(st->where, "::1");
    assert_int_equal(st->port, 6379);
    /* A bad value is named, never echoed; what is allowed is said. */
    pw[0] = "password=";
    assert_int_equal(ml_store_parse(&st, "redis:h:1", pw, 1, pool, err, sizeof(err)),
                     APR_EINVAL);
    assert_int_equal(ml_store_parse(&st, "lmdb:/x", small, 1, pool, err, sizeof(err)),
                     APR_EINVAL);
    assert_non_null(strstr(err, "1M to 1T"));
    /* An unquoted password with a space: its second word is not echoed. */
    assert_int_equal(ml_store_parse(&st, "redis:h:1", spaced, 2, pool, err, sizeof(err)),
                     APR_EINVAL);
    assert_null(strstr(err, "battery"));
    assert_non_null(strstr(err, "not NAME=VALUE"));
}

static void test_link_lifecycle(void **unused)
{
    ml_store_t *st = open_store(NULL);
    ml_store_key_t id = key("u", "link-1"), other = key("u", "link-2");
    ml_store_link_t l;

    assert_int_equal(ml_store_issue(st, NULL, 0, &id, "rec-A", 5, NOW, NOW + 900, NULL), ML_STORE_OK);
    assert_int_equal(ml_store_get(st, &id, NOW, pool, &l), ML_STORE_OK);
    assert_int_equal(l.len, 5);
    assert_memory_equal(l.rec, "rec-A", 5);
    assert_int_equal(l.tries, 0);
    assert_int_equal(l.exp, NOW + 900);
    assert_int_equal(ml_store_get(st, &other, NOW, pool, &l), ML_STORE_NOTFOUND);
    /* Past its expiry a link is gone, whether or not it was reclaimed. */
    assert_int_equal(ml_store_get(st, &id, NOW + 901, pool, &l), ML_STORE_NOTFOUND);
    /* Compare and set: only from what it holds. */
    assert_int_equal(ml_store_replace(st, &id, "rec-B", 5, "rec-C", 5, NOW), ML_STORE_NOTFOUND);
    assert_int_equal(ml_store_replace(st, &id, "rec-A", 5, "rec-used", 8, NOW), ML_STORE_OK);
    assert_int_equal(ml_store_replace(st, &id, "rec-A", 5, "rec-used", 8, NOW),
                     ML_STORE_NOTFOUND);
    assert_int_equal(ml_store_get(st, &id, NOW, pool, &l), ML_STORE_OK);
    assert_memory_equal(l.rec, "rec-used", 8);
    assert_int_equal(l.exp, NOW + 900);
    /* Code tries: counted in the link's own record, max then refused. */
    assert_int_equal(ml_store_try_code(st, &id, 2, NOW, pool, &l), ML_STORE_OK);
    assert_int_equal(l.tries, 1);
    assert_int_equal(ml_store_try_code(st, &id, 2, NOW, pool, &l), ML_STORE_OK);
    assert_int_equal(l.tries, 2);
    assert_int_equal(ml_store_try_code(st, &id, 2, NOW, pool, &l), ML_STORE_OVER);
    assert_int_equal(ml_store_get(st, &id, NOW, pool, &l), ML_STORE_OK);
    assert_int_equal(l.tries, 2);
    assert_int_equal(ml_store_try_code(st, &other, 2, NOW, pool, &l), ML_STORE_NOTFOUND);
    /* Take: once. */
    assert_int_equal(ml_store_take(st, &id, NOW, pool, &l), ML_STORE_OK);
    assert_int_equal(ml_store_take(st, &id, NOW, pool, &l), ML_STORE_NOTFOUND);
    ml_store_close(st);
}

static void test_limits_refuse_without_writing(void **unused)
{
    ml_store_t *st = open_store(NULL);
    ml_store_limit_t lims[2] = { { key("i", "net"), 3, 60 }, { key("e", "a@x|net"), 2, 60 } };
    ml_store_key_t id;
    ml_store_link_t l;
    int i;

    for (i = 0; i < 2; i++) {
        id = key("u", i ? "b" : "a");
        assert_int_equal(ml_store_issue(st, lims, 2, &id, "r", 1, NOW, NOW + 60, NULL), ML_STORE_OK);
    }
    /* The second limit is reached: refused, and the first did not count it. */
    id = key("u", "c");
    assert_int_equal(ml_store_issue(st, lims, 2, &id, "r", 1, NOW, NOW + 60, NULL), ML_STORE_OVER);
    assert_int_equal(ml_store_get(st, &id, NOW, pool, &l), ML_STORE_NOTFOUND);
    assert_int_equal(ml_store_issue(st, lims, 1, &id, "r", 1, NOW, NOW + 60, NULL), ML_STORE_OK);
    assert_int_equal(ml_store_issue(st, lims, 1, &id, "r", 1, NOW, NOW + 60, NULL), ML_STORE_OVER);
    /* A new window starts when the old one is over. */
    assert_int_equal(ml_store_issue(st, lims, 2, &id, "r", 1, NOW + 61, NOW + 120, NULL),
                     ML_STORE_OK);
    ml_store_close(st);
}

static void test_times(void **unused)
{
    ml_store_t *st = open_store(NULL);
    ml_store_key_t v = key("v", "a@example.com");
    apr_int64_t t;

    assert_int_equal(ml_store_get_time(st, &v, NOW, &t), ML_STORE_OK);
    assert_int_equal(t, 0);
    assert_int_equal(ml_store_set_time(st, &v, NOW, NOW + 100, NOW), ML_STORE_OK);
    assert_int_equal(ml_store_get_time(st, &v, NOW, &t), ML_STORE_OK);
    assert_int_equal(t, NOW);
    /* A second sign-out in the same second: one more, so a session dated
     * just after the first (NOW + 1) does not outlive it. */
    assert_int_equal(ml_store_set_time(st, &v, NOW, NOW + 100, NOW), ML_STORE_OK);
    assert_int_equal(ml_store_get_time(st, &v, NOW, &t), ML_STORE_OK);
    assert_int_equal(t, NOW + 1);
    /* Never moved back (a clock behind): still a later sign-out. */
    assert_int_equal(ml_store_set_time(st, &v, NOW - 50, NOW + 100, NOW), ML_STORE_OK);
    assert_int_equal(ml_store_get_time(st, &v, NOW, &t), ML_STORE_OK);
    assert_int_equal(t, NOW + 2);
    /* A later one is taken as it is. */
    assert_int_equal(ml_store_set_time(st, &v, NOW + 10, NOW + 100, NOW), ML_STORE_OK);
    assert_int_equal(ml_store_get_time(st, &v, NOW, &t), ML_STORE_OK);
    assert_int_equal(t, NOW + 10);
    ml_store_close(st);
    /* Kept across a close and a reopen (a restart). */
    st = open_store(NULL);
    assert_int_equal(ml_store_get_time(st, &v, NOW, &t), ML_STORE_OK);
    assert_int_equal(t, NOW + 10);
    /* Several in one read: each its own, 0 for none; a record of another
     * kind under one of them is no answer for any. */
    {
        ml_store_key_t keys[3] = { v, key("v", "none@example.com"), key("v", "b@example.com") };
        apr_int64_t ts[3] = { -1, -1, -1 };

        assert_int_equal(ml_store_set_time(st, &keys[2], 42, NOW + 100, NOW), ML_STORE_OK);
        assert_int_equal(ml_store_get_times(st, keys, 3, NOW, ts), ML_STORE_OK);
        assert_int_equal(ts[0], NOW + 10);
        assert_int_equal(ts[1], 0);
        assert_int_equal(ts[2], 42);
        assert_int_equal(ml_store_get_times(st, keys, ML_STORE_TIMES_MAX + 1, NOW, ts),
                         ML_STORE_DOWN);
        assert_int_equal(ml_store_issue(st, NULL, 0, &keys[1], "link", 4, NOW, NOW + 100, NULL),
                         ML_STORE_OK);
        assert_int_equal(ml_store_get_times(st, keys, 3, NOW, ts), ML_STORE_DOWN);
    }
    ml_store_close(st);
}

/* Each child opens the store itself, as an httpd child does after fork,
 * and reports through its exit status how many of its calls won. */
static int race(int children, int calls, int (*one)(ml_store_t *, int))
{
    int i, total = 0;

    for (i = 0; i < children; i++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            ml_store_t *st = open_store(NULL);
            int won = 0, c;
            for (c = 0; c < calls; c++)
                won += one(st, c);
            ml_store_close(st);
            _exit(won);
        }
    }
    for (i = 0; i < children; i++) {
        int status;
        assert_true(wait(&status) > 0);
        assert_true(WIFEXITED(status));
        total += WEXITSTATUS(status);
    }
    return total;
}

static int take_one(ml_store_t *st, int c)
{
    ml_store_key_t id = key("u", apr_itoa(pool, c));
    ml_store_link_t l;

    return ml_store_take(st, &id, NOW, pool, &l) == ML_STORE_OK;
}

static int try_one(ml_store_t *st, int c)
{
    ml_store_key_t id = key("u", "coded");
    ml_store_link_t l;

    return ml_store_try_code(st, &id, 5, NOW, pool, &l) == ML_STORE_OK;
}

static int count_one(ml_store_t *st, int c)
{
    ml_store_limit_t lim = { key("E", "victim@example.com"), 7, 3600 };
    ml_store_key_t id = key("u", apr_psprintf(pool, "n-%d-%d", getpid(), c));

    return ml_store_issue(st, &lim, 1, &id, "r", 1, NOW, NOW + 60, NULL) == ML_STORE_OK;
}

static void test_racing_processes(void **unused)
{
    ml_store_t *st = open_store(NULL);
    ml_store_key_t id;
    int i;

    for (i = 0; i < 40; i++) {
        id = key("u", apr_itoa(pool, i));
        assert_int_equal(ml_store_issue(st, NULL, 0, &id, "r", 1, NOW, NOW + 60, NULL), ML_STORE_OK);
    }
    id = key("u", "coded");
    assert_int_equal(ml_store_issue(st, NULL, 0, &id, "r", 1, NOW, NOW + 60, NULL), ML_STORE_OK);
    ml_store_close(st);
    /* 6 processes race for each of 40 links: each taken exactly once. */
    assert_int_equal(race(6, 40, take_one), 40);
    /* 100 code tries on one link from 5 processes: exactly 5 counted. */
    assert_int_equal(race(5, 20, try_one), 5);
    /* 60 sign-in requests against a limit of 7: exactly 7 admitted. */
    assert_int_equal(race(4, 15, count_one), 7);
}

/* ---- threads of one process: the group commit of issues ---- */

typedef struct {
    ml_store_t *st;
    int thread, admitted, stored, used;
} issuer_t;

static void *issue_many(void *arg)
{
    issuer_t *t = arg;
    apr_pool_t *p;
    int i;

    apr_pool_create(&p, NULL);
    for (i = 0; i < 50; i++) {
        ml_store_limit_t lims[2] = { { key("E", "victim@example.com"), 23, 3600 },
                                     { key("i", apr_psprintf(p, "net-%d", t->thread)), 1000,
                                       3600 } };
        ml_store_key_t id = key("u", apr_psprintf(p, "t-%d-%d-%d", getpid(), t->thread, i));
        ml_store_link_t l;
        ml_store_rc_t rc = ml_store_issue(t->st, lims, 2, &id, "rec", 3, NOW, NOW + 60, NULL);

        t->admitted += rc == ML_STORE_OK;
        /* What each was told is what the store holds. */
        if (ml_store_get(t->st, &id, NOW, p, &l) == ML_STORE_OK)
            t->stored++;
    }
    /* Every thread of every process marks each of 40 links used (compare and
     * set): each link is used by exactly one. */
    for (i = 0; i < 40; i++) {
        ml_store_key_t id = key("u", apr_psprintf(p, "cas-%d", i));
        t->used += ml_store_replace(t->st, &id, "open", 4, "used", 4, NOW) == ML_STORE_OK;
    }
    apr_pool_destroy(p);
    return NULL;
}

/* 8 threads in each of 3 processes, the group commit's home: 50 issues
 * each against one limit of 23, exactly 23 admitted, each of them stored,
 * no refused one stored; then all race to use the same 40 links, each used
 * exactly once. */
static void test_racing_threads(void **unused)
{
    int fds[2], total = 0, used = 0, k;
    pid_t kids[3];
    ml_store_t *first = open_store(NULL);

    for (k = 0; k < 40; k++) {
        ml_store_key_t id = key("u", apr_psprintf(pool, "cas-%d", k));
        assert_int_equal(ml_store_issue(first, NULL, 0, &id, "open", 4, NOW, NOW + 60, NULL),
                         ML_STORE_OK);
    }
    ml_store_close(first);
    assert_int_equal(pipe(fds), 0);
    for (k = 0; k < 3; k++) {
        kids[k] = fork();
        assert_true(kids[k] >= 0);
        if (kids[k] == 0) {
            ml_store_t *st = open_store(NULL);
            issuer_t t[8];
            pthread_t th[8];
            int i, sums[3] = { 0, 0, 0 };

            for (i = 0; i < 8; i++) {
                t[i] = (issuer_t){ st, i, 0, 0, 0 };
                pthread_create(&th[i], NULL, issue_many, &t[i]);
            }
            for (i = 0; i < 8; i++) {
                pthread_join(th[i], NULL);
                sums[0] += t[i].admitted;
                sums[1] += t[i].stored;
                sums[2] += t[i].used;
            }
            ml_store_close(st);
            _exit(write(fds[1], sums, sizeof(sums)) == sizeof(sums) ? 0 : 1);
        }
    }
    close(fds[1]);
    for (k = 0; k < 3; k++) {
        int sums[3], status;
        assert_int_equal(read(fds[0], sums, sizeof(sums)), sizeof(sums));
        assert_int_equal(sums[0], sums[1]);
        total += sums[0];
        used += sums[2];
        assert_int_equal(waitpid(kids[k], &status, 0), kids[k]);
        assert_int_equal(status, 0);
    }
    close(fds[0]);
    assert_int_equal(total, 23);
    assert_int_equal(used, 40);
}

static void test_expired_records_are_reclaimed(void **unused)
{
    ml_store_t *st = open_store("size=4M");
    ml_store_key_t id;
    ml_store_link_t l;
    char rec[1000], name[16];
    int i, rounds = 0;

    memset(rec, 'r', sizeof(rec));
    /* Far more than the map holds at once (about 4,000 of these records):
     * each write reclaims expired ones, so the store never fills. */
    for (i = 0; i < 40000; i++) {
        apr_int64_t now = NOW + i;      /* a second per link, each living 10 */
        snprintf(name, sizeof(name), "%d", i);
        id = key("u", name);
        assert_int_equal(ml_store_issue(st, NULL, 0, &id, rec, sizeof(rec), now, now + 10, NULL),
                         ML_STORE_OK);
        rounds++;
    }
    assert_int_equal(rounds, 40000);
    id = key("u", "0");
    assert_int_equal(ml_store_get(st, &id, NOW + 40000, pool, &l), ML_STORE_NOTFOUND);
    ml_store_close(st);
}

/* Issues 1500-byte links "0", "1" ... expiring at exp until the store says
 * it is full (asserted): how many it took. */
static int fill(ml_store_t *st, apr_int64_t exp)
{
    ml_store_rc_t rc = ML_STORE_OK;
    ml_store_key_t id;
    char rec[1500];
    int i;

    memset(rec, 'r', sizeof(rec));
    for (i = 0; i < 5000 && rc == ML_STORE_OK; i++) {
        id = key("u", apr_itoa(pool, i));
        rc = ml_store_issue(st, NULL, 0, &id, rec, sizeof(rec), NOW, exp, NULL);
    }
    assert_int_equal(rc, ML_STORE_FULL);
    return i;
}

static void test_full_store_refuses_links_keeps_sign_outs(void **unused)
{
    ml_store_t *st = open_store("size=1M");
    ml_store_key_t id, v;
    apr_int64_t t;
    int i;

    assert_true(fill(st, NOW + 3600) > 100);
    /* Links already there still work; sign-outs still find room. */
    id = key("u", "0");
    assert_int_equal(ml_store_take(st, &id, NOW, pool, &(ml_store_link_t){ 0 }), ML_STORE_OK);
    for (i = 0; i < 200; i++) {
        v = key("v", apr_psprintf(pool, "user%d@example.com", i));
        assert_int_equal(ml_store_set_time(st, &v, NOW, NOW + 86400, NOW), ML_STORE_OK);
    }
    assert_int_equal(ml_store_get_time(st, &v, NOW, &t), ML_STORE_OK);
    assert_int_equal(t, NOW);
    ml_store_close(st);
}

/* A full store refuses, yet the refusal keeps what its sweep reclaimed: once
 * the links expire, the store takes new ones again without anyone's help. */
static void test_full_store_empties_itself(void **unused)
{
    ml_store_t *st = open_store("size=1M");
    ml_store_key_t id;
    ml_store_rc_t rc = ML_STORE_OK;
    char rec[1500];
    int i;

    fill(st, NOW + 10);
    memset(rec, 'r', sizeof(rec));
    id = key("u", "after");
    for (i = 0; i < 5000; i++) {
        rc = ml_store_issue(st, NULL, 0, &id, rec, sizeof(rec), NOW + 20, NOW + 3600, NULL);
        if (rc != ML_STORE_FULL)
            break;
    }
    assert_int_equal(rc, ML_STORE_OK);
    ml_store_close(st);
}

/* Mail of a mailer no server has any more: left to the others while it is
 * live, removed once it expired, and never hides our due mail. */
static void test_outbox_foreign_expired_mail_is_removed(void **unused)
{
    ml_store_t *st = open_store("outbox=100");
    const apr_uint64_t queue = Q;
    ml_store_mail_t got, mine = { key("o", "mine"), Q, "mine", 4, NOW, NOW + 1, NOW + 900, 0, 0 };
    apr_int64_t oldest;
    int i, depth;

    for (i = 0; i < 70; i++) {        /* more than a claim looks at */
        ml_store_mail_t gone = { key("o", apr_itoa(pool, i)), Q + 1, "gone", 4, NOW, NOW,
                                 NOW + 5, 0, 0 };
        assert_int_equal(ml_store_issue(st, NULL, 0, NULL, NULL, 0, NOW, NOW, &gone),
                         ML_STORE_OK);
    }
    assert_int_equal(ml_store_issue(st, NULL, 0, NULL, NULL, 0, NOW, NOW, &mine), ML_STORE_OK);
    /* Live: theirs, kept, and ours not reached yet. */
    assert_int_equal(ml_store_claim(st, &queue, 1, NOW + 1, 60, pool, &got), ML_STORE_NOTFOUND);
    assert_int_equal(ml_store_outbox_stats(st, NOW + 1, &depth, &oldest), ML_STORE_OK);
    assert_int_equal(depth, 71);
    /* Expired: removed by our claims, and ours is found behind them. */
    for (i = 0; i < 3; i++)
        if (ml_store_claim(st, &queue, 1, NOW + 10, 60, pool, &got) == ML_STORE_OK)
            break;
    assert_true(i < 3);
    assert_memory_equal(got.data, "mine", 4);
    assert_int_equal(ml_store_outbox_stats(st, NOW + 10, &depth, &oldest), ML_STORE_OK);
    assert_int_equal(depth, 1);
    ml_store_close(st);
}

/* The outbox: queued with its link, leased, retried, done; bounded. */
static void test_outbox(void **unused)
{
    ml_store_t *st = open_store("outbox=2");
    ml_store_key_t id = key("u", "m1"), id2 = key("u", "m2"), id3 = key("u", "m3");
    ml_store_mail_t m = { key("o", "1"), Q, "message one", 11, NOW, NOW, NOW + 900, 0, 0 }, got;
    ml_store_mail_t m2 = { key("o", "2"), Q, "message two", 11, NOW + 1, NOW + 5, NOW + 900, 0, 0 };
    ml_store_mail_t m3 = { key("o", "3"), Q, "three", 5, NOW, NOW, NOW + 900, 0, 0 };
    ml_store_link_t l;
    apr_int64_t oldest;
    const apr_uint64_t queue = Q, other = Q + 1;
    ml_store_mail_t theirs = { key("o", "9"), other, "not ours", 8, NOW, NOW, NOW + 900, 0, 0 };
    int depth;

    assert_int_equal(ml_store_claim(st, &queue, 1, NOW, 60, pool, &got), ML_STORE_NOTFOUND);
    /* Another server's mail (another queue), due first: never ours to claim. */
    assert_int_equal(ml_store_issue(st, NULL, 0, NULL, NULL, 0, NOW, NOW, &theirs), ML_STORE_OK);
    assert_int_equal(ml_store_claim(st, &queue, 1, NOW, 60, pool, &got), ML_STORE_NOTFOUND);
    assert_int_equal(ml_store_claim(st, &other, 1, NOW, 60, pool, &got), ML_STORE_OK);
    assert_memory_equal(got.data, "not ours", 8);
    assert_int_equal(ml_store_mail_done(st, &theirs.id), ML_STORE_OK);
    assert_int_equal(ml_store_issue(st, NULL, 0, &id, "r", 1, NOW, NOW + 900, &m), ML_STORE_OK);
    assert_int_equal(ml_store_issue(st, NULL, 0, &id2, "r", 1, NOW, NOW + 900, &m2),
                     ML_STORE_OK);
    /* Full: nothing written, the link neither. */
    assert_int_equal(ml_store_issue(st, NULL, 0, &id3, "r", 1, NOW, NOW + 900, &m3),
                     ML_STORE_FULL);
    assert_int_equal(ml_store_get(st, &id3, NOW, pool, &l), ML_STORE_NOTFOUND);
    assert_int_equal(ml_store_outbox_stats(st, NOW + 10, &depth, &oldest), ML_STORE_OK);
    assert_int_equal(depth, 2);
    assert_int_equal(oldest, NOW);
    /* Only what is due, most overdue first; a claim leases it. */
    assert_int_equal(ml_store_claim(st, &queue, 1, NOW, 60, pool, &got), ML_STORE_OK);
    assert_memory_equal(got.id.b, m.id.b, ML_STORE_KEY_LEN);
    assert_int_equal(got.len, 11);
    assert_memory_equal(got.data, "message one", 11);
    assert_int_equal(got.attempts, 1);
    assert_int_equal(got.exp, NOW + 900);
    assert_int_equal(ml_store_claim(st, &queue, 1, NOW, 60, pool, &got), ML_STORE_NOTFOUND);
    /* Retry: due again, its data intact, the attempt counted. */
    assert_int_equal(ml_store_mail_retry(st, &m.id, NOW + 2), ML_STORE_OK);
    assert_int_equal(ml_store_claim(st, &queue, 1, NOW + 2, 60, pool, &got), ML_STORE_OK);
    assert_memory_equal(got.id.b, m.id.b, ML_STORE_KEY_LEN);
    assert_memory_equal(got.data, "message one", 11);
    assert_int_equal(got.attempts, 2);
    assert_int_equal(ml_store_mail_done(st, &m.id), ML_STORE_OK);
    assert_int_equal(ml_store_mail_done(st, &m.id), ML_STORE_NOTFOUND);
    /* A lease that runs out (a deliverer that died) makes it due again. */
    assert_int_equal(ml_store_claim(st, &queue, 1, NOW + 5, 60, pool, &got), ML_STORE_OK);
    assert_memory_equal(got.data, "message two", 11);
    assert_int_equal(ml_store_claim(st, &queue, 1, NOW + 6, 60, pool, &got), ML_STORE_NOTFOUND);
    assert_int_equal(ml_store_claim(st, &queue, 1, NOW + 65, 60, pool, &got), ML_STORE_OK);
    assert_memory_equal(got.data, "message two", 11);
    assert_int_equal(got.attempts, 2);
    assert_int_equal(ml_store_outbox_stats(st, NOW, &depth, &oldest), ML_STORE_OK);
    assert_int_equal(depth, 1);
    /* Room again. */
    assert_int_equal(ml_store_issue(st, NULL, 0, &id3, "r", 1, NOW, NOW + 900, &m3),
                     ML_STORE_OK);
    ml_store_close(st);
}

/* Messages never to be sent count in the outbox's bound like any other, and
 * the claim that finds them removes them, handing out only what is sent. */
static void test_outbox_drops(void **unused)
{
    ml_store_t *st = open_store("outbox=3");
    const apr_uint64_t queue = Q, other = Q + 1;
    ml_store_mail_t d1 = { key("o", "d1"), Q, "drop one", 8, NOW, NOW, NOW + 900, 0, 1 };
    ml_store_mail_t d2 = { key("o", "d2"), Q, "drop two", 8, NOW, NOW, NOW + 900, 0, 1 };
    ml_store_mail_t theirs = { key("o", "t"), other, "their drop", 10, NOW, NOW, NOW + 900, 0, 1 };
    ml_store_mail_t sent = { key("o", "s"), Q, "to send", 7, NOW, NOW + 1, NOW + 900, 0, 0 };
    ml_store_mail_t got;
    apr_int64_t oldest;
    int depth;

    assert_int_equal(ml_store_issue(st, NULL, 0, NULL, NULL, 0, NOW, NOW, &d1), ML_STORE_OK);
    assert_int_equal(ml_store_issue(st, NULL, 0, NULL, NULL, 0, NOW, NOW, &theirs), ML_STORE_OK);
    assert_int_equal(ml_store_issue(st, NULL, 0, NULL, NULL, 0, NOW, NOW, &d2), ML_STORE_OK);
    /* Full: a drop takes its place like a message to send. */
    assert_int_equal(ml_store_issue(st, NULL, 0, NULL, NULL, 0, NOW, NOW, &sent), ML_STORE_FULL);
    /* A claim of our queue: nothing to send; our drops gone, theirs kept. */
    assert_int_equal(ml_store_claim(st, &queue, 1, NOW, 60, pool, &got), ML_STORE_NOTFOUND);
    assert_int_equal(ml_store_outbox_stats(st, NOW, &depth, &oldest), ML_STORE_OK);
    assert_int_equal(depth, 1);
    assert_int_equal(ml_store_issue(st, NULL, 0, NULL, NULL, 0, NOW, NOW, &d1), ML_STORE_OK);
    assert_int_equal(ml_store_issue(st, NULL, 0, NULL, NULL, 0, NOW, NOW, &sent), ML_STORE_OK);
    /* A drop due before the message to send: passed over, removed, the other leased. */
    assert_int_equal(ml_store_claim(st, &queue, 1, NOW + 1, 60, pool, &got), ML_STORE_OK);
    assert_memory_equal(got.id.b, sent.id.b, ML_STORE_KEY_LEN);
    assert_memory_equal(got.data, "to send", 7);
    assert_int_equal(ml_store_outbox_stats(st, NOW + 1, &depth, &oldest), ML_STORE_OK);
    assert_int_equal(depth, 2);         /* theirs, and the leased one */
    assert_int_equal(ml_store_claim(st, &queue, 1, NOW + 1, 60, pool, &got), ML_STORE_NOTFOUND);
    assert_int_equal(ml_store_mail_done(st, &sent.id), ML_STORE_OK);
    ml_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test_setup_teardown(test_link_lifecycle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits_refuse_without_writing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_times, setup, teardown),
        cmocka_unit_test_setup_teardown(test_racing_processes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_racing_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_expired_records_are_reclaimed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_store_refuses_links_keeps_sign_outs, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_outbox, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_drops, setup, teardown),
        cmocka_unit_test_setup_teardown(test_full_store_empties_itself, setup, teardown),
        cmocka_unit_test_setup_teardown(test_outbox_foreign_expired_mail_is_removed, setup,
                                        teardown),
    };
    unsigned char k[32] = { 1, 2, 3 };
    int rc;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    ml_hmac_key_init(&secret, k, sizeof(k));
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
