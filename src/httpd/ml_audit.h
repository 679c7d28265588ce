/* The admin's log of sign-in events: one line per decision at `notice`
 * (Debian's packaged conf sets `LogLevel magiclink:notice`), and the
 * matching metric counted, from one place:
 *
 *   MAGICLINK-1NN: EVENT email=ADDRESS client=IP outcome=WORD
 *
 * ADDRESS is the canonical address, "h:" and an HMAC of it under the key
 * file's store key with `MagicLinkLogAddresses Hashed`, or "-" when the
 * request named none we can trust; IP is the client's (mod_remoteip's
 * when it is loaded). client= and outcome= end the line, always in that
 * order, for fail2ban (packaging/fail2ban). Never a link, code or key. */
#ifndef ML_AUDIT_H
#define ML_AUDIT_H

#include "ml_metrics.h"
#include "ml_web.h"

/* Counts `outcome`, logs its line naming email (NULL: none known), and
 * passes rc on. */
int ml_audit(ml_req_t *q, const char *email, ml_metric_t outcome, int rc);

/* email as the log names it under sc's MagicLinkLogAddresses. */
const char *ml_audit_name(apr_pool_t *p, const ml_srv_conf_t *sc, const char *email);

/* A line of the same form for an event no metric names. */
void ml_audit_line(ml_req_t *q, const char *email, int tag, const char *event,
                   const char *outcome);

#endif
