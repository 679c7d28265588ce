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

/* MSG: {{t key}}, a catalog message, replaced by its text in each language
 * before code generation; PLURAL: such a message with several forms, one
 * branch per form (made by mltc_msg.c, never by the parser). */
typedef enum {
    MLTC_N_TEXT, MLTC_N_VALUE, MLTC_N_IF, MLTC_N_SLOT, MLTC_N_MSG, MLTC_N_PLURAL
} mltc_kind_t;

#define MLTC_MAX_FORMS 6          /* plural forms (Arabic has 6) */

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
    /* MSG: name is the message key; placeholder ph[i] takes param bind[i]
     * (explicit ph=param words; the rest are filled in by mltc_msg_bind).
     * The context pass sets esc (html, attr or text) and markup (1 where the
     * message's <strong>/<em>/<bdi> are markup: HTML text; else dropped). */
    const char **ph;
    const char **bind;
    int nbind;
    int markup;
    /* PLURAL: name is the count param; lang the language (its rule is
     * ml_plural_<lang>); forms[i] the branch for form i. */
    const char *lang;
    int nforms;
    mltc_node_t *forms[MLTC_MAX_FORMS];
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

/* ---- catalogs (mltc_po.c reads .po files, mltc_msg.c checks and expands) ---- */

/* A piece of a message's text: literal text, a {placeholder}, or one of the
 * tags a message may hold (<strong>, <em>, <bdi> and their ends). */
typedef enum { MLTC_P_TEXT, MLTC_P_PH, MLTC_P_TAG } mltc_piece_kind_t;

typedef struct mltc_piece mltc_piece_t;
struct mltc_piece {
    mltc_piece_kind_t kind;
    const char *text;        /* TEXT: the characters; PH: the name; TAG: "<strong>"... */
    size_t len;
    mltc_piece_t *next;
};

/* Plural rule: a parsed Plural-Forms expression. */
typedef struct mltc_expr mltc_expr_t;

typedef struct mltc_lang {
    const char *code;        /* BCP 47: "de", "pt-BR" */
    const char *ident;       /* for C names: "de", "pt_br" */
    const char *dir;         /* "ltr" or "rtl" */
    int nplurals;
    mltc_expr_t *plural;
    const char *plural_src;  /* the expression as written */
    const char *file;        /* the .po, or the .pot for English */
    /* per message of the catalog (same index): forms, each a piece list */
    mltc_piece_t *(*forms)[MLTC_MAX_FORMS];
    int *nforms;
    int *rule;               /* whose plural rule picks the form: this language's,
                                or English's (0) for an English fallback */
} mltc_lang_t;

/* A message as the source catalog (.pot) declares it, in English. */
typedef struct mltc_src {
    const char *key;         /* msgctxt: lowercase letters, digits, '_' */
    const char *count;       /* plural messages: the placeholder that counts */
    const char *phs[16];     /* every placeholder of the English text */
    int nphs;
    int plural;
    int simple;              /* no placeholder, no plural, no tag: ml_msg_text() has it */
    mltc_pos_t pos;
    int used;
} mltc_src_t;

#define MLTC_MAX_LANGS 64

typedef struct mltc_catalog {
    mltc_src_t *src;
    int nsrc;
    mltc_lang_t langs[MLTC_MAX_LANGS];   /* [0] is English, the source */
    int nlangs;
    const char **english_ids; /* the .pot's msgids, to find stale translations */
} mltc_catalog_t;

/* A PO file's entries (mltc_po.c). */
typedef struct mltc_po_entry mltc_po_entry_t;
struct mltc_po_entry {
    const char *ctxt, *id, *id_plural;
    const char *str[MLTC_MAX_FORMS];
    mltc_pos_t str_pos[MLTC_MAX_FORMS];
    int nstr;
    int str_indexed;         /* msgstr[N] rather than msgstr */
    int fuzzy;
    const char *count;       /* "#. count: NAME" */
    mltc_pos_t pos;
    mltc_po_entry_t *next;
};

typedef struct mltc_po {
    const char *path;
    const char *header;      /* the msgstr of msgid "" */
    mltc_pos_t header_pos;
    mltc_po_entry_t *entries;
} mltc_po_t;

mltc_po_t *mltc_po_read(const char *path);
/* A header field's value ("Language"), or NULL. */
const char *mltc_po_header(const mltc_po_t *po, const char *field);

/* mltc_msg.c */
void mltc_warn(mltc_pos_t pos, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
extern int mltc_werror;                  /* -Werror: a warning fails the run */
extern int mltc_nwarnings;
/* Builds the catalog from the source .pot (NULL: no messages, English only),
 * the translations and the overrides (-O), or fails. */
mltc_catalog_t *mltc_catalog_load(const char *pot, const char *const *po, int npo,
                                  const char *const *overrides, int nover);
/* Checks the {{t}} nodes of a page's body against the catalog and binds
 * each placeholder to a param (declared in params[0..np)). */
void mltc_msg_bind(mltc_catalog_t *cat, mltc_node_t *body, const char *const *params, int np);
/* The body with every MSG node replaced by its text in language lang. */
mltc_node_t *mltc_msg_expand(const mltc_catalog_t *cat, int lang, const mltc_node_t *body);
/* Writes the plural rule of lang as a C expression of n. */
void mltc_plural_c(FILE *f, const mltc_lang_t *lang);
/* Warns about messages no template uses. */
void mltc_catalog_unused(const mltc_catalog_t *cat);

/* mltc_gen.c */
void mltc_gen(FILE *c, FILE *h, const mltc_catalog_t *cat, const mltc_page_t *pages,
              int npages);

#endif
