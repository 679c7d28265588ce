#include "ml_scratch.h"

/* A few key rings (one per virtual host) of a few keys each. Past this,
 * slots are reused round-robin: correct, only slower. */
#define ML_SCRATCH_SLOTS 32

typedef struct ml_key_slot {
    apr_uint64_t serial;          /* 0: empty */
    apr_crypto_block_t *ecb;
} ml_key_slot_t;

struct ml_scratch {
    apr_pool_t *pool;
    ml_buf_t bufs[ML_SBUF_COUNT];
    ml_key_slot_t slots[ML_SCRATCH_SLOTS];
    int next_victim;
};

static void ml_slot_release(ml_key_slot_t *slot)
{
    if (slot->ecb)
        apr_crypto_block_cleanup(slot->ecb);
    slot->ecb = NULL;
    slot->serial = 0;
}

static apr_status_t ml_scratch_cleanup(void *data)
{
    ml_scratch_t *s = data;
    int i;

    for (i = 0; i < ML_SBUF_COUNT; i++)
        ml_buf_free(&s->bufs[i]);
    for (i = 0; i < ML_SCRATCH_SLOTS; i++)
        ml_slot_release(&s->slots[i]);
    return APR_SUCCESS;
}

apr_status_t ml_scratch_create(ml_scratch_t **out, apr_pool_t *p)
{
    ml_scratch_t *s = apr_pcalloc(p, sizeof(*s));
    int i;

    /* Block contexts are allocated from a pool; give them one of their own
     * so a reused slot does not grow the caller's pool. */
    if (apr_pool_create(&s->pool, p) != APR_SUCCESS)
        return APR_ENOMEM;
    for (i = 0; i < ML_SBUF_COUNT; i++)
        ml_buf_init(&s->bufs[i]);
    /* A pre-cleanup: plain cleanups run after subpools are destroyed, and the
     * block contexts the slots point at live in the subpool s->pool. */
    apr_pool_pre_cleanup_register(p, s, ml_scratch_cleanup);
    *out = s;
    return APR_SUCCESS;
}

ml_buf_t *ml_scratch_buf(ml_scratch_t *s, ml_sbuf_t which)
{
    return &s->bufs[which];
}

static ml_key_slot_t *ml_scratch_slot(ml_scratch_t *s, const ml_key_t *k)
{
    ml_key_slot_t *slot;
    int i;

    for (i = 0; i < ML_SCRATCH_SLOTS; i++)
        if (s->slots[i].serial == k->serial)
            return &s->slots[i];
    for (i = 0; i < ML_SCRATCH_SLOTS; i++)
        if (s->slots[i].serial == 0)
            break;
    if (i == ML_SCRATCH_SLOTS) {
        i = s->next_victim;
        s->next_victim = (s->next_victim + 1) % ML_SCRATCH_SLOTS;
        ml_slot_release(&s->slots[i]);
    }
    slot = &s->slots[i];
    slot->serial = k->serial;
    return slot;
}

apr_crypto_block_t *ml_scratch_ecb(ml_scratch_t *s, const ml_key_t *k)
{
    ml_key_slot_t *slot = ml_scratch_slot(s, k);
    apr_size_t block_size;

    /* ECB without padding keeps no state between calls, so one context,
     * initialised once, encrypts every counter block this thread needs. */
    if (!slot->ecb
        && apr_crypto_block_encrypt_init(&slot->ecb, NULL, k->block_key, &block_size, s->pool)
               != APR_SUCCESS)
        slot->ecb = NULL;
    return slot->ecb;
}
