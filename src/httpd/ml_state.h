/* The process's state store (MagicLinkCache): made from the configuration,
 * prepared by the parent at start (directory and files owned by the
 * server's User), opened in every child after fork, and every result of it
 * passed through ml_state_note, which logs an outage once when it starts
 * and once when it ends, in each process, however many requests fail in
 * between. The store itself is the core's (src/ml_store.h). */
#ifndef ML_STATE_H
#define ML_STATE_H

#include "httpd.h"
#include "ml_store.h"

#ifndef ML_STATE_DIR
#define ML_STATE_DIR "/var/lib/apache2/magiclink"
#endif
#define ML_DEFAULT_STORE "lmdb:" ML_STATE_DIR

/* Parses `MagicLinkCache SPEC [OPTION=VALUE ...]` into a closed store in p:
 * NULL, or the reason it cannot be one. */
const char *ml_state_parse(apr_pool_t *p, int argc, char *const argv[], ml_store_t **out);

void ml_state_pre_config(void);
/* post_config, in the parent: the store to use (st, or the default when
 * NULL), made ready for the children. */
apr_status_t ml_state_post_config(apr_pool_t *pconf, server_rec *s, ml_store_t *st);
void ml_state_child_init(apr_pool_t *p, server_rec *s);

ml_store_t *ml_state_store(void);

/* Logs the start and the end of an outage or of a full store once per
 * process; returns rc. */
ml_store_rc_t ml_state_note(server_rec *s, ml_store_rc_t rc);

/* A new link was stored: the store has room again (the next refusal for
 * a full store is logged anew). */
void ml_state_room(void);

#endif
