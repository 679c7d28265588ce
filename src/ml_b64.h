/* base64url with '=' padding (RFC 4648 section 5), as Go's
 * base64.URLEncoding writes it: the alphabet of gorilla/securecookie; and
 * the hex of key files and store keys. */
#ifndef ML_B64_H
#define ML_B64_H

#include "ml_buf.h"

static inline apr_size_t ml_b64_encoded_len(apr_size_t n) { return (n + 2) / 3 * 4; }

/* Appends the encoding of in[0..n) to out. */
apr_status_t ml_b64_encode(ml_buf_t *out, const unsigned char *in, apr_size_t n);

/* Appends the encoding of in[0..n) without padding (RFC 7515 section 2:
 * JWTs, and our link ids and MACs). */
apr_status_t ml_b64_encode_raw(ml_buf_t *out, const unsigned char *in, apr_size_t n);

/* Appends the decoding of in[0..n) to out. Strict: length a multiple of 4,
 * padding only at the end, no other characters; APR_EINVAL otherwise. */
apr_status_t ml_b64_decode(ml_buf_t *out, const char *in, apr_size_t n);

/* Decodes the n hex digits (either case) at in into out[0..n/2): 1, or 0
 * when n is odd or a character is not a hex digit (out then undefined). */
int ml_hex_decode(const char *in, apr_size_t n, unsigned char *out);

#endif
