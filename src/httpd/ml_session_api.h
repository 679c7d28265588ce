/* GET `session` below the handler: who is signed in, as JSON, for scripts
 * of the site itself and of the origins listed with MagicLinkCORSOrigin
 * (doc/backends.md). */
#ifndef ML_SESSION_API_H
#define ML_SESSION_API_H

#include "ml_web.h"

/* The route, called by the handler for "session" (every method: it answers
 * GET, HEAD and OPTIONS, and 405 to the rest). */
int ml_route_session(ml_req_t *q);

/* MagicLinkCORSOrigin, for the table in ml_conf.c. */
const char *ml_cmd_cors_origin(cmd_parms *cmd, void *dc, const char *arg);

#endif
