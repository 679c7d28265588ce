#define OPENSSL_SUPPRESS_DEPRECATED   /* see ml_hmac.h: SHA256_* on purpose */
#include "ml_hmac.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <string.h>

/* The opaque state must hold a SHA256_CTX. */
typedef char ml_sha256_state_fits[sizeof(ml_sha256_state_t) >= sizeof(SHA256_CTX) ? 1 : -1];

#define ML_CTX(st) ((SHA256_CTX *)(void *)(st)->words)

void ml_hmac_key_init(ml_hmac_key_t *k, const unsigned char *key, apr_size_t n)
{
    unsigned char block[SHA256_CBLOCK], pad[SHA256_CBLOCK];
    apr_size_t i;

    memset(block, 0, sizeof(block));
    if (n > sizeof(block))
        SHA256(key, n, block);
    else
        memcpy(block, key, n);
    for (i = 0; i < sizeof(pad); i++)
        pad[i] = block[i] ^ 0x36;
    SHA256_Init(ML_CTX(&k->inner));
    SHA256_Update(ML_CTX(&k->inner), pad, sizeof(pad));
    for (i = 0; i < sizeof(pad); i++)
        pad[i] = block[i] ^ 0x5c;
    SHA256_Init(ML_CTX(&k->outer));
    SHA256_Update(ML_CTX(&k->outer), pad, sizeof(pad));
    OPENSSL_cleanse(block, sizeof(block));
    OPENSSL_cleanse(pad, sizeof(pad));
}

void ml_hmac_begin(ml_hmac_t *h, const ml_hmac_key_t *k)
{
    h->state = k->inner;
    h->key = k;
}

void ml_hmac_update(ml_hmac_t *h, const void *data, apr_size_t n)
{
    SHA256_Update(ML_CTX(&h->state), data, n);
}

void ml_hmac_final(ml_hmac_t *h, unsigned char out[ML_HMAC_LEN])
{
    unsigned char inner[ML_HMAC_LEN];
    ml_sha256_state_t outer = h->key->outer;

    SHA256_Final(inner, ML_CTX(&h->state));
    SHA256_Update(ML_CTX(&outer), inner, sizeof(inner));
    SHA256_Final(out, ML_CTX(&outer));
    OPENSSL_cleanse(inner, sizeof(inner));
    OPENSSL_cleanse(&h->state, sizeof(h->state));
    OPENSSL_cleanse(&outer, sizeof(outer));
}
