/* mltc: compiles templates and message catalogs to C (doc/templates.md,
 * doc/i18n.md).
 *
 *   mltc [-o OUTDIR] [-Werror] [MESSAGES.pot [LANG.po...]] [-O OVERRIDE.po]... FILE.tpl...
 *
 * Checks every template and catalog and, with -o, writes
 * OUTDIR/ml_templates.h and OUTDIR/ml_templates.c: per page one render
 * function per language, and a dispatcher taking the language. A template
 * with {{slot}}s is a layout: pages that name it are inlined into it, and it
 * gets no function of its own. Errors read "file:line:col: error: ..." and
 * exit 1; warnings (a message English in some language) "... warning: ...";
 * outputs are replaced only when everything compiled. */
#include "mltc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Everything mltc allocates stays reachable from here until exit, which is
 * when it is released; leak checkers see no leak. */
struct mltc_chunk {
    struct mltc_chunk *next;
    max_align_t data[];
};
static struct mltc_chunk *mltc_chunks;

void *mltc_alloc(size_t n)
{
    struct mltc_chunk *c = calloc(1, sizeof(*c) + n);

    if (!c) {
        fputs("mltc: out of memory\n", stderr);
        exit(1);
    }
    c->next = mltc_chunks;
    mltc_chunks = c;
    return c->data;
}

char *mltc_strndup(const char *s, size_t n)
{
    char *d = mltc_alloc(n + 1);

    memcpy(d, s, n);
    return d;
}

void mltc_fail(mltc_pos_t pos, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s:%d:%d: error: ", pos.file, pos.line, pos.col);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* ---- names ---- */

static int has_param(const char *const *params, int n, const char *name)
{
    int i;

    for (i = 0; i < n; i++) {
        if (!strcmp(params[i], name))
            return 1;
    }
    return 0;
}

static void check_names(const mltc_node_t *n, const char *const *params, int np)
{
    char known[1024] = "";
    int i;

    for (; n; n = n->next) {
        if (n->kind == MLTC_N_IF) {
            check_names(n->then, params, np);
            check_names(n->els, params, np);
        }
        if ((n->kind != MLTC_N_VALUE && n->kind != MLTC_N_IF) || has_param(params, np, n->name))
            continue;
        for (i = 0; i < np; i++)
            snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
                     i ? ", " : "", params[i]);
        if (!np)
            mltc_fail(n->pos, "unknown value '%s': expected it declared with {{params %s}}",
                      n->name, n->name);
        mltc_fail(n->pos, "unknown value '%s': expected one of the declared params (%s)",
                  n->name, known);
    }
}

/* ---- layouts ---- */

static const mltc_node_t *find_slot(const mltc_node_t *n, const char *name)
{
    const mltc_node_t *s;

    for (; n; n = n->next) {
        if (n->kind == MLTC_N_SLOT && !strcmp(n->name, name))
            return n;
        if (n->kind == MLTC_N_IF
            && ((s = find_slot(n->then, name)) || (s = find_slot(n->els, name))))
            return s;
    }
    return NULL;
}

static const mltc_block_t *find_block(const mltc_tpl_t *t, const char *name)
{
    const mltc_block_t *b;

    for (b = t->blocks; b; b = b->next) {
        if (!strcmp(b->name, name))
            return b;
    }
    return NULL;
}

static void check_slots_filled(const mltc_node_t *n, const mltc_tpl_t *page,
                               const mltc_tpl_t *layout)
{
    for (; n; n = n->next) {
        if (n->kind == MLTC_N_IF) {
            check_slots_filled(n->then, page, layout);
            check_slots_filled(n->els, page, layout);
        } else if (n->kind == MLTC_N_SLOT && !find_block(page, n->name)) {
            mltc_fail(page->layout_pos, "expected {{block %s}}: layout '%s' has {{slot %s}} "
                      "at %s:%d:%d", n->name, layout->name, n->name, n->pos.file,
                      n->pos.line, n->pos.col);
        }
    }
}

static int is_blank(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
            return 0;
    }
    return 1;
}

/* Where the first non-blank character of a text node is. */
static mltc_pos_t first_nonblank(const mltc_node_t *n)
{
    mltc_pos_t p = n->pos;
    size_t i;

    for (i = 0; i < n->len && is_blank(n->text + i, 1); i++) {
        if (n->text[i] == '\n') {
            p.line++;
            p.col = 1;
        } else {
            p.col++;
        }
    }
    return p;
}

/* With a layout, a page is its blocks: stray content would be lost. */
static void check_only_blocks(const mltc_tpl_t *t)
{
    const mltc_node_t *n;

    for (n = t->body; n; n = n->next) {
        if (n->kind != MLTC_N_TEXT || !is_blank(n->text, n->len))
            mltc_fail(n->kind == MLTC_N_TEXT ? first_nonblank(n) : n->pos,
                      "expected {{block NAME}}: a page that uses {{layout %s}} puts "
                      "all of its content in blocks", t->layout);
    }
}

/* The layout's tree with each slot replaced by a copy of the page's block
 * (a copy, since a slot may appear twice and each copy gets its own escapers). */
static mltc_node_t *expand(const mltc_node_t *n, const mltc_tpl_t *page)
{
    mltc_node_t *head = NULL, **tail = &head, *c;

    for (; n; n = n->next) {
        if (n->kind == MLTC_N_SLOT) {
            *tail = expand(find_block(page, n->name)->body, page);
            while (*tail)
                tail = &(*tail)->next;
            continue;
        }
        c = mltc_alloc(sizeof(*c));
        *c = *n;
        c->next = NULL;
        if (n->kind == MLTC_N_IF) {
            c->then = expand(n->then, page);
            c->els = expand(n->els, page);
        }
        *tail = c;
        tail = &c->next;
    }
    return head;
}

static const mltc_tpl_t *load_layout(const mltc_tpl_t *t)
{
    const char *slash = strrchr(t->path, '/');
    size_t dir = slash ? (size_t)(slash - t->path) + 1 : 0;
    size_t n = dir + strlen(t->layout) + 5;
    char *path = mltc_alloc(n);
    const mltc_tpl_t *l;
    FILE *f;

    snprintf(path, n, "%.*s%s.tpl", (int)dir, t->path, t->layout);
    if (!(f = fopen(path, "rb")))
        mltc_fail(t->layout_pos, "cannot open layout '%s' (%s): %s", t->layout, path,
                  strerror(errno));
    fclose(f);
    l = mltc_parse_file(path);
    if (!l->first_slot.line)
        mltc_fail(t->layout_pos, "expected a layout: '%s' has no {{slot}}", path);
    if (l->layout)
        mltc_fail(l->layout_pos, "a layout cannot use {{layout}} itself");
    check_names(l->body, l->params, l->nparams);
    return l;
}

/* ---- pages ---- */

static void page_params(mltc_page_t *pg)
{
    const mltc_tpl_t *t = pg->tpl, *l = pg->layout;
    int i;

    for (i = 0; i < t->nparams; i++)
        pg->params[pg->nparams++] = t->params[i];
    for (i = 0; l && i < l->nparams; i++) {
        if (!has_param(t->params, t->nparams, l->params[i]))
            pg->params[pg->nparams++] = l->params[i];
    }
}

static mltc_catalog_t *catalog;

static void build_page(mltc_page_t *pg, const mltc_tpl_t *t)
{
    const mltc_block_t *b;
    mltc_format_t format = t->format;

    memset(pg, 0, sizeof(*pg));
    pg->tpl = t;
    if (!t->layout) {
        if (t->blocks)
            mltc_fail(t->blocks->pos, "{{block %s}} without a layout: expected {{layout NAME}} "
                      "at the top", t->blocks->name);
        page_params(pg);
        check_names(t->body, pg->params, pg->nparams);
        pg->body = t->body;
        mltc_msg_bind(catalog, pg->body, pg->params, pg->nparams);
        mltc_contexts(pg->body, format, t->end_pos);
        return;
    }
    pg->layout = load_layout(t);
    if (t->format_pos.line && t->format != pg->layout->format)
        mltc_fail(t->format_pos, "format differs from the one of layout '%s'", t->layout);
    format = pg->layout->format;
    check_only_blocks(t);
    for (b = t->blocks; b; b = b->next) {
        if (!find_slot(pg->layout->body, b->name))
            mltc_fail(b->pos, "layout '%s' has no {{slot %s}} for this block", t->layout,
                      b->name);
    }
    check_slots_filled(pg->layout->body, t, pg->layout);
    page_params(pg);
    for (b = t->blocks; b; b = b->next)
        check_names(b->body, pg->params, pg->nparams);
    pg->body = expand(pg->layout->body, t);
    mltc_msg_bind(catalog, pg->body, pg->params, pg->nparams);
    mltc_contexts(pg->body, format, pg->layout->end_pos);
}

static void check_layout_input(const mltc_tpl_t *t)
{
    if (t->layout)
        mltc_fail(t->layout_pos, "a layout cannot use {{layout}} itself");
    if (t->blocks)
        mltc_fail(t->blocks->pos, "a layout has {{slot}}s, not {{block}}s (its first slot "
                  "is at %d:%d)", t->first_slot.line, t->first_slot.col);
    check_names(t->body, t->params, t->nparams);
}

/* ---- output ---- */

static FILE *open_out(const char *dir, const char *name, char **tmp, char **final)
{
    mltc_pos_t at = { dir, 0, 0 };
    size_t n = strlen(dir) + strlen(name) + 8;
    FILE *f;

    *final = mltc_alloc(n);
    *tmp = mltc_alloc(n);
    snprintf(*final, n, "%s/%s", dir, name);
    snprintf(*tmp, n, "%s/%s.tmp", dir, name);
    if (!(f = fopen(*tmp, "w")))
        mltc_fail(at, "cannot write %s: %s", *tmp, strerror(errno));
    return f;
}

static void close_out(FILE *f, const char *tmp, const char *final)
{
    mltc_pos_t at = { final, 0, 0 };

    if (fflush(f) || ferror(f) || fclose(f) || rename(tmp, final))
        mltc_fail(at, "cannot write: %s", strerror(errno));
}

static void write_outputs(const char *dir, const mltc_page_t *pages, int n)
{
    char *ctmp, *cfinal, *htmp, *hfinal;
    FILE *c = open_out(dir, "ml_templates.c", &ctmp, &cfinal);
    FILE *h = open_out(dir, "ml_templates.h", &htmp, &hfinal);

    mltc_gen(c, h, catalog, pages, n);
    close_out(h, htmp, hfinal);
    close_out(c, ctmp, cfinal);
}

static void usage(void)
{
    fputs("usage: mltc [-o OUTDIR] [-Werror] [MESSAGES.pot [LANG.po...]] [-O OVERRIDE.po]... "
          "FILE.tpl...\n"
          "  checks the templates and catalogs; with -o, writes OUTDIR/ml_templates.{c,h}\n",
          stderr);
    exit(2);
}

static void free_all(void)
{
    struct mltc_chunk *c;

    while ((c = mltc_chunks)) {
        mltc_chunks = c->next;
        free(c);
    }
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);

    return n > k && !strcmp(s + n - k, tail);
}

int main(int argc, char **argv)
{
    const char *outdir = NULL, *pot = NULL;
    const char **tplv, **pov, **overv;
    mltc_tpl_t **tpls;
    mltc_page_t *pages;
    int i, j, ntpl = 0, npo = 0, nover = 0, npages = 0;

    tplv = mltc_alloc(sizeof(char *) * (size_t)argc);
    pov = mltc_alloc(sizeof(char *) * (size_t)argc);
    overv = mltc_alloc(sizeof(char *) * (size_t)argc);
    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-o") && i + 1 < argc)
            outdir = argv[++i];
        else if (!strcmp(argv[i], "-O") && i + 1 < argc)
            overv[nover++] = argv[++i];
        else if (!strcmp(argv[i], "-Werror"))
            mltc_werror = 1;
        else if (argv[i][0] == '-')
            usage();
        else if (ends_with(argv[i], ".pot") && !pot)
            pot = argv[i];
        else if (ends_with(argv[i], ".po"))
            pov[npo++] = argv[i];
        else
            tplv[ntpl++] = argv[i];
    }
    if (ntpl == 0 || (npo && !pot))
        usage();
    catalog = mltc_catalog_load(pot, pov, npo, overv, nover);
    tpls = mltc_alloc(sizeof(*tpls) * (size_t)ntpl);
    pages = mltc_alloc(sizeof(*pages) * (size_t)ntpl);
    for (i = 0; i < ntpl; i++) {
        tpls[i] = mltc_parse_file(tplv[i]);
        for (j = 0; j < i; j++) {
            if (!strcmp(tpls[i]->name, tpls[j]->name)) {
                mltc_pos_t at = { tpls[i]->path, 1, 1 };
                mltc_fail(at, "a second template named '%s' (the first is %s)",
                          tpls[i]->name, tpls[j]->path);
            }
        }
    }
    for (i = 0; i < ntpl; i++) {
        if (tpls[i]->first_slot.line)
            check_layout_input(tpls[i]);
        else
            build_page(&pages[npages++], tpls[i]);
    }
    if (pot)
        mltc_catalog_unused(catalog);
    if (mltc_werror && mltc_nwarnings) {
        fprintf(stderr, "mltc: %d warning%s, and -Werror: nothing written\n", mltc_nwarnings,
                mltc_nwarnings == 1 ? "" : "s");
        free_all();
        return 1;
    }
    if (outdir)
        write_outputs(outdir, pages, npages);
    free_all();
    return 0;
}
