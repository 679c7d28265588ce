/* The key ring: the keys that seal and open every value.
 *
 * Key file (README.md, "Keys"): one key per line, `ID HASHKEY_HEX BLOCKKEY_HEX`
 * with 64 hex digits (32 bytes) each, `#` comments and blank lines allowed.
 * The first key seals; every key opens, so a new key can be put first while
 * the old one still opens the cookies already out there.
 *
 * A line whose ID is `store` is no sealing key: its hash key keys the state
 * store (ml_store.h), so that nobody without the file can say where an
 * entry lives or which address it belongs to. It never rotates with the
 * others. Without one, the oldest key (the last line) stands in, and
 * retiring that key then resets the store's keys (see doc/cluster.md). */
#ifndef ML_KEYRING_H
#define ML_KEYRING_H

#include "ml_crypto.h"
#include "ml_hmac.h"

#include <apr_file_io.h>

#define ML_KEY_BYTES    32
#define ML_KEYRING_MAX  16
#define ML_KEY_ID_MAX   32

typedef struct ml_key {
    char id[ML_KEY_ID_MAX + 1];
    unsigned char hash_key[ML_KEY_BYTES];
    ml_hmac_key_t mac;              /* hash_key's precomputed HMAC states */
    apr_crypto_key_t *block_key;
    /* Unique in the process, so per-thread caches keyed on it never mistake
     * a key loaded after a reload for one freed before it. */
    apr_uint64_t serial;
} ml_key_t;

#define ML_STORE_KEY_ID "store"

typedef struct ml_keyring {
    const ml_crypto_t *crypto;
    ml_key_t *keys;
    int nkeys;
    ml_hmac_key_t store_secret;     /* keys every store entry (ml_store_key) */
    int store_line;
    unsigned char store_raw[ML_KEY_BYTES];   /* wiped once store_secret is made */
} ml_keyring_t;

/* Reads and parses `path`. Refuses anything but a regular file without group
 * or other permissions. Errors name the file and line, never key material. */
apr_status_t ml_keyring_load(ml_keyring_t **out, const ml_crypto_t *c, const char *path,
                             apr_pool_t *p, char *err, apr_size_t errlen);

/* Parses key-file text; `origin` names it in error messages. */
apr_status_t ml_keyring_parse(ml_keyring_t **out, const ml_crypto_t *c, const char *text,
                              apr_size_t len, const char *origin, apr_pool_t *p,
                              char *err, apr_size_t errlen);

/* One key-file line "ID HASH BLOCK\n" with fresh random keys, in `line`
 * (at least ML_KEYLINE_MAX bytes). */
#define ML_KEYLINE_MAX (ML_KEY_ID_MAX + 2 * 64 + 4)
apr_status_t ml_keyring_keygen(const char *id, char *line, apr_size_t linelen);

int ml_key_id_valid(const char *id);

/* Reads a secret file (this key file, the JWT signing keys) into
 * buf[0..cap), *len its size, after the checks every one gets: a regular
 * file of at most 64 KiB without group or other permissions. The caller
 * wipes buf. */
apr_status_t ml_keyfile_read(const char *path, char *buf, apr_size_t cap, apr_size_t *len,
                             apr_pool_t *p, char *err, apr_size_t errlen);

#endif
