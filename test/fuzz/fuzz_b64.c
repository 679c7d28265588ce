/* libFuzzer target: base64url with padding.
 *
 *  1. Decoding the input: the decoder is strict (one spelling per byte
 *     string), so whatever it accepts must encode back to exactly the input.
 *  2. Encoding the input: the output has the expected length and alphabet
 *     and decodes back to the input.
 * Both append to a buffer that already holds bytes, which must survive. */
#include "fuzz_common.h"

#include "ml_b64.h"

#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ml_fuzz_pools();
    return 0;
}

static const char ml_fuzz_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size ? size : 1);
    ml_buf_t dec, enc, back;
    apr_size_t i;

    if (!in)
        return 0;
    if (size)
        memcpy(in, data, size);
    ml_buf_init(&dec);
    ml_buf_init(&enc);
    ml_buf_init(&back);

    ML_FUZZ_ASSERT(ml_buf_append(&dec, "AB", 2) == APR_SUCCESS);
    if (ml_b64_decode(&dec, in, size) == APR_SUCCESS) {
        apr_size_t pad = size == 0 ? 0 : (in[size - 1] == '=') + (size > 1 && in[size - 2] == '=');

        ML_FUZZ_ASSERT(size % 4 == 0);
        ML_FUZZ_ASSERT(dec.len == 2 + size / 4 * 3 - pad);
        ML_FUZZ_ASSERT(memcmp(dec.data, "AB", 2) == 0 && dec.data[dec.len] == '\0');
        ML_FUZZ_ASSERT(ml_b64_encode(&enc, (unsigned char *)dec.data + 2, dec.len - 2)
                       == APR_SUCCESS);
        ML_FUZZ_ASSERT(enc.len == size && (size == 0 || memcmp(enc.data, in, size) == 0));
    }

    ml_buf_reset(&enc);
    ML_FUZZ_ASSERT(ml_buf_append(&enc, "xyz", 3) == APR_SUCCESS);
    ML_FUZZ_ASSERT(ml_b64_encode(&enc, data, size) == APR_SUCCESS);
    ML_FUZZ_ASSERT(enc.len == 3 + ml_b64_encoded_len(size) && memcmp(enc.data, "xyz", 3) == 0);
    ML_FUZZ_ASSERT(enc.data[enc.len] == '\0');
    for (i = 3; i < enc.len; i++)
        ML_FUZZ_ASSERT(memchr(ml_fuzz_alphabet, enc.data[i], 64)
                       || (enc.data[i] == '=' && i + 2 >= enc.len));
    ML_FUZZ_ASSERT(ml_b64_decode(&back, enc.data + 3, enc.len - 3) == APR_SUCCESS);
    ML_FUZZ_ASSERT(back.len == size && (size == 0 || memcmp(back.data, data, size) == 0));

    ml_buf_free(&dec);
    ml_buf_free(&enc);
    ml_buf_free(&back);
    free(in);
    return 0;
}
