#include "ml_keyring.h"
#include "ml_b64.h"

#include <apr_atomic.h>
#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_portable.h>
#include <apr_strings.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <sys/stat.h>

/* A key file is a handful of lines; anything larger is not one. */
#define ML_KEYFILE_MAX 65536

static volatile apr_uint32_t ml_key_serial_next;

int ml_key_id_valid(const char *id)
{
    apr_size_t n = 0;

    for (; id[n]; n++) {
        char ch = id[n];
        if (!(apr_isalnum(ch) || ch == '-' || ch == '_' || ch == '.'))
            return 0;
    }
    return n > 0 && n <= ML_KEY_ID_MAX;
}

/* 64 hex digits: a 256-bit key. */
static int ml_hex32(const char *s, apr_size_t n, unsigned char out[ML_KEY_BYTES])
{
    return n == 2 * ML_KEY_BYTES && ml_hex_decode(s, n, out);
}

/* Splits the next whitespace-separated field of [*s, end). */
static int ml_field(const char **s, const char *end, const char **f, apr_size_t *n)
{
    const char *p = *s;

    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    *f = p;
    while (p < end && *p != ' ' && *p != '\t')
        p++;
    *n = (apr_size_t)(p - *f);
    *s = p;
    return *n > 0;
}

static apr_status_t ml_parse_line(ml_keyring_t *kr, const char *s, const char *end,
                                  const char *origin, int lineno, apr_pool_t *p,
                                  char *err, apr_size_t errlen)
{
    const char *id, *hk, *bk, *extra;
    apr_size_t idn, hkn, bkn, extran;
    unsigned char block[ML_KEY_BYTES];
    ml_key_t *key;
    apr_status_t rv;
    int i;

    if (!ml_field(&s, end, &id, &idn) || !ml_field(&s, end, &hk, &hkn)
        || !ml_field(&s, end, &bk, &bkn) || ml_field(&s, end, &extra, &extran)) {
        apr_snprintf(err, errlen, "%s line %d: expected \"ID HASHKEY BLOCKKEY\"", origin, lineno);
        return APR_EINVAL;
    }
    if (kr->nkeys == ML_KEYRING_MAX) {
        apr_snprintf(err, errlen, "%s line %d: more than %d keys", origin, lineno, ML_KEYRING_MAX);
        return APR_EINVAL;
    }
    key = &kr->keys[kr->nkeys];
    if (idn > ML_KEY_ID_MAX) {
        apr_snprintf(err, errlen, "%s line %d: key ID longer than %d characters", origin, lineno,
                     ML_KEY_ID_MAX);
        return APR_EINVAL;
    }
    memcpy(key->id, id, idn);
    key->id[idn] = '\0';
    if (!ml_key_id_valid(key->id)) {
        apr_snprintf(err, errlen, "%s line %d: key ID may hold only letters, digits, '-', '_', '.'",
                     origin, lineno);
        return APR_EINVAL;
    }
    for (i = 0; i < kr->nkeys; i++) {
        if (strcmp(kr->keys[i].id, key->id) == 0) {
            apr_snprintf(err, errlen, "%s line %d: key ID \"%s\" used twice", origin, lineno, key->id);
            return APR_EINVAL;
        }
    }
    if (!ml_hex32(hk, hkn, key->hash_key) || !ml_hex32(bk, bkn, block)) {
        apr_snprintf(err, errlen, "%s line %d: each key must be 64 hexadecimal digits", origin, lineno);
        OPENSSL_cleanse(key->hash_key, sizeof(key->hash_key));
        return APR_EINVAL;
    }
    ml_hmac_key_init(&key->mac, key->hash_key, sizeof(key->hash_key));
    rv = ml_crypto_aes_key(kr->crypto, block, &key->block_key, p);
    OPENSSL_cleanse(block, sizeof(block));
    if (rv != APR_SUCCESS) {
        apr_snprintf(err, errlen, "%s line %d: apr_crypto refused the AES-256 key", origin, lineno);
        return rv;
    }
    key->serial = apr_atomic_inc32(&ml_key_serial_next) + 1;
    kr->nkeys++;
    return APR_SUCCESS;
}

static apr_status_t ml_keyring_wipe(void *data)
{
    ml_keyring_t *kr = data;

    OPENSSL_cleanse(kr->keys, sizeof(ml_key_t) * ML_KEYRING_MAX);
    OPENSSL_cleanse(&kr->store_secret, sizeof(kr->store_secret));
    return APR_SUCCESS;
}

/* Takes the `store` line, if any, out of the sealing keys. */
static void ml_keyring_take_store(ml_keyring_t *kr)
{
    int i;

    for (i = 0; i < kr->nkeys; i++) {
        if (strcmp(kr->keys[i].id, ML_STORE_KEY_ID) == 0) {
            memcpy(kr->store_raw, kr->keys[i].hash_key, ML_KEY_BYTES);
            kr->store_line = 1;
            memmove(&kr->keys[i], &kr->keys[i + 1], sizeof(ml_key_t) * (size_t)(kr->nkeys - i - 1));
            kr->nkeys--;
            OPENSSL_cleanse(&kr->keys[kr->nkeys], sizeof(ml_key_t));
            return;
        }
    }
}

/* The store secret: from the `store` line, else from the oldest key (the
 * last line), under a label of its own so it is no sealing key. */
static void ml_keyring_store_secret(ml_keyring_t *kr)
{
    static const char label[] = "mod_magiclink store v1";
    ml_hmac_key_t k;
    ml_hmac_t h;
    unsigned char d[32];

    if (!kr->store_line)
        memcpy(kr->store_raw, kr->keys[kr->nkeys - 1].hash_key, ML_KEY_BYTES);
    ml_hmac_key_init(&k, kr->store_raw, ML_KEY_BYTES);
    ml_hmac_begin(&h, &k);
    ml_hmac_update(&h, label, sizeof(label) - 1);
    ml_hmac_final(&h, d);
    ml_hmac_key_init(&kr->store_secret, d, sizeof(d));
    OPENSSL_cleanse(d, sizeof(d));
    OPENSSL_cleanse(&k, sizeof(k));
    OPENSSL_cleanse(kr->store_raw, sizeof(kr->store_raw));
}

apr_status_t ml_keyring_parse(ml_keyring_t **out, const ml_crypto_t *c, const char *text,
                              apr_size_t len, const char *origin, apr_pool_t *p,
                              char *err, apr_size_t errlen)
{
    ml_keyring_t *kr = apr_pcalloc(p, sizeof(*kr));
    const char *s = text, *end = text + len;
    int lineno = 0;

    kr->crypto = c;
    kr->keys = apr_pcalloc(p, sizeof(ml_key_t) * ML_KEYRING_MAX);
    apr_pool_cleanup_register(p, kr, ml_keyring_wipe, apr_pool_cleanup_null);
    while (s < end) {
        const char *eol = memchr(s, '\n', (apr_size_t)(end - s));
        const char *line_end = eol ? eol : end, *q = s;
        apr_status_t rv;

        lineno++;
        if (line_end > s && line_end[-1] == '\r')
            line_end--;
        while (q < line_end && (*q == ' ' || *q == '\t'))
            q++;
        if (q < line_end && *q != '#') {
            rv = ml_parse_line(kr, q, line_end, origin, lineno, p, err, errlen);
            if (rv != APR_SUCCESS)
                return rv;
        }
        s = eol ? eol + 1 : end;
    }
    ml_keyring_take_store(kr);
    if (kr->nkeys == 0) {
        apr_snprintf(err, errlen, "%s: no keys (generate one with `magiclink keygen`)", origin);
        return APR_EINVAL;
    }
    ml_keyring_store_secret(kr);
    *out = kr;
    return APR_SUCCESS;
}

static apr_status_t ml_keyfile_check(const char *path, apr_file_t *f, char *err,
                                     apr_size_t errlen)
{
    apr_os_file_t fd;
    struct stat st;

    apr_os_file_get(&fd, f);
    if (fstat(fd, &st) != 0) {
        apr_snprintf(err, errlen, "%s: cannot stat", path);
        return APR_EGENERAL;
    }
    if (!S_ISREG(st.st_mode)) {
        apr_snprintf(err, errlen, "%s: not a regular file", path);
        return APR_EINVAL;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        apr_snprintf(err, errlen,
                     "%s: mode %04o gives access to group or others; chmod 600 it",
                     path, (unsigned)(st.st_mode & 07777));
        return APR_EACCES;
    }
    if (st.st_size > ML_KEYFILE_MAX) {
        apr_snprintf(err, errlen, "%s: larger than %d bytes, not a key file", path, ML_KEYFILE_MAX);
        return APR_EINVAL;
    }
    return APR_SUCCESS;
}

apr_status_t ml_keyfile_read(const char *path, char *buf, apr_size_t cap, apr_size_t *len,
                             apr_pool_t *p, char *err, apr_size_t errlen)
{
    apr_file_t *f;
    apr_status_t rv;
    char ebuf[120];

    rv = apr_file_open(&f, path, APR_FOPEN_READ, 0, p);
    if (rv != APR_SUCCESS) {
        apr_snprintf(err, errlen, "%s: %s", path, apr_strerror(rv, ebuf, sizeof(ebuf)));
        return rv;
    }
    rv = ml_keyfile_check(path, f, err, errlen);
    if (rv == APR_SUCCESS) {
        rv = apr_file_read_full(f, buf, cap, len);
        if (rv == APR_EOF)
            rv = APR_SUCCESS;
        if (rv != APR_SUCCESS)
            apr_snprintf(err, errlen, "%s: %s", path, apr_strerror(rv, ebuf, sizeof(ebuf)));
    }
    apr_file_close(f);
    return rv;
}

apr_status_t ml_keyring_load(ml_keyring_t **out, const ml_crypto_t *c, const char *path,
                             apr_pool_t *p, char *err, apr_size_t errlen)
{
    char text[ML_KEYFILE_MAX];
    apr_size_t len = 0;
    apr_status_t rv = ml_keyfile_read(path, text, sizeof(text), &len, p, err, errlen);

    if (rv == APR_SUCCESS)
        rv = ml_keyring_parse(out, c, text, len, path, p, err, errlen);
    OPENSSL_cleanse(text, sizeof(text));
    return rv;
}

apr_status_t ml_keyring_keygen(const char *id, char *line, apr_size_t linelen)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[2 * ML_KEY_BYTES];
    char *o;
    apr_size_t idn = strlen(id), i;

    if (!ml_key_id_valid(id) || linelen < idn + 2 * sizeof(raw) + 4)
        return APR_EINVAL;
    if (ml_crypto_random(raw, sizeof(raw)) != APR_SUCCESS)
        return APR_EGENERAL;
    memcpy(line, id, idn);
    o = line + idn;
    for (i = 0; i < sizeof(raw); i++) {
        if (i % ML_KEY_BYTES == 0)
            *o++ = ' ';
        *o++ = hex[raw[i] >> 4];
        *o++ = hex[raw[i] & 15];
    }
    *o++ = '\n';
    *o = '\0';
    OPENSSL_cleanse(raw, sizeof(raw));
    return APR_SUCCESS;
}
