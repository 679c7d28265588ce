/* Shared helpers for the cmocka unit tests. */
#ifndef ML_TEST_H
#define ML_TEST_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>

#include <apr_general.h>
#include <apr_pools.h>
#include <apr_strings.h>
#include <string.h>

#include "ml_keyring.h"

static inline void ml_test_unhex(const char *hex, unsigned char *out, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned v;
        assert_int_equal(sscanf(hex + 2 * i, "%2x", &v), 1);
        out[i] = (unsigned char)v;
    }
}

/* A key ring parsed from key-file text; the test fails when it does not parse. */
static inline ml_keyring_t *ml_test_ring(const ml_crypto_t *crypto, const char *text,
                                         apr_pool_t *p)
{
    ml_keyring_t *kr = NULL;
    char err[256];

    assert_int_equal(ml_keyring_parse(&kr, crypto, text, strlen(text), "test", p, err,
                                      sizeof(err)), APR_SUCCESS);
    return kr;
}

#endif
