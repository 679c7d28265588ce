/* The state store: what the gate remembers between requests, on every server
 * that shares it — unused links (with their code tries), rate-limit counters
 * and sign-out times. Two backends, one contract:
 *
 *   lmdb:DIR           one server (ml_store_lmdb.c): a memory map shared by
 *                      every process; readers take no lock and make no system
 *                      call, writers one short transaction each.
 *   redis:HOST:PORT    several servers (ml_store_redis.c, hiredis): every
 *                      operation one atomic script or command.
 *
 * The contract every backend keeps:
 *   - nothing is evicted: a record lives until its expiry or until it is
 *     taken; a store that is full refuses new writes (ML_STORE_FULL);
 *   - every operation is atomic against every other, across threads,
 *     processes and servers;
 *   - a refusal writes nothing (ML_STORE_OVER leaves every counter as it was);
 *   - a failure is ML_STORE_DOWN, never a guess: callers fail closed.
 *
 * Keys are ml_store_key_t, 32 bytes derived by the caller with a secret
 * (ml_store_key below), so nobody outside can say where an entry lives.
 * Backends are thread-safe; each keeps its own per-thread state (LMDB read
 * transactions, redis connections). Open a store in each process after fork
 * (child_init), never before. */
#ifndef ML_STORE_H
#define ML_STORE_H

#include <apr_pools.h>
#include "ml_hmac.h"

#define ML_STORE_KEY_LEN 32
#define ML_STORE_REC_MAX 2048      /* largest link record */
#define ML_STORE_LIMITS_MAX 4

typedef struct ml_store_key {
    unsigned char b[ML_STORE_KEY_LEN];
} ml_store_key_t;

typedef enum {
    ML_STORE_OK = 0,
    ML_STORE_NOTFOUND,  /* no such record: unknown, taken or expired */
    ML_STORE_OVER,      /* a limit is reached; nothing was written */
    ML_STORE_FULL,      /* no room; nothing was written */
    ML_STORE_DOWN       /* the store failed or did not answer in time */
} ml_store_rc_t;

const char *ml_store_strerror(ml_store_rc_t rc);

/* A fixed-window counter: at most `limit` in `window` seconds. */
typedef struct ml_store_limit {
    ml_store_key_t key;
    int limit;
    int window;
} ml_store_limit_t;

/* A link record as stored: the caller's encoded claims (ml_linkrec.h) and
 * the code tries counted so far. rec is in the caller's pool. */
typedef struct ml_store_link {
    const char *rec;
    apr_size_t len;
    int tries;
    apr_int64_t exp;
} ml_store_link_t;

/* A message in the outbox: what the deliverer needs (ml_outbox.h encodes
 * it; opaque to the store), when it is next due, and when it is given up. */
#define ML_STORE_MAIL_MAX (128 * 1024)

typedef struct ml_store_mail {
    ml_store_key_t id;
    apr_uint64_t queue;         /* whose mail: servers claim only their queues' */
    const char *data;
    apr_size_t len;
    apr_int64_t created;
    apr_int64_t due;
    apr_int64_t exp;
    int attempts;               /* claims so far, this one included */
    int drop;                   /* never to be sent: queued only so that every request
                                 * does the same work; a backend may remove it itself
                                 * at a claim, or hand it out like any other */
} ml_store_mail_t;

/* Options from `MagicLinkCache SPEC [name=value ...]`. */
typedef struct ml_store_opts {
    apr_int64_t map_size;       /* lmdb: bytes [64 MiB]; 0: as the store on disk has it */
    int timeout_ms;             /* redis: connect and per-command [1000] */
    const char *user;           /* redis ACL user */
    const char *password;       /* redis AUTH */
    int db;                     /* redis SELECT */
    int outbox_max;             /* messages the outbox holds at most [10000] */
} ml_store_opts_t;

typedef struct ml_store ml_store_t;

typedef struct ml_store_ops {
    const char *scheme;
    /* Opens (creating where the backend does) in this process. */
    apr_status_t (*open)(ml_store_t *st, char *err, apr_size_t errlen);
    void (*close)(ml_store_t *st);
    ml_store_rc_t (*issue)(ml_store_t *st, const ml_store_limit_t *lims, int n,
                           const ml_store_key_t *id, const char *rec, apr_size_t len,
                           apr_int64_t now, apr_int64_t exp, const ml_store_mail_t *mail);
    ml_store_rc_t (*get)(ml_store_t *st, const ml_store_key_t *id, apr_int64_t now,
                         apr_pool_t *p, ml_store_link_t *out);
    ml_store_rc_t (*take)(ml_store_t *st, const ml_store_key_t *id, apr_int64_t now,
                          apr_pool_t *p, ml_store_link_t *out);
    ml_store_rc_t (*try_code)(ml_store_t *st, const ml_store_key_t *id, int max,
                              apr_int64_t now, apr_pool_t *p, ml_store_link_t *out);
    ml_store_rc_t (*replace)(ml_store_t *st, const ml_store_key_t *id, const char *old,
                             apr_size_t oldlen, const char *rec, apr_size_t len,
                             apr_int64_t now);
    ml_store_rc_t (*set_time)(ml_store_t *st, const ml_store_key_t *k, apr_int64_t value,
                              apr_int64_t exp, apr_int64_t now);
    ml_store_rc_t (*get_times)(ml_store_t *st, const ml_store_key_t *keys, int n,
                               apr_int64_t now, apr_int64_t *values);
    ml_store_rc_t (*ping)(ml_store_t *st);
    ml_store_rc_t (*claim)(ml_store_t *st, const apr_uint64_t *queues, int nqueues,
                           apr_int64_t now, int lease, apr_pool_t *p, ml_store_mail_t *out);
    ml_store_rc_t (*mail_done)(ml_store_t *st, const ml_store_key_t *id);
    ml_store_rc_t (*mail_retry)(ml_store_t *st, const ml_store_key_t *id, apr_int64_t due);
    ml_store_rc_t (*outbox_stats)(ml_store_t *st, apr_int64_t now, int *depth,
                                  apr_int64_t *oldest);
    /* What went wrong last in this thread, for the log; NULL: nothing to add. */
    const char *(*why)(ml_store_t *st);
} ml_store_ops_t;

struct ml_store {
    const ml_store_ops_t *ops;
    const char *spec;           /* as configured, for messages */
    const char *where;          /* lmdb: the directory; redis: host */
    int port;
    ml_store_opts_t opts;
    apr_pool_t *pool;           /* lives as long as the store */
    void *impl;                 /* the backend's own; NULL while not open */
    const char *warning;        /* set by open: a risk to log (redis: an evicting
                                 * maxmemory-policy, or not answering yet), or NULL */
    int refusal_is_outage;      /* set by the caller: a store that refuses us (redis:
                                 * AUTH, SELECT, a script) opens anyway and fails
                                 * closed until it lets us in, rather than failing the
                                 * open (a restart, a child: no server taken down) */
};

/* Parses "lmdb:DIR" or "redis:HOST:PORT" with options "size=64M",
 * "timeout=1000", "user=U", "password=P", "db=N" into a closed store in p.
 * default_dir is used for "lmdb" with no directory. */
apr_status_t ml_store_parse(ml_store_t **out, const char *spec, const char *const *opts,
                            int nopts, apr_pool_t *p, char *err, apr_size_t errlen);

/* Opens the store in this process (after fork). */
apr_status_t ml_store_open(ml_store_t *st, char *err, apr_size_t errlen);
void ml_store_close(ml_store_t *st);

/* If every limit is below its count, adds one to each, records the link
 * (id → rec, tries 0, until exp) and puts mail (when not NULL) in the
 * outbox, all at once; else ML_STORE_OVER and nothing written. A full
 * outbox (opts.outbox_max) or store: ML_STORE_FULL, nothing written. n may
 * be 0; rec may be NULL to count only. */
ml_store_rc_t ml_store_issue(ml_store_t *st, const ml_store_limit_t *lims, int n,
                             const ml_store_key_t *id, const char *rec, apr_size_t len,
                             apr_int64_t now, apr_int64_t exp, const ml_store_mail_t *mail);
/* The link's record, left in place. */
ml_store_rc_t ml_store_get(ml_store_t *st, const ml_store_key_t *id, apr_int64_t now,
                           apr_pool_t *p, ml_store_link_t *out);
/* Removes the link and returns what it held: exactly one caller, on every
 * server, gets ML_STORE_OK for a link; the others ML_STORE_NOTFOUND. */
ml_store_rc_t ml_store_take(ml_store_t *st, const ml_store_key_t *id, apr_int64_t now,
                            apr_pool_t *p, ml_store_link_t *out);
/* Counts one code try on the link: ML_STORE_OVER (nothing written) when
 * `max` tries were counted already; else the record with tries after this
 * one. Exactly `max` callers ever get ML_STORE_OK for one link. */
ml_store_rc_t ml_store_try_code(ml_store_t *st, const ml_store_key_t *id, int max,
                                apr_int64_t now, apr_pool_t *p, ml_store_link_t *out);
/* Replaces the link's record if it still holds `old` (compare and set):
 * ML_STORE_NOTFOUND when it is gone or holds something else. Expiry and
 * tries stay. */
ml_store_rc_t ml_store_replace(ml_store_t *st, const ml_store_key_t *id, const char *old,
                               apr_size_t oldlen, const char *rec, apr_size_t len,
                               apr_int64_t now);
/* A time under k, kept until exp; a smaller value never replaces a larger.
 * Durable before it returns (LMDB: synced to disk). */
ml_store_rc_t ml_store_set_time(ml_store_t *st, const ml_store_key_t *k, apr_int64_t value,
                                apr_int64_t exp, apr_int64_t now);
/* The times under keys[0..n) (n at most ML_STORE_TIMES_MAX) in one read
 * of the store (LMDB: one read transaction; redis: one MGET), each 0 when
 * there is none; the answer for all or ML_STORE_DOWN. */
#define ML_STORE_TIMES_MAX 4
ml_store_rc_t ml_store_get_times(ml_store_t *st, const ml_store_key_t *keys, int n,
                                 apr_int64_t now, apr_int64_t *values);
/* The time under k, or 0 when there is none (a real answer: the store was
 * read; a store that cannot be read is ML_STORE_DOWN). */
ml_store_rc_t ml_store_get_time(ml_store_t *st, const ml_store_key_t *k, apr_int64_t now,
                                apr_int64_t *value);
/* Whether the store answers. */
ml_store_rc_t ml_store_ping(ml_store_t *st);

/* Why the last operation of this thread failed, as far as the backend can
 * tell ("redis 10.0.0.5:6379: AUTH refused ..."), never a secret; "" if it
 * cannot say. */
const char *ml_store_why(ml_store_t *st);

/* The outbox. claim takes a message of one of `queues` that is due (due <=
 * now; the most overdue among the first ML_STORE_CLAIM_SCAN due ones) for
 * `lease` seconds: its due moves to now + lease and its attempts up by one,
 * so a deliverer that dies holding it only delays it; ML_STORE_NOTFOUND
 * when nothing of those queues is due. Queues keep servers that share a
 * store but not a mailer from taking each other's mail. mail_done removes a message (delivered, refused for good,
 * or given up); mail_retry sets when it is next due. outbox_stats: how many
 * messages wait, and the creation time of the oldest (0 when none). */
#define ML_STORE_CLAIM_SCAN 64
#define ML_STORE_QUEUES_MAX 16
ml_store_rc_t ml_store_claim(ml_store_t *st, const apr_uint64_t *queues, int nqueues,
                             apr_int64_t now, int lease, apr_pool_t *p, ml_store_mail_t *out);
ml_store_rc_t ml_store_mail_done(ml_store_t *st, const ml_store_key_t *id);
ml_store_rc_t ml_store_mail_retry(ml_store_t *st, const ml_store_key_t *id, apr_int64_t due);
ml_store_rc_t ml_store_outbox_stats(ml_store_t *st, apr_int64_t now, int *depth,
                                    apr_int64_t *oldest);

/* The store key of (kind, value) under the store secret: HMAC-SHA256 of
 * kind "|" value. Kinds: 'u' link ids, 'e'/'E'/'i'/'d' rate counters,
 * 'v' sign-out times. */
void ml_store_key(const ml_hmac_key_t *secret, const char *kind, const char *value,
                  apr_size_t vlen, ml_store_key_t *out);

/* Lower-case hex of a key into out (2 * ML_STORE_KEY_LEN + 1 bytes). */
void ml_store_key_hex(const ml_store_key_t *k, char *out);

extern const ml_store_ops_t ml_store_lmdb_ops;
extern const ml_store_ops_t ml_store_redis_ops;

#endif
