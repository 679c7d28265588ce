/* AuthType MagicLink: the authn hook that admits a session cookie, and the
 * `Require magiclink-domain` authz provider. */
#ifndef ML_AUTH_H
#define ML_AUTH_H

#include "httpd.h"
#include "ml_web.h"

void ml_auth_register_hooks(apr_pool_t *p);

/* The session q's request carries, under q's location's limits: 1 with *sess
 * when it opens (for this server's realm, claims valid), the allow policy
 * admits its address here and it was not signed out; 0 when there is none
 * that does; -1 when the cache cannot tell and MagicLinkCacheOutage says
 * Refuse. */
int ml_auth_session(ml_req_t *q, ml_session_t *sess);

/* Where the sign-outs that bind a session are stored: "sign out
 * everywhere" for its address, and "sign out this browser" for the session
 * itself (its sid; address and issue time for one sealed without). */
void ml_auth_session_keys(const ml_req_t *q, const ml_session_t *sess,
                          ml_store_key_t *everywhere, ml_store_key_t *browser);

/* May this canonical address sign in here, now? The server's allow policy
 * (MagicLinkAllow/AllowFile at server level) and every list of the sections
 * that apply to q (each narrows), with allow files as they are now. The
 * routes ask it at every sign-in decision (link, code, approval), the gate
 * at every request. */
int ml_auth_may_sign_in(const ml_req_t *q, const char *email);

#endif
