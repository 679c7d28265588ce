/* mltc: writing the C.
 *
 * Per page: a struct of const char * params and, per language, a function
 * that is a straight line of sink calls, with the language's messages in its
 * static text; ml_tpl_NAME(out, a, lang) picks the language's function from
 * a table. Adjacent static text (a page's own, its layout's, its messages')
 * is one constant, named after the template its text starts in
 * (ml_tpl_layout_s4) and shared by the pages and languages that write the
 * same text from that template; a language whose page comes out the same as
 * another's shares that function, and each value goes through the escaper its
 * context chose. Literals are cut only after newlines, so a template's text
 * can be grepped in the C, and each write carries a comment naming the file
 * and line its text comes from.
 * A message with plural forms is a switch on the form the language's rule
 * (ml_plural_LANG, written from its Plural-Forms) picks for the count. */
#include "mltc.h"

#include <stdlib.h>
#include <string.h>

typedef struct gen_const {
    const char *bytes;
    size_t len;
    char owner[128];          /* the template whose text it is: "layout" */
    char name[160];
    struct gen_const *next;
} gen_const_t;

/* How many constants a template owns so far: the next one's number. */
typedef struct gen_owner {
    char name[128];
    int nconsts;
    struct gen_owner *next;
} gen_owner_t;

typedef struct gen {
    FILE *c;                  /* constants */
    FILE *body;               /* the current function */
    gen_const_t *consts;
    gen_owner_t *owners;
    const mltc_catalog_t *cat;
    int rule_used[MLTC_MAX_LANGS];
} gen_t;

/* A C string literal, split only after newlines: a line of the template
 * stays one literal, whatever its length. */
static void put_literal(FILE *f, const char *s, size_t n)
{
    size_t i;

    fputs("    \"", f);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c == '?')
            fputs("\\?", f);                   /* no trigraphs */
        else if (c == '\n')
            fputs("\\n", f);
        else if (c == '\t')
            fputs("\\t", f);
        else if (c < 0x20 || c >= 0x7F)
            fprintf(f, "\\%03o", c);           /* 3 digits: never absorbs the next */
        else
            fputc(c, f);
        if (c == '\n' && i + 1 < n)
            fputs("\"\n    \"", f);
    }
    fputs("\"", f);
}

/* The template a position is in, as a C name: "templates/layout.tpl" is
 * "layout". */
static void owner_name(char *out, size_t cap, const mltc_pos_t *pos)
{
    const char *base = pos->file ? strrchr(pos->file, '/') : NULL;
    size_t i, n;

    base = base ? base + 1 : pos->file ? pos->file : "text";
    n = strlen(base);
    if (n > 4 && !strcmp(base + n - 4, ".tpl"))
        n -= 4;
    for (i = 0; i < n && i + 1 < cap; i++) {
        char c = base[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        out[i] = ok ? c : '_';
    }
    out[i] = '\0';
}

/* The next number of a constant of template name. */
static int owner_next(gen_t *g, const char *name)
{
    gen_owner_t *o;

    for (o = g->owners; o && strcmp(o->name, name); o = o->next)
        ;
    if (!o) {
        o = mltc_alloc(sizeof(*o));
        snprintf(o->name, sizeof(o->name), "%s", name);
        o->next = g->owners;
        g->owners = o;
    }
    return o->nconsts++;
}

/* The constant holding s for the template where s starts (pos), made the
 * first time: pages and languages share it, other templates have their own,
 * so a constant's name says where its text is written. */
static const gen_const_t *intern(gen_t *g, mltc_pos_t pos, const char *s, size_t n)
{
    gen_const_t *k;
    char owner[128];

    owner_name(owner, sizeof(owner), &pos);
    for (k = g->consts; k; k = k->next) {
        if (k->len == n && !memcmp(k->bytes, s, n) && !strcmp(k->owner, owner))
            return k;
    }
    k = mltc_alloc(sizeof(*k));
    k->bytes = s;
    k->len = n;
    snprintf(k->owner, sizeof(k->owner), "%s", owner);
    snprintf(k->name, sizeof(k->name), "ml_tpl_%s_s%d", owner, owner_next(g, owner));
    k->next = g->consts;
    g->consts = k;
    fprintf(g->c, "static const char %s[] =\n", k->name);
    put_literal(g->c, s, n);
    fputs(";\n\n", g->c);
    return k;
}

/* Joins the text nodes from *np on; leaves *np at the first other node and
 * *pos where the text starts (its first non-empty node). */
static char *join_text(const mltc_node_t **np, size_t *len, mltc_pos_t *pos)
{
    const mltc_node_t *n;
    size_t total = 0;
    char *buf;

    *pos = (*np)->pos;
    for (n = *np; n && n->kind == MLTC_N_TEXT; n = n->next) {
        if (!total && n->len)
            *pos = n->pos;
        total += n->len;
    }
    buf = mltc_alloc(total + 1);
    *len = 0;
    for (n = *np; n && n->kind == MLTC_N_TEXT; n = n->next) {
        memcpy(buf + *len, n->text, n->len);
        *len += n->len;
    }
    *np = n;
    return buf;
}

static void gen_list(gen_t *g, const mltc_node_t *n, int depth);

static void gen_if(gen_t *g, const mltc_node_t *n, int depth)
{
    int ind = 4 * depth;

    if (!n->then && !n->els)
        return;
    if (n->then) {
        fprintf(g->body, "%*sif (ML_SET(a->%s)) {\n", ind, "", n->name);
        gen_list(g, n->then, depth + 1);
        if (n->els) {
            fprintf(g->body, "%*s} else {\n", ind, "");
            gen_list(g, n->els, depth + 1);
        }
    } else {
        fprintf(g->body, "%*sif (!ML_SET(a->%s)) {\n", ind, "", n->name);
        gen_list(g, n->els, depth + 1);
    }
    fprintf(g->body, "%*s}\n", ind, "");
}

static void gen_plural(gen_t *g, const mltc_node_t *n, int depth)
{
    int ind = 4 * depth, k, l;

    for (l = 0; l < g->cat->nlangs && strcmp(g->cat->langs[l].ident, n->lang); l++)
        ;
    g->rule_used[l] = 1;
    fprintf(g->body, "%*sswitch (ml_tpl_plural(a->%s, ml_plural_%s, %d)) {  /* %s:%d:%d */\n",
            ind, "", n->name, n->lang, n->nforms, n->pos.file, n->pos.line, n->pos.col);
    for (k = 0; k < n->nforms; k++) {
        if (k + 1 < n->nforms)
            fprintf(g->body, "%*scase %d:\n", ind, "", k);
        else
            fprintf(g->body, "%*sdefault:\n", ind, "");
        gen_list(g, n->forms[k], depth + 1);
        fprintf(g->body, "%*sbreak;\n", ind + 4, "");
    }
    fprintf(g->body, "%*s}\n", ind, "");
}

static void gen_list(gen_t *g, const mltc_node_t *n, int depth)
{
    const gen_const_t *k;
    mltc_pos_t pos;
    size_t len;
    char *text;
    int ind = 4 * depth;

    while (n) {
        if (n->kind == MLTC_N_TEXT) {
            text = join_text(&n, &len, &pos);
            if (len) {
                k = intern(g, pos, text, len);
                fprintf(g->body, "%*sML_W(out->put_static(out, %s, sizeof(%s) - 1));  /* %s:%d */\n",
                        ind, "", k->name, k->name, pos.file ? pos.file : "?", pos.line);
            }
            continue;
        }
        if (n->kind == MLTC_N_VALUE)
            fprintf(g->body, "%*sML_W(ml_tpl_put_%s(out, a->%s));  /* %s:%d:%d */\n", ind, "",
                    mltc_esc_names[n->esc], n->name, n->pos.file, n->pos.line, n->pos.col);
        else if (n->kind == MLTC_N_IF)
            gen_if(g, n, depth);
        else if (n->kind == MLTC_N_PLURAL)
            gen_plural(g, n, depth);
        n = n->next;
    }
}

/* How a param is used, for the struct's comments: "if, html, url". */
static void uses(const mltc_node_t *n, const char *name, unsigned *mask)
{
    for (; n; n = n->next) {
        if (n->kind == MLTC_N_VALUE && !strcmp(n->name, name))
            *mask |= 1u << n->esc;
        if (n->kind == MLTC_N_MSG) {
            int i;
            for (i = 0; i < n->nbind; i++) {
                if (!strcmp(n->bind[i], name))
                    *mask |= 1u << n->esc;
            }
        }
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
    fprintf(h, "apr_status_t ml_tpl_%s(ml_sink_t *out, const ml_tpl_%s_args_t *a, int lang);\n\n",
            t->name, t->name);
}

static int reads_args(const mltc_node_t *n)
{
    for (; n; n = n->next) {
        if (n->kind == MLTC_N_VALUE || n->kind == MLTC_N_IF || n->kind == MLTC_N_PLURAL)
            return 1;
    }
    return 0;
}

/* The body of page pg's function in language lang, as text. */
static char *gen_body(gen_t *g, const mltc_page_t *pg, int lang)
{
    mltc_node_t *body = mltc_msg_expand(g->cat, lang, pg->body);
    char *text = NULL;
    size_t len = 0;

    g->body = open_memstream(&text, &len);
    if (!g->body) {
        fputs("mltc: out of memory\n", stderr);
        exit(1);
    }
    gen_list(g, body, 1);
    if (!reads_args(body))
        fputs("    (void)a;\n", g->body);
    fclose(g->body);
    return text;
}

/* One function per language, but one shared by languages whose page is the
 * same (messages English in both, or a page without messages); then the
 * table that ml_tpl_NAME looks the language up in. */
static void gen_page(gen_t *g, FILE *f, const mltc_page_t *pg)
{
    const char *name = pg->tpl->name;
    char **texts = mltc_alloc(sizeof(char *) * (size_t)g->cat->nlangs);
    int *same = mltc_alloc(sizeof(int) * (size_t)g->cat->nlangs);
    char fname[160];
    int l, k;

    for (l = 0; l < g->cat->nlangs; l++) {
        snprintf(fname, sizeof(fname), "%s_%s", name, g->cat->langs[l].ident);
        texts[l] = gen_body(g, pg, l);
        for (k = 0; k < l && strcmp(texts[k], texts[l]); k++)
            ;
        same[l] = k;
        if (k < l)
            continue;
        fprintf(f, "static apr_status_t ml_tpl_%s(ml_sink_t *out, const ml_tpl_%s_args_t *a)"
                "\n{\n%s    return APR_SUCCESS;\n}\n\n", fname, name, texts[l]);
    }
    fprintf(f, "static apr_status_t (*const ml_tpl_%s_by_lang[ML_LANG_COUNT])(ml_sink_t *,\n"
            "    const ml_tpl_%s_args_t *) = {\n", name, name);
    for (l = 0; l < g->cat->nlangs; l++)
        fprintf(f, "    ml_tpl_%s_%s,%*s/* %s */\n", name, g->cat->langs[same[l]].ident,
                (int)(24 - strlen(name) - strlen(g->cat->langs[same[l]].ident)) > 1
                ? (int)(24 - strlen(name) - strlen(g->cat->langs[same[l]].ident)) : 1, "",
                g->cat->langs[l].code);
    fprintf(f, "};\n\napr_status_t ml_tpl_%s(ml_sink_t *out, const ml_tpl_%s_args_t *a, int lang)"
            "\n{\n    return ml_tpl_%s_by_lang[lang >= 0 && lang < ML_LANG_COUNT ? lang : "
            "ML_LANG_EN](out, a);\n}\n\n", name, name, name);
    for (l = 0; l < g->cat->nlangs; l++)
        free(texts[l]);
}

static void upper_ident(char *out, size_t cap, const char *s)
{
    size_t i;

    for (i = 0; s[i] && i + 1 < cap; i++)
        out[i] = (char)(s[i] >= 'a' && s[i] <= 'z' ? s[i] - 32 : s[i]);
    out[i] = '\0';
}

/* The text of a message without placeholders, plural forms or tags. */
static const char *simple_text(const mltc_lang_t *l, int i, size_t *len)
{
    const mltc_piece_t *p = l->forms[i][0];

    *len = p ? p->len : 0;
    return p ? p->text : "";
}

static int find_msg(const mltc_catalog_t *cat, const char *key)
{
    int i;

    for (i = 0; i < cat->nsrc; i++) {
        if (!strcmp(cat->src[i].key, key) && cat->src[i].simple)
            return i;
    }
    return -1;
}

static void gen_lang_decls(FILE *h, const mltc_catalog_t *cat)
{
    char up[64];
    int l, i;

    fprintf(h, "/* Languages compiled in (po/LANG.po), English, the source, first. */\n"
            "#define ML_LANG_COUNT %d\n\nenum {\n", cat->nlangs);
    for (l = 0; l < cat->nlangs; l++) {
        upper_ident(up, sizeof(up), cat->langs[l].ident);
        fprintf(h, "    ML_LANG_%s,%*s/* %s, %s */\n", up, (int)(12 - strlen(up)) > 1
                ? (int)(12 - strlen(up)) : 1, "", cat->langs[l].code, cat->langs[l].dir);
    }
    fputs("};\n\n"
          "typedef struct ml_lang_info {\n"
          "    const char *code;       /* BCP 47 tag: \"de\", \"pt-BR\" */\n"
          "    const char *name;       /* its own name (message language_name): \"Deutsch\" */\n"
          "    const char *dir;        /* \"ltr\" or \"rtl\" */\n"
          "} ml_lang_info_t;\n\n"
          "extern const ml_lang_info_t ml_lang_info[ML_LANG_COUNT];\n"
          "/* The codes alone, in the same order (for ml_lang_negotiate). */\n"
          "extern const char *const ml_lang_codes[ML_LANG_COUNT];\n\n"
          "/* Messages without placeholders, plural forms or markup, for module code:\n"
          " * ml_msg_text(lang, ML_MSG_KEY) is the text of message \"key\" in lang (English\n"
          " * for a lang out of range). Plain text: escape it where it lands. */\n"
          "typedef enum ml_msg_id {\n", h);
    for (i = 0; i < cat->nsrc; i++) {
        if (!cat->src[i].simple)
            continue;
        upper_ident(up, sizeof(up), cat->src[i].key);
        fprintf(h, "    ML_MSG_%s,\n", up);
    }
    fputs("    ML_MSG_COUNT\n} ml_msg_id_t;\n\n"
          "const char *ml_msg_text(int lang, ml_msg_id_t id);\n\n", h);
}

static void gen_lang_tables(FILE *c, const mltc_catalog_t *cat)
{
    int l, i, name = find_msg(cat, "language_name");
    const char *t;
    size_t len;

    for (l = 0; l < cat->nlangs; l++) {
        fprintf(c, "static const char *const ml_msgs_%s[ML_MSG_COUNT + 1] = {\n",
                cat->langs[l].ident);
        for (i = 0; i < cat->nsrc; i++) {
            if (!cat->src[i].simple)
                continue;
            t = simple_text(&cat->langs[l], i, &len);
            fprintf(c, "    /* %s */\n", cat->src[i].key);
            put_literal(c, t, len);
            fputs(",\n", c);
        }
        fputs("    NULL\n};\n\n", c);
    }
    fputs("static const char *const *const ml_msgs[ML_LANG_COUNT] = {\n", c);
    for (l = 0; l < cat->nlangs; l++)
        fprintf(c, "    ml_msgs_%s,\n", cat->langs[l].ident);
    fputs("};\n\n"
          "const char *ml_msg_text(int lang, ml_msg_id_t id)\n{\n"
          "    if (lang < 0 || lang >= ML_LANG_COUNT)\n"
          "        lang = ML_LANG_EN;\n"
          "    return (unsigned)id < ML_MSG_COUNT ? ml_msgs[lang][id] : \"\";\n}\n\n"
          "const ml_lang_info_t ml_lang_info[ML_LANG_COUNT] = {\n", c);
    for (l = 0; l < cat->nlangs; l++) {
        t = name >= 0 ? simple_text(&cat->langs[l], name, &len) : cat->langs[l].code;
        len = strlen(t);
        fprintf(c, "    { \"%s\", ", cat->langs[l].code);
        put_literal(c, t, len);
        fprintf(c, ", \"%s\" },\n", cat->langs[l].dir);
    }
    fputs("};\n\nconst char *const ml_lang_codes[ML_LANG_COUNT] = {\n", c);
    for (l = 0; l < cat->nlangs; l++)
        fprintf(c, "    \"%s\",\n", cat->langs[l].code);
    fputs("};\n", c);
}

static void gen_rules(FILE *c, const gen_t *g)
{
    int l;

    for (l = 0; l < g->cat->nlangs; l++) {
        if (!g->rule_used[l])
            continue;
        fprintf(c, "/* %s: nplurals=%d; plural=%s; */\nstatic unsigned long ml_plural_%s(unsigned "
                "long n)\n{\n    return ", g->cat->langs[l].code, g->cat->langs[l].nplurals,
                g->cat->langs[l].plural_src, g->cat->langs[l].ident);
        mltc_plural_c(c, &g->cat->langs[l]);
        fputs(";\n}\n\n", c);
    }
}

static FILE *memfile(char **text, size_t *len)
{
    FILE *f = open_memstream(text, len);

    if (!f) {
        fputs("mltc: out of memory\n", stderr);
        exit(1);
    }
    return f;
}

void mltc_gen(FILE *c, FILE *h, const mltc_catalog_t *cat, const mltc_page_t *pages,
              int npages)
{
    gen_t g;
    char *consts = NULL, *funcs = NULL;
    size_t nconsts = 0, nfuncs = 0;
    FILE *fn;
    int i;

    memset(&g, 0, sizeof(g));
    g.cat = cat;
    fputs("/* Generated by mltc from templates/NAME.tpl and po/: do not edit, edit those and\n"
          " * rebuild. Sinks and escapers: ml_tpl.h; the template syntax: doc/templates.md;\n"
          " * catalogs: doc/i18n.md. */\n"
          "#ifndef ML_TEMPLATES_H\n#define ML_TEMPLATES_H\n\n#include \"ml_tpl.h\"\n\n", h);
    gen_lang_decls(h, cat);
    for (i = 0; i < npages; i++)
        gen_decl(h, &pages[i]);
    fputs("#endif\n", h);

    g.c = memfile(&consts, &nconsts);
    fn = memfile(&funcs, &nfuncs);
    for (i = 0; i < npages; i++)
        gen_page(&g, fn, &pages[i]);
    fclose(fn);
    fclose(g.c);
    fputs("/* Generated by mltc: do not edit. */\n#include \"ml_templates.h\"\n\n"
          "/* Stops at a sink's first error and returns it. */\n"
          "#define ML_W(e) do { apr_status_t ml_rv_ = (e); \\\n"
          "                     if (ml_rv_ != APR_SUCCESS) return ml_rv_; } while (0)\n"
          "/* NULL and \"\" both mean absent. */\n"
          "#define ML_SET(s) ((s) != NULL && (s)[0] != '\\0')\n\n", c);
    fwrite(consts, 1, nconsts, c);
    gen_rules(c, &g);
    fwrite(funcs, 1, nfuncs, c);
    gen_lang_tables(c, cat);
    free(consts);
    free(funcs);
}
