#include "ml_deliverer.h"
#include "ml_audit.h"
#include "ml_conf.h"
#include "ml_metrics.h"
#include "ml_outbox.h"
#include "ml_state.h"

#include "http_log.h"
#include "apr_hash.h"
#include "apr_thread_cond.h"
#include "apr_thread_proc.h"

APLOG_USE_MODULE(magiclink);

typedef struct ml_deliverers {
    server_rec *s;
    const ml_srv_conf_t *names;     /* how the log names addresses */
    apr_hash_t *mailers;            /* ml_mailer_describe → ml_mailer_t */
    apr_uint64_t queues[ML_STORE_QUEUES_MAX];   /* theirs (ml_outbox_queue) */
    int nqueues;
    apr_array_header_t *rings;      /* the distinct key files of those servers */
    apr_thread_mutex_t *lock;
    apr_thread_cond_t *wake;
    apr_thread_t **threads;
    int nthreads;
    int kicks;                      /* under lock: 1 when mail was queued since a thread last looked */
    volatile int stop;
} ml_deliverers_t;

static ml_deliverers_t *ml_dlv;

static ml_mailer_t *ml_find_mailer(void *ctx, const char *spec)
{
    return apr_hash_get(((ml_deliverers_t *)ctx)->mailers, spec, APR_HASH_KEY_STRING);
}

/* Every try through a transport, for the metrics. */
static void ml_count_event(const ml_outbox_event_t *ev)
{
    if (!ev->transport)
        return;
    if (ev->result == ML_OUTBOX_SENT)
        ml_metric_delivery(ev->transport, 1, ev->seconds);
    else if (ev->result == ML_OUTBOX_RETRY || ev->result == ML_OUTBOX_REJECTED
             || (ev->result == ML_OUTBOX_GAVE_UP && ev->why[0]))
        ml_metric_delivery(ev->transport, 0, ev->seconds);
}

static void ml_log_event(server_rec *s, const ml_srv_conf_t *names, apr_pool_t *p,
                         const ml_outbox_event_t *ev)
{
    const char *who = ml_audit_name(p, names, ev->rcpt);

    switch (ev->result) {
    case ML_OUTBOX_SENT:
        ap_log_error(APLOG_MARK, APLOG_INFO, 0, s, "MAGICLINK-140: mail delivered email=%s "
                     "transport=%s attempt=%d", who, ev->transport, ev->attempts);
        break;
    case ML_OUTBOX_RETRY:
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, s, "MAGICLINK-141: mail delivery failed "
                     "email=%s transport=%s attempt=%d outcome=retry in=%" APR_INT64_T_FMT
                     "s: %s", who, ev->transport, ev->attempts,
                     ev->next - apr_time_sec(apr_time_now()), ev->why);
        break;
    case ML_OUTBOX_REJECTED:
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MAGICLINK-142: mail refused for good "
                     "email=%s transport=%s outcome=rejected: %s", who, ev->transport,
                     ev->why);
        break;
    case ML_OUTBOX_GAVE_UP:
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MAGICLINK-143: mail given up email=%s "
                     "attempts=%d outcome=gave_up (its link expired)%s%s", who,
                     ev->attempts, ev->why[0] ? ": " : "", ev->why);
        break;
    case ML_OUTBOX_UNKNOWN_MAILER:
        ap_log_error(APLOG_MARK, APLOG_DEBUG, 0, s, "MAGICLINK-144: a queued mail names a "
                     "mailer this server does not have; left for another server");
        break;
    case ML_OUTBOX_BROKEN:
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, s, "MAGICLINK-145: an outbox entry is not a "
                     "message of ours (or its key left every key file)%s%s; removed",
                     ev->why[0] ? ": " : "", ev->why);
        break;
    default:
        break;
    }
}

/* Waits up to a second, or until a message is queued in this process;
 * then, when woken by one, lets the requests of the next few milliseconds
 * queue theirs too (the kick stays set meanwhile, so they wake no other
 * thread): under load a deliverer wakes and claims once per batch, not
 * once per request. A mail goes out at most ML_DELIVER_GATHER later. */
#define ML_DELIVER_GATHER apr_time_from_msec(10)

static void ml_idle(ml_deliverers_t *d)
{
    int kicked;

    apr_thread_mutex_lock(d->lock);
    if (!d->kicks && !d->stop)
        apr_thread_cond_timedwait(d->wake, d->lock, apr_time_from_sec(1));
    kicked = d->kicks;
    apr_thread_mutex_unlock(d->lock);
    if (!kicked)
        return;
    if (!d->stop)
        apr_sleep(ML_DELIVER_GATHER);
    apr_thread_mutex_lock(d->lock);
    d->kicks = 0;
    apr_thread_mutex_unlock(d->lock);
}

static void *APR_THREAD_FUNC ml_deliver_loop(apr_thread_t *t, void *data)
{
    ml_deliverers_t *d = data;
    apr_pool_t *p, *own;
    ml_outbox_event_t ev;
    ml_outbox_reader_t rd = { d->queues, d->nqueues, ml_find_mailer, d,
                              (const ml_keyring_t *const *)d->rings->elts, d->rings->nelts,
                              NULL };

    apr_pool_create(&own, NULL);
    if (ml_scratch_create(&rd.scratch, own) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_CRIT, 0, d->s,
                     "MAGICLINK-146: a mail deliverer thread cannot start: out of memory");
        apr_pool_destroy(own);
        return NULL;
    }
    apr_pool_create(&p, own);
    while (!d->stop) {
        ml_store_t *st = ml_state_store();
        ml_outbox_result_t r = ML_OUTBOX_IDLE;

        apr_pool_clear(p);
        if (st) {
            r = ml_outbox_step(st, &rd, apr_time_sec(apr_time_now()), p, &ev);
            ml_state_note(d->s, r == ML_OUTBOX_STORE_DOWN ? ML_STORE_DOWN : ML_STORE_OK);
            ml_log_event(d->s, d->names, p, &ev);
            ml_count_event(&ev);
        }
        if (r == ML_OUTBOX_IDLE || r == ML_OUTBOX_STORE_DOWN || r == ML_OUTBOX_UNKNOWN_MAILER)
            ml_idle(d);
    }
    apr_pool_destroy(own);
    /* A plain return, not apr_thread_exit(): pthread_exit() unwinds without
     * returning, so ASan keeps the red zones of this frame poisoned and its
     * own thread teardown then writes over them (a false stack-buffer-overflow
     * in UnsetAlternateSignalStack). The thread's pool is a subpool of pchild
     * and goes with it, after the join. */
    (void)t;
    return NULL;
}

static apr_status_t ml_deliverers_stop(void *data)
{
    ml_deliverers_t *d = data;
    apr_status_t rv;
    int i;

    apr_thread_mutex_lock(d->lock);
    d->stop = 1;
    apr_thread_cond_broadcast(d->wake);
    apr_thread_mutex_unlock(d->lock);
    for (i = 0; i < d->nthreads; i++)
        apr_thread_join(&rv, d->threads[i]);
    ml_dlv = NULL;
    return APR_SUCCESS;
}

/* Adds kr to rings unless it is there already (virtual hosts inherit theirs). */
static void ml_add_ring(apr_array_header_t *rings, const ml_keyring_t *kr)
{
    int i;

    for (i = 0; i < rings->nelts; i++)
        if (APR_ARRAY_IDX(rings, i, const ml_keyring_t *) == kr)
            return;
    APR_ARRAY_PUSH(rings, const ml_keyring_t *) = kr;
}

/* Every configured mailer, by its description, and the key files of their
 * servers (which sealed their mail) into rings. */
static apr_hash_t *ml_mailers(apr_pool_t *p, server_rec *main_s, int *nthreads,
                              const ml_srv_conf_t **names, apr_array_header_t *rings)
{
    apr_hash_t *h = apr_hash_make(p);
    server_rec *s;

    for (s = main_s; s; s = s->next) {
        ml_srv_conf_t *c = ap_get_module_config(s->module_config, &magiclink_module);
        if (c->used && c->mailer) {
            /* One setting names every recipient these threads log: the most
             * private one configured, never a clear address a host hid. */
            if (!*names || (c->log_hashed == ML_ON && (*names)->log_hashed != ML_ON))
                *names = c;
            apr_hash_set(h, ml_mailer_describe(c->mailer), APR_HASH_KEY_STRING, c->mailer);
            ml_add_ring(rings, c->keyring);
            if (c->deliverers > *nthreads)
                *nthreads = c->deliverers;
        }
    }
    return h;
}

/* The queues of this server's mailers (at most ML_STORE_QUEUES_MAX: more
 * distinct mailers than that in one server are not sent for). */
static void ml_deliverer_queues(apr_pool_t *p, ml_deliverers_t *d)
{
    apr_hash_index_t *hi;

    for (hi = apr_hash_first(p, d->mailers); hi && d->nqueues < ML_STORE_QUEUES_MAX;
         hi = apr_hash_next(hi))
        d->queues[d->nqueues++] = ml_outbox_queue(apr_hash_this_key(hi));
}

void ml_deliverer_child_init(apr_pool_t *pchild, server_rec *s)
{
    ml_deliverers_t *d;
    int i, n = 0;

    if (!ml_state_store())
        return;
    d = apr_pcalloc(pchild, sizeof(*d));
    d->s = s;
    d->rings = apr_array_make(pchild, 2, sizeof(const ml_keyring_t *));
    d->mailers = ml_mailers(pchild, s, &n, &d->names, d->rings);
    if (!apr_hash_count(d->mailers))
        return;
    ml_deliverer_queues(pchild, d);
    d->nthreads = n > 0 ? n : ML_DELIVERERS_DEFAULT;
    d->threads = apr_pcalloc(pchild, sizeof(*d->threads) * (apr_size_t)d->nthreads);
    apr_thread_mutex_create(&d->lock, APR_THREAD_MUTEX_DEFAULT, pchild);
    apr_thread_cond_create(&d->wake, pchild);
    for (i = 0; i < d->nthreads; i++) {
        if (apr_thread_create(&d->threads[i], NULL, ml_deliver_loop, d, pchild) != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_CRIT, 0, s,
                         "MAGICLINK-146: cannot start a mail deliverer thread");
            d->nthreads = i;
            break;
        }
    }
    /* A pre-cleanup: it runs before pchild's subpools are destroyed, the
     * threads' own pools among them, and before any cleanup, so the
     * deliverers stop before the store they use is closed. */
    apr_pool_pre_cleanup_register(pchild, d, ml_deliverers_stop);
    ml_dlv = d;
}

void ml_deliverer_kick(void)
{
    ml_deliverers_t *d = ml_dlv;

    if (!d)
        return;
    /* One pending kick is enough: the thread it wakes takes every due
     * message before it waits again, so a busy server wakes a deliverer
     * once per batch, not once per request. */
    apr_thread_mutex_lock(d->lock);
    if (!d->kicks) {
        d->kicks = 1;
        apr_thread_cond_signal(d->wake);
    }
    apr_thread_mutex_unlock(d->lock);
}
