/* AuthType MagicLink: the authn hook that admits a session cookie, and the
 * `Require magiclink-domain` authz provider. */
#ifndef ML_AUTH_H
#define ML_AUTH_H

#include "httpd.h"

void ml_auth_register_hooks(apr_pool_t *p);

#endif
