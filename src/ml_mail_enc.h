/* MIME encoders for mail composition: quoted-printable bodies (RFC 2045)
 * and header values as plain text or RFC 2047 encoded-words, folded.
 *
 * Every function appends to a recycled ml_buf_t and allocates nothing else.
 * Header encoders are the only way caller-supplied text reaches a header:
 * they refuse control characters (so no CR/LF can start a new header) and
 * malformed UTF-8 with APR_EINVAL, leaving the buffer's length unchanged. */
#ifndef ML_MAIL_ENC_H
#define ML_MAIL_ENC_H

#include "ml_buf.h"

/* Lines are kept to MIME's 76 characters (CRLF not counted): within RFC
 * 5322's 78 recommended and far from its 998 hard limit. */
#define ML_MAIL_LINE 76

/* Appends s[0..n) as quoted-printable: LF or CRLF in the input become CRLF
 * hard line breaks, everything else non-printable is =XX, soft breaks keep
 * lines within ML_MAIL_LINE. A '.' or "From " starting a line is encoded too,
 * so no transport's dot-stuffing or mbox quoting can alter the text. */
apr_status_t ml_mail_qp(ml_buf_t *b, const char *s, apr_size_t n);

/* Appends an unstructured header value (Subject) that continues the line
 * already in b: as is when it is short plain ASCII words, otherwise as
 * UTF-8 encoded-words; folded at ML_MAIL_LINE either way. */
apr_status_t ml_mail_hdr_text(ml_buf_t *b, const char *s, apr_size_t n);

/* Appends a display name (a phrase): atoms as they are, other printable
 * ASCII as a quoted-string when that fits the line, anything else as
 * encoded-words. */
apr_status_t ml_mail_hdr_phrase(ml_buf_t *b, const char *s, apr_size_t n);

/* Non-zero when s[0..n) may be given to the header encoders: well-formed
 * UTF-8 without C0/C1 control characters, DEL or U+2028/U+2029. */
int ml_mail_hdr_ok(const char *s, apr_size_t n);

/* Characters since the last line break in b: where the next byte lands. */
apr_size_t ml_mail_col(const ml_buf_t *b);

#endif
