/* mltc: choosing each value's escaper from where it lands in the HTML.
 *
 * A small version of the HTML tokenizer (WHATWG 13.2.5) runs over the static
 * text of the inlined page. At each value it says where we are: text, a
 * quoted attribute value (and which attribute), or a place where no escaping
 * makes a value safe (script or style, unquoted attributes, event handlers,
 * inside a tag or a comment), which is an error unless the value is raw.
 *
 * After an {{if}} whose branches end in different places (<input{{if a}}
 * disabled{{end}}> leaves one inside an attribute name), the walk follows
 * each place until the text brings them together again; a value reached
 * while they differ must get the same escaper in all of them. */
#include "mltc.h"

#include <string.h>

typedef enum {
    H_TEXT, H_LT, H_TAGNAME, H_ENDTAG_OPEN, H_ENDTAG, H_BEFORE_ATTR, H_ATTRNAME,
    H_AFTER_ATTRNAME, H_BEFORE_VALUE, H_VALUE_DQ, H_VALUE_SQ, H_VALUE_UNQ, H_AFTER_VALUE,
    H_SELFCLOSE, H_BANG, H_BANG_DASH, H_COMMENT, H_DECL, H_RAWTEXT, H_RCDATA
} hstate_t;

/* What a value in an attribute would mean. */
typedef enum { A_NORMAL, A_URL, A_EVENT, A_STYLE, A_SRCSET, A_SRCDOC } akind_t;

typedef struct hctx {
    hstate_t st;
    char tag[16];            /* lowercase */
    size_t taglen;
    char attr[32];
    size_t attrlen;
    akind_t akind;
    int at_start;            /* nothing yet in this attribute value */
    int dashes;              /* comment: '-' just seen */
    size_t endmatch;         /* raw text: 1 after '<', 2 + n after "</" and n name chars */
} hctx_t;

const char *const mltc_esc_names[MLTC_ESC_COUNT] = {
    "none", "html", "attr", "url", "url_part", "text", "raw"
};

static const char *const url_attrs[] = {
    "href", "src", "action", "formaction", "poster", "cite", "background", "longdesc",
    "usemap", "manifest", "icon", "codebase", "data", "xlink:href", "profile", "classid",
    "archive", "ping", "lowsrc", "dynsrc", "xmlns", NULL
};

/* Elements whose content is code: nothing escapes a value into it safely. */
static const char *const rawtext_tags[] = { "script", "style", NULL };
/* Elements whose content the parser does not read as markup; an HTML-escaped
 * value cannot close them, so they take the text escaper. */
static const char *const rcdata_tags[] = {
    "title", "textarea", "xmp", "iframe", "noembed", "noframes", "noscript", "plaintext", NULL
};

static int in_list(const char *const *list, const char *s)
{
    for (; *list; list++) {
        if (!strcmp(*list, s))
            return 1;
    }
    return 0;
}

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static int is_alpha(unsigned char c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static char lower(unsigned char c)
{
    return (char)(c >= 'A' && c <= 'Z' ? c | 0x20 : c);
}

/* A name too long for buf keeps its prefix: still longer than any name we
 * look for, and still "on..." if it is an event handler. */
static void append(char *buf, size_t cap, size_t *len, unsigned char c)
{
    if (*len + 1 < cap) {
        buf[*len] = lower(c);
        buf[*len + 1] = '\0';
        (*len)++;
    }
}

static void start_name(char *buf, size_t *len, unsigned char c)
{
    buf[0] = lower(c);
    buf[1] = '\0';
    *len = 1;
}

static akind_t classify(const char *attr)
{
    if (attr[0] == 'o' && attr[1] == 'n')
        return A_EVENT;
    if (!strcmp(attr, "style"))
        return A_STYLE;
    if (!strcmp(attr, "srcset") || !strcmp(attr, "imagesrcset"))
        return A_SRCSET;
    if (!strcmp(attr, "srcdoc"))
        return A_SRCDOC;
    return in_list(url_attrs, attr) ? A_URL : A_NORMAL;
}

static void tag_end(hctx_t *h)
{
    h->endmatch = 0;
    if (in_list(rawtext_tags, h->tag))
        h->st = H_RAWTEXT;
    else if (in_list(rcdata_tags, h->tag))
        h->st = H_RCDATA;
    else
        h->st = H_TEXT;
}

/* Raw text and RCDATA end only at "</tag" followed by space, '/' or '>'. */
static void step_raw(hctx_t *h, unsigned char c)
{
    if (h->endmatch >= 2 && h->endmatch - 2 == strlen(h->tag)) {
        h->endmatch = 0;
        if (c == '>') {
            h->st = H_TEXT;
            return;
        }
        if (is_ws(c) || c == '/') {
            h->st = H_ENDTAG;
            return;
        }
    }
    if (h->endmatch == 1 && c == '/')
        h->endmatch = 2;
    else if (h->endmatch >= 2 && lower(c) == h->tag[h->endmatch - 2])
        h->endmatch++;
    else
        h->endmatch = c == '<';
}

/* Inside a start tag, between attributes: shared by several states. */
static void step_in_tag(hctx_t *h, unsigned char c)
{
    if (is_ws(c)) {
        h->st = H_BEFORE_ATTR;
    } else if (c == '/') {
        h->st = H_SELFCLOSE;
    } else if (c == '>') {
        tag_end(h);
    } else {
        h->st = H_ATTRNAME;
        start_name(h->attr, &h->attrlen, c);
    }
}

static void step(hctx_t *h, unsigned char c)
{
    switch (h->st) {
    case H_TEXT:
        if (c == '<')
            h->st = H_LT;
        break;
    case H_LT:
        if (is_alpha(c)) {
            h->st = H_TAGNAME;
            start_name(h->tag, &h->taglen, c);
        } else {
            h->st = c == '/' ? H_ENDTAG_OPEN : c == '!' ? H_BANG : c == '?' ? H_DECL
                  : c == '<' ? H_LT : H_TEXT;
        }
        break;
    case H_TAGNAME:
        if (is_ws(c) || c == '/' || c == '>')
            step_in_tag(h, c);
        else
            append(h->tag, sizeof(h->tag), &h->taglen, c);
        break;
    case H_ENDTAG_OPEN:
        h->st = is_alpha(c) ? H_ENDTAG : c == '>' ? H_TEXT : H_DECL;
        break;
    case H_ENDTAG:
    case H_DECL:
        if (c == '>')
            h->st = H_TEXT;
        break;
    case H_BEFORE_ATTR:
    case H_AFTER_VALUE:
    case H_SELFCLOSE:
        step_in_tag(h, c);
        break;
    case H_ATTRNAME:
    case H_AFTER_ATTRNAME:
        if (c == '=') {
            h->st = H_BEFORE_VALUE;
            h->akind = classify(h->attr);
        } else if (is_ws(c)) {
            h->st = H_AFTER_ATTRNAME;
        } else if (h->st == H_ATTRNAME && c != '/' && c != '>') {
            append(h->attr, sizeof(h->attr), &h->attrlen, c);
        } else {
            step_in_tag(h, c);
        }
        break;
    case H_BEFORE_VALUE:
        if (is_ws(c))
            break;
        h->at_start = c == '"' || c == '\'';
        h->st = c == '"' ? H_VALUE_DQ : c == '\'' ? H_VALUE_SQ : H_VALUE_UNQ;
        if (c == '>')
            tag_end(h);
        break;
    case H_VALUE_DQ:
    case H_VALUE_SQ:
        if (c == (h->st == H_VALUE_DQ ? '"' : '\''))
            h->st = H_AFTER_VALUE;
        else
            h->at_start = 0;
        break;
    case H_VALUE_UNQ:
        if (is_ws(c))
            h->st = H_BEFORE_ATTR;
        else if (c == '>')
            tag_end(h);
        break;
    case H_BANG:
    case H_BANG_DASH:
        if (c == '-')
            h->st = h->st == H_BANG ? H_BANG_DASH : H_COMMENT;
        else
            h->st = c == '>' ? H_TEXT : H_DECL;
        h->dashes = 0;
        break;
    case H_COMMENT:
        if (c == '>' && h->dashes >= 2)
            h->st = H_TEXT;
        h->dashes = c == '-' ? h->dashes + 1 : 0;
        break;
    case H_RAWTEXT:
    case H_RCDATA:
        step_raw(h, c);
        break;
    }
}

static const char *describe(const hctx_t *h)
{
    static char buf[128];

    switch (h->st) {
    case H_TEXT:
        return "HTML text";
    case H_RCDATA:
        snprintf(buf, sizeof(buf), "the text of <%s>", h->tag);
        return buf;
    case H_RAWTEXT:
        snprintf(buf, sizeof(buf), "a <%s> element", h->tag);
        return buf;
    case H_VALUE_DQ:
    case H_VALUE_SQ:
        snprintf(buf, sizeof(buf), "the quoted value of attribute '%s' of <%s>", h->attr,
                 h->tag);
        return buf;
    case H_BEFORE_VALUE:
    case H_VALUE_UNQ:
        snprintf(buf, sizeof(buf), "an unquoted value of attribute '%s' of <%s>", h->attr,
                 h->tag);
        return buf;
    case H_BANG_DASH:
    case H_COMMENT:
        return "an HTML comment";
    case H_BANG:
    case H_DECL:
        return "a <!...> or <?...> declaration";
    case H_LT:
        return "a tag name (right after '<')";
    case H_ENDTAG_OPEN:
    case H_ENDTAG:
        return "an end tag";
    default:
        snprintf(buf, sizeof(buf), "the tag <%s>, outside any quoted attribute value", h->tag);
        return buf;
    }
}

/* Set while several places are possible: says which {{if}} made them. */
static char note[128];

static void reject(const mltc_node_t *n, const hctx_t *h, const char *why)
{
    mltc_fail(n->pos, "value '%s' in %s%s%s: expected {{raw %s}} if it is trusted markup",
              n->name, describe(h), why, note, n->name);
}

static mltc_esc_t attr_escaper(const mltc_node_t *n, const hctx_t *h)
{
    switch (h->akind) {
    case A_NORMAL:
        return MLTC_ESC_ATTR;
    case A_URL:
        return h->at_start ? MLTC_ESC_URL : MLTC_ESC_URL_PART;
    case A_EVENT:
        reject(n, h, ", an event handler (script)");
        break;
    case A_STYLE:
        reject(n, h, " (CSS)");
        break;
    case A_SRCSET:
        reject(n, h, " (a list of URLs)");
        break;
    case A_SRCDOC:
        reject(n, h, " (a whole document)");
        break;
    }
    return MLTC_ESC_NONE;
}

static mltc_esc_t choose(const mltc_node_t *n, const hctx_t *h)
{
    switch (h->st) {
    case H_TEXT:
    case H_RCDATA:
        return MLTC_ESC_HTML;
    case H_VALUE_DQ:
    case H_VALUE_SQ:
        return attr_escaper(n, h);
    case H_BEFORE_VALUE:
    case H_VALUE_UNQ:
        mltc_fail(n->pos, "value '%s' in %s%s: expected quotes around it, as %s=\"{{%s}}\" "
                  "(or {{raw %s}} if it is trusted markup)", n->name, describe(h), note,
                  h->attr, n->name, n->name);
    case H_RAWTEXT:
        mltc_fail(n->pos, "value '%s' in %s%s: no escaping makes a value safe in script or "
                  "style; expected {{raw %s}} if it is trusted code", n->name, describe(h),
                  note, n->name);
    default:
        reject(n, h, "");
        break;
    }
    return MLTC_ESC_NONE;
}

/* Only what matters in a's state: the tag after </p> is no part of text. */
static hctx_t canonical(const hctx_t *a)
{
    hctx_t c;
    int in_tag = a->st >= H_TAGNAME && a->st <= H_SELFCLOSE && a->st != H_ENDTAG_OPEN
                 && a->st != H_ENDTAG;
    int in_attr = a->st >= H_ATTRNAME && a->st <= H_VALUE_UNQ;
    int raw = a->st == H_RAWTEXT || a->st == H_RCDATA;

    memset(&c, 0, sizeof(c));
    c.st = a->st;
    if (in_tag || raw)
        memcpy(c.tag, a->tag, sizeof(c.tag));
    if (in_attr) {
        memcpy(c.attr, a->attr, sizeof(c.attr));
        c.akind = a->akind;
    }
    c.endmatch = raw ? a->endmatch : 0;
    c.dashes = a->st == H_COMMENT ? a->dashes : 0;
    return c;
}

static int same_place(const hctx_t *a, const hctx_t *b)
{
    hctx_t x = canonical(a), y = canonical(b);

    return x.st == y.st && !strcmp(x.tag, y.tag) && !strcmp(x.attr, y.attr)
        && x.akind == y.akind && x.endmatch == y.endmatch && x.dashes == y.dashes;
}

#define MAX_PLACES 16

/* Where the walk may be: one place, or several after an {{if}}. */
typedef struct places {
    hctx_t h[MAX_PLACES];
    int n;
    const mltc_node_t *split;     /* the {{if}} that made n > 1 */
} places_t;

static void add_place(places_t *ps, const hctx_t *h)
{
    int i;

    for (i = 0; i < ps->n; i++) {
        if (same_place(&ps->h[i], h)) {
            /* After text in some branch, a URL value is not the URL's start. */
            ps->h[i].at_start = ps->h[i].at_start && h->at_start;
            return;
        }
    }
    if (ps->n == MAX_PLACES)
        mltc_fail(ps->split->pos, "too many different places after {{if %s}}: expected "
                  "branches that end where they begin", ps->split->name);
    ps->h[ps->n++] = *h;
}

static void set_note(const places_t *ps)
{
    note[0] = '\0';
    if (ps->n > 1)
        snprintf(note, sizeof(note), " (where one branch of {{if %s}} at %d:%d leads)",
                 ps->split->name, ps->split->pos.line, ps->split->pos.col);
}

static void walk_text_node(places_t *ps, const mltc_node_t *n)
{
    places_t out = *ps;
    size_t i;
    int k;

    for (k = 0; k < ps->n; k++) {
        for (i = 0; i < n->len; i++)
            step(&ps->h[k], (unsigned char)n->text[i]);
    }
    out.n = 0;
    for (k = 0; k < ps->n; k++)
        add_place(&out, &ps->h[k]);
    if (out.n == 1)
        out.split = NULL;
    *ps = out;
}

static void walk_value(places_t *ps, mltc_node_t *n)
{
    char first[128];
    mltc_esc_t e;
    int k;

    for (k = 0; k < ps->n && !n->raw; k++) {
        set_note(ps);
        e = choose(n, &ps->h[k]);
        if (k == 0) {
            n->esc = e;
            snprintf(first, sizeof(first), "%s", describe(&ps->h[k]));
        } else if ((e == MLTC_ESC_URL || e == MLTC_ESC_URL_PART)
                   && (n->esc == MLTC_ESC_URL || n->esc == MLTC_ESC_URL_PART)) {
            n->esc = MLTC_ESC_URL_PART;     /* percent-encoding is safe in both */
        } else if (e != n->esc) {
            mltc_fail(n->pos, "value '%s' is in %s or in %s, as {{if %s}} at %d:%d goes: "
                      "expected the branches to end in the same place", n->name, first,
                      describe(&ps->h[k]), ps->split->name, ps->split->pos.line,
                      ps->split->pos.col);
        }
    }
    if (n->raw)
        n->esc = MLTC_ESC_RAW;
    for (k = 0; k < ps->n; k++) {
        if (ps->h[k].st == H_VALUE_DQ || ps->h[k].st == H_VALUE_SQ)
            ps->h[k].at_start = 0;
    }
}

/* A catalog message: text (HTML text, where its tags are markup), the text
 * of <title> or <textarea>, or a plain quoted attribute; nowhere else. Its
 * static text is escaped at build time and its placeholders like values,
 * so afterwards the walk is where it was. */
static void walk_msg(places_t *ps, mltc_node_t *n)
{
    mltc_esc_t e;
    int k, markup;

    for (k = 0; k < ps->n; k++) {
        const hctx_t *h = &ps->h[k];

        set_note(ps);
        if (h->st == H_TEXT) {
            e = MLTC_ESC_HTML;
            markup = 1;
        } else if (h->st == H_RCDATA && h->endmatch == 0) {
            e = MLTC_ESC_HTML;
            markup = 0;
        } else if ((h->st == H_VALUE_DQ || h->st == H_VALUE_SQ) && h->akind == A_NORMAL) {
            e = MLTC_ESC_ATTR;
            markup = 0;
        } else {
            mltc_fail(n->pos, "message '%s' in %s%s: expected it in HTML text, in <title> or "
                      "<textarea>, or in a quoted attribute that is not a URL, script or style",
                      n->name, describe(h), note);
        }
        if (k > 0 && e != n->esc)
            mltc_fail(n->pos, "message '%s' is in %s or elsewhere, as {{if %s}} at %d:%d goes: "
                      "expected the branches to end in the same place", n->name, describe(h),
                      ps->split->name, ps->split->pos.line, ps->split->pos.col);
        n->esc = e;
        n->markup = k == 0 ? markup : n->markup && markup;
        if (h->st == H_VALUE_DQ || h->st == H_VALUE_SQ)
            ps->h[k].at_start = 0;
    }
}

static void walk(mltc_node_t *n, places_t *ps);

static void walk_if(mltc_node_t *n, places_t *ps)
{
    places_t then = *ps, els = *ps, out;
    int k;

    walk(n->then, &then);
    walk(n->els, &els);
    out = then;
    out.split = then.n > 1 ? then.split : els.n > 1 ? els.split : n;
    for (k = 0; k < els.n; k++)
        add_place(&out, &els.h[k]);
    if (out.n == 1)
        out.split = NULL;
    *ps = out;
}

static void walk(mltc_node_t *n, places_t *ps)
{
    for (; n; n = n->next) {
        switch (n->kind) {
        case MLTC_N_TEXT:
            walk_text_node(ps, n);
            break;
        case MLTC_N_VALUE:
            walk_value(ps, n);
            break;
        case MLTC_N_IF:
            walk_if(n, ps);
            break;
        case MLTC_N_MSG:
            walk_msg(ps, n);
            break;
        case MLTC_N_SLOT:
        case MLTC_N_PLURAL:
            break;
        }
    }
}

static void walk_text(mltc_node_t *n)
{
    for (; n; n = n->next) {
        if (n->kind == MLTC_N_VALUE)
            n->esc = n->raw ? MLTC_ESC_RAW : MLTC_ESC_TEXT;
        else if (n->kind == MLTC_N_MSG)
            n->esc = MLTC_ESC_TEXT;       /* markup 0: tags dropped */
        else if (n->kind == MLTC_N_IF) {
            walk_text(n->then);
            walk_text(n->els);
        }
    }
}

void mltc_contexts(mltc_node_t *body, mltc_format_t format, mltc_pos_t end)
{
    places_t *ps;
    int k;

    if (format == MLTC_TEXT) {
        walk_text(body);
        return;
    }
    ps = mltc_alloc(sizeof(*ps));
    ps->n = 1;
    ps->h[0].st = H_TEXT;
    walk(body, ps);
    for (k = 0; k < ps->n; k++) {
        set_note(ps);
        if (ps->h[k].st != H_TEXT)
            mltc_fail(end, "the page ends in %s%s: expected it to end in HTML text",
                      describe(&ps->h[k]), note);
    }
}
