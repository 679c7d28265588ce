/* mltc, the template compiler: shared types.
 *
 * Pipeline: mltc_parse.c reads a .tpl into a tree; mltc.c checks names and
 * inlines a page into its layout; mltc_ctx.c follows the HTML tokenizer over
 * the static text to pick each value's escaper (or reject its place);
 * mltc_gen.c writes C. Plain libc; memory lives until exit. */
#ifndef MLTC_H
#define MLTC_H

#include <stddef.h>
#include <stdio.h>

#define MLTC_MAX_PARAMS 64

typedef struct mltc_pos {
    const char *file;
    int line;
    int col;
} mltc_pos_t;

/* Prints "file:line:col: message" on stderr and exits 1. */
void mltc_fail(mltc_pos_t pos, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
void *mltc_alloc(size_t n);                      /* zeroed; never NULL */
char *mltc_strndup(const char *s, size_t n);

typedef enum { MLTC_HTML, MLTC_TEXT } mltc_format_t;

/* Escapers, named as the runtime functions ml_tpl_put_<name> (ml_tpl.h). */
typedef enum {
    MLTC_ESC_NONE,
    MLTC_ESC_HTML,
    MLTC_ESC_ATTR,
    MLTC_ESC_URL,
    MLTC_ESC_URL_PART,
    MLTC_ESC_TEXT,
    MLTC_ESC_RAW,
    MLTC_ESC_COUNT
} mltc_esc_t;

extern const char *const mltc_esc_names[MLTC_ESC_COUNT];

typedef enum { MLTC_N_TEXT, MLTC_N_VALUE, MLTC_N_IF, MLTC_N_SLOT } mltc_kind_t;

typedef struct mltc_node mltc_node_t;
struct mltc_node {
    mltc_kind_t kind;
    mltc_pos_t pos;
    const char *text;        /* TEXT */
    size_t len;
    const char *name;        /* VALUE, IF, SLOT */
    int raw;                 /* VALUE: {{raw name}} */
    mltc_esc_t esc;          /* VALUE: set by the context pass */
    mltc_node_t *then;       /* IF */
    mltc_node_t *els;
    mltc_node_t *next;
};

typedef struct mltc_block mltc_block_t;
struct mltc_block {
    const char *name;
    mltc_pos_t pos;
    mltc_node_t *body;
    mltc_block_t *next;
};

typedef struct mltc_tpl {
    const char *path;
    const char *name;                 /* file name without .tpl */
    mltc_format_t format;
    mltc_pos_t format_pos;            /* line 0: not given */
    const char *layout;               /* {{layout NAME}}, or NULL */
    mltc_pos_t layout_pos;
    const char *params[MLTC_MAX_PARAMS];
    mltc_pos_t param_pos[MLTC_MAX_PARAMS];
    int nparams;
    mltc_pos_t params_pos;            /* line 0: no {{params}} */
    mltc_node_t *body;
    mltc_block_t *blocks;
    mltc_pos_t first_slot;            /* line 0: no slot, not a layout */
    mltc_pos_t end_pos;               /* end of file */
} mltc_tpl_t;

/* A page ready for code generation: body inlined, escapers chosen. */
typedef struct mltc_page {
    const mltc_tpl_t *tpl;
    const mltc_tpl_t *layout;         /* or NULL */
    const char *params[2 * MLTC_MAX_PARAMS];
    int nparams;
    mltc_node_t *body;
} mltc_page_t;

/* mltc_parse.c */
mltc_tpl_t *mltc_parse_file(const char *path);

/* mltc_ctx.c: sets esc on every value of body, or fails naming the value;
 * end is where the page's last file ends. */
void mltc_contexts(mltc_node_t *body, mltc_format_t format, mltc_pos_t end);

/* mltc_gen.c */
void mltc_gen(FILE *c, FILE *h, const mltc_page_t *pages, int npages);

#endif
