/* libFuzzer target: the mail encoders (ml_mail_enc), which carry what a
 * visitor typed (the display of an address, a site name) into a message.
 *
 * The first byte picks the encoder, the rest is the text.
 *  - quoted-printable body: output is 7-bit, CRLF line ends only, no line
 *    over ML_MAIL_LINE, no line starting with '.' or "From ", and it decodes
 *    back to the input with its line ends made CRLF;
 *  - header text (Subject) and phrase (display name): refused exactly when
 *    ml_mail_hdr_ok says no (and then the buffer is unchanged); otherwise
 *    7-bit, folded only as CRLF SP, no line over ML_MAIL_LINE counting the
 *    header name before it, and unfolding and decoding (RFC 2047 encoded-
 *    words, or the quoted-string) gives the input back. */
#include "fuzz_common.h"

#include "ml_mail_enc.h"

#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ml_fuzz_pools();
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Lines of b[from..len): 7-bit, CRLF only, each at most `max` characters
 * (the first counting `first_col` more); fold: continuation lines must start
 * with a space. */
static void check_lines(const ml_buf_t *b, size_t from, size_t first_col, int fold)
{
    size_t i, col = first_col;
    int line = 0;

    for (i = from; i < b->len; i++) {
        unsigned char c = (unsigned char)b->data[i];
        ML_FUZZ_ASSERT(c < 0x80 && c != '\0');
        if (c == '\r') {
            ML_FUZZ_ASSERT(i + 1 < b->len && b->data[i + 1] == '\n');
            ML_FUZZ_ASSERT(col <= ML_MAIL_LINE);
            i++;
            col = 0;
            line++;
            if (fold)
                ML_FUZZ_ASSERT(i + 1 < b->len && b->data[i + 1] == ' ');
            continue;
        }
        ML_FUZZ_ASSERT(c != '\n');
        if (col == 0 && !fold && line > 0)
            ML_FUZZ_ASSERT(c != '.' && !(b->len - i >= 5 && memcmp(b->data + i, "From ", 5) == 0));
        col++;
    }
    ML_FUZZ_ASSERT(col <= ML_MAIL_LINE);
}

static void check_qp(const char *s, size_t n)
{
    ml_buf_t b, want, got;
    size_t i;

    ml_buf_init(&b);
    ml_buf_init(&want);
    ml_buf_init(&got);
    ML_FUZZ_ASSERT(ml_mail_qp(&b, s, n) == APR_SUCCESS);
    check_lines(&b, 0, 0, 0);
    ML_FUZZ_ASSERT(b.len == 0 || (b.data[0] != '.' && !(b.len >= 5 && !memcmp(b.data, "From ", 5))));
    for (i = 0; i < n; i++) {
        if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
            continue;
        if (s[i] == '\n')
            ML_FUZZ_ASSERT(ml_buf_append(&want, "\r\n", 2) == APR_SUCCESS);
        else
            ML_FUZZ_ASSERT(ml_buf_putc(&want, s[i]) == APR_SUCCESS);
    }
    for (i = 0; i < b.len; i++) {
        if (b.data[i] == '=' && i + 2 < b.len && b.data[i + 1] == '\r' && b.data[i + 2] == '\n') {
            i += 2;                          /* soft line break */
        } else if (b.data[i] == '=') {
            ML_FUZZ_ASSERT(i + 2 < b.len && hexval(b.data[i + 1]) >= 0 && hexval(b.data[i + 2]) >= 0);
            ML_FUZZ_ASSERT(ml_buf_putc(&got, (char)(hexval(b.data[i + 1]) * 16
                                                    + hexval(b.data[i + 2]))) == APR_SUCCESS);
            i += 2;
        } else {
            ML_FUZZ_ASSERT(ml_buf_putc(&got, b.data[i]) == APR_SUCCESS);
        }
    }
    ML_FUZZ_ASSERT(got.len == want.len && (got.len == 0 || !memcmp(got.data, want.data, got.len)));
    ml_buf_free(&b);
    ml_buf_free(&want);
    ml_buf_free(&got);
}

static int b64val(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

/* Decodes one encoded-word's payload into out. */
static void decode_ew(const char *p, size_t n, int q, ml_buf_t *out)
{
    size_t i;

    if (q) {
        for (i = 0; i < n; i++) {
            if (p[i] == '_') {
                ML_FUZZ_ASSERT(ml_buf_putc(out, ' ') == APR_SUCCESS);
            } else if (p[i] == '=') {
                ML_FUZZ_ASSERT(i + 2 < n && hexval(p[i + 1]) >= 0 && hexval(p[i + 2]) >= 0);
                ML_FUZZ_ASSERT(ml_buf_putc(out, (char)(hexval(p[i + 1]) * 16 + hexval(p[i + 2])))
                               == APR_SUCCESS);
                i += 2;
            } else {
                ML_FUZZ_ASSERT(ml_buf_putc(out, p[i]) == APR_SUCCESS);
            }
        }
        return;
    }
    ML_FUZZ_ASSERT(n % 4 == 0);
    for (i = 0; i < n; i += 4) {
        int v[4], k;
        for (k = 0; k < 4; k++)
            v[k] = p[i + k] == '=' ? 0 : b64val(p[i + k]);
        for (k = 0; k < 4; k++)
            ML_FUZZ_ASSERT(v[k] >= 0);
        ML_FUZZ_ASSERT(ml_buf_putc(out, (char)(v[0] << 2 | v[1] >> 4)) == APR_SUCCESS);
        if (p[i + 2] != '=')
            ML_FUZZ_ASSERT(ml_buf_putc(out, (char)((v[1] & 15) << 4 | v[2] >> 2)) == APR_SUCCESS);
        if (p[i + 3] != '=')
            ML_FUZZ_ASSERT(ml_buf_putc(out, (char)((v[2] & 3) << 6 | v[3])) == APR_SUCCESS);
    }
}

/* Unfolds the header value and decodes it (RFC 2047: whitespace between two
 * encoded-words is not part of the text). */
static void decode_header(const char *h, size_t n, ml_buf_t *out)
{
    char *u = malloc(n + 1);
    size_t i, m = 0;
    int prev_ew = 0;

    ML_FUZZ_ASSERT(u != NULL);
    /* A fold right after the header name is not part of the value. */
    i = n >= 3 && !memcmp(h, "\r\n ", 3) ? 3 : 0;
    for (; i < n; i++) {
        if (h[i] == '\r' && i + 1 < n && h[i + 1] == '\n') {
            i++;                             /* CRLF SP -> SP */
            continue;
        }
        u[m++] = h[i];
    }
    for (i = 0; i < m;) {
        size_t j = i, k;
        while (j < m && u[j] != ' ')
            j++;
        if (j - i >= 12 && (!memcmp(u + i, "=?UTF-8?Q?", 10) || !memcmp(u + i, "=?UTF-8?B?", 10))
            && !memcmp(u + j - 2, "?=", 2)) {
            decode_ew(u + i + 10, j - i - 12, u[i + 8] == 'Q', out);
            prev_ew = 1;
        } else {
            for (k = i; k < j; k++)
                ML_FUZZ_ASSERT(ml_buf_putc(out, u[k]) == APR_SUCCESS);
            prev_ew = 0;
        }
        if (j < m) {
            /* A space: text, unless it separates two encoded-words. */
            size_t nx = j + 1, ne = nx;
            while (ne < m && u[ne] != ' ')
                ne++;
            if (!(prev_ew && ne - nx >= 12 && !memcmp(u + nx, "=?UTF-8?", 8)
                  && !memcmp(u + ne - 2, "?=", 2)))
                ML_FUZZ_ASSERT(ml_buf_putc(out, ' ') == APR_SUCCESS);
        }
        i = j + 1;
    }
    free(u);
}

static void unquote(const char *h, size_t n, ml_buf_t *out)
{
    size_t i;

    ML_FUZZ_ASSERT(n >= 2 && h[n - 1] == '"');
    for (i = 1; i + 1 < n; i++) {
        if (h[i] == '\\')
            i++;
        ML_FUZZ_ASSERT(ml_buf_putc(out, h[i]) == APR_SUCCESS);
    }
}

static void check_header(const char *s, size_t n, int phrase)
{
    static const char prefix[] = "Subject: ";
    ml_buf_t b, got;
    apr_status_t rv;
    int ok = ml_mail_hdr_ok(s, n) && !(phrase && n == 0);

    ml_buf_init(&b);
    ml_buf_init(&got);
    ML_FUZZ_ASSERT(ml_buf_puts(&b, prefix) == APR_SUCCESS);
    rv = phrase ? ml_mail_hdr_phrase(&b, s, n) : ml_mail_hdr_text(&b, s, n);
    if (!ok) {
        ML_FUZZ_ASSERT(rv == APR_EINVAL && b.len == sizeof(prefix) - 1);
    } else {
        const char *v = b.data + sizeof(prefix) - 1;
        size_t vn = b.len - (sizeof(prefix) - 1);

        ML_FUZZ_ASSERT(rv == APR_SUCCESS);
        check_lines(&b, 0, 0, 1);
        if (phrase && vn && v[0] == '"')
            unquote(v, vn, &got);
        else
            decode_header(v, vn, &got);
        ML_FUZZ_ASSERT(got.len == n && (n == 0 || memcmp(got.data, s, n) == 0));
    }
    ml_buf_free(&b);
    ml_buf_free(&got);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data + 1;

    if (size == 0)
        return 0;
    switch (data[0] % 3) {
    case 0:
        check_qp(s, size - 1);
        break;
    case 1:
        check_header(s, size - 1, 0);
        break;
    default:
        check_header(s, size - 1, 1);
        break;
    }
    return 0;
}
