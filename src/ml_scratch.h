/* Per-thread working state for sealing and opening.
 *
 * Holds the recycled buffers and a ready AES block context per key, so a
 * seal or an open costs no context set-up and no heap allocation once warm
 * (HMAC states live in the keys: ml_hmac.h; IVs come from ml_random.h).
 * One thread uses a scratch at a time; the httpd glue keeps one per worker
 * thread, the CLI and tests one per thread. */
#ifndef ML_SCRATCH_H
#define ML_SCRATCH_H

#include "ml_buf.h"
#include "ml_keyring.h"

typedef struct ml_scratch ml_scratch_t;

/* The scratch lives until p is cleared or destroyed. */
apr_status_t ml_scratch_create(ml_scratch_t **out, apr_pool_t *p);

/* Buffers for the codec's stages, and one for the caller's own use (the
 * rendered output). Contents are valid until the next call that uses them. */
typedef enum {
    ML_SBUF_PLAIN,   /* serialized claims */
    ML_SBUF_STREAM,  /* counter blocks, then keystream */
    ML_SBUF_INNER,   /* iv || ciphertext, and its base64 */
    ML_SBUF_OUTER,   /* ts|inner|mac before base64; decoded value on open */
    ML_SBUF_RESULT,  /* the sealed value */
    ML_SBUF_USER,    /* free for the caller, like the three below */
    ML_SBUF_TEXT,    /* a mail's text/plain body */
    ML_SBUF_HTML,    /* a mail's text/html body */
    ML_SBUF_MAIL,    /* a composed mail */
    ML_SBUF_COUNT
} ml_sbuf_t;

ml_buf_t *ml_scratch_buf(ml_scratch_t *s, ml_sbuf_t which);

/* The cached AES block context for key k, made on first use. */
apr_crypto_block_t *ml_scratch_ecb(ml_scratch_t *s, const ml_key_t *k);


#endif
