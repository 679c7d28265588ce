/* libFuzzer target: ml_open on untrusted cookie and link-token values.
 *
 * Every input is used twice:
 *  1. as a sealed value, opened with a two-key ring (the key of the seed
 *     corpus second, so the loop over keys runs). The fuzzer cannot forge a
 *     MAC, so mutants die at length, base64, format or MAC; the seeds carry
 *     it to the timestamp, decryption and JSON. Whatever opens must re-seal,
 *     with its own timestamp and IV, to exactly the input when its payload is
 *     in canonical form (which every real sealer writes).
 *  2. as a payload, sealed with ml_seal_raw and opened again: this drives
 *     arbitrary bytes through decryption into the JSON parser, and the open
 *     must succeed exactly when ml_claims_from_json accepts the payload, with
 *     the same claims.
 *
 * The seed corpus (test/fuzz/corpus_open, see make_corpus.py) is sealed with
 * test/keys/test.key at ML_FUZZ_T0; ML_FUZZ_KEYFILE names that file. */
#include "fuzz_common.h"

#include "ml_b64.h"
#include "ml_codec.h"

#include <apr_strings.h>
#include <sanitizer/lsan_interface.h>
#include <string.h>

#ifndef ML_FUZZ_KEYFILE
#error "build with -DML_FUZZ_KEYFILE=\"/path/to/test/keys/test.key\""
#endif

#define ML_FUZZ_T0      1700000000
#define ML_FUZZ_NOW     (ML_FUZZ_T0 + 600)
#define ML_FUZZ_MAX_AGE 3600
#define ML_FUZZ_NAME    "magic"

/* A second key, first in the opening ring; it opens nothing in the corpus. */
static const char ml_fuzz_aux_key[] =
    "aux 0101010101010101010101010101010101010101010101010101010101010101 "
    "0202020202020202020202020202020202020202020202020202020202020202\n";

static ml_keyring_t *ml_fuzz_ring;      /* aux, test */
static ml_keyring_t *ml_fuzz_single[2]; /* each key alone, to re-seal with */
static ml_scratch_t *ml_fuzz_scratch;

static void ml_fuzz_die(const char *what, const char *why)
{
    fprintf(stderr, "fuzz_open: %s: %s\n", what, why);
    exit(1);
}

static ml_keyring_t *ml_fuzz_parse_ring(const ml_crypto_t *c, const char *text)
{
    ml_keyring_t *kr;
    char err[256];

    if (ml_keyring_parse(&kr, c, text, strlen(text), "fuzz ring", ml_fuzz_root, err,
                         sizeof(err)) != APR_SUCCESS)
        ml_fuzz_die("key ring", err);
    return kr;
}

/* Debian's APR takes pool memory from mmap, which LeakSanitizer does not
 * scan, so heap blocks that only pool-resident structures point at (the
 * scratch's buffers, cipher and MAC contexts, OpenSSL objects of the key
 * ring) would all look leaked. Everything long-lived is therefore made here,
 * with leak tracking off, and the scratch's buffers are grown up front past
 * anything -max_len can ask for, so no input makes them grow again; leaks in
 * per-input work (the claims reader, the codec) are still found. */
static void ml_fuzz_warm(void)
{
    static const unsigned char iv[ML_CODEC_IV_LEN];
    ml_seal_opts_t so = { .now = ML_FUZZ_NOW, .iv = iv };
    ml_open_opts_t o = { .now = ML_FUZZ_NOW };
    ml_claims_t claims;
    const char *out;
    apr_size_t len;
    int k, b;

    for (b = 0; b < ML_SBUF_COUNT; b++)
        if (ml_buf_reserve(ml_scratch_buf(ml_fuzz_scratch, (ml_sbuf_t)b), 1 << 16) != APR_SUCCESS)
            ml_fuzz_die("scratch", "out of memory");
    for (k = 0; k < 2; k++) {
        if (ml_seal_raw(ml_fuzz_scratch, ml_fuzz_single[k], ML_FUZZ_NAME, "{}", 2, &so, &out, &len)
                != ML_CODEC_OK
            || ml_open(ml_fuzz_scratch, ml_fuzz_ring, ML_FUZZ_NAME, out, len, &o, ml_fuzz_input,
                       &claims, NULL, NULL) != ML_CODEC_OK)
            ml_fuzz_die("warm-up", "seal and open failed");
    }
    apr_pool_clear(ml_fuzz_input);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *path = getenv("ML_FUZZ_KEYFILE") ? getenv("ML_FUZZ_KEYFILE") : ML_FUZZ_KEYFILE;
    char text[4096], *both;
    ml_crypto_t *c;
    const char *why;
    size_t n;
    FILE *f;

    __lsan_disable();
    ml_fuzz_pools();
    if (ml_crypto_create(&c, ml_fuzz_root, &why) != APR_SUCCESS)
        ml_fuzz_die("crypto", why);
    /* Read directly, not with ml_keyring_load: the file in git is 0644, and
     * only the parser is of interest here. */
    if (!(f = fopen(path, "r")))
        ml_fuzz_die(path, "cannot open");
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    both = apr_pstrcat(ml_fuzz_root, ml_fuzz_aux_key, text, NULL);
    ml_fuzz_ring = ml_fuzz_parse_ring(c, both);
    ml_fuzz_single[0] = ml_fuzz_parse_ring(c, ml_fuzz_aux_key);
    ml_fuzz_single[1] = ml_fuzz_parse_ring(c, text);
    if (ml_fuzz_ring->nkeys != 2)
        ml_fuzz_die(path, "expected exactly one key");
    if (ml_scratch_create(&ml_fuzz_scratch, ml_fuzz_root) != APR_SUCCESS)
        ml_fuzz_die("scratch", "out of memory");
    ml_fuzz_warm();
    __lsan_enable();
    return 0;
}

static int ml_claims_equal(const ml_claims_t *a, const ml_claims_t *b)
{
    int i;

    if (a->n != b->n)
        return 0;
    for (i = 0; i < a->n; i++) {
        const char *v = ml_claims_get(b, a->items[i].key);
        if (!v || strcmp(v, a->items[i].val) != 0)
            return 0;
    }
    return 1;
}

/* The IV of a value known to be well formed. */
static void ml_fuzz_iv_of(const char *value, apr_size_t len, unsigned char iv[ML_CODEC_IV_LEN])
{
    ml_buf_t outer, inner;
    const char *bar1, *bar2;

    ml_buf_init(&outer);
    ml_buf_init(&inner);
    ML_FUZZ_ASSERT(ml_b64_decode(&outer, value, len) == APR_SUCCESS);
    bar1 = memchr(outer.data, '|', outer.len);
    ML_FUZZ_ASSERT(bar1);
    bar2 = memchr(bar1 + 1, '|', (apr_size_t)(outer.data + outer.len - bar1 - 1));
    ML_FUZZ_ASSERT(bar2);
    ML_FUZZ_ASSERT(ml_b64_decode(&inner, bar1 + 1, (apr_size_t)(bar2 - bar1 - 1)) == APR_SUCCESS);
    ML_FUZZ_ASSERT(inner.len > ML_CODEC_IV_LEN);
    memcpy(iv, inner.data, ML_CODEC_IV_LEN);
    ml_buf_free(&outer);
    ml_buf_free(&inner);
}

static void ml_fuzz_as_value(const char *value, apr_size_t len)
{
    ml_open_opts_t o = { .now = ML_FUZZ_NOW, .max_age = ML_FUZZ_MAX_AGE };
    ml_claims_t claims, again;
    ml_buf_t json;
    const char *plain, *why, *out;
    apr_size_t plainlen, outlen;
    apr_int64_t ts = -1, ts_raw = -1;
    int key = -1, key_raw = -1, canonical, i;
    ml_codec_err_t e, e_raw;
    ml_seal_opts_t so;
    unsigned char iv[ML_CODEC_IV_LEN];
    char *plain_copy = NULL;

    e_raw = ml_open_raw(ml_fuzz_scratch, ml_fuzz_ring, ML_FUZZ_NAME, value, len, &o, &plain,
                        &plainlen, &ts_raw, &key_raw);
    if (e_raw == ML_CODEC_OK)
        plain_copy = apr_pmemdup(ml_fuzz_input, plain, plainlen);

    e = ml_open(ml_fuzz_scratch, ml_fuzz_ring, ML_FUZZ_NAME, value, len, &o, ml_fuzz_input,
                &claims, &ts, &key);
    /* ml_open is ml_open_raw followed by the JSON step. */
    ML_FUZZ_ASSERT(e_raw == ML_CODEC_OK ? (e == ML_CODEC_OK || e == ML_CODEC_JSON) : e == e_raw);
    ML_FUZZ_ASSERT(ml_codec_strerror(e) != NULL);
    if (e != ML_CODEC_OK)
        return;

    ML_FUZZ_ASSERT(len <= ML_CODEC_MAX_LEN);
    ML_FUZZ_ASSERT(ts == ts_raw && key == key_raw && (key == 0 || key == 1));
    ML_FUZZ_ASSERT(ts <= ML_FUZZ_NOW + ML_CODEC_FUTURE_SKEW && ts >= ML_FUZZ_NOW - ML_FUZZ_MAX_AGE);
    ML_FUZZ_ASSERT(claims.n >= 0 && claims.n <= ML_CLAIMS_MAX);
    for (i = 0; i < claims.n; i++)
        ML_FUZZ_ASSERT(claims.items[i].key && claims.items[i].val);
    ML_FUZZ_ASSERT(ml_claims_from_json(&again, plain_copy, plainlen, ml_fuzz_input, &why)
                   == APR_SUCCESS);
    ML_FUZZ_ASSERT(ml_claims_equal(&claims, &again));

    /* Claims the reader accepted are valid UTF-8, so they can be written back. */
    ml_buf_init(&json);
    ML_FUZZ_ASSERT(ml_claims_to_json(&claims, &json) == APR_SUCCESS);
    canonical = json.len == plainlen && memcmp(json.data, plain_copy, plainlen) == 0;
    ml_buf_free(&json);

    ml_fuzz_iv_of(value, len, iv);
    so = (ml_seal_opts_t){ .now = ts, .iv = iv };
    ML_FUZZ_ASSERT(ml_seal(ml_fuzz_scratch, ml_fuzz_single[key], ML_FUZZ_NAME, &claims, &so, &out,
                           &outlen) == ML_CODEC_OK);
    if (canonical)
        ML_FUZZ_ASSERT(outlen == len && memcmp(out, value, len) == 0);
}

static void ml_fuzz_as_payload(const uint8_t *data, size_t size)
{
    static const unsigned char iv[ML_CODEC_IV_LEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                                       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xf0 };
    ml_seal_opts_t so = { .now = ML_FUZZ_NOW, .iv = iv };
    ml_open_opts_t o = { .now = ML_FUZZ_NOW, .max_age = ML_FUZZ_MAX_AGE };
    ml_claims_t via_codec, direct;
    const char *sealed, *why;
    char *value;
    apr_size_t len;
    apr_int64_t ts;
    int key;
    ml_codec_err_t e;
    apr_status_t rv;

    e = ml_seal_raw(ml_fuzz_scratch, ml_fuzz_single[1], ML_FUZZ_NAME, data, size, &so, &sealed,
                    &len);
    if (e == ML_CODEC_TOO_LONG)
        return;
    ML_FUZZ_ASSERT(e == ML_CODEC_OK);
    ML_FUZZ_ASSERT(len == ml_b64_encoded_len(10 + 1 + ml_b64_encoded_len(ML_CODEC_IV_LEN + size)
                                             + 1 + ML_CODEC_MAC_LEN));
    /* The result lives in the scratch, which the open below reuses. */
    value = apr_pmemdup(ml_fuzz_input, sealed, len);

    e = ml_open(ml_fuzz_scratch, ml_fuzz_ring, ML_FUZZ_NAME, value, len, &o, ml_fuzz_input,
                &via_codec, &ts, &key);
    rv = ml_claims_from_json(&direct, (const char *)data, size, ml_fuzz_input, &why);
    if (size == 0)
        ML_FUZZ_ASSERT(e == ML_CODEC_DECRYPT);   /* an IV and nothing after it */
    else
        ML_FUZZ_ASSERT(rv == APR_SUCCESS ? e == ML_CODEC_OK : e == ML_CODEC_JSON);
    if (e == ML_CODEC_OK) {
        ML_FUZZ_ASSERT(ts == ML_FUZZ_NOW && key == 1);
        ML_FUZZ_ASSERT(ml_claims_equal(&via_codec, &direct));
    }
    /* Under another name the same value must not open. */
    e = ml_open(ml_fuzz_scratch, ml_fuzz_ring, "magiclink_session", value, len, &o, ml_fuzz_input,
                &via_codec, NULL, NULL);
    ML_FUZZ_ASSERT(e == ML_CODEC_MAC);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Values arrive without a terminator; a copy of exactly size bytes lets
     * ASan catch any read past the end. */
    char *value = malloc(size ? size : 1);

    if (!value)
        return 0;
    if (size)
        memcpy(value, data, size);
    ml_fuzz_as_value(value, size);
    ml_fuzz_as_payload(data, size);
    free(value);
    apr_pool_clear(ml_fuzz_input);
    return 0;
}
