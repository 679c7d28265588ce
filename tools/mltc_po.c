/* mltc: reading gettext PO (and POT) files.
 *
 * The subset of the format that msgfmt reads and translators' tools write:
 * comments ("#." extracted, "#," flags, "#:" references, "# " translator,
 * "#|" previous), msgctxt, msgid, msgid_plural, msgstr and msgstr[N], each a
 * C-like string that may go on over several lines of "...". Obsolete entries
 * ("#~") are skipped. Anything else is an error at its line. */
#include "mltc.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

typedef struct po_reader {
    const char *path;
    char *src;
    size_t len;
    size_t off;
    int line;
} po_reader_t;

static mltc_pos_t po_pos(const po_reader_t *r, size_t at)
{
    mltc_pos_t p = { r->path, r->line, 1 };
    size_t i = at;

    while (i > 0 && r->src[i - 1] != '\n')
        i--;
    p.col = (int)(at - i) + 1;
    return p;
}

static void po_slurp(po_reader_t *r)
{
    mltc_pos_t at = { r->path, 1, 1 };
    FILE *f = fopen(r->path, "rb");
    size_t cap = 8192, n = 0, got;
    char *buf;

    if (!f)
        mltc_fail(at, "cannot open: %s", strerror(errno));
    buf = mltc_alloc(cap);
    while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *bigger = mltc_alloc(cap * 2);
            memcpy(bigger, buf, n);
            buf = bigger;
            cap *= 2;
        }
    }
    if (ferror(f))
        mltc_fail(at, "cannot read: %s", strerror(errno));
    fclose(f);
    r->src = buf;
    r->len = n;
}

/* Checks that the file is UTF-8 with no NUL, as the templates are. */
static void po_check_utf8(const po_reader_t *r)
{
    const unsigned char *s = (const unsigned char *)r->src;
    size_t i = 0, need, k;
    int line = 1;

    while (i < r->len) {
        unsigned c = s[i];
        mltc_pos_t at = { r->path, line, 1 };

        need = c < 0x80 ? 0 : c >= 0xC2 && c <= 0xDF ? 1 : c >= 0xE0 && c <= 0xEF ? 2
             : c >= 0xF0 && c <= 0xF4 ? 3 : 9;
        if (c == 0 || need == 9)
            mltc_fail(at, "expected UTF-8 text, found byte 0x%02X", c);
        for (k = 1; k <= need; k++) {
            if (i + k >= r->len || (s[i + k] & 0xC0) != 0x80)
                mltc_fail(at, "expected UTF-8 text, found an ill-formed sequence");
        }
        line += c == '\n';
        i += need + 1;
    }
}

/* The line from r->off, without its newline; advances past it. */
static const char *po_line(po_reader_t *r, size_t *len, size_t *start)
{
    const char *s = r->src + r->off, *nl;

    if (r->off >= r->len)
        return NULL;
    nl = memchr(s, '\n', r->len - r->off);
    *start = r->off;
    *len = nl ? (size_t)(nl - s) : r->len - r->off;
    if (*len && s[*len - 1] == '\r')
        (*len)--;
    r->off += (nl ? (size_t)(nl - s) + 1 : r->len - r->off);
    r->line++;
    return s;
}

/* Appends the C-like string starting at s[0] == '"' to out; fails on
 * anything after the closing quote but spaces. */
static void po_string(const po_reader_t *r, size_t base, const char *s, size_t n, char **out,
                      size_t *outlen)
{
    size_t i = 1, cap = *outlen + n + 1;
    char *d = mltc_alloc(cap);
    mltc_pos_t at;

    memcpy(d, *out ? *out : "", *outlen);
    for (; i < n && s[i] != '"'; i++) {
        char c = s[i];

        if (c != '\\') {
            d[(*outlen)++] = c;
            continue;
        }
        if (++i == n)
            break;
        switch (s[i]) {
        case 'n': c = '\n'; break;
        case 't': c = '\t'; break;
        case 'r': c = '\r'; break;
        case '"': c = '"'; break;
        case '\\': c = '\\'; break;
        default:
            at = po_pos(r, base + i);
                    mltc_fail(at, "unknown escape '\\%c' in a string: expected \\n, \\t, \\\" or \\\\",
                      s[i]);
        }
        d[(*outlen)++] = c;
    }
    at = po_pos(r, base + i);
    if (i >= n)
        mltc_fail(at, "expected '\"' to end the string");
    for (i++; i < n; i++) {
        if (s[i] != ' ' && s[i] != '\t') {
            at = po_pos(r, base + i);
                    mltc_fail(at, "expected the end of the line after the string");
        }
    }
    d[*outlen] = '\0';
    *out = d;
}

static int po_starts(const char *s, size_t n, const char *word)
{
    size_t k = strlen(word);

    return n > k && !memcmp(s, word, k) && (s[k] == ' ' || s[k] == '\t');
}

typedef enum { F_NONE, F_CTXT, F_ID, F_PLURAL, F_STR } field_t;

typedef struct po_state {
    mltc_po_entry_t *e;       /* the entry being read, or NULL */
    field_t field;
    char *cur;                /* the string being read */
    size_t curlen;
    int index;                /* msgstr[index] */
    int fuzzy;
    const char *count;
    int entry_line;
} po_state_t;

static void po_store(po_state_t *st)
{
    mltc_po_entry_t *e = st->e;

    if (!e || st->field == F_NONE)
        return;
    if (st->field == F_CTXT)
        e->ctxt = st->cur;
    else if (st->field == F_ID)
        e->id = st->cur;
    else if (st->field == F_PLURAL)
        e->id_plural = st->cur;
    else
        e->str[st->index] = st->cur;
    st->cur = NULL;
    st->curlen = 0;
    st->field = F_NONE;
}

static void po_finish(po_reader_t *r, po_state_t *st, mltc_po_t *po, mltc_po_entry_t ***tail)
{
    mltc_po_entry_t *e = st->e;
    mltc_pos_t at = { r->path, st->entry_line, 1 };

    po_store(st);
    st->e = NULL;
    if (!e)
        return;
    if (!e->id)
        mltc_fail(at, "expected msgid in this entry");
    if (!e->nstr)
        mltc_fail(at, "expected msgstr in this entry");
    e->fuzzy = st->fuzzy;
    e->count = st->count;
    st->fuzzy = 0;
    st->count = NULL;
    if (!e->ctxt && !*e->id) {
        po->header = e->str[0] ? e->str[0] : "";
        po->header_pos = e->str_pos[0];
        return;
    }
    **tail = e;
    *tail = &e->next;
}

/* "#. count: NAME" names the placeholder a plural message counts by. */
static void po_comment(po_state_t *st, const char *s, size_t n)
{
    if (n >= 2 && s[1] == ',') {
        const char *f = s + 2, *end = s + n;
        for (; f < end; f++) {
            if ((size_t)(end - f) >= 5 && !memcmp(f, "fuzzy", 5))
                st->fuzzy = 1;
        }
    } else if (n > 10 && !memcmp(s, "#. count: ", 10)) {
        size_t k = n - 10;
        while (k && (s[10 + k - 1] == ' ' || s[10 + k - 1] == '\t'))
            k--;
        st->count = mltc_strndup(s + 10, k);
    }
}

static void po_keyword(po_reader_t *r, po_state_t *st, mltc_po_t *po, mltc_po_entry_t ***tail,
                       const char *s, size_t n, size_t start)
{
    field_t f;
    size_t k;
    int index = 0;
    mltc_pos_t at = po_pos(r, start);

    if (po_starts(s, n, "msgctxt"))
        f = F_CTXT, k = 7;
    else if (po_starts(s, n, "msgid_plural"))
        f = F_PLURAL, k = 12;
    else if (po_starts(s, n, "msgid"))
        f = F_ID, k = 5;
    else if (po_starts(s, n, "msgstr"))
        f = F_STR, k = 6;
    else if (n > 7 && !memcmp(s, "msgstr[", 7)) {
        f = F_STR;
        k = 7;
        if (s[k] < '0' || s[k] > '9' || s[k + 1] != ']')
            mltc_fail(at, "expected msgstr[N] with N from 0 to %d", MLTC_MAX_FORMS - 1);
        index = s[k] - '0';
        if (index >= MLTC_MAX_FORMS)
            mltc_fail(at, "msgstr[%d]: at most %d plural forms", index, MLTC_MAX_FORMS);
        k += 2;
    } else {
        mltc_fail(at, "expected a comment, msgctxt, msgid, msgid_plural or msgstr");
    }
    /* A new msgctxt or msgid after a msgstr starts the next entry. */
    if ((f == F_CTXT || f == F_ID) && st->e && st->e->nstr)
        po_finish(r, st, po, tail);
    po_store(st);
    if (!st->e) {
        if (f == F_STR || f == F_PLURAL)
            mltc_fail(at, "expected msgid before this");
        st->e = mltc_alloc(sizeof(*st->e));
        st->e->pos = at;
        st->entry_line = at.line;
    }
    if ((f == F_CTXT && (st->e->ctxt || st->e->id)) || (f == F_ID && st->e->id)
        || (f == F_PLURAL && (st->e->id_plural || !st->e->id)))
        mltc_fail(at, "unexpected keyword here: one msgctxt, msgid and msgid_plural per entry, "
                  "in that order");
    if (f == F_STR) {
        if (st->e->str[index] || index != st->e->nstr)
            mltc_fail(at, "expected msgstr[%d] here", st->e->nstr);
        st->e->str_indexed = s[6] == '[';
        st->e->str_pos[index] = at;
        st->e->nstr++;
    }
    while (k < n && (s[k] == ' ' || s[k] == '\t'))
        k++;
    if (k >= n || s[k] != '"') {
        at.col = (int)k + 1;
        mltc_fail(at, "expected a string in double quotes");
    }
    st->field = f;
    st->index = index;
    po_string(r, start + k, s + k, n - k, &st->cur, &st->curlen);
}

mltc_po_t *mltc_po_read(const char *path)
{
    po_reader_t r = { path, NULL, 0, 0, 0 };
    po_state_t st;
    mltc_po_t *po = mltc_alloc(sizeof(*po));
    mltc_po_entry_t **tail = &po->entries;
    const char *s;
    size_t n, start, k;

    memset(&st, 0, sizeof(st));
    po->path = path;
    po_slurp(&r);
    po_check_utf8(&r);
    while ((s = po_line(&r, &n, &start))) {
        for (k = 0; k < n && (s[k] == ' ' || s[k] == '\t'); k++)
            ;
        s += k;
        n -= k;
        start += k;
        if (n == 0) {
            po_finish(&r, &st, po, &tail);
        } else if (s[0] == '#') {
            if (st.e && st.e->nstr)
                po_finish(&r, &st, po, &tail);
            if (!st.e && !(n >= 2 && s[1] == '~'))      /* "#~": obsolete, ignored */
                po_comment(&st, s, n);
        } else if (s[0] == '"') {
            mltc_pos_t at = po_pos(&r, start);

            if (st.field == F_NONE)
                mltc_fail(at, "a string continues nothing: expected a keyword before it");
            po_string(&r, start, s, n, &st.cur, &st.curlen);
        } else {
            po_keyword(&r, &st, po, &tail, s, n, start);
        }
    }
    po_finish(&r, &st, po, &tail);
    return po;
}

const char *mltc_po_header(const mltc_po_t *po, const char *field)
{
    const char *h = po->header, *line, *end;
    size_t k = strlen(field);

    for (line = h; line && *line; line = end ? end + 1 : NULL) {
        end = strchr(line, '\n');
        if (!strncmp(line, field, k) && line[k] == ':') {
            const char *v = line + k + 1;
            size_t n = end ? (size_t)(end - v) : strlen(v);
            while (n && (*v == ' ' || *v == '\t'))
                v++, n--;
            while (n && (v[n - 1] == ' ' || v[n - 1] == '\t'))
                n--;
            return mltc_strndup(v, n);
        }
        if (!end)
            break;
    }
    return NULL;
}
