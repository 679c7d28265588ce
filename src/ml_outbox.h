/* The outbox: link mails accepted by `generate` and delivered in the
 * background, with retries, from the state store (ml_store.h), so that no
 * request waits for a relay and no accepted mail is lost to a slow, failing
 * or restarting relay, a full disk or a killed process.
 *
 * A message is put in the outbox in the same store transaction as its link
 * (ml_store_issue), for every address: one that may not sign in is queued
 * as "drop", so that the request does the same work either way, and the
 * deliverer removes it unsent. ml_outbox_step is one deliverer's turn: it
 * claims the most overdue message for a lease (another deliverer takes it
 * over if this one dies), sends it, and removes it or sets its next try.
 * Temporary failures (connection, time-out, 4xx, a full maildir, a pipe's
 * failure) are retried with backoff (2, 4, 8 ... 60 s) until the link
 * expires; a permanent refusal (SMTP 5xx) ends it at once. A mail is
 * delivered once unless a deliverer dies between the transport's
 * acceptance and the store's update: then it is delivered again. */
#ifndef ML_OUTBOX_H
#define ML_OUTBOX_H

#include "ml_mailer.h"
#include "ml_store.h"

#define ML_OUTBOX_LEASE 120     /* seconds: longer than any transport's time-out */
#define ML_OUTBOX_BACKOFF_MAX 60

typedef struct ml_outbox_msg {
    int send;                   /* 0: queued only to be dropped */
    const char *mailer;         /* MagicLinkMailer spec of the server that took it */
    const char *from;           /* envelope sender */
    const char *rcpt;
    const char *body;           /* the composed message */
    apr_size_t len;
} ml_outbox_msg_t;

/* The stored form of m ("mo1" and one line per field, then the body), in p;
 * NULL when a field would break it. */
const char *ml_outbox_encode(apr_pool_t *p, const ml_outbox_msg_t *m, apr_size_t *len);
/* Reads the stored form in place (data is modified); 1 when it is one. */
int ml_outbox_decode(char *data, apr_size_t len, ml_outbox_msg_t *m);

/* The queue of a mailer (by its ml_mailer_describe text): servers that
 * share a store claim only the mail of mailers they have. */
apr_uint64_t ml_outbox_queue(const char *mailer);

/* When the try after `attempts` tries is due: 2^attempts s, at most 60. */
apr_int64_t ml_outbox_next_try(int attempts, apr_int64_t now);

typedef enum {
    ML_OUTBOX_IDLE,             /* nothing due */
    ML_OUTBOX_SENT,
    ML_OUTBOX_RETRY,            /* failed for now; tried again at ev->next */
    ML_OUTBOX_REJECTED,         /* refused for good (5xx): removed */
    ML_OUTBOX_GAVE_UP,          /* failed until its link expired: removed */
    ML_OUTBOX_DROPPED,          /* for an address that may not sign in: removed unsent */
    ML_OUTBOX_UNKNOWN_MAILER,   /* no such mailer here: left for another server, later */
    ML_OUTBOX_BROKEN,           /* not a message of ours: removed */
    ML_OUTBOX_STORE_DOWN
} ml_outbox_result_t;

typedef struct ml_outbox_event {
    ml_outbox_result_t result;
    const char *rcpt;           /* in the step's pool */
    const char *transport;      /* ml_mailer_kind */
    int attempts;
    apr_int64_t next;
    double seconds;             /* the transport's time for this try */
    char why[256];              /* the transport's reason, never the message */
} ml_outbox_event_t;

/* The mailer for a spec, or NULL. */
typedef ml_mailer_t *(*ml_outbox_find_fn)(void *ctx, const char *spec);

/* One turn of a deliverer that sends for `queues`; what happened in *ev
 * (and its result). */
ml_outbox_result_t ml_outbox_step(ml_store_t *st, const apr_uint64_t *queues, int nqueues,
                                  ml_outbox_find_fn find, void *ctx, apr_int64_t now,
                                  apr_pool_t *p, ml_outbox_event_t *ev);

#endif
