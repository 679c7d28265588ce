/* Punycode (RFC 3492): the encoding behind IDNA's "xn--" A-labels.
 *
 * Only what domain labels need: no mixed-case annotations, and lengths
 * bounded by the caller's arrays (a DNS label is at most 63 octets, so its
 * code points fit in 63 entries). */
#ifndef ML_PUNYCODE_H
#define ML_PUNYCODE_H

#include <apr.h>
#include <apr_errno.h>

/* Encodes cp[0..n) into out[0..*outlen) (ASCII, no "xn--" prefix, not
 * NUL-terminated); on entry *outlen is the room in out, on success the
 * length written. APR_ENOSPC when it does not fit, APR_EINVAL on a value
 * that is not a Unicode scalar or on arithmetic overflow. */
apr_status_t ml_punycode_encode(const apr_uint32_t *cp, apr_size_t n, char *out,
                                apr_size_t *outlen);

/* Decodes in[0..len) (case-insensitive digits) into cp[0..*n); on entry *n
 * is the room in cp. APR_EINVAL on malformed input, APR_ENOSPC when the
 * result does not fit. */
apr_status_t ml_punycode_decode(const char *in, apr_size_t len, apr_uint32_t *cp,
                                apr_size_t *n);

#endif
