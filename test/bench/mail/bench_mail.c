/* Mail throughput: messages per second composed (into a recycled buffer),
 * and composed and delivered to a maildir on tmpfs, with 1 and 2 threads.
 *
 *   bench_mail [MESSAGES] [DIR]     defaults: 20000, /dev/shm/ml-bench-mail-PID
 *
 * Figures, not a test: it prints them and fails only if something breaks.
 * The maildir path does what a real delivery does (exclusive create, write,
 * fsync, link, unlink, fsync of new/); tmpfs takes the disk out of it.
 * Heap calls (malloc, calloc, realloc) per message are counted by wrapping
 * glibc's allocator in this executable (not under a sanitizer, which has
 * its own). */
#include "ml_addr.h"
#include "ml_mail_msg.h"
#include "ml_mailer.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_thread_proc.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define ML_COUNT_HEAP 0
#else
#define ML_COUNT_HEAP 1
extern void *__libc_malloc(size_t n);
extern void *__libc_calloc(size_t n, size_t k);
extern void *__libc_realloc(void *p, size_t n);

static volatile apr_uint32_t heap_calls;

void *malloc(size_t n);
void *calloc(size_t n, size_t k);
void *realloc(void *p, size_t n);

void *malloc(size_t n)
{
    __atomic_add_fetch(&heap_calls, 1, __ATOMIC_RELAXED);
    return __libc_malloc(n);
}

void *calloc(size_t n, size_t k)
{
    __atomic_add_fetch(&heap_calls, 1, __ATOMIC_RELAXED);
    return __libc_calloc(n, k);
}

void *realloc(void *p, size_t n)
{
    __atomic_add_fetch(&heap_calls, 1, __ATOMIC_RELAXED);
    return __libc_realloc(p, n);
}
#endif

static apr_uint32_t heap_now(void)
{
#if ML_COUNT_HEAP
    return __atomic_load_n(&heap_calls, __ATOMIC_RELAXED);
#else
    return 0;
#endif
}

typedef struct {
    const ml_mail_msg_t *msg;
    ml_mailer_t *mailer;
    int count;
    int failures;
    apr_size_t bytes;
} ml_bench_job_t;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A message shaped like the real one: non-ASCII subject and names, a
 * link and a code in a text part of ~0.5 KB and an HTML part of ~3 KB. */
static void make_msg(apr_pool_t *p, ml_mail_msg_t *m, ml_addr_from_t *from)
{
    const char *err, *to;
    char *html;
    int i;

    if (ml_addr_parse_from(p, "Zo\xc3\xab's Magic Link <noreply@b\xc3\xbc" "cher.example>", from,
                           &err) != APR_SUCCESS
        || ml_addr_normalize(p, "alice.smith@example.org", 23, &to, NULL, &err) != APR_SUCCESS) {
        fprintf(stderr, "bench: %s\n", err);
        exit(1);
    }
    html = apr_pstrdup(p, "<!doctype html><html><head><meta charset=\"utf-8\"><title>Sign in"
                          "</title></head><body style=\"font-family: sans-serif\">\n");
    for (i = 0; i < 20; i++)
        html = apr_pstrcat(p, html, "<p style=\"margin: 0 0 1em 0; color: #333\">Gr\xc3\xbc\xc3\x9f"
                                    "e \xe2\x80\x94 a paragraph of the layout, as templates "
                                    "render it.</p>\n", NULL);
    html = apr_pstrcat(p, html, "<p><a href=\"https://login.example.com/magic/verify/MTcwMDAw"
                                "MDAwMHxsaW5rLXRva2VuLXNlY3JldC1kby1ub3Qtc2hvd3x3aGF0ZXZlcg==\">"
                                "Sign in</a></p><p>Code: <b>482913</b></p></body></html>\n", NULL);
    memset(m, 0, sizeof(*m));
    m->from = from;
    m->to = to;
    m->subject = "Ihr Anmeldelink f\xc3\xbcr example.com \xe2\x80\x94 15 Minuten g\xc3\xbcltig";
    m->subject_len = strlen(m->subject);
    m->text = "Hello,\n\nopen this link to sign in to example.com:\n"
              "https://login.example.com/magic/verify/MTcwMDAwMDAwMHxsaW5rLXRva2VuLXNlY3JldC1k"
              "by1ub3Qtc2hvd3x3aGF0ZXZlcg==\n\nOr type the code 482913 in the window that asked "
              "for it.\nThe link works for 15 minutes, once, in the browser that asked for it.\n\n"
              "If you did not ask to sign in, ignore this message.\n";
    m->text_len = strlen(m->text);
    m->html = html;
    m->html_len = strlen(html);
}

static void *APR_THREAD_FUNC run_job(apr_thread_t *t, void *data)
{
    ml_bench_job_t *j = data;
    apr_pool_t *scratch;
    ml_buf_t b;
    const char *err;
    char eb[256];
    int i;

    apr_pool_create(&scratch, NULL);
    ml_buf_init(&b);
    for (i = 0; i < j->count; i++) {
        if (ml_mail_compose(&b, j->msg, &err) != APR_SUCCESS) {
            fprintf(stderr, "bench: compose: %s\n", err);
            j->failures++;
            break;
        }
        j->bytes += b.len;
        if (j->mailer && ml_mailer_send(j->mailer, j->msg->from->addr, j->msg->to, b.data, b.len,
                                        scratch, eb, sizeof(eb)) != APR_SUCCESS) {
            fprintf(stderr, "bench: send: %s\n", eb);
            j->failures++;
            break;
        }
        apr_pool_clear(scratch);
    }
    ml_buf_free(&b);
    apr_pool_destroy(scratch);
    return NULL;
}

/* Runs `threads` jobs of count/threads messages each; prints one line. */
static int bench(const char *label, const ml_mail_msg_t *m, ml_mailer_t *mailer, int count,
                 int threads, apr_pool_t *p)
{
    ml_bench_job_t jobs[8];
    apr_thread_t *th[8];
    apr_status_t rv;
    apr_size_t bytes = 0;
    apr_uint32_t h0;
    double t0, dt;
    int i, failures = 0;

    memset(jobs, 0, sizeof(jobs));
    h0 = heap_now();
    t0 = now_s();
    for (i = 0; i < threads; i++) {
        jobs[i].msg = m, jobs[i].mailer = mailer, jobs[i].count = count / threads;
        apr_thread_create(&th[i], NULL, run_job, &jobs[i], p);
    }
    for (i = 0; i < threads; i++) {
        apr_thread_join(&rv, th[i]);
        failures += jobs[i].failures;
        bytes += jobs[i].bytes;
    }
    dt = now_s() - t0;
    printf("%-28s %8d msgs %7.3f s %9.0f msg/s %7.2f us/msg %5.1f KB/msg", label, count, dt,
           count / dt, dt * 1e6 / count * threads, (double)bytes / count / 1024);
    if (ML_COUNT_HEAP)
        printf(" %6.3f heap calls/msg", (double)(heap_now() - h0) / count);
    printf("\n");
    return failures;
}

static void remove_maildir(const char *dir)
{
    static const char *subs[] = {"new", "tmp", "cur"};
    char path[4096];
    struct dirent *e;
    DIR *d;
    size_t i;

    for (i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, subs[i]);
        if ((d = opendir(path)) != NULL) {
            while ((e = readdir(d)) != NULL) {
                char f[4400];
                if (e->d_name[0] == '.')
                    continue;
                snprintf(f, sizeof(f), "%s/%s", path, e->d_name);
                unlink(f);
            }
            closedir(d);
        }
        rmdir(path);
    }
    rmdir(dir);
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *p;
    ml_mail_msg_t m;
    ml_addr_from_t from;
    ml_mailer_t *mailer;
    const char *dir, *err;
    int n = argc > 1 ? atoi(argv[1]) : 20000, failures = 0;

    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&p, NULL);
    dir = argc > 2 ? argv[2] : apr_psprintf(p, "/dev/shm/ml-bench-mail-%ld", (long)getpid());
    make_msg(p, &m, &from);
    printf("mail bench: %ld cores; maildir in %s; heap calls include each thread's set-up\n",
           sysconf(_SC_NPROCESSORS_ONLN), dir);
    /* Warm-up: OpenSSL's first random bytes load its provider and DRBG. */
    failures += bench("warm-up", &m, NULL, 1, 1, p);
    failures += bench("compose, 1 thread", &m, NULL, n * 10, 1, p);
    failures += bench("compose, 2 threads", &m, NULL, n * 10, 2, p);
    if (ml_mailer_create(&mailer, apr_pstrcat(p, "maildir:", dir, NULL), NULL, p, &err)
        != APR_SUCCESS) {
        fprintf(stderr, "bench: %s\n", err);
        return 1;
    }
    failures += bench("compose+maildir, 1 thread", &m, mailer, n, 1, p);
    remove_maildir(dir);
    ml_mailer_create(&mailer, apr_pstrcat(p, "maildir:", dir, NULL), NULL, p, &err);
    failures += bench("compose+maildir, 2 threads", &m, mailer, n, 2, p);
    remove_maildir(dir);
    apr_pool_destroy(p);
    apr_terminate();
    return failures ? 1 : 0;
}
