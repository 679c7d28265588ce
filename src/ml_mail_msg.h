/* Composition of the sign-in email: RFC 5322 headers and a MIME
 * multipart/alternative body with a text/plain and a text/html part.
 *
 *   Date, From, To, Subject, Message-ID, MIME-Version, Auto-Submitted,
 *   X-Auto-Response-Suppress, Content-Language (when given), Content-Type;
 *   both parts UTF-8 in
 *   quoted-printable; CRLF line endings; no line over 76 characters except a
 *   From or To line that must carry a long address (still under 998).
 *
 * Header values are generated (Date, Message-ID, boundary), validated (the
 * addresses) or encoded by ml_mail_enc (Subject, display name), so nothing
 * a visitor typed can add a header. The boundary is "=_" followed by random
 * characters: quoted-printable writes every '=' as =3D and never follows a
 * soft-break '=' with '_', so no encoded line can contain it. */
#ifndef ML_MAIL_MSG_H
#define ML_MAIL_MSG_H

#include "ml_addr.h"
#include "ml_buf.h"

#include <apr_time.h>

#define ML_MAIL_SUBJECT_MAX 998

typedef struct ml_mail_msg {
    const ml_addr_from_t *from; /* ml_addr_parse_from, once at start-up */
    const char *to;             /* an ASCII address from ml_addr_normalize */
    const char *subject;        /* UTF-8, no control characters */
    apr_size_t subject_len;
    const char *text; /* the text/plain body, UTF-8, LF or CRLF line ends */
    apr_size_t text_len;
    const char *html; /* the text/html body, UTF-8 */
    apr_size_t html_len;
    const char *lang; /* Content-Language: a BCP 47 tag ("de"), or NULL for none */
    apr_time_t date; /* 0: now */
} ml_mail_msg_t;

/* Writes the whole message to out (reset first; on error wiped and *err
 * set). out is the caller's recycled buffer: once it has grown to a
 * message's size, composing allocates nothing. The message holds the link:
 * wipe the buffer (ml_buf_wipe) once it has been sent. Thread-safe. */
apr_status_t ml_mail_compose(ml_buf_t *out, const ml_mail_msg_t *m, const char **err);

#endif
