#include "ml_ctr.h"

/* XORs data[0..n) with the AES-CTR keystream for iv: AES-ECB of successive
 * big-endian 128-bit counters starting at iv, as Go's cipher.NewCTR does.
 * All counter blocks go through the cipher in one call. */
int ml_ctr_xor(ml_scratch_t *s, const ml_key_t *k, const unsigned char iv[16],
               unsigned char *data, apr_size_t n)
{
    ml_buf_t *ks = ml_scratch_buf(s, ML_SBUF_STREAM);
    apr_crypto_block_t *ecb = ml_scratch_ecb(s, k);
    apr_size_t blocks = (n + 15) / 16, i, outlen = 0;
    unsigned char ctr[16], *out;
    int j;

    if (!ecb)
        return 0;
    ml_buf_reset(ks);
    if (ml_buf_reserve(ks, 2 * blocks * 16) != APR_SUCCESS)
        return 0;
    memcpy(ctr, iv, 16);
    for (i = 0; i < blocks; i++) {
        memcpy(ks->data + i * 16, ctr, 16);
        for (j = 15; j >= 0 && ++ctr[j] == 0; j--)
            ;
    }
    out = (unsigned char *)ks->data + blocks * 16;
    if (apr_crypto_block_encrypt(&out, &outlen, (unsigned char *)ks->data, blocks * 16, ecb)
            != APR_SUCCESS || outlen != blocks * 16)
        return 0;
    for (i = 0; i < n; i++)
        data[i] ^= out[i];
    return 1;
}
