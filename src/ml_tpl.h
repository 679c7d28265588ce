/* Template runtime: output sinks and context escapers.
 *
 * Templates (templates/NAME.tpl) are compiled to C by tools/mltc at build time;
 * the generated code ($(BUILD)/gen/ml_templates.h) is straight-line calls of
 * the sink for static text and of the escapers below for values, each chosen
 * by the compiler from the value's place in the page. Nothing is parsed,
 * looked up or read from disk per request.
 *
 * Generated, per template NAME:
 *
 *   typedef struct ml_tpl_NAME_args { const char *param; ... } ml_tpl_NAME_args_t;
 *   apr_status_t ml_tpl_NAME(ml_sink_t *out, const ml_tpl_NAME_args_t *a);
 *   #define ML_TPL_NAME_CONTENT_TYPE "text/html; charset=utf-8"  (or text/plain)
 *
 * Every param is a NUL-terminated UTF-8 string; NULL and "" both mean absent
 * ({{if param}} is false, {{param}} writes nothing). Rendering stops at the
 * first error a sink returns, and returns it. */
#ifndef ML_TPL_H
#define ML_TPL_H

#include <apr.h>
#include <apr_buckets.h>
#include <apr_errno.h>

#include "ml_buf.h"

/* Where rendered bytes go. */
typedef struct ml_sink ml_sink_t;
struct ml_sink {
    /* Bytes that outlive the output (string constants): a sink may keep the
     * pointer instead of copying. */
    apr_status_t (*put_static)(ml_sink_t *sink, const char *s, apr_size_t n);
    /* Bytes valid only during the call: the sink copies them. */
    apr_status_t (*put)(ml_sink_t *sink, const char *s, apr_size_t n);
};

/* Written in place of a URL whose scheme is not http, https or mailto. */
#define ML_TPL_URL_BLOCKED "about:invalid#blocked"

/* Escapers. Each writes s (NULL: nothing) to out, passing runs of safe bytes
 * in one call. All replace ill-formed UTF-8 with U+FFFD, one per maximal
 * ill-formed subsequence, so output is always valid UTF-8. */

/* HTML text (also RCDATA: <title>, <textarea>): & < > " ' become entities;
 * C0 controls other than TAB, LF, FF, CR, and DEL, become U+FFFD. */
apr_status_t ml_tpl_put_html(ml_sink_t *out, const char *s);
/* A quoted attribute value, either quote: the same replacements as text,
 * kept as its own entry point so the two contexts can diverge. */
apr_status_t ml_tpl_put_attr(ml_sink_t *out, const char *s);
/* A whole URL in a quoted href/src/action/... value: relative URLs and the
 * schemes http, https and mailto pass (attribute-escaped); anything else,
 * with the leniency of browsers' URL parsers in mind (leading controls and
 * spaces, tabs and newlines inside, any case), becomes ML_TPL_URL_BLOCKED. */
apr_status_t ml_tpl_put_url(ml_sink_t *out, const char *s);
/* Part of a URL after the start of the attribute value: every byte but
 * A-Z a-z 0-9 - . _ ~ is percent-encoded, so it cannot start a scheme or
 * leave the attribute. */
apr_status_t ml_tpl_put_url_part(ml_sink_t *out, const char *s);
/* text/plain (the email): the value becomes one line. CR, LF, TAB and the
 * other C0 and C1 controls, DEL, U+2028 and U+2029 become spaces. */
apr_status_t ml_tpl_put_text(ml_sink_t *out, const char *s);
/* Trusted markup ({{raw x}}): unescaped, only ill-formed UTF-8 replaced. */
apr_status_t ml_tpl_put_raw(ml_sink_t *out, const char *s);

/* A message with plural forms ({{t}} in a template, doc/i18n.md): the form
 * of nforms that the language's rule picks for the count in s (decimal
 * digits); the last form when s is not such a number. */
int ml_tpl_plural(const char *s, unsigned long (*rule)(unsigned long n), int nforms);

/* 1 if s is relative or has an allowed scheme (the test ml_tpl_put_url uses). */
int ml_tpl_url_is_safe(const char *s);

/* Sink into a recycled buffer: appends to buf (reset it between renders;
 * once it has grown to a page's size, rendering allocates nothing). */
typedef struct ml_sink_buf {
    ml_sink_t sink;
    ml_buf_t *buf;
} ml_sink_buf_t;

ml_sink_t *ml_sink_buf_init(ml_sink_buf_t *s, ml_buf_t *buf);

/* Sink into a brigade: static text becomes immortal buckets (no copy);
 * dynamic text is copied into shared heap chunks from the brigade's bucket
 * allocator, so a page's values take one buffer, not one per value. The sink
 * keeps pointers to the buckets it made: initialize it again once the
 * brigade has been passed on or cleaned. Between writes the caller may add
 * buckets of its own. */
typedef struct ml_sink_brigade {
    ml_sink_t sink;
    apr_bucket_brigade *bb;
    apr_bucket *chunk;     /* heap bucket owning the current chunk */
    apr_bucket *tail;      /* last bucket written with put, if extendable */
    char *base;            /* the chunk's buffer */
    apr_size_t used;
    apr_size_t cap;
} ml_sink_brigade_t;

ml_sink_t *ml_sink_brigade_init(ml_sink_brigade_t *s, apr_bucket_brigade *bb);

#endif
