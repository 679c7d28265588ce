/* The signed identity header for backends (doc/backends.md): directives,
 * the key ring loaded at start-up, the fixup that strips any incoming copy
 * of the header and sets the signed token, and the JWK Set handler
 * (`SetHandler magiclink-jwks`). The token work itself is src/ml_jwt.c. */
#ifndef ML_JWT_GLUE_H
#define ML_JWT_GLUE_H

#include "httpd.h"
#include "http_config.h"

#include "ml_jwt.h"

#define ML_JWKS_HANDLER      "magiclink-jwks"
#define ML_JWT_DEFAULT_TTL   60
#define ML_JWT_TTL_MAX       86400
/* A token is signed again after this many seconds at most (less for short
 * lifetimes: a quarter of MagicLinkJWTTTL), so one signature serves a
 * browser's burst of requests; the gate's own checks still run on each. */
#define ML_JWT_REUSE_MAX     5

/* Per server: the keys (MagicLinkJWTKey, in order; the first signs). */
typedef struct ml_jwt_srv {
    apr_array_header_t *key_specs;  /* ml_jwt_keyspec_t */
    int wanted;                     /* a MagicLinkJWTHeader in this server's config */
    /* Made in check_config, shared read-only by every thread. */
    ml_jwt_ring_t *ring;
    const char *jwks;               /* the JWK Set document */
    apr_size_t jwks_len;
} ml_jwt_srv_t;

typedef struct ml_jwt_keyspec {
    const char *kid;
    const char *path;
} ml_jwt_keyspec_t;

/* Per directory. */
typedef struct ml_jwt_dir {
    const char *header;             /* MagicLinkJWTHeader */
    const char *audience;           /* MagicLinkJWTAudience [the issuer] */
    int ttl;                        /* MagicLinkJWTTTL [60] */
    const char *group_file;         /* MagicLinkGroupFile */
} ml_jwt_dir_t;

/* Merging, called from ml_conf.c; NULL on either side allowed. */
ml_jwt_srv_t *ml_jwt_merge_srv(apr_pool_t *p, ml_jwt_srv_t *base, ml_jwt_srv_t *add);
ml_jwt_dir_t *ml_jwt_merge_dir(apr_pool_t *p, ml_jwt_dir_t *base, ml_jwt_dir_t *add);

/* Directive setters, for the table in ml_conf.c. */
const char *ml_cmd_jwt_key(cmd_parms *cmd, void *dc, const char *kid, const char *path);
const char *ml_cmd_jwt_header(cmd_parms *cmd, void *dc, const char *arg);
const char *ml_cmd_jwt_audience(cmd_parms *cmd, void *dc, const char *arg);
const char *ml_cmd_jwt_ttl(cmd_parms *cmd, void *dc, const char *arg);
const char *ml_cmd_group_file(cmd_parms *cmd, void *dc, const char *arg);

void ml_jwt_register_hooks(apr_pool_t *p);

#endif
