/* What the sign-in flow hands out, and the checks each needs on the way
 * back in. No HTTP here: the handler decides statuses.
 *
 *   link     the emailed URL's token: an opaque id and a MAC, 38 characters;
 *            its claims live in the store (ml_store.h) under the id's key,
 *            in a link record (below), with the code tries
 *   pending  the waiting tab's hidden value: the same id under another MAC,
 *            so it cannot be used as a link, and useless without the code,
 *            which only the mail carries
 *   binding  (cookie NAME_bind) n: the browser's nonce, also its CSRF token
 *   session  (cookie NAME) email, iat (issued), seen (last renewed), aud (the
 *            realm it was issued for: the site's origin unless MagicLinkRealm
 *            names one; a session is no session in another realm), sid (its
 *            own random id, for signing out one browser; optional)
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
#include "ml_store.h"

#define ML_CODE_DIGITS   6
#define ML_NONCE_LEN     24          /* 18 random bytes in base64url */
#define ML_LINK_ID_LEN   22          /* 16 random bytes in base64url */
#define ML_LINK_MAC_LEN  16          /* 12 bytes of MAC in base64url */
#define ML_LINK_TOKEN_LEN (ML_LINK_ID_LEN + ML_LINK_MAC_LEN)

typedef enum { ML_TOKEN_LINK, ML_TOKEN_PENDING } ml_token_kind_t;

/* A link's state in its record: open; approved from another device (the
 * waiting tab may sign in, once); refused (a wrong number or "That wasn't
 * me": the link is over); used. */
typedef enum {
    ML_LINK_OPEN = 'o',
    ML_LINK_APPROVED = 'a',
    ML_LINK_REFUSED = 'r',
    ML_LINK_USED = 'x'
} ml_link_state_t;

#define ML_MATCH_DIGITS 2           /* the number the waiting tab shows */
#define ML_DEVICE_MAX   64          /* the asking device's description, at most */

typedef struct ml_link {
    /* From the token. */
    char id[ML_LINK_ID_LEN + 1];
    ml_store_key_t key;             /* where the record lives */
    /* From the record. */
    const char *email;
    const char *nonce;              /* the asking browser's binding nonce */
    const char *ret;                /* sanitized return path */
    const char *code_hash;
    const char *lang;               /* the asking page's language ("" when none) */
    const char *match;              /* the number for the other device ("" in a
                                     * record made before there was one) */
    const char *device;             /* the asking browser, "Browser|OS" (ml_device.h;
                                     * "" when unknown) */
    apr_int64_t iat, exp;
    int state;                      /* ml_link_state_t */
    int tries;                      /* code tries counted (from the store) */
} ml_link_t;

typedef struct ml_issued {
    ml_link_t link;
    char code[ML_CODE_DIGITS + 1];
    const char *token;              /* for the URL, in p */
    const char *pending;            /* for the waiting tab, in p */
    const char *rec;                /* the record to store, in p */
    apr_size_t rec_len;
} ml_issued_t;

/* A fresh random base64url string of ML_NONCE_LEN characters, in p. */
const char *ml_nonce(apr_pool_t *p);

/* Makes a link for email, bound to the browser nonce: id, code, the number
 * to match, tokens and the record to store until now + ttl. device is the
 * asking browser's description (ml_device_describe; NULL when unknown). */
ml_codec_err_t ml_link_issue(const ml_keyring_t *kr, apr_int64_t now, int ttl,
                             const char *email, const char *nonce, const char *ret,
                             const char *lang, const char *device, apr_pool_t *p,
                             ml_issued_t *out);

/* Checks a token's form and MAC (constant time) and fills out->id and
 * out->key: ML_CODEC_MALFORMED or ML_CODEC_MAC when it is not ours. Asks
 * no store: a forged token costs nothing. */
ml_codec_err_t ml_link_token(const ml_keyring_t *kr, ml_token_kind_t kind, const char *token,
                             ml_link_t *out);

/* The record of l (its claims and state), in p. */
const char *ml_link_record(const ml_link_t *l, apr_pool_t *p, apr_size_t *len);
/* Reads a stored record into l's claims; ML_CODEC_JSON when it is not one
 * of ours. rec is modified in place and must live as long as l. */
ml_codec_err_t ml_link_parse_record(char *rec, apr_size_t len, ml_link_t *l);

/* Constant-time check of a typed code against the link's code hash. */
int ml_link_code_matches(const ml_keyring_t *kr, const ml_link_t *l, const char *code);

/* Constant-time check of a typed number (spaces allowed around it, "7" for
 * "07") against the link's number; 0 when the link has none. */
int ml_link_match_ok(const ml_link_t *l, const char *typed);

/* The digits of typed (NULL: none) into out, NUL-terminated, skipping the
 * characters in seps: how many, or -1 for any other character or more than
 * max digits (out has room for max + 1). */
int ml_link_digits(const char *typed, const char *seps, char *out, int max);

/* A typed code read the forgiving way: digits kept, spaces and dashes
 * dropped; 1 when exactly ML_CODE_DIGITS digits remain (into out). */
int ml_link_code_clean(const char *typed, char out[ML_CODE_DIGITS + 1]);

/* Browser cookies of one sealed claim: the binding (a nonce) and the
 * known browser (ML_KNOWN_LEN hex digits: the digest of an address this
 * browser signed in as). Seal a value; open one (NULL if absent or invalid). */
#define ML_KNOWN_LEN 64
typedef enum { ML_CLAIM_BIND, ML_CLAIM_KNOWN } ml_claim_cookie_t;
ml_codec_err_t ml_claim_cookie_seal(ml_claim_cookie_t kind, ml_scratch_t *s,
                                    const ml_keyring_t *kr, const char *name, const char *value,
                                    apr_int64_t now, apr_pool_t *p, const char **out);
const char *ml_claim_cookie_open(ml_claim_cookie_t kind, ml_scratch_t *s, const ml_keyring_t *kr,
                                 const char *name, const char *value, apr_int64_t now,
                                 apr_int64_t max_age, apr_pool_t *p);

#define ML_REALM_MAX      256
#define ML_TIME_LIMIT     ((apr_int64_t)1 << 40)   /* no Unix time of ours is larger */

typedef struct ml_session {
    const char *email;      /* canonical address */
    apr_int64_t iat;        /* issued (sign-in), Unix seconds */
    apr_int64_t seen;       /* last renewal, Unix seconds */
    const char *aud;        /* realm */
    const char *sid;        /* this session's own random id; NULL in one sealed
                             * without it (a Go backend's, say) */
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
