#include "ml_b64.h"

static const char ml_b64_alphabet[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* 0..63 for alphabet characters, 64 for '=', 255 for everything else. */
static const unsigned char ml_b64_value[256] = {
#define X 255
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, 62, X, X,
    52, 53, 54, 55, 56, 57, 58, 59, 60, 61, X, X, X, 64, X, X,
    X, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
    15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, X, X, X, X, 63,
    X, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
    41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
    X, X, X, X, X, X, X, X, X, X, X, X, X, X, X, X,
#undef X
};

apr_status_t ml_b64_encode(ml_buf_t *out, const unsigned char *in, apr_size_t n)
{
    apr_size_t i;
    char *o;

    if (ml_buf_reserve(out, ml_b64_encoded_len(n)) != APR_SUCCESS)
        return APR_ENOMEM;
    o = out->data + out->len;
    for (i = 0; i + 3 <= n; i += 3) {
        apr_uint32_t v = (apr_uint32_t)in[i] << 16 | (apr_uint32_t)in[i + 1] << 8 | in[i + 2];
        *o++ = ml_b64_alphabet[v >> 18];
        *o++ = ml_b64_alphabet[(v >> 12) & 63];
        *o++ = ml_b64_alphabet[(v >> 6) & 63];
        *o++ = ml_b64_alphabet[v & 63];
    }
    if (n - i == 1) {
        apr_uint32_t v = (apr_uint32_t)in[i] << 16;
        *o++ = ml_b64_alphabet[v >> 18];
        *o++ = ml_b64_alphabet[(v >> 12) & 63];
        *o++ = '=';
        *o++ = '=';
    }
    else if (n - i == 2) {
        apr_uint32_t v = (apr_uint32_t)in[i] << 16 | (apr_uint32_t)in[i + 1] << 8;
        *o++ = ml_b64_alphabet[v >> 18];
        *o++ = ml_b64_alphabet[(v >> 12) & 63];
        *o++ = ml_b64_alphabet[(v >> 6) & 63];
        *o++ = '=';
    }
    out->len = (apr_size_t)(o - out->data);
    *o = '\0';
    return APR_SUCCESS;
}

apr_status_t ml_b64_encode_raw(ml_buf_t *out, const unsigned char *in, apr_size_t n)
{
    apr_size_t start = out->len;

    if (ml_b64_encode(out, in, n) != APR_SUCCESS)
        return APR_ENOMEM;
    while (out->len > start && out->data[out->len - 1] == '=')
        out->len--;
    out->data[out->len] = '\0';
    return APR_SUCCESS;
}

apr_status_t ml_b64_decode(ml_buf_t *out, const char *in, apr_size_t n)
{
    const unsigned char *s = (const unsigned char *)in;
    apr_size_t i;
    unsigned char *o;

    if (n % 4 != 0)
        return APR_EINVAL;
    if (ml_buf_reserve(out, n / 4 * 3) != APR_SUCCESS)
        return APR_ENOMEM;
    o = (unsigned char *)out->data + out->len;
    for (i = 0; i < n; i += 4) {
        unsigned a = ml_b64_value[s[i]], b = ml_b64_value[s[i + 1]];
        unsigned c = ml_b64_value[s[i + 2]], d = ml_b64_value[s[i + 3]];
        int last = (i + 4 == n);

        if (a > 63 || b > 63)
            return APR_EINVAL;
        if (c == 64 && d == 64 && last) {          /* one byte: xx== */
            if (b & 15)
                return APR_EINVAL;                 /* non-canonical trailing bits */
            *o++ = (unsigned char)(a << 2 | b >> 4);
            break;
        }
        if (c > 63)
            return APR_EINVAL;
        if (d == 64 && last) {                     /* two bytes: xxx= */
            if (c & 3)
                return APR_EINVAL;
            *o++ = (unsigned char)(a << 2 | b >> 4);
            *o++ = (unsigned char)(b << 4 | c >> 2);
            break;
        }
        if (d > 63)
            return APR_EINVAL;
        *o++ = (unsigned char)(a << 2 | b >> 4);
        *o++ = (unsigned char)(b << 4 | c >> 2);
        *o++ = (unsigned char)(c << 6 | d);
    }
    out->len = (apr_size_t)(o - (unsigned char *)out->data);
    out->data[out->len] = '\0';
    return APR_SUCCESS;
}

static int ml_hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

int ml_hex_decode(const char *in, apr_size_t n, unsigned char *out)
{
    apr_size_t i;

    if (n % 2)
        return 0;
    for (i = 0; i < n / 2; i++) {
        int hi = ml_hexval(in[2 * i]), lo = ml_hexval(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return 0;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 1;
}
