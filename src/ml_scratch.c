#include "ml_scratch.h"

#include <openssl/crypto.h>
#include <unistd.h>

/* A few key rings (one per virtual host) of a few keys each. Past this,
 * slots are reused round-robin: correct, only slower. */
#define ML_SCRATCH_SLOTS 32

typedef struct ml_key_slot {
    apr_uint64_t serial;          /* 0: empty */
    apr_crypto_block_t *ecb;
} ml_key_slot_t;

/* IVs are drawn from a buffer of OpenSSL randomness refilled a kilobyte at
 * a time: RAND_bytes costs ~0.5 us a call (its DRBG re-keys AES each time),
 * 40% of a seal. IVs are public, so holding them ahead is harmless; the
 * buffer is refilled after a fork so no two processes share it. */
#define ML_SCRATCH_RANDOM 1024

struct ml_scratch {
    apr_pool_t *pool;
    ml_buf_t bufs[ML_SBUF_COUNT];
    ml_key_slot_t slots[ML_SCRATCH_SLOTS];
    unsigned char random[ML_SCRATCH_RANDOM];
    apr_size_t random_used;
    pid_t random_pid;
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
    OPENSSL_cleanse(s->random, sizeof(s->random));
    return APR_SUCCESS;
}

apr_status_t ml_scratch_create(ml_scratch_t **out, apr_pool_t *p)
{
    ml_scratch_t *s = apr_pcalloc(p, sizeof(*s));
    int i;

    s->random_used = ML_SCRATCH_RANDOM;       /* empty: filled on first use */
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

int ml_scratch_iv(ml_scratch_t *s, unsigned char *out, apr_size_t n)
{
    pid_t pid = getpid();

    if (n > ML_SCRATCH_RANDOM)
        return ml_crypto_random(out, n) == APR_SUCCESS;
    if (s->random_pid != pid || s->random_used + n > ML_SCRATCH_RANDOM) {
        if (ml_crypto_random(s->random, ML_SCRATCH_RANDOM) != APR_SUCCESS)
            return 0;
        s->random_used = 0;
        s->random_pid = pid;
    }
    memcpy(out, s->random + s->random_used, n);
    OPENSSL_cleanse(s->random + s->random_used, n);
    s->random_used += n;
    return 1;
}

int ml_scratch_digest(ml_scratch_t *s, const ml_crypto_t *c, const char *a, const char *b,
                      unsigned char out[32])
{
    ml_hmac_t h;

    ml_hmac_begin(&h, ml_crypto_digest_key(c));
    ml_hmac_update(&h, a, strlen(a));
    ml_hmac_update(&h, "|", 1);
    ml_hmac_update(&h, b, strlen(b));
    ml_hmac_final(&h, out);
    return 1;
}
