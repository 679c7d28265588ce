/* malloc_count: an LD_PRELOAD shim that counts heap traffic.
 *
 *   LD_PRELOAD=build/bench/malloc_count.so prog ...
 *
 * Interposes malloc, calloc, realloc, reallocarray, free, posix_memalign,
 * aligned_alloc, memalign and valloc, and forwards each to glibc's allocator
 * through the names glibc exports it under (__libc_malloc and friends).
 * That avoids the usual dlsym(RTLD_NEXT) bootstrap problem: dlsym may itself
 * allocate before the real malloc is known. glibc only, which Debian is.
 *
 * The program reads the counters through ml_malloc_count_get(), found with
 * dlsym(RTLD_DEFAULT, ...) so the same binary runs without the shim.
 * ML_MALLOC_COUNT_REPORT=1 also prints them at exit, for any program.
 * ml_malloc_count_trace(n) prints a backtrace for each of the next n
 * allocation calls, to find out who allocates.
 *
 * Counters are atomics (relaxed: each is a sum, read when the threads that
 * matter are quiet), so threaded programs count correctly. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <execinfo.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ML_EXPORT __attribute__((visibility("default")))

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t n);
void __libc_free(void *p);
void *__libc_memalign(size_t align, size_t n);

/* Keep in step with the copy in test/bench/codec/bench_codec.c. */
typedef struct ml_malloc_counts {
    unsigned long long calls;  /* allocating calls, realloc included */
    unsigned long long bytes;  /* bytes asked for by those calls */
    unsigned long long frees;  /* free() of a non-NULL pointer */
    long long live;            /* usable bytes allocated and not yet freed */
} ml_malloc_counts_t;

static atomic_ullong ml_calls, ml_bytes, ml_frees;
static atomic_llong ml_live;
static atomic_long ml_trace_left;
/* initial-exec: a preloaded object's TLS is static, and the general model
 * could call into the allocator on first access. */
static __thread int ml_in_trace __attribute__((tls_model("initial-exec")));

ML_EXPORT void ml_malloc_count_get(ml_malloc_counts_t *out);
ML_EXPORT void ml_malloc_count_trace(long n);

void ml_malloc_count_get(ml_malloc_counts_t *out)
{
    out->calls = atomic_load_explicit(&ml_calls, memory_order_relaxed);
    out->bytes = atomic_load_explicit(&ml_bytes, memory_order_relaxed);
    out->frees = atomic_load_explicit(&ml_frees, memory_order_relaxed);
    out->live = atomic_load_explicit(&ml_live, memory_order_relaxed);
}

void ml_malloc_count_trace(long n)
{
    void *frames[2];

    /* The first backtrace() loads libgcc_s, which allocates; do it now,
     * uncounted and untraced, rather than in the middle of a trace. */
    ml_in_trace = 1;
    backtrace(frames, 2);
    ml_in_trace = 0;
    atomic_store(&ml_trace_left, n);
}

static void ml_trace(const char *what, size_t n)
{
    void *frames[24];
    char head[80];
    int depth, len;

    if (ml_in_trace || atomic_load_explicit(&ml_trace_left, memory_order_relaxed) <= 0)
        return;
    if (atomic_fetch_sub(&ml_trace_left, 1) <= 0)
        return;
    ml_in_trace = 1;
    len = snprintf(head, sizeof(head), "malloc_count: %s(%zu) from\n", what, n);
    if (len > 0)
        (void)!write(2, head, (size_t)len);
    depth = backtrace(frames, 24);
    /* _fd: no allocation, unlike backtrace_symbols(). Frame 0 is this. */
    backtrace_symbols_fd(frames + 2, depth - 2, 2);
    ml_in_trace = 0;
}

static void ml_count_alloc(const char *what, void *p, size_t n)
{
    if (ml_in_trace)
        return;
    atomic_fetch_add_explicit(&ml_calls, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&ml_bytes, n, memory_order_relaxed);
    if (p)
        atomic_fetch_add_explicit(&ml_live, (long long)malloc_usable_size(p), memory_order_relaxed);
    ml_trace(what, n);
}

static void ml_count_free(void *p)
{
    if (ml_in_trace || !p)
        return;
    atomic_fetch_add_explicit(&ml_frees, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&ml_live, (long long)malloc_usable_size(p), memory_order_relaxed);
}

ML_EXPORT void *malloc(size_t n)
{
    void *p = __libc_malloc(n);
    ml_count_alloc("malloc", p, n);
    return p;
}

ML_EXPORT void *calloc(size_t n, size_t size)
{
    void *p = __libc_calloc(n, size);
    ml_count_alloc("calloc", p, p ? n * size : 0);
    return p;
}

ML_EXPORT void *realloc(void *old, size_t n)
{
    size_t was = old ? malloc_usable_size(old) : 0;
    void *p = __libc_realloc(old, n);

    if (ml_in_trace)
        return p;
    if (old && (p || n == 0)) {
        /* The old block is gone: moved, resized in place (then counted
         * again below at its new size), or freed by realloc(p, 0). */
        atomic_fetch_sub_explicit(&ml_live, (long long)was, memory_order_relaxed);
        if (n == 0)
            atomic_fetch_add_explicit(&ml_frees, 1, memory_order_relaxed);
    }
    if (n || !old)
        ml_count_alloc("realloc", p, n);
    return p;
}

ML_EXPORT void *reallocarray(void *old, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc(old, n * size);
}

ML_EXPORT void free(void *p)
{
    ml_count_free(p);
    __libc_free(p);
}

ML_EXPORT int posix_memalign(void **out, size_t align, size_t n)
{
    void *p;

    if (align % sizeof(void *) != 0 || (align & (align - 1)) != 0)
        return EINVAL;
    p = __libc_memalign(align, n);
    ml_count_alloc("posix_memalign", p, n);
    if (!p)
        return ENOMEM;
    *out = p;
    return 0;
}

ML_EXPORT void *aligned_alloc(size_t align, size_t n)
{
    void *p = __libc_memalign(align, n);
    ml_count_alloc("aligned_alloc", p, n);
    return p;
}

ML_EXPORT void *memalign(size_t align, size_t n)
{
    void *p = __libc_memalign(align, n);
    ml_count_alloc("memalign", p, n);
    return p;
}

ML_EXPORT void *valloc(size_t n)
{
    void *p = __libc_memalign((size_t)sysconf(_SC_PAGESIZE), n);
    ml_count_alloc("valloc", p, n);
    return p;
}

__attribute__((destructor)) static void ml_malloc_count_report(void)
{
    const char *env = getenv("ML_MALLOC_COUNT_REPORT");
    ml_malloc_counts_t c;

    if (!env || strcmp(env, "1") != 0)
        return;
    ml_malloc_count_get(&c);
    fprintf(stderr, "malloc_count: %llu allocations, %llu bytes, %llu frees, %lld bytes live at exit\n",
            c.calls, c.bytes, c.frees, c.live);
}
