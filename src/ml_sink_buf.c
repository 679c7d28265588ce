/* Template sink into a recycled ml_buf_t (see ml_tpl.h). Static and dynamic
 * text are both copied: the buffer is the output. */
#include "ml_tpl.h"

#include <string.h>

static apr_status_t ml_sink_buf_put(ml_sink_t *sink, const char *s, apr_size_t n)
{
    ml_buf_t *b = ((ml_sink_buf_t *)sink)->buf;

    /* A warm buffer always has room: skip ml_buf_append's checks and call. */
    if (b->cap - b->len > n) {
        memcpy(b->data + b->len, s, n);
        b->len += n;
        b->data[b->len] = '\0';
        return APR_SUCCESS;
    }
    return ml_buf_append(b, s, n);
}

ml_sink_t *ml_sink_buf_init(ml_sink_buf_t *s, ml_buf_t *buf)
{
    s->sink.put_static = ml_sink_buf_put;
    s->sink.put = ml_sink_buf_put;
    s->buf = buf;
    return &s->sink;
}
