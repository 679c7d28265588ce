#include "ml_punycode.h"

/* Parameters of the IDNA profile (RFC 3492 section 5). */
enum {
    PC_BASE = 36,
    PC_TMIN = 1,
    PC_TMAX = 26,
    PC_SKEW = 38,
    PC_DAMP = 700,
    PC_BIAS = 72,
    PC_N = 0x80,
};

#define PC_MAXINT 0xFFFFFFFFu

static char ml_pc_digit(apr_uint32_t d)
{
    return (char)(d < 26 ? 'a' + d : '0' + (d - 26));
}

static int ml_pc_value(char c)
{
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= '0' && c <= '9')
        return c - '0' + 26;
    return -1;
}

static apr_uint32_t ml_pc_threshold(apr_uint32_t k, apr_uint32_t bias)
{
    if (k <= bias)
        return PC_TMIN;
    if (k >= bias + PC_TMAX)
        return PC_TMAX;
    return k - bias;
}

static apr_uint32_t ml_pc_adapt(apr_uint32_t delta, apr_uint32_t numpoints, int first)
{
    apr_uint32_t k = 0;

    delta = first ? delta / PC_DAMP : delta / 2;
    delta += delta / numpoints;
    while (delta > ((PC_BASE - PC_TMIN) * PC_TMAX) / 2) {
        delta /= PC_BASE - PC_TMIN;
        k += PC_BASE;
    }
    return k + (PC_BASE - PC_TMIN + 1) * delta / (delta + PC_SKEW);
}

/* Writes delta as a generalized variable-length integer (section 3.3). */
static apr_status_t ml_pc_put_varint(apr_uint32_t q, apr_uint32_t bias, char *out,
                                     apr_size_t room, apr_size_t *o)
{
    apr_uint32_t k, t;

    for (k = PC_BASE;; k += PC_BASE) {
        t = ml_pc_threshold(k, bias);
        if (q < t)
            break;
        if (*o >= room)
            return APR_ENOSPC;
        out[(*o)++] = ml_pc_digit(t + (q - t) % (PC_BASE - t));
        q = (q - t) / (PC_BASE - t);
    }
    if (*o >= room)
        return APR_ENOSPC;
    out[(*o)++] = ml_pc_digit(q);
    return APR_SUCCESS;
}

apr_status_t ml_punycode_encode(const apr_uint32_t *cp, apr_size_t n, char *out,
                                apr_size_t *outlen)
{
    apr_uint32_t next = PC_N, delta = 0, bias = PC_BIAS, m, h, b;
    apr_size_t room = *outlen, o = 0, j;
    apr_status_t rv;

    if (n >= PC_MAXINT)
        return APR_EINVAL;
    for (j = 0; j < n; j++) {
        if (cp[j] > 0x10FFFF || (cp[j] >= 0xD800 && cp[j] <= 0xDFFF))
            return APR_EINVAL;
        if (cp[j] < 0x80) {
            if (o >= room)
                return APR_ENOSPC;
            out[o++] = (char)cp[j];
        }
    }
    h = b = (apr_uint32_t)o;
    if (b > 0) {
        if (o >= room)
            return APR_ENOSPC;
        out[o++] = '-';
    }
    while (h < n) {
        m = PC_MAXINT;
        for (j = 0; j < n; j++)
            if (cp[j] >= next && cp[j] < m)
                m = cp[j];
        if (m - next > (PC_MAXINT - delta) / (h + 1))
            return APR_EINVAL;
        delta += (m - next) * (h + 1);
        next = m;
        for (j = 0; j < n; j++) {
            if (cp[j] < next && ++delta == 0)
                return APR_EINVAL;
            if (cp[j] != next)
                continue;
            rv = ml_pc_put_varint(delta, bias, out, room, &o);
            if (rv != APR_SUCCESS)
                return rv;
            bias = ml_pc_adapt(delta, h + 1, h == b);
            delta = 0;
            h++;
        }
        delta++;
        next++;
    }
    *outlen = o;
    return APR_SUCCESS;
}

/* Reads one variable-length integer at in[*i..len) and adds it to *acc. */
static apr_status_t ml_pc_get_varint(const char *in, apr_size_t len, apr_size_t *i,
                                     apr_uint32_t bias, apr_uint32_t *acc)
{
    apr_uint32_t w = 1, k, t;
    int d;

    for (k = PC_BASE;; k += PC_BASE) {
        if (*i >= len)
            return APR_EINVAL;
        d = ml_pc_value(in[(*i)++]);
        if (d < 0 || (apr_uint32_t)d > (PC_MAXINT - *acc) / w)
            return APR_EINVAL;
        *acc += (apr_uint32_t)d * w;
        t = ml_pc_threshold(k, bias);
        if ((apr_uint32_t)d < t)
            return APR_SUCCESS;
        if (w > PC_MAXINT / (PC_BASE - t))
            return APR_EINVAL;
        w *= PC_BASE - t;
    }
}

apr_status_t ml_punycode_decode(const char *in, apr_size_t len, apr_uint32_t *cp,
                                apr_size_t *n)
{
    apr_uint32_t next = PC_N, i = 0, bias = PC_BIAS, oldi, count;
    apr_size_t room = *n, out = 0, b = 0, j, pos;
    apr_status_t rv;

    for (j = 0; j < len; j++)
        if (in[j] == '-')
            b = j;
    for (j = 0; j < b; j++) {
        if ((unsigned char)in[j] >= 0x80)
            return APR_EINVAL;
        if (out >= room)
            return APR_ENOSPC;
        cp[out++] = (unsigned char)in[j];
    }
    for (pos = b > 0 ? b + 1 : 0; pos < len;) {
        oldi = i;
        rv = ml_pc_get_varint(in, len, &pos, bias, &i);
        if (rv != APR_SUCCESS)
            return rv;
        count = (apr_uint32_t)out + 1;
        bias = ml_pc_adapt(i - oldi, count, oldi == 0);
        if (i / count > PC_MAXINT - next)
            return APR_EINVAL;
        next += i / count;
        i %= count;
        if (next < 0x80 || next > 0x10FFFF || (next >= 0xD800 && next <= 0xDFFF))
            return APR_EINVAL;
        if (out >= room)
            return APR_ENOSPC;
        for (j = out; j > i; j--)
            cp[j] = cp[j - 1];
        cp[i++] = next;
        out++;
    }
    *n = out;
    return APR_SUCCESS;
}
