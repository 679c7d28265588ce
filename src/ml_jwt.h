/* Identity tokens for backends: JSON Web Tokens (RFC 7519) signed with
 * Ed25519 ("EdDSA", RFC 8037) or ECDSA P-256 ("ES256", RFC 7518), and the
 * JWK Set (RFC 7517) that publishes their public keys. No HTTP here.
 *
 * Keys: PEM private keys (PKCS#8 or SEC1), each under a key id ("kid"), in a
 * ring whose first key signs and whose every key is published, so a new key
 * can be published before it signs and an old one kept until the tokens it
 * signed have expired (a minute by default). Key files get the checks of the
 * main key file: a regular file without group or other permissions.
 *
 * Tokens: header {"alg","kid","typ":"JWT"}, claims iss, aud, sub, email, iat,
 * nbf, exp, jti and, when known, groups; base64url without padding; an
 * ES256 signature is the raw r||s (64 bytes), not DER. Signing goes through
 * OpenSSL 3's EVP_DigestSign; an EVP_PKEY is shared read-only by threads. */
#ifndef ML_JWT_H
#define ML_JWT_H

#include "ml_buf.h"
#include "ml_keyring.h"

#include <apr_pools.h>
#include <openssl/evp.h>

#define ML_JWT_MAX_KEYS   16
#define ML_JWT_SIG_LEN    64        /* Ed25519 signature, or ES256 r||s */
#define ML_JWT_COORD_B64  43        /* base64url of a 32-byte coordinate, no padding */

typedef enum { ML_JWT_EDDSA, ML_JWT_ES256 } ml_jwt_alg_t;

typedef struct ml_jwt_key {
    char kid[ML_KEY_ID_MAX + 1];
    ml_jwt_alg_t alg;
    EVP_PKEY *pkey;
    char x[ML_JWT_COORD_B64 + 1];   /* the public key as the JWK's x (and y for P-256) */
    char y[ML_JWT_COORD_B64 + 1];
    const char *header;             /* the token header, base64url, made once */
} ml_jwt_key_t;

typedef struct ml_jwt_ring {
    ml_jwt_key_t keys[ML_JWT_MAX_KEYS];
    int n;
    /* Unique in the process, so a per-thread token cache keyed on it never
     * serves a token of a ring loaded before a reload. */
    apr_uint64_t serial;
} ml_jwt_ring_t;

/* "EdDSA" or "ES256". */
const char *ml_jwt_alg_name(ml_jwt_alg_t alg);

/* An empty ring whose keys are freed with p. */
ml_jwt_ring_t *ml_jwt_ring_make(apr_pool_t *p);

/* Adds the private key of PEM text under kid; `origin` names the text in
 * errors (never key material). APR_EINVAL with err set for a kid already in
 * the ring or not [A-Za-z0-9._-]{1,32}, a full ring, an encrypted or
 * unreadable key, or a key that is neither Ed25519 nor EC P-256. */
apr_status_t ml_jwt_ring_add_pem(ml_jwt_ring_t *ring, const char *kid, const char *pem,
                                 apr_size_t len, const char *origin, apr_pool_t *p,
                                 char *err, apr_size_t errlen);

/* The same, from a file that passes ml_keyfile_read's checks. */
apr_status_t ml_jwt_ring_add_file(ml_jwt_ring_t *ring, const char *kid, const char *path,
                                  apr_pool_t *p, char *err, apr_size_t errlen);

/* Appends the ring's public keys as a JWK Set: {"keys":[{kty, crv, x[, y],
 * kid, alg, use:"sig"}, ...]}, in ring order. */
apr_status_t ml_jwt_jwks(const ml_jwt_ring_t *ring, ml_buf_t *out);

typedef struct ml_jwt_claims {
    const char *iss;
    const char *aud;
    const char *email;          /* both sub and email: the canonical address */
    apr_int64_t iat;            /* also nbf */
    apr_int64_t ttl;            /* exp = iat + ttl */
    const char *jti;            /* NULL: 16 fresh random bytes, base64url */
    const char *const *groups;  /* NULL: no groups claim; else ngroups names */
    int ngroups;
} ml_jwt_claims_t;

/* Replaces out's contents with the token for c, signed with the ring's
 * first key; `work` is scratch for the claims JSON (wiped after). On
 * failure *why says which step failed (a string constant). */
apr_status_t ml_jwt_sign(const ml_jwt_ring_t *ring, const ml_jwt_claims_t *c, ml_buf_t *work,
                         ml_buf_t *out, const char **why);

/* The JWS signature of in[0..n) under k: 64 bytes (RFC 8037 / RFC 7518 3.4). */
apr_status_t ml_jwt_sign_raw(const ml_jwt_key_t *k, const void *in, apr_size_t n,
                             unsigned char sig[ML_JWT_SIG_LEN]);

/* A fresh private key ("ed25519" or "es256") as PKCS#8 PEM, appended to out. */
apr_status_t ml_jwt_keygen_pem(const char *alg, ml_buf_t *out, const char **why);

#endif
