#include "ml_policy.h"
#include "ml_addr.h"

#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_lib.h>
#include <apr_strings.h>
#include <apr_tables.h>

/* One parsed list: immutable once published. */
typedef struct ml_allow_list ml_allow_list_t;
struct ml_allow_list {
    apr_pool_t *pool;    /* owns the list; NULL for inline lists */
    apr_hash_t *addrs;   /* canonical addresses */
    apr_hash_t *domains; /* A-label domains */
    int anyone;
    int count;
    int failed;       /* the file could not be read or parsed */
    apr_uint64_t sum; /* FNV-1a of the bytes read (or of why it failed) */
    /* The busy holder's, even once published (readers never look): */
    int have_stat; /* the fields below describe the file read */
    int racy;      /* read so soon after its mtime that a change in
                    * the same clock tick would not show: read again */
    apr_ino_t ino;
    apr_dev_t dev;
    apr_off_t size;
    apr_time_t mtime, ctime;
    ml_allow_list_t *next; /* on the retired chain */
};

/* One watched file: shared by every thread of the process. */
typedef struct ml_allow_file {
    const char *path;
    ml_allow_list_t *current; /* swapped atomically */
    apr_uint32_t readers;     /* lookups in progress */
    apr_uint32_t busy;        /* a thread is checking the file */
    apr_int64_t next_check;   /* apr_time_t before which nobody stats */
    ml_allow_list_t *retired; /* swapped out, not freed yet (busy holder only) */
    int retired_count;
    apr_pool_t *scratch; /* stat and read buffers (busy holder only) */
} ml_allow_file_t;

struct ml_policy {
    ml_allow_list_t inline_list;
    apr_array_header_t *files; /* ml_allow_file_t * */
};

static ml_policy_report_fn *ml_policy_reporter;

void ml_policy_set_reporter(ml_policy_report_fn *fn)
{
    ml_policy_reporter = fn;
}

static void ml_list_init(ml_allow_list_t *l, apr_pool_t *p)
{
    l->addrs = apr_hash_make(p);
    l->domains = apr_hash_make(p);
}

ml_policy_t *ml_policy_make(apr_pool_t *p)
{
    ml_policy_t *pol = apr_pcalloc(p, sizeof(*pol));

    ml_list_init(&pol->inline_list, p);
    pol->files = apr_array_make(p, 1, sizeof(ml_allow_file_t *));
    return pol;
}

/* ---- entries ---- */

static const char *ml_list_add(ml_allow_list_t *l, const char *entry, apr_pool_t *p)
{
    const char *norm, *why = NULL;
    apr_size_t n = strlen(entry);
    apr_hash_t *set;

    if (strcmp(entry, "*") == 0) {
        l->count += !l->anyone;
        l->anyone = 1;
        return NULL;
    }
    if (entry[0] == '@') {
        if (ml_addr_normalize_domain(p, entry + 1, n - 1, &norm, &why) != APR_SUCCESS)
            return apr_pstrcat(p, "not a domain: ", why, NULL);
        set = l->domains;
    } else {
        if (!strchr(entry, '@'))
            return "expected an address (ann@example.com), a domain (@example.com) or *";
        if (ml_addr_normalize(p, entry, n, &norm, NULL, &why) != APR_SUCCESS)
            return apr_pstrcat(p, "not an address: ", why, NULL);
        set = l->addrs;
    }
    if (!apr_hash_get(set, norm, APR_HASH_KEY_STRING)) {
        apr_hash_set(set, norm, APR_HASH_KEY_STRING, norm);
        l->count++;
    }
    return NULL;
}

const char *ml_policy_add(ml_policy_t *pol, const char *entry, apr_pool_t *p)
{
    return ml_list_add(&pol->inline_list, entry, p);
}

static int ml_list_allows(const ml_allow_list_t *l, const char *addr, const char *domain)
{
    if (l->failed)
        return 0;
    return l->anyone || apr_hash_get(l->addrs, addr, APR_HASH_KEY_STRING)
           || apr_hash_get(l->domains, domain, APR_HASH_KEY_STRING);
}

/* ---- reading a file ---- */

/* File times are coarse (a clock tick, on some file systems seconds). */
#define ML_POLICY_RACY apr_time_from_sec(2)

static void ml_list_stat(ml_allow_list_t *l, const apr_finfo_t *fi)
{
    apr_time_t now = apr_time_now();

    l->racy = now - fi->mtime < ML_POLICY_RACY || now - fi->ctime < ML_POLICY_RACY;
    l->have_stat = 1;
    l->ino = fi->inode;
    l->dev = fi->device;
    l->size = fi->size;
    l->mtime = fi->mtime;
    l->ctime = fi->ctime;
}

static int ml_list_same_file(const ml_allow_list_t *l, const apr_finfo_t *fi)
{
    return l->have_stat && l->ino == fi->inode && l->dev == fi->device && l->size == fi->size
           && l->mtime == fi->mtime && l->ctime == fi->ctime;
}

#define ML_STAT_WANTED                                                                             \
    (APR_FINFO_INODE | APR_FINFO_DEV | APR_FINFO_SIZE | APR_FINFO_MTIME | APR_FINFO_CTIME)

static const char *ml_ioerr(apr_pool_t *p, const char *path, apr_status_t rv)
{
    char buf[120];

    return apr_psprintf(p, "%s: %s", path, apr_strerror(rv, buf, sizeof(buf)));
}

static apr_uint64_t ml_fnv(apr_uint64_t h, const char *s, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ULL;
    return h;
}

#define ML_FNV_BASIS 0xcbf29ce484222325ULL

/* Reads every line of f into l (entries in l's own pool: the lookups of
 * other threads read them); NULL, or "path line N: why" in p. */
static const char *ml_list_read(ml_allow_list_t *l, apr_file_t *f, const char *path, apr_pool_t *p)
{
    char line[ML_POLICY_LINE_MAX + 2];
    apr_status_t rv;
    int lineno = 0;

    while ((rv = apr_file_gets(line, sizeof(line), f)) == APR_SUCCESS) {
        char *s = line, *e = line + strlen(line);
        const char *why;

        lineno++;
        l->sum = ml_fnv(l->sum, line, (apr_size_t)(e - line));
        if (e - line > ML_POLICY_LINE_MAX && e[-1] != '\n')
            return apr_psprintf(p, "%s line %d: longer than %d characters", path, lineno,
                                ML_POLICY_LINE_MAX);
        while (apr_isspace(*s))
            s++;
        while (e > s && apr_isspace(e[-1]))
            *--e = '\0';
        if (*s == '\0' || *s == '#')
            continue;
        for (e = s; *e; e++)
            if (apr_iscntrl(*e) || *e == ' ')
                return apr_psprintf(p,
                                    "%s line %d: an entry may not hold spaces or control "
                                    "characters",
                                    path, lineno);
        if ((why = ml_list_add(l, s, l->pool)) != NULL)
            return apr_psprintf(p, "%s line %d: %s", path, lineno, why);
    }
    return rv == APR_EOF ? NULL : ml_ioerr(p, path, rv);
}

/* An empty list in a pool of its own (so it can be freed alone); NULL when
 * out of memory. */
static ml_allow_list_t *ml_list_new(void)
{
    apr_pool_t *lp;
    ml_allow_list_t *l;

    if (apr_pool_create_unmanaged_ex(&lp, NULL, NULL) != APR_SUCCESS)
        return NULL;
    l = apr_pcalloc(lp, sizeof(*l));
    l->pool = lp;
    ml_list_init(l, lp);
    return l;
}

/* A new list from the file. NULL only when out of memory: on failure the
 * list is marked failed (it allows nobody) and *why says why. */
static ml_allow_list_t *ml_list_load(const char *path, apr_pool_t *scratch, const char **why)
{
    ml_allow_list_t *l = ml_list_new();
    apr_file_t *f;
    apr_finfo_t fi;
    apr_status_t rv;

    *why = NULL;
    if (!l)
        return NULL;
    l->sum = ML_FNV_BASIS;
    rv = apr_file_open(&f, path, APR_FOPEN_READ | APR_FOPEN_BUFFERED, 0, scratch);
    if (rv != APR_SUCCESS) {
        *why = ml_ioerr(scratch, path, rv);
    } else {
        /* The version described is the one opened: a change while reading
         * shows as a newer mtime at the next check. */
        if (apr_file_info_get(&fi, ML_STAT_WANTED, f) == APR_SUCCESS)
            ml_list_stat(l, &fi);
        *why = ml_list_read(l, f, path, scratch);
        apr_file_close(f);
    }
    if (*why) {
        l->failed = 1;
        l->sum = ml_fnv(ML_FNV_BASIS, *why, strlen(*why));
        l->count = 0;
        l->anyone = 0;
        apr_hash_clear(l->addrs);
        apr_hash_clear(l->domains);
    }
    return l;
}

/* ---- watched files ---- */

static void ml_list_free(ml_allow_list_t *l)
{
    while (l) {
        ml_allow_list_t *next = l->next;
        apr_pool_destroy(l->pool);
        l = next;
    }
}

static apr_status_t ml_file_cleanup(void *data)
{
    ml_allow_file_t *f = data;

    ml_list_free(f->current);
    ml_list_free(f->retired);
    f->current = f->retired = NULL;
    if (f->scratch)
        apr_pool_destroy(f->scratch);
    f->scratch = NULL;
    return APR_SUCCESS;
}

/* Frees the retired lists when no lookup is inside any list: every lookup
 * that could hold a retired one began before the swap, and is counted. */
static void ml_file_drain(ml_allow_file_t *f)
{
    if (f->retired && __atomic_load_n(&f->readers, __ATOMIC_SEQ_CST) == 0) {
        ml_list_free(f->retired);
        f->retired = NULL;
        f->retired_count = 0;
    }
}

static void ml_file_publish(ml_allow_file_t *f, ml_allow_list_t *l, const char *why)
{
    ml_allow_list_t *old = __atomic_exchange_n(&f->current, l, __ATOMIC_SEQ_CST);

    old->next = f->retired;
    f->retired = old;
    f->retired_count++;
    ml_file_drain(f);
    if (ml_policy_reporter)
        ml_policy_reporter(f->path, !l->failed, why, l->count);
}

/* Stats the file and publishes a new list when it changed; the caller holds
 * f->busy. */
static void ml_file_check(ml_allow_file_t *f)
{
    ml_allow_list_t *cur = f->current, *l;
    const char *why = NULL;
    apr_finfo_t fi;
    apr_status_t rv;

    apr_pool_clear(f->scratch);
    ml_file_drain(f);
    if (f->retired_count >= ML_POLICY_RETIRED_MAX)
        return;
    rv = apr_stat(&fi, f->path, ML_STAT_WANTED, f->scratch);
    if (rv != APR_SUCCESS && rv != APR_INCOMPLETE) {
        if (cur->failed && !cur->have_stat)
            return; /* already failed for this reason */
        why = ml_ioerr(f->scratch, f->path, rv);
        if ((l = ml_list_new()) == NULL)
            return;
        l->failed = 1;
    } else {
        if (ml_list_same_file(cur, &fi) && !cur->racy)
            return;
        if ((l = ml_list_load(f->path, f->scratch, &why)) == NULL)
            return;
        /* Unreadable but there: remember this version, so that it is not
         * tried (and reported) again until it changes. */
        if (!l->have_stat)
            ml_list_stat(l, &fi);
        /* Read again for nothing (racy, or touched): keep the list in force,
         * and what is now known of the file. */
        if (l->failed == cur->failed && l->sum == cur->sum && cur->have_stat) {
            cur->ino = l->ino, cur->dev = l->dev, cur->size = l->size;
            cur->mtime = l->mtime, cur->ctime = l->ctime, cur->racy = l->racy;
            ml_list_free(l);
            return;
        }
    }
    ml_file_publish(f, l, why);
}

/* At most once per ML_POLICY_CHECK_EVERY: the thread that moves next_check
 * on does the check; the others read the list they have. */
static void ml_file_refresh(ml_allow_file_t *f, apr_time_t now)
{
    apr_int64_t next = __atomic_load_n(&f->next_check, __ATOMIC_ACQUIRE);
    apr_uint32_t idle = 0;

    if (now < next)
        return;
    if (!__atomic_compare_exchange_n(&f->busy, &idle, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
        return;
    __atomic_store_n(&f->next_check, now + ML_POLICY_CHECK_EVERY, __ATOMIC_RELEASE);
    ml_file_check(f);
    __atomic_store_n(&f->busy, 0, __ATOMIC_RELEASE);
}

static int ml_file_allows(ml_allow_file_t *f, const char *addr, const char *domain)
{
    const ml_allow_list_t *l;
    int yes;

    __atomic_add_fetch(&f->readers, 1, __ATOMIC_SEQ_CST);
    l = __atomic_load_n(&f->current, __ATOMIC_SEQ_CST);
    yes = ml_list_allows(l, addr, domain);
    __atomic_sub_fetch(&f->readers, 1, __ATOMIC_SEQ_CST);
    return yes;
}

#define ML_POLICY_REGISTRY "ml_policy:files"

/* The process's watcher of path, made (and read) on first use. */
static const char *ml_file_get(apr_pool_t *p, const char *path, ml_allow_file_t **out)
{
    apr_hash_t *reg = NULL;
    ml_allow_file_t *f;
    const char *why;

    apr_pool_userdata_get((void **)&reg, ML_POLICY_REGISTRY, p);
    if (!reg) {
        reg = apr_hash_make(p);
        apr_pool_userdata_setn(reg, ML_POLICY_REGISTRY, NULL, p);
    }
    if ((*out = apr_hash_get(reg, path, APR_HASH_KEY_STRING)) != NULL)
        return NULL;
    f = apr_pcalloc(p, sizeof(*f));
    f->path = apr_pstrdup(p, path);
    if (apr_pool_create_unmanaged_ex(&f->scratch, NULL, NULL) != APR_SUCCESS)
        return apr_pstrcat(p, path, ": out of memory", NULL);
    apr_pool_cleanup_register(p, f, ml_file_cleanup, apr_pool_cleanup_null);
    f->current = ml_list_load(path, f->scratch, &why);
    if (!f->current)
        return apr_pstrcat(p, path, ": out of memory", NULL);
    if (why)
        return apr_pstrdup(p, why); /* at start-up: a configuration error */
    f->next_check = apr_time_now() + ML_POLICY_CHECK_EVERY;
    apr_hash_set(reg, f->path, APR_HASH_KEY_STRING, f);
    *out = f;
    return NULL;
}

const char *ml_policy_add_file(ml_policy_t *pol, const char *path, apr_pool_t *p)
{
    ml_allow_file_t *f;
    const char *why = ml_file_get(p, path, &f);
    int i;

    if (why)
        return why;
    for (i = 0; i < pol->files->nelts; i++)
        if (APR_ARRAY_IDX(pol->files, i, ml_allow_file_t *) == f)
            return NULL;
    APR_ARRAY_PUSH(pol->files, ml_allow_file_t *) = f;
    return NULL;
}

/* ---- lookups ---- */

int ml_policy_allows_at(const ml_policy_t *pol, const char *addr, apr_time_t now)
{
    const char *at = addr ? strrchr(addr, '@') : NULL;
    int i;

    if (!pol || !at)
        return 0;
    if (ml_list_allows(&pol->inline_list, addr, at + 1))
        return 1;
    for (i = 0; i < pol->files->nelts; i++) {
        ml_allow_file_t *f = APR_ARRAY_IDX(pol->files, i, ml_allow_file_t *);
        ml_file_refresh(f, now);
        if (ml_file_allows(f, addr, at + 1))
            return 1;
    }
    return 0;
}

int ml_policy_allows(const ml_policy_t *pol, const char *addr)
{
    return ml_policy_allows_at(pol, addr, apr_time_now());
}

static int ml_file_count(ml_allow_file_t *f)
{
    int n;

    __atomic_add_fetch(&f->readers, 1, __ATOMIC_SEQ_CST);
    n = __atomic_load_n(&f->current, __ATOMIC_SEQ_CST)->count;
    __atomic_sub_fetch(&f->readers, 1, __ATOMIC_SEQ_CST);
    return n;
}

int ml_policy_count(const ml_policy_t *pol)
{
    int i, n;

    if (!pol)
        return 0;
    n = pol->inline_list.count;
    for (i = 0; i < pol->files->nelts; i++)
        n += ml_file_count(APR_ARRAY_IDX(pol->files, i, ml_allow_file_t *));
    return n;
}

int ml_policy_empty(const ml_policy_t *pol)
{
    return ml_policy_count(pol) == 0;
}
