/* mltc: message catalogs (doc/i18n.md).
 *
 * The source catalog, po/messages.pot, declares every message: its key
 * (msgctxt) and its English text (msgid, and msgid_plural for a message
 * with a count). Each po/LANG.po translates them. Here the catalogs are
 * checked and turned into the text each {{t key}} of a template stands for,
 * in each language, at build time:
 *
 *   - placeholders {name} must be the English text's, all of them (a form
 *     that only one count can select, such as "one minute", may leave the
 *     count out); anything else is a build error at the .po's line;
 *   - a message missing from a .po, untranslated, marked fuzzy, or made for
 *     another English text (its msgid differs) is English in that language,
 *     with a warning (-Werror makes warnings fail);
 *   - plural forms follow the .po's Plural-Forms, a C expression of n that
 *     is parsed here, checked for 0..9999, and written out as C;
 *   - a message's only markup is <strong>, <em> and <bdi> (and their ends),
 *     balanced; it is markup in HTML text and dropped anywhere else. */
#include "mltc.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int mltc_werror;
int mltc_nwarnings;

void mltc_warn(mltc_pos_t pos, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s:%d:%d: warning: ", pos.file, pos.line, pos.col);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    mltc_nwarnings++;
}

/* ---- plural expressions ---- */

typedef enum {
    E_N, E_NUM, E_NOT, E_COND, E_OR, E_AND, E_EQ, E_NE, E_LT, E_GT, E_LE, E_GE,
    E_ADD, E_SUB, E_MUL, E_DIV, E_MOD
} eop_t;

struct mltc_expr {
    eop_t op;
    unsigned long num;
    mltc_expr_t *a, *b, *c;
};

typedef struct eparser {
    const char *s;
    size_t i;
    mltc_pos_t pos;
} eparser_t;

static void e_space(eparser_t *p)
{
    while (p->s[p->i] == ' ' || p->s[p->i] == '\t')
        p->i++;
}

static int e_eat(eparser_t *p, const char *tok)
{
    size_t n = strlen(tok);

    e_space(p);
    if (strncmp(p->s + p->i, tok, n))
        return 0;
    /* "<" is not the start of "<=", "!" not of "!=", "=" needs "==". */
    if (n == 1 && (tok[0] == '<' || tok[0] == '>' || tok[0] == '!') && p->s[p->i + 1] == '=')
        return 0;
    p->i += n;
    return 1;
}

static void e_fail(eparser_t *p, const char *what)
{
    mltc_fail(p->pos, "in Plural-Forms 'plural=%s': expected %s at '%.10s'", p->s, what,
              p->s + p->i);
}

static mltc_expr_t *e_new(eop_t op, mltc_expr_t *a, mltc_expr_t *b)
{
    mltc_expr_t *e = mltc_alloc(sizeof(*e));

    e->op = op;
    e->a = a;
    e->b = b;
    return e;
}

static mltc_expr_t *e_cond(eparser_t *p);

static mltc_expr_t *e_primary(eparser_t *p)
{
    mltc_expr_t *e;

    if (e_eat(p, "(")) {
        e = e_cond(p);
        if (!e_eat(p, ")"))
            e_fail(p, "')'");
        return e;
    }
    if (e_eat(p, "!"))
        return e_new(E_NOT, e_primary(p), NULL);
    e_space(p);
    if (p->s[p->i] == 'n') {
        p->i++;
        return e_new(E_N, NULL, NULL);
    }
    if (p->s[p->i] >= '0' && p->s[p->i] <= '9') {
        e = e_new(E_NUM, NULL, NULL);
        while (p->s[p->i] >= '0' && p->s[p->i] <= '9') {
            if (e->num > 1000000)
                e_fail(p, "a number below 1000000");
            e->num = e->num * 10 + (unsigned long)(p->s[p->i++] - '0');
        }
        return e;
    }
    e_fail(p, "n, a number, '!' or '('");
    return NULL;
}

/* One level of left-associative binary operators. */
typedef struct elevel {
    const char *tok[4];
    eop_t op[4];
} elevel_t;

static const elevel_t e_levels[] = {
    { { "||" }, { E_OR } },
    { { "&&" }, { E_AND } },
    { { "==", "!=" }, { E_EQ, E_NE } },
    { { "<=", ">=", "<", ">" }, { E_LE, E_GE, E_LT, E_GT } },
    { { "+", "-" }, { E_ADD, E_SUB } },
    { { "*", "/", "%" }, { E_MUL, E_DIV, E_MOD } },
};

static mltc_expr_t *e_binary(eparser_t *p, size_t level)
{
    mltc_expr_t *e;
    int k, found;

    if (level == sizeof(e_levels) / sizeof(e_levels[0]))
        return e_primary(p);
    e = e_binary(p, level + 1);
    do {
        found = 0;
        for (k = 0; k < 4 && e_levels[level].tok[k]; k++) {
            if (e_eat(p, e_levels[level].tok[k])) {
                e = e_new(e_levels[level].op[k], e, e_binary(p, level + 1));
                /* No division by zero, whatever n is. */
                if ((e->op == E_DIV || e->op == E_MOD) && (e->b->op != E_NUM || !e->b->num))
                    e_fail(p, "a non-zero number after '/' or '%'");
                found = 1;
                break;
            }
        }
    } while (found);
    return e;
}

static mltc_expr_t *e_cond(eparser_t *p)
{
    mltc_expr_t *e = e_binary(p, 0), *c;

    if (!e_eat(p, "?"))
        return e;
    c = e_new(E_COND, e, e_cond(p));
    if (!e_eat(p, ":"))
        e_fail(p, "':'");
    c->c = e_cond(p);
    return c;
}

static unsigned long e_eval(const mltc_expr_t *e, unsigned long n)
{
    switch (e->op) {
    case E_N: return n;
    case E_NUM: return e->num;
    case E_NOT: return !e_eval(e->a, n);
    case E_COND: return e_eval(e->a, n) ? e_eval(e->b, n) : e_eval(e->c, n);
    case E_OR: return e_eval(e->a, n) || e_eval(e->b, n);
    case E_AND: return e_eval(e->a, n) && e_eval(e->b, n);
    case E_EQ: return e_eval(e->a, n) == e_eval(e->b, n);
    case E_NE: return e_eval(e->a, n) != e_eval(e->b, n);
    case E_LT: return e_eval(e->a, n) < e_eval(e->b, n);
    case E_GT: return e_eval(e->a, n) > e_eval(e->b, n);
    case E_LE: return e_eval(e->a, n) <= e_eval(e->b, n);
    case E_GE: return e_eval(e->a, n) >= e_eval(e->b, n);
    case E_ADD: return e_eval(e->a, n) + e_eval(e->b, n);
    case E_SUB: return e_eval(e->a, n) - e_eval(e->b, n);
    case E_MUL: return e_eval(e->a, n) * e_eval(e->b, n);
    case E_DIV: return e_eval(e->a, n) / e->b->num;
    case E_MOD: return e_eval(e->a, n) % e->b->num;
    }
    return 0;
}

static const char *e_sym(eop_t op)
{
    static const char *const s[] = {
        "n", "", "!", "?", "||", "&&", "==", "!=", "<", ">", "<=", ">=", "+", "-", "*", "/",
        "%"
    };
    return s[op];
}

static void e_c(FILE *f, const mltc_expr_t *e)
{
    if (e->op == E_N) {
        fputc('n', f);
    } else if (e->op == E_NUM) {
        fprintf(f, "%lu", e->num);
    } else if (e->op == E_NOT) {
        fputs("!", f);
        e_c(f, e->a);
    } else if (e->op == E_COND) {
        fputc('(', f);
        e_c(f, e->a);
        fputs(" ? ", f);
        e_c(f, e->b);
        fputs(" : ", f);
        e_c(f, e->c);
        fputc(')', f);
    } else {
        fputc('(', f);
        e_c(f, e->a);
        fprintf(f, " %s ", e_sym(e->op));
        e_c(f, e->b);
        fputc(')', f);
    }
}

void mltc_plural_c(FILE *f, const mltc_lang_t *lang)
{
    e_c(f, lang->plural);
}

#define MLTC_PLURAL_CHECK 10000    /* counts the rule is tried on at build time */

/* Parses "nplurals=N; plural=EXPR;" into lang, checking EXPR gives a form
 * below N for every count tried. */
static void parse_plural_forms(mltc_lang_t *lang, const char *hdr, mltc_pos_t pos)
{
    const char *np = hdr ? strstr(hdr, "nplurals=") : NULL, *pl = hdr ? strstr(hdr, "plural=") : NULL;
    eparser_t p;
    unsigned long n;
    size_t len;

    if (!np || !pl)
        mltc_fail(pos, "expected a header 'Plural-Forms: nplurals=N; plural=EXPRESSION;'");
    lang->nplurals = atoi(np + 9);
    if (lang->nplurals < 1 || lang->nplurals > MLTC_MAX_FORMS)
        mltc_fail(pos, "nplurals=%d: expected 1 to %d", lang->nplurals, MLTC_MAX_FORMS);
    if (pl > np && pl == np + 3)        /* "nplurals" contains "plural" */
        pl = strstr(np + 9, "plural=");
    if (!pl)
        mltc_fail(pos, "expected 'plural=EXPRESSION;' in Plural-Forms");
    pl += 7;
    len = strcspn(pl, ";");
    while (len && (pl[len - 1] == ' ' || pl[len - 1] == '\t'))
        len--;
    lang->plural_src = mltc_strndup(pl, len);
    p.s = lang->plural_src;
    p.i = 0;
    p.pos = pos;
    lang->plural = e_cond(&p);
    e_space(&p);
    if (p.s[p.i])
        e_fail(&p, "the end of the expression");
    for (n = 0; n < MLTC_PLURAL_CHECK; n++) {
        if (e_eval(lang->plural, n) >= (unsigned long)lang->nplurals)
            mltc_fail(pos, "plural=%s gives form %lu for n=%lu: expected below nplurals=%d",
                      lang->plural_src, e_eval(lang->plural, n), n, lang->nplurals);
    }
}

/* How many of the counts tried select each form. */
static void form_counts(const mltc_lang_t *lang, unsigned long hits[MLTC_MAX_FORMS])
{
    unsigned long n;

    memset(hits, 0, sizeof(unsigned long) * MLTC_MAX_FORMS);
    for (n = 0; n < MLTC_PLURAL_CHECK; n++)
        hits[e_eval(lang->plural, n)]++;
}

/* ---- message texts ---- */

static const char *const allowed_tags[] = { "strong", "em", "bdi", NULL };

static int is_name_char(char c, int first)
{
    return (c >= 'a' && c <= 'z') || c == '_' || (!first && c >= '0' && c <= '9');
}

static mltc_piece_t *new_piece(mltc_piece_kind_t kind, const char *s, size_t n)
{
    mltc_piece_t *p = mltc_alloc(sizeof(*p));

    p->kind = kind;
    p->text = mltc_strndup(s, n);
    p->len = n;
    return p;
}

/* A tag of ours at s, or 0: its length. */
static size_t tag_len(const char *s, int *closing, const char **name)
{
    int k;
    size_t i = 1, n;

    *closing = s[1] == '/';
    i += (size_t)*closing;
    for (k = 0; allowed_tags[k]; k++) {
        n = strlen(allowed_tags[k]);
        if (!strncmp(s + i, allowed_tags[k], n) && s[i + n] == '>') {
            *name = allowed_tags[k];
            return i + n + 1;
        }
    }
    return 0;
}

/* Splits a message text into pieces; fails (at pos) on a stray brace, a tag
 * that is not ours, or tags out of balance. */
static mltc_piece_t *parse_text(const char *s, mltc_pos_t pos, const char *key)
{
    mltc_piece_t *head = NULL, **tail = &head;
    const char *open[8];
    int nopen = 0, closing;
    size_t i = 0, run = 0, n;
    const char *tag;

#define FLUSH()                                                        \
    do {                                                               \
        if (i > run) {                                                 \
            *tail = new_piece(MLTC_P_TEXT, s + run, i - run);          \
            tail = &(*tail)->next;                                     \
        }                                                              \
    } while (0)

    while (s[i]) {
        if (s[i] == '{') {
            for (n = 1; is_name_char(s[i + n], n == 1); n++)
                ;
            if (n == 1 || s[i + n] != '}')
                mltc_fail(pos, "message '%s': '{' starts no placeholder in \"%s\": expected "
                          "{name} (lowercase letters, digits, '_')", key, s);
            FLUSH();
            *tail = new_piece(MLTC_P_PH, s + i + 1, n - 1);
            tail = &(*tail)->next;
            i += n + 1;
            run = i;
        } else if (s[i] == '}') {
            mltc_fail(pos, "message '%s': a '}' closes no placeholder in \"%s\"", key, s);
        } else if (s[i] == '<' && (is_name_char(s[i + 1], 1) || (s[i + 1] >= 'A' && s[i + 1] <= 'Z')
                                   || s[i + 1] == '/' || s[i + 1] == '!')) {
            n = tag_len(s + i, &closing, &tag);
            if (!n)
                mltc_fail(pos, "message '%s': markup in \"%s\": expected only <strong>, <em> "
                          "or <bdi> (write a lone '<' with a space after it)", key, s);
            if (closing && (!nopen || strcmp(open[nopen - 1], tag)))
                mltc_fail(pos, "message '%s': </%s> closes no <%s> in \"%s\"", key, tag, tag, s);
            if (!closing && nopen == 8)
                mltc_fail(pos, "message '%s': tags nested too deep", key);
            if (closing)
                nopen--;
            else
                open[nopen++] = tag;
            FLUSH();
            *tail = new_piece(MLTC_P_TAG, s + i, n);
            tail = &(*tail)->next;
            i += n;
            run = i;
        } else {
            i++;
        }
    }
    FLUSH();
#undef FLUSH
    if (nopen)
        mltc_fail(pos, "message '%s': <%s> is not closed in \"%s\"", key, open[nopen - 1], s);
    return head;
}

static int has_ph(const mltc_piece_t *p, const char *name)
{
    for (; p; p = p->next) {
        if (p->kind == MLTC_P_PH && !strcmp(p->text, name))
            return 1;
    }
    return 0;
}

static int has_tag(const mltc_piece_t *p)
{
    for (; p; p = p->next) {
        if (p->kind == MLTC_P_TAG)
            return 1;
    }
    return 0;
}

static int src_has_ph(const mltc_src_t *m, const char *name)
{
    int i;

    for (i = 0; i < m->nphs; i++) {
        if (!strcmp(m->phs[i], name))
            return 1;
    }
    return 0;
}

static void add_phs(mltc_src_t *m, const mltc_piece_t *p)
{
    for (; p; p = p->next) {
        if (p->kind != MLTC_P_PH || src_has_ph(m, p->text))
            continue;
        if (m->nphs == (int)(sizeof(m->phs) / sizeof(m->phs[0])))
            mltc_fail(m->pos, "message '%s': too many placeholders", m->key);
        m->phs[m->nphs++] = p->text;
    }
}

/* A form's placeholders against the English ones: none unknown, none
 * missing; the count may be missing where only one count selects the form. */
static void check_form(const mltc_src_t *m, const mltc_piece_t *form, int single, mltc_pos_t pos,
                       const char *lang)
{
    const mltc_piece_t *p;
    char known[256] = "";
    int i;

    for (i = 0; i < m->nphs; i++)
        snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s{%s}", i ? ", " : "",
                 m->phs[i]);
    for (p = form; p; p = p->next) {
        if (p->kind == MLTC_P_PH && !src_has_ph(m, p->text))
            mltc_fail(pos, "message '%s' (%s): unknown placeholder {%s}: expected %s%s", m->key,
                      lang, p->text, m->nphs ? "one of " : "none", known);
    }
    for (i = 0; i < m->nphs; i++) {
        if (has_ph(form, m->phs[i]))
            continue;
        if (m->count && !strcmp(m->phs[i], m->count) && single)
            continue;
        mltc_fail(pos, "message '%s' (%s): placeholder {%s} is missing%s", m->key, lang,
                  m->phs[i], m->count && !strcmp(m->phs[i], m->count)
                  ? " from a form that more than one count selects" : "");
    }
}

/* ---- the catalog ---- */

static int is_key(const char *s)
{
    size_t i;

    if (!s || !is_name_char(s[0], 1))
        return 0;
    for (i = 1; s[i]; i++) {
        if (!is_name_char(s[i], 0))
            return 0;
    }
    return 1;
}

static int find_src(const mltc_catalog_t *cat, const char *key)
{
    int i;

    for (i = 0; i < cat->nsrc; i++) {
        if (!strcmp(cat->src[i].key, key))
            return i;
    }
    return -1;
}

static void lang_alloc(mltc_lang_t *l, int nsrc)
{
    l->forms = mltc_alloc(sizeof(*l->forms) * (size_t)(nsrc ? nsrc : 1));
    l->nforms = mltc_alloc(sizeof(int) * (size_t)(nsrc ? nsrc : 1));
    l->rule = mltc_alloc(sizeof(int) * (size_t)(nsrc ? nsrc : 1));
}

static void english(mltc_catalog_t *cat, const char *pot)
{
    mltc_lang_t *en = &cat->langs[0];
    mltc_pos_t at = { pot ? pot : "(built in)", 1, 1 };

    en->code = "en";
    en->ident = "en";
    en->dir = "ltr";
    en->file = at.file;
    parse_plural_forms(en, "nplurals=2; plural=n != 1;", at);
    cat->nlangs = 1;
}

/* The source catalog: keys, English texts, placeholders. */
static void load_pot(mltc_catalog_t *cat, const char *path)
{
    mltc_po_t *po = mltc_po_read(path);
    const mltc_po_entry_t *e;
    mltc_lang_t *en = &cat->langs[0];
    int n = 0;

    for (e = po->entries; e; e = e->next)
        n++;
    cat->src = mltc_alloc(sizeof(*cat->src) * (size_t)(n ? n : 1));
    cat->english_ids = mltc_alloc(sizeof(char *) * (size_t)(n ? n : 1));
    lang_alloc(en, n);
    for (e = po->entries; e; e = e->next) {
        mltc_src_t *m = &cat->src[cat->nsrc];
        mltc_piece_t *one, *many = NULL;

        if (!is_key(e->ctxt))
            mltc_fail(e->pos, "expected msgctxt \"key\" (lowercase letters, digits, '_') "
                      "naming the message");
        if (!strcmp(e->ctxt, "lang") || !strcmp(e->ctxt, "dir"))
            mltc_fail(e->pos, "'%s' is built in ({{t %s}}): expected another key", e->ctxt,
                      e->ctxt);
        if (find_src(cat, e->ctxt) >= 0)
            mltc_fail(e->pos, "message '%s' is declared twice", e->ctxt);
        if (!*e->id)
            mltc_fail(e->pos, "message '%s': expected its English text in msgid", e->ctxt);
        m->key = e->ctxt;
        m->pos = e->pos;
        one = parse_text(e->id, e->pos, m->key);
        add_phs(m, one);
        if (e->id_plural) {
            many = parse_text(e->id_plural, e->pos, m->key);
            add_phs(m, many);
            m->plural = 1;
            m->count = e->count ? e->count : m->nphs == 1 ? m->phs[0] : NULL;
            if (!m->count || !src_has_ph(m, m->count))
                mltc_fail(e->pos, "message '%s' has plural forms: expected a comment "
                          "'#. count: NAME' naming the placeholder that counts", m->key);
        }
        check_form(m, one, 1, e->pos, "en");
        if (many)
            check_form(m, many, 0, e->pos, "en");
        m->simple = !m->plural && !m->nphs && !has_tag(one);
        en->forms[cat->nsrc][0] = one;
        en->forms[cat->nsrc][1] = many;
        en->nforms[cat->nsrc] = many ? 2 : 1;
        en->rule[cat->nsrc] = 0;
        cat->english_ids[cat->nsrc] = e->id;
        cat->nsrc++;
    }
}

static const char *lang_code(const mltc_po_t *po, mltc_pos_t *at)
{
    const char *hdr = mltc_po_header(po, "Language"), *base = strrchr(po->path, '/');
    char *code;
    size_t i, n;

    at->file = po->path;
    at->line = po->header ? po->header_pos.line : 1;
    at->col = 1;
    base = base ? base + 1 : po->path;
    n = strcspn(base, ".");
    code = mltc_strndup(hdr && *hdr ? hdr : base, hdr && *hdr ? strlen(hdr) : n);
    for (i = 0; code[i]; i++) {
        char c = code[i];
        if (c == '_')
            code[i] = '-';
        else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                   || c == '-'))
            mltc_fail(*at, "language '%s': expected a code such as de or pt_BR", code);
    }
    if (i < 2 || code[0] < 'a' || code[0] > 'z')
        mltc_fail(*at, "language '%s': expected a code such as de or pt_BR", code);
    return code;
}

static const char *rtl_langs[] = { "ar", "he", "fa", "ur", "yi", "ps", "dv", "ckb", "sd", "ug",
                                   "syr", NULL };

static const char *lang_dir(const char *code)
{
    size_t n = strcspn(code, "-");
    int i;

    for (i = 0; rtl_langs[i]; i++) {
        if (strlen(rtl_langs[i]) == n && !strncmp(code, rtl_langs[i], n))
            return "rtl";
    }
    return "ltr";
}

static const char *lang_ident(const char *code)
{
    char *id = mltc_strndup(code, strlen(code));
    size_t i;

    for (i = 0; id[i]; i++)
        id[i] = id[i] == '-' ? '_' : (char)(id[i] >= 'A' && id[i] <= 'Z' ? id[i] + 32 : id[i]);
    return id;
}

static const mltc_po_entry_t *find_entry(const mltc_po_t *po, const char *key)
{
    const mltc_po_entry_t *e;

    for (e = po->entries; e; e = e->next) {
        if (e->ctxt && !strcmp(e->ctxt, key))
            return e;
    }
    return NULL;
}

static int all_empty(const mltc_po_entry_t *e)
{
    int i;

    for (i = 0; i < e->nstr; i++) {
        if (e->str[i] && *e->str[i])
            return 0;
    }
    return 1;
}

/* Takes e's translation of message i into lang, or says why not: NULL when
 * it is used, else the reason for a warning. Structural mistakes fail. */
static const char *take(mltc_catalog_t *cat, mltc_lang_t *lang, int i, const mltc_po_entry_t *e,
                        const char *english_id)
{
    const mltc_src_t *m = &cat->src[i];
    unsigned long hits[MLTC_MAX_FORMS];
    int k;

    if (m->plural != (e->id_plural != NULL))
        return m->plural ? "has no msgid_plural (the English text now has plural forms)"
                         : "has a msgid_plural (the English text has none now)";
    if (english_id && strcmp(e->id, english_id))
        return "translates another English text (its msgid differs from messages.pot)";
    if (e->fuzzy)
        return "is marked fuzzy";
    if (all_empty(e))
        return "is not translated";
    if (!m->plural && (e->str_indexed || e->nstr != 1))
        mltc_fail(e->pos, "message '%s': expected one msgstr (no plural forms)", m->key);
    if (m->plural && e->nstr != lang->nplurals)
        mltc_fail(e->pos, "message '%s': expected msgstr[0] to msgstr[%d] (nplurals=%d), "
                  "found %d", m->key, lang->nplurals - 1, lang->nplurals, e->nstr);
    form_counts(lang, hits);
    for (k = 0; k < e->nstr; k++) {
        if (!e->str[k] || !*e->str[k])
            return "has an empty plural form";
    }
    for (k = 0; k < e->nstr; k++) {
        mltc_piece_t *form = parse_text(e->str[k], e->str_pos[k], m->key);

        check_form(m, form, !m->plural || hits[k] <= 1, e->str_pos[k], lang->code);
        if (m->simple && has_tag(form))
            mltc_fail(e->str_pos[k], "message '%s' (%s) is plain text for module code "
                      "(ml_msg_text): expected no markup, as in English", m->key, lang->code);
        lang->forms[i][k] = form;
    }
    lang->nforms[i] = e->nstr;
    lang->rule[i] = (int)(lang - cat->langs);
    return NULL;
}

static void fallback(mltc_catalog_t *cat, mltc_lang_t *lang, int i)
{
    memcpy(lang->forms[i], cat->langs[0].forms[i], sizeof(lang->forms[i]));
    lang->nforms[i] = cat->langs[0].nforms[i];
    lang->rule[i] = 0;
}

/* Applies a .po to lang: a translation, or an override (translation 0),
 * of which only what it translates counts. */
static void apply(mltc_catalog_t *cat, mltc_lang_t *lang, const mltc_po_t *po, int translation)
{
    const mltc_po_entry_t *e;
    const char *why;
    int i;

    for (i = 0; i < cat->nsrc; i++) {
        e = find_entry(po, cat->src[i].key);
        if (!e) {
            if (translation)
                mltc_warn(po->header_pos, "message '%s' is missing: English used in %s",
                          cat->src[i].key, lang->code);
            continue;
        }
        why = take(cat, lang, i, e, cat->english_ids[i]);
        if (why && (translation || strcmp(why, "is not translated")))
            mltc_warn(e->pos, "message '%s' %s: %s used in %s", cat->src[i].key, why,
                      translation ? "English" : "the catalog's text", lang->code);
    }
    for (e = po->entries; e; e = e->next) {
        if (!e->ctxt || find_src(cat, e->ctxt) < 0)
            mltc_warn(e->pos, "message '%s' is not in the source catalog: ignored",
                      e->ctxt ? e->ctxt : e->id);
    }
}

static mltc_po_t *read_po(const char *path, const char **code, mltc_pos_t *at)
{
    mltc_po_t *po = mltc_po_read(path);
    const char *ct = mltc_po_header(po, "Content-Type");

    *code = lang_code(po, at);
    if (ct && !strstr(ct, "charset=UTF-8") && !strstr(ct, "charset=utf-8"))
        mltc_fail(*at, "Content-Type '%s': expected charset=UTF-8", ct);
    return po;
}

mltc_catalog_t *mltc_catalog_load(const char *pot, const char *const *po, int npo,
                                  const char *const *overrides, int nover)
{
    mltc_catalog_t *cat = mltc_alloc(sizeof(*cat));
    mltc_po_t **over = mltc_alloc(sizeof(*over) * (size_t)(nover + 1));
    const char **over_code = mltc_alloc(sizeof(char *) * (size_t)(nover + 1));
    mltc_pos_t at;
    int i, j, k;

    english(cat, pot);
    if (pot)
        load_pot(cat, pot);
    else
        lang_alloc(&cat->langs[0], 0);
    for (j = 0; j < nover; j++)
        over[j] = read_po(overrides[j], &over_code[j], &at);
    /* English overrides first: the other languages fall back to them. */
    for (j = 0; j < nover; j++) {
        if (!strcmp(over_code[j], "en"))
            apply(cat, &cat->langs[0], over[j], 0);
    }
    for (i = 0; i < npo; i++) {
        mltc_lang_t *l = &cat->langs[cat->nlangs];
        mltc_po_t *p;

        if (cat->nlangs == MLTC_MAX_LANGS)
            mltc_fail(at, "too many languages (at most %d)", MLTC_MAX_LANGS);
        p = read_po(po[i], &l->code, &at);
        if (!strcmp(l->code, "en"))
            mltc_fail(at, "English is the source language: its texts are the msgids of the "
                          ".pot (change one for a site with an override, -O)");
        for (k = 0; k < cat->nlangs; k++) {
            if (!strcmp(cat->langs[k].code, l->code))
                mltc_fail(at, "a second catalog for language '%s' (the first is %s)", l->code,
                          cat->langs[k].file);
        }
        l->ident = lang_ident(l->code);
        l->dir = lang_dir(l->code);
        l->file = po[i];
        parse_plural_forms(l, mltc_po_header(p, "Plural-Forms"), at);
        lang_alloc(l, cat->nsrc);
        for (k = 0; k < cat->nsrc; k++)
            fallback(cat, l, k);
        cat->nlangs++;
        apply(cat, l, p, 1);
        for (j = 0; j < nover; j++) {
            if (!strcmp(over_code[j], l->code))
                apply(cat, l, over[j], 0);
        }
    }
    for (j = 0; j < nover; j++) {
        for (k = 0; k < cat->nlangs && strcmp(cat->langs[k].code, over_code[j]); k++)
            ;
        if (k == cat->nlangs) {
            mltc_pos_t o = { overrides[j], 1, 1 };
            mltc_fail(o, "an override for language '%s', which has no catalog: expected "
                      "po/%s.po", over_code[j], over_code[j]);
        }
    }
    return cat;
}

void mltc_catalog_unused(const mltc_catalog_t *cat)
{
    int i;

    for (i = 0; i < cat->nsrc; i++) {
        if (!cat->src[i].used && !cat->src[i].simple)
            mltc_warn(cat->src[i].pos, "message '%s' is used by no template", cat->src[i].key);
    }
}

/* ---- {{t}} in templates ---- */

static int declared(const char *const *params, int np, const char *name)
{
    int i;

    for (i = 0; i < np; i++) {
        if (!strcmp(params[i], name))
            return 1;
    }
    return 0;
}

static void bind_one(mltc_catalog_t *cat, mltc_node_t *n, const char *const *params, int np)
{
    const mltc_src_t *m;
    const char **ph, **bind;
    int i, j, idx;

    if (!strcmp(n->name, "lang") || !strcmp(n->name, "dir")) {
        if (n->nbind)
            mltc_fail(n->pos, "{{t %s}} takes no placeholders", n->name);
        return;
    }
    idx = find_src(cat, n->name);
    if (idx < 0)
        mltc_fail(n->pos, "unknown message '%s': expected a msgctxt of the source catalog%s",
                  n->name, cat->nsrc ? "" : " (none was given: mltc -c FILE.pot)");
    cat->src[idx].used = 1;
    m = &cat->src[idx];
    for (i = 0; i < n->nbind; i++) {
        if (!src_has_ph(m, n->ph[i]))
            mltc_fail(n->pos, "message '%s' has no placeholder {%s}", n->name, n->ph[i]);
        if (!declared(params, np, n->bind[i]))
            mltc_fail(n->pos, "unknown value '%s' for {%s}: expected a declared param",
                      n->bind[i], n->ph[i]);
    }
    ph = mltc_alloc(sizeof(char *) * (size_t)(m->nphs + 1));
    bind = mltc_alloc(sizeof(char *) * (size_t)(m->nphs + 1));
    for (i = 0; i < m->nphs; i++) {
        ph[i] = m->phs[i];
        for (j = 0; j < n->nbind && strcmp(n->ph[j], m->phs[i]); j++)
            ;
        if (j < n->nbind)
            bind[i] = n->bind[j];
        else if (declared(params, np, m->phs[i]))
            bind[i] = m->phs[i];
        else
            mltc_fail(n->pos, "message '%s' has placeholder {%s}: expected %s=PARAM in "
                      "{{t %s ...}}", n->name, m->phs[i], m->phs[i], n->name);
    }
    n->ph = ph;
    n->bind = bind;
    n->nbind = m->nphs;
}

void mltc_msg_bind(mltc_catalog_t *cat, mltc_node_t *body, const char *const *params, int np)
{
    for (; body; body = body->next) {
        if (body->kind == MLTC_N_IF) {
            mltc_msg_bind(cat, body->then, params, np);
            mltc_msg_bind(cat, body->els, params, np);
        } else if (body->kind == MLTC_N_MSG) {
            bind_one(cat, body, params, np);
        }
    }
}

/* ---- expansion ---- */

static mltc_node_t *text_node(const char *s, size_t n, mltc_pos_t pos)
{
    mltc_node_t *t = mltc_alloc(sizeof(*t));

    t->kind = MLTC_N_TEXT;
    t->text = s;
    t->len = n;
    t->pos = pos;
    return t;
}

/* Static text escaped at build time for where it lands: in HTML text & < >,
 * in an attribute value also the quotes; plain text as it is. */
static mltc_node_t *escaped(const mltc_piece_t *p, mltc_esc_t esc, mltc_pos_t pos)
{
    char *out, *o;
    size_t i;

    if (esc == MLTC_ESC_TEXT)
        return text_node(p->text, p->len, pos);
    o = out = mltc_alloc(p->len * 6 + 1);
    for (i = 0; i < p->len; i++) {
        char c = p->text[i];
        const char *rep = c == '&' ? "&amp;" : c == '<' ? "&lt;" : c == '>' ? "&gt;"
                        : esc == MLTC_ESC_ATTR && c == '"' ? "&#34;"
                        : esc == MLTC_ESC_ATTR && c == '\'' ? "&#39;" : NULL;
        if (rep) {
            memcpy(o, rep, strlen(rep));
            o += strlen(rep);
        } else {
            *o++ = c;
        }
    }
    return text_node(out, (size_t)(o - out), pos);
}

static mltc_node_t *form_nodes(const mltc_piece_t *p, const mltc_node_t *n)
{
    mltc_node_t *head = NULL, **tail = &head, *v;
    int i;

    for (; p; p = p->next) {
        if (p->kind == MLTC_P_TEXT) {
            *tail = escaped(p, n->esc, n->pos);
        } else if (p->kind == MLTC_P_TAG) {
            if (!n->markup)
                continue;
            *tail = text_node(p->text, p->len, n->pos);
        } else {
            v = mltc_alloc(sizeof(*v));
            v->kind = MLTC_N_VALUE;
            v->pos = n->pos;
            v->esc = n->esc;
            for (i = 0; i < n->nbind && strcmp(n->ph[i], p->text); i++)
                ;
            v->name = n->bind[i];
            *tail = v;
        }
        tail = &(*tail)->next;
    }
    return head;
}

static const char *bound(const mltc_node_t *n, const char *ph)
{
    int i;

    for (i = 0; i < n->nbind; i++) {
        if (!strcmp(n->ph[i], ph))
            return n->bind[i];
    }
    return NULL;
}

static mltc_node_t *expand_msg(const mltc_catalog_t *cat, int lang, const mltc_node_t *n)
{
    const mltc_lang_t *l = &cat->langs[lang];
    mltc_node_t *pl;
    int idx, k;

    if (!strcmp(n->name, "lang"))
        return text_node(l->code, strlen(l->code), n->pos);
    if (!strcmp(n->name, "dir"))
        return text_node(l->dir, strlen(l->dir), n->pos);
    idx = find_src(cat, n->name);
    if (l->nforms[idx] == 1)
        return form_nodes(l->forms[idx][0], n);
    pl = mltc_alloc(sizeof(*pl));
    pl->kind = MLTC_N_PLURAL;
    pl->pos = n->pos;
    pl->name = bound(n, cat->src[idx].count);
    pl->lang = cat->langs[l->rule[idx]].ident;
    pl->nforms = l->nforms[idx];
    for (k = 0; k < pl->nforms; k++)
        pl->forms[k] = form_nodes(l->forms[idx][k], n);
    return pl;
}

mltc_node_t *mltc_msg_expand(const mltc_catalog_t *cat, int lang, const mltc_node_t *n)
{
    mltc_node_t *head = NULL, **tail = &head, *c;

    for (; n; n = n->next) {
        if (n->kind == MLTC_N_MSG) {
            *tail = expand_msg(cat, lang, n);
        } else {
            c = mltc_alloc(sizeof(*c));
            *c = *n;
            c->next = NULL;
            if (n->kind == MLTC_N_IF) {
                c->then = mltc_msg_expand(cat, lang, n->then);
                c->els = mltc_msg_expand(cat, lang, n->els);
            }
            *tail = c;
        }
        while (*tail)
            tail = &(*tail)->next;
    }
    return head;
}
