/* maildir:/dir - delivery as in https://cr.yp.to/proto/maildir.html:
 * write the message to tmp/ under a name nobody else can be using, fsync
 * it, hard-link it into new/ (a reader never sees half a message), remove
 * the tmp/ name, fsync new/. Any failure is reported and leaves nothing
 * behind in tmp/. */
#include "ml_mail_transport.h"
#include "ml_random.h"

#include <apr_atomic.h>
#include <apr_strings.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#define ML_HOST_MAX 64
/* dir + "/new/" + a unique name: the name is at most about 150 bytes. */
#define ML_NAME_MAX 200

typedef struct {
    const char *dir, *tmp, *new;
    apr_size_t dirlen;
    char host[4 * ML_HOST_MAX + 1];
} ml_maildir_t;

static volatile apr_uint32_t ml_maildir_seq;

static const char *ml_errno_text(int e, char *buf, apr_size_t n)
{
    return apr_strerror(APR_FROM_OS_ERROR(e), buf, n);
}

/* Whether d can serve as the maildir, without making anything (a
 * configuration test): a directory, or missing with a directory to be made
 * in. */
static const char *ml_check_dir(const char *d, apr_pool_t *p)
{
    const char *slash = strrchr(d, '/');
    const char *parent = slash && slash != d ? apr_pstrmemdup(p, d, (apr_size_t)(slash - d))
                                             : "/";
    struct stat st;

    if (stat(d, &st) == 0)
        return S_ISDIR(st.st_mode) ? NULL : apr_psprintf(p, "%s exists and is not a directory", d);
    if (stat(parent, &st) != 0 || !S_ISDIR(st.st_mode))
        return apr_psprintf(p, "cannot create %s: %s is not a directory", d, parent);
    return NULL;
}

/* Creates d (mode 0700) unless it is a directory already. */
static const char *ml_make_dir(const char *d, const ml_mailer_opts_t *o, apr_pool_t *p)
{
    struct stat st;
    char eb[128];

    if (mkdir(d, 0700) == 0) {
        if (o->chown_dirs && chown(d, o->uid, o->gid) != 0)
            return apr_psprintf(p, "cannot chown %s: %s", d, ml_errno_text(errno, eb, sizeof(eb)));
        return NULL;
    }
    if (errno != EEXIST)
        return apr_psprintf(p, "cannot create %s: %s", d, ml_errno_text(errno, eb, sizeof(eb)));
    if (stat(d, &st) != 0 || !S_ISDIR(st.st_mode))
        return apr_psprintf(p, "%s exists and is not a directory", d);
    return NULL;
}

/* The maildir and its tmp, new and cur; NULL, or what went wrong. */
static const char *ml_make_maildir(const ml_maildir_t *md, const ml_mailer_opts_t *o,
                                   apr_pool_t *p)
{
    const char *e;

    if ((e = ml_make_dir(md->dir, o, p)) || (e = ml_make_dir(md->tmp, o, p))
        || (e = ml_make_dir(md->new, o, p)))
        return e;
    return ml_make_dir(apr_pstrcat(p, md->dir, "/cur", NULL), o, p);
}

/* The host part of unique names, with '/' and ':' escaped as the maildir
 * convention asks (they would break the path and the flags suffix). */
static void ml_host_part(char *out, apr_size_t cap)
{
    char h[ML_HOST_MAX + 1];
    apr_size_t i, o = 0;

    if (gethostname(h, sizeof(h)) != 0 || !h[0])
        strcpy(h, "localhost");
    h[ML_HOST_MAX] = '\0';
    for (i = 0; h[i] && o + 5 < cap; i++) {
        if (h[i] == '/' || h[i] == ':' || (unsigned char)h[i] <= ' ' || h[i] == 0x7F)
            o += (apr_size_t)apr_snprintf(out + o, cap - o, "\\%03o", (unsigned char)h[i]);
        else
            out[o++] = h[i];
    }
    out[o] = '\0';
}

static apr_status_t ml_maildir_create(void **impl, const char *arg, const ml_mailer_opts_t *o,
                                      apr_pool_t *p, const char **desc, const char **err)
{
    ml_maildir_t *md = apr_pcalloc(p, sizeof(*md));
    char *dir = apr_pstrdup(p, arg);
    apr_size_t n = strlen(dir);
    const char *e;

    while (n > 1 && dir[n - 1] == '/')
        dir[--n] = '\0';
    if (dir[0] != '/') {
        *err = "the maildir must be an absolute path (maildir:/path/to/dir)";
        return APR_EINVAL;
    }
    md->dir = dir;
    md->dirlen = n;
    md->tmp = apr_pstrcat(p, dir, "/tmp", NULL);
    md->new = apr_pstrcat(p, dir, "/new", NULL);
    e = o->check_only ? ml_check_dir(dir, p) : ml_make_maildir(md, o, p);
    if (e) {
        *err = e;
        return APR_EGENERAL;
    }
    ml_host_part(md->host, sizeof(md->host));
    *desc = apr_pstrcat(p, "maildir:", dir, NULL);
    *impl = md;
    return APR_SUCCESS;
}

/* time.M<usec>P<pid>Q<seq>R<random>.host: unique across processes (pid),
 * calls from any thread (seq), hosts sharing the directory (host) and a
 * pid reused within the same microsecond (random). The pid is cached per
 * fork, so naming a message makes no system call. */
static apr_status_t ml_unique_name(const ml_maildir_t *md, char *name, apr_size_t cap)
{
    unsigned char r[8];
    apr_time_t now = apr_time_now();
    int n;

    if (!ml_random_bytes(r, sizeof(r)))
        return APR_EGENERAL;
    n = apr_snprintf(name, cap, "%" APR_INT64_T_FMT ".M%06dP%ldQ%uR%02x%02x%02x%02x%02x%02x%02x%02x.%s",
                     (apr_int64_t)apr_time_sec(now), (int)apr_time_usec(now),
                     (long)ml_random_pid(), apr_atomic_inc32(&ml_maildir_seq), r[0], r[1], r[2],
                     r[3], r[4], r[5], r[6], r[7], md->host);
    return n > 0 && (apr_size_t)n < cap - 1 ? APR_SUCCESS : APR_ENAMETOOLONG;
}

static int ml_write_all(int fd, const char *s, apr_size_t n)
{
    ssize_t w;

    while (n > 0) {
        w = write(fd, s, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? errno : EIO;
        s += w;
        n -= (apr_size_t)w;
    }
    return 0;
}

/* Writes the message to path and makes it durable; returns 0 or an errno,
 * with *what naming the step that failed. */
static int ml_write_tmp(const char *path, const char *msg, apr_size_t len, const char **what)
{
    int fd, e;

    *what = "creating";
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return errno;
    *what = "writing";
    e = ml_write_all(fd, msg, len);
    if (e == 0 && fsync(fd) != 0) {
        *what = "syncing";
        e = errno;
    }
    if (close(fd) != 0 && e == 0) {
        *what = "closing";
        e = errno;
    }
    return e;
}

/* Moves tmp into new: link(2) refuses to replace an existing file; file
 * systems without hard links fall back to rename(2). */
static int ml_publish(const char *from, const char *to)
{
    if (link(from, to) == 0) {
        unlink(from);
        return 0;
    }
    if (errno != EPERM && errno != EXDEV && errno != ENOSYS && errno != EOPNOTSUPP)
        return errno;
    return rename(from, to) == 0 ? 0 : errno;
}

static int ml_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), e = 0;

    if (fd < 0)
        return errno;
    if (fsync(fd) != 0 && errno != EINVAL)
        e = errno;
    close(fd);
    return e;
}

static apr_status_t ml_maildir_send(void *impl, const char *from, const char *rcpt,
                                    const char *msg, apr_size_t len, apr_pool_t *scratch,
                                    char *errbuf, apr_size_t errlen)
{
    const ml_maildir_t *md = impl;
    char name[ML_NAME_MAX], eb[128];
    const char *tmp, *new, *what = "naming";
    int e;

    if (ml_unique_name(md, name, sizeof(name)) != APR_SUCCESS) {
        ml_mail_errf(errbuf, errlen, "maildir: cannot make a unique file name");
        return APR_EGENERAL;
    }
    tmp = apr_pstrcat(scratch, md->tmp, "/", name, NULL);
    new = apr_pstrcat(scratch, md->new, "/", name, NULL);
    e = ml_write_tmp(tmp, msg, len, &what);
    if (e != 0) {
        if (strcmp(what, "creating") != 0)
            unlink(tmp);
        ml_mail_errf(errbuf, errlen, "maildir: %s %s: %s", what, tmp,
                     ml_errno_text(e, eb, sizeof(eb)));
        return APR_FROM_OS_ERROR(e);
    }
    if ((e = ml_publish(tmp, new)) != 0) {
        unlink(tmp);
        ml_mail_errf(errbuf, errlen, "maildir: moving into %s: %s", md->new,
                     ml_errno_text(e, eb, sizeof(eb)));
        return APR_FROM_OS_ERROR(e);
    }
    if ((e = ml_sync_dir(md->new)) != 0) {
        ml_mail_errf(errbuf, errlen, "maildir: syncing %s: %s", md->new,
                     ml_errno_text(e, eb, sizeof(eb)));
        return APR_FROM_OS_ERROR(e);
    }
    return APR_SUCCESS;
}

const ml_mail_transport_t ml_mail_maildir_transport = {
    "maildir",
    ml_maildir_create,
    ml_maildir_send,
};
