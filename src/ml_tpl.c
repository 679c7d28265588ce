/* Context escapers for compiled templates (see ml_tpl.h).
 *
 * Each escaper walks the value once with a 256-entry class table: safe bytes
 * extend the current run, which goes to the sink in one call when a byte
 * needs replacing or the value ends. Bytes >= 0x80 are checked as UTF-8. */
#include "ml_tpl.h"

#include <string.h>

enum {
    ML_C_SAFE = 0,   /* copied as is */
    ML_C_REPL,       /* ASCII byte replaced by rep[byte] */
    ML_C_WIDE,       /* UTF-8 lead or stray byte: validate */
    ML_C_END         /* NUL */
};

#define ML_FFFD "\xEF\xBF\xBD"

/* Both text and quoted attribute values; quotes are escaped in text too, so a
 * value is safe in either even if the compiler's idea of context were off. */
static const unsigned char ml_html_cls[256] = {
    [0x01 ... 0x08] = ML_C_REPL, [0x0B] = ML_C_REPL, [0x0E ... 0x1F] = ML_C_REPL,
    ['&'] = ML_C_REPL, ['<'] = ML_C_REPL, ['>'] = ML_C_REPL,
    ['"'] = ML_C_REPL, ['\''] = ML_C_REPL, [0x7F] = ML_C_REPL,
    [0x80 ... 0xFF] = ML_C_WIDE, [0] = ML_C_END,
};

static const char *const ml_html_rep[128] = {
    [0x01 ... 0x08] = ML_FFFD, [0x0B] = ML_FFFD, [0x0E ... 0x1F] = ML_FFFD,
    ['&'] = "&amp;", ['<'] = "&lt;", ['>'] = "&gt;",
    ['"'] = "&#34;", ['\''] = "&#39;", [0x7F] = ML_FFFD,
};

/* Plain text: anything that could end the line or move the cursor. */
static const unsigned char ml_text_cls[256] = {
    [0x01 ... 0x1F] = ML_C_REPL, [0x7F] = ML_C_REPL,
    [0x80 ... 0xFF] = ML_C_WIDE, [0] = ML_C_END,
};

static const char *const ml_text_rep[128] = {
    [0x01 ... 0x1F] = " ", [0x7F] = " ",
};

static const unsigned char ml_raw_cls[256] = {
    [0x80 ... 0xFF] = ML_C_WIDE, [0] = ML_C_END,
};

/* Length of the well-formed UTF-8 sequence at p (2 to 4), or 0 with *bad
 * set to the length of its maximal ill-formed prefix (at least 1), which is
 * replaced by one U+FFFD as Unicode (3.9) and WHATWG recommend. A NUL is
 * never a continuation byte, so this does not read past the string. */
static apr_size_t ml_utf8_len(const unsigned char *p, apr_size_t *bad)
{
    unsigned c = p[0], lo = 0x80, hi = 0xBF;
    apr_size_t need, i;

    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0;        /* overlong */
        else if (c == 0xED)
            hi = 0x9F;        /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90;        /* overlong */
        else if (c == 0xF4)
            hi = 0x8F;        /* above U+10FFFF */
    } else {
        *bad = 1;
        return 0;
    }
    for (i = 1; i <= need; i++) {
        if (p[i] < lo || p[i] > hi) {
            *bad = i;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return need + 1;
}

/* Characters a text/plain reader may take as a line break or control:
 * C1 controls (U+0080..U+009F, NEL among them) and U+2028, U+2029. */
static int ml_utf8_is_break(const unsigned char *p, apr_size_t n)
{
    if (n == 2)
        return p[0] == 0xC2 && p[1] <= 0x9F;
    return n == 3 && p[0] == 0xE2 && p[1] == 0x80 && (p[2] == 0xA8 || p[2] == 0xA9);
}

typedef struct ml_esc {
    const unsigned char *cls;
    const char *const *rep;
    int single_line;
} ml_esc_t;

static const ml_esc_t ml_esc_html = { ml_html_cls, ml_html_rep, 0 };
static const ml_esc_t ml_esc_text = { ml_text_cls, ml_text_rep, 1 };
static const ml_esc_t ml_esc_raw = { ml_raw_cls, NULL, 0 };

static apr_status_t ml_flush(ml_sink_t *out, const unsigned char *run, const unsigned char *p)
{
    return p > run ? out->put(out, (const char *)run, (apr_size_t)(p - run)) : APR_SUCCESS;
}

static apr_status_t ml_escape(ml_sink_t *out, const char *s, const ml_esc_t *e)
{
    const unsigned char *p = (const unsigned char *)s, *run = p, *tbl = e->cls;
    const char *rep;
    apr_size_t n, skip;
    apr_status_t rv;

    if (!s)
        return APR_SUCCESS;
    for (;;) {
        unsigned char cls;

        while (tbl[*p] == ML_C_SAFE)
            p++;
        cls = tbl[*p];
        if (cls == ML_C_END)
            break;
        if (cls == ML_C_WIDE) {
            n = ml_utf8_len(p, &skip);
            if (n && !(e->single_line && ml_utf8_is_break(p, n))) {
                p += n;
                continue;
            }
            rep = n ? " " : ML_FFFD;
            if (n)
                skip = n;
        } else {
            rep = e->rep[*p];
            skip = 1;
        }
        if ((rv = ml_flush(out, run, p)) != APR_SUCCESS
            || (rv = out->put(out, rep, strlen(rep))) != APR_SUCCESS)
            return rv;
        p += skip;
        run = p;
    }
    return ml_flush(out, run, p);
}

apr_status_t ml_tpl_put_html(ml_sink_t *out, const char *s)
{
    return ml_escape(out, s, &ml_esc_html);
}

apr_status_t ml_tpl_put_attr(ml_sink_t *out, const char *s)
{
    return ml_escape(out, s, &ml_esc_html);
}

apr_status_t ml_tpl_put_text(ml_sink_t *out, const char *s)
{
    return ml_escape(out, s, &ml_esc_text);
}

apr_status_t ml_tpl_put_raw(ml_sink_t *out, const char *s)
{
    return ml_escape(out, s, &ml_esc_raw);
}

static int ml_is_alpha(unsigned char c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static int ml_scheme_allowed(const char *scheme, apr_size_t n)
{
    return (n == 4 && !memcmp(scheme, "http", 4))
        || (n == 5 && !memcmp(scheme, "https", 5))
        || (n == 6 && !memcmp(scheme, "mailto", 6));
}

/* Reads the scheme as a browser would: leading C0 controls and spaces are
 * dropped, and TAB, LF and CR anywhere are ignored. Anything before a ':'
 * that is not a plain scheme name blocks the URL rather than be guessed at. */
int ml_tpl_url_is_safe(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    char scheme[8];
    apr_size_t n = 0;
    int plain = 1;

    while (*p && *p <= 0x20)
        p++;
    for (; *p; p++) {
        unsigned char c = *p;

        if (c == '\t' || c == '\n' || c == '\r')
            continue;
        if (c == ':')
            return plain && ml_scheme_allowed(scheme, n);
        if (c == '/' || c == '?' || c == '#')
            return 1;
        if (!ml_is_alpha(c) || n == sizeof(scheme)) {
            plain = 0;
            continue;
        }
        scheme[n++] = (char)(c | 0x20);
    }
    return 1;
}

apr_status_t ml_tpl_put_url(ml_sink_t *out, const char *s)
{
    if (!s || !*s)
        return APR_SUCCESS;
    if (!ml_tpl_url_is_safe(s))
        return out->put_static(out, ML_TPL_URL_BLOCKED, sizeof(ML_TPL_URL_BLOCKED) - 1);
    return ml_escape(out, s, &ml_esc_html);
}

static int ml_is_unreserved(unsigned char c)
{
    return ml_is_alpha(c) || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'
        || c == '~';
}

static apr_status_t ml_put_pct(ml_sink_t *out, const unsigned char *p, apr_size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    char buf[12];
    apr_size_t i;

    for (i = 0; i < n; i++) {
        buf[3 * i] = '%';
        buf[3 * i + 1] = hex[p[i] >> 4];
        buf[3 * i + 2] = hex[p[i] & 15];
    }
    return out->put(out, buf, 3 * n);
}

apr_status_t ml_tpl_put_url_part(ml_sink_t *out, const char *s)
{
    static const unsigned char fffd[] = { 0xEF, 0xBF, 0xBD };
    const unsigned char *p = (const unsigned char *)s, *run = p;
    apr_size_t n, bad;
    apr_status_t rv;

    if (!s)
        return APR_SUCCESS;
    for (; *p; run = p) {
        while (ml_is_unreserved(*p))
            p++;
        if ((rv = ml_flush(out, run, p)) != APR_SUCCESS)
            return rv;
        if (!*p)
            break;
        n = *p < 0x80 ? 1 : ml_utf8_len(p, &bad);
        rv = n ? ml_put_pct(out, p, n) : ml_put_pct(out, fffd, sizeof(fffd));
        if (rv != APR_SUCCESS)
            return rv;
        p += n ? n : bad;
    }
    return APR_SUCCESS;
}

int ml_tpl_plural(const char *s, unsigned long (*rule)(unsigned long n), int nforms)
{
    unsigned long n = 0, form;
    const char *p = s;

    if (!p || !*p)
        return nforms - 1;
    for (; *p >= '0' && *p <= '9'; p++)
        n = n > 99999999ul ? 999999999ul : n * 10 + (unsigned long)(*p - '0');   /* saturates */
    if (*p)
        return nforms - 1;
    form = rule(n);
    return form < (unsigned long)nforms ? (int)form : nforms - 1;
}
