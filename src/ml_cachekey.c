#include "ml_cachekey.h"

#include <string.h>

int ml_cachekey(ml_scratch_t *sc, const ml_crypto_t *c, const char *kind, const char *value,
                unsigned char out[ML_CACHEKEY_LEN])
{
    unsigned char d[32];

    if (!ml_scratch_digest(sc, c, kind, value, d))
        return 0;
    /* Digest first: shmcb picks an entry's subcache by the id's first byte,
     * so a kind byte there would crowd every link id into one subcache. */
    memcpy(out, d, ML_CACHEKEY_LEN - 1);
    out[ML_CACHEKEY_LEN - 1] = (unsigned char)kind[0];
    return 1;
}

void ml_cachekey_remote(const unsigned char key[ML_CACHEKEY_LEN], char *out)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(ML_CACHE_NAMESPACE), i;

    memcpy(out, ML_CACHE_NAMESPACE ":", n + 1);
    out += n + 1;
    for (i = 0; i < ML_CACHEKEY_LEN; i++) {
        *out++ = hex[key[i] >> 4];
        *out++ = hex[key[i] & 15];
    }
    *out = '\0';
}
