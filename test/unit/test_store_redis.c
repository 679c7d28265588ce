/* The redis state store (ml_store_redis.c) against a real redis-server on a
 * free loopback port: the contract's semantics, exactly-once under threads,
 * AUTH (password and ACL user), eviction warnings, out-of-memory refusals,
 * and a redis that dies, comes back or stalls. Skipped only when
 * /usr/bin/redis-server is missing. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ml_test.h"

#include <hiredis/hiredis.h>

#include "ml_store.h"

#define Q 0x1234567890abcdefULL   /* an outbox queue */

#ifndef ML_REDIS_BIN
#define ML_REDIS_BIN "/usr/bin/redis-server"
#endif
#define ML_NOW 1000000
#define ML_EXP (ML_NOW + 900)

/* ---- a real redis-server ---- */

typedef struct ml_redis_srv {
    pid_t pid;
    int port;
    char dir[64];
} ml_redis_srv_t;

static ml_redis_srv_t ml_shared;     /* for the tests that do not stop it */
static ml_redis_srv_t ml_started[8]; /* every redis started: what a failed test left is
                                      * stopped at the end */
static apr_pool_t *ml_pool;

static int ml_free_port(void)
{
    struct sockaddr_in sa = {0};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0), port;

    assert_true(fd >= 0);
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
    port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

/* A command on a fresh connection of the test's own (not the store's). */
static redisReply *ml_admin(const ml_redis_srv_t *srv, const char *password, const char *fmt, ...)
{
    struct timeval tv = {2, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", srv->port, tv);
    redisReply *rep = NULL;
    va_list ap;

    if (!c || c->err) {
        if (c)
            redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, tv);
    if (password) {
        rep = redisCommand(c, "AUTH %s", password);
        if (rep)
            freeReplyObject(rep);
    }
    va_start(ap, fmt);
    rep = redisvCommand(c, fmt, ap);
    va_end(ap);
    redisFree(c);
    return rep;
}

static long long ml_admin_int(const ml_redis_srv_t *srv, const char *fmt, const char *arg)
{
    redisReply *rep = ml_admin(srv, NULL, fmt, arg);
    long long v;

    assert_non_null(rep);
    if (rep->type == REDIS_REPLY_NIL)
        v = 0;
    else if (rep->type == REDIS_REPLY_INTEGER)
        v = rep->integer;
    else {
        assert_int_equal(rep->type, REDIS_REPLY_STRING);
        v = atoll(rep->str);
    }
    freeReplyObject(rep);
    return v;
}

static void ml_admin_ok(const ml_redis_srv_t *srv, const char *password, const char *fmt,
                        const char *a, const char *b)
{
    redisReply *rep = ml_admin(srv, password, fmt, a, b);

    assert_non_null(rep);
    assert_int_equal(rep->type, REDIS_REPLY_STATUS);
    freeReplyObject(rep);
}

/* redis's count of connections it accepted; this question is one of them. */
static long long ml_connections(const ml_redis_srv_t *srv)
{
    redisReply *rep = ml_admin(srv, NULL, "INFO stats");
    const char *at;
    long long n;

    assert_non_null(rep);
    assert_int_equal(rep->type, REDIS_REPLY_STRING);
    at = strstr(rep->str, "total_connections_received:");
    assert_non_null(at);
    n = atoll(at + strlen("total_connections_received:"));
    freeReplyObject(rep);
    return n;
}

/* Whether it answers PING (or asks for a password: it is up). */
static int ml_redis_answers(const ml_redis_srv_t *srv)
{
    redisReply *rep = ml_admin(srv, NULL, "PING");
    int up = rep
             && (rep->type == REDIS_REPLY_STATUS
                 || (rep->type == REDIS_REPLY_ERROR && !strncmp(rep->str, "NOAUTH", 6)));

    if (rep)
        freeReplyObject(rep);
    return up;
}

/* Starts redis-server on srv->port (a free one when 0), no persistence,
 * extra "--name value" arguments after it; returns when it answers. */
static void ml_redis_start(ml_redis_srv_t *srv, const char *const *extra)
{
    char port[16];
    const char *argv[32] = {"redis-server", "--port", port,           "--bind", "127.0.0.1",
                            "--save",       "",       "--appendonly", "no",     "--dir"};
    int argc = 10, i, status;

    if (!srv->port)
        srv->port = ml_free_port();
    if (!srv->dir[0]) {
        strcpy(srv->dir, "/tmp/ml-redis-XXXXXX");
        assert_non_null(mkdtemp(srv->dir));
    }
    snprintf(port, sizeof(port), "%d", srv->port);
    argv[argc++] = srv->dir;
    for (i = 0; extra && extra[i] && argc < 31; i++)
        argv[argc++] = extra[i];
    argv[argc] = NULL;
    srv->pid = fork();
    assert_true(srv->pid >= 0);
    if (srv->pid == 0) {
        int null = open("/dev/null", O_WRONLY);

        dup2(null, 1);
        dup2(null, 2);
        execv(ML_REDIS_BIN, (char *const *)argv);
        _exit(127);
    }
    for (i = 0; i < 8 && ml_started[i].pid; i++)
        ;
    if (i < 8)
        ml_started[i] = *srv;
    for (i = 0; i < 200 && !ml_redis_answers(srv); i++) {
        assert_int_equal(waitpid(srv->pid, &status, WNOHANG), 0); /* it did not die */
        usleep(25000);
    }
    assert_true(ml_redis_answers(srv));
}

static void ml_redis_kill(ml_redis_srv_t *srv)
{
    int i;

    for (i = 0; i < 8; i++)
        if (ml_started[i].pid == srv->pid && &ml_started[i] != srv)
            ml_started[i].pid = 0;
    if (srv->pid > 0) {
        kill(srv->pid, SIGCONT);
        kill(srv->pid, SIGKILL);
        while (waitpid(srv->pid, NULL, 0) < 0 && errno == EINTR)
            ;
    }
    srv->pid = 0;
}

static void ml_redis_stop(ml_redis_srv_t *srv)
{
    int i;

    ml_redis_kill(srv);
    for (i = 0; i < 8; i++)
        if (&ml_started[i] != srv && !strcmp(ml_started[i].dir, srv->dir))
            ml_started[i].dir[0] = '\0';
    if (srv->dir[0])
        rmdir(srv->dir);
    srv->dir[0] = '\0';
    srv->port = 0;
}

static int ml_have_redis(void)
{
    return access(ML_REDIS_BIN, X_OK) == 0;
}

#define ML_NEED_REDIS()                                                                            \
    do {                                                                                           \
        if (!ml_have_redis())                                                                      \
            skip();                                                                                \
    } while (0)

/* ---- the store ---- */

static ml_store_t *ml_open_at(int port, const char *const *opts, int nopts, char *err,
                              apr_size_t errlen, apr_status_t *rv)
{
    ml_store_t *st = NULL;
    const char *spec = apr_psprintf(ml_pool, "redis:127.0.0.1:%d", port);

    assert_int_equal(ml_store_parse(&st, spec, opts, nopts, ml_pool, err, errlen), APR_SUCCESS);
    *rv = ml_store_open(st, err, errlen);
    return st;
}

static ml_store_t *ml_open(const ml_redis_srv_t *srv, const char *const *opts, int nopts)
{
    char err[512] = "";
    apr_status_t rv;
    ml_store_t *st = ml_open_at(srv->port, opts, nopts, err, sizeof(err), &rv);

    if (rv != APR_SUCCESS)
        fail_msg("open: %s", err);
    return st;
}

/* A key named in the clear: the store takes any 32 bytes. */
static void ml_key(const char *name, ml_store_key_t *k)
{
    size_t n = strlen(name);

    memset(k->b, 0, sizeof(k->b));
    memcpy(k->b, name, n < sizeof(k->b) ? n : sizeof(k->b));
}

static const char *ml_redis_name(char kind, const ml_store_key_t *k)
{
    char hex[2 * ML_STORE_KEY_LEN + 1];

    ml_store_key_hex(k, hex);
    return apr_psprintf(ml_pool, "magiclink:%c:%s", kind, hex);
}

static ml_store_rc_t ml_issue_link(ml_store_t *st, const ml_store_key_t *id, const char *rec)
{
    return ml_store_issue(st, NULL, 0, id, rec, strlen(rec), ML_NOW, ML_EXP, NULL);
}

/* ---- semantics ---- */

static void test_issue_get_take(void **state)
{
    ml_store_t *st;
    ml_store_key_t id;
    ml_store_link_t out;
    static const char bin[] = "a\0b\r\nc";
    const char *name;

    ML_NEED_REDIS();
    st = ml_open(&ml_shared, NULL, 0);
    assert_null(st->warning);
    ml_key("issue-get-take", &id);
    name = ml_redis_name('u', &id);
    assert_int_equal(ml_store_issue(st, NULL, 0, &id, bin, sizeof(bin), ML_NOW, ML_EXP, NULL),
                     ML_STORE_OK);

    /* The layout the docs promise: a hash with rec, tries and exp, and a TTL. */
    assert_int_equal(ml_admin_int(&ml_shared, "HGET %s tries", name), 0);
    assert_int_equal(ml_admin_int(&ml_shared, "HGET %s exp", name), ML_EXP);
    assert_true(ml_admin_int(&ml_shared, "TTL %s", name) > 800);

    assert_int_equal(ml_store_get(st, &id, ML_NOW, ml_pool, &out), ML_STORE_OK);
    assert_int_equal(out.len, sizeof(bin));
    assert_memory_equal(out.rec, bin, sizeof(bin));
    assert_int_equal(out.tries, 0);
    assert_int_equal(out.exp, ML_EXP);

    /* Past its expiry it is gone for get and take, and take deletes nothing. */
    assert_int_equal(ml_store_get(st, &id, ML_EXP + 1, ml_pool, &out), ML_STORE_NOTFOUND);
    assert_int_equal(ml_store_take(st, &id, ML_EXP + 1, ml_pool, &out), ML_STORE_NOTFOUND);
    assert_int_equal(ml_store_get(st, &id, ML_EXP, ml_pool, &out), ML_STORE_OK);

    memset(&out, 0, sizeof(out));
    assert_int_equal(ml_store_take(st, &id, ML_NOW, ml_pool, &out), ML_STORE_OK);
    assert_memory_equal(out.rec, bin, sizeof(bin));
    assert_int_equal(out.exp, ML_EXP);
    assert_int_equal(ml_store_take(st, &id, ML_NOW, ml_pool, &out), ML_STORE_NOTFOUND);
    assert_int_equal(ml_store_get(st, &id, ML_NOW, ml_pool, &out), ML_STORE_NOTFOUND);
    assert_int_equal(ml_admin_int(&ml_shared, "EXISTS %s", name), 0);
    assert_int_equal(ml_store_ping(st), ML_STORE_OK);
    ml_store_close(st);
}

static void test_limits_refused_write_nothing(void **state)
{
    ml_store_t *st;
    ml_store_limit_t lims[2];
    ml_store_key_t id;
    ml_store_link_t out;
    const char *a, *b;
    int i;

    ML_NEED_REDIS();
    st = ml_open(&ml_shared, NULL, 0);
    ml_key("limit-a", &lims[0].key), lims[0].limit = 2, lims[0].window = 60;
    ml_key("limit-b", &lims[1].key), lims[1].limit = 3, lims[1].window = 3600;
    a = ml_redis_name('c', &lims[0].key);
    b = ml_redis_name('c', &lims[1].key);

    for (i = 0; i < 2; i++) {
        ml_key(i ? "limited-link-1" : "limited-link-0", &id);
        assert_int_equal(ml_store_issue(st, lims, 2, &id, "rec", 3, ML_NOW, ML_EXP, NULL), ML_STORE_OK);
    }
    assert_int_equal(ml_admin_int(&ml_shared, "GET %s", a), 2);
    assert_int_equal(ml_admin_int(&ml_shared, "GET %s", b), 2);
    /* Fixed windows: the TTL was set on the first count. */
    assert_true(ml_admin_int(&ml_shared, "TTL %s", a) > 0);
    assert_true(ml_admin_int(&ml_shared, "TTL %s", a) <= 60);
    assert_true(ml_admin_int(&ml_shared, "TTL %s", b) > 60);

    /* a is full: refused, and neither b nor the link was written. */
    ml_key("refused-link", &id);
    assert_int_equal(ml_store_issue(st, lims, 2, &id, "rec", 3, ML_NOW, ML_EXP, NULL), ML_STORE_OVER);
    assert_int_equal(ml_store_get(st, &id, ML_NOW, ml_pool, &out), ML_STORE_NOTFOUND);
    assert_int_equal(ml_admin_int(&ml_shared, "GET %s", a), 2);
    assert_int_equal(ml_admin_int(&ml_shared, "GET %s", b), 2);
    /* The same through the store: b has exactly one count left. */
    assert_int_equal(ml_store_issue(st, &lims[1], 1, NULL, NULL, 0, ML_NOW, ML_EXP, NULL), ML_STORE_OK);
    assert_int_equal(ml_store_issue(st, &lims[1], 1, NULL, NULL, 0, ML_NOW, ML_EXP, NULL), ML_STORE_OVER);
    assert_int_equal(ml_admin_int(&ml_shared, "GET %s", b), 3);
    /* No limits at all: always room. */
    assert_int_equal(ml_store_issue(st, NULL, 0, NULL, NULL, 0, ML_NOW, ML_EXP, NULL), ML_STORE_OK);
    ml_store_close(st);
}

static void test_try_code_counts_to_max(void **state)
{
    ml_store_t *st;
    ml_store_key_t id, gone;
    ml_store_link_t out;
    int i;

    ML_NEED_REDIS();
    st = ml_open(&ml_shared, NULL, 0);
    ml_key("try-code", &id);
    ml_key("try-code-absent", &gone);
    assert_int_equal(ml_issue_link(st, &id, "claims"), ML_STORE_OK);
    for (i = 1; i <= 3; i++) {
        assert_int_equal(ml_store_try_code(st, &id, 3, ML_NOW, ml_pool, &out), ML_STORE_OK);
        assert_int_equal(out.tries, i);
        assert_string_equal(out.rec, "claims");
        assert_int_equal(out.exp, ML_EXP);
    }
    assert_int_equal(ml_store_try_code(st, &id, 3, ML_NOW, ml_pool, &out), ML_STORE_OVER);
    assert_int_equal(ml_store_get(st, &id, ML_NOW, ml_pool, &out), ML_STORE_OK);
    assert_int_equal(out.tries, 3); /* OVER counted nothing */
    assert_int_equal(ml_store_try_code(st, &id, 5, ML_EXP + 1, ml_pool, &out), ML_STORE_NOTFOUND);
    assert_int_equal(ml_store_try_code(st, &gone, 3, ML_NOW, ml_pool, &out), ML_STORE_NOTFOUND);
    assert_int_equal(ml_admin_int(&ml_shared, "EXISTS %s", ml_redis_name('u', &gone)), 0);
    ml_store_close(st);
}

static void test_replace_is_compare_and_set(void **state)
{
    ml_store_t *st;
    ml_store_key_t id, gone;
    ml_store_link_t out;
    const char *name;

    ML_NEED_REDIS();
    st = ml_open(&ml_shared, NULL, 0);
    ml_key("replace", &id);
    ml_key("replace-absent", &gone);
    name = ml_redis_name('u', &id);
    assert_int_equal(ml_issue_link(st, &id, "first"), ML_STORE_OK);
    assert_int_equal(ml_store_try_code(st, &id, 5, ML_NOW, ml_pool, &out), ML_STORE_OK);

    assert_int_equal(ml_store_replace(st, &id, "firsT", 5, "second", 6, ML_NOW), ML_STORE_NOTFOUND);
    assert_int_equal(ml_store_replace(st, &id, "first", 4, "second", 6, ML_NOW), ML_STORE_NOTFOUND);
    assert_int_equal(ml_store_get(st, &id, ML_NOW, ml_pool, &out), ML_STORE_OK);
    assert_string_equal(out.rec, "first");

    assert_int_equal(ml_store_replace(st, &id, "first", 5, "second", 6, ML_NOW), ML_STORE_OK);
    assert_int_equal(ml_store_get(st, &id, ML_NOW, ml_pool, &out), ML_STORE_OK);
    assert_string_equal(out.rec, "second");
    assert_int_equal(out.tries, 1);
    assert_int_equal(out.exp, ML_EXP);
    assert_true(ml_admin_int(&ml_shared, "TTL %s", name) > 800);
    /* The old value no longer matches; an expired or absent link never does. */
    assert_int_equal(ml_store_replace(st, &id, "first", 5, "third", 5, ML_NOW), ML_STORE_NOTFOUND);
    assert_int_equal(ml_store_replace(st, &id, "second", 6, "third", 5, ML_EXP + 1),
                     ML_STORE_NOTFOUND);
    assert_int_equal(ml_store_replace(st, &gone, "a", 1, "b", 1, ML_NOW), ML_STORE_NOTFOUND);
    assert_int_equal(ml_admin_int(&ml_shared, "EXISTS %s", ml_redis_name('u', &gone)), 0);
    ml_store_close(st);
}

static void test_times_keep_the_larger(void **state)
{
    ml_store_t *st;
    ml_store_key_t k;
    apr_int64_t v = -1;
    const char *name;

    ML_NEED_REDIS();
    st = ml_open(&ml_shared, NULL, 0);
    ml_key("signout", &k);
    name = ml_redis_name('v', &k);
    assert_int_equal(ml_store_get_time(st, &k, ML_NOW, &v), ML_STORE_OK);
    assert_int_equal(v, 0);

    assert_int_equal(ml_store_set_time(st, &k, 1700000000123456LL, ML_NOW + 5000, ML_NOW),
                     ML_STORE_OK);
    assert_int_equal(ml_store_get_time(st, &k, ML_NOW, &v), ML_STORE_OK);
    assert_int_equal(v, 1700000000123456LL);
    /* The same value again (a second sign-out in the same second): one
     * more, so a session dated just after the first does not outlive it. */
    assert_int_equal(ml_store_set_time(st, &k, 1700000000123456LL, ML_NOW + 5000, ML_NOW),
                     ML_STORE_OK);
    assert_int_equal(ml_store_get_time(st, &k, ML_NOW, &v), ML_STORE_OK);
    assert_int_equal(v, 1700000000123457LL);
    /* A smaller value, with a shorter life: never moves it back, nor
     * shortens how long it is kept; it is still a later sign-out. */
    assert_int_equal(ml_store_set_time(st, &k, 1600000000000000LL, ML_NOW + 10, ML_NOW),
                     ML_STORE_OK);
    assert_int_equal(ml_store_get_time(st, &k, ML_NOW, &v), ML_STORE_OK);
    assert_int_equal(v, 1700000000123458LL);
    assert_true(ml_admin_int(&ml_shared, "TTL %s", name) > 4000);
    /* A larger value replaces it, and a longer life extends it. */
    assert_int_equal(ml_store_set_time(st, &k, 1700000000123460LL, ML_NOW + 9000, ML_NOW),
                     ML_STORE_OK);
    assert_int_equal(ml_store_get_time(st, &k, ML_NOW, &v), ML_STORE_OK);
    assert_int_equal(v, 1700000000123460LL);
    assert_true(ml_admin_int(&ml_shared, "TTL %s", name) > 8000);

    /* Several in one MGET: each its own, 0 for none. */
    {
        ml_store_key_t keys[3];
        apr_int64_t t[3] = { -1, -1, -1 };

        keys[0] = k;
        ml_key("signout-none", &keys[1]);
        ml_key("signout-other", &keys[2]);
        assert_int_equal(ml_store_set_time(st, &keys[2], 42, ML_NOW + 100, ML_NOW), ML_STORE_OK);
        assert_int_equal(ml_store_get_times(st, keys, 3, ML_NOW, t), ML_STORE_OK);
        assert_int_equal(t[0], 1700000000123460LL);
        assert_int_equal(t[1], 0);
        assert_int_equal(t[2], 42);
        /* One that is not a time: no answer for any of them. */
        ml_admin_ok(&ml_shared, NULL, "SET %s %s", ml_redis_name('v', &keys[2]), "soon");
        assert_int_equal(ml_store_get_times(st, keys, 3, ML_NOW, t), ML_STORE_DOWN);
    }

    /* Something that is not a time is no answer. */
    ml_admin_ok(&ml_shared, NULL, "SET %s %s", name, "soon");
    assert_int_equal(ml_store_get_time(st, &k, ML_NOW, &v), ML_STORE_DOWN);
    ml_store_close(st);
}

/* A record of the wrong type is an error redis reports: never a "no". */
static void test_wrong_types_fail_closed(void **state)
{
    ml_store_t *st;
    ml_store_key_t id;
    ml_store_link_t out;
    ml_store_limit_t lim;
    const char *name;

    ML_NEED_REDIS();
    st = ml_open(&ml_shared, NULL, 0);
    ml_key("wrong-type", &id);
    name = ml_redis_name('u', &id);
    ml_admin_ok(&ml_shared, NULL, "SET %s %s", name, "x");
    assert_int_equal(ml_store_get(st, &id, ML_NOW, ml_pool, &out), ML_STORE_DOWN);
    assert_int_equal(ml_store_take(st, &id, ML_NOW, ml_pool, &out), ML_STORE_DOWN);
    assert_int_equal(ml_store_try_code(st, &id, 3, ML_NOW, ml_pool, &out), ML_STORE_DOWN);
    lim.key = id, lim.limit = 5, lim.window = 60;
    ml_admin_ok(&ml_shared, NULL, "SET %s %s", ml_redis_name('c', &id), "many");
    assert_int_equal(ml_store_issue(st, &lim, 1, NULL, NULL, 0, ML_NOW, ML_EXP, NULL), ML_STORE_DOWN);
    /* The connection survives an error reply. */
    assert_int_equal(ml_store_ping(st), ML_STORE_OK);
    ml_store_close(st);
}

static void test_db_is_selected(void **state)
{
    static const char *const opts[] = {"db=3"};
    ml_store_t *st;
    ml_store_key_t id;
    redisReply *rep;

    ML_NEED_REDIS();
    st = ml_open(&ml_shared, opts, 1);
    ml_key("in-db-3", &id);
    assert_int_equal(ml_issue_link(st, &id, "r"), ML_STORE_OK);
    assert_int_equal(ml_admin_int(&ml_shared, "EXISTS %s", ml_redis_name('u', &id)), 0);
    rep = ml_admin(&ml_shared, NULL, "EVAL %s 1 %s",
                   "redis.call('SELECT', 3) "
                   "return redis.call('EXISTS', KEYS[1])",
                   ml_redis_name('u', &id));
    assert_non_null(rep);
    assert_int_equal(rep->type, REDIS_REPLY_INTEGER);
    assert_int_equal(rep->integer, 1);
    freeReplyObject(rep);
    ml_store_close(st);
}

/* ---- concurrency ---- */

#define ML_LINKS 50
#define ML_TAKERS 8

typedef struct ml_race {
    ml_store_t *st;
    ml_store_key_t ids[ML_LINKS];
    int max;
    int calls;
    volatile int won[ML_LINKS];
    volatile int over, down, other;
} ml_race_t;

typedef struct ml_racer {
    ml_race_t *race;
    int n;
} ml_racer_t;

static void *ml_taker(void *arg)
{
    ml_racer_t *me = arg;
    ml_race_t *race = me->race;
    apr_pool_t *p;
    int i;

    apr_pool_create(&p, NULL);
    for (i = 0; i < ML_LINKS; i++) {
        int l = (i + me->n * 7) % ML_LINKS; /* each thread starts elsewhere */
        ml_store_link_t out;
        ml_store_rc_t rc = ml_store_take(race->st, &race->ids[l], ML_NOW, p, &out);

        if (rc == ML_STORE_OK)
            __atomic_add_fetch(&race->won[l], 1, __ATOMIC_SEQ_CST);
        else if (rc == ML_STORE_DOWN)
            __atomic_add_fetch(&race->down, 1, __ATOMIC_SEQ_CST);
        else if (rc != ML_STORE_NOTFOUND)
            __atomic_add_fetch(&race->other, 1, __ATOMIC_SEQ_CST);
    }
    apr_pool_destroy(p);
    return NULL;
}

static void ml_race(ml_race_t *race, int nthreads, void *(*fn)(void *))
{
    pthread_t t[16];
    ml_racer_t who[16];
    int i;

    for (i = 0; i < nthreads; i++) {
        who[i].race = race, who[i].n = i;
        assert_int_equal(pthread_create(&t[i], NULL, fn, &who[i]), 0);
    }
    for (i = 0; i < nthreads; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
}

static void test_take_exactly_once_under_threads(void **state)
{
    static ml_race_t race;
    char name[32];
    int i;

    ML_NEED_REDIS();
    memset(&race, 0, sizeof(race));
    race.st = ml_open(&ml_shared, NULL, 0);
    for (i = 0; i < ML_LINKS; i++) {
        snprintf(name, sizeof(name), "race-%d", i);
        ml_key(name, &race.ids[i]);
        assert_int_equal(ml_issue_link(race.st, &race.ids[i], name), ML_STORE_OK);
    }
    ml_race(&race, ML_TAKERS, ml_taker);
    assert_int_equal(race.down, 0);
    assert_int_equal(race.other, 0);
    for (i = 0; i < ML_LINKS; i++)
        assert_int_equal(race.won[i], 1);
    ml_store_close(race.st);
}

static void *ml_trier(void *arg)
{
    ml_racer_t *me = arg;
    ml_race_t *race = me->race;
    apr_pool_t *p;
    int i;

    apr_pool_create(&p, NULL);
    for (i = 0; i < race->calls; i++) {
        ml_store_link_t out;
        ml_store_rc_t rc = ml_store_try_code(race->st, &race->ids[0], race->max, ML_NOW, p, &out);

        if (rc == ML_STORE_OK && out.tries >= 1 && out.tries <= race->max)
            __atomic_add_fetch(&race->won[out.tries - 1], 1, __ATOMIC_SEQ_CST);
        else if (rc == ML_STORE_OVER)
            __atomic_add_fetch(&race->over, 1, __ATOMIC_SEQ_CST);
        else
            __atomic_add_fetch(&race->other, 1, __ATOMIC_SEQ_CST);
    }
    apr_pool_destroy(p);
    return NULL;
}

static void test_try_code_exactly_max_under_threads(void **state)
{
    static ml_race_t race;
    ml_store_link_t out;
    int i;

    ML_NEED_REDIS();
    memset(&race, 0, sizeof(race));
    race.st = ml_open(&ml_shared, NULL, 0);
    race.max = 7;
    race.calls = 10;
    ml_key("try-race", &race.ids[0]);
    assert_int_equal(ml_issue_link(race.st, &race.ids[0], "r"), ML_STORE_OK);
    ml_race(&race, 10, ml_trier); /* 100 calls */
    assert_int_equal(race.other, 0);
    assert_int_equal(race.over, 100 - race.max);
    for (i = 0; i < race.max; i++)
        assert_int_equal(race.won[i], 1); /* each count handed out once */
    assert_int_equal(ml_store_get(race.st, &race.ids[0], ML_NOW, ml_pool, &out), ML_STORE_OK);
    assert_int_equal(out.tries, race.max);
    ml_store_close(race.st);
}

/* A connection made before a fork is the parent's: the child makes its own
 * (redis sees one more connection than the two questions asked here). */
static void test_fork_child_uses_its_own_connection(void **state)
{
    ml_store_t *st;
    ml_store_key_t id;
    ml_store_link_t out;
    pid_t pid;
    int status;
    long long before;

    ML_NEED_REDIS();
    st = ml_open(&ml_shared, NULL, 0);
    ml_key("fork", &id);
    assert_int_equal(ml_issue_link(st, &id, "r"), ML_STORE_OK); /* connected */
    before = ml_connections(&ml_shared);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        apr_pool_t *p;
        int ok;

        apr_pool_create(&p, NULL);
        ok = ml_store_try_code(st, &id, 9, ML_NOW, p, &out) == ML_STORE_OK && out.tries == 1;
        _exit(ok ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(ml_connections(&ml_shared) - before, 2);
    assert_int_equal(ml_store_try_code(st, &id, 9, ML_NOW, ml_pool, &out), ML_STORE_OK);
    assert_int_equal(out.tries, 2);
    ml_store_close(st);
}

/* ---- open: AUTH, warnings ---- */

static void test_auth_with_password(void **state)
{
    static const char *const extra[] = {"--requirepass", "s3cret-pw", NULL};
    static const char *const good[] = {"password=s3cret-pw"};
    static const char *const bad[] = {"password=wrong-pw-42"};
    ml_redis_srv_t srv = {0};
    ml_store_t *st;
    ml_store_key_t id;
    ml_store_link_t out;
    char err[512] = "";
    apr_status_t rv;

    ML_NEED_REDIS();
    ml_redis_start(&srv, extra);
    st = ml_open(&srv, good, 1);
    ml_key("authed", &id);
    assert_int_equal(ml_issue_link(st, &id, "r"), ML_STORE_OK);
    assert_int_equal(ml_store_take(st, &id, ML_NOW, ml_pool, &out), ML_STORE_OK);
    ml_store_close(st);

    st = ml_open_at(srv.port, bad, 1, err, sizeof(err), &rv);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_non_null(strstr(err, "AUTH refused"));
    assert_null(strstr(err, "wrong-pw-42"));
    assert_null(st->impl);

    err[0] = '\0';
    st = ml_open_at(srv.port, NULL, 0, err, sizeof(err), &rv);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_non_null(strstr(err, "set password="));
    ml_redis_stop(&srv);
}

static void test_auth_with_acl_user(void **state)
{
    static const char *const good[] = {"user=mlgate", "password=acl-pw-1"};
    static const char *const bad[] = {"user=mlgate", "password=acl-pw-2"};
    ml_redis_srv_t srv = {0};
    ml_store_t *st;
    ml_store_key_t id;
    ml_store_limit_t lim;
    ml_store_link_t out;
    char err[512] = "";
    apr_status_t rv;

    ML_NEED_REDIS();
    ml_redis_start(&srv, NULL);
    /* The user doc/cluster.md tells the admin to make: our keys only, no
     * CONFIG, so the eviction policy cannot be read, and the admin is told
     * to make sure of it. */
    ml_admin_ok(&srv, NULL, "ACL SETUSER mlgate on %s %s +@read +@write +@scripting +ping",
                ">acl-pw-1", "~magiclink:*");
    st = ml_open(&srv, good, 2);
    assert_non_null(st->warning);
    assert_non_null(strstr(st->warning, "maxmemory-policy cannot be read"));
    ml_key("acl", &id);
    lim.key = id, lim.limit = 1, lim.window = 60;
    assert_int_equal(ml_store_issue(st, &lim, 1, &id, "r", 1, ML_NOW, ML_EXP, NULL), ML_STORE_OK);
    assert_int_equal(ml_store_issue(st, &lim, 1, &id, "r", 1, ML_NOW, ML_EXP, NULL), ML_STORE_OVER);
    assert_int_equal(ml_store_try_code(st, &id, 2, ML_NOW, ml_pool, &out), ML_STORE_OK);
    assert_int_equal(ml_store_take(st, &id, ML_NOW, ml_pool, &out), ML_STORE_OK);
    ml_store_close(st);

    st = ml_open_at(srv.port, bad, 2, err, sizeof(err), &rv);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_non_null(strstr(err, "AUTH refused (check user= and password=)"));
    assert_null(strstr(err, "acl-pw-2"));

    /* A user that may not run scripts, or not on our keys, is told at open
     * rather than failing every request. */
    ml_admin_ok(&srv, NULL, "ACL SETUSER mlgate %s %s", "-@scripting", "+ping");
    st = ml_open_at(srv.port, good, 2, err, sizeof(err), &rv);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_non_null(strstr(err, "a script was refused"));
    ml_admin_ok(&srv, NULL, "ACL SETUSER mlgate %s %s", "+@scripting", "resetkeys");
    ml_admin_ok(&srv, NULL, "ACL SETUSER mlgate %s %s", "~other:*", "on");
    st = ml_open_at(srv.port, good, 2, err, sizeof(err), &rv);
    assert_int_not_equal(rv, APR_SUCCESS);
    assert_non_null(strstr(err, "a script was refused"));
    ml_redis_stop(&srv);
}

static void test_evicting_policy_is_warned(void **state)
{
    ml_store_t *st;

    ML_NEED_REDIS();
    ml_admin_ok(&ml_shared, NULL, "CONFIG SET %s %s", "maxmemory-policy", "volatile-lru");
    st = ml_open(&ml_shared, NULL, 0);
    ml_admin_ok(&ml_shared, NULL, "CONFIG SET %s %s", "maxmemory-policy", "noeviction");
    assert_non_null(st->warning);
    assert_non_null(strstr(st->warning, "volatile-lru"));
    ml_store_close(st);
    st = ml_open(&ml_shared, NULL, 0);
    assert_null(st->warning);
    ml_store_close(st);
}

/* maxmemory reached with noeviction: links and counters FULL, and nothing
 * of theirs written; a sign-out is still recorded (as LMDB keeps room for
 * sign-outs), or a full redis would let a signed-out session back in. */
static void test_full_redis_refuses_and_writes_nothing(void **state)
{
    ml_store_t *st;
    ml_store_key_t id, other;
    ml_store_limit_t lim;
    ml_store_link_t out;
    ml_store_rc_t rc, rc_time, rc_bare;

    ML_NEED_REDIS();
    st = ml_open(&ml_shared, NULL, 0);
    ml_key("full", &id);
    ml_key("full-old", &other);
    assert_int_equal(ml_issue_link(st, &other, "old"), ML_STORE_OK);
    lim.key = id, lim.limit = 5, lim.window = 60;
    ml_admin_ok(&ml_shared, NULL, "CONFIG SET %s %s", "maxmemory", "1");
    rc = ml_store_issue(st, &lim, 1, &id, "r", 1, ML_NOW, ML_EXP, NULL);
    rc_bare = ml_issue_link(st, &id, "r");
    rc_time = ml_store_set_time(st, &id, 5, ML_EXP, ML_NOW);
    /* Reading and taking still work. */
    assert_int_equal(ml_store_take(st, &other, ML_NOW, ml_pool, &out), ML_STORE_OK);
    ml_admin_ok(&ml_shared, NULL, "CONFIG SET %s %s", "maxmemory", "0");
    assert_int_equal(rc, ML_STORE_FULL);
    assert_int_equal(rc_bare, ML_STORE_FULL);
    assert_int_equal(rc_time, ML_STORE_OK);
    assert_int_equal(ml_admin_int(&ml_shared, "EXISTS %s", ml_redis_name('c', &id)), 0);
    assert_int_equal(ml_admin_int(&ml_shared, "EXISTS %s", ml_redis_name('u', &id)), 0);
    assert_int_equal(ml_admin_int(&ml_shared, "GET %s", ml_redis_name('v', &id)), 5);
    assert_int_equal(ml_store_issue(st, &lim, 1, &id, "r", 1, ML_NOW, ML_EXP, NULL), ML_STORE_OK);
    ml_store_close(st);
}

/* ---- a redis that is not there, dies, or stalls ---- */

static void test_unreachable_at_open_is_down_not_fatal(void **state)
{
    ml_store_t *st;
    ml_store_key_t k;
    apr_int64_t v = 7;
    char err[512] = "";
    apr_status_t rv;

    ML_NEED_REDIS();
    st = ml_open_at(ml_free_port(), NULL, 0, err, sizeof(err), &rv);
    assert_int_equal(rv, APR_SUCCESS);
    assert_non_null(st->warning);
    assert_non_null(strstr(st->warning, "cannot connect"));
    ml_key("nowhere", &k);
    assert_int_equal(ml_store_ping(st), ML_STORE_DOWN);
    assert_int_equal(ml_store_get_time(st, &k, ML_NOW, &v), ML_STORE_DOWN);
    assert_int_equal(v, 0);
    ml_store_close(st);
}

/* Calls until one is OK, at most ~5 s: the store comes back by itself. */
static ml_store_rc_t ml_until_ok(ml_store_t *st)
{
    ml_store_rc_t rc = ML_STORE_DOWN;
    int i;

    for (i = 0; i < 100 && (rc = ml_store_ping(st)) != ML_STORE_OK; i++)
        usleep(50000);
    return rc;
}

static void test_killed_then_restarted(void **state)
{
    ml_redis_srv_t srv = {0};
    ml_store_t *st;
    ml_store_key_t id;
    ml_store_link_t out;
    int port;

    ML_NEED_REDIS();
    ml_redis_start(&srv, NULL);
    port = srv.port;
    st = ml_open(&srv, NULL, 0);
    ml_key("killed", &id);
    assert_int_equal(ml_issue_link(st, &id, "r"), ML_STORE_OK);

    ml_redis_kill(&srv);
    assert_int_equal(ml_store_get(st, &id, ML_NOW, ml_pool, &out), ML_STORE_DOWN);
    assert_int_equal(ml_issue_link(st, &id, "r"), ML_STORE_DOWN);
    assert_int_equal(ml_store_ping(st), ML_STORE_DOWN);

    srv.port = port;
    ml_redis_start(&srv, NULL);
    assert_int_equal(ml_until_ok(st), ML_STORE_OK);
    /* A new redis has none of the scripts: EVALSHA falls back to EVAL. */
    assert_int_equal(ml_store_get(st, &id, ML_NOW, ml_pool, &out), ML_STORE_NOTFOUND);
    assert_int_equal(ml_issue_link(st, &id, "again"), ML_STORE_OK);
    assert_int_equal(ml_store_take(st, &id, ML_NOW, ml_pool, &out), ML_STORE_OK);
    assert_string_equal(out.rec, "again");

    /* A graceful restart between two calls costs no call at all: the closed
     * connection is noticed before it is used. */
    freeReplyObject(ml_admin(&srv, NULL, "CLIENT KILL TYPE normal"));
    assert_int_equal(ml_store_ping(st), ML_STORE_OK);
    ml_store_close(st);
    ml_redis_stop(&srv);
}

static void test_stalled_redis_is_down_then_back(void **state)
{
    static const char *const opts[] = {"timeout=200"};
    ml_redis_srv_t srv = {0};
    ml_store_t *st;
    ml_store_key_t id;
    ml_store_link_t out;
    long long before;
    int i, downs = 0;

    ML_NEED_REDIS();
    ml_redis_start(&srv, NULL);
    st = ml_open(&srv, opts, 1);
    ml_key("stalled", &id);
    assert_int_equal(ml_issue_link(st, &id, "r"), ML_STORE_OK);

    before = ml_connections(&srv);
    assert_int_equal(kill(srv.pid, SIGSTOP), 0);
    assert_int_equal(ml_store_get(st, &id, ML_NOW, ml_pool, &out), ML_STORE_DOWN);
    /* The calls right after a failure do not try again: they cost redis no
     * connection (the kernel queues those a stopped redis would accept). */
    for (i = 0; i < 50; i++)
        downs += ml_store_ping(st) == ML_STORE_DOWN;
    assert_int_equal(downs, 50);
    assert_int_equal(kill(srv.pid, SIGCONT), 0);

    assert_int_equal(ml_until_ok(st), ML_STORE_OK);
    assert_int_equal(ml_store_get(st, &id, ML_NOW, ml_pool, &out), ML_STORE_OK);
    /* Two questions of ours, one reconnection, and a few to spare for a
     * machine that paused us longer than the 200 ms pause; a store that
     * retried at once would have made 50. */
    assert_true(ml_connections(&srv) - before <= 8);
    ml_store_close(st);
    ml_redis_stop(&srv);
}

/* ---- runner ---- */

static ml_store_key_t ml_k(const char *name)
{
    ml_store_key_t k;

    ml_key(name, &k);
    return k;
}

/* The outbox: queued with its link, leased, retried, done; bounded. */
static void test_outbox(void **state)
{
    const char *opts[] = { "db=3", "outbox=2" };
    ml_store_t *st;
    ml_store_key_t id = ml_k("m1"), id2 = ml_k("m2"), id3 = ml_k("m3");
    ml_store_mail_t m = { ml_k("o1"), Q, "message one", 11, ML_NOW, ML_NOW, ML_NOW + 900, 0, 0 }, got;
    ml_store_mail_t m2 = { ml_k("o2"), Q, "message two", 11, ML_NOW + 1, ML_NOW + 5, ML_NOW + 900, 0, 0 };
    ml_store_mail_t m3 = { ml_k("o3"), Q, "three", 5, ML_NOW, ML_NOW, ML_NOW + 900, 0, 0 };
    ml_store_link_t l;
    apr_int64_t oldest;
    const apr_uint64_t queue = Q, other = Q + 1;
    ml_store_mail_t theirs = { ml_k("o9"), other, "not ours", 8, ML_NOW, ML_NOW, ML_NOW + 900, 0, 0 };
    int depth;

    ML_NEED_REDIS();
    st = ml_open(&ml_shared, opts, 2);
    assert_int_equal(ml_store_claim(st, &queue, 1, ML_NOW, 60, ml_pool, &got), ML_STORE_NOTFOUND);
    /* Another server's mail (another queue), due first: never ours to claim. */
    assert_int_equal(ml_store_issue(st, NULL, 0, NULL, NULL, 0, ML_NOW, ML_NOW, &theirs), ML_STORE_OK);
    assert_int_equal(ml_store_claim(st, &queue, 1, ML_NOW, 60, ml_pool, &got), ML_STORE_NOTFOUND);
    assert_int_equal(ml_store_claim(st, &other, 1, ML_NOW, 60, ml_pool, &got), ML_STORE_OK);
    assert_memory_equal(got.data, "not ours", 8);
    assert_int_equal(ml_store_mail_done(st, &theirs.id), ML_STORE_OK);
    assert_int_equal(ml_store_issue(st, NULL, 0, &id, "r", 1, ML_NOW, ML_NOW + 900, &m), ML_STORE_OK);
    assert_int_equal(ml_store_issue(st, NULL, 0, &id2, "r", 1, ML_NOW, ML_NOW + 900, &m2),
                     ML_STORE_OK);
    /* Full: nothing written, the link neither. */
    assert_int_equal(ml_store_issue(st, NULL, 0, &id3, "r", 1, ML_NOW, ML_NOW + 900, &m3),
                     ML_STORE_FULL);
    assert_int_equal(ml_store_get(st, &id3, ML_NOW, ml_pool, &l), ML_STORE_NOTFOUND);
    assert_int_equal(ml_store_outbox_stats(st, ML_NOW + 10, &depth, &oldest), ML_STORE_OK);
    assert_int_equal(depth, 2);
    assert_int_equal(oldest, ML_NOW);
    /* Only what is due, most overdue first; a claim leases it. */
    assert_int_equal(ml_store_claim(st, &queue, 1, ML_NOW, 60, ml_pool, &got), ML_STORE_OK);
    assert_memory_equal(got.id.b, m.id.b, ML_STORE_KEY_LEN);
    assert_int_equal(got.len, 11);
    assert_memory_equal(got.data, "message one", 11);
    assert_int_equal(got.attempts, 1);
    assert_int_equal(got.exp, ML_NOW + 900);
    assert_int_equal(ml_store_claim(st, &queue, 1, ML_NOW, 60, ml_pool, &got), ML_STORE_NOTFOUND);
    /* Retry: due again, its data intact, the attempt counted. */
    assert_int_equal(ml_store_mail_retry(st, &m.id, ML_NOW + 2), ML_STORE_OK);
    assert_int_equal(ml_store_claim(st, &queue, 1, ML_NOW + 2, 60, ml_pool, &got), ML_STORE_OK);
    assert_memory_equal(got.id.b, m.id.b, ML_STORE_KEY_LEN);
    assert_memory_equal(got.data, "message one", 11);
    assert_int_equal(got.attempts, 2);
    assert_int_equal(ml_store_mail_done(st, &m.id), ML_STORE_OK);
    assert_int_equal(ml_store_mail_done(st, &m.id), ML_STORE_NOTFOUND);
    /* A lease that runs out (a deliverer that died) makes it due again. */
    assert_int_equal(ml_store_claim(st, &queue, 1, ML_NOW + 5, 60, ml_pool, &got), ML_STORE_OK);
    assert_memory_equal(got.data, "message two", 11);
    assert_int_equal(ml_store_claim(st, &queue, 1, ML_NOW + 6, 60, ml_pool, &got), ML_STORE_NOTFOUND);
    assert_int_equal(ml_store_claim(st, &queue, 1, ML_NOW + 65, 60, ml_pool, &got), ML_STORE_OK);
    assert_memory_equal(got.data, "message two", 11);
    assert_int_equal(got.attempts, 2);
    assert_int_equal(ml_store_outbox_stats(st, ML_NOW, &depth, &oldest), ML_STORE_OK);
    assert_int_equal(depth, 1);
    /* Room again. */
    assert_int_equal(ml_store_issue(st, NULL, 0, &id3, "r", 1, ML_NOW, ML_NOW + 900, &m3),
                     ML_STORE_OK);
    ml_store_close(st);
}

static int ml_group_setup(void **state)
{
    if (ml_have_redis())
        ml_redis_start(&ml_shared, NULL);
    return 0;
}

static int ml_group_teardown(void **state)
{
    int i;

    ml_redis_stop(&ml_shared);
    for (i = 0; i < 8; i++)
        ml_redis_stop(&ml_started[i]);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_issue_get_take),
        cmocka_unit_test(test_limits_refused_write_nothing),
        cmocka_unit_test(test_try_code_counts_to_max),
        cmocka_unit_test(test_replace_is_compare_and_set),
        cmocka_unit_test(test_times_keep_the_larger),
        cmocka_unit_test(test_wrong_types_fail_closed),
        cmocka_unit_test(test_db_is_selected),
        cmocka_unit_test(test_take_exactly_once_under_threads),
        cmocka_unit_test(test_try_code_exactly_max_under_threads),
        cmocka_unit_test(test_fork_child_uses_its_own_connection),
        cmocka_unit_test(test_auth_with_password),
        cmocka_unit_test(test_auth_with_acl_user),
        cmocka_unit_test(test_evicting_policy_is_warned),
        cmocka_unit_test(test_full_redis_refuses_and_writes_nothing),
        cmocka_unit_test(test_unreachable_at_open_is_down_not_fatal),
        cmocka_unit_test(test_killed_then_restarted),
        cmocka_unit_test(test_stalled_redis_is_down_then_back),
        cmocka_unit_test(test_outbox),
    };
    int failed;

    apr_initialize();
    apr_pool_create(&ml_pool, NULL);
    failed = cmocka_run_group_tests(tests, ml_group_setup, ml_group_teardown);
    apr_terminate();
    return failed;
}
