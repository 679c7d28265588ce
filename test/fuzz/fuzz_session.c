/* libFuzzer target: the claim checks of sessions and bindings (ml_link),
 * which must hold whoever sealed the value: a backend with the keys can seal
 * any JSON, so the input is sealed as it is (ml_seal_raw, the test key) and
 * opened as a session and as a binding.
 *
 * Property: what opens is exactly what the checks promise: a session has a
 * canonical email, the expected realm, times within [0, now + skew] and
 * below 2^40, within its lifetimes; a binding is a nonce of the base64url
 * alphabet. And what opens seals again to a value that opens the same. */
#include "fuzz_common.h"

#include "ml_addr.h"
#include "ml_link.h"

#include <apr_strings.h>
#include <sanitizer/lsan_interface.h>
#include <string.h>

#define NOW 1700000000
#define REALM "https://site.example"

static ml_crypto_t *crypto;
static ml_keyring_t *kr;
static ml_scratch_t *scratch;

static const char key[] =
    "fz 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f "
    "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];
    const char *why;

    int b;

    /* The key ring and the scratch live for the process (as in a worker
     * thread); their buffers are reserved here, out of the leak checker's
     * sight, so that growing them is no "leak" per input. */
    __lsan_disable();
    ml_fuzz_pools();
    if (ml_crypto_create(&crypto, ml_fuzz_root, &why) != APR_SUCCESS
        || ml_keyring_parse(&kr, crypto, key, strlen(key), "fuzz", ml_fuzz_root, err,
                            sizeof(err)) != APR_SUCCESS
        || ml_scratch_create(&scratch, ml_fuzz_root) != APR_SUCCESS) {
        fputs("fuzz_session: set-up failed\n", stderr);
        exit(1);
    }
    for (b = 0; b < ML_SBUF_COUNT; b++)
        if (ml_buf_reserve(ml_scratch_buf(scratch, (ml_sbuf_t)b), 1 << 16) != APR_SUCCESS)
            exit(1);
    /* OpenSSL sets up its random generator and algorithms on first use. */
    {
        ml_session_t w = { "a@example.com", NOW, NOW, REALM, NULL }, out;
        const char *v;
        if (ml_session_seal(scratch, kr, "s", &w, NOW, ml_fuzz_root, &v) != ML_CODEC_OK
            || ml_session_open(scratch, kr, "s", v, NOW, 86400, 3600, REALM, ml_fuzz_root,
                               &out) != ML_CODEC_OK)
            exit(1);
    }
    __lsan_enable();
    return 0;
}

static const char *seal_raw(const char *name, const uint8_t *data, size_t size)
{
    ml_seal_opts_t o = { .now = NOW, .max_len = 64 * 1024 };
    static const unsigned char iv[16];
    const char *v;
    apr_size_t n;

    o.iv = iv;
    if (ml_seal_raw(scratch, kr, name, data, size, &o, &v, &n) != ML_CODEC_OK)
        return NULL;
    return apr_pstrmemdup(ml_fuzz_input, v, n);
}

static void check_session(const uint8_t *data, size_t size)
{
    const char *v = seal_raw("s", data, size), *again;
    ml_session_t s, t;
    ml_codec_err_t e;

    if (!v)
        return;
    e = ml_session_open(scratch, kr, "s", v, NOW, 86400, 3600, REALM, ml_fuzz_input, &s);
    if (e != ML_CODEC_OK)
        return;
    ML_FUZZ_ASSERT(ml_addr_is_canonical(s.email, strlen(s.email)));
    ML_FUZZ_ASSERT(!strcmp(s.aud, REALM));
    ML_FUZZ_ASSERT(s.iat >= 0 && s.seen >= 0 && s.iat <= NOW + ML_CODEC_FUTURE_SKEW
                   && s.seen <= NOW + ML_CODEC_FUTURE_SKEW);
    ML_FUZZ_ASSERT(NOW - s.iat <= 86400 && NOW - s.seen <= 3600);
    ML_FUZZ_ASSERT(ml_session_seal(scratch, kr, "s", &s, NOW, ml_fuzz_input, &again)
                   == ML_CODEC_OK);
    ML_FUZZ_ASSERT(ml_session_open(scratch, kr, "s", again, NOW, 86400, 3600, REALM,
                                   ml_fuzz_input, &t) == ML_CODEC_OK);
    ML_FUZZ_ASSERT(!strcmp(t.email, s.email) && t.iat == s.iat && t.seen == s.seen);
    ML_FUZZ_ASSERT(ml_session_open(scratch, kr, "s", v, NOW, 86400, 3600, "https://other.example",
                                   ml_fuzz_input, &t) == ML_CODEC_REALM);
}

static void check_binding(const uint8_t *data, size_t size)
{
    const char *v = seal_raw("b", data, size), *n;
    size_t i;

    if (!v
        || !(n = ml_claim_cookie_open(ML_CLAIM_BIND, scratch, kr, "b", v, NOW, 100,
                                      ml_fuzz_input)))
        return;
    ML_FUZZ_ASSERT(strlen(n) == ML_NONCE_LEN);
    for (i = 0; i < ML_NONCE_LEN; i++)
        ML_FUZZ_ASSERT((n[i] >= 'A' && n[i] <= 'Z') || (n[i] >= 'a' && n[i] <= 'z')
                       || (n[i] >= '0' && n[i] <= '9') || n[i] == '-' || n[i] == '_');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_session(data, size);
    check_binding(data, size);
    apr_pool_clear(ml_fuzz_input);
    return 0;
}
