/* HMAC-SHA256 with the key's padded blocks hashed once, when the key is
 * loaded: each MAC then starts from a copy of the inner state and ends by
 * finishing a copy of the outer one.
 *
 * Why not EVP_MAC: on OpenSSL 3.0 every EVP_MAC_init and EVP_MAC_final
 * re-creates a digest context (two mallocs and ~110 ns per MAC, measured
 * by test/bench/codec), and a request computes up to ten MACs. The SHA-256
 * state copy is plain memory. SHA256_Init and friends are deprecated in
 * OpenSSL 3 but present through 3.x; they are confined to ml_hmac.c. */
#ifndef ML_HMAC_H
#define ML_HMAC_H

#include <apr.h>

#define ML_HMAC_LEN 32

/* Opaque SHA-256 state, sized for OpenSSL's SHA256_CTX (checked in ml_hmac.c). */
typedef struct ml_sha256_state {
    apr_uint64_t words[14];
} ml_sha256_state_t;

typedef struct ml_hmac_key {
    ml_sha256_state_t inner;   /* after hashing key ^ ipad */
    ml_sha256_state_t outer;   /* after hashing key ^ opad */
} ml_hmac_key_t;

typedef struct ml_hmac {
    ml_sha256_state_t state;
    const ml_hmac_key_t *key;
} ml_hmac_t;

void ml_hmac_key_init(ml_hmac_key_t *k, const unsigned char *key, apr_size_t n);
void ml_hmac_begin(ml_hmac_t *h, const ml_hmac_key_t *k);
void ml_hmac_update(ml_hmac_t *h, const void *data, apr_size_t n);
void ml_hmac_final(ml_hmac_t *h, unsigned char out[ML_HMAC_LEN]);

#endif
