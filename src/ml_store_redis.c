/* The redis backend of the state store (ml_store.h), on hiredis 0.14.
 *
 * Key layout (HEX: ml_store_key_hex of the caller's key, 64 digits):
 *   magiclink:u:HEX  hash {rec, tries, exp}: an unused link; redis drops it
 *                    (exp - now + 1) s after it was issued
 *   magiclink:c:HEX  string integer: a fixed-window rate counter; redis drops
 *                    it `window` seconds after its first count
 *   magiclink:v:HEX  string integer: a sign-out time; kept until its exp
 * Every operation is one command or one Lua script, so it is atomic against
 * every other client of the redis, on every server. Expiry is given to redis
 * relative to the caller's `now` (EXPIRE, not EXPIREAT), so a clock skew
 * between a web server and redis neither shortens nor stretches a record;
 * the records themselves are judged by the caller's clock (exp < now: gone).
 *
 * Connections: one blocking hiredis context per thread and store, made on
 * the thread's first call and kept. Each command has opts.timeout_ms to be
 * written and answered; a command that fails drops the connection, and a
 * thread whose connect failed does not try again for ML_REDIS_RETRY_MS, so a
 * dead redis costs a request no time at all. A connection redis has closed
 * (restart, its `timeout` setting) is noticed before it is used and made
 * again, so that costs no request either. A connection made before a fork is
 * never used after it. Any error, time-out or unexpected reply is
 * ML_STORE_DOWN; an out-of-memory refusal (maxmemory with noeviction) is
 * ML_STORE_FULL. A command that timed out may still run later in a redis that
 * was only stalled: every such late effect errs on the closed side (a link
 * taken or a try counted that nobody saw succeed). */
#include "ml_store.h"
#include "ml_b64.h"
#include "ml_random.h"

#include <apr_strings.h>
#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define ML_REDIS_RETRY_MS 200 /* a thread's pause between failed connects */
#define ML_REDIS_KEY_LEN (sizeof("magiclink:u:") - 1 + 2 * ML_STORE_KEY_LEN + 1)
#define ML_REDIS_NUM_LEN 24 /* an apr_int64_t in decimal, and its NUL */
#define ML_REDIS_ARGS_MAX (3 + ML_STORE_LIMITS_MAX + 4 + 3 + 2 * ML_STORE_LIMITS_MAX + 3 + 8)
#define ML_REDIS_OUTBOX "magiclink:outbox"
#define ML_REDIS_OUTBOX_BORN "magiclink:outbox:created"
#define ML_REDIS_MAIL_PREFIX "magiclink:o:"
#define ML_REDIS_LEASE_SLACK 600     /* a message's hash outlives its exp by this */

/* ---- the scripts: each runs atomically in redis ---- */

typedef struct ml_script {
    const char *src;
    char sha[41]; /* SHA-1 in hex, for EVALSHA */
} ml_script_t;

/* KEYS: n limit counters, then the link (when ARGV[2] is 1), then the
 * message's hash, the outbox and its by-creation set (when ARGV[3] is 1).
 * ARGV: n, has link, has message, then limit and window of each counter,
 * then rec, exp and ttl of the link, then the message's data, created, due,
 * exp, ttl, id, the outbox's maximum and its queue (hex).
 * Reads every counter (and the outbox's size) before it writes anything: 1
 * when one is at its limit, 2 when the outbox is full (nothing written),
 * else 0 with every counter counted, the link stored and the message
 * queued. The first write is the first command that may be refused for
 * lack of memory, and redis refuses only a script's first write: so a
 * script refused for memory has written nothing either. */
static ml_script_t ml_script_issue = {
    "local n = tonumber(ARGV[1])\n"
    "local k, a = n + 1, 2 * n + 4\n"
    "for i = 1, n do\n"
    "  if tonumber(redis.call('GET', KEYS[i]) or '0') >= tonumber(ARGV[2 * i + 2]) then\n"
    "    return 1\n"
    "  end\n"
    "end\n"
    "local m = ARGV[2] == '1' and k + 1 or k\n"
    "local ma = ARGV[2] == '1' and a + 3 or a\n"
    "if ARGV[3] == '1' and redis.call('ZCARD', KEYS[m + 1]) >= tonumber(ARGV[ma + 6]) then\n"
    "  return 2\n"
    "end\n"
    "for i = 1, n do\n"
    "  if redis.call('INCR', KEYS[i]) == 1 or redis.call('TTL', KEYS[i]) < 0 then\n"
    "    redis.call('EXPIRE', KEYS[i], ARGV[2 * i + 3])\n"
    "  end\n"
    "end\n"
    "if ARGV[2] == '1' then\n"
    "  redis.call('HSET', KEYS[k], 'rec', ARGV[a], 'tries', 0, 'exp', ARGV[a + 1])\n"
    "  redis.call('EXPIRE', KEYS[k], ARGV[a + 2])\n"
    "end\n"
    "if ARGV[3] == '1' then\n"
    "  redis.call('HSET', KEYS[m], 'm', ARGV[ma], 'created', ARGV[ma + 1], 'due', ARGV[ma + 2],\n"
    "             'exp', ARGV[ma + 3], 'att', 0, 'q', ARGV[ma + 7])\n"
    "  redis.call('EXPIRE', KEYS[m], ARGV[ma + 4])\n"
    "  redis.call('ZADD', KEYS[m + 1], ARGV[ma + 2], ARGV[ma + 5])\n"
    "  redis.call('ZADD', KEYS[m + 2], ARGV[ma + 1], ARGV[ma + 5])\n"
    "end\n"
    "return 0\n",
    ""};

/* KEYS: the outbox, its by-creation set. ARGV: now, lease, the prefix of
 * message hashes, then the queues this server sends for (hex). A due message
 * of one of them, leased: {id, data, created, due, exp, attempts, queue};
 * nil when none of the first 64 due messages is. Other servers' messages are
 * left as they are; one whose hash redis already dropped (past its expiry)
 * leaves both sets on the way. allow-oom (as the next script): a redis whose
 * memory is full must still hand out and retire the mail it holds — that is
 * how it empties — and a lease changes only what is there. */
static ml_script_t ml_script_claim = {
    "#!lua flags=allow-oom\n"
    "local mine = {}\n"
    "for i = 4, #ARGV do mine[ARGV[i]] = true end\n"
    "local r = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 64)\n"
    "for _, id in ipairs(r) do\n"
    "  local h = ARGV[3] .. id\n"
    "  local v = redis.call('HMGET', h, 'm', 'created', 'exp', 'q')\n"
    "  if not v[1] then\n"
    "    redis.call('ZREM', KEYS[1], id)\n"
    "    redis.call('ZREM', KEYS[2], id)\n"
    "  elseif mine[v[4]] then\n"
    "    local due = tonumber(ARGV[1]) + tonumber(ARGV[2])\n"
    "    local att = redis.call('HINCRBY', h, 'att', 1)\n"
    "    redis.call('HSET', h, 'due', due)\n"
    "    redis.call('ZADD', KEYS[1], due, id)\n"
    "    return {id, v[1], v[2], tostring(due), v[3], att, v[4]}\n"
    "  end\n"
    "end\n"
    "return false\n",
    ""};

/* KEYS: the message, the outbox, the by-creation set. ARGV: id, and the
 * due time (retry) or nothing (done). 1 when the message was there. */
static ml_script_t ml_script_mail = {
    "#!lua flags=allow-oom\n"
    "if not ARGV[2] then\n"
    "  redis.call('ZREM', KEYS[2], ARGV[1])\n"
    "  redis.call('ZREM', KEYS[3], ARGV[1])\n"
    "  return redis.call('DEL', KEYS[1])\n"
    "end\n"
    "if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end\n"
    "redis.call('HSET', KEYS[1], 'due', ARGV[2])\n"
    "redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])\n"
    "return 1\n",
    ""};

/* KEYS: the link. ARGV: now. Its {rec, tries, exp}, deleted; nil when it is
 * absent or expired (then nothing is deleted). */
static ml_script_t ml_script_take = {
    "local v = redis.call('HMGET', KEYS[1], 'rec', 'tries', 'exp')\n"
    "if not v[1] or tonumber(v[3]) < tonumber(ARGV[1]) then return false end\n"
    "redis.call('DEL', KEYS[1])\n"
    "return v\n",
    ""};

/* KEYS: the link. ARGV: max, now. nil when absent or expired; 0 when max
 * tries were counted (nothing written); else {rec, tries after this one,
 * exp}. */
static ml_script_t ml_script_try = {
    "local v = redis.call('HMGET', KEYS[1], 'rec', 'tries', 'exp')\n"
    "if not v[1] or tonumber(v[3]) < tonumber(ARGV[2]) then return false end\n"
    "if tonumber(v[2]) >= tonumber(ARGV[1]) then return 0 end\n"
    "v[2] = redis.call('HINCRBY', KEYS[1], 'tries', 1)\n"
    "return v\n",
    ""};

/* KEYS: the link. ARGV: old rec, new rec, now. 1 when the link held old and
 * now holds new (tries, exp and the key's TTL unchanged), else 0. */
static ml_script_t ml_script_replace = {
    "local v = redis.call('HMGET', KEYS[1], 'rec', 'exp')\n"
    "if not v[1] or v[1] ~= ARGV[1] or tonumber(v[2]) < tonumber(ARGV[3]) then\n"
    "  return 0\n"
    "end\n"
    "redis.call('HSET', KEYS[1], 'rec', ARGV[2])\n"
    "return 1\n",
    ""};

/* KEYS: the time. ARGV: value, ttl. Stores value, or the stored value + 1
 * when that is not smaller (a sign-out never moves back, and one in the
 * second of the one before is dated a second later, so a session begun
 * between them does not outlive it); keeps the longer of the remaining TTL
 * and ttl (SET clears a TTL, so the old one is read first). allow-oom (redis
 * 7): a redis whose memory is full (maxmemory, noeviction) still records a
 * sign-out, as LMDB keeps room for them; only links and counters are then
 * refused. */
static ml_script_t ml_script_set_time = {
    "#!lua flags=allow-oom\n"
    "local cur = redis.call('GET', KEYS[1])\n"
    "local ttl = redis.call('TTL', KEYS[1])\n"
    "local v = tonumber(ARGV[1])\n"
    "if cur and tonumber(cur) >= v then v = tonumber(cur) + 1 end\n"
    "redis.call('SET', KEYS[1], string.format('%d', v))\n"
    "redis.call('EXPIRE', KEYS[1], math.max(ttl, tonumber(ARGV[2])))\n"
    "return 0\n",
    ""};

static ml_script_t *const ml_scripts[] = {
    &ml_script_issue, &ml_script_take,  &ml_script_try,  &ml_script_replace,
    &ml_script_set_time, &ml_script_claim, &ml_script_mail,
};

static pthread_once_t ml_scripts_once = PTHREAD_ONCE_INIT;
static int ml_scripts_ok;

static void ml_scripts_hash(void)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen, i, j;

    for (i = 0; i < sizeof(ml_scripts) / sizeof(ml_scripts[0]); i++) {
        ml_script_t *s = ml_scripts[i];

        if (!EVP_Digest(s->src, strlen(s->src), md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
            return;
        for (j = 0; j < 20; j++) {
            s->sha[2 * j] = hex[md[j] >> 4];
            s->sha[2 * j + 1] = hex[md[j] & 15];
        }
        s->sha[40] = '\0';
    }
    ml_scripts_ok = 1;
}

/* ---- connections ---- */

typedef struct ml_redis ml_redis_t;

/* A thread's connection to one store. */
typedef struct ml_redis_conn {
    redisContext *c;       /* NULL: none now */
    apr_uint32_t fork_gen; /* the fork c was made in */
    apr_int64_t retry_at;  /* monotonic ms: no connect before then */
    char why[256];         /* what went wrong last on this thread, for the log */
    ml_redis_t *owner;
    struct ml_redis_conn *prev, *next;
} ml_redis_conn_t;

struct ml_redis {
    pthread_key_t tls;      /* this thread's ml_redis_conn_t */
    pthread_mutex_t lock;   /* guards conns */
    ml_redis_conn_t *conns; /* every thread's, so that close frees them */
    struct timeval timeout;
    int guard_sigpipe; /* SIGPIPE was not ignored when opened */
    const ml_store_t *st;
};

typedef enum {
    ML_REDIS_UP,
    ML_REDIS_UNREACHABLE, /* no connection, or no answer in time */
    ML_REDIS_REFUSED      /* redis answered no: AUTH, SELECT, ... */
} ml_redis_state_t;

static apr_int64_t ml_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (apr_int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* "host:port" for messages, [v6]:port too. */
static void ml_redis_addr(const ml_store_t *st, char *out, apr_size_t outlen)
{
    apr_snprintf(out, outlen, strchr(st->where, ':') ? "[%s]:%d" : "%s:%d", st->where, st->port);
}

/* "redis ADDR: what: said" into err (if any), with the password cut out
 * should redis ever echo it. */
static void ml_redis_say(const ml_store_t *st, char *err, apr_size_t errlen, const char *what,
                         const char *said)
{
    char addr[300];
    const char *pw = st->opts.password;

    if (!err)
        return;
    ml_redis_addr(st, addr, sizeof(addr));
    if (pw && said && strstr(said, pw))
        said = "(answer withheld: it holds the password)";
    apr_snprintf(err, errlen, "redis %s: %s%s%s", addr, what, said ? ": " : "", said ? said : "");
}

/* A command of the handshake, and what its refusal means. */
typedef struct ml_redis_cmd {
    int argc;
    const char *argv[3];
    size_t lens[3];
    const char *refused;
} ml_redis_cmd_t;

/* What a refusal means: redis still loading its data, busy with a script,
 * a replica cut off from its master — it will answer soon, so the store is
 * unreachable for now, not refusing us (a wrong setting). */
static ml_redis_state_t ml_redis_refusal(const redisReply *rep)
{
    static const char *const passing[] = { "LOADING", "BUSY", "MASTERDOWN", "TRYAGAIN" };
    apr_size_t i;

    for (i = 0; rep->type == REDIS_REPLY_ERROR && i < sizeof(passing) / sizeof(passing[0]); i++)
        if (!strncmp(rep->str, passing[i], strlen(passing[i])))
            return ML_REDIS_UNREACHABLE;
    return ML_REDIS_REFUSED;
}

/* Sends the commands at once (one round trip); each must answer +OK. */
static ml_redis_state_t ml_redis_handshake(const ml_store_t *st, redisContext *c,
                                           ml_redis_cmd_t *cmds, int n, char *err,
                                           apr_size_t errlen)
{
    ml_redis_state_t state = ML_REDIS_UP;
    int i;

    for (i = 0; i < n; i++)
        if (redisAppendCommandArgv(c, cmds[i].argc, cmds[i].argv, cmds[i].lens) != REDIS_OK) {
            ml_redis_say(st, err, errlen, "cannot build a command", NULL);
            return ML_REDIS_REFUSED;
        }
    for (i = 0; i < n; i++) {
        redisReply *rep = NULL;

        if (redisGetReply(c, (void **)&rep) != REDIS_OK || !rep) {
            ml_redis_say(st, err, errlen, "no answer", c->errstr);
            return ML_REDIS_UNREACHABLE;
        }
        if (state == ML_REDIS_UP
            && (rep->type != REDIS_REPLY_STATUS || strcmp(rep->str, "OK") != 0)) {
            ml_redis_say(st, err, errlen, cmds[i].refused,
                         rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected answer");
            state = ml_redis_refusal(rep);
        }
        freeReplyObject(rep);
    }
    return state;
}

/* A new connection, authenticated and on its database, with the command
 * time-out set; NULL and err otherwise. The password is sent, never told. */
static redisContext *ml_redis_connect(const ml_redis_t *r, ml_redis_state_t *state, char *err,
                                      apr_size_t errlen)
{
    const ml_store_t *st = r->st;
    ml_redis_cmd_t cmds[2], *cmd = cmds;
    char db[ML_REDIS_NUM_LEN];
    redisContext *c = redisConnectWithTimeout(st->where, st->port, r->timeout);
    int i, n;

    if (!c || c->err || redisSetTimeout(c, r->timeout) != REDIS_OK) {
        ml_redis_say(st, err, errlen, "cannot connect", c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        *state = ML_REDIS_UNREACHABLE;
        return NULL;
    }
    redisEnableKeepAlive(c);
    if (st->opts.password) {
        cmd->argc = 0;
        cmd->argv[cmd->argc++] = "AUTH";
        if (st->opts.user)
            cmd->argv[cmd->argc++] = st->opts.user;
        cmd->argv[cmd->argc++] = st->opts.password;
        cmd->refused = st->opts.user ? "AUTH refused (check user= and password=)"
                                     : "AUTH refused (check password=)";
        cmd++;
    }
    if (st->opts.db) {
        apr_snprintf(db, sizeof(db), "%d", st->opts.db);
        cmd->argc = 2;
        cmd->argv[0] = "SELECT", cmd->argv[1] = db;
        cmd->refused = "SELECT refused (check db=)";
        cmd++;
    }
    n = (int)(cmd - cmds);
    for (cmd = cmds; cmd < cmds + n; cmd++)
        for (i = 0; i < cmd->argc; i++)
            cmd->lens[i] = strlen(cmd->argv[i]);
    *state = ml_redis_handshake(st, c, cmds, n, err, errlen);
    if (*state != ML_REDIS_UP) {
        redisFree(c);
        return NULL;
    }
    return c;
}

static void ml_redis_drop(ml_redis_conn_t *cn)
{
    if (cn->c)
        redisFree(cn->c);
    cn->c = NULL;
}

/* Ran when a thread that used the store ends. */
static void ml_redis_conn_destroy(void *data)
{
    ml_redis_conn_t *cn = data;
    ml_redis_t *r = cn->owner;

    pthread_mutex_lock(&r->lock);
    if (cn->prev)
        cn->prev->next = cn->next;
    else
        r->conns = cn->next;
    if (cn->next)
        cn->next->prev = cn->prev;
    pthread_mutex_unlock(&r->lock);
    ml_redis_drop(cn);
    free(cn);
}

/* Whether redis has closed the connection (or sent what nobody asked for):
 * a connection at rest has nothing to read. */
static int ml_redis_alive(const redisContext *c)
{
    char b;
    ssize_t got = recv(c->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

    return got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

/* This thread's connection, made if need be; NULL while redis is down (at
 * most one connect per ML_REDIS_RETRY_MS). */
static ml_redis_conn_t *ml_redis_conn(ml_redis_t *r)
{
    ml_redis_conn_t *cn = pthread_getspecific(r->tls);
    apr_uint32_t gen = ml_random_fork_generation();
    ml_redis_state_t state;
    apr_int64_t now;

    if (!cn) {
        if (!(cn = calloc(1, sizeof(*cn))))
            return NULL;
        cn->owner = r;
        if (pthread_setspecific(r->tls, cn) != 0) {
            free(cn);
            return NULL;
        }
        pthread_mutex_lock(&r->lock);
        cn->next = r->conns;
        if (r->conns)
            r->conns->prev = cn;
        r->conns = cn;
        pthread_mutex_unlock(&r->lock);
    }
    /* A context from before a fork shares its socket with the parent: the
     * child must never read or write it. */
    if (cn->c && (cn->fork_gen != gen || !ml_redis_alive(cn->c)))
        ml_redis_drop(cn);
    if (cn->c)
        return cn;
    now = ml_mono_ms();
    if (now < cn->retry_at)
        return NULL;
    if (!(cn->c = ml_redis_connect(r, &state, cn->why, sizeof(cn->why)))) {
        cn->retry_at = now + ML_REDIS_RETRY_MS;
        return NULL;
    }
    cn->why[0] = '\0';     /* in again: an old reason would be told of a new failure */
    cn->fork_gen = gen;
    return cn;
}

/* One command on this thread's connection: redis's reply (freed by the
 * caller), or NULL when there is none — the connection is then dropped and
 * not made again for ML_REDIS_RETRY_MS. */
static redisReply *ml_redis_call(ml_redis_t *r, int argc, const char **argv, const size_t *lens)
{
    ml_redis_conn_t *cn = ml_redis_conn(r);
    redisReply *rep;
    sigset_t pipe_set, old;
    struct timespec zero = {0, 0};

    if (!cn)
        return NULL;
    /* A write to a closed socket raises SIGPIPE; httpd ignores it, a
     * program that does not gets it blocked here and swallowed. */
    if (r->guard_sigpipe) {
        sigemptyset(&pipe_set);
        sigaddset(&pipe_set, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    }
    rep = redisCommandArgv(cn->c, argc, argv, lens);
    if (r->guard_sigpipe) {
        if (!rep && !sigismember(&old, SIGPIPE))
            while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
                ;
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
    if (!rep) {
        ml_redis_say(r->st, cn->why, sizeof(cn->why), "no answer", cn->c->errstr);
        ml_redis_drop(cn);
        cn->retry_at = ml_mono_ms() + ML_REDIS_RETRY_MS;
    }
    return rep;
}

/* A script by its SHA-1, sent in full the first time a redis has not seen
 * it (argv[0] and argv[1] are the caller's room for the command and the
 * script). */
static redisReply *ml_redis_eval(ml_redis_t *r, const ml_script_t *s, int argc, const char **argv,
                                 size_t *lens)
{
    redisReply *rep;

    argv[0] = "EVALSHA", lens[0] = 7;
    argv[1] = s->sha, lens[1] = 40;
    rep = ml_redis_call(r, argc, argv, lens);
    if (rep && rep->type == REDIS_REPLY_ERROR && !strncmp(rep->str, "NOSCRIPT", 8)) {
        freeReplyObject(rep);
        argv[0] = "EVAL", lens[0] = 4;
        argv[1] = s->src, lens[1] = strlen(s->src);
        rep = ml_redis_call(r, argc, argv, lens);
    }
    return rep;
}

/* What a reply that is not the expected answer means: FULL when redis is
 * out of memory (it then wrote nothing), DOWN for everything else. */
static ml_store_rc_t ml_redis_fail(redisReply *rep)
{
    ml_store_rc_t rc = ML_STORE_DOWN;

    if (rep && rep->type == REDIS_REPLY_ERROR
        && (!strncmp(rep->str, "OOM ", 4) || strstr(rep->str, "OOM command not allowed")))
        rc = ML_STORE_FULL;
    if (rep)
        freeReplyObject(rep);
    return rc;
}

/* ---- arguments and replies ---- */

static void ml_redis_key(char kind, const ml_store_key_t *k, char *out)
{
    memcpy(out, "magiclink:", 10);
    out[10] = kind;
    out[11] = ':';
    ml_store_key_hex(k, out + 12);
}

static size_t ml_num(apr_int64_t v, char *out)
{
    apr_snprintf(out, ML_REDIS_NUM_LEN, "%" APR_INT64_T_FMT, v);
    return strlen(out);
}

/* An integer reply, or a string holding nothing but a decimal integer. */
static int ml_redis_int(const redisReply *rep, apr_int64_t *out)
{
    char buf[ML_REDIS_NUM_LEN], *end;

    if (rep->type == REDIS_REPLY_INTEGER) {
        *out = rep->integer;
        return 1;
    }
    if (rep->type != REDIS_REPLY_STRING || rep->len == 0 || rep->len >= sizeof(buf))
        return 0;
    memcpy(buf, rep->str, rep->len);
    buf[rep->len] = '\0';
    errno = 0;
    *out = apr_strtoi64(buf, &end, 10);
    return errno == 0 && *end == '\0' && (buf[0] == '-' || (buf[0] >= '0' && buf[0] <= '9'));
}

/* {rec, tries, exp} into out; NOTFOUND when it expired, DOWN when it is not
 * what this backend stores. */
static ml_store_rc_t ml_redis_link_out(const redisReply *rep, apr_int64_t now, apr_pool_t *p,
                                       ml_store_link_t *out)
{
    apr_int64_t tries, exp;

    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 3
        || rep->element[0]->type != REDIS_REPLY_STRING || rep->element[0]->len > ML_STORE_REC_MAX
        || !ml_redis_int(rep->element[1], &tries) || tries < 0 || tries > 1 << 30
        || !ml_redis_int(rep->element[2], &exp))
        return ML_STORE_DOWN;
    if (exp < now)
        return ML_STORE_NOTFOUND;
    out->rec = apr_pstrmemdup(p, rep->element[0]->str, rep->element[0]->len);
    out->len = rep->element[0]->len;
    out->tries = (int)tries;
    out->exp = exp;
    return ML_STORE_OK;
}

/* Seconds redis keeps a record that is good until exp (inclusive). */
static apr_int64_t ml_redis_ttl(apr_int64_t exp, apr_int64_t now)
{
    return exp >= now ? exp - now + 1 : 1;
}

/* A queue as the scripts name it: 16 hex digits. */
static void ml_queue_hex(apr_uint64_t q, char out[17])
{
    apr_snprintf(out, 17, "%016" APR_UINT64_T_HEX_FMT, q);
}

/* ---- the operations ---- */

static ml_store_rc_t ml_redis_issue(ml_store_t *st, const ml_store_limit_t *lims, int n,
                                    const ml_store_key_t *id, const char *rec, apr_size_t len,
                                    apr_int64_t now, apr_int64_t exp, const ml_store_mail_t *mail)
{
    const char *argv[ML_REDIS_ARGS_MAX];
    size_t lens[ML_REDIS_ARGS_MAX];
    char keys[ML_STORE_LIMITS_MAX + 2][ML_REDIS_KEY_LEN], mid[2 * ML_STORE_KEY_LEN + 1];
    char qhex[17];
    char nums[2 * ML_STORE_LIMITS_MAX + 12][ML_REDIS_NUM_LEN];
    int nkeys = n, argc = 3, i, a = 0, k;
    redisReply *rep;
    ml_store_rc_t rc;

    if (n < 0 || n > ML_STORE_LIMITS_MAX || (rec && (!id || len > ML_STORE_REC_MAX)))
        return ML_STORE_DOWN;
    for (i = 0; i < n; i++) {
        if (lims[i].window <= 0)
            return ML_STORE_DOWN;
        ml_redis_key('c', &lims[i].key, keys[i]);
    }
    if (rec)
        ml_redis_key('u', id, keys[nkeys++]);
    if (mail) {
        ml_redis_key('o', &mail->id, keys[nkeys++]);
        ml_store_key_hex(&mail->id, mid);
    }
    argv[2] = nums[a], lens[2] = ml_num(nkeys + (mail ? 2 : 0), nums[a]), a++;
    for (k = 0; k < nkeys; k++)
        argv[argc] = keys[k], lens[argc++] = ML_REDIS_KEY_LEN - 1;
    if (mail) {
        argv[argc] = ML_REDIS_OUTBOX, lens[argc++] = sizeof(ML_REDIS_OUTBOX) - 1;
        argv[argc] = ML_REDIS_OUTBOX_BORN, lens[argc++] = sizeof(ML_REDIS_OUTBOX_BORN) - 1;
    }
    argv[argc] = nums[a], lens[argc++] = ml_num(n, nums[a]), a++;
    argv[argc] = rec ? "1" : "0", lens[argc++] = 1;
    argv[argc] = mail ? "1" : "0", lens[argc++] = 1;
    for (i = 0; i < n; i++) {
        argv[argc] = nums[a], lens[argc++] = ml_num(lims[i].limit, nums[a]), a++;
        argv[argc] = nums[a], lens[argc++] = ml_num(lims[i].window, nums[a]), a++;
    }
    if (rec) {
        argv[argc] = rec, lens[argc++] = len;
        argv[argc] = nums[a], lens[argc++] = ml_num(exp, nums[a]), a++;
        argv[argc] = nums[a], lens[argc++] = ml_num(ml_redis_ttl(exp, now), nums[a]), a++;
    }
    if (mail) {
        apr_int64_t v[5] = { mail->created, mail->due, mail->exp,
                             ml_redis_ttl(mail->exp, now) + ML_REDIS_LEASE_SLACK,
                             st->opts.outbox_max };
        argv[argc] = mail->data, lens[argc++] = mail->len;
        for (i = 0; i < 4; i++)
            argv[argc] = nums[a], lens[argc++] = ml_num(v[i], nums[a]), a++;
        argv[argc] = mid, lens[argc++] = 2 * ML_STORE_KEY_LEN;
        argv[argc] = nums[a], lens[argc++] = ml_num(v[4], nums[a]), a++;
        ml_queue_hex(mail->queue, qhex);
        argv[argc] = qhex, lens[argc++] = 16;
    }
    rep = ml_redis_eval(st->impl, &ml_script_issue, argc, argv, lens);
    if (!rep || rep->type != REDIS_REPLY_INTEGER || rep->integer < 0 || rep->integer > 2)
        return ml_redis_fail(rep);
    rc = rep->integer == 0 ? ML_STORE_OK : rep->integer == 1 ? ML_STORE_OVER : ML_STORE_FULL;
    freeReplyObject(rep);
    return rc;
}

static ml_store_rc_t ml_redis_get(ml_store_t *st, const ml_store_key_t *id, apr_int64_t now,
                                  apr_pool_t *p, ml_store_link_t *out)
{
    char key[ML_REDIS_KEY_LEN];
    const char *argv[] = {"HMGET", key, "rec", "tries", "exp"};
    size_t lens[] = {5, ML_REDIS_KEY_LEN - 1, 3, 5, 3};
    redisReply *rep;
    ml_store_rc_t rc;

    ml_redis_key('u', id, key);
    rep = ml_redis_call(st->impl, 5, argv, lens);
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != 3)
        return ml_redis_fail(rep);
    if (rep->element[0]->type == REDIS_REPLY_NIL && rep->element[1]->type == REDIS_REPLY_NIL
        && rep->element[2]->type == REDIS_REPLY_NIL)
        rc = ML_STORE_NOTFOUND;
    else
        rc = ml_redis_link_out(rep, now, p, out);
    freeReplyObject(rep);
    return rc;
}

/* A script on one link that answers nil (none), or the link. */
static ml_store_rc_t ml_redis_link_script(ml_store_t *st, const ml_script_t *s,
                                          const ml_store_key_t *id, int nargs,
                                          const apr_int64_t *args, apr_int64_t now, apr_pool_t *p,
                                          ml_store_link_t *out)
{
    char key[ML_REDIS_KEY_LEN], nums[2][ML_REDIS_NUM_LEN];
    const char *argv[6] = {NULL, NULL, "1", key};
    size_t lens[6] = {0, 0, 1, ML_REDIS_KEY_LEN - 1};
    redisReply *rep;
    ml_store_rc_t rc;
    int i;

    ml_redis_key('u', id, key);
    for (i = 0; i < nargs; i++)
        argv[4 + i] = nums[i], lens[4 + i] = ml_num(args[i], nums[i]);
    rep = ml_redis_eval(st->impl, s, 4 + nargs, argv, lens);
    if (!rep)
        return ML_STORE_DOWN;
    if (rep->type == REDIS_REPLY_NIL)
        rc = ML_STORE_NOTFOUND;
    else if (rep->type == REDIS_REPLY_INTEGER && rep->integer == 0 && s == &ml_script_try)
        rc = ML_STORE_OVER;
    else if (rep->type == REDIS_REPLY_ARRAY)
        rc = ml_redis_link_out(rep, now, p, out);
    else
        return ml_redis_fail(rep);
    freeReplyObject(rep);
    return rc;
}

static ml_store_rc_t ml_redis_take(ml_store_t *st, const ml_store_key_t *id, apr_int64_t now,
                                   apr_pool_t *p, ml_store_link_t *out)
{
    return ml_redis_link_script(st, &ml_script_take, id, 1, &now, now, p, out);
}

static ml_store_rc_t ml_redis_try(ml_store_t *st, const ml_store_key_t *id, int max,
                                  apr_int64_t now, apr_pool_t *p, ml_store_link_t *out)
{
    apr_int64_t args[2] = {max, now};

    return ml_redis_link_script(st, &ml_script_try, id, 2, args, now, p, out);
}

static ml_store_rc_t ml_redis_replace(ml_store_t *st, const ml_store_key_t *id, const char *old,
                                      apr_size_t oldlen, const char *rec, apr_size_t len,
                                      apr_int64_t now)
{
    char key[ML_REDIS_KEY_LEN], num[ML_REDIS_NUM_LEN];
    const char *argv[] = {NULL, NULL, "1", key, old, rec, num};
    size_t lens[] = {0, 0, 1, ML_REDIS_KEY_LEN - 1, oldlen, len, ml_num(now, num)};
    redisReply *rep;
    ml_store_rc_t rc;

    if (!old || !rec || len > ML_STORE_REC_MAX)
        return ML_STORE_DOWN;
    ml_redis_key('u', id, key);
    rep = ml_redis_eval(st->impl, &ml_script_replace, 7, argv, lens);
    if (!rep || rep->type != REDIS_REPLY_INTEGER || (rep->integer != 0 && rep->integer != 1))
        return ml_redis_fail(rep);
    rc = rep->integer == 1 ? ML_STORE_OK : ML_STORE_NOTFOUND;
    freeReplyObject(rep);
    return rc;
}

static ml_store_rc_t ml_redis_set_time(ml_store_t *st, const ml_store_key_t *k, apr_int64_t value,
                                       apr_int64_t exp, apr_int64_t now)
{
    char key[ML_REDIS_KEY_LEN], nums[2][ML_REDIS_NUM_LEN];
    const char *argv[] = {NULL, NULL, "1", key, nums[0], nums[1]};
    size_t lens[] = {0,
                     0,
                     1,
                     ML_REDIS_KEY_LEN - 1,
                     ml_num(value, nums[0]),
                     ml_num(ml_redis_ttl(exp, now), nums[1])};
    redisReply *rep;

    ml_redis_key('v', k, key);
    rep = ml_redis_eval(st->impl, &ml_script_set_time, 6, argv, lens);
    if (!rep || rep->type != REDIS_REPLY_INTEGER || rep->integer != 0)
        return ml_redis_fail(rep);
    freeReplyObject(rep);
    return ML_STORE_OK;
}

/* One MGET for every key: the gate's two sign-out reads are one round trip. */
static ml_store_rc_t ml_redis_get_times(ml_store_t *st, const ml_store_key_t *keys, int n,
                                        apr_int64_t now, apr_int64_t *values)
{
    char key[ML_STORE_TIMES_MAX][ML_REDIS_KEY_LEN];
    const char *argv[1 + ML_STORE_TIMES_MAX] = {"MGET"};
    size_t lens[1 + ML_STORE_TIMES_MAX] = {4};
    redisReply *rep;
    ml_store_rc_t rc = ML_STORE_OK;
    int i;

    for (i = 0; i < n; i++) {
        ml_redis_key('v', &keys[i], key[i]);
        argv[1 + i] = key[i];
        lens[1 + i] = ML_REDIS_KEY_LEN - 1;
    }
    rep = ml_redis_call(st->impl, 1 + n, argv, lens);
    if (!rep || rep->type != REDIS_REPLY_ARRAY || rep->elements != (size_t)n)
        return ml_redis_fail(rep);
    for (i = 0; i < n && rc == ML_STORE_OK; i++) {
        redisReply *e = rep->element[i];
        if (e->type == REDIS_REPLY_NIL)
            values[i] = 0;
        else if (e->type != REDIS_REPLY_STRING || !ml_redis_int(e, &values[i]))
            rc = ML_STORE_DOWN;
    }
    freeReplyObject(rep);
    return rc;
}

/* What went wrong last on this thread's connection ("" when nothing has). */
static const char *ml_redis_why(ml_store_t *st)
{
    ml_redis_conn_t *cn = pthread_getspecific(((ml_redis_t *)st->impl)->tls);

    return cn ? cn->why : "";
}

static ml_store_rc_t ml_redis_ping(ml_store_t *st)
{
    const char *argv[] = {"PING"};
    size_t lens[] = {4};
    redisReply *rep = ml_redis_call(st->impl, 1, argv, lens);

    if (!rep || rep->type != REDIS_REPLY_STATUS || strcmp(rep->str, "PONG") != 0)
        return ml_redis_fail(rep);
    freeReplyObject(rep);
    return ML_STORE_OK;
}

/* ---- open and close ---- */

/* One command of open's check that must answer `want` (a status, or nil):
 * UP, or what went wrong in err. */
static ml_redis_state_t ml_redis_expect(const ml_store_t *st, redisContext *c, int argc,
                                        const char **argv, const size_t *lens, int type,
                                        const char *want, const char *refused, char *err,
                                        apr_size_t errlen)
{
    redisReply *rep = redisCommandArgv(c, argc, argv, lens);
    ml_redis_state_t state = ML_REDIS_UP;

    if (!rep) {
        ml_redis_say(st, err, errlen, "no answer", c->errstr);
        return ML_REDIS_UNREACHABLE;
    }
    if (rep->type == REDIS_REPLY_ERROR && !strncmp(rep->str, "NOAUTH", 6)) {
        ml_redis_say(st, err, errlen, "redis asks for a password (set password=)", rep->str);
        state = ML_REDIS_REFUSED;
    } else if (rep->type != type || (want && strcmp(rep->str, want) != 0)) {
        ml_redis_say(st, err, errlen, refused,
                     rep->type == REDIS_REPLY_ERROR ? rep->str : "unexpected answer");
        state = ml_redis_refusal(rep);
    }
    freeReplyObject(rep);
    return state;
}

/* A warning in st->warning when redis may evict our keys, or when the
 * policy cannot be read (an ACL user without CONFIG, a renamed CONFIG): the
 * admin is then the one to make sure. */
static void ml_redis_check_policy(ml_store_t *st, redisContext *c)
{
    const char *argv[] = {"CONFIG", "GET", "maxmemory-policy"};
    size_t lens[] = {6, 3, 16};
    redisReply *rep = redisCommandArgv(c, 3, argv, lens);
    char addr[300];

    ml_redis_addr(st, addr, sizeof(addr));
    if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 2
        && rep->element[1]->type == REDIS_REPLY_STRING
        && strcmp(rep->element[1]->str, "noeviction") != 0)
        st->warning =
            apr_psprintf(st->pool,
                         "redis %s: maxmemory-policy is %s, not noeviction: redis may drop "
                         "links, rate counters and sign-outs when its memory is full (set "
                         "maxmemory-policy noeviction; a full redis then refuses new links)",
                         addr, rep->element[1]->str);
    else if (rep && rep->type == REDIS_REPLY_ERROR)
        st->warning =
            apr_psprintf(st->pool,
                         "redis %s: maxmemory-policy cannot be read (%s): make sure it is "
                         "noeviction, or redis may drop links, rate counters and sign-outs "
                         "when its memory is full",
                         addr, rep->str);
    if (rep)
        freeReplyObject(rep);
}

/* The first connection of this process, to tell a wrong setting at once:
 * PING answered; a script allowed to read our keys (an ACL user needs
 * scripting and ~magiclink:*), which also loads it — run on a key no link
 * ever has, it writes nothing; the sign-out script loaded (its allow-oom
 * flag needs redis 7); the eviction policy read where it may be. */
static ml_redis_state_t ml_redis_check(ml_store_t *st, char *err, apr_size_t errlen)
{
    static const char probe_key[] =
        "magiclink:u:"
        "0000000000000000000000000000000000000000000000000000000000000000";
    const char *ping[] = {"PING"};
    const char *eval[] = {"EVAL", ml_script_take.src, "1", probe_key, "0"};
    const char *load[] = {"SCRIPT", "LOAD", ml_script_set_time.src};
    size_t ping_len[] = {4},
           eval_len[] = {4, strlen(ml_script_take.src), 1, sizeof(probe_key) - 1, 1},
           load_len[] = {6, 4, strlen(ml_script_set_time.src)};
    ml_redis_state_t state;
    redisContext *c = ml_redis_connect(st->impl, &state, err, errlen);

    if (!c)
        return state;
    state = ml_redis_expect(st, c, 1, ping, ping_len, REDIS_REPLY_STATUS, "PONG", "PING refused",
                            err, errlen);
    if (state == ML_REDIS_UP)
        state = ml_redis_expect(st, c, 5, eval, eval_len, REDIS_REPLY_NIL, NULL,
                                "a script was refused (a user needs +@scripting, "
                                "+@read, +@write and ~magiclink:*)",
                                err, errlen);
    if (state == ML_REDIS_UP)
        state = ml_redis_expect(st, c, 3, load, load_len, REDIS_REPLY_STRING,
                                ml_script_set_time.sha,
                                "the sign-out script was refused (it needs redis 7.0 or later, "
                                "to record sign-outs when redis is out of memory)",
                                err, errlen);
    if (state == ML_REDIS_UP)
        ml_redis_check_policy(st, c);
    redisFree(c);
    return state;
}

static void ml_redis_close(ml_store_t *st)
{
    ml_redis_t *r = st->impl;
    ml_redis_conn_t *cn, *next;

    /* First, so that no thread's destructor runs on what is freed below. */
    pthread_key_delete(r->tls);
    pthread_mutex_lock(&r->lock);
    for (cn = r->conns; cn; cn = next) {
        next = cn->next;
        ml_redis_drop(cn);
        free(cn);
    }
    r->conns = NULL;
    pthread_mutex_unlock(&r->lock);
    pthread_mutex_destroy(&r->lock);
    st->impl = NULL;
}

/* Opens the store: checks it once from this process. A redis that refuses
 * us (AUTH, SELECT) fails the open; one that does not answer yet does not —
 * the store then answers ML_STORE_DOWN until redis does, and st->warning
 * says so. st->warning also tells of an evicting maxmemory-policy. */
static apr_status_t ml_redis_open(ml_store_t *st, char *err, apr_size_t errlen)
{
    ml_redis_t *r;
    struct sigaction sa;
    char why[512];

    st->warning = NULL;
    if (!*st->where || st->opts.timeout_ms <= 0) {
        apr_snprintf(err, errlen, "redis needs HOST:PORT and a time-out");
        return APR_EINVAL;
    }
    pthread_once(&ml_scripts_once, ml_scripts_hash);
    if (!ml_scripts_ok) {
        apr_snprintf(err, errlen, "redis: no SHA-1 from OpenSSL for the scripts");
        return APR_EGENERAL;
    }
    r = apr_pcalloc(st->pool, sizeof(*r));
    r->st = st;
    r->timeout.tv_sec = st->opts.timeout_ms / 1000;
    r->timeout.tv_usec = (st->opts.timeout_ms % 1000) * 1000;
    r->guard_sigpipe = sigaction(SIGPIPE, NULL, &sa) != 0 || sa.sa_handler != SIG_IGN;
    if (pthread_key_create(&r->tls, ml_redis_conn_destroy) != 0) {
        apr_snprintf(err, errlen, "redis: no thread key left");
        return APR_ENOMEM;
    }
    pthread_mutex_init(&r->lock, NULL);
    st->impl = r;
    switch (ml_redis_check(st, why, sizeof(why))) {
    case ML_REDIS_REFUSED:
        if (st->refusal_is_outage) {
            st->warning = apr_pstrcat(st->pool, why, " (every operation fails closed until "
                                      "redis lets us in)", NULL);
            break;
        }
        apr_cpystrn(err, why, errlen);
        ml_redis_close(st);
        return APR_EGENERAL;
    case ML_REDIS_UNREACHABLE:
        st->warning =
            apr_pstrcat(st->pool, why, " (every operation fails closed until redis answers)", NULL);
        break;
    default:
        break;
    }
    return APR_SUCCESS;
}

/* ---- the outbox ---- */

static int ml_redis_hex_key(const char *hex, apr_size_t n, ml_store_key_t *out)
{
    return n == 2 * ML_STORE_KEY_LEN && ml_hex_decode(hex, n, out->b);
}

static ml_store_rc_t ml_redis_claim_out(redisReply *rep, apr_pool_t *p, ml_store_mail_t *out)
{
    apr_int64_t att;

    if (rep->type != REDIS_REPLY_ARRAY || rep->elements != 7
        || rep->element[0]->type != REDIS_REPLY_STRING
        || rep->element[1]->type != REDIS_REPLY_STRING
        || rep->element[6]->type != REDIS_REPLY_STRING || rep->element[6]->len != 16
        || !ml_redis_hex_key(rep->element[0]->str, rep->element[0]->len, &out->id)
        || !ml_redis_int(rep->element[2], &out->created)
        || !ml_redis_int(rep->element[3], &out->due) || !ml_redis_int(rep->element[4], &out->exp)
        || !ml_redis_int(rep->element[5], &att))
        return ML_STORE_DOWN;
    out->data = apr_pstrmemdup(p, rep->element[1]->str, rep->element[1]->len);
    out->len = rep->element[1]->len;
    out->attempts = (int)att;
    out->queue = (apr_uint64_t)strtoull(rep->element[6]->str, NULL, 16);
    return ML_STORE_OK;
}

static ml_store_rc_t ml_redis_claim(ml_store_t *st, const apr_uint64_t *queues, int nqueues,
                                    apr_int64_t now, int lease, apr_pool_t *p,
                                    ml_store_mail_t *out)
{
    char nums[2][ML_REDIS_NUM_LEN], qhex[ML_STORE_QUEUES_MAX][17];
    const char *argv[8 + ML_STORE_QUEUES_MAX] = { NULL, NULL, "2", ML_REDIS_OUTBOX,
                                                  ML_REDIS_OUTBOX_BORN, nums[0], nums[1],
                                                  ML_REDIS_MAIL_PREFIX };
    size_t lens[8 + ML_STORE_QUEUES_MAX] = { 0, 0, 1, sizeof(ML_REDIS_OUTBOX) - 1,
                                             sizeof(ML_REDIS_OUTBOX_BORN) - 1,
                                             ml_num(now, nums[0]), ml_num(lease, nums[1]),
                                             sizeof(ML_REDIS_MAIL_PREFIX) - 1 };
    redisReply *rep;
    ml_store_rc_t rc;
    int i;

    for (i = 0; i < nqueues; i++) {
        ml_queue_hex(queues[i], qhex[i]);
        argv[8 + i] = qhex[i];
        lens[8 + i] = 16;
    }
    rep = ml_redis_eval(st->impl, &ml_script_claim, 8 + nqueues, argv, lens);
    if (!rep)
        return ML_STORE_DOWN;
    if (rep->type == REDIS_REPLY_NIL)
        rc = ML_STORE_NOTFOUND;
    else if (rep->type == REDIS_REPLY_ARRAY)
        rc = ml_redis_claim_out(rep, p, out);
    else
        return ml_redis_fail(rep);
    freeReplyObject(rep);
    return rc;
}

static ml_store_rc_t ml_redis_mail_op(ml_store_t *st, const ml_store_key_t *id, int retry,
                                      apr_int64_t due)
{
    char key[ML_REDIS_KEY_LEN], mid[2 * ML_STORE_KEY_LEN + 1], num[ML_REDIS_NUM_LEN];
    const char *argv[] = { NULL, NULL, "3", key, ML_REDIS_OUTBOX, ML_REDIS_OUTBOX_BORN, mid, num };
    size_t lens[] = { 0, 0, 1, ML_REDIS_KEY_LEN - 1, sizeof(ML_REDIS_OUTBOX) - 1,
                      sizeof(ML_REDIS_OUTBOX_BORN) - 1, 2 * ML_STORE_KEY_LEN, 0 };
    redisReply *rep;
    ml_store_rc_t rc;

    ml_redis_key('o', id, key);
    ml_store_key_hex(id, mid);
    lens[7] = ml_num(due, num);
    rep = ml_redis_eval(st->impl, &ml_script_mail, retry ? 8 : 7, argv, lens);
    if (!rep || rep->type != REDIS_REPLY_INTEGER)
        return ml_redis_fail(rep);
    rc = rep->integer == 1 ? ML_STORE_OK : ML_STORE_NOTFOUND;
    freeReplyObject(rep);
    return rc;
}

static ml_store_rc_t ml_redis_mail_done(ml_store_t *st, const ml_store_key_t *id)
{
    return ml_redis_mail_op(st, id, 0, 0);
}

static ml_store_rc_t ml_redis_mail_retry(ml_store_t *st, const ml_store_key_t *id,
                                         apr_int64_t due)
{
    return ml_redis_mail_op(st, id, 1, due);
}

static ml_store_rc_t ml_redis_outbox_stats(ml_store_t *st, apr_int64_t now, int *depth,
                                           apr_int64_t *oldest)
{
    const char *zcard[] = { "ZCARD", ML_REDIS_OUTBOX };
    size_t zl[] = { 5, sizeof(ML_REDIS_OUTBOX) - 1 };
    const char *first[] = { "ZRANGE", ML_REDIS_OUTBOX_BORN, "0", "0", "WITHSCORES" };
    size_t fl[] = { 6, sizeof(ML_REDIS_OUTBOX_BORN) - 1, 1, 1, 10 };
    redisReply *rep = ml_redis_call(st->impl, 2, zcard, zl);
    char *end;

    if (!rep || rep->type != REDIS_REPLY_INTEGER)
        return ml_redis_fail(rep);
    *depth = (int)rep->integer;
    freeReplyObject(rep);
    rep = ml_redis_call(st->impl, 5, first, fl);
    if (!rep || rep->type != REDIS_REPLY_ARRAY)
        return ml_redis_fail(rep);
    if (rep->elements == 2 && rep->element[1]->type == REDIS_REPLY_STRING)
        *oldest = apr_strtoi64(rep->element[1]->str, &end, 10);
    freeReplyObject(rep);
    return ML_STORE_OK;
}

const ml_store_ops_t ml_store_redis_ops = {
    "redis",           ml_redis_open,     ml_redis_close, ml_redis_issue,
    ml_redis_get,      ml_redis_take,     ml_redis_try,   ml_redis_replace,
    ml_redis_set_time, ml_redis_get_times, ml_redis_ping,  ml_redis_claim,
    ml_redis_mail_done, ml_redis_mail_retry, ml_redis_outbox_stats, ml_redis_why,
};
