/* AuthType MagicLink: the authn hook that admits a session cookie, and the
 * `Require magiclink-domain` authz provider. */
#ifndef ML_AUTH_H
#define ML_AUTH_H

#include "httpd.h"
#include "ml_web.h"

void ml_auth_register_hooks(apr_pool_t *p);

/* The session q's request carries, under q's location's limits: 1 with *sess
 * when it opens and was not signed out; 0 when there is none that does; -1
 * when the cache cannot tell and MagicLinkCacheOutage says Refuse. */
int ml_auth_session(ml_req_t *q, ml_session_t *sess);

#endif
