/* The values the sign-in flow seals: link tokens, pending tokens, browser
 * bindings and sessions, with the claims each carries and the checks each
 * needs on the way back in. No HTTP here: the handler decides statuses.
 *
 *   link     (name "magic", mailed in the URL)  email, csrf, id, return, code, exp
 *   pending  (name "magic_pending", hidden in the waiting tab) the same claims;
 *            it cannot be used as a link because the name is under the MAC,
 *            and it is useless without the code, which only the mail carries
 *   binding  (cookie NAME_bind) n: the browser's nonce, also its CSRF token
 *   session  (cookie NAME) email, iat (issued), seen (last renewed), aud (the
 *            realm it was issued for: the site's origin unless MagicLinkRealm
 *            names one; a session is no session in another realm)
 *
 * Bindings and sessions are validated claim by claim when opened, whoever
 * sealed them (a backend holding the keys can seal anything): exactly the
 * claims of the kind, each printable without control characters and within
 * its length; email canonical (ml_addr_is_canonical); times decimal, not
 * negative, below 2^40 and not more than ML_CODEC_FUTURE_SKEW in the future;
 * aud equal to the realm expected. Anything else is ML_CODEC_CLAIM (or
 * ML_CODEC_REALM), never a partly trusted session. */
#ifndef ML_LINK_H
#define ML_LINK_H

#include "ml_codec.h"

#define ML_NAME_LINK     "magic"
#define ML_NAME_PENDING  "magic_pending"
#define ML_CODE_DIGITS   6
#define ML_NONCE_LEN     24          /* 18 random bytes in base64url */

typedef struct ml_link {
    const char *email;
    const char *nonce;
    const char *id;
    const char *ret;
    const char *code_hash;
    apr_int64_t exp;
} ml_link_t;

typedef struct ml_issued {
    ml_link_t link;
    char code[ML_CODE_DIGITS + 1];
    const char *token;      /* sealed link, in p */
    const char *pending;    /* sealed pending, in p */
} ml_issued_t;

/* A fresh random base64url string of ML_NONCE_LEN characters, in p. */
const char *ml_nonce(apr_pool_t *p);

/* Makes a link for email, bound to the browser nonce, and seals it twice. */
ml_codec_err_t ml_link_issue(ml_scratch_t *s, const ml_keyring_t *kr, apr_int64_t now,
                             int ttl, const char *email, const char *nonce, const char *ret,
                             apr_pool_t *p, ml_issued_t *out);

/* Opens a link or pending token (by name) and checks its claims and expiry:
 * ML_CODEC_EXPIRED past its exp claim or when sealed longer than ttl ago
 * (so lowering the lifetime applies to links already out), ML_CODEC_JSON
 * when a claim is missing. */
ml_codec_err_t ml_link_open(ml_scratch_t *s, const ml_keyring_t *kr, const char *name,
                            const char *value, apr_int64_t now, int ttl, apr_pool_t *p,
                            ml_link_t *out);

/* Constant-time check of a typed code against the link's code hash. */
int ml_link_code_matches(ml_scratch_t *s, const ml_keyring_t *kr, const ml_link_t *l,
                         const char *code);

/* Binding cookie: seal a nonce; open one (NULL if absent or invalid). */
ml_codec_err_t ml_binding_seal(ml_scratch_t *s, const ml_keyring_t *kr, const char *name,
                               const char *nonce, apr_int64_t now, apr_pool_t *p,
                               const char **out);
const char *ml_binding_open(ml_scratch_t *s, const ml_keyring_t *kr, const char *name,
                            const char *value, apr_int64_t now, apr_int64_t max_age,
                            apr_pool_t *p);

#define ML_REALM_MAX      256
#define ML_TIME_LIMIT     ((apr_int64_t)1 << 40)   /* no Unix time of ours is larger */

typedef struct ml_session {
    const char *email;      /* canonical address */
    apr_int64_t iat;        /* issued (sign-in), Unix seconds */
    apr_int64_t seen;       /* last renewal, Unix seconds */
    const char *aud;        /* realm */
} ml_session_t;

/* Whether s is a valid realm name: 1 to ML_REALM_MAX printable ASCII
 * characters, no space. */
int ml_realm_valid(const char *s);

/* Seals a session; ML_CODEC_CLAIM when sess would not pass the checks of
 * ml_session_open (so nothing is sealed that we would refuse). */
ml_codec_err_t ml_session_seal(ml_scratch_t *s, const ml_keyring_t *kr, const char *name,
                               const ml_session_t *sess, apr_int64_t now, apr_pool_t *p,
                               const char **out);

/* Opens a session for realm aud, validates its claims and enforces both
 * lifetimes: ML_CODEC_CLAIM or ML_CODEC_REALM (see above), ML_CODEC_EXPIRED
 * when older than ttl since iat, or idle longer than idle since seen. */
ml_codec_err_t ml_session_open(ml_scratch_t *s, const ml_keyring_t *kr, const char *name,
                               const char *value, apr_int64_t now, int ttl, int idle,
                               const char *aud, apr_pool_t *p, ml_session_t *out);

#endif
