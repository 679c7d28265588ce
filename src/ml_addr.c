#include "ml_addr.h"
#include "ml_mail_enc.h"
#include "ml_mail_utf8.h"
#include "ml_punycode.h"

#include <apr_strings.h>

/* A U-label's code points: an A-label of 63 octets holds fewer than 63. */
#define ML_LABEL_CPS ML_ADDR_LABEL_MAX
/* A display domain: at most 127 labels of at most 59 code points' UTF-8. */
#define ML_DISPLAY_MAX (4 * ML_ADDR_DOMAIN_MAX + 4)
#define ML_FROM_NAME_MAX 256

typedef struct {
    char ascii[ML_ADDR_DOMAIN_MAX + 2 + ML_ADDR_LABEL_MAX]; /* one label past the limit */
    apr_size_t alen;
    char display[ML_DISPLAY_MAX + 256];
    apr_size_t dlen;
    int labels;
    int idn;
} ml_domain_t;

static int ml_atext(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
           || (c && strchr("!#$%&'*+-/=?^_`{|}~", c));
}

static int ml_ldh(apr_uint32_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* Lower case for ASCII and the alphabets most IDNs are typed in (Latin-1,
 * Latin Extended-A, Greek, Cyrillic). Without Unicode's tables, other
 * scripts pass as typed; IDNA2008 would refuse their capitals. */
static apr_uint32_t ml_lower(apr_uint32_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c + 32;
    if (c >= 0xC0 && c <= 0xDE && c != 0xD7)
        return c + 32;
    if ((c >= 0x100 && c <= 0x137 && !(c & 1)) || (c >= 0x139 && c <= 0x148 && (c & 1))
        || (c >= 0x14A && c <= 0x177 && !(c & 1)) || (c >= 0x179 && c <= 0x17E && (c & 1)))
        return c + 1;
    if (c == 0x178)
        return 0xFF;
    if (c >= 0x391 && c <= 0x3AB && c != 0x3A2)
        return c + 32;
    if (c >= 0x410 && c <= 0x42F)
        return c + 32;
    if (c >= 0x400 && c <= 0x40F)
        return c + 80;
    return c;
}

/* Non-ASCII code points that have no business in a host name: spaces,
 * punctuation and symbols (including ASCII lookalikes such as fullwidth
 * forms and fraction slashes), invisible format characters, private use,
 * noncharacters and emoji. A deny list, not IDNA2008's full table. */
static int ml_idn_allowed(apr_uint32_t c)
{
    static const apr_uint32_t deny[][2] = {
        {0x80, 0xBF},       {0xD7, 0xD7},       {0xF7, 0xF7},       {0x130, 0x130},
        {0x2000, 0x2BFF},   {0x2E00, 0x2E7F},   {0x3000, 0x3004},   {0x3008, 0x3020},
        {0x3030, 0x3030},   {0xD800, 0xF8FF},   {0xFDD0, 0xFDEF},   {0xFE00, 0xFE6F},
        {0xFEFF, 0xFEFF},   {0xFF00, 0xFFFF},   {0x1F000, 0x1FAFF}, {0xE0000, 0xE0FFF},
        {0xF0000, 0x10FFFF},
    };
    apr_size_t i;

    if ((c & 0xFFFE) == 0xFFFE)
        return 0;
    for (i = 0; i < sizeof(deny) / sizeof(deny[0]); i++)
        if (c >= deny[i][0] && c <= deny[i][1])
            return 0;
    return 1;
}

static int ml_label_sep(apr_uint32_t c)
{
    /* RFC 3490 3.1: ideographic, fullwidth and halfwidth full stops are dots. */
    return c == '.' || c == 0x3002 || c == 0xFF0E || c == 0xFF61;
}

static const char *ml_check_local(const char *s, apr_size_t n)
{
    apr_size_t i;

    if (n == 0)
        return "the address has nothing before the @";
    if (n > ML_ADDR_LOCAL_MAX)
        return "the part before the @ is longer than 64 characters";
    if (s[0] == '.' || s[n - 1] == '.')
        return "the part before the @ starts or ends with a dot";
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.' && s[i + 1] == '.')
            return "the address has two dots in a row";
        if (c >= 0x80)
            return "non-ASCII characters before the @ are not supported";
        if (c == '%' || c == '!')
            return "the part before the @ contains % or !, which mail relays read as a "
                   "route to another address";
        if (c != '.' && !ml_atext(c))
            return "the part before the @ contains a character that is not allowed";
    }
    return NULL;
}

/* Hyphen rules shared by both label forms (RFC 5891 4.2.3.1, RFC 1123). */
static const char *ml_check_hyphens(const apr_uint32_t *cp, apr_size_t n)
{
    if (cp[0] == '-' || cp[n - 1] == '-')
        return "a part of the domain starts or ends with a hyphen";
    return NULL;
}

static apr_status_t ml_dom_put(ml_domain_t *d, int display, const char *s, apr_size_t n)
{
    char *buf = display ? d->display : d->ascii;
    apr_size_t *len = display ? &d->dlen : &d->alen;
    apr_size_t cap = display ? sizeof(d->display) : sizeof(d->ascii);

    if (*len + n + 1 > cap)
        return APR_ENOSPC;
    memcpy(buf + *len, s, n);
    *len += n;
    return APR_SUCCESS;
}

static apr_status_t ml_dom_put_cps(ml_domain_t *d, const apr_uint32_t *cp, apr_size_t n)
{
    char u[4];
    apr_size_t i;

    for (i = 0; i < n; i++)
        if (ml_dom_put(d, 1, u, ml_mail_utf8_put(cp[i], u)) != APR_SUCCESS)
            return APR_ENOSPC;
    return APR_SUCCESS;
}

/* Lower-cases a U-label in place and checks what it may contain. */
static const char *ml_check_ulabel(apr_uint32_t *cp, apr_size_t n)
{
    apr_size_t i;

    if (cp[0] >= 0x300 && cp[0] <= 0x36F)
        return "a part of the domain starts with a combining mark";
    for (i = 0; i < n; i++) {
        cp[i] = ml_lower(cp[i]);
        if (cp[i] < 0x80 ? !ml_ldh(cp[i]) : !ml_idn_allowed(cp[i]))
            return "the domain contains a character that is not allowed in domain names";
    }
    if (n >= 4 && cp[2] == '-' && cp[3] == '-')
        return "a part of the domain has -- in its third and fourth characters";
    return ml_check_hyphens(cp, n);
}

/* An ASCII label, possibly an A-label ("xn--") that must decode to a valid
 * U-label and encode back to itself. */
static const char *ml_ascii_label(ml_domain_t *d, apr_uint32_t *cp, apr_size_t n)
{
    const char *bad = "a part of the domain (xn--) is not valid punycode";
    char s[ML_ADDR_LABEL_MAX], again[ML_ADDR_LABEL_MAX];
    apr_uint32_t u[ML_LABEL_CPS];
    apr_size_t i, un = ML_LABEL_CPS, an = sizeof(again);
    int non_ascii = 0;
    const char *e;

    for (i = 0; i < n; i++) {
        cp[i] = ml_lower(cp[i]);
        if (!ml_ldh(cp[i]))
            return "the domain contains a character that is not allowed in domain names";
        s[i] = (char)cp[i];
    }
    if ((e = ml_check_hyphens(cp, n)) != NULL)
        return e;
    ml_dom_put(d, 0, s, n);
    if (n < 4 || memcmp(s, "xn--", 4) != 0)
        return ml_dom_put(d, 1, s, n) == APR_SUCCESS ? NULL : "the domain is too long";
    if (ml_punycode_decode(s + 4, n - 4, u, &un) != APR_SUCCESS || un == 0)
        return bad;
    for (i = 0; i < un; i++)
        non_ascii |= u[i] >= 0x80;
    if (!non_ascii || ml_check_ulabel(u, un) != NULL
        || ml_punycode_encode(u, un, again, &an) != APR_SUCCESS || an != n - 4
        || memcmp(again, s + 4, an) != 0)
        return bad;
    d->idn = 1;
    return ml_dom_put_cps(d, u, un) == APR_SUCCESS ? NULL : "the domain is too long";
}

static const char *ml_unicode_label(ml_domain_t *d, apr_uint32_t *cp, apr_size_t n)
{
    char enc[ML_ADDR_LABEL_MAX];
    apr_size_t en = sizeof(enc) - 4;
    const char *e = ml_check_ulabel(cp, n);

    if (e)
        return e;
    if (ml_punycode_encode(cp, n, enc, &en) != APR_SUCCESS)
        return "a part of the domain is longer than 63 characters";
    ml_dom_put(d, 0, "xn--", 4);
    ml_dom_put(d, 0, enc, en);
    d->idn = 1;
    return ml_dom_put_cps(d, cp, n) == APR_SUCCESS ? NULL : "the domain is too long";
}

static const char *ml_label(ml_domain_t *d, apr_uint32_t *cp, apr_size_t n, int ascii)
{
    if (n == 0)
        return "the domain has an empty part (a leading, trailing or doubled dot)";
    if (d->labels++ > 0) {
        ml_dom_put(d, 0, ".", 1);
        ml_dom_put(d, 1, ".", 1);
    }
    return ascii ? ml_ascii_label(d, cp, n) : ml_unicode_label(d, cp, n);
}

static const char *ml_check_domain(ml_domain_t *d, const char *s, apr_size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    apr_uint32_t cp[ML_LABEL_CPS], c = 0;
    apr_size_t i = 0, k, cn = 0, last = 0;
    int ascii = 1, digits = 1;
    const char *e;

    if (n == 0)
        return "the address has nothing after the @";
    if (s[0] == '[')
        return "address literals (@[...]) are not supported";
    if (!ml_mail_utf8_valid(s, n))
        return "the domain is not valid UTF-8";
    for (;;) {
        k = i < n ? ml_mail_utf8_next(u + i, n - i, &c) : 0;
        if (i >= n || ml_label_sep(c)) {
            if ((e = ml_label(d, cp, cn, ascii)) != NULL)
                return e;
            if (d->alen > ML_ADDR_DOMAIN_MAX)
                return "the domain is longer than 253 characters";
            if (i >= n)
                break;
            last = d->alen + 1;
            cn = 0, ascii = 1;
        } else {
            if (cn == ML_LABEL_CPS)
                return "a part of the domain is longer than 63 characters";
            cp[cn++] = c;
            ascii &= c < 0x80;
        }
        i += k;
    }
    if (d->labels < 2)
        return "the domain needs at least one dot (as in example.com)";
    for (i = last; i < d->alen; i++)
        digits &= d->ascii[i] >= '0' && d->ascii[i] <= '9';
    if (digits)
        return "the domain looks like an IP address; address literals are not supported";
    return NULL;
}

/* Checks that concern the whole input, before it is split. */
static const char *ml_check_raw(const char *in, apr_size_t len, apr_size_t *at)
{
    apr_size_t i, ats = 0;

    if (len == 0)
        return "the address is empty";
    if (len > ML_ADDR_INPUT_MAX)
        return "the address is too long";
    if (in[0] == '"')
        return "quoted local parts (\"...\"@) are not supported";
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c < 0x20 || c == 0x7F)
            return "the address contains a control character";
        if (c == ' ')
            return "the address contains a space";
        if (c == '@' && ats++ == 0)
            *at = i;
    }
    if (ats == 0)
        return "the address has no @";
    if (ats > 1)
        return "the address has more than one @";
    return NULL;
}

/* Validates in[0..len) into d; *at is where its '@' is. NULL, or why not. */
static const char *ml_addr_check(const char *in, apr_size_t len, apr_size_t *at, ml_domain_t *d)
{
    const char *e;

    *at = 0;
    if (!in)
        len = 0;
    if ((e = ml_check_raw(in, len, at)) != NULL || (e = ml_check_local(in, *at)) != NULL)
        return e;
    memset(d, 0, sizeof(*d));
    if ((e = ml_check_domain(d, in + *at + 1, len - *at - 1)) != NULL)
        return e;
    if (*at + 1 + d->alen > ML_ADDR_MAX)
        return "the address is longer than 254 characters";
    return NULL;
}

/* The local part, lower-cased (ASCII only, checked), then '@'. */
static void ml_put_local(char *out, const char *in, apr_size_t at)
{
    apr_size_t i;

    for (i = 0; i < at; i++)
        out[i] = (in[i] >= 'A' && in[i] <= 'Z') ? (char)(in[i] + 32) : in[i];
    out[at] = '@';
}

apr_status_t ml_addr_normalize(apr_pool_t *p, const char *in, apr_size_t len,
                               const char **out_ascii, const char **out_display,
                               const char **err)
{
    ml_domain_t d;
    apr_size_t at;
    const char *e = ml_addr_check(in, len, &at, &d);
    char *a;

    if (e) {
        *err = e;
        return APR_EINVAL;
    }
    a = apr_palloc(p, at + 1 + d.alen + 1);
    ml_put_local(a, in, at);
    memcpy(a + at + 1, d.ascii, d.alen);
    a[at + 1 + d.alen] = '\0';
    if (out_ascii)
        *out_ascii = a;
    if (out_display && !d.idn) {
        *out_display = a;
    } else if (out_display) {
        char *u = apr_palloc(p, at + 1 + d.dlen + 1);
        ml_put_local(u, in, at);
        memcpy(u + at + 1, d.display, d.dlen);
        u[at + 1 + d.dlen] = '\0';
        *out_display = u;
    }
    return APR_SUCCESS;
}

int ml_addr_is_canonical(const char *addr, apr_size_t len)
{
    ml_domain_t d;
    apr_size_t at, i;

    if (!addr || ml_addr_check(addr, len, &at, &d) != NULL || at + 1 + d.alen != len)
        return 0;
    for (i = 0; i < at; i++)
        if (addr[i] >= 'A' && addr[i] <= 'Z')
            return 0;
    return memcmp(addr + at + 1, d.ascii, d.alen) == 0;
}

apr_status_t ml_addr_normalize_domain(apr_pool_t *p, const char *in, apr_size_t len,
                                      const char **out_ascii, const char **err)
{
    ml_domain_t d;
    const char *e;

    memset(&d, 0, sizeof(d));
    if (!in || len > ML_ADDR_INPUT_MAX)
        e = in ? "the domain is too long" : "the domain is empty";
    else if (memchr(in, '@', len) || memchr(in, '\0', len))
        e = "a domain has no @ and no NUL";
    else
        e = ml_check_domain(&d, in, len);
    if (e) {
        *err = e;
        return APR_EINVAL;
    }
    *out_ascii = apr_pstrmemdup(p, d.ascii, d.alen);
    return APR_SUCCESS;
}

const char *ml_addr_domain(const char *addr)
{
    const char *at = addr ? strrchr(addr, '@') : NULL;

    return at ? at + 1 : NULL;
}

/* ---- From spec ---- */

static void ml_trim(const char **s, apr_size_t *n)
{
    while (*n > 0 && (**s == ' ' || **s == '\t'))
        (*s)++, (*n)--;
    while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* Removes the quotes and backslash escapes of a quoted-string in place. */
static int ml_unquote(char *s, apr_size_t *n)
{
    apr_size_t i, o = 0;

    for (i = 1; i + 1 < *n; i++) {
        if (s[i] == '"')
            return 0;
        if (s[i] == '\\' && ++i + 1 >= *n)
            return 0;
        s[o++] = s[i];
    }
    *n = o;
    return 1;
}

static const char *ml_from_name(apr_pool_t *p, const char *s, apr_size_t n, const char **name)
{
    char *v;

    ml_trim(&s, &n);
    *name = NULL;
    if (n == 0)
        return NULL;
    v = apr_pstrmemdup(p, s, n);
    if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
        if (!ml_unquote(v, &n))
            return "the From display name has a stray quote or backslash";
        v[n] = '\0';
    } else if (memchr(v, '"', n)) {
        return "the From display name has a stray quote";
    }
    if (n > ML_FROM_NAME_MAX)
        return "the From display name is longer than 256 bytes";
    if (!ml_mail_hdr_ok(v, n))
        return "the From display name has control characters or is not UTF-8";
    *name = n ? v : NULL;
    return NULL;
}

static apr_status_t ml_from_line(apr_pool_t *p, ml_addr_from_t *f)
{
    ml_buf_t b;
    apr_status_t rv;
    apr_size_t alen = strlen(f->addr);

    ml_buf_init(&b);
    rv = ml_buf_puts(&b, "From: ");
    if (rv == APR_SUCCESS && f->name) {
        rv = ml_mail_hdr_phrase(&b, f->name, strlen(f->name));
        if (rv == APR_SUCCESS)
            rv = ml_buf_puts(&b, ml_mail_col(&b) + alen + 3 > ML_MAIL_LINE ? "\r\n <" : " <");
        if (rv == APR_SUCCESS)
            rv = ml_buf_printf(&b, "%s>", f->addr);
    } else if (rv == APR_SUCCESS) {
        rv = ml_buf_puts(&b, f->addr);
    }
    if (rv == APR_SUCCESS)
        f->line = apr_pstrmemdup(p, b.data, b.len);
    ml_buf_free(&b);
    return rv;
}

apr_status_t ml_addr_parse_from(apr_pool_t *p, const char *spec, ml_addr_from_t *out,
                                const char **err)
{
    const char *s = spec ? spec : "", *lt, *e;
    apr_size_t n = strlen(s);
    ml_addr_from_t f = {0};
    apr_status_t rv;

    ml_trim(&s, &n);
    if (n == 0) {
        *err = "the From address is empty";
        return APR_EINVAL;
    }
    if (s[n - 1] == '>') {
        for (lt = s + n - 1; lt > s && *lt != '<'; lt--)
            ;
        if (*lt != '<') {
            *err = "the From address has a '>' without a '<'";
            return APR_EINVAL;
        }
        if ((e = ml_from_name(p, s, (apr_size_t)(lt - s), &f.name)) != NULL) {
            *err = e;
            return APR_EINVAL;
        }
        n = (apr_size_t)(s + n - 1 - (lt + 1));
        s = lt + 1;
    }
    rv = ml_addr_normalize(p, s, n, &f.addr, NULL, err);
    if (rv != APR_SUCCESS)
        return rv;
    f.domain = ml_addr_domain(f.addr);
    if ((rv = ml_from_line(p, &f)) != APR_SUCCESS) {
        *err = "out of memory";
        return rv;
    }
    *out = f;
    return APR_SUCCESS;
}
