/* Recycled byte buffers.
 *
 * A buffer is malloc'd once, grows by doubling when a value needs more room,
 * and is reset (not freed) between uses, so steady-state work allocates
 * nothing. Owners: a per-thread scratch (ml_scratch.h) or the caller. */
#ifndef ML_BUF_H
#define ML_BUF_H

#include <apr.h>
#include <apr_errno.h>
#include <string.h>

typedef struct ml_buf {
    char *data;
    apr_size_t len;
    apr_size_t cap;
} ml_buf_t;

void ml_buf_init(ml_buf_t *b);
void ml_buf_free(ml_buf_t *b);
/* Make room for `extra` more bytes plus a NUL; APR_ENOMEM on failure. */
apr_status_t ml_buf_reserve(ml_buf_t *b, apr_size_t extra);
apr_status_t ml_buf_append(ml_buf_t *b, const void *data, apr_size_t n);
apr_status_t ml_buf_puts(ml_buf_t *b, const char *s);
apr_status_t ml_buf_printf(ml_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline void ml_buf_reset(ml_buf_t *b) { b->len = 0; if (b->data) b->data[0] = '\0'; }

static inline apr_status_t ml_buf_putc(ml_buf_t *b, char c)
{
    if (b->len + 2 > b->cap && ml_buf_reserve(b, 1) != APR_SUCCESS)
        return APR_ENOMEM;
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
    return APR_SUCCESS;
}

/* Wipes the bytes in use (plaintext claims) and empties the buffer; unlike
 * memset, the compiler may not elide it. ml_buf_free wipes the whole buffer. */
void ml_buf_wipe(ml_buf_t *b);

#endif
