#include "ml_policy.h"

#include <apr_file_io.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <strings.h>

ml_policy_t *ml_policy_make(apr_pool_t *p)
{
    ml_policy_t *pol = apr_pcalloc(p, sizeof(*pol));

    pol->entries = apr_array_make(p, 4, sizeof(const char *));
    return pol;
}

static int ml_entry_char_ok(char c)
{
    return apr_isgraph(c) || (unsigned char)c >= 0x80;
}

const char *ml_policy_add(ml_policy_t *pol, const char *entry, apr_pool_t *p)
{
    const char *at, *s;
    char *low;

    if (strcmp(entry, "*") == 0) {
        pol->anyone = 1;
        return NULL;
    }
    for (s = entry; *s; s++)
        if (!ml_entry_char_ok(*s))
            return "an entry may not hold spaces or control characters";
    at = strchr(entry, '@');
    if (!at || strchr(at + 1, '@') || !at[1] || strchr(entry, ',') || strlen(entry) > 254)
        return "expected an address (ann@example.com), a domain (@example.com) or *";
    low = apr_pstrdup(p, entry);
    for (s = low; *s; s++)
        if ((unsigned char)*s < 0x80)
            *(char *)s = (char)apr_tolower(*s);
    *(const char **)apr_array_push(pol->entries) = low;
    return NULL;
}

const char *ml_policy_add_file(ml_policy_t *pol, const char *path, apr_pool_t *p)
{
    apr_file_t *f;
    char line[1024], ebuf[120];
    apr_status_t rv;
    int lineno = 0;

    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BUFFERED, 0, p);
    if (rv != APR_SUCCESS)
        return apr_psprintf(p, "%s: %s", path, apr_strerror(rv, ebuf, sizeof(ebuf)));
    while ((rv = apr_file_gets(line, sizeof(line), f)) == APR_SUCCESS) {
        char *s = line, *e;
        const char *why;

        lineno++;
        while (apr_isspace(*s))
            s++;
        e = s + strlen(s);
        while (e > s && apr_isspace(e[-1]))
            *--e = '\0';
        if (*s == '\0' || *s == '#')
            continue;
        if ((why = ml_policy_add(pol, s, p)) != NULL) {
            apr_file_close(f);
            return apr_psprintf(p, "%s line %d: %s", path, lineno, why);
        }
    }
    apr_file_close(f);
    return rv == APR_EOF ? NULL
                         : apr_psprintf(p, "%s: %s", path, apr_strerror(rv, ebuf, sizeof(ebuf)));
}

ml_policy_t *ml_policy_merge(apr_pool_t *p, const ml_policy_t *base, const ml_policy_t *add)
{
    ml_policy_t *m;

    if (!add || ml_policy_empty(add))
        return (ml_policy_t *)base;
    if (!base || ml_policy_empty(base))
        return (ml_policy_t *)add;
    m = ml_policy_make(p);
    m->anyone = base->anyone || add->anyone;
    m->entries = apr_array_append(p, base->entries, add->entries);
    return m;
}

int ml_policy_allows(const ml_policy_t *pol, const char *addr)
{
    const char *at = strrchr(addr, '@');
    int i;

    if (!pol || !at)
        return 0;
    if (pol->anyone)
        return 1;
    for (i = 0; i < pol->entries->nelts; i++) {
        const char *e = APR_ARRAY_IDX(pol->entries, i, const char *);
        if (e[0] == '@' ? strcasecmp(e, at) == 0 : strcasecmp(e, addr) == 0)
            return 1;
    }
    return 0;
}

int ml_policy_empty(const ml_policy_t *pol)
{
    return !pol || (!pol->anyone && pol->entries->nelts == 0);
}
