/* Mail composition: quoted-printable bodies, header encoding and folding,
 * the whole message's structure. (Decoding with a real MIME parser is
 * test/mail/test_mail.py's job; here the encoders are checked byte by byte
 * and with small decoders of our own.) */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>

#include "ml_test.h"

#include "ml_mail_enc.h"
#include "ml_mail_msg.h"
#include "ml_mail_utf8.h"

static apr_pool_t *pool;

static int setup(void **state)
{
    apr_pool_create(&pool, NULL);
    return 0;
}

static int teardown(void **state)
{
    apr_pool_destroy(pool);
    return 0;
}

/* ---- helpers ---- */

static int hexv(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* Checks the quoted-printable invariants of e[0..n) and decodes it into d;
 * returns the decoded length. */
static apr_size_t qp_check_decode(const char *e, apr_size_t n, char *d)
{
    apr_size_t i = 0, o = 0, col = 0;

    while (i < n) {
        if (e[i] == '\r') {
            assert_true(i + 1 < n && e[i + 1] == '\n');
            assert_true(i == 0 || (e[i - 1] != ' ' && e[i - 1] != '\t'));
            d[o++] = '\r', d[o++] = '\n';
            i += 2, col = 0;
            continue;
        }
        assert_true(e[i] != '\n');
        if (col == 0)
            assert_true(e[i] != '.' && strncmp(e + i, "From ", 5) != 0);
        if (e[i] == '=') {
            assert_true(i + 2 < n);
            if (e[i + 1] == '\r') {
                assert_true(e[i + 2] == '\n');
                assert_true(col + 1 <= ML_MAIL_LINE);
                i += 3, col = 0;
                continue;
            }
            assert_true(hexv(e[i + 1]) >= 0 && hexv(e[i + 2]) >= 0);
            d[o++] = (char)(hexv(e[i + 1]) << 4 | hexv(e[i + 2]));
            i += 3, col += 3;
        } else {
            assert_true((e[i] >= 33 && e[i] <= 126) || e[i] == ' ' || e[i] == '\t');
            d[o++] = e[i++];
            col++;
        }
        assert_true(col <= ML_MAIL_LINE);
    }
    return o;
}

/* The input with every LF or CRLF as CRLF: what decoding must give back. */
static apr_size_t crlf(const char *s, apr_size_t n, char *out)
{
    apr_size_t i, o = 0;

    for (i = 0; i < n; i++) {
        if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n')
            continue;
        if (s[i] == '\n')
            out[o++] = '\r';
        out[o++] = s[i];
    }
    return o;
}

static void qp_expect(const char *in, const char *want)
{
    ml_buf_t b;

    ml_buf_init(&b);
    assert_int_equal(ml_mail_qp(&b, in, strlen(in)), APR_SUCCESS);
    assert_string_equal(b.data ? b.data : "", want);
    ml_buf_free(&b);
}

static void qp_roundtrip(const char *in, apr_size_t n)
{
    ml_buf_t b;
    char *want = malloc(2 * n + 1), *got;
    apr_size_t wn = crlf(in, n, want), gn;

    ml_buf_init(&b);
    assert_int_equal(ml_mail_qp(&b, in, n), APR_SUCCESS);
    got = malloc(b.len + 1);
    gn = qp_check_decode(b.data ? b.data : "", b.len, got);
    assert_int_equal(gn, wn);
    assert_memory_equal(got, want, wn);
    free(got);
    free(want);
    ml_buf_free(&b);
}

/* Decodes one encoded-word's payload (Q or B) and appends it to d. */
static apr_size_t ew_decode(const char *p, apr_size_t n, int is_b, char *d)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    apr_size_t i, o = 0;
    unsigned v = 0, bits = 0;

    for (i = 0; i < n; i++) {
        if (is_b) {
            if (p[i] == '=')
                break;
            assert_non_null(strchr(b64, p[i]));
            v = v << 6 | (unsigned)(strchr(b64, p[i]) - b64), bits += 6;
            if (bits >= 8)
                d[o++] = (char)(v >> (bits - 8)), bits -= 8;
        } else if (p[i] == '_') {
            d[o++] = ' ';
        } else if (p[i] == '=') {
            d[o++] = (char)(hexv(p[i + 1]) << 4 | hexv(p[i + 2]));
            i += 2;
        } else {
            assert_true(isalnum((unsigned char)p[i]) || strchr("!*+-/", p[i]));
            d[o++] = p[i];
        }
    }
    return o;
}

/* Checks a header line (from "Name: " on) for line lengths and folding,
 * then decodes its value (encoded-words or plain words) into d. */
static apr_size_t hdr_decode(const char *h, apr_size_t prefix, char *d)
{
    const char *p = h + prefix, *line = h, *end;
    apr_size_t o = 0, k;
    int first = 1;

    /* Physical lines: none over ML_MAIL_LINE, continuation lines start with a space. */
    while ((end = strstr(line, "\r\n")) != NULL) {
        assert_true((apr_size_t)(end - line) <= ML_MAIL_LINE);
        assert_int_equal(end[2], ' ');
        line = end + 2;
    }
    assert_true(strlen(line) <= ML_MAIL_LINE);
    assert_null(strchr(h, '\n') && !strstr(h, "\r\n") ? "bare LF" : NULL);
    while (*p) {
        int sep = 0;
        if (!first) {
            if (strncmp(p, "\r\n ", 3) == 0)
                p += 3, sep = 1;
            else if (*p == ' ')
                p++, sep = 1;
            assert_true(sep);
        }
        k = strcspn(p, " \r");
        if (k > 10 && strncmp(p, "=?UTF-8?", 8) == 0 && strncmp(p + k - 2, "?=", 2) == 0) {
            apr_size_t start = o;
            assert_true(k <= 75);
            o += ew_decode(p + 10, k - 12, p[8] == 'B', d + o);
            /* Each word holds whole characters. */
            assert_true(ml_mail_utf8_valid(d + start, o - start));
        } else {
            if (!first)
                d[o++] = ' ';
            memcpy(d + o, p, k);
            o += k;
        }
        p += k;
        first = 0;
    }
    d[o] = '\0';
    return o;
}

static void text_expect(const char *in, const char *want)
{
    ml_buf_t b;

    ml_buf_init(&b);
    ml_buf_puts(&b, "Subject: ");
    assert_int_equal(ml_mail_hdr_text(&b, in, strlen(in)), APR_SUCCESS);
    assert_string_equal(b.data, want);
    ml_buf_free(&b);
}

static void text_roundtrip(const char *in)
{
    ml_buf_t b;
    char d[4096];

    ml_buf_init(&b);
    ml_buf_puts(&b, "Subject: ");
    assert_int_equal(ml_mail_hdr_text(&b, in, strlen(in)), APR_SUCCESS);
    hdr_decode(b.data, 9, d);
    assert_string_equal(d, in);
    ml_buf_free(&b);
}

/* ---- quoted-printable ---- */

static void test_qp_basics(void **state)
{
    qp_expect("", "");
    qp_expect("plain text", "plain text");
    qp_expect("a=b", "a=3Db");
    qp_expect("caf\xc3\xa9", "caf=C3=A9");
    qp_expect("one\ntwo\r\nthree", "one\r\ntwo\r\nthree");
    qp_expect("end\n", "end\r\n");
    qp_expect("\n\n", "\r\n\r\n");
    qp_expect("lone\rcr", "lone=0Dcr");
    qp_expect("tab\there", "tab\there");
}

static void test_qp_trailing_space(void **state)
{
    qp_expect("a \nb", "a=20\r\nb");
    qp_expect("a\t\r\nb", "a=09\r\nb");
    qp_expect("end ", "end=20");
    qp_expect("two  \n", "two =20\r\n");
}

static void test_qp_line_starts(void **state)
{
    qp_expect(".", "=2E");
    qp_expect("a\n.\nb", "a\r\n=2E\r\nb");
    qp_expect("a.b", "a.b");
    qp_expect("From me\n", "=46rom me\r\n");
    qp_expect("x\nFrom: header-like", "x\r\nFrom: header-like");
    qp_expect("From", "From");
}

static void test_qp_soft_breaks(void **state)
{
    char in[400], want[400];

    /* 76 characters fit on a line that ends there... */
    memset(in, 'a', 76);
    in[76] = '\0';
    qp_expect(in, in);
    /* ...but 77 need a soft break after 75 (room for the '='). */
    memset(in, 'a', 77);
    in[77] = '\0';
    memset(want, 'a', 75);
    strcpy(want + 75, "=\r\naa");
    qp_expect(in, want);
    /* An escape never straddles a soft break. */
    memset(in, 'a', 74);
    strcpy(in + 74, "\xc3\xa9z");
    memset(want, 'a', 74);
    strcpy(want + 74, "=\r\n=C3=A9z");
    qp_expect(in, want);
    /* A dot pushed to the start of a line by a soft break is escaped too. */
    memset(in, 'a', 75);
    strcpy(in + 75, ".b");
    memset(want, 'a', 75);
    strcpy(want + 75, "=\r\n=2Eb");
    qp_expect(in, want);
    /* A trailing space that lands exactly at the limit. */
    memset(in, 'a', 75);
    strcpy(in + 75, " ");
    memset(want, 'a', 75);
    strcpy(want + 75, "=\r\n=20");
    qp_expect(in, want);
}

static void test_qp_random_roundtrip(void **state)
{
    static const char *atoms[] = {"a", " ", "\t", "\n", "\r", "\r\n", "=", ".", "From ",
                                  "\xc3\xa9", "\xe2\x82\xac", "\0", "~", "\xff", "=?", "_"};
    char in[600];
    unsigned seed = 12345;
    int round;

    for (round = 0; round < 3000; round++) {
        apr_size_t n = 0, target;
        seed = seed * 1103515245 + 12345;
        target = (seed >> 8) % 500;
        while (n < target) {
            const char *a;
            apr_size_t k;
            seed = seed * 1103515245 + 12345;
            a = atoms[(seed >> 16) % (sizeof(atoms) / sizeof(atoms[0]))];
            k = a[0] ? strlen(a) : 1;
            memcpy(in + n, a, k);
            n += k;
        }
        qp_roundtrip(in, n);
    }
}

/* ---- headers ---- */

static void test_hdr_plain(void **state)
{
    text_expect("Your sign-in link", "Subject: Your sign-in link");
    text_expect("", "Subject: ");
    /* Anything that could be read as an encoded-word is encoded. */
    text_expect("=?x?", "Subject: =?UTF-8?Q?=3D=3Fx=3F?=");
    /* Double or edge spaces would not survive unfolding: encoded. */
    text_expect(" lead", "Subject: =?UTF-8?Q?_lead?=");
    text_expect("a  b", "Subject: =?UTF-8?Q?a__b?=");
}

static void test_hdr_encoded(void **state)
{
    text_expect("Caf\xc3\xa9", "Subject: =?UTF-8?Q?Caf=C3=A9?=");
    text_expect("\xe3\x83\xad\xe3\x82\xb0\xe3\x82\xa4\xe3\x83\xb3",
                "Subject: =?UTF-8?B?44Ot44Kw44Kk44Oz?=");
    text_expect("a_b?c=d", "Subject: a_b?c=d");
    text_expect("\xc3\xa9_?=", "Subject: =?UTF-8?B?w6lfPz0=?="); /* B: shorter */
    text_expect("caf\xc3\xa9_?=", "Subject: =?UTF-8?Q?caf=C3=A9=5F=3F=3D?=");
}

static void test_hdr_folding(void **state)
{
    char long_ascii[1000], long_utf8[1000];
    int i;

    /* Plain words folded at spaces. */
    strcpy(long_ascii, "Sign");
    for (i = 0; i < 40; i++)
        strcat(long_ascii, " in to example.com now");
    text_roundtrip(long_ascii);
    /* A word too long for one line: encoded-words instead. */
    memset(long_ascii, 'x', 200);
    long_ascii[200] = '\0';
    text_roundtrip(long_ascii);
    /* Mixed scripts, characters of 1 to 4 bytes: never split across words. */
    long_utf8[0] = '\0';
    for (i = 0; i < 25; i++)
        strcat(long_utf8, "Votre lien \xe2\x80\x94 caf\xc3\xa9 \xe3\x83\xad\xf0\x9f\x94\x91 ");
    text_roundtrip(long_utf8);
    long_utf8[0] = '\0';
    for (i = 0; i < 40; i++)
        strcat(long_utf8, "\xd0\x92\xd1\x85\xd0\xbe\xd0\xb4 ");
    text_roundtrip(long_utf8);
}

static void test_hdr_refused(void **state)
{
    static const char *bad[] = {"a\r\nBcc: x@example.com", "a\nb", "a\rb", "tab\tin",
                                "nul", "\x01", "del\x7f", "c1\xc2\x85", "ls\xe2\x80\xa8",
                                "bad\xff", "trunc\xc3"};
    ml_buf_t b;
    apr_size_t i;

    ml_buf_init(&b);
    ml_buf_puts(&b, "Subject: ");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        apr_size_t n = i == 4 ? 4 : strlen(bad[i]); /* "nul" plus its NUL */
        assert_int_equal(ml_mail_hdr_text(&b, bad[i], n), APR_EINVAL);
        assert_int_equal(ml_mail_hdr_phrase(&b, bad[i], n), APR_EINVAL);
        assert_int_equal(b.len, 9);
    }
    ml_buf_free(&b);
}

static void test_hdr_phrase(void **state)
{
    ml_buf_t b;

    ml_buf_init(&b);
    ml_mail_hdr_phrase(&b, "Magic Link", 10);
    assert_string_equal(b.data, "Magic Link");
    ml_buf_reset(&b);
    ml_mail_hdr_phrase(&b, "J. R. \"Bob\" Dobbs", 17);
    assert_string_equal(b.data, "\"J. R. \\\"Bob\\\" Dobbs\"");
    ml_buf_reset(&b);
    ml_mail_hdr_phrase(&b, "Zo\xc3\xab", 4);
    assert_string_equal(b.data, "=?UTF-8?Q?Zo=C3=AB?=");
    ml_buf_reset(&b);
    assert_int_equal(ml_mail_hdr_phrase(&b, "", 0), APR_EINVAL);
    ml_buf_free(&b);
}

/* ---- the message ---- */

static void make_msg(ml_mail_msg_t *m, ml_addr_from_t *from)
{
    const char *err;

    assert_int_equal(ml_addr_parse_from(pool, "Magic Link <noreply@example.com>", from, &err),
                     APR_SUCCESS);
    memset(m, 0, sizeof(*m));
    m->from = from;
    m->to = "alice@example.org";
    m->subject = "Sign in";
    m->subject_len = 7;
    m->text = "Open https://example.com/magic/verify/abc\nCode: 123456\n";
    m->text_len = strlen(m->text);
    m->html = "<p><a href=\"https://example.com/magic/verify/abc\">Sign in</a></p>";
    m->html_len = strlen(m->html);
    m->date = apr_time_from_sec(1700000000);
}

static void test_compose_structure(void **state)
{
    ml_mail_msg_t m;
    ml_addr_from_t from;
    ml_buf_t b;
    const char *err = NULL, *p, *line;
    char boundary[64], delim[256];
    static const char head[] = "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"
                               "From: Magic Link <noreply@example.com>\r\n"
                               "To: alice@example.org\r\n"
                               "Subject: Sign in\r\n"
                               "Message-ID: <";

    make_msg(&m, &from);
    ml_buf_init(&b);
    assert_int_equal(ml_mail_compose(&b, &m, &err), APR_SUCCESS);
    assert_true(strncmp(b.data, head, strlen(head)) == 0);
    p = strstr(b.data, "Message-ID: <") + 13;
    assert_int_equal(strspn(p, "0123456789abcdef"), 32);
    assert_true(strncmp(p + 32, "@example.com>\r\n", 15) == 0);
    assert_non_null(strstr(b.data, "\r\nMIME-Version: 1.0\r\n"));
    assert_non_null(strstr(b.data, "\r\nAuto-Submitted: auto-generated\r\n"));
    p = strstr(b.data, "Content-Type: multipart/alternative;\r\n boundary=\"");
    assert_non_null(p);
    p += strlen("Content-Type: multipart/alternative;\r\n boundary=\"");
    assert_true(strncmp(p, "=_ml_", 5) == 0);
    assert_int_equal(strcspn(p, "\""), 29);
    memcpy(boundary, p, 29);
    boundary[29] = '\0';
    snprintf(delim, sizeof(delim), "\r\n--%s\r\nContent-Type: text/plain; charset=utf-8\r\n"
                                   "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
             boundary);
    assert_non_null(strstr(b.data, delim));
    snprintf(delim, sizeof(delim), "\r\n--%s\r\nContent-Type: text/html", boundary);
    assert_non_null(strstr(b.data, delim));
    snprintf(delim, sizeof(delim), "\r\n--%s--\r\n", boundary);
    assert_int_equal(strlen(b.data) - strlen(delim), (apr_size_t)(strstr(b.data, delim) - b.data));
    /* The boundary occurs in the header and its three delimiters only. */
    {
        int count = 0;
        for (p = b.data; (p = strstr(p, boundary)) != NULL; p++)
            count++;
        assert_int_equal(count, 4);
    }
    /* CRLF everywhere, no line over 76. */
    for (line = b.data; *line;) {
        const char *eol = strstr(line, "\r\n");
        assert_non_null(eol);
        assert_true(eol - line <= ML_MAIL_LINE);
        assert_null(memchr(line, '\n', (apr_size_t)(eol - line)));
        assert_null(memchr(line, '\r', (apr_size_t)(eol - line)));
        line = eol + 2;
    }
    assert_non_null(strstr(b.data, "Code: 123456\r\n"));
    assert_non_null(strstr(b.data, "<p><a href=3D\"https://example.com/magic/verify/abc\">"));
    ml_buf_free(&b);
}

static void test_compose_unique_and_recycled(void **state)
{
    ml_mail_msg_t m;
    ml_addr_from_t from;
    ml_buf_t b;
    const char *err;
    char first[64];
    char *data;
    apr_size_t cap;

    make_msg(&m, &from);
    ml_buf_init(&b);
    assert_int_equal(ml_mail_compose(&b, &m, &err), APR_SUCCESS);
    memcpy(first, strstr(b.data, "Message-ID: <"), 60);
    data = b.data, cap = b.cap;
    assert_int_equal(ml_mail_compose(&b, &m, &err), APR_SUCCESS);
    assert_memory_not_equal(first, strstr(b.data, "Message-ID: <"), 60);
    /* Same size message, same buffer: no new allocation. */
    assert_ptr_equal(b.data, data);
    assert_int_equal(b.cap, cap);
    ml_buf_free(&b);
}

static void test_compose_refused(void **state)
{
    ml_mail_msg_t m;
    ml_addr_from_t from;
    ml_buf_t b;
    const char *err = NULL;

    ml_buf_init(&b);
    make_msg(&m, &from);
    m.to = "alice@example.org\r\nBcc: eve@example.net";
    assert_int_equal(ml_mail_compose(&b, &m, &err), APR_EINVAL);
    assert_non_null(strstr(err, "recipient"));
    assert_int_equal(b.len, 0);
    m.to = "Alice <alice@example.org>";
    assert_int_equal(ml_mail_compose(&b, &m, &err), APR_EINVAL);
    make_msg(&m, &from);
    m.subject = "Hi\r\nBcc: eve@example.net";
    m.subject_len = strlen(m.subject);
    assert_int_equal(ml_mail_compose(&b, &m, &err), APR_EINVAL);
    assert_non_null(strstr(err, "subject"));
    make_msg(&m, &from);
    m.text = "bad \xff";
    m.text_len = 5;
    assert_int_equal(ml_mail_compose(&b, &m, &err), APR_EINVAL);
    make_msg(&m, &from);
    m.html = NULL;
    assert_int_equal(ml_mail_compose(&b, &m, &err), APR_EINVAL);
    assert_int_equal(b.len, 0);
    ml_buf_free(&b);
}

/* Content-Language: the mail's language, when given; only a language tag
 * ever reaches the header. */
static void test_compose_language(void **state)
{
    static const char *const bad[] = { "de\r\nBcc: eve@example.net", "", "-de", "1de", "de_DE",
                                       "de de", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" };
    ml_mail_msg_t m;
    ml_addr_from_t from;
    ml_buf_t b;
    const char *err = NULL;
    size_t i;

    ml_buf_init(&b);
    make_msg(&m, &from);
    assert_int_equal(ml_mail_compose(&b, &m, &err), APR_SUCCESS);
    assert_null(strstr(b.data, "Content-Language"));
    m.lang = "pt-BR";
    assert_int_equal(ml_mail_compose(&b, &m, &err), APR_SUCCESS);
    assert_non_null(strstr(b.data, "\r\nX-Auto-Response-Suppress: All\r\nContent-Language: pt-BR\r\n"
                                   "Content-Type: multipart/alternative;"));
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        m.lang = bad[i];
        assert_int_equal(ml_mail_compose(&b, &m, &err), APR_EINVAL);
        assert_non_null(strstr(err, "language"));
        assert_int_equal(b.len, 0);
    }
    ml_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_qp_basics),
        cmocka_unit_test(test_qp_trailing_space),
        cmocka_unit_test(test_qp_line_starts),
        cmocka_unit_test(test_qp_soft_breaks),
        cmocka_unit_test(test_qp_random_roundtrip),
        cmocka_unit_test(test_hdr_plain),
        cmocka_unit_test(test_hdr_encoded),
        cmocka_unit_test(test_hdr_folding),
        cmocka_unit_test(test_hdr_refused),
        cmocka_unit_test(test_hdr_phrase),
        cmocka_unit_test(test_compose_structure),
        cmocka_unit_test(test_compose_unique_and_recycled),
        cmocka_unit_test(test_compose_refused),
        cmocka_unit_test(test_compose_language),
    };

    apr_initialize();
    atexit(apr_terminate);
    return cmocka_run_group_tests(tests, setup, teardown);
}
