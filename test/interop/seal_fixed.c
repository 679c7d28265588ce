/* seal_fixed: seals with a caller-chosen IV, for the byte-exact interop case
 * and the fuzz seed corpus. A test tool only: the admin CLI deliberately has
 * no way to fix the IV, since reusing one under a key leaks plaintext XORs.
 *
 *   seal_fixed [--raw] KEYFILE NAME JSON UNIXTIME IVHEX
 *
 * JSON goes through the same path as `magiclink seal` (parse, then the Go
 * compatible writer), so the output is what the module would send. With
 * --raw the argument is sealed byte for byte instead (ml_seal_raw): the fuzz
 * seed corpus needs authentic values whose payload is not canonical JSON,
 * or not JSON at all, to carry the fuzzer past the MAC into the parser. */
#include "ml_codec.h"

#include <apr_general.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <stdio.h>
#include <stdlib.h>

static int ml_fail(const char *what, const char *why)
{
    fprintf(stderr, "seal_fixed: %s: %s\n", what, why);
    return 1;
}

static int ml_unhex(const char *hex, unsigned char *out, apr_size_t n)
{
    apr_size_t i;

    if (strlen(hex) != 2 * n)
        return 0;
    for (i = 0; i < n; i++) {
        char pair[3] = { hex[2 * i], hex[2 * i + 1], '\0' };
        char *end;
        long v = strtol(pair, &end, 16);
        if (*end != '\0' || !apr_isxdigit(pair[0]))
            return 0;
        out[i] = (unsigned char)v;
    }
    return 1;
}

static int ml_run(apr_pool_t *p, const char *const *argv, int raw)
{
    unsigned char iv[ML_CODEC_IV_LEN];
    ml_seal_opts_t o = { 0 };
    ml_crypto_t *c;
    ml_keyring_t *kr;
    ml_scratch_t *s;
    ml_claims_t claims;
    const char *why, *out;
    apr_size_t outlen;
    char err[512], *end;
    ml_codec_err_t e;

    o.now = apr_strtoi64(argv[4], &end, 10);
    if (*argv[4] == '\0' || *end != '\0')
        return ml_fail("time", "not a number of seconds");
    if (!ml_unhex(argv[5], iv, sizeof(iv)))
        return ml_fail("iv", "expected 32 hex digits");
    o.iv = iv;
    if (ml_crypto_create(&c, p, &why) != APR_SUCCESS)
        return ml_fail("crypto", why);
    if (ml_keyring_load(&kr, c, argv[1], p, err, sizeof(err)) != APR_SUCCESS)
        return ml_fail("key file", err);
    if (ml_scratch_create(&s, p) != APR_SUCCESS)
        return ml_fail("scratch", "out of memory");
    if (raw)
        e = ml_seal_raw(s, kr, argv[2], argv[3], strlen(argv[3]), &o, &out, &outlen);
    else if (ml_claims_from_json(&claims, argv[3], strlen(argv[3]), p, &why) != APR_SUCCESS)
        return ml_fail("json", why);
    else
        e = ml_seal(s, kr, argv[2], &claims, &o, &out, &outlen);
    if (e != ML_CODEC_OK)
        return ml_fail("seal", ml_codec_strerror(e));
    fwrite(out, 1, outlen, stdout);
    fputc('\n', stdout);
    return 0;
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *p;
    int rc, raw = argc > 1 && strcmp(argv[1], "--raw") == 0;

    if (argc != 6 + raw) {
        fputs("usage: seal_fixed [--raw] KEYFILE NAME JSON UNIXTIME IVHEX\n", stderr);
        return 2;
    }
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&p, NULL);
    rc = ml_run(p, argv + raw, raw);
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}
