/* Keys of the shared store (MagicLinkCache), derived the same way by the
 * module and by the admin CLI: the first 16 bytes of a digest of kind and
 * value (so no address is stored in the clear), then the kind byte ('u' link
 * ids, 'e'/'i'/'d' rate counters, 't' code tries, 'v' sign-out times).
 *
 * On redis and memcache, httpd's socache providers store an id under
 * "magiclink:" + lower-case hex(id); ml_cachekey_remote gives that name. */
#ifndef ML_CACHEKEY_H
#define ML_CACHEKEY_H

#include "ml_scratch.h"

#define ML_CACHEKEY_LEN 17
#define ML_CACHE_NAMESPACE "magiclink"

int ml_cachekey(ml_scratch_t *sc, const ml_crypto_t *c, const char *kind, const char *value,
                unsigned char out[ML_CACHEKEY_LEN]);

/* "magiclink:" + hex(key), NUL-terminated, into out (at least 64 bytes). */
void ml_cachekey_remote(const unsigned char key[ML_CACHEKEY_LEN], char *out);

#endif
