/* Strict UTF-8 for addresses and mail text.
 *
 * Strict means what RFC 3629 allows and nothing else: no overlong forms, no
 * surrogates, nothing above U+10FFFF. Mail headers and domain names are
 * security boundaries, so a lenient decoder would be a way to smuggle bytes
 * past the checks that follow it. */
#ifndef ML_MAIL_UTF8_H
#define ML_MAIL_UTF8_H

#include <apr.h>

/* Decodes the scalar value at s[0..n) into *cp and returns its length in
 * bytes (1 to 4), or 0 when the bytes there are not well-formed UTF-8. */
apr_size_t ml_mail_utf8_next(const unsigned char *s, apr_size_t n, apr_uint32_t *cp);

/* Non-zero when s[0..n) is entirely well-formed UTF-8. */
int ml_mail_utf8_valid(const char *s, apr_size_t n);

/* Writes the encoding of cp (a scalar value) to out; returns its length. */
apr_size_t ml_mail_utf8_put(apr_uint32_t cp, char out[4]);

#endif
