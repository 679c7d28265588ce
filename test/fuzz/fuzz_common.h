/* Shared set-up of the libFuzzer targets: a process-wide pool and a per-input
 * pool cleared after every input, as r->pool is after every request. */
#ifndef ML_FUZZ_COMMON_H
#define ML_FUZZ_COMMON_H

#include <apr_general.h>
#include <apr_pools.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Property failures abort, so libFuzzer records the input as a crash. */
#define ML_FUZZ_ASSERT(cond)                                                       \
    do {                                                                           \
        if (!(cond)) {                                                             \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond); \
            abort();                                                               \
        }                                                                          \
    } while (0)

static apr_pool_t *ml_fuzz_root, *ml_fuzz_input;

static void ml_fuzz_pools(void)
{
    if (apr_initialize() != APR_SUCCESS || apr_pool_create(&ml_fuzz_root, NULL) != APR_SUCCESS
        || apr_pool_create(&ml_fuzz_input, ml_fuzz_root) != APR_SUCCESS) {
        fputs("fuzz: APR initialisation failed\n", stderr);
        exit(1);
    }
}

#endif
