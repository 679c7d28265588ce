/* Randomness for public values: IVs, MIME boundaries, Message-IDs and
 * maildir file names. Secrets (link ids, codes, CSRF nonces, keys) are not
 * drawn here but from ml_crypto_random, so none is held in memory ahead of
 * its use.
 *
 * Each thread keeps a buffer of OpenSSL randomness refilled a kilobyte at
 * a time: one RAND_bytes call costs a DRBG re-key and a getpid(2), and a
 * sign-in needs several public values. A fork makes every buffer stale (the
 * child must never repeat its parent's bytes); the fork is noticed through
 * a pthread_atfork counter, so the hot path makes no system call. */
#ifndef ML_RANDOM_H
#define ML_RANDOM_H

#include <apr.h>
#include <sys/types.h>

/* n (at most 1024) random bytes; 0 when OpenSSL has none to give. */
int ml_random_public(unsigned char *out, apr_size_t n);

/* Changes in a child after every fork(2): state cached per process (pids,
 * random buffers) compares it instead of calling getpid(2). */
apr_uint32_t ml_random_fork_generation(void);

/* getpid(2), asked of the kernel once per thread and fork. */
pid_t ml_random_pid(void);

#endif
