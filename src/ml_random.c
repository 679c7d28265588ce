#include "ml_random.h"

#include <apr_atomic.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#define ML_RANDOM_BUFFER 1024

typedef struct ml_random_tls {
    unsigned char bytes[ML_RANDOM_BUFFER];
    apr_size_t used;         /* bytes already handed out (and wiped) */
    apr_uint32_t generation; /* the fork the bytes were drawn in; 0: none yet */
    pid_t pid;
    apr_uint32_t pid_generation; /* the fork pid was asked in; 0: not yet */
} ml_random_tls_t;

static _Thread_local ml_random_tls_t ml_tls;
static volatile apr_uint32_t ml_fork_count;
static pthread_once_t ml_atfork_once = PTHREAD_ONCE_INIT;

/* Runs in the child, single-threaded, before fork() returns there. */
static void ml_random_after_fork(void)
{
    apr_atomic_inc32(&ml_fork_count);
}

static void ml_random_register(void)
{
    pthread_atfork(NULL, NULL, ml_random_after_fork);
}

apr_uint32_t ml_random_fork_generation(void)
{
    /* Registered before any cached state exists, so a fork after the first
     * use is always counted. Never 0, which marks a new thread's empty state. */
    pthread_once(&ml_atfork_once, ml_random_register);
    return apr_atomic_read32(&ml_fork_count) + 1;
}

int ml_random_bytes(unsigned char *out, apr_size_t n)
{
    ml_random_tls_t *t = &ml_tls;
    apr_uint32_t gen = ml_random_fork_generation();

    if (n > ML_RANDOM_BUFFER)
        return 0;
    if (t->generation != gen || t->used + n > ML_RANDOM_BUFFER) {
        if (RAND_bytes(t->bytes, ML_RANDOM_BUFFER) != 1)
            return 0;
        t->used = 0;
        t->generation = gen;
    }
    memcpy(out, t->bytes + t->used, n);
    /* Bytes handed out are not kept: a later memory disclosure cannot
     * connect an IV to the value it is used with. */
    OPENSSL_cleanse(t->bytes + t->used, n);
    t->used += n;
    return 1;
}

pid_t ml_random_pid(void)
{
    ml_random_tls_t *t = &ml_tls;
    apr_uint32_t gen = ml_random_fork_generation();

    if (t->pid_generation != gen) {
        t->pid = getpid();
        t->pid_generation = gen;
    }
    return t->pid;
}
