/* The outbox: link mails accepted by `generate` and delivered in the
 * background, with retries, from the state store (ml_store.h), so that no
 * request waits for a relay and no accepted mail is lost to a slow, failing
 * or restarting relay, a full disk or a killed process.
 *
 * A message is put in the outbox in the same store transaction as its link
 * (ml_store_issue), for every address, as the sealed inputs of its mail
 * (ml_outbox_seal), composed only when it is sent: one that may not sign
 * in is queued as "drop", so that the request does the same work either
 * way, and the deliverer removes it unsent, never composed.
 * ml_outbox_step is one deliverer's turn: it claims the most overdue
 * message for a lease (another deliverer takes it over if this one dies),
 * composes and sends it, and removes it or sets its next try.
 * Temporary failures (connection, time-out, 4xx, a full maildir, a pipe's
 * failure) are retried with backoff (2, 4, 8 ... 60 s) until the link
 * expires; a permanent refusal (SMTP 5xx) ends it at once. A mail is
 * delivered once unless a deliverer dies between the transport's
 * acceptance and the store's update: then it is delivered again. */
#ifndef ML_OUTBOX_H
#define ML_OUTBOX_H

#include "ml_keyring.h"
#include "ml_mail_link.h"
#include "ml_mailer.h"
#include "ml_scratch.h"
#include "ml_store.h"

#define ML_OUTBOX_LEASE 120     /* seconds: longer than any transport's time-out */
#define ML_OUTBOX_BACKOFF_MAX 60

typedef struct ml_outbox_msg {
    int send;                   /* 0: queued only to be dropped */
    const char *mailer;         /* MagicLinkMailer spec of the server that took it */
    const char *from;           /* its MagicLinkMailFrom, parsed again to compose */
    ml_mail_link_t mail;        /* what the mail is composed from (mail.from unused) */
} ml_outbox_msg_t;

/* The stored form of m: its fields, one per line, sealed with the key
 * file's first key (ml_codec.h) under a name bound to the message id. The
 * link and code are in it, and the store is readable by every process of
 * httpd's User (a CGI among them); the key file is not. The seal also keeps
 * anyone who can write the store from queueing a mail of their own. In p;
 * NULL when a field would break a line or the seal fails. */
const char *ml_outbox_seal(ml_scratch_t *s, const ml_keyring_t *kr, const ml_store_key_t *id,
                           const ml_outbox_msg_t *m, apr_int64_t now, apr_pool_t *p,
                           apr_size_t *len);
/* Opens a stored message with whichever of the rings sealed it (servers
 * with key files of their own may share a store) into m, in p; 1 when it
 * is one of ours. */
int ml_outbox_open(ml_scratch_t *s, const ml_keyring_t *const *rings, int nrings,
                   const ml_store_key_t *id, const char *data, apr_size_t len,
                   apr_int64_t now, apr_pool_t *p, ml_outbox_msg_t *m);

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
    ML_OUTBOX_BROKEN,           /* not a message of ours (or of keys no longer in
                                 * any key file), or it would not compose: removed */
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

/* What a deliverer needs besides the store. */
typedef struct ml_outbox_reader {
    const apr_uint64_t *queues;     /* the queues it sends for */
    int nqueues;
    ml_outbox_find_fn find;
    void *ctx;
    const ml_keyring_t *const *rings;   /* every key file of the servers it sends for */
    int nrings;
    ml_scratch_t *scratch;          /* its own: opening and composing */
} ml_outbox_reader_t;

/* One turn of a deliverer; what happened in *ev (and its result). */
ml_outbox_result_t ml_outbox_step(ml_store_t *st, const ml_outbox_reader_t *rd,
                                  apr_int64_t now, apr_pool_t *p, ml_outbox_event_t *ev);

#endif
