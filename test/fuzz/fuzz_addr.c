/* libFuzzer target: the address normalizer (ml_addr) and the domain
 * normalizer behind allow entries and Require magiclink-domain.
 *
 * Whatever is accepted comes out canonical: one '@', lower case, a local
 * part of atext without '%' and '!', a domain of LDH labels, within the
 * lengths; normalizing is idempotent, the display spelling normalizes to the
 * same identity, ml_addr_is_canonical says yes to it and no to any other
 * spelling, and its domain normalizes to itself. Refusals say why. */
#include "fuzz_common.h"

#include "ml_addr.h"

#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ml_fuzz_pools();
    return 0;
}

static int local_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (c && strchr("#$&'*+-/=?^_`{|}~.", c));
}

static int domain_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static void check_canonical(const char *a)
{
    const char *at = strchr(a, '@'), *p, *again, *disp, *err, *dom;
    size_t n = strlen(a);

    ML_FUZZ_ASSERT(at && at > a && !strchr(at + 1, '@') && n <= ML_ADDR_MAX);
    ML_FUZZ_ASSERT((size_t)(at - a) <= ML_ADDR_LOCAL_MAX);
    for (p = a; p < at; p++)
        ML_FUZZ_ASSERT(local_char((unsigned char)*p));
    for (p = at + 1; *p; p++)
        ML_FUZZ_ASSERT(domain_char((unsigned char)*p));
    ML_FUZZ_ASSERT(strchr(at + 1, '.') && a[0] != '.' && at[-1] != '.');
    ML_FUZZ_ASSERT(ml_addr_is_canonical(a, n));
    ML_FUZZ_ASSERT(ml_addr_normalize(ml_fuzz_input, a, n, &again, &disp, &err) == APR_SUCCESS);
    ML_FUZZ_ASSERT(strcmp(again, a) == 0);
    ML_FUZZ_ASSERT(ml_addr_normalize(ml_fuzz_input, disp, strlen(disp), &again, NULL, &err)
                   == APR_SUCCESS && strcmp(again, a) == 0);
    ML_FUZZ_ASSERT(ml_addr_normalize_domain(ml_fuzz_input, at + 1, strlen(at + 1), &dom, &err)
                   == APR_SUCCESS && strcmp(dom, at + 1) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data, *ascii = NULL, *disp = NULL, *err = NULL, *dom;

    if (ml_addr_normalize(ml_fuzz_input, in, size, &ascii, &disp, &err) == APR_SUCCESS) {
        check_canonical(ascii);
        ML_FUZZ_ASSERT(ml_addr_is_canonical(in, size) == (strlen(ascii) == size
                                                         && memcmp(ascii, in, size) == 0));
    } else {
        ML_FUZZ_ASSERT(err != NULL && !ml_addr_is_canonical(in, size));
    }
    err = NULL;
    if (ml_addr_normalize_domain(ml_fuzz_input, in, size, &dom, &err) == APR_SUCCESS) {
        const char *p, *again;
        for (p = dom; *p; p++)
            ML_FUZZ_ASSERT(domain_char((unsigned char)*p));
        ML_FUZZ_ASSERT(strlen(dom) <= ML_ADDR_DOMAIN_MAX);
        ML_FUZZ_ASSERT(ml_addr_normalize_domain(ml_fuzz_input, dom, strlen(dom), &again, &err)
                       == APR_SUCCESS && strcmp(again, dom) == 0);
    } else {
        ML_FUZZ_ASSERT(err != NULL);
    }
    apr_pool_clear(ml_fuzz_input);
    return 0;
}
