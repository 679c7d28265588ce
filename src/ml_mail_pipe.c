/* pipe:/path/to/command args - one child per message, message on stdin.
 *
 * The child is started with posix_spawn, not through a shell: argv is the
 * spec split on blanks. It gets default signal dispositions and an empty
 * signal mask (httpd ignores SIGPIPE and its worker threads block signals;
 * both would otherwise be inherited across exec), stdout on /dev/null, and
 * its own process group, so that a time-out kills whatever it started too.
 * Writing stdin and reading stderr are multiplexed with poll(2), so a child
 * that writes a lot of errors cannot deadlock against us. */
#include "ml_mail_transport.h"

#include <apr_strings.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define ML_PIPE_ARGS 32
#define ML_PIPE_STDERR 512
#define ML_PIPE_POLL_MS 20 /* how often to look for the child's exit */

typedef struct {
    char **argv;
    const char *desc;
    apr_interval_time_t timeout;
} ml_pipe_t;

typedef struct {
    pid_t pid;
    int in, err; /* our ends; -1 once closed */
    const char *msg;
    apr_size_t len, off;
    char errtxt[ML_PIPE_STDERR];
    apr_size_t errn;
    int epipe, exited, status;
} ml_child_t;

static apr_status_t ml_pipe_create(void **impl, const char *arg, const ml_mailer_opts_t *o,
                                   apr_pool_t *p, const char **desc, const char **err)
{
    ml_pipe_t *pp = apr_pcalloc(p, sizeof(*pp));
    char *s = apr_pstrdup(p, arg), *tok, *last = NULL, eb[128];
    int n = 0;

    pp->argv = apr_pcalloc(p, sizeof(char *) * (ML_PIPE_ARGS + 1));
    for (tok = apr_strtok(s, " \t", &last); tok; tok = apr_strtok(NULL, " \t", &last)) {
        if (n == ML_PIPE_ARGS) {
            *err = "the command has more than 32 arguments";
            return APR_EINVAL;
        }
        pp->argv[n++] = tok;
    }
    if (n == 0 || pp->argv[0][0] != '/') {
        *err = "the command must start with an absolute path (pipe:/usr/sbin/sendmail -t -i)";
        return APR_EINVAL;
    }
    if (access(pp->argv[0], X_OK) != 0) {
        *err = apr_psprintf(p, "cannot execute %s: %s", pp->argv[0],
                            apr_strerror(APR_FROM_OS_ERROR(errno), eb, sizeof(eb)));
        return APR_FROM_OS_ERROR(errno);
    }
    pp->timeout = o->timeout;
    pp->desc = apr_pstrcat(p, "pipe:", arg, NULL);
    *desc = pp->desc;
    *impl = pp;
    return APR_SUCCESS;
}

static int ml_spawn(const ml_pipe_t *pp, ml_child_t *c)
{
    int in[2], er[2], e;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, dfl;
    static const int reset[] = {SIGPIPE, SIGCHLD, SIGHUP,  SIGINT,  SIGTERM,
                                SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM, SIGXFSZ};
    apr_size_t i;

    if (pipe2(in, O_CLOEXEC) != 0)
        return errno;
    if (pipe2(er, O_CLOEXEC) != 0) {
        e = errno;
        close(in[0]), close(in[1]);
        return e;
    }
    sigemptyset(&none);
    sigemptyset(&dfl);
    for (i = 0; i < sizeof(reset) / sizeof(reset[0]); i++)
        sigaddset(&dfl, reset[i]);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, er[1], 2);
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF
                                      | POSIX_SPAWN_SETPGROUP);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &dfl);
    posix_spawnattr_setpgroup(&at, 0);
    e = posix_spawn(&c->pid, pp->argv[0], &fa, &at, pp->argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(in[0]);
    close(er[1]);
    if (e != 0) {
        close(in[1]), close(er[0]);
        return e;
    }
    c->in = in[1];
    c->err = er[0];
    fcntl(c->in, F_SETFL, O_NONBLOCK);
    fcntl(c->err, F_SETFL, O_NONBLOCK);
    return 0;
}

static void ml_close(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static void ml_child_write(ml_child_t *c)
{
    ssize_t w = write(c->in, c->msg + c->off, c->len - c->off);

    if (w > 0)
        c->off += (apr_size_t)w;
    else if (w < 0 && errno != EAGAIN && errno != EINTR)
        c->epipe = 1; /* EPIPE: it stopped reading; its status says why */
    if (c->off == c->len || c->epipe)
        ml_close(&c->in);
}

/* Keeps the first ML_PIPE_STDERR bytes of stderr and drains the rest. */
static void ml_child_read(ml_child_t *c)
{
    char sink[1024];
    ssize_t r;

    for (;;) {
        apr_size_t room = sizeof(c->errtxt) - 1 - c->errn;
        r = read(c->err, room ? c->errtxt + c->errn : sink, room ? room : sizeof(sink));
        if (r > 0 && room)
            c->errn += (apr_size_t)r;
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR))
            ml_close(&c->err);
        if (r <= 0)
            break;
    }
    c->errtxt[c->errn] = '\0';
}

static void ml_child_reap(ml_child_t *c)
{
    int st;

    if (!c->exited && waitpid(c->pid, &st, WNOHANG) == c->pid)
        c->exited = 1, c->status = st;
}

/* Feeds stdin and collects stderr until the child has exited or closed
 * both; APR_TIMEUP at the deadline. */
static apr_status_t ml_child_pump(ml_child_t *c, apr_time_t deadline)
{
    struct pollfd fds[2];
    apr_time_t now;
    int n, ms;

    for (;;) {
        if (c->in < 0)
            ml_child_reap(c);
        if (c->exited && c->err >= 0)
            ml_child_read(c);
        if (c->exited || (c->in < 0 && c->err < 0))
            return APR_SUCCESS;
        now = apr_time_now();
        if (now >= deadline)
            return APR_TIMEUP;
        ms = (int)apr_time_as_msec(deadline - now) + 1;
        if (c->in < 0 && ms > ML_PIPE_POLL_MS)
            ms = ML_PIPE_POLL_MS;
        n = 0;
        if (c->in >= 0)
            fds[n].fd = c->in, fds[n].events = POLLOUT, fds[n++].revents = 0;
        if (c->err >= 0)
            fds[n].fd = c->err, fds[n].events = POLLIN, fds[n++].revents = 0;
        if (poll(fds, (nfds_t)n, ms) <= 0)
            continue;
        if (c->in >= 0 && fds[0].revents)
            ml_child_write(c);
        if (c->err >= 0 && fds[n - 1].revents)
            ml_child_read(c);
    }
}

/* Waits for the exit once the pipes are done; backs off from 1 ms. */
static apr_status_t ml_child_wait(ml_child_t *c, apr_time_t deadline)
{
    apr_interval_time_t nap = 1000;
    int st;
    pid_t r;

    while (!c->exited) {
        r = waitpid(c->pid, &st, WNOHANG);
        if (r == c->pid) {
            c->exited = 1, c->status = st;
            break;
        }
        if (r < 0 && errno != EINTR)
            return APR_FROM_OS_ERROR(errno);
        if (apr_time_now() >= deadline)
            return APR_TIMEUP;
        apr_sleep(nap);
        if (nap < 20000)
            nap *= 2;
    }
    return APR_SUCCESS;
}

static apr_status_t ml_child_kill(ml_child_t *c)
{
    int st;

    kill(-c->pid, SIGKILL);
    kill(c->pid, SIGKILL);
    while (waitpid(c->pid, &st, 0) < 0 && errno == EINTR)
        ;
    return APR_TIMEUP;
}

/* Runs the child with SIGPIPE blocked in this thread, then swallows the
 * one a write to a departed child raised: a library may not change the
 * process's dispositions, and the signal must not outlive this call. */
static apr_status_t ml_child_run(ml_child_t *c, apr_time_t deadline)
{
    sigset_t pipe_set, old;
    struct timespec zero = {0, 0};
    apr_status_t rv;

    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    rv = ml_child_pump(c, deadline);
    ml_close(&c->in);
    if (c->epipe && !sigismember(&old, SIGPIPE))
        while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
            ;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rv == APR_SUCCESS)
        rv = ml_child_wait(c, deadline);
    if (rv == APR_TIMEUP)
        ml_child_kill(c);
    ml_close(&c->err);
    return rv;
}

static apr_status_t ml_pipe_report(const ml_pipe_t *pp, const ml_child_t *c, char *errbuf,
                                   apr_size_t errlen)
{
    apr_size_t o;

    if (WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0 && !c->epipe)
        return APR_SUCCESS;
    if (WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0)
        ml_mail_errf(errbuf, errlen, "%s: exited before reading the whole message", pp->argv[0]);
    else if (WIFEXITED(c->status))
        ml_mail_errf(errbuf, errlen, "%s: exited with status %d", pp->argv[0],
                     WEXITSTATUS(c->status));
    else
        ml_mail_errf(errbuf, errlen, "%s: killed by signal %d", pp->argv[0],
                     WIFSIGNALED(c->status) ? WTERMSIG(c->status) : 0);
    if (c->errn > 0 && errbuf && (o = strlen(errbuf)) + 3 < errlen) {
        ml_mail_errf(errbuf + o, errlen - o, ": ");
        ml_mail_err_remote(errbuf, errlen, c->errtxt, c->errn);
    }
    return APR_EGENERAL;
}

static apr_status_t ml_pipe_send(void *impl, const char *from, const char *rcpt,
                                 const char *msg, apr_size_t len, apr_pool_t *scratch,
                                 char *errbuf, apr_size_t errlen)
{
    const ml_pipe_t *pp = impl;
    ml_child_t c;
    char eb[128];
    apr_status_t rv;
    int e;

    memset(&c, 0, sizeof(c));
    c.in = c.err = -1;
    c.msg = msg;
    c.len = len;
    if ((e = ml_spawn(pp, &c)) != 0) {
        ml_mail_errf(errbuf, errlen, "%s: cannot start: %s", pp->argv[0],
                     apr_strerror(APR_FROM_OS_ERROR(e), eb, sizeof(eb)));
        return APR_FROM_OS_ERROR(e);
    }
    rv = ml_child_run(&c, apr_time_now() + pp->timeout);
    if (rv == APR_TIMEUP) {
        ml_mail_errf(errbuf, errlen, "%s: did not finish within %.1f s; killed", pp->argv[0],
                     (double)pp->timeout / APR_USEC_PER_SEC);
        return rv;
    }
    if (rv != APR_SUCCESS) {
        ml_mail_errf(errbuf, errlen, "%s: cannot get its exit status (is SIGCHLD ignored?): %s",
                     pp->argv[0], apr_strerror(rv, eb, sizeof(eb)));
        return rv;
    }
    return ml_pipe_report(pp, &c, errbuf, errlen);
}

const ml_mail_transport_t ml_mail_pipe_transport = {"pipe", ml_pipe_create, ml_pipe_send};
