/* mltc: reading a template into a tree.
 *
 * Text is copied verbatim except around a "standalone" control tag, one that
 * is alone on its line but for spaces and tabs: that whole line, newline
 * included, is dropped, so directives and {{if}} lines leave no blank lines
 * (the text email depends on it). Values never do this. */
#include "mltc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef enum {
    TK_EOF, TK_TEXT, TK_COMMENT, TK_VALUE, TK_RAW, TK_IF, TK_ELSE, TK_END,
    TK_PARAMS, TK_LAYOUT, TK_BLOCK, TK_SLOT, TK_FORMAT, TK_MSG
} tk_kind_t;

typedef struct token {
    tk_kind_t kind;
    mltc_pos_t pos;
    const char *text;                 /* TEXT */
    size_t len;
    const char *args[MLTC_MAX_PARAMS];
    const char *binds[MLTC_MAX_PARAMS];   /* {{t key ph=param}}: args[i]=ph, binds[i]=param */
    mltc_pos_t argpos[MLTC_MAX_PARAMS];
    int nargs;
} token_t;

typedef struct keyword {
    const char *word;
    tk_kind_t kind;
    int min, max;                     /* number of names after the keyword */
} keyword_t;

static const keyword_t keywords[] = {
    { "raw", TK_RAW, 1, 1 },          { "if", TK_IF, 1, 1 },
    { "else", TK_ELSE, 0, 0 },        { "end", TK_END, 0, 0 },
    { "params", TK_PARAMS, 1, MLTC_MAX_PARAMS }, { "layout", TK_LAYOUT, 1, 1 },
    { "block", TK_BLOCK, 1, 1 },      { "slot", TK_SLOT, 1, 1 },
    { "format", TK_FORMAT, 1, 1 },    { "t", TK_MSG, 1, MLTC_MAX_PARAMS },
};

/* Names become C struct fields: no C keyword may be one. */
static const char *const c_keywords[] = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double",
    "else", "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long",
    "register", "restrict", "return", "short", "signed", "sizeof", "static", "struct",
    "switch", "typedef", "union", "unsigned", "void", "volatile", "while", "asm",
    "typeof", "bool", "true", "false", NULL
};

typedef struct lexer {
    const char *path;
    const char *src;
    size_t len;
    size_t off;                       /* next unread byte */
    size_t at;                        /* line/col cache: they describe offset at */
    int line;
    int col;
    token_t peek;                     /* a tag already read past its text */
    int have_peek;
    size_t peek_end;                  /* where to resume after the peeked tag */
} lexer_t;

/* Position of offset off; columns count characters (UTF-8 lead bytes). */
static mltc_pos_t lx_pos(lexer_t *lx, size_t off)
{
    mltc_pos_t p;

    if (off < lx->at) {
        lx->at = 0;
        lx->line = 1;
        lx->col = 1;
    }
    for (; lx->at < off; lx->at++) {
        unsigned char c = (unsigned char)lx->src[lx->at];

        if (c == '\n') {
            lx->line++;
            lx->col = 1;
        } else if ((c & 0xC0) != 0x80) {
            lx->col++;
        }
    }
    p.file = lx->path;
    p.line = lx->line;
    p.col = lx->col;
    return p;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

static int is_name(const char *s, size_t n)
{
    size_t i;

    if (n == 0 || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
        return 0;
    for (i = 1; i < n; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return 0;
    }
    return 1;
}

static int is_reserved(const char *name)
{
    size_t i;

    for (i = 0; c_keywords[i]; i++) {
        if (!strcmp(c_keywords[i], name))
            return 1;
    }
    for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
        if (!strcmp(keywords[i].word, name))
            return 1;
    }
    return 0;
}

/* One word of a tag: a name, checked. Values become C fields, so C's
 * keywords and our own are not values; other names (layouts, blocks) are
 * free. */
static const char *lx_name(lexer_t *lx, size_t off, size_t n, const char *what, int value)
{
    char *name;

    if (!is_name(lx->src + off, n))
        mltc_fail(lx_pos(lx, off), "expected %s, found '%.*s'", what, (int)n, lx->src + off);
    name = mltc_strndup(lx->src + off, n);
    if (value && is_reserved(name))
        mltc_fail(lx_pos(lx, off), "expected %s, found the reserved word '%s'", what, name);
    return name;
}

static const keyword_t *find_keyword(const char *s, size_t n)
{
    size_t i;

    for (i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++) {
        if (strlen(keywords[i].word) == n && !memcmp(keywords[i].word, s, n))
            return &keywords[i];
    }
    return NULL;
}

/* {{"literal"}}: text that the tag syntax would otherwise swallow. */
static void lx_literal(lexer_t *lx, size_t b, size_t e, token_t *t)
{
    const char *q = memchr(lx->src + b + 1, '"', e - b - 1);
    size_t after;

    if (!q)
        mltc_fail(lx_pos(lx, e), "expected '\"' to end the literal");
    after = (size_t)(q - lx->src) + 1;
    while (after < e && is_space(lx->src[after]))
        after++;
    if (after < e)
        mltc_fail(lx_pos(lx, after), "expected '}}' after the literal");
    t->kind = TK_TEXT;
    t->text = lx->src + b + 1;
    t->len = (size_t)(q - lx->src) - b - 1;
}

/* The words of a tag's content [b, e). */
static void lx_words(lexer_t *lx, size_t b, size_t e, token_t *t)
{
    const keyword_t *kw = NULL;
    size_t i = b, w;
    int nwords = 0;

    for (;;) {
        while (i < e && is_space(lx->src[i]))
            i++;
        if (i == e)
            break;
        for (w = i; i < e && !is_space(lx->src[i]); i++)
            ;
        if (nwords++ == 0) {
            kw = find_keyword(lx->src + w, i - w);
            if (kw) {
                t->kind = kw->kind;
                continue;
            }
            t->kind = TK_VALUE;
            t->args[t->nargs] = lx_name(lx, w, i - w, "a value name (lowercase letters, "
                                        "digits, '_') or a keyword (if, else, end, raw, params, "
                                        "layout, block, slot, format)", 1);
            t->argpos[t->nargs++] = lx_pos(lx, w);
            continue;
        }
        if (!kw || t->nargs == kw->max)
            mltc_fail(lx_pos(lx, w), "expected '}}', found '%.*s'", (int)(i - w), lx->src + w);
        if (kw->kind == TK_MSG && t->nargs > 0) {
            const char *eq = memchr(lx->src + w, '=', i - w);
            size_t k = eq ? (size_t)(eq - lx->src) : i;

            if (!eq)
                mltc_fail(lx_pos(lx, w), "expected PLACEHOLDER=PARAM, found '%.*s'",
                          (int)(i - w), lx->src + w);
            t->args[t->nargs] = lx_name(lx, w, k - w, "a placeholder name", 0);
            t->binds[t->nargs] = lx_name(lx, k + 1, i - k - 1, "a param name", 1);
            t->argpos[t->nargs++] = lx_pos(lx, w);
            continue;
        }
        t->args[t->nargs] = lx_name(lx, w, i - w, "a name (lowercase letters, digits, '_')",
                                    kw->kind == TK_RAW || kw->kind == TK_IF
                                    || kw->kind == TK_PARAMS);
        t->argpos[t->nargs++] = lx_pos(lx, w);
    }
    if (nwords == 0)
        mltc_fail(lx_pos(lx, b), "empty tag: expected a value name or a keyword");
    if (kw && t->nargs < kw->min)
        mltc_fail(lx_pos(lx, e), "expected a name after '%s'", kw->word);
}

/* {{! comment }}: may span lines and may quote tags, {{! like {{this}} }},
 * so it ends at the "}}" that balances its "{{". */
static size_t lx_comment(lexer_t *lx, size_t b, token_t *t)
{
    const char *s = lx->src;
    int depth = 1;

    t->kind = TK_COMMENT;
    for (; b + 1 < lx->len; b++) {
        if (s[b] == '{' && s[b + 1] == '{') {
            depth++;
            b++;
        } else if (s[b] == '}' && s[b + 1] == '}') {
            b++;
            if (--depth == 0)
                return b + 1;
        }
    }
    mltc_fail(t->pos, "unterminated comment: expected '}}'");
}

/* Reads the tag at off ("{{"); returns the offset just past its "}}". */
static size_t lx_tag(lexer_t *lx, size_t off, token_t *t)
{
    const char *s = lx->src;
    size_t b = off + 2, e;

    memset(t, 0, sizeof(*t));
    t->pos = lx_pos(lx, off);
    if (b < lx->len && s[b] == '!')
        return lx_comment(lx, b, t);
    for (e = b; e < lx->len && s[e] != '\n' && !(s[e] == '}' && s[e + 1] == '}'); e++)
        ;
    if (e == lx->len || s[e] == '\n')
        mltc_fail(lx_pos(lx, e), "expected '}}' to close the tag opened at %d:%d",
                  t->pos.line, t->pos.col);
    while (b < e && is_space(s[b]))
        b++;
    if (b < e && s[b] == '"')
        lx_literal(lx, b, e, t);
    else
        lx_words(lx, b, e, t);
    return e + 2;
}

static int is_control(tk_kind_t k)
{
    return k != TK_VALUE && k != TK_RAW && k != TK_TEXT && k != TK_EOF && k != TK_MSG;
}

/* If the tag [b, e) is alone on its line, returns where its line starts
 * and sets *resume past the line's end; else returns b. */
static size_t lx_standalone(lexer_t *lx, size_t b, size_t e, size_t *resume)
{
    size_t start = b, end = e;

    while (start > lx->off && is_space(lx->src[start - 1]))
        start--;
    if (start > 0 && lx->src[start - 1] != '\n')
        return b;
    while (end < lx->len && is_space(lx->src[end]))
        end++;
    if (end < lx->len && lx->src[end] == '\r' && end + 1 < lx->len && lx->src[end + 1] == '\n')
        end++;
    if (end < lx->len && lx->src[end] != '\n')
        return b;
    *resume = end < lx->len ? end + 1 : end;
    return start;
}

static void lx_next(lexer_t *lx, token_t *t)
{
    const char *open;
    size_t b, text_end;
    mltc_pos_t text_pos;

    if (lx->have_peek) {
        *t = lx->peek;
        lx->have_peek = 0;
        lx->off = lx->peek_end;
        return;
    }
    if (lx->off >= lx->len) {
        memset(t, 0, sizeof(*t));
        t->kind = TK_EOF;
        t->pos = lx_pos(lx, lx->len);
        return;
    }
    text_pos = lx_pos(lx, lx->off);
    open = strstr(lx->src + lx->off, "{{");
    b = open ? (size_t)(open - lx->src) : lx->len;
    text_end = b;
    if (open) {
        lx->peek_end = lx_tag(lx, b, &lx->peek);
        lx->have_peek = 1;
        if (is_control(lx->peek.kind))
            text_end = lx_standalone(lx, b, lx->peek_end, &lx->peek_end);
    }
    if (text_end == lx->off) {
        lx_next(lx, t);
        return;
    }
    memset(t, 0, sizeof(*t));
    t->kind = TK_TEXT;
    t->pos = text_pos;
    t->text = lx->src + lx->off;
    t->len = text_end - lx->off;
    lx->off = b;
}

static char *read_file(const char *path, size_t *len)
{
    mltc_pos_t at = { path, 1, 1 };
    FILE *f = fopen(path, "rb");
    char *buf, *copy;
    size_t cap = 4096, n = 0, r;

    if (!f)
        mltc_fail(at, "cannot open: %s", strerror(errno));
    buf = malloc(cap);
    while (buf && (r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += r;
        if (n + 1 == cap)
            buf = realloc(buf, cap *= 2);
    }
    if (!buf || ferror(f))
        mltc_fail(at, "cannot read: %s", buf ? strerror(errno) : "out of memory");
    fclose(f);
    copy = mltc_strndup(buf, n);          /* freed with everything else at exit */
    free(buf);
    *len = n;
    return copy;
}

/* Templates are UTF-8 text: NUL or ill-formed bytes are a mistake. */
static void check_encoding(lexer_t *lx)
{
    const unsigned char *s = (const unsigned char *)lx->src;
    size_t i = 0, need, k;

    while (i < lx->len) {
        unsigned c = s[i];

        need = c < 0x80 ? 0 : c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2
             : c >= 0xF0 && c <= 0xF4 ? 3 : 9;
        if (c == 0)
            mltc_fail(lx_pos(lx, i), "expected UTF-8 text, found a NUL byte");
        if (need == 9)
            mltc_fail(lx_pos(lx, i), "expected UTF-8 text, found byte 0x%02X", c);
        for (k = 1; k <= need; k++) {
            if (i + k >= lx->len || (s[i + k] & 0xC0) != 0x80)
                mltc_fail(lx_pos(lx, i), "expected UTF-8 text, found an ill-formed sequence");
        }
        i += need + 1;
    }
}

/* ---- parser ---- */

typedef enum { IN_TOP, IN_THEN, IN_ELSE, IN_BLOCK } scope_t;

typedef struct parser {
    lexer_t lx;
    mltc_tpl_t *tpl;
} parser_t;

static mltc_node_t *new_node(mltc_kind_t kind, mltc_pos_t pos)
{
    mltc_node_t *n = mltc_alloc(sizeof(*n));

    n->kind = kind;
    n->pos = pos;
    return n;
}

static const char *tk_word(const token_t *t)
{
    static const char *const w[] = {
        "end of file", "text", "comment", "value", "raw", "if", "else", "end",
        "params", "layout", "block", "slot", "format", "t"
    };
    return w[t->kind];
}

static void parse_directive(parser_t *ps, const token_t *t, scope_t scope)
{
    mltc_tpl_t *tpl = ps->tpl;
    mltc_pos_t *seen = t->kind == TK_PARAMS ? &tpl->params_pos
                     : t->kind == TK_LAYOUT ? &tpl->layout_pos : &tpl->format_pos;
    int i, j;

    if (scope != IN_TOP)
        mltc_fail(t->pos, "{{%s}} belongs at the top level, not inside {{if}} or {{block}}",
                  tk_word(t));
    if (seen->line)
        mltc_fail(t->pos, "second {{%s}}: expected one per template (the first is at %d:%d)",
                  tk_word(t), seen->line, seen->col);
    *seen = t->pos;
    if (t->kind == TK_LAYOUT) {
        tpl->layout = t->args[0];
    } else if (t->kind == TK_FORMAT) {
        if (strcmp(t->args[0], "html") && strcmp(t->args[0], "text"))
            mltc_fail(t->argpos[0], "expected 'html' or 'text' after 'format', found '%s'",
                      t->args[0]);
        tpl->format = strcmp(t->args[0], "text") ? MLTC_HTML : MLTC_TEXT;
    } else {
        for (i = 0; i < t->nargs; i++) {
            for (j = 0; j < i; j++) {
                if (!strcmp(t->args[i], t->args[j]))
                    mltc_fail(t->argpos[i], "param '%s' is declared twice", t->args[i]);
            }
            tpl->params[i] = t->args[i];
            tpl->param_pos[i] = t->argpos[i];
        }
        tpl->nparams = t->nargs;
    }
}

static mltc_node_t *parse_list(parser_t *ps, scope_t scope, const token_t *opener,
                               token_t *closer);

static mltc_node_t *parse_if(parser_t *ps, const token_t *t)
{
    mltc_node_t *n = new_node(MLTC_N_IF, t->pos);
    token_t closer;

    n->name = t->args[0];
    n->then = parse_list(ps, IN_THEN, t, &closer);
    if (closer.kind == TK_ELSE)
        n->els = parse_list(ps, IN_ELSE, t, &closer);
    return n;
}

/* {{t key ph=param ...}}: the bindings given; mltc_msg_bind adds the rest. */
static mltc_node_t *parse_msg(const token_t *t)
{
    mltc_node_t *n = new_node(MLTC_N_MSG, t->pos);
    int i, j;

    n->name = t->args[0];
    n->ph = mltc_alloc(sizeof(char *) * (size_t)t->nargs);
    n->bind = mltc_alloc(sizeof(char *) * (size_t)t->nargs);
    for (i = 1; i < t->nargs; i++) {
        for (j = 0; j < n->nbind; j++) {
            if (!strcmp(n->ph[j], t->args[i]))
                mltc_fail(t->argpos[i], "placeholder '%s' is bound twice", t->args[i]);
        }
        n->ph[n->nbind] = t->args[i];
        n->bind[n->nbind++] = t->binds[i];
    }
    return n;
}

static void parse_block(parser_t *ps, const token_t *t)
{
    mltc_block_t *b, **tail;
    token_t closer;

    for (tail = &ps->tpl->blocks; *tail; tail = &(*tail)->next) {
        if (!strcmp((*tail)->name, t->args[0]))
            mltc_fail(t->pos, "block '%s' is defined twice (first at %d:%d)", t->args[0],
                      (*tail)->pos.line, (*tail)->pos.col);
    }
    b = mltc_alloc(sizeof(*b));
    b->name = t->args[0];
    b->pos = t->pos;
    b->body = parse_list(ps, IN_BLOCK, t, &closer);
    *tail = b;
}

/* Fails on a token that cannot close or continue the current scope. */
static void check_closer(const token_t *t, scope_t scope, const token_t *opener)
{
    if (t->kind == TK_EOF && scope == IN_TOP)
        return;
    if (t->kind == TK_END && scope != IN_TOP)
        return;
    if (t->kind == TK_ELSE && scope == IN_THEN)
        return;
    if (t->kind == TK_EOF)
        mltc_fail(t->pos, "expected {{end}} to close {{%s %s}} opened at %d:%d, "
                  "found end of file", tk_word(opener), opener->args[0],
                  opener->pos.line, opener->pos.col);
    if (scope == IN_TOP)
        mltc_fail(t->pos, "unexpected {{%s}}: no {{if}} or {{block}} is open", tk_word(t));
    mltc_fail(t->pos, "unexpected {{else}}: expected {{end}} to close {{%s %s}} "
              "opened at %d:%d", tk_word(opener), opener->args[0],
              opener->pos.line, opener->pos.col);
}

static mltc_node_t *parse_list(parser_t *ps, scope_t scope, const token_t *opener,
                               token_t *closer)
{
    mltc_node_t *head = NULL, **tail = &head, *n;
    token_t *t = mltc_alloc(sizeof(*t));    /* big; keep it off the stack */

    for (;;) {
        lx_next(&ps->lx, t);
        n = NULL;
        switch (t->kind) {
        case TK_TEXT:
            n = new_node(MLTC_N_TEXT, t->pos);
            n->text = t->text;
            n->len = t->len;
            break;
        case TK_VALUE:
        case TK_RAW:
            n = new_node(MLTC_N_VALUE, t->pos);
            n->name = t->args[0];
            n->raw = t->kind == TK_RAW;
            break;
        case TK_IF:
            n = parse_if(ps, t);
            break;
        case TK_MSG:
            n = parse_msg(t);
            break;
        case TK_SLOT:
            n = new_node(MLTC_N_SLOT, t->pos);
            n->name = t->args[0];
            if (!ps->tpl->first_slot.line)
                ps->tpl->first_slot = t->pos;
            break;
        case TK_BLOCK:
            if (scope != IN_TOP)
                mltc_fail(t->pos, "{{block}} belongs at the top level: blocks do not nest "
                          "and do not go inside {{if}}");
            parse_block(ps, t);
            break;
        case TK_PARAMS:
        case TK_LAYOUT:
        case TK_FORMAT:
            parse_directive(ps, t, scope);
            break;
        case TK_COMMENT:
            break;
        default:
            check_closer(t, scope, opener);
            *closer = *t;
            return head;
        }
        if (n) {
            *tail = n;
            tail = &n->next;
        }
    }
}

static const char *tpl_name(const char *path)
{
    mltc_pos_t at = { path, 1, 1 };
    const char *base = strrchr(path, '/');
    size_t n;

    base = base ? base + 1 : path;
    n = strlen(base);
    if (n < 5 || strcmp(base + n - 4, ".tpl"))
        mltc_fail(at, "expected a file name ending in .tpl");
    if (!is_name(base, n - 4))
        mltc_fail(at, "expected a file name of lowercase letters, digits and '_' "
                  "(it names the C function)");
    return mltc_strndup(base, n - 4);
}

mltc_tpl_t *mltc_parse_file(const char *path)
{
    parser_t *ps = mltc_alloc(sizeof(*ps));
    token_t closer;

    ps->tpl = mltc_alloc(sizeof(*ps->tpl));
    ps->tpl->path = path;
    ps->tpl->name = tpl_name(path);
    ps->tpl->format = MLTC_HTML;
    ps->lx.path = path;
    ps->lx.src = read_file(path, &ps->lx.len);
    ps->lx.line = 1;
    ps->lx.col = 1;
    check_encoding(&ps->lx);
    ps->tpl->body = parse_list(ps, IN_TOP, NULL, &closer);
    ps->tpl->end_pos = closer.pos;
    return ps->tpl;
}
