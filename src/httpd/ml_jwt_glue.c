#include "ml_jwt_glue.h"
#include "ml_preflight.h"
#include "ml_web.h"
#include "ml_conf.h"
#include "ml_groups.h"

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "apr_lib.h"
#include "apr_strings.h"

APLOG_USE_MODULE(magiclink);

#define ML_JWT_AUTH_TYPE   "MagicLink"
#define ML_JWT_THREAD_KEY  "mod_magiclink:jwt"
#define ML_JWT_SLOTS       8
#define ML_JWT_EMAIL_MAX   320
/* What a backend's header limits let through (8 KiB a field is common). */
#define ML_JWT_HEADER_MAX  8000
/* How long backends may cache the JWK Set. */
#define ML_JWKS_MAX_AGE    "300"

/* ---- configuration ---- */

ml_jwt_srv_t *ml_jwt_merge_srv(apr_pool_t *p, ml_jwt_srv_t *base, ml_jwt_srv_t *add)
{
    ml_jwt_srv_t *m;

    if (!add || !base)
        return add ? add : base;
    m = apr_pcalloc(p, sizeof(*m));
    m->key_specs = add->key_specs ? add->key_specs : base->key_specs;
    m->wanted = add->wanted || base->wanted;
    return m;
}

/* Only when both sides set something is a new record made, so a location's
 * record (and the strings in it) stays the same object request after
 * request: the token cache compares those pointers. */
ml_jwt_dir_t *ml_jwt_merge_dir(apr_pool_t *p, ml_jwt_dir_t *base, ml_jwt_dir_t *add)
{
    ml_jwt_dir_t *m;

    if (!add || !base)
        return add ? add : base;
    m = apr_pcalloc(p, sizeof(*m));
    m->header = add->header ? add->header : base->header;
    m->audience = add->audience ? add->audience : base->audience;
    m->ttl = add->ttl != ML_UNSET ? add->ttl : base->ttl;
    m->group_file = add->group_file ? add->group_file : base->group_file;
    return m;
}

static ml_jwt_srv_t *ml_jwt_srv_of(server_rec *s, apr_pool_t *p)
{
    ml_srv_conf_t *c = ap_get_module_config(s->module_config, &magiclink_module);

    if (!c->jwt && p)
        c->jwt = apr_pcalloc(p, sizeof(*c->jwt));
    return c->jwt;
}

static ml_jwt_dir_t *ml_jwt_dir_of(void *dc, apr_pool_t *p)
{
    ml_dir_conf_t *d = dc;

    if (!d->jwt) {
        d->jwt = apr_pcalloc(p, sizeof(*d->jwt));
        d->jwt->ttl = ML_UNSET;
    }
    return d->jwt;
}

const char *ml_cmd_jwt_key(cmd_parms *cmd, void *dc, const char *kid, const char *path)
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    ml_jwt_srv_t *j;
    ml_jwt_keyspec_t *spec;

    if (err)
        return err;
    if (!ml_key_id_valid(kid))
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": key id must be 1 to 32 of "
                           "A-Z a-z 0-9 . _ -, got ", kid, NULL);
    j = ml_jwt_srv_of(cmd->server, cmd->pool);
    if (!j->key_specs)
        j->key_specs = apr_array_make(cmd->pool, 2, sizeof(ml_jwt_keyspec_t));
    spec = apr_array_push(j->key_specs);
    spec->kid = kid;
    spec->path = ap_server_root_relative(cmd->pool, path);
    if (!spec->path)
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": invalid path ", path, NULL);
    return NULL;
}

const char *ml_cmd_jwt_header(cmd_parms *cmd, void *dc, const char *arg)
{
    if (!ml_conf_token_valid(arg))
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": not a valid header name: ", arg, NULL);
    ml_jwt_dir_of(dc, cmd->pool)->header = arg;
    /* Noted for the start-up check that keys exist; never from .htaccess,
     * which is read by request threads sharing the server record. */
    if (!ap_check_cmd_context(cmd, NOT_IN_HTACCESS))
        ml_jwt_srv_of(cmd->server, cmd->pool)->wanted = 1;
    return NULL;
}

const char *ml_cmd_jwt_audience(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *s;

    for (s = arg; *s; s++)
        if (apr_iscntrl(*s))
            return apr_pstrcat(cmd->pool, cmd->cmd->name, ": control characters in ", arg, NULL);
    if (!*arg || strlen(arg) > 1024)
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": expected 1 to 1024 characters", NULL);
    ml_jwt_dir_of(dc, cmd->pool)->audience = arg;
    return NULL;
}

const char *ml_cmd_jwt_ttl(cmd_parms *cmd, void *dc, const char *arg)
{
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);

    if (!*arg || *end || v <= 0 || v > ML_JWT_TTL_MAX)
        return apr_psprintf(cmd->pool, "%s: expected seconds from 1 to %d, got %s",
                            cmd->cmd->name, ML_JWT_TTL_MAX, arg);
    ml_jwt_dir_of(dc, cmd->pool)->ttl = (int)v;
    return NULL;
}

const char *ml_cmd_group_file(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *path = ap_server_root_relative(cmd->pool, arg);

    if (!path)
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": invalid path ", arg, NULL);
    ml_jwt_dir_of(dc, cmd->pool)->group_file = path;
    return NULL;
}

/* ---- start-up: the key rings and their JWK Sets ---- */

static int ml_jwt_load(apr_pool_t *pconf, server_rec *s, ml_jwt_srv_t *j)
{
    ml_jwt_ring_t *ring = ml_jwt_ring_make(pconf);
    char err[512];
    ml_buf_t doc;
    int i;

    for (i = 0; i < j->key_specs->nelts; i++) {
        const ml_jwt_keyspec_t *spec = &APR_ARRAY_IDX(j->key_specs, i, ml_jwt_keyspec_t);
        if (ml_jwt_ring_add_file(ring, spec->kid, spec->path, pconf, err, sizeof(err))
                != APR_SUCCESS) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s,
                         "MAGICLINK-500: MagicLinkJWTKey %s: %s", spec->kid, err);
            return !OK;
        }
        if (ml_preflight_key_file(pconf, s, "MagicLinkJWTKey", spec->path) != OK)
            return !OK;
    }
    ml_buf_init(&doc);
    if (ml_jwt_jwks(ring, &doc) != APR_SUCCESS) {
        ml_buf_free(&doc);
        return !OK;
    }
    j->jwks = apr_pstrmemdup(pconf, doc.data, doc.len);
    j->jwks_len = doc.len;
    j->ring = ring;
    ml_buf_free(&doc);
    return OK;
}

/* Runs for `apachectl -t` too: a missing, unreadable, group-readable or
 * foreign key fails the test and the start. */
static int ml_jwt_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                               server_rec *main_s)
{
    ml_jwt_srv_t *main_j = ml_jwt_srv_of(main_s, NULL);
    server_rec *s;

    for (s = main_s; s; s = s->next) {
        ml_jwt_srv_t *j = ml_jwt_srv_of(s, NULL);

        if (!j)
            continue;
        if (j->wanted && !j->key_specs) {
            ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "MAGICLINK-501: MagicLinkJWTHeader "
                         "needs a signing key: add `MagicLinkJWTKey KID FILE` (make one with "
                         "`magiclink jwt-keygen > FILE && chmod 600 FILE`)");
            return !OK;
        }
        if (!j->key_specs || j->ring)
            continue;
        /* A virtual host with the main server's keys shares its ring. */
        if (s != main_s && main_j && main_j->key_specs == j->key_specs && main_j->ring) {
            j->ring = main_j->ring;
            j->jwks = main_j->jwks;
            j->jwks_len = main_j->jwks_len;
            continue;
        }
        if (ml_jwt_load(pconf, s, j) != OK)
            return !OK;
    }
    return OK;
}

/* ---- tokens, signed once per few seconds per thread and identity ---- */

/* A token made for one identity under one configuration: the key is every
 * value that goes into the token except the times and the jti. */
typedef struct ml_jwt_slot {
    apr_uint64_t serial;            /* the ring's; 0: empty */
    const char *iss, *aud, *group_file;
    int ttl;
    apr_int64_t made;
    char email[ML_JWT_EMAIL_MAX + 1];
    ml_buf_t token;
} ml_jwt_slot_t;

typedef struct ml_jwt_cache {
    ml_jwt_slot_t slots[ML_JWT_SLOTS];
    unsigned next;                  /* the slot a new token replaces */
    ml_buf_t work;                  /* the claims JSON */
} ml_jwt_cache_t;

typedef struct ml_jwt_want {
    const ml_jwt_ring_t *ring;
    const char *iss, *aud, *group_file, *email;
    int ttl;
} ml_jwt_want_t;

static apr_status_t ml_jwt_cache_free(void *data)
{
    ml_jwt_cache_t *c = data;
    int i;

    for (i = 0; i < ML_JWT_SLOTS; i++)
        ml_buf_free(&c->slots[i].token);
    ml_buf_free(&c->work);
    return APR_SUCCESS;
}

static void *ml_jwt_cache_make(apr_pool_t *p)
{
    ml_jwt_cache_t *c = apr_pcalloc(p, sizeof(*c));

    apr_pool_cleanup_register(p, c, ml_jwt_cache_free, apr_pool_cleanup_null);
    return c;
}

/* The calling worker thread's cache; without a thread object, one that
 * dies with the request (so nothing is reused). */
static ml_jwt_cache_t *ml_jwt_cache(request_rec *r)
{
    return ml_web_thread_state(r, ML_JWT_THREAD_KEY, ml_jwt_cache_make);
}

static int ml_jwt_slot_matches(const ml_jwt_slot_t *s, const ml_jwt_want_t *w)
{
    return s->serial == w->ring->serial && s->iss == w->iss && s->aud == w->aud
           && s->group_file == w->group_file && s->ttl == w->ttl && !strcmp(s->email, w->email);
}

static ml_jwt_slot_t *ml_jwt_slot_for(ml_jwt_cache_t *c, const ml_jwt_want_t *w)
{
    ml_jwt_slot_t *s;
    int i;

    for (i = 0; i < ML_JWT_SLOTS; i++)
        if (ml_jwt_slot_matches(&c->slots[i], w))
            return &c->slots[i];
    s = &c->slots[c->next];
    c->next = (c->next + 1) % ML_JWT_SLOTS;
    s->serial = 0;
    return s;
}

/* The groups claim, when the location names a group file: 1 with *groups
 * set (NULL when none is configured), 0 when the file cannot be read. */
static int ml_jwt_groups(request_rec *r, const ml_jwt_want_t *w, apr_array_header_t **groups)
{
    apr_status_t rv;

    *groups = NULL;
    if (!w->group_file)
        return 1;
    rv = ml_groups_of(r->pool, w->group_file, w->email, groups);
    if (rv != APR_SUCCESS)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, rv, r,
                      "MAGICLINK-503: MagicLinkGroupFile %s cannot be read; refusing rather "
                      "than telling the backend the visitor is in no group", w->group_file);
    return rv == APR_SUCCESS;
}

/* Signs a fresh token into slot s; 0 (logged) when that fails. */
static int ml_jwt_make(request_rec *r, ml_jwt_cache_t *c, ml_jwt_slot_t *s,
                       const ml_jwt_want_t *w, apr_int64_t now)
{
    ml_jwt_claims_t claims = { w->iss, w->aud, w->email, now, w->ttl, NULL, NULL, 0 };
    apr_array_header_t *groups;
    const char *why = NULL;

    s->serial = 0;
    if (!ml_jwt_groups(r, w, &groups))
        return 0;
    if (groups) {
        claims.groups = (const char *const *)groups->elts;
        claims.ngroups = groups->nelts;
    }
    if (ml_jwt_sign(w->ring, &claims, &c->work, &s->token, &why) != APR_SUCCESS) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "MAGICLINK-502: cannot sign the identity "
                      "token: %s", why);
        return 0;
    }
    if (s->token.len > ML_JWT_HEADER_MAX) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "MAGICLINK-504: the identity token would "
                      "be %" APR_SIZE_T_FMT " bytes, over %d: too many groups for one header",
                      s->token.len, ML_JWT_HEADER_MAX);
        return 0;
    }
    /* An address too long to be a key is signed for every request. */
    if (strlen(w->email) <= ML_JWT_EMAIL_MAX) {
        apr_cpystrn(s->email, w->email, sizeof(s->email));
        s->serial = w->ring->serial;
        s->iss = w->iss;
        s->aud = w->aud;
        s->group_file = w->group_file;
        s->ttl = w->ttl;
        s->made = now;
    }
    return 1;
}

/* The token for r's visitor, in r->pool; NULL (logged) when there is none. */
static const char *ml_jwt_token(request_rec *r, const ml_srv_conf_t *sc, const ml_jwt_dir_t *jd)
{
    apr_int64_t now = apr_time_sec(r->request_time), reuse;
    ml_jwt_want_t w;
    ml_jwt_cache_t *c;
    ml_jwt_slot_t *s;

    if (!sc->jwt || !sc->jwt->ring || !sc->origin) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "MAGICLINK-505: MagicLinkJWTHeader in a "
                      "server without MagicLinkJWTKey or MagicLinkKeyFile");
        return NULL;
    }
    w.ring = sc->jwt->ring;
    w.iss = sc->origin;
    w.aud = jd->audience ? jd->audience : sc->origin;
    w.group_file = jd->group_file;
    w.email = r->user;
    w.ttl = jd->ttl != ML_UNSET ? jd->ttl : ML_JWT_DEFAULT_TTL;
    reuse = w.ttl / 4 < ML_JWT_REUSE_MAX ? w.ttl / 4 : ML_JWT_REUSE_MAX;
    c = ml_jwt_cache(r);
    s = ml_jwt_slot_for(c, &w);
    if (!(s->serial && now >= s->made && now - s->made < reuse) && !ml_jwt_make(r, c, s, &w, now))
        return NULL;
    /* A copy: a later request on this thread may sign into the slot again. */
    return apr_pstrmemdup(r->pool, s->token.data, s->token.len);
}

/* In fixups, after every access check, like MagicLinkPassHeader: the header
 * reaches the backend only as we set it, whatever Require lines allowed. */
static int ml_jwt_fixups(request_rec *r)
{
    const ml_dir_conf_t *d = ap_get_module_config(r->per_dir_config, &magiclink_module);
    const ml_jwt_dir_t *jd = d ? d->jwt : NULL;
    const char *token;

    if (!jd || !jd->header)
        return DECLINED;
    ml_web_strip_header(r->headers_in, jd->header);
    if (!r->user || !r->ap_auth_type || strcasecmp(r->ap_auth_type, ML_JWT_AUTH_TYPE))
        return DECLINED;
    token = ml_jwt_token(r, ap_get_module_config(r->server->module_config, &magiclink_module),
                         jd);
    if (!token)
        return HTTP_INTERNAL_SERVER_ERROR;
    apr_table_setn(r->headers_in, jd->header, token);
    return DECLINED;
}

/* ---- SetHandler magiclink-jwks ---- */

static int ml_jwks_handler(request_rec *r)
{
    const ml_srv_conf_t *sc;

    if (!r->handler || strcmp(r->handler, ML_JWKS_HANDLER))
        return DECLINED;
    if (r->method_number != M_GET) /* HEAD is a GET with header_only */
        return ml_web_method_not_allowed(r, ML_METHOD(M_GET));
    sc = ap_get_module_config(r->server->module_config, &magiclink_module);
    if (!sc->jwt || !sc->jwt->jwks) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, "MAGICLINK-506: SetHandler "
                      ML_JWKS_HANDLER " in a server without MagicLinkJWTKey");
        return HTTP_NOT_FOUND;
    }
    ap_set_content_type(r, "application/jwk-set+json");
    apr_table_setn(r->headers_out, "Cache-Control", "public, max-age=" ML_JWKS_MAX_AGE);
    apr_table_setn(r->headers_out, "X-Content-Type-Options", "nosniff");
    ap_set_content_length(r, (apr_off_t)sc->jwt->jwks_len);
    if (!r->header_only)
        ap_rwrite(sc->jwt->jwks, (int)sc->jwt->jwks_len, r);
    return OK;
}

void ml_jwt_register_hooks(apr_pool_t *p)
{
    ap_hook_check_config(ml_jwt_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_fixups(ml_jwt_fixups, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(ml_jwks_handler, NULL, NULL, APR_HOOK_MIDDLE);
}
