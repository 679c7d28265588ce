/* AES-256-CTR over apr_crypto.
 *
 * apr-util 1.6's crypto API offers AES in ECB and CBC modes only, so CTR is
 * built here from ECB: the keystream is the encryption of successive 128-bit
 * big-endian counters starting at the IV (NIST SP 800-38A, section 6.5), as
 * Go's cipher.NewCTR computes it. Encryption and decryption are the same. */
#ifndef ML_CTR_H
#define ML_CTR_H

#include "ml_scratch.h"

/* XORs data[0..n) in place with the keystream; 0 on failure. */
int ml_ctr_xor(ml_scratch_t *s, const ml_key_t *k, const unsigned char iv[16],
               unsigned char *data, apr_size_t n);

#endif
