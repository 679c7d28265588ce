/* The LMDB backend of the state store (lmdb:DIR): one memory map shared by
 * every process of one server.
 *
 * Two databases: "rec" maps a 32-byte key to a record (header + payload);
 * "exp" indexes records by expiry (8-byte big-endian time, then the key), so
 * expired records are reclaimed a few at a time by every write, in order,
 * without scanning: the store cannot grow without bound.
 *
 * Readers (the gate's sign-out check) use a read transaction kept per
 * thread and renewed per call: no lock and no system call. Writers take
 * LMDB's single writer lock for one short transaction. The environment is
 * opened with MDB_NOSYNC: a commit reaches the page cache (it survives any
 * process crash, kill -9 included) but not the disk; set_time (sign-outs)
 * syncs before it returns, so only links and counters can be lost, and only
 * by a power cut or a kernel crash. And with MDB_WRITEMAP: a writer changes
 * the shared map in place, with no write() per page (POST verify and
 * generate spent most of their store time there, `make bench-syscalls`);
 * the price, a stray write through a wild pointer in the process could
 * reach the file, is one every process that can write the store pays
 * anyway. Every process opens the store with the same flags (ml_store). */
#include "ml_store.h"

#include <apr_strings.h>
#include <errno.h>
#include <lmdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ML_LMDB_MAX_READERS  2048
#define ML_LMDB_SWEEP        16        /* expired records reclaimed per write */
#define ML_LMDB_LINK_SHARE   80        /* % of the map links and counters may fill */

enum { ML_REC_LINK = 'u', ML_REC_COUNTER = 'c', ML_REC_TIME = 'v' };

/* What every record starts with; the payload follows. */
typedef struct ml_rec_head {
    apr_int64_t exp;
    apr_int64_t value;          /* counter: count; time: the time; link: tries */
    unsigned char type;
    unsigned char pad[7];
} ml_rec_head_t;

/* What every outbox message starts with; the message follows. */
typedef struct ml_mail_head {
    apr_int64_t created, due, exp;
    apr_int64_t attempts;
    apr_uint64_t queue;
    apr_uint64_t drop;          /* never sent: removed by the claim that finds it */
} ml_mail_head_t;

typedef struct ml_lmdb {
    MDB_env *env;
    MDB_dbi rec, exp;
    MDB_dbi out, due;           /* the outbox, and its messages by due time */
    pthread_key_t reader;       /* this thread's read transaction */
    apr_size_t map_pages;
    /* The group commit of this process's writes (ml_batched): the queue of
     * writes, its head the one whose thread runs the batch. */
    pthread_mutex_t batch_lock;
    struct ml_write_op *queue_head, *queue_tail;
} ml_lmdb_t;

/* ---- environment ---- */

static void ml_lmdb_reader_free(void *txn)
{
    mdb_txn_abort(txn);
}

static int ml_lmdb_fail(char *err, apr_size_t errlen, const char *what, int rc)
{
    apr_snprintf(err, errlen, "%s: %s", what, mdb_strerror(rc));
    return rc;
}

/* The map's size: size= as configured, never smaller than the store is
 * already. With MDB_WRITEMAP the file is the map, and opening with a smaller
 * one cuts the file under the processes still using it (the children of the
 * generation before a graceful restart, or a running server under `magiclink
 * revoke`): their next touch past the cut is SIGBUS. 0 (the command line):
 * as the store has it, which LMDB reads from the file. */
static apr_int64_t ml_lmdb_map_size(ml_store_t *st)
{
    struct stat fs;
    apr_int64_t want = st->opts.map_size;

    if (want && stat(apr_pstrcat(st->pool, st->where, "/data.mdb", NULL), &fs) == 0
        && (apr_int64_t)fs.st_size > want) {
        st->warning = apr_psprintf(st->pool, "size=%" APR_INT64_T_FMT "K is smaller than the "
                                   "store already is (%" APR_INT64_T_FMT "K): kept at its size "
                                   "(a store in use cannot shrink; to start small, stop the "
                                   "server and remove %s/data.mdb, losing what it holds)",
                                   want / 1024, (apr_int64_t)fs.st_size / 1024, st->where);
        return fs.st_size;
    }
    return want;
}

static int ml_lmdb_env(ml_store_t *st, ml_lmdb_t *l, char *err, apr_size_t errlen)
{
    MDB_txn *txn;
    MDB_envinfo info;
    MDB_stat env_stat;
    apr_int64_t map_size = ml_lmdb_map_size(st);
    int rc, dead;

    if ((rc = mdb_env_create(&l->env)) != 0)
        return ml_lmdb_fail(err, errlen, "mdb_env_create", rc);
    mdb_env_set_maxdbs(l->env, 8);
    mdb_env_set_maxreaders(l->env, ML_LMDB_MAX_READERS);
    if (map_size && (rc = mdb_env_set_mapsize(l->env, (size_t)map_size)) != 0)
        return ml_lmdb_fail(err, errlen, "map size", rc);
    if (mkdir(st->where, 0750) != 0 && errno != EEXIST)
        return ml_lmdb_fail(err, errlen, apr_psprintf(st->pool, "mkdir %s", st->where), errno);
    /* NOTLS: read transactions belong to our per-thread slots, not to
     * LMDB's thread-local storage. */
    rc = mdb_env_open(l->env, st->where, MDB_NOSYNC | MDB_NOTLS | MDB_WRITEMAP, 0640);
    if (rc != 0)
        return ml_lmdb_fail(err, errlen, apr_psprintf(st->pool, "open %s", st->where), rc);
    /* Slots of processes killed while reading (kill -9 of a child). */
    mdb_reader_check(l->env, &dead);
    if ((rc = mdb_txn_begin(l->env, NULL, 0, &txn)) != 0)
        return ml_lmdb_fail(err, errlen, "begin", rc);
    if ((rc = mdb_dbi_open(txn, "rec", MDB_CREATE, &l->rec)) != 0
        || (rc = mdb_dbi_open(txn, "exp", MDB_CREATE, &l->exp)) != 0
        || (rc = mdb_dbi_open(txn, "out", MDB_CREATE, &l->out)) != 0
        || (rc = mdb_dbi_open(txn, "due", MDB_CREATE, &l->due)) != 0) {
        mdb_txn_abort(txn);
        return ml_lmdb_fail(err, errlen, "open databases", rc);
    }
    if ((rc = mdb_txn_commit(txn)) != 0)
        return ml_lmdb_fail(err, errlen, "commit", rc);
    mdb_env_info(l->env, &info);
    mdb_env_stat(l->env, &env_stat);
    l->map_pages = info.me_mapsize / env_stat.ms_psize;
    return 0;
}

static apr_status_t ml_lmdb_open(ml_store_t *st, char *err, apr_size_t errlen)
{
    ml_lmdb_t *l = apr_pcalloc(st->pool, sizeof(*l));

    if (ml_lmdb_env(st, l, err, errlen) != 0) {
        if (l->env)
            mdb_env_close(l->env);
        return APR_EGENERAL;
    }
    if (pthread_key_create(&l->reader, ml_lmdb_reader_free) != 0) {
        mdb_env_close(l->env);
        apr_snprintf(err, errlen, "no thread key");
        return APR_EGENERAL;
    }
    pthread_mutex_init(&l->batch_lock, NULL);
    st->impl = l;
    return APR_SUCCESS;
}

static void ml_lmdb_close(ml_store_t *st)
{
    ml_lmdb_t *l = st->impl;
    MDB_txn *txn = pthread_getspecific(l->reader);

    if (txn) {
        mdb_txn_abort(txn);
        pthread_setspecific(l->reader, NULL);
    }
    /* Other threads' read transactions are gone with their threads (the key's
     * destructor) by the time a process closes its store. */
    pthread_key_delete(l->reader);
    pthread_mutex_destroy(&l->batch_lock);
    mdb_env_close(l->env);
    st->impl = NULL;
}

/* ---- records ---- */

static void ml_exp_key(apr_int64_t exp, const ml_store_key_t *k, unsigned char out[8 + 32])
{
    int i;

    for (i = 7; i >= 0; i--, exp >>= 8)
        out[i] = (unsigned char)(exp & 0xff);
    memcpy(out + 8, k->b, ML_STORE_KEY_LEN);
}

/* The inverse of ml_exp_key: 0, or MDB_CORRUPTED for a key of another size. */
static int ml_exp_key_parse(const MDB_val *key, apr_int64_t *t, ml_store_key_t *k)
{
    const unsigned char *e = key->mv_data;
    int i;

    if (key->mv_size != 8 + ML_STORE_KEY_LEN)
        return MDB_CORRUPTED;
    for (*t = 0, i = 0; i < 8; i++)
        *t = (*t << 8) | e[i];
    memcpy(k->b, e + 8, ML_STORE_KEY_LEN);
    return 0;
}

/* The record under k in txn, if any: its header and payload. */
static int ml_rec_get(MDB_txn *txn, ml_lmdb_t *l, const ml_store_key_t *k, ml_rec_head_t *h,
                      const char **payload, apr_size_t *plen)
{
    MDB_val key = { ML_STORE_KEY_LEN, (void *)k->b }, val;
    int rc = mdb_get(txn, l->rec, &key, &val);

    if (rc != 0)
        return rc;
    if (val.mv_size < sizeof(*h))
        return MDB_CORRUPTED;
    memcpy(h, val.mv_data, sizeof(*h));
    if (payload) {
        *payload = (const char *)val.mv_data + sizeof(*h);
        *plen = val.mv_size - sizeof(*h);
    }
    return 0;
}

static int ml_rec_del(MDB_txn *txn, ml_lmdb_t *l, const ml_store_key_t *k, apr_int64_t exp)
{
    unsigned char ek[8 + ML_STORE_KEY_LEN];
    MDB_val key = { ML_STORE_KEY_LEN, (void *)k->b }, ikey = { sizeof(ek), ek };
    int rc;

    ml_exp_key(exp, k, ek);
    rc = mdb_del(txn, l->exp, &ikey, NULL);
    if (rc != 0 && rc != MDB_NOTFOUND)
        return rc;
    rc = mdb_del(txn, l->rec, &key, NULL);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Writes a record; old_exp is the expiry of the record it replaces (0 when
 * none), so its index entry moves with it. An expiry that stays keeps its
 * index entry untouched: a counter or a link rewritten in place dirties no
 * page of the index (a third of a generate's writes). */
static int ml_rec_put(MDB_txn *txn, ml_lmdb_t *l, const ml_store_key_t *k,
                      const ml_rec_head_t *h, const char *payload, apr_size_t plen,
                      apr_int64_t old_exp)
{
    unsigned char ek[8 + ML_STORE_KEY_LEN];
    MDB_val key = { ML_STORE_KEY_LEN, (void *)k->b }, val = { sizeof(*h) + plen, NULL };
    MDB_val ikey = { sizeof(ek), ek }, empty = { 0, (void *)"" };
    int rc;

    if (old_exp && old_exp != h->exp) {
        ml_exp_key(old_exp, k, ek);
        rc = mdb_del(txn, l->exp, &ikey, NULL);
        if (rc != 0 && rc != MDB_NOTFOUND)
            return rc;
    }
    if ((rc = mdb_put(txn, l->rec, &key, &val, MDB_RESERVE)) != 0)
        return rc;
    memcpy(val.mv_data, h, sizeof(*h));
    if (plen)
        memcpy((char *)val.mv_data + sizeof(*h), payload, plen);
    if (old_exp == h->exp)
        return 0;
    ml_exp_key(h->exp, k, ek);
    return mdb_put(txn, l->exp, &ikey, &empty, 0);
}

/* Reclaims up to ML_LMDB_SWEEP expired records, oldest first. */
static int ml_sweep(MDB_txn *txn, ml_lmdb_t *l, apr_int64_t now)
{
    MDB_cursor *cur;
    MDB_val ikey, ival;
    ml_store_key_t k;
    int rc, i;

    if ((rc = mdb_cursor_open(txn, l->exp, &cur)) != 0)
        return rc;
    for (i = 0; i < ML_LMDB_SWEEP; i++) {
        apr_int64_t exp;

        rc = mdb_cursor_get(cur, &ikey, &ival, MDB_FIRST);
        if (rc != 0 || ml_exp_key_parse(&ikey, &exp, &k) != 0 || exp >= now)
            break;
        if ((rc = mdb_cursor_del(cur, 0)) != 0)
            break;
        rc = mdb_del(txn, l->rec, &(MDB_val){ ML_STORE_KEY_LEN, k.b }, NULL);
        if (rc != 0 && rc != MDB_NOTFOUND)
            break;
        rc = 0;
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

static ml_store_rc_t ml_rc(int rc)
{
    switch (rc) {
    case 0:
        return ML_STORE_OK;
    case MDB_NOTFOUND:
        return ML_STORE_NOTFOUND;
    case MDB_MAP_FULL:
        return ML_STORE_FULL;
    default:
        return ML_STORE_DOWN;
    }
}

static ml_store_rc_t ml_write_begin(ml_lmdb_t *l, MDB_txn **txn)
{
    int rc = mdb_txn_begin(l->env, NULL, 0, txn);

    /* Another process grew the map: adopt its size and try once more. */
    if (rc == MDB_MAP_RESIZED && mdb_env_set_mapsize(l->env, 0) == 0)
        rc = mdb_txn_begin(l->env, NULL, 0, txn);
    return ml_rc(rc);
}

/* Commits txn when rc is 0, else aborts it; the result as a store code. */
static ml_store_rc_t ml_write_end(MDB_txn *txn, int rc)
{
    if (rc != 0) {
        mdb_txn_abort(txn);
        return ml_rc(rc);
    }
    return ml_rc(mdb_txn_commit(txn));
}

/* This thread's read transaction, renewed; NULL on failure. */
static MDB_txn *ml_read_begin(ml_lmdb_t *l)
{
    MDB_txn *txn = pthread_getspecific(l->reader);

    if (txn) {
        if (mdb_txn_renew(txn) == 0)
            return txn;
        mdb_txn_abort(txn);
        pthread_setspecific(l->reader, NULL);
    }
    if (mdb_txn_begin(l->env, NULL, MDB_RDONLY, &txn) != 0)
        return NULL;
    pthread_setspecific(l->reader, txn);
    return txn;
}

/* Whether links, counters and the outbox may still grow: together they may
 * fill only part of the map, so that sign-outs always find room. */
static int ml_room_for_links(MDB_txn *txn, ml_lmdb_t *l)
{
    const MDB_dbi dbs[] = { l->rec, l->exp, l->out, l->due };
    apr_size_t used = 0, i;
    MDB_stat st;

    for (i = 0; i < sizeof(dbs) / sizeof(dbs[0]); i++) {
        if (mdb_stat(txn, dbs[i], &st) != 0)
            return 0;
        used += st.ms_branch_pages + st.ms_leaf_pages + st.ms_overflow_pages;
    }
    return used * 100 < l->map_pages * ML_LMDB_LINK_SHARE;
}

/* ---- operations ---- */

/* The current count of a limit (0 when absent or its window is over). */
static int ml_count_of(MDB_txn *txn, ml_lmdb_t *l, const ml_store_limit_t *lim,
                       apr_int64_t now, ml_rec_head_t *h)
{
    int rc = ml_rec_get(txn, l, &lim->key, h, NULL, NULL);

    if (rc == MDB_NOTFOUND || (rc == 0 && (h->type != ML_REC_COUNTER || h->exp <= now))) {
        apr_int64_t old = rc == 0 ? h->exp : 0;
        memset(h, 0, sizeof(*h));
        h->exp = old;         /* remembered so the stale index entry moves */
        h->value = -1;        /* a new window */
        return 0;
    }
    return rc;
}

/* ---- the outbox ---- */

static int ml_mail_get(MDB_txn *txn, ml_lmdb_t *l, const ml_store_key_t *id, ml_mail_head_t *h,
                       MDB_val *val)
{
    MDB_val key = { ML_STORE_KEY_LEN, (void *)id->b };
    int rc = mdb_get(txn, l->out, &key, val);

    if (rc != 0)
        return rc;
    if (val->mv_size < sizeof(*h))
        return MDB_CORRUPTED;
    memcpy(h, val->mv_data, sizeof(*h));
    return 0;
}

/* Moves a message's due entry from old_due (0: none) to h->due, and writes
 * its header and data (the caller's copy: a value read from the database
 * must not be passed back, since the write may move it). */
static int ml_mail_put(MDB_txn *txn, ml_lmdb_t *l, const ml_store_key_t *id,
                       const ml_mail_head_t *h, apr_int64_t old_due, const char *data,
                       apr_size_t len)
{
    unsigned char dk[8 + ML_STORE_KEY_LEN];
    MDB_val key = { ML_STORE_KEY_LEN, (void *)id->b }, val = { sizeof(*h) + len, NULL };
    MDB_val dkey = { sizeof(dk), dk }, empty = { 0, (void *)"" };
    int rc;

    if (old_due) {
        ml_exp_key(old_due, id, dk);
        rc = mdb_del(txn, l->due, &dkey, NULL);
        if (rc != 0 && rc != MDB_NOTFOUND)
            return rc;
    }
    if ((rc = mdb_put(txn, l->out, &key, &val, MDB_RESERVE)) != 0)
        return rc;
    memcpy(val.mv_data, h, sizeof(*h));
    memcpy((char *)val.mv_data + sizeof(*h), data, len);
    ml_exp_key(h->due, id, dk);
    return mdb_put(txn, l->due, &dkey, &empty, 0);
}

static int ml_outbox_count(MDB_txn *txn, ml_lmdb_t *l, apr_size_t *n)
{
    MDB_stat stat;
    int rc = mdb_stat(txn, l->out, &stat);

    *n = stat.ms_entries;
    return rc;
}

enum { ML_OVER_LIMIT = 1, ML_OVER_FULL };   /* why ml_issue_txn refused */

static int ml_issue_txn(MDB_txn *txn, ml_lmdb_t *l, const ml_store_limit_t *lims, int n,
                        const ml_store_key_t *id, const char *rec, apr_size_t len,
                        apr_int64_t now, apr_int64_t exp, const ml_store_mail_t *mail,
                        int outbox_max, int *over)
{
    apr_size_t queued;
    ml_rec_head_t h[ML_STORE_LIMITS_MAX], link = { 0 };
    int i, rc;

    /* Full: refused, but what the batch's sweep reclaimed is kept (it is
     * committed), or a full store could never empty itself. */
    if (!ml_room_for_links(txn, l)) {
        *over = ML_OVER_FULL;
        return 0;
    }
    if (mail && (rc = ml_outbox_count(txn, l, &queued)) != 0)
        return rc;
    if (mail && queued >= (apr_size_t)outbox_max) {
        *over = ML_OVER_FULL;
        return 0;
    }
    /* Every limit is read before anything is written: a refusal writes nothing. */
    for (i = 0; i < n; i++) {
        if ((rc = ml_count_of(txn, l, &lims[i], now, &h[i])) != 0)
            return rc;
        if (h[i].value >= 0 && h[i].value >= lims[i].limit) {
            *over = ML_OVER_LIMIT;
            return 0;
        }
    }
    for (i = 0; i < n; i++) {
        apr_int64_t old = h[i].exp;
        if (h[i].value < 0) {
            h[i].value = 0;
            h[i].exp = now + lims[i].window;
            h[i].type = ML_REC_COUNTER;
        }
        h[i].value++;
        if ((rc = ml_rec_put(txn, l, &lims[i].key, &h[i], NULL, 0, old)) != 0)
            return rc;
    }
    if (rec) {
        link.type = ML_REC_LINK;
        link.exp = exp;
        if ((rc = ml_rec_put(txn, l, id, &link, rec, len, 0)) != 0)
            return rc;
    }
    if (mail) {
        ml_mail_head_t mh = { mail->created, mail->due, mail->exp, 0, mail->queue,
                              mail->drop != 0 };
        return ml_mail_put(txn, l, &mail->id, &mh, 0, mail->data, mail->len);
    }
    return 0;
}

/* ---- group commit ----
 *
 * The writes that requests make (an issue, the compare-and-set that marks a
 * link used) line up in their process. The write at the head of the queue
 * takes every write behind it and runs them in one transaction, each in
 * turn as if alone; then it wakes each of their callers, and the next head.
 * Under load one writer-lock turn, one commit and one copy of the trees'
 * upper pages serve several requests; alone, a write is its own batch and
 * waits for nobody. Each caller sleeps on its own condition, so finishing a
 * batch wakes exactly the callers it served and one new head: a condition
 * shared by all (the first version) woke every waiting thread per batch,
 * and most went back to sleep (test/bench/ab_modules.py, POST generate:
 * 1.02-1.03x the req/s, p99 18 ms against 21). */

typedef struct ml_write_op ml_write_op_t;
struct ml_write_op {
    /* Runs in the batch's transaction: an LMDB error spoils the whole
     * batch; else sets result, and keep when it wrote what must stay. */
    int (*run)(MDB_txn *txn, ml_lmdb_t *l, ml_write_op_t *op);
    void *args;
    ml_store_rc_t result;       /* its own answer; then what the caller is told */
    int keep;
    int done;
    pthread_cond_t wake;        /* done, or this op became the head */
    ml_write_op_t *next;
};

/* Each op sees the writes of those before it; one that refuses writes
 * nothing of its own. A write that fails spoils the transaction: then
 * nothing of the batch is written and each is told so. A batch that keeps
 * nothing (every one refused) is not committed. The batch is first..last. */
static void ml_batch_run(ml_lmdb_t *l, ml_write_op_t *first, const ml_write_op_t *last)
{
    MDB_txn *txn;
    ml_store_rc_t src = ml_write_begin(l, &txn);
    int rc = 0, keep = 0;
    ml_write_op_t *b;

    for (b = first; src == ML_STORE_OK && rc == 0; b = b->next) {
        b->keep = 0;
        rc = b->run(txn, l, b);
        keep |= rc == 0 && b->keep;
        if (b == last)
            break;
    }
    if (src == ML_STORE_OK) {
        if (rc == 0 && !keep)
            mdb_txn_abort(txn);
        else
            src = ml_write_end(txn, rc);
    }
    for (b = first; src != ML_STORE_OK; b = b->next) {
        b->result = src;
        if (b == last)
            break;
    }
}

/* Called with batch_lock held, by the head after its batch: takes first..last
 * off the queue, tells their callers, and wakes the new head. The callers'
 * ops live on their stacks, and each may return once the lock is free, so
 * nothing of an op is touched after it is marked done. */
static void ml_batch_finish(ml_lmdb_t *l, ml_write_op_t *first, ml_write_op_t *last)
{
    ml_write_op_t *b = first, *next;

    l->queue_head = last->next;
    if (!l->queue_head)
        l->queue_tail = NULL;
    else
        pthread_cond_signal(&l->queue_head->wake);
    do {
        next = b->next;
        b->done = 1;
        if (b != first)
            pthread_cond_signal(&b->wake);
    } while (b != last && (b = next));
}

static ml_store_rc_t ml_batched(ml_lmdb_t *l, ml_write_op_t *me)
{
    ml_write_op_t *last;

    pthread_cond_init(&me->wake, NULL);
    pthread_mutex_lock(&l->batch_lock);
    if (l->queue_tail)
        l->queue_tail->next = me;
    else
        l->queue_head = me;
    l->queue_tail = me;
    while (!me->done && l->queue_head != me)
        pthread_cond_wait(&me->wake, &l->batch_lock);
    if (!me->done) {
        /* The head: the batch is everything queued so far; later writes
         * queue behind it for the next. */
        last = l->queue_tail;
        pthread_mutex_unlock(&l->batch_lock);
        ml_batch_run(l, me, last);
        pthread_mutex_lock(&l->batch_lock);
        ml_batch_finish(l, me, last);
    }
    pthread_mutex_unlock(&l->batch_lock);
    pthread_cond_destroy(&me->wake);
    return me->result;
}

typedef struct ml_issue_args {
    const ml_store_limit_t *lims;
    int n;
    const ml_store_key_t *id;
    const char *rec;
    apr_size_t len;
    apr_int64_t now, exp;
    const ml_store_mail_t *mail;
    int outbox_max;
} ml_issue_args_t;

static int ml_issue_run(MDB_txn *txn, ml_lmdb_t *l, ml_write_op_t *op)
{
    const ml_issue_args_t *a = op->args;
    int over = 0, rc;

    /* Expired records are reclaimed a few per issue, batched or not. */
    if ((rc = ml_sweep(txn, l, a->now)) != 0)
        return rc;
    rc = ml_issue_txn(txn, l, a->lims, a->n, a->id, a->rec, a->len, a->now, a->exp, a->mail,
                      a->outbox_max, &over);
    /* A full store keeps what the sweep reclaimed, or it could never
     * empty itself; an issue refused by a limit writes nothing. */
    op->keep = over != ML_OVER_LIMIT;
    op->result = over == ML_OVER_LIMIT  ? ML_STORE_OVER
                 : over == ML_OVER_FULL ? ML_STORE_FULL
                                        : ML_STORE_OK;
    return rc;
}

static ml_store_rc_t ml_lmdb_issue(ml_store_t *st, const ml_store_limit_t *lims, int n,
                                   const ml_store_key_t *id, const char *rec, apr_size_t len,
                                   apr_int64_t now, apr_int64_t exp, const ml_store_mail_t *mail)
{
    ml_issue_args_t a = { lims, n, id, rec, len, now, exp, mail, st->opts.outbox_max };
    ml_write_op_t op = { .run = ml_issue_run, .args = &a, .result = ML_STORE_DOWN };

    return ml_batched(st->impl, &op);
}

/* Copies a live link record out of txn into p. */
static int ml_link_out(MDB_txn *txn, ml_lmdb_t *l, const ml_store_key_t *id, apr_int64_t now,
                       apr_pool_t *p, ml_store_link_t *out, ml_rec_head_t *h)
{
    const char *payload;
    apr_size_t plen;
    int rc = ml_rec_get(txn, l, id, h, &payload, &plen);

    if (rc != 0)
        return rc;
    if (h->type != ML_REC_LINK || h->exp < now)
        return MDB_NOTFOUND;
    out->rec = apr_pstrmemdup(p, payload, plen);
    out->len = plen;
    out->tries = (int)h->value;
    out->exp = h->exp;
    return 0;
}

static ml_store_rc_t ml_lmdb_get(ml_store_t *st, const ml_store_key_t *id, apr_int64_t now,
                                 apr_pool_t *p, ml_store_link_t *out)
{
    ml_lmdb_t *l = st->impl;
    MDB_txn *txn = ml_read_begin(l);
    ml_rec_head_t h;
    int rc;

    if (!txn)
        return ML_STORE_DOWN;
    rc = ml_link_out(txn, l, id, now, p, out, &h);
    mdb_txn_reset(txn);
    return ml_rc(rc);
}

static ml_store_rc_t ml_lmdb_take(ml_store_t *st, const ml_store_key_t *id, apr_int64_t now,
                                  apr_pool_t *p, ml_store_link_t *out)
{
    ml_lmdb_t *l = st->impl;
    MDB_txn *txn;
    ml_rec_head_t h;
    ml_store_rc_t src = ml_write_begin(l, &txn);
    int rc;

    if (src != ML_STORE_OK)
        return src;
    rc = ml_link_out(txn, l, id, now, p, out, &h);
    if (rc == 0)
        rc = ml_rec_del(txn, l, id, h.exp);
    return ml_write_end(txn, rc);
}

static ml_store_rc_t ml_lmdb_try_code(ml_store_t *st, const ml_store_key_t *id, int max,
                                      apr_int64_t now, apr_pool_t *p, ml_store_link_t *out)
{
    ml_lmdb_t *l = st->impl;
    MDB_txn *txn;
    ml_rec_head_t h;
    ml_store_rc_t src = ml_write_begin(l, &txn);
    int rc;

    if (src != ML_STORE_OK)
        return src;
    rc = ml_link_out(txn, l, id, now, p, out, &h);
    if (rc == 0 && h.value >= max) {
        mdb_txn_abort(txn);
        return ML_STORE_OVER;
    }
    if (rc == 0) {
        h.value++;
        out->tries = (int)h.value;
        rc = ml_rec_put(txn, l, id, &h, out->rec, out->len, h.exp);
    }
    return ml_write_end(txn, rc);
}

typedef struct ml_replace_args {
    const ml_store_key_t *id;
    const char *old, *rec;
    apr_size_t oldlen, len;
    apr_int64_t now;
} ml_replace_args_t;

static int ml_replace_run(MDB_txn *txn, ml_lmdb_t *l, ml_write_op_t *op)
{
    const ml_replace_args_t *a = op->args;
    ml_rec_head_t h;
    const char *payload;
    apr_size_t plen;
    int rc = ml_rec_get(txn, l, a->id, &h, &payload, &plen);

    if (rc == 0 && (h.type != ML_REC_LINK || h.exp < a->now || plen != a->oldlen
                    || memcmp(payload, a->old, a->oldlen) != 0))
        rc = MDB_NOTFOUND;
    op->result = rc == MDB_NOTFOUND ? ML_STORE_NOTFOUND : ML_STORE_OK;
    if (rc == MDB_NOTFOUND)
        return 0;               /* gone or changed: nothing written */
    if (rc == 0)
        rc = ml_rec_put(txn, l, a->id, &h, a->rec, a->len, h.exp);
    op->keep = rc == 0;
    return rc;
}

static ml_store_rc_t ml_lmdb_replace(ml_store_t *st, const ml_store_key_t *id,
                                     const char *old, apr_size_t oldlen, const char *rec,
                                     apr_size_t len, apr_int64_t now)
{
    ml_replace_args_t a = { id, old, rec, oldlen, len, now };
    ml_write_op_t op = { .run = ml_replace_run, .args = &a, .result = ML_STORE_DOWN };

    return ml_batched(st->impl, &op);
}

static ml_store_rc_t ml_lmdb_set_time(ml_store_t *st, const ml_store_key_t *k,
                                      apr_int64_t value, apr_int64_t exp, apr_int64_t now)
{
    ml_lmdb_t *l = st->impl;
    MDB_txn *txn;
    ml_rec_head_t h, n = { 0 };
    ml_store_rc_t src = ml_write_begin(l, &txn);
    int rc;

    if (src != ML_STORE_OK)
        return src;
    rc = ml_rec_get(txn, l, k, &h, NULL, NULL);
    n.type = ML_REC_TIME;
    n.value = value;
    n.exp = exp;
    if (rc == 0 && h.type == ML_REC_TIME && h.exp >= now) {
        /* Never move a sign-out back, nor shorten how long it is kept; and
         * a sign-out in the second of the one before is dated a second
         * later, or a session begun between them (dated just after the
         * first) would outlive the second. */
        n.value = h.value >= value ? h.value + 1 : value;
        n.exp = h.exp > exp ? h.exp : exp;
    }
    if (rc == 0 || rc == MDB_NOTFOUND)
        rc = ml_rec_put(txn, l, k, &n, NULL, 0, rc == 0 ? h.exp : 0);
    src = ml_write_end(txn, rc);
    /* A sign-out is on the disk before anyone is told it happened. */
    if (src == ML_STORE_OK && mdb_env_sync(l->env, 1) != 0)
        return ML_STORE_DOWN;
    return src;
}

static ml_store_rc_t ml_lmdb_get_times(ml_store_t *st, const ml_store_key_t *keys, int n,
                                       apr_int64_t now, apr_int64_t *values)
{
    ml_lmdb_t *l = st->impl;
    MDB_txn *txn = ml_read_begin(l);
    ml_rec_head_t h;
    int rc = 0, i;

    if (!txn)
        return ML_STORE_DOWN;
    for (i = 0; i < n && rc == 0; i++) {
        rc = ml_rec_get(txn, l, &keys[i], &h, NULL, NULL);
        if (rc == 0 && h.type != ML_REC_TIME)
            rc = MDB_CORRUPTED;
        if (rc == 0)
            values[i] = h.value;
        else if (rc == MDB_NOTFOUND)
            rc = 0;
    }
    mdb_txn_reset(txn);
    return rc == 0 ? ML_STORE_OK : ML_STORE_DOWN;
}

static ml_store_rc_t ml_lmdb_ping(ml_store_t *st)
{
    ml_lmdb_t *l = st->impl;
    MDB_txn *txn = ml_read_begin(l);

    if (!txn)
        return ML_STORE_DOWN;
    mdb_txn_reset(txn);
    return ML_STORE_OK;
}

static int ml_queue_wanted(apr_uint64_t q, const apr_uint64_t *queues, int n)
{
    int i;

    for (i = 0; i < n; i++)
        if (queues[i] == q)
            return 1;
    return 0;
}

/* The due messages to drop, gathered by a claim's scan. */
typedef struct ml_drops {
    ml_store_key_t id[ML_STORE_CLAIM_SCAN];
    apr_int64_t due[ML_STORE_CLAIM_SCAN];
    int n;
} ml_drops_t;

/* The first due message of one of the queues, among the first
 * ML_STORE_CLAIM_SCAN due ones: its id, due time and header. With drops,
 * messages never to be sent are gathered there and passed over. */
static int ml_first_due(MDB_txn *txn, ml_lmdb_t *l, const apr_uint64_t *queues, int nq,
                        apr_int64_t now, ml_store_key_t *id, apr_int64_t *due,
                        ml_mail_head_t *h, MDB_val *val, ml_drops_t *drops)
{
    MDB_cursor *cur;
    MDB_val dkey, dval;
    int rc, n;

    if ((rc = mdb_cursor_open(txn, l->due, &cur)) != 0)
        return rc;
    for (n = 0, rc = mdb_cursor_get(cur, &dkey, &dval, MDB_FIRST);
         rc == 0 && n < ML_STORE_CLAIM_SCAN; n++, rc = mdb_cursor_get(cur, &dkey, &dval, MDB_NEXT)) {
        if ((rc = ml_exp_key_parse(&dkey, due, id)) != 0)
            break;
        if (*due > now) {
            rc = MDB_NOTFOUND;
            break;
        }
        if ((rc = ml_mail_get(txn, l, id, h, val)) != 0)
            break;
        /* Another server's mail is left to it, unless it expired unsent (its
         * mailer is gone from every server): removed like a drop, or it
         * would fill the outbox and, 64 of them first in line, hide every
         * due message from every claim. */
        if (!ml_queue_wanted(h->queue, queues, nq)) {
            if (h->exp >= now)
                continue;
        }
        else if (!h->drop)
            break;
        if (!drops)
            break;
        drops->id[drops->n] = *id;
        drops->due[drops->n++] = *due;
    }
    mdb_cursor_close(cur);
    return rc == 0 && n == ML_STORE_CLAIM_SCAN ? MDB_NOTFOUND : rc;
}

/* Removes the gathered drops (after the scan: its cursor is closed). */
static int ml_remove_drops(MDB_txn *txn, ml_lmdb_t *l, const ml_drops_t *drops)
{
    unsigned char dk[8 + ML_STORE_KEY_LEN];
    MDB_val key, dkey = { sizeof(dk), dk };
    int i, rc;

    for (i = 0; i < drops->n; i++) {
        key = (MDB_val){ ML_STORE_KEY_LEN, (void *)drops->id[i].b };
        ml_exp_key(drops->due[i], &drops->id[i], dk);
        if ((rc = mdb_del(txn, l->due, &dkey, NULL)) != 0
            || (rc = mdb_del(txn, l->out, &key, NULL)) != 0)
            return rc;
    }
    return 0;
}

static ml_store_rc_t ml_lmdb_claim(ml_store_t *st, const apr_uint64_t *queues, int nqueues,
                                   apr_int64_t now, int lease, apr_pool_t *p,
                                   ml_store_mail_t *out)
{
    ml_lmdb_t *l = st->impl;
    MDB_txn *txn;
    MDB_val val;
    ml_mail_head_t h;
    apr_int64_t due = 0;
    ml_drops_t drops;
    ml_store_rc_t src;
    int rc;

    /* Most claims find nothing (a deliverer woken by a request that another
     * took first, or its once-a-second look): asked in the thread's read
     * transaction, they take no writer lock. */
    if (!(txn = ml_read_begin(l)))
        return ML_STORE_DOWN;
    rc = ml_first_due(txn, l, queues, nqueues, now, &out->id, &due, &h, &val, NULL);
    mdb_txn_reset(txn);
    if (rc != 0)
        return ml_rc(rc);
    if ((src = ml_write_begin(l, &txn)) != ML_STORE_OK)
        return src;
    /* Messages never to be sent go in the same transaction: under load one
     * claim clears many, instead of a claim and a removal for each. */
    drops.n = 0;
    rc = ml_first_due(txn, l, queues, nqueues, now, &out->id, &due, &h, &val, &drops);
    if (rc == 0) {
        out->data = apr_pstrmemdup(p, (const char *)val.mv_data + sizeof(h),
                                   val.mv_size - sizeof(h));
        out->len = val.mv_size - sizeof(h);
        h.attempts++;
        h.due = now + lease;
        out->created = h.created;
        out->due = h.due;
        out->exp = h.exp;
        out->queue = h.queue;
        out->attempts = (int)h.attempts;
        rc = ml_mail_put(txn, l, &out->id, &h, due, out->data, out->len);
    }
    /* After the copy: val is only good until the transaction's next write. */
    if ((rc == 0 || rc == MDB_NOTFOUND) && drops.n) {
        int drc = ml_remove_drops(txn, l, &drops);
        rc = drc ? drc : rc;
    }
    if (rc == MDB_NOTFOUND && !drops.n) {
        mdb_txn_abort(txn);
        return ML_STORE_NOTFOUND;
    }
    if (rc == MDB_NOTFOUND) {           /* nothing to send, the drops removed */
        src = ml_write_end(txn, 0);
        return src == ML_STORE_OK ? ML_STORE_NOTFOUND : src;
    }
    return ml_write_end(txn, rc);
}

static ml_store_rc_t ml_lmdb_mail_done(ml_store_t *st, const ml_store_key_t *id)
{
    ml_lmdb_t *l = st->impl;
    unsigned char dk[8 + ML_STORE_KEY_LEN];
    MDB_txn *txn;
    MDB_val val, key = { ML_STORE_KEY_LEN, (void *)id->b }, dkey = { sizeof(dk), dk };
    ml_mail_head_t h;
    ml_store_rc_t src = ml_write_begin(l, &txn);
    int rc;

    if (src != ML_STORE_OK)
        return src;
    rc = ml_mail_get(txn, l, id, &h, &val);
    if (rc == 0) {
        ml_exp_key(h.due, id, dk);
        rc = mdb_del(txn, l->due, &dkey, NULL);
        if (rc == 0 || rc == MDB_NOTFOUND)
            rc = mdb_del(txn, l->out, &key, NULL);
    }
    return ml_write_end(txn, rc);
}

static ml_store_rc_t ml_lmdb_mail_retry(ml_store_t *st, const ml_store_key_t *id,
                                        apr_int64_t due)
{
    ml_lmdb_t *l = st->impl;
    MDB_txn *txn;
    MDB_val val;
    ml_mail_head_t h;
    apr_int64_t old;
    ml_store_rc_t src = ml_write_begin(l, &txn);
    char *copy = NULL;
    apr_size_t len = 0;
    int rc;

    if (src != ML_STORE_OK)
        return src;
    rc = ml_mail_get(txn, l, id, &h, &val);
    if (rc == 0) {
        len = val.mv_size - sizeof(h);
        copy = malloc(len ? len : 1);
        rc = copy ? 0 : ENOMEM;
    }
    if (rc == 0) {
        memcpy(copy, (const char *)val.mv_data + sizeof(h), len);
        old = h.due;
        h.due = due;
        rc = ml_mail_put(txn, l, id, &h, old, copy, len);
    }
    free(copy);
    return ml_write_end(txn, rc);
}

/* Counting and finding the oldest walks the outbox: it is bounded by
 * outbox=, and this runs for a metrics scrape, not per request. */
static ml_store_rc_t ml_lmdb_outbox_stats(ml_store_t *st, apr_int64_t now, int *depth,
                                          apr_int64_t *oldest)
{
    ml_lmdb_t *l = st->impl;
    MDB_txn *txn = ml_read_begin(l);
    MDB_cursor *cur;
    MDB_val key, val;
    ml_mail_head_t h;
    int rc;

    if (!txn)
        return ML_STORE_DOWN;
    if ((rc = mdb_cursor_open(txn, l->out, &cur)) == 0) {
        for (rc = mdb_cursor_get(cur, &key, &val, MDB_FIRST); rc == 0;
             rc = mdb_cursor_get(cur, &key, &val, MDB_NEXT)) {
            if (val.mv_size < sizeof(h))
                continue;
            memcpy(&h, val.mv_data, sizeof(h));
            (*depth)++;
            if (!*oldest || h.created < *oldest)
                *oldest = h.created;
        }
        mdb_cursor_close(cur);
    }
    mdb_txn_reset(txn);
    return rc == MDB_NOTFOUND ? ML_STORE_OK : ml_rc(rc);
}

const ml_store_ops_t ml_store_lmdb_ops = {
    "lmdb",
    ml_lmdb_open,
    ml_lmdb_close,
    ml_lmdb_issue,
    ml_lmdb_get,
    ml_lmdb_take,
    ml_lmdb_try_code,
    ml_lmdb_replace,
    ml_lmdb_set_time,
    ml_lmdb_get_times,
    ml_lmdb_ping,
    ml_lmdb_claim,
    ml_lmdb_mail_done,
    ml_lmdb_mail_retry,
    ml_lmdb_outbox_stats,
    NULL,                       /* why: LMDB's failures are the request's own */
};
