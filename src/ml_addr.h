/* Email addresses: validation and normalization, and the From spec.
 *
 * One mailbox, one identity: the normalized form is the canonical identity
 * of a person everywhere (allow lists, sessions, rate limits, sign-outs,
 * Require user), so it must not depend on how the address was typed.
 *
 * The accepted syntax is a practical subset of RFC 5321/5322:
 *   local@domain, local a dot-atom of ASCII atext without '%' and '!',
 *   domain two or more labels of letters, digits and hyphens; IDN labels as
 *   UTF-8 (converted to punycode A-labels) or as A-labels already (checked
 *   by decoding them). The whole address is lower-cased, local part too:
 *   RFC 5321 lets a receiving system treat "Ann" and "ann" as two mailboxes,
 *   but no real mail system does, and for sign-in a case-sensitive identity
 *   would let "Ann@x" and "ann@x" be two people to the allow list, the rate
 *   limits and "sign out everywhere" while one inbox receives both links.
 * Refused, each with its own message, so that no address can make a relay
 * deliver somewhere other than the mailbox it names: quoted local parts,
 * '%' and '!' (the percent hack and bang paths), source routes
 * ("@a:b@c": more than one '@'), address literals ("[192.0.2.1]") and
 * all-numeric top labels; also non-ASCII local parts (no SMTPUTF8, and
 * lookalike local parts cannot be told apart by eye), spaces and control
 * characters anywhere, leading, trailing or consecutive dots, and anything
 * over the length limits below.
 * Messages in *err are static, never echo the input, and may be shown to
 * the visitor. */
#ifndef ML_ADDR_H
#define ML_ADDR_H

#include <apr_pools.h>

#define ML_ADDR_LOCAL_MAX 64   /* RFC 5321 4.5.3.1.1 */
#define ML_ADDR_DOMAIN_MAX 253 /* 255 octets on the wire, less length bytes */
#define ML_ADDR_LABEL_MAX 63
#define ML_ADDR_MAX 254        /* the forward-path limit, less the angle brackets */
#define ML_ADDR_INPUT_MAX 1024 /* raw input; UTF-8 domains are longer than A-labels */

/* Validates in[0..len) (which may contain NULs: they are refused, not a
 * terminator) and on success sets *out_ascii to the canonical address:
 * lower case, domain in A-labels (for envelopes, headers and every
 * comparison), and *out_display
 * to the same with U-labels (to show to people; equal to *out_ascii when the
 * domain has no IDN label). Either out pointer may be NULL. Strings come
 * from p. APR_EINVAL with *err set when the address is refused. */
apr_status_t ml_addr_normalize(apr_pool_t *p, const char *in, apr_size_t len,
                               const char **out_ascii, const char **out_display,
                               const char **err);

/* Whether addr[0..len) is already canonical: what ml_addr_normalize would
 * return for it, byte for byte. Allocates nothing. */
int ml_addr_is_canonical(const char *addr, apr_size_t len);

/* A domain alone ("example.com", "b\xc3\xbccher.example", "XN--BCHER-KVA.example")
 * under the same rules as an address's: *out_ascii lower case, A-labels. */
apr_status_t ml_addr_normalize_domain(apr_pool_t *p, const char *in, apr_size_t len,
                                      const char **out_ascii, const char **err);

/* The domain of a normalized address: the text after its '@'; NULL if none. */
const char *ml_addr_domain(const char *addr);

/* A parsed MagicLinkMailFrom value: "addr" or "Display Name <addr>" (the
 * name may be a quoted-string). Made once at start-up, read by every thread. */
typedef struct ml_addr_from {
    const char *addr;   /* normalized ASCII address: envelope sender */
    const char *name;   /* display name as UTF-8; NULL when there is none */
    const char *domain; /* addr's domain, for Message-IDs */
    const char *line;   /* the complete header, "From: ..." encoded and folded, no CRLF */
} ml_addr_from_t;

apr_status_t ml_addr_parse_from(apr_pool_t *p, const char *spec, ml_addr_from_t *out,
                                const char **err);

#endif
