#include "ml_crypto.h"
#include "ml_hmac.h"

#include <openssl/rand.h>

struct ml_crypto {
    apr_crypto_t *factory;
};

apr_status_t ml_crypto_create(ml_crypto_t **out, apr_pool_t *p, const char **err)
{
    const apr_crypto_driver_t *driver = NULL;
    const apu_err_t *result = NULL;
    ml_crypto_t *c = apr_pcalloc(p, sizeof(*c));
    apr_status_t rv;

    rv = apr_crypto_init(p);
    if (rv != APR_SUCCESS) {
        *err = "apr_crypto_init failed";
        return rv;
    }
    rv = apr_crypto_get_driver(&driver, "openssl", NULL, &result, p);
    if (rv != APR_SUCCESS || !driver) {
        *err = "apr_crypto has no usable \"openssl\" driver (is apr_crypto_openssl installed?)";
        return rv != APR_SUCCESS ? rv : APR_ENOTIMPL;
    }
    rv = apr_crypto_make(&c->factory, driver, NULL, p);
    if (rv != APR_SUCCESS) {
        *err = "apr_crypto_make failed for the openssl driver";
        return rv;
    }
    *out = c;
    return APR_SUCCESS;
}

const apr_crypto_t *ml_crypto_factory(const ml_crypto_t *c)
{
    return c->factory;
}

apr_status_t ml_crypto_aes_key(const ml_crypto_t *c, const unsigned char raw[32],
                               apr_crypto_key_t **out, apr_pool_t *p)
{
    apr_crypto_key_rec_t rec = { 0 };

    rec.ktype = APR_CRYPTO_KTYPE_SECRET;
    rec.type = APR_KEY_AES_256;
    rec.mode = APR_MODE_ECB;
    rec.pad = 0;
    rec.k.secret.secret = raw;
    rec.k.secret.secretLen = 32;
    return apr_crypto_key(out, &rec, c->factory, p);
}

apr_status_t ml_crypto_random(unsigned char *out, apr_size_t n)
{
    return RAND_bytes(out, (int)n) == 1 ? APR_SUCCESS : APR_EGENERAL;
}
