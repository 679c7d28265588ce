/* mltc: writing the C.
 *
 * Per page: a struct of const char * params and a function that is a
 * straight line of sink calls. Adjacent static text (a page's own and its
 * layout's) is one constant, identical constants are shared between pages,
 * and each value goes through the escaper its context chose. */
#include "mltc.h"

#include <stdlib.h>
#include <string.h>

typedef struct gen_const {
    const char *bytes;
    size_t len;
    char name[80];
    struct gen_const *next;
} gen_const_t;

typedef struct gen {
    FILE *c;                  /* constants, then functions */
    FILE *body;               /* the current function */
    gen_const_t *consts;
    int nconsts;
} gen_t;

/* A C string literal, split after newlines and long runs. */
static void put_literal(FILE *f, const char *s, size_t n)
{
    size_t i, col = 0;

    fputs("    \"", f);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (col >= 96 && i + 1 < n) {
            fputs("\"\n    \"", f);
            col = 0;
        }
        if (c == '"' || c == '\\')
            col += (size_t)fprintf(f, "\\%c", c);
        else if (c == '?')
            col += (size_t)fprintf(f, "\\?");      /* no trigraphs */
        else if (c == '\n')
            col += (size_t)fprintf(f, "\\n");
        else if (c == '\t')
            col += (size_t)fprintf(f, "\\t");
        else if (c < 0x20 || c >= 0x7F)
            col += (size_t)fprintf(f, "\\%03o", c);  /* 3 digits: never absorbs the next */
        else
            col += (size_t)(fputc(c, f) != EOF);
        if (c == '\n' && i + 1 < n) {
            fputs("\"\n    \"", f);
            col = 0;
        }
    }
    fputs("\"", f);
}

static const gen_const_t *intern(gen_t *g, const char *page, const char *s, size_t n)
{
    gen_const_t *k;

    for (k = g->consts; k; k = k->next) {
        if (k->len == n && !memcmp(k->bytes, s, n))
            return k;
    }
    k = mltc_alloc(sizeof(*k));
    k->bytes = s;
    k->len = n;
    snprintf(k->name, sizeof(k->name), "ml_tpl_%s_s%d", page, g->nconsts++);
    k->next = g->consts;
    g->consts = k;
    fprintf(g->c, "static const char %s[] =\n", k->name);
    put_literal(g->c, s, n);
    fputs(";\n\n", g->c);
    return k;
}

/* Joins the text nodes from *np on; leaves *np at the first other node. */
static char *join_text(const mltc_node_t **np, size_t *len)
{
    const mltc_node_t *n;
    size_t total = 0;
    char *buf;

    for (n = *np; n && n->kind == MLTC_N_TEXT; n = n->next)
        total += n->len;
    buf = mltc_alloc(total + 1);
    *len = 0;
    for (n = *np; n && n->kind == MLTC_N_TEXT; n = n->next) {
        memcpy(buf + *len, n->text, n->len);
        *len += n->len;
    }
    *np = n;
    return buf;
}

static void gen_list(gen_t *g, const char *page, const mltc_node_t *n, int depth);

static void gen_if(gen_t *g, const char *page, const mltc_node_t *n, int depth)
{
    int ind = 4 * depth;

    if (!n->then && !n->els)
        return;
    if (n->then) {
        fprintf(g->body, "%*sif (ML_SET(a->%s)) {\n", ind, "", n->name);
        gen_list(g, page, n->then, depth + 1);
        if (n->els) {
            fprintf(g->body, "%*s} else {\n", ind, "");
            gen_list(g, page, n->els, depth + 1);
        }
    } else {
        fprintf(g->body, "%*sif (!ML_SET(a->%s)) {\n", ind, "", n->name);
        gen_list(g, page, n->els, depth + 1);
    }
    fprintf(g->body, "%*s}\n", ind, "");
}

static void gen_list(gen_t *g, const char *page, const mltc_node_t *n, int depth)
{
    const gen_const_t *k;
    size_t len;
    char *text;
    int ind = 4 * depth;

    while (n) {
        if (n->kind == MLTC_N_TEXT) {
            text = join_text(&n, &len);
            if (len) {
                k = intern(g, page, text, len);
                fprintf(g->body, "%*sML_W(out->put_static(out, %s, sizeof(%s) - 1));\n", ind,
                        "", k->name, k->name);
            }
            continue;
        }
        if (n->kind == MLTC_N_VALUE)
            fprintf(g->body, "%*sML_W(ml_tpl_put_%s(out, a->%s));  /* %s:%d:%d */\n", ind, "",
                    mltc_esc_names[n->esc], n->name, n->pos.file, n->pos.line, n->pos.col);
        else if (n->kind == MLTC_N_IF)
            gen_if(g, page, n, depth);
        n = n->next;
    }
}

/* How a param is used, for the struct's comments: "if, html, url". */
static void uses(const mltc_node_t *n, const char *name, unsigned *mask)
{
    for (; n; n = n->next) {
        if (n->kind == MLTC_N_VALUE && !strcmp(n->name, name))
            *mask |= 1u << n->esc;
        if (n->kind == MLTC_N_IF) {
            if (!strcmp(n->name, name))
                *mask |= 1u << MLTC_ESC_NONE;
            uses(n->then, name, mask);
            uses(n->els, name, mask);
        }
    }
}

static void gen_field(FILE *h, const mltc_page_t *pg, const char *name)
{
    unsigned mask = 0;
    int e, first = 1, pad = 20 - (int)strlen(name);

    uses(pg->body, name, &mask);
    fprintf(h, "    const char *%s;%*s/* ", name, pad > 1 ? pad : 1, "");
    if (!mask)
        fputs("unused", h);
    for (e = 0; e < MLTC_ESC_COUNT; e++) {
        if (mask & (1u << e)) {
            fprintf(h, "%s%s", first ? "" : ", ", e == MLTC_ESC_NONE ? "if" : mltc_esc_names[e]);
            first = 0;
        }
    }
    fputs(" */\n", h);
}

static void gen_decl(FILE *h, const mltc_page_t *pg)
{
    const mltc_tpl_t *t = pg->tpl;
    char upper[64];
    size_t i;
    int p;

    for (i = 0; t->name[i] && i + 1 < sizeof(upper); i++)
        upper[i] = (char)(t->name[i] >= 'a' && t->name[i] <= 'z' ? t->name[i] - 32 : t->name[i]);
    upper[i] = '\0';
    fprintf(h, "/* %s: %s", t->name, t->path);
    if (pg->layout)
        fprintf(h, ", in layout %s", pg->layout->path);
    fprintf(h, " */\n#define ML_TPL_%s_CONTENT_TYPE \"%s; charset=utf-8\"\n\n", upper,
            (pg->layout ? pg->layout->format : t->format) == MLTC_TEXT ? "text/plain"
                                                                       : "text/html");
    fprintf(h, "typedef struct ml_tpl_%s_args {\n", t->name);
    for (p = 0; p < pg->nparams; p++)
        gen_field(h, pg, pg->params[p]);
    if (!pg->nparams)
        fputs("    char unused_;\n", h);              /* C has no empty structs */
    fprintf(h, "} ml_tpl_%s_args_t;\n\n", t->name);
    fprintf(h, "apr_status_t ml_tpl_%s(ml_sink_t *out, const ml_tpl_%s_args_t *a);\n\n",
            t->name, t->name);
}

static int reads_args(const mltc_node_t *n)
{
    for (; n; n = n->next) {
        if (n->kind == MLTC_N_VALUE || n->kind == MLTC_N_IF)
            return 1;
    }
    return 0;
}

static void gen_function(gen_t *g, const mltc_page_t *pg)
{
    const char *name = pg->tpl->name;
    char *text = NULL;
    size_t len = 0;

    g->nconsts = 0;                       /* names are per page: NAME_s0, NAME_s1... */
    g->body = open_memstream(&text, &len);
    if (!g->body) {
        fputs("mltc: out of memory\n", stderr);
        exit(1);
    }
    gen_list(g, name, pg->body, 1);
    fclose(g->body);
    fprintf(g->c, "apr_status_t ml_tpl_%s(ml_sink_t *out, const ml_tpl_%s_args_t *a)\n{\n",
            name, name);
    fwrite(text, 1, len, g->c);
    if (!reads_args(pg->body))
        fputs("    (void)a;\n", g->c);
    fputs("    return APR_SUCCESS;\n}\n\n", g->c);
    free(text);
}

void mltc_gen(FILE *c, FILE *h, const mltc_page_t *pages, int npages)
{
    gen_t g;
    int i;

    memset(&g, 0, sizeof(g));
    g.c = c;
    fputs("/* Generated by mltc from templates/NAME.tpl: do not edit, edit the templates and\n"
          " * rebuild. Sinks and escapers: ml_tpl.h; the template syntax: doc/templates.md. */\n"
          "#ifndef ML_TEMPLATES_H\n#define ML_TEMPLATES_H\n\n#include \"ml_tpl.h\"\n\n", h);
    for (i = 0; i < npages; i++)
        gen_decl(h, &pages[i]);
    fputs("#endif\n", h);

    fputs("/* Generated by mltc: do not edit. */\n#include \"ml_templates.h\"\n\n"
          "/* Stops at a sink's first error and returns it. */\n"
          "#define ML_W(e) do { apr_status_t ml_rv_ = (e); \\\n"
          "                     if (ml_rv_ != APR_SUCCESS) return ml_rv_; } while (0)\n"
          "/* NULL and \"\" both mean absent. */\n"
          "#define ML_SET(s) ((s) != NULL && (s)[0] != '\\0')\n\n", c);
    for (i = 0; i < npages; i++)
        gen_function(&g, &pages[i]);
}
