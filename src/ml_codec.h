/* Sealed values in gorilla/securecookie's wire format (the contract with Go
 * backends: doc/go-backend.md):
 *
 *   b64( ts "|" b64( iv || AES-256-CTR(blockKey, iv, json) ) "|" HMAC-SHA256 )
 *
 * where the MAC covers  name "|" ts "|" inner  and b64 is base64url with
 * padding. The name is bound by the MAC but not sent, so a value sealed as
 * one cookie cannot be replayed as another. */
#ifndef ML_CODEC_H
#define ML_CODEC_H

#include "ml_claims.h"
#include "ml_keyring.h"
#include "ml_scratch.h"

#define ML_CODEC_MAX_LEN      4096
#define ML_CODEC_IV_LEN       16
#define ML_CODEC_MAC_LEN      32
/* Clocks of servers sharing a key file may differ this much. */
#define ML_CODEC_FUTURE_SKEW  300

typedef enum {
    ML_CODEC_OK = 0,
    ML_CODEC_TOO_LONG,       /* encoded value over the length limit */
    ML_CODEC_BASE64,         /* outer or inner base64 malformed */
    ML_CODEC_FORMAT,         /* not "ts|value|mac" */
    ML_CODEC_MAC,            /* no key's MAC matches */
    ML_CODEC_TIMESTAMP,      /* timestamp not a number, or from the future */
    ML_CODEC_EXPIRED,        /* older than max age */
    ML_CODEC_DECRYPT,        /* ciphertext too short to hold an IV */
    ML_CODEC_JSON,           /* payload not a JSON object of strings */
    ML_CODEC_ENCODING,       /* a claim to seal is not valid UTF-8 */
    ML_CODEC_INTERNAL,       /* crypto or memory failure */
    ML_CODEC_CLAIM,          /* a claim missing, unknown, malformed or out of bounds */
    ML_CODEC_REALM           /* a session sealed for another realm (aud) */
} ml_codec_err_t;

const char *ml_codec_strerror(ml_codec_err_t e);

typedef struct ml_seal_opts {
    apr_int64_t now;            /* Unix seconds */
    const unsigned char *iv;    /* NULL: random (only tests fix it) */
    apr_size_t max_len;         /* 0: ML_CODEC_MAX_LEN */
} ml_seal_opts_t;

typedef struct ml_open_opts {
    apr_int64_t now;
    apr_int64_t max_age;        /* seconds; 0: no limit */
    apr_size_t max_len;         /* 0: ML_CODEC_MAX_LEN */
} ml_open_opts_t;

/* Seals claims under `name` with the ring's first key. *out points into the
 * scratch (ML_SBUF_RESULT) and stays valid until the scratch's next seal. */
ml_codec_err_t ml_seal(ml_scratch_t *s, const ml_keyring_t *kr, const char *name,
                       const ml_claims_t *claims, const ml_seal_opts_t *o,
                       const char **out, apr_size_t *outlen);

/* Same, for an already serialized payload (any bytes). */
ml_codec_err_t ml_seal_raw(ml_scratch_t *s, const ml_keyring_t *kr, const char *name,
                           const void *plain, apr_size_t plainlen, const ml_seal_opts_t *o,
                           const char **out, apr_size_t *outlen);

/* Opens a value: length, base64, MAC (constant time, every key of the ring),
 * timestamp and age, decryption, JSON, in that order. Claims are copied into
 * p. *ts (optional) receives the value's timestamp, *key_index (optional)
 * which key opened it. */
ml_codec_err_t ml_open(ml_scratch_t *s, const ml_keyring_t *kr, const char *name,
                       const char *value, apr_size_t len, const ml_open_opts_t *o,
                       apr_pool_t *p, ml_claims_t *claims, apr_int64_t *ts, int *key_index);

/* Same, up to decryption; the plaintext is left in the scratch (ML_SBUF_PLAIN). */
ml_codec_err_t ml_open_raw(ml_scratch_t *s, const ml_keyring_t *kr, const char *name,
                           const char *value, apr_size_t len, const ml_open_opts_t *o,
                           const char **plain, apr_size_t *plainlen, apr_int64_t *ts,
                           int *key_index);

#endif
