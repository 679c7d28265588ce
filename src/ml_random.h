/* Randomness for the values a request draws: link ids and codes, nonces,
 * IVs, MIME boundaries, Message-IDs, maildir names. Long-lived keys are
 * drawn straight from OpenSSL instead (ml_crypto_random).
 *
 * Each thread keeps a buffer of OpenSSL randomness refilled a kilobyte at
 * a time: one RAND_bytes call costs a DRBG re-key and a getpid(2) (5 % of
 * a POST generate's CPU when each draw made one), and a request needs
 * several values. Secrets come from it too: bytes waiting in the buffer are
 * no more exposed than the DRBG state beside them in the same memory, which
 * predicts every later output anyway; each byte is wiped as it is handed
 * out. A fork makes every buffer stale (the child must never repeat its
 * parent's bytes); the fork is noticed through a pthread_atfork counter, so
 * the hot path makes no system call. */
#ifndef ML_RANDOM_H
#define ML_RANDOM_H

#include <apr.h>
#include <sys/types.h>

/* n (at most 1024) random bytes; 0 when OpenSSL has none to give. */
int ml_random_bytes(unsigned char *out, apr_size_t n);

/* Changes in a child after every fork(2): state cached per process (pids,
 * random buffers) compares it instead of calling getpid(2). */
apr_uint32_t ml_random_fork_generation(void);

/* getpid(2), asked of the kernel once per thread and fork. */
pid_t ml_random_pid(void);

#endif
