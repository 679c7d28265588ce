#include "ml_crypto.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

struct ml_crypto {
    apr_crypto_t *factory;
    EVP_MAC *hmac;
};

static apr_status_t ml_crypto_cleanup(void *data)
{
    ml_crypto_t *c = data;

    EVP_MAC_free(c->hmac);
    c->hmac = NULL;
    return APR_SUCCESS;
}

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
    c->hmac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
    if (!c->hmac) {
        *err = "OpenSSL has no HMAC implementation";
        return APR_ENOTIMPL;
    }
    apr_pool_cleanup_register(p, c, ml_crypto_cleanup, apr_pool_cleanup_null);
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

EVP_MAC_CTX *ml_crypto_hmac_new(const ml_crypto_t *c, const unsigned char *key, apr_size_t n)
{
    OSSL_PARAM params[2];
    EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(c->hmac);

    if (!ctx)
        return NULL;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (!EVP_MAC_init(ctx, key, n, params)) {
        EVP_MAC_CTX_free(ctx);
        return NULL;
    }
    return ctx;
}

apr_status_t ml_crypto_random(unsigned char *out, apr_size_t n)
{
    return RAND_bytes(out, (int)n) == 1 ? APR_SUCCESS : APR_EGENERAL;
}
