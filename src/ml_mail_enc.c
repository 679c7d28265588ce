#include "ml_mail_enc.h"
#include "ml_mail_utf8.h"

static const char ml_hex[] = "0123456789ABCDEF";
static const char ml_b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* "=?UTF-8?Q?" and "?=": what every encoded-word spends on its frame. */
#define ML_EW_FRAME 12
/* RFC 2047 section 2: an encoded-word is at most 75 characters. */
#define ML_EW_MAX 75
/* Plain words longer than this are encoded so that folding always works. */
#define ML_WORD_MAX 60
/* A quoted display name stays on one line (a longer one is encoded). */
#define ML_QUOTED_MAX 200

apr_size_t ml_mail_col(const ml_buf_t *b)
{
    apr_size_t i = b->len;

    while (i > 0 && b->data[i - 1] != '\n')
        i--;
    return b->len - i;
}

/* ---- quoted-printable ---- */

/* What a byte needs, before its position is known. */
enum { QP_LIT = 0, QP_ESC, QP_WS, QP_LF, QP_CR, QP_BOL };

static const unsigned char ml_qp_class[256] = {
    [0 ... 8] = QP_ESC,  ['\t'] = QP_WS,        ['\n'] = QP_LF,  [11 ... 12] = QP_ESC,
    ['\r'] = QP_CR,      [14 ... 31] = QP_ESC,  [' '] = QP_WS,   ['='] = QP_ESC,
    ['.'] = QP_BOL,      ['F'] = QP_BOL,        [127 ... 255] = QP_ESC,
};

static int ml_is_eol(const char *s, apr_size_t n, apr_size_t i)
{
    return i >= n || s[i] == '\n' || (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n');
}

/* Whether the byte at s[i] of class k, landing in column col, is escaped:
 * white space before a line end would be lost in transit, and a line
 * starting with "." or "From " could be altered by a transport. */
static int ml_qp_escape(const char *s, apr_size_t n, apr_size_t i, apr_size_t col, int k)
{
    switch (k) {
    case QP_LIT:
        return 0;
    case QP_WS:
        return ml_is_eol(s, n, i + 1);
    case QP_BOL:
        return col == 0 && (s[i] == '.' || (n - i >= 5 && memcmp(s + i, "From ", 5) == 0));
    default:
        return 1;
    }
}

apr_status_t ml_mail_qp(ml_buf_t *b, const char *s, apr_size_t n)
{
    apr_size_t i, col = 0;
    unsigned char c;
    char *o;
    int k, esc;

    /* Worst case: every byte =XX, plus a 3-byte soft break per 73 of those. */
    if (n > (APR_SIZE_MAX - 16) / 4 || ml_buf_reserve(b, n * 3 + n / 8 + 16) != APR_SUCCESS)
        return APR_ENOMEM;
    o = b->data + b->len;
    for (i = 0; i < n; i++) {
        c = (unsigned char)s[i];
        k = ml_qp_class[c];
        if (k == QP_LIT && col < ML_MAIL_LINE - 2) { /* the common case: no decision */
            *o++ = (char)c;
            col++;
            continue;
        }
        if (k == QP_LF || (k == QP_CR && i + 1 < n && s[i + 1] == '\n')) {
            i += k == QP_CR;
            *o++ = '\r', *o++ = '\n';
            col = 0;
            continue;
        }
        esc = ml_qp_escape(s, n, i, col, k);
        /* Leave room for a soft break's '=' unless this byte ends the line. */
        if (col + (esc ? 3 : 1) > ML_MAIL_LINE - 1
            && (col + (esc ? 3 : 1) > ML_MAIL_LINE || !ml_is_eol(s, n, i + 1))) {
            *o++ = '=', *o++ = '\r', *o++ = '\n';
            col = 0;
            esc = ml_qp_escape(s, n, i, col, k);
        }
        if (esc) {
            *o++ = '=', *o++ = ml_hex[c >> 4], *o++ = ml_hex[c & 15];
            col += 3;
        } else {
            *o++ = (char)c;
            col++;
        }
    }
    b->len = (apr_size_t)(o - b->data);
    b->data[b->len] = '\0';
    return APR_SUCCESS;
}

/* ---- header text ---- */

int ml_mail_hdr_ok(const char *s, apr_size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_size_t i = 0, k;
    apr_uint32_t cp;

    while (i < n) {
        k = ml_mail_utf8_next(u + i, n - i, &cp);
        if (k == 0 || cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029)
            return 0;
        i += k;
    }
    return 1;
}

/* Characters an encoded-word may carry as themselves in any context,
 * phrases included (RFC 2047 section 5, rule 3). */
static int ml_q_safe(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
           || c == '!' || c == '*' || c == '+' || c == '-' || c == '/';
}

static apr_size_t ml_q_cost(unsigned char c)
{
    return ml_q_safe(c) || c == ' ' ? 1 : 3;
}

static apr_size_t ml_b_cost(apr_size_t bytes)
{
    return (bytes + 2) / 3 * 4;
}

static void ml_ew_put_q(ml_buf_t *b, const unsigned char *s, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] == ' ') {
            b->data[b->len++] = '_';
        } else if (ml_q_safe(s[i])) {
            b->data[b->len++] = (char)s[i];
        } else {
            b->data[b->len++] = '=';
            b->data[b->len++] = ml_hex[s[i] >> 4];
            b->data[b->len++] = ml_hex[s[i] & 15];
        }
    }
}

static void ml_ew_put_b(ml_buf_t *b, const unsigned char *s, apr_size_t n)
{
    apr_size_t i;
    apr_uint32_t v;

    for (i = 0; i + 2 < n; i += 3) {
        v = (apr_uint32_t)s[i] << 16 | (apr_uint32_t)s[i + 1] << 8 | s[i + 2];
        b->data[b->len++] = ml_b64[v >> 18];
        b->data[b->len++] = ml_b64[v >> 12 & 63];
        b->data[b->len++] = ml_b64[v >> 6 & 63];
        b->data[b->len++] = ml_b64[v & 63];
    }
    if (i < n) {
        v = (apr_uint32_t)s[i] << 16 | (i + 1 < n ? (apr_uint32_t)s[i + 1] << 8 : 0);
        b->data[b->len++] = ml_b64[v >> 18];
        b->data[b->len++] = ml_b64[v >> 12 & 63];
        b->data[b->len++] = i + 1 < n ? ml_b64[v >> 6 & 63] : '=';
        b->data[b->len++] = '=';
    }
}

/* How many bytes of s[0..n), whole characters only, fit an encoded-word
 * whose payload may be `room` characters long. */
static apr_size_t ml_ew_take(const unsigned char *s, apr_size_t n, int use_b, apr_size_t room)
{
    apr_size_t i = 0, k, j, cost = 0, add;
    apr_uint32_t cp;

    while (i < n) {
        k = ml_mail_utf8_next(s + i, n - i, &cp);
        if (use_b) {
            if (ml_b_cost(i + k) > room)
                break;
        } else {
            for (add = 0, j = 0; j < k; j++)
                add += ml_q_cost(s[i + j]);
            if (cost + add > room)
                break;
            cost += add;
        }
        i += k;
    }
    return i;
}

/* Encodes all of s[0..n) (n > 0, validated) as encoded-words, one per line
 * after the first, each as long as the line allows. The first word moves to
 * a new line when the current one has too little room left for it. */
static apr_status_t ml_ew(ml_buf_t *b, const unsigned char *s, apr_size_t n)
{
    apr_size_t qlen = 0, i, take, room, col;
    int use_b;

    for (i = 0; i < n; i++)
        qlen += ml_q_cost(s[i]);
    /* B only when clearly shorter: Q keeps mostly-ASCII text readable. */
    use_b = 2 * qlen > 3 * ml_b_cost(n);
    for (i = 0; i < n; i += take) {
        col = ml_mail_col(b);
        if (i > 0 || col + ML_EW_FRAME + 16 > ML_MAIL_LINE) {
            if (ml_buf_append(b, "\r\n ", 3) != APR_SUCCESS)
                return APR_ENOMEM;
            col = 1;
        }
        room = ML_MAIL_LINE - col;
        if (room > ML_EW_MAX)
            room = ML_EW_MAX;
        room -= ML_EW_FRAME;
        take = ml_ew_take(s + i, n - i, use_b, room);
        if (ml_buf_reserve(b, ML_EW_MAX) != APR_SUCCESS)
            return APR_ENOMEM;
        memcpy(b->data + b->len, use_b ? "=?UTF-8?B?" : "=?UTF-8?Q?", 10);
        b->len += 10;
        if (use_b)
            ml_ew_put_b(b, s + i, take);
        else
            ml_ew_put_q(b, s + i, take);
        b->data[b->len++] = '?';
        b->data[b->len++] = '=';
        b->data[b->len] = '\0';
    }
    return APR_SUCCESS;
}

/* Plain words: given characters, single spaces between words, no word so
 * long that folding could not keep a line short, nothing that a reader
 * could take for an encoded-word. */
static int ml_plain_words(const char *s, apr_size_t n, int (*ok)(unsigned char))
{
    apr_size_t i, word = 0;

    if (n == 0 || s[0] == ' ' || s[n - 1] == ' ')
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == ' ') {
            if (s[i + 1] == ' ')
                return 0;
            word = 0;
            continue;
        }
        if (!ok(c) || ++word > ML_WORD_MAX)
            return 0;
        if (c == '=' && i + 1 < n && s[i + 1] == '?')
            return 0;
    }
    return 1;
}

static apr_status_t ml_put_folded_words(ml_buf_t *b, const char *s, apr_size_t n)
{
    apr_size_t i = 0, j, col = ml_mail_col(b);

    while (i < n) {
        for (j = i; j < n && s[j] != ' '; j++)
            ;
        if (i > 0) {
            int fold = col + 1 + (j - i) > ML_MAIL_LINE;
            if (ml_buf_append(b, fold ? "\r\n " : " ", fold ? 3 : 1) != APR_SUCCESS)
                return APR_ENOMEM;
            col = fold ? 1 : col + 1;
        }
        if (ml_buf_append(b, s + i, j - i) != APR_SUCCESS)
            return APR_ENOMEM;
        col += j - i;
        i = j + 1;
    }
    return APR_SUCCESS;
}

static int ml_vchar(unsigned char c)
{
    return c > 32 && c < 127;
}

static int ml_atext(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
           || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

/* Restores b's length when an encoder fails half-way. */
static apr_status_t ml_hdr_done(ml_buf_t *b, apr_size_t len0, apr_status_t rv)
{
    if (rv != APR_SUCCESS && b->data) {
        b->len = len0;
        b->data[len0] = '\0';
    }
    return rv;
}

apr_status_t ml_mail_hdr_text(ml_buf_t *b, const char *s, apr_size_t n)
{
    apr_size_t len0 = b->len;

    if (!ml_mail_hdr_ok(s, n))
        return APR_EINVAL;
    if (n == 0)
        return APR_SUCCESS;
    if (ml_plain_words(s, n, ml_vchar))
        return ml_hdr_done(b, len0, ml_put_folded_words(b, s, n));
    return ml_hdr_done(b, len0, ml_ew(b, (const unsigned char *)s, n));
}

/* Length of s as a quoted-string: quotes and a backslash before " and \. */
static apr_size_t ml_quoted_len(const char *s, apr_size_t n)
{
    apr_size_t i, len = n + 2;

    for (i = 0; i < n; i++)
        len += s[i] == '"' || s[i] == '\\';
    return len;
}

static apr_status_t ml_put_quoted(ml_buf_t *b, const char *s, apr_size_t n)
{
    apr_size_t i;

    if (ml_buf_putc(b, '"') != APR_SUCCESS)
        return APR_ENOMEM;
    for (i = 0; i < n; i++) {
        if ((s[i] == '"' || s[i] == '\\') && ml_buf_putc(b, '\\') != APR_SUCCESS)
            return APR_ENOMEM;
        if (ml_buf_putc(b, s[i]) != APR_SUCCESS)
            return APR_ENOMEM;
    }
    return ml_buf_putc(b, '"');
}

static int ml_printable_ascii(const char *s, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 32 || c > 126 || (c == '=' && i + 1 < n && s[i + 1] == '?'))
            return 0;
    }
    return 1;
}

apr_status_t ml_mail_hdr_phrase(ml_buf_t *b, const char *s, apr_size_t n)
{
    apr_size_t len0 = b->len;

    if (!ml_mail_hdr_ok(s, n) || n == 0)
        return APR_EINVAL;
    if (ml_plain_words(s, n, ml_atext))
        return ml_hdr_done(b, len0, ml_put_folded_words(b, s, n));
    /* A quoted-string cannot be folded inside: only when it fits the line;
     * longer names become encoded-words, which fold. */
    if (n <= ML_QUOTED_MAX && ml_printable_ascii(s, n)
        && ml_mail_col(b) + ml_quoted_len(s, n) <= ML_MAIL_LINE)
        return ml_hdr_done(b, len0, ml_put_quoted(b, s, n));
    return ml_hdr_done(b, len0, ml_ew(b, (const unsigned char *)s, n));
}
