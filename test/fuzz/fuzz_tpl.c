/* libFuzzer target: the template escapers (ml_tpl), which put every value
 * into a page or the mail.
 *
 * The input (up to its first NUL, as templates get C strings) through each:
 *  - html text and attribute: no raw < > " ' in the output, every & starts
 *    one of the five entities written, output valid UTF-8 without C0
 *    controls (but TAB LF FF CR) or DEL; unescaping gives the input back when
 *    it was valid UTF-8 without such controls;
 *  - text (mail): one line: no C0 at all, no DEL, C1, U+2028 or U+2029,
 *    valid UTF-8;
 *  - URL part: only unreserved characters and %XX;
 *  - whole URL: either the blocked marker, or an attribute-safe value whose
 *    scheme, read as a browser reads it, is http, https, mailto or none;
 *  - raw: valid UTF-8. */
#include "fuzz_common.h"

#include "ml_mail_utf8.h"
#include "ml_tpl.h"

#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ml_fuzz_pools();
    return 0;
}

typedef apr_status_t (*escaper_t)(ml_sink_t *, const char *);

static void render(escaper_t fn, const char *s, ml_buf_t *b)
{
    ml_sink_buf_t sink;

    ml_buf_reset(b);
    ML_FUZZ_ASSERT(fn(ml_sink_buf_init(&sink, b), s) == APR_SUCCESS);
}

static int utf8_clean(const char *s, size_t n, int allow_ws)
{
    size_t i = 0, k;
    apr_uint32_t c;

    while (i < n) {
        k = ml_mail_utf8_next((const unsigned char *)s + i, n - i, &c);
        if (k == 0)
            return 0;
        if ((c < 0x20 && !(allow_ws && (c == '\t' || c == '\n' || c == '\f' || c == '\r')))
            || c == 0x7F)
            return 0;
        i += k;
    }
    return 1;
}

static void check_html(const char *in, const ml_buf_t *b)
{
    static const char *const ent[] = { "&amp;", "&lt;", "&gt;", "&#34;", "&#39;" };
    static const char raw[] = "&<>\"'";
    ml_buf_t back;
    size_t i, k;

    ML_FUZZ_ASSERT(ml_mail_utf8_valid(b->data, b->len) && utf8_clean(b->data, b->len, 1));
    ml_buf_init(&back);
    for (i = 0; i < b->len; i++) {
        char c = b->data[i];
        ML_FUZZ_ASSERT(c != '<' && c != '>' && c != '"' && c != '\'');
        if (c != '&') {
            ML_FUZZ_ASSERT(ml_buf_putc(&back, c) == APR_SUCCESS);
            continue;
        }
        for (k = 0; k < 5; k++)
            if (b->len - i >= strlen(ent[k]) && !memcmp(b->data + i, ent[k], strlen(ent[k])))
                break;
        ML_FUZZ_ASSERT(k < 5);
        ML_FUZZ_ASSERT(ml_buf_putc(&back, raw[k]) == APR_SUCCESS);
        i += strlen(ent[k]) - 1;
    }
    if (utf8_clean(in, strlen(in), 1))
        ML_FUZZ_ASSERT(back.len == strlen(in) && !memcmp(back.data ? back.data : "", in, back.len));
    ml_buf_free(&back);
}

static void check_text(const ml_buf_t *b)
{
    size_t i = 0, k;
    apr_uint32_t c;

    while (i < b->len) {
        k = ml_mail_utf8_next((const unsigned char *)b->data + i, b->len - i, &c);
        ML_FUZZ_ASSERT(k > 0);
        ML_FUZZ_ASSERT(c >= 0x20 && !(c >= 0x7F && c <= 0x9F) && c != 0x2028 && c != 0x2029);
        i += k;
    }
}

static void check_url_part(const ml_buf_t *b)
{
    size_t i;

    for (i = 0; i < b->len; i++) {
        char c = b->data[i];
        if (c == '%') {
            ML_FUZZ_ASSERT(i + 2 < b->len && strchr("0123456789ABCDEF", b->data[i + 1])
                           && strchr("0123456789ABCDEF", b->data[i + 2]) && b->data[i + 1]
                           && b->data[i + 2]);
            i += 2;
            continue;
        }
        ML_FUZZ_ASSERT((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                       || c == '-' || c == '.' || c == '_' || c == '~');
    }
}

/* The scheme a browser would see in s: leading C0 and spaces dropped, TAB,
 * LF and CR ignored; "" when the URL is relative. 1 when it is allowed. */
static int browser_scheme_ok(const char *s)
{
    char scheme[64];
    size_t n = 0;

    while (*s && (unsigned char)*s <= 0x20)
        s++;
    for (; *s; s++) {
        if (*s == '\t' || *s == '\n' || *s == '\r')
            continue;
        if (*s == ':')
            break;
        if (*s == '/' || *s == '?' || *s == '#')
            return 1;
        if (n < sizeof(scheme) - 1)
            scheme[n++] = (char)((*s >= 'A' && *s <= 'Z') ? *s + 32 : *s);
    }
    if (!*s)
        return 1;
    scheme[n] = '\0';
    return !strcmp(scheme, "http") || !strcmp(scheme, "https") || !strcmp(scheme, "mailto");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *in = malloc(size + 1);
    ml_buf_t b;

    if (!in)
        return 0;
    memcpy(in, data, size);
    in[size] = '\0';
    ml_buf_init(&b);

    render(ml_tpl_put_html, in, &b);
    check_html(in, &b);
    render(ml_tpl_put_attr, in, &b);
    check_html(in, &b);
    render(ml_tpl_put_text, in, &b);
    check_text(&b);
    render(ml_tpl_put_url_part, in, &b);
    check_url_part(&b);
    render(ml_tpl_put_url, in, &b);
    if (!(b.len == sizeof(ML_TPL_URL_BLOCKED) - 1 && !memcmp(b.data, ML_TPL_URL_BLOCKED, b.len))) {
        ML_FUZZ_ASSERT(browser_scheme_ok(in));
        check_html(in, &b);
    }
    render(ml_tpl_put_raw, in, &b);
    ML_FUZZ_ASSERT(ml_mail_utf8_valid(b.data ? b.data : "", b.len));

    ml_buf_free(&b);
    free(in);
    return 0;
}
