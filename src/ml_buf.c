#include "ml_buf.h"

#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* Large enough for a sealed link token and a rendered page's dynamic parts,
 * so most buffers never grow after their first use. */
#define ML_BUF_FIRST_CAP 1024

void ml_buf_init(ml_buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void ml_buf_free(ml_buf_t *b)
{
    if (b->data)
        OPENSSL_cleanse(b->data, b->cap);
    free(b->data);
    ml_buf_init(b);
}

apr_status_t ml_buf_reserve(ml_buf_t *b, apr_size_t extra)
{
    apr_size_t need, cap;
    char *p;

    if (extra > APR_SIZE_MAX / 2 - b->len)
        return APR_ENOMEM;
    need = b->len + extra + 1;
    if (need <= b->cap)
        return APR_SUCCESS;
    cap = b->cap ? b->cap : ML_BUF_FIRST_CAP;
    while (cap < need)
        cap *= 2;
    p = realloc(b->data, cap);
    if (!p)
        return APR_ENOMEM;
    b->data = p;
    b->cap = cap;
    return APR_SUCCESS;
}

apr_status_t ml_buf_append(ml_buf_t *b, const void *data, apr_size_t n)
{
    if (ml_buf_reserve(b, n) != APR_SUCCESS)
        return APR_ENOMEM;
    if (n)
        memcpy(b->data + b->len, data, n);
    b->len += n;
    b->data[b->len] = '\0';
    return APR_SUCCESS;
}

apr_status_t ml_buf_puts(ml_buf_t *b, const char *s)
{
    return ml_buf_append(b, s, strlen(s));
}

apr_status_t ml_buf_printf(ml_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(b->data ? b->data + b->len : NULL, b->data ? b->cap - b->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return APR_EINVAL;
    if (b->data && (apr_size_t)n < b->cap - b->len) {
        b->len += (apr_size_t)n;
        return APR_SUCCESS;
    }
    if (ml_buf_reserve(b, (apr_size_t)n) != APR_SUCCESS)
        return APR_ENOMEM;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    b->len += (apr_size_t)n;
    return APR_SUCCESS;
}

void ml_buf_wipe(ml_buf_t *b)
{
    if (b->data)
        OPENSSL_cleanse(b->data, b->len);
    b->len = 0;
}
