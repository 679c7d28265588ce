/* Template sink into an APR bucket brigade (see ml_tpl.h).
 *
 * Static text is referenced by immortal buckets. Dynamic text is copied into
 * a chunk of APR_BUCKET_BUFF_SIZE bytes from the bucket allocator; every
 * value in the chunk is a bucket sharing the chunk's heap buffer (refcounted,
 * freed with the last of them), and consecutive dynamic writes extend one
 * bucket. apr_brigade_write would instead start a fresh 8000-byte buffer
 * after every static bucket, that is, per value. */
#include "ml_tpl.h"

#include <string.h>

/* A run this long gets a bucket of its own rather than a new chunk. */
#define ML_SINK_OWN_BUCKET (APR_BUCKET_BUFF_SIZE / 4)

static apr_status_t ml_sink_bb_static(ml_sink_t *sink, const char *s, apr_size_t n)
{
    ml_sink_brigade_t *bs = (ml_sink_brigade_t *)sink;
    apr_bucket *e;

    if (!n)
        return APR_SUCCESS;
    e = apr_bucket_immortal_create(s, n, bs->bb->bucket_alloc);
    APR_BRIGADE_INSERT_TAIL(bs->bb, e);
    bs->tail = NULL;
    return APR_SUCCESS;
}

/* A fresh chunk; its own bucket is the first segment, at the brigade's tail. */
static apr_status_t ml_sink_bb_new_chunk(ml_sink_brigade_t *bs)
{
    apr_bucket_alloc_t *list = bs->bb->bucket_alloc;

    if (!(bs->base = apr_bucket_alloc(APR_BUCKET_BUFF_SIZE, list)))
        return APR_ENOMEM;
    bs->chunk = apr_bucket_heap_create(bs->base, APR_BUCKET_BUFF_SIZE, apr_bucket_free, list);
    bs->chunk->length = 0;
    bs->used = 0;
    bs->cap = APR_BUCKET_BUFF_SIZE;
    APR_BRIGADE_INSERT_TAIL(bs->bb, bs->chunk);
    bs->tail = bs->chunk;
    return APR_SUCCESS;
}

/* A new bucket sharing the chunk, over its free space, at the tail. */
static apr_status_t ml_sink_bb_segment(ml_sink_brigade_t *bs)
{
    apr_bucket *e;
    apr_status_t rv;

    if ((rv = apr_bucket_copy(bs->chunk, &e)) != APR_SUCCESS)
        return rv;
    e->start = (apr_off_t)bs->used;
    e->length = 0;
    APR_BRIGADE_INSERT_TAIL(bs->bb, e);
    bs->tail = e;
    return APR_SUCCESS;
}

static apr_status_t ml_sink_bb_put(ml_sink_t *sink, const char *s, apr_size_t n)
{
    ml_sink_brigade_t *bs = (ml_sink_brigade_t *)sink;
    apr_status_t rv;
    apr_bucket *e;

    if (!n)
        return APR_SUCCESS;
    if (!bs->chunk || n > bs->cap - bs->used) {
        if (n >= ML_SINK_OWN_BUCKET) {
            e = apr_bucket_heap_create(s, n, NULL, bs->bb->bucket_alloc);   /* copies */
            APR_BRIGADE_INSERT_TAIL(bs->bb, e);
            bs->tail = NULL;
            return APR_SUCCESS;
        }
        if ((rv = ml_sink_bb_new_chunk(bs)) != APR_SUCCESS)
            return rv;
    } else if (!bs->tail || APR_BRIGADE_LAST(bs->bb) != bs->tail) {
        if ((rv = ml_sink_bb_segment(bs)) != APR_SUCCESS)
            return rv;
    }
    memcpy(bs->base + bs->used, s, n);
    bs->used += n;
    bs->tail->length += n;
    return APR_SUCCESS;
}

ml_sink_t *ml_sink_brigade_init(ml_sink_brigade_t *s, apr_bucket_brigade *bb)
{
    s->sink.put_static = ml_sink_bb_static;
    s->sink.put = ml_sink_bb_put;
    s->bb = bb;
    s->chunk = NULL;
    s->tail = NULL;
    s->base = NULL;
    s->used = 0;
    s->cap = 0;
    return &s->sink;
}
