/* Process-wide cryptographic objects, made once (post_config, or main() in
 * the CLI and tests) and shared read-only by every thread afterwards:
 *  - the apr_crypto factory of the "openssl" driver, which makes AES keys.
 * Per-call state (cipher contexts, buffers) lives in an ml_scratch_t. */
#ifndef ML_CRYPTO_H
#define ML_CRYPTO_H

#include <apr_pools.h>
#include <apr_crypto.h>

typedef struct ml_crypto ml_crypto_t;

/* Loads the driver and fetches the algorithms; on failure *err says why. */
apr_status_t ml_crypto_create(ml_crypto_t **out, apr_pool_t *p, const char **err);

const apr_crypto_t *ml_crypto_factory(const ml_crypto_t *c);

/* An AES-256 key for ECB without padding: the block function that the CTR
 * keystream is built from (apr-util 1.6 offers no CTR mode of its own). */
apr_status_t ml_crypto_aes_key(const ml_crypto_t *c, const unsigned char raw[32],
                               apr_crypto_key_t **out, apr_pool_t *p);

/* Cryptographically strong random bytes straight from OpenSSL, for keys
 * (values drawn per request come from ml_random_bytes). */
apr_status_t ml_crypto_random(unsigned char *out, apr_size_t n);

#endif
