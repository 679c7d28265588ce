/* Start-up checks on files against the user the children run as. */
#include "ml_preflight.h"
#include "ml_state.h"

#include "ap_provider.h"
#include "http_log.h"
#include "unixd.h"
#include "apr_strings.h"

#include <errno.h>
#include <stdlib.h>
#include <grp.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

APLOG_USE_MODULE(magiclink);

#define ML_MAX_GROUPS 256

/* Who the children run as: User and Group when the parent is root (unixd
 * switches to them after fork); otherwise the parent's own identity. */
typedef struct {
    uid_t uid;
    gid_t gid;
    const char *name;
    int switched; /* the parent is root and the children are not */
} ml_runner_t;

static void ml_runner(apr_pool_t *p, ml_runner_t *r)
{
    r->switched = geteuid() == 0 && ap_unixd_config.user_id != 0;
    if (r->switched) {
        r->uid = ap_unixd_config.user_id;
        r->gid = ap_unixd_config.group_id;
        r->name = ap_unixd_config.user_name ? ap_unixd_config.user_name
                                            : apr_psprintf(p, "#%ld", (long)r->uid);
    } else {
        r->uid = geteuid();
        r->gid = getegid();
        r->name = "the server's own user";
    }
}

/* Whether gid is the runner's primary group or one of the supplementary
 * groups the children get (unixd calls initgroups with User's name). */
static int ml_runner_in_group(const ml_runner_t *r, gid_t gid)
{
    gid_t groups[ML_MAX_GROUPS];
    int i, n = ML_MAX_GROUPS;

    if (gid == r->gid)
        return 1;
    if (!r->switched || !ap_unixd_config.user_name
        || getgrouplist(ap_unixd_config.user_name, r->gid, groups, &n) < 0)
        return 0;
    for (i = 0; i < n; i++)
        if (groups[i] == gid)
            return 1;
    return 0;
}

/* The permission bits (of S_IRWXU's layout, shifted down) that apply to the
 * runner, as the kernel would pick them for a non-root process. */
static mode_t ml_runner_bits(const ml_runner_t *r, const struct stat *st)
{
    if (st->st_uid == r->uid)
        return (st->st_mode >> 6) & 7;
    if (ml_runner_in_group(r, st->st_gid))
        return (st->st_mode >> 3) & 7;
    return st->st_mode & 7;
}

static const char *ml_dirname(apr_pool_t *p, const char *path)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        return ".";
    if (slash == path)
        return "/";
    return apr_pstrmemdup(p, path, (apr_size_t)(slash - path));
}

/* The directory a key file lives in must be out of User's reach: who may
 * write it may put another file (or link) in the key's place. */
static int ml_key_dir_ok(server_rec *s, const char *directive, const char *path,
                         const char *dir, const char *via, const ml_runner_t *r)
{
    struct stat st;

    if (stat(dir, &st) != 0) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, errno, s,
                     "MAGICLINK-402: %s %s: cannot examine its directory %s%s", directive,
                     path, dir, via);
        return 0;
    }
    /* In a sticky directory (such as /tmp) only the owner of a file may
     * rename or remove it, so writing there does not reach root's file. */
    if (st.st_uid == r->uid || ((ml_runner_bits(r, &st) & 2) && !(st.st_mode & S_ISVTX))) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "MAGICLINK-401: %s %s: its directory %s%s is %s User %s, "
                     "who could replace the file; keep it in a directory only root may "
                     "write, such as /etc/apache2",
                     directive, path, dir, via, st.st_uid == r->uid ? "owned by" : "writable by",
                     r->name);
        return 0;
    }
    return 1;
}

int ml_preflight_key_file(apr_pool_t *p, server_rec *s, const char *directive,
                          const char *path)
{
    const char *dir = ml_dirname(p, path);
    char *real;
    struct stat st;
    ml_runner_t r;
    int ok;

    ml_runner(p, &r);
    if (!r.switched)
        return OK; /* the children are the parent: nobody else to keep out */
    if (stat(path, &st) == 0 && st.st_uid == r.uid) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "MAGICLINK-400: %s %s: owned by User %s, the user the "
                     "server's children (and CGI scripts) run as; chown root:root it",
                     directive, path, r.name);
        return !OK;
    }
    if (!ml_key_dir_ok(s, directive, path, dir, "", &r))
        return !OK;
    /* A symbolic link (of the file or of a directory on its way) leads to
     * the directory that holds the key: that one must be out of reach too. */
    real = realpath(path, NULL);
    ok = !real || !strcmp(ml_dirname(p, real), dir)
         || ml_key_dir_ok(s, directive, path, ml_dirname(p, real), " (where its path leads)",
                          &r);
    free(real);
    return ok ? OK : !OK;
}

/* The runner's group, by name where it has one, for the commands we suggest. */
static const char *ml_runner_group(apr_pool_t *p, const ml_runner_t *r)
{
    struct group *g = getgrgid(r->gid);

    return g ? apr_pstrdup(p, g->gr_name) : apr_psprintf(p, "%ld", (long)r->gid);
}

/* Every directory on the way to dir (dir itself is checked on its own) must
 * let the runner through (search, x): one that does not (a root-only 0700
 * parent) passes the checks of dir, and then every child fails to open the
 * store. */
static int ml_lmdb_path_open(apr_pool_t *p, server_rec *s, const char *spec, const char *dir,
                             const ml_runner_t *r)
{
    char *path = apr_pstrdup(p, dir), *slash;
    struct stat st;

    if (!r->switched)
        return 1;
    for (slash = strchr(path + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        if (stat(path, &st) == 0 && !(ml_runner_bits(r, &st) & 1)) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                         "MAGICLINK-408: MagicLinkCache %s: User %s cannot pass through %s "
                         "(owner uid %ld, mode %04o) on the way to %s; let it through "
                         "(chmod o+x %s) or keep the store elsewhere",
                         spec, r->name, path, (long)st.st_uid,
                         (unsigned)(st.st_mode & 07777), dir, path);
            return 0;
        }
        *slash = '/';
    }
    return 1;
}

/* lmdb:DIR: the children write the store's files in DIR. A directory that
 * is missing is made at start (owned by User) if its parent exists. */
static int ml_preflight_lmdb_dir(apr_pool_t *p, server_rec *s, const char *spec, const char *dir)
{
    struct stat st;
    ml_runner_t r;
    const char *parent = ml_dirname(p, dir);

    ml_runner(p, &r);
    if (stat(dir, &st) != 0) {
        int e = errno;

        if (e == ENOENT && stat(parent, &st) == 0 && S_ISDIR(st.st_mode))
            return ml_lmdb_path_open(p, s, spec, dir, &r) ? OK : !OK;
        ap_log_error(APLOG_MARK, APLOG_EMERG, e, s,
                     "MAGICLINK-404: MagicLinkCache %s: directory %s %s; create it for User "
                     "%s (install -d -o %s -g %s -m 750 %s)",
                     spec, dir, e == ENOENT ? "cannot be made (no parent)" : "cannot be examined",
                     r.name, r.name, ml_runner_group(p, &r), dir);
        return !OK;
    }
    if (!S_ISDIR(st.st_mode)) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "MAGICLINK-405: MagicLinkCache %s: %s is not a directory", spec, dir);
        return !OK;
    }
    if (!ml_lmdb_path_open(p, s, spec, dir, &r))
        return !OK;
    if (r.uid != 0 && (ml_runner_bits(&r, &st) & 3) != 3) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                     "MAGICLINK-406: MagicLinkCache %s: User %s cannot write in %s (owner "
                     "uid %ld, mode %04o); chown %s:%s %s",
                     spec, r.name, dir, (long)st.st_uid, (unsigned)(st.st_mode & 07777),
                     r.name, ml_runner_group(p, &r), dir);
        return !OK;
    }
    return OK;
}

int ml_preflight_store(apr_pool_t *p, server_rec *s, ml_store_t *st)
{
    char err[256];

    if (!st && ml_store_parse(&st, ML_DEFAULT_STORE, NULL, 0, p, err, sizeof(err)) != APR_SUCCESS)
        return !OK;
    if (st->ops != &ml_store_lmdb_ops)
        return OK;
    return ml_preflight_lmdb_dir(p, s, st->spec, st->where);
}
