#include "ml_auth.h"
#include "ml_audit.h"
#include "ml_metrics_glue.h"
#include "ml_state.h"
#include "ml_web.h"

#include "ap_provider.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_auth.h"
#include "apr_strings.h"
#include "apr_lib.h"

APLOG_USE_MODULE(magiclink);

#define ML_AUTH_TYPE "MagicLink"

static int ml_is_navigation(request_rec *r)
{
    const char *accept = apr_table_get(r->headers_in, "Accept");

    return r->method_number == M_GET && accept && ap_strcasestr(accept, "text/html");
}

static void ml_challenge(request_rec *r, const ml_srv_conf_t *sc)
{
    apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                   apr_psprintf(r->pool, "MagicLink realm=\"%s\"",
                                ap_auth_name(r) ? ap_auth_name(r) : sc->site_name));
}

/* A 401 from authorization (Require user ... said no) carries the
 * challenge too, as RFC 7235 asks. */
static int ml_note_auth_failure(request_rec *r, const char *type)
{
    if (strcasecmp(type, ML_AUTH_TYPE))
        return DECLINED;
    if (r->user)                /* a session, which a Require line refused */
        ml_metrics_gate(r, ML_MET_GATE_NOT_ALLOWED);
    ml_challenge(r, ap_get_module_config(r->server->module_config, &magiclink_module));
    return OK;
}

/* 302 to the login page for browsers, 401 for everything else. */
static int ml_unauthenticated(ml_req_t *q)
{
    request_rec *r = q->r;

    if (ml_is_navigation(r)) {
        const char *login = ml_dir_login_url(q->dc), *path = r->unparsed_uri, *p;
        /* The path and query as sent, even for an absolute-form request line
         * ("GET http://host/x"): what follows the authority. */
        if (path[0] != '/' && (p = strstr(path, "://")) != NULL)
            path = strchr(p + 3, '/') ? strchr(p + 3, '/') : "/";
        apr_table_setn(r->headers_out, "Location",
                       apr_pstrcat(r->pool, login, strchr(login, '?') ? "&" : "?", "return=",
                                   ap_escape_urlencoded(r->pool, path), NULL));
        return HTTP_MOVED_TEMPORARILY;
    }
    ml_challenge(q->r, q->sc);
    return HTTP_UNAUTHORIZED;
}

/* Re-seals the cookie when the idle window has moved by a minute or more. */
static void ml_renew(ml_req_t *q, ml_session_t *sess)
{
    const char *sealed;

    if (q->now - sess->seen < ML_RENEW_EVERY)
        return;
    sess->seen = q->now;
    if (ml_web_session_seal(q, sess, &sealed) == ML_CODEC_OK)
        ml_web_set_cookie(q, ml_dir_cookie(q->dc), sealed, "/", ml_dir_session_ttl(q->dc));
}

void ml_auth_session_keys(const ml_req_t *q, const ml_session_t *sess,
                          ml_store_key_t *everywhere, ml_store_key_t *browser)
{
    const char *sid = sess->sid ? sess->sid
                                : apr_psprintf(q->r->pool, "%s|%" APR_INT64_T_FMT, sess->email,
                                               sess->iat);

    ml_store_key(&q->kr->store_secret, "v", sess->email, strlen(sess->email), everywhere);
    ml_store_key(&q->kr->store_secret, "s", sid, strlen(sid), browser);
}

/* 1 when the address signed out everywhere after this session began, or
 * this session was signed out; 0 when not; -1 when the store cannot say:
 * then MagicLinkCacheOutage decides (Refuse by default, since an admitted
 * session might be one its owner ended). One read of the store for both
 * times: no lock and no system call on LMDB, one round trip on redis. */
static int ml_revoked(ml_req_t *q, const ml_session_t *sess)
{
    ml_store_t *st = ml_state_store();
    ml_store_key_t keys[2];     /* the address's sign-out, this session's */
    apr_int64_t t[2] = { 0, 0 };
    ml_store_rc_t rc;

    ml_auth_session_keys(q, sess, &keys[0], &keys[1]);
    rc = st ? ml_store_get_times(st, keys, 2, q->now, t) : ML_STORE_DOWN;
    if (ml_state_note(q->r->server, rc) != ML_STORE_OK)
        return q->dc->outage_admit == ML_ON ? 0 : -1;
    return t[1] != 0 || (t[0] && sess->iat <= t[0]);
}

/* ---- Cache-Control on what the gate admits ---- */

static ap_filter_rec_t *ml_nostore_filter;

#define ML_NOSTORE_NOTE "magiclink-nostore"
#define ML_NOSTORE "private, no-store"

/* What a handler or backend said about caching does not hold for a page
 * that only a signed-in visitor may see: replaced as the response leaves,
 * after every content filter (mod_headers' included), just before the
 * headers are written. */
static apr_status_t ml_nostore_out(ap_filter_t *f, apr_bucket_brigade *bb)
{
    apr_table_unset(f->r->headers_out, "Cache-Control");
    apr_table_setn(f->r->err_headers_out, "Cache-Control", ML_NOSTORE);
    ap_remove_output_filter(f);
    return ap_pass_brigade(f->next, bb);
}

/* Every response to an admitted request, error pages included (they are
 * built from err_headers_out), is private and not stored, unless
 * MagicLinkCacheControl Off says the location is public. */
static void ml_nostore(request_rec *r, const ml_dir_conf_t *dc)
{
    if (!dc || !ml_dir_cache_control(dc) || apr_table_get(r->notes, ML_NOSTORE_NOTE))
        return;
    apr_table_setn(r->notes, ML_NOSTORE_NOTE, "1");
    apr_table_setn(r->err_headers_out, "Cache-Control", ML_NOSTORE);
    ap_add_output_filter_handle(ml_nostore_filter, NULL, r, r->connection);
}

/* Lets the request in as email: r->user, the auth type, MAGICLINK_EMAIL,
 * and no-store on the answer. */
static void ml_set_user(ml_req_t *q, const char *email)
{
    request_rec *r = q->r;

    r->user = (char *)email;
    r->ap_auth_type = (char *)ML_AUTH_TYPE;
    apr_table_setn(r->subprocess_env, "MAGICLINK_EMAIL", email);
    ml_nostore(r, q->dc);
}

/* MAGICLINK_EMAIL and MagicLinkPassHeader, in fixups, after every access
 * check, so the header reaches a backend only as we set it, whatever
 * Require lines allowed. */
static int ml_identity_fixups(request_rec *r)
{
    ml_dir_conf_t *d = ap_get_module_config(r->per_dir_config, &magiclink_module);
    int ours = r->user && r->ap_auth_type && !strcasecmp(r->ap_auth_type, ML_AUTH_TYPE);
    /* httpd skips authn for an internal redirect within one location and
     * carries only the user over: the environment is set here for both. */
    if (ours) {
        apr_table_setn(r->subprocess_env, "MAGICLINK_EMAIL", r->user);
        ml_nostore(r, d);
        ml_metrics_gate(r, ML_MET_GATE_ADMITTED);   /* every access check passed */
    }
    if (!d || !d->pass_header)
        return DECLINED;
    ml_web_strip_header(r->headers_in, d->pass_header);
    if (ours)
        apr_table_setn(r->headers_in, d->pass_header, r->user);
    return DECLINED;
}

static int ml_same_limits(const ml_dir_conf_t *a, const ml_dir_conf_t *b)
{
    return !strcmp(ml_dir_cookie(a), ml_dir_cookie(b))
           && ml_dir_session_ttl(a) == ml_dir_session_ttl(b)
           && ml_dir_session_idle(a) == ml_dir_session_idle(b)
           && a->outage_admit == b->outage_admit;
}

static int ml_same_decision(ml_req_t *q, request_rec *earlier)
{
    if (!earlier || !earlier->user || !earlier->ap_auth_type
        || strcasecmp(earlier->ap_auth_type, ML_AUTH_TYPE)
        || !ml_same_limits(q->dc, ap_get_module_config(earlier->per_dir_config,
                                                       &magiclink_module))
        || !ml_auth_may_sign_in(q, earlier->user))    /* this location's own list */
        return 0;
    ml_set_user(q, earlier->user);
    return 1;
}

int ml_auth_may_sign_in(const ml_req_t *q, const char *email)
{
    return ml_conf_allows(q->sc, q->dc, email);
}

int ml_auth_session(ml_req_t *q, ml_session_t *sess)
{
    const char *cookie = ml_web_cookie(q->r, ml_dir_cookie(q->dc));
    ml_codec_err_t e;

    q->gate_outcome = ML_MET_GATE_NO_SESSION;
    if (!cookie)
        return 0;
    e = ml_web_session_open(q, cookie, ml_dir_session_ttl(q->dc), ml_dir_session_idle(q->dc),
                            sess);
    if (e != ML_CODEC_OK) {
        /* Claims only we or a key holder could have sealed are worth a
         * line above debug: a backend sealing nonsense, or a key leaked. */
        ap_log_rerror(APLOG_MARK, (e == ML_CODEC_CLAIM || e == ML_CODEC_REALM) ? APLOG_INFO
                                                                              : APLOG_DEBUG,
                      0, q->r, "MAGICLINK-230: session refused: %s", ml_codec_strerror(e));
        q->gate_outcome = e == ML_CODEC_EXPIRED ? ML_MET_GATE_EXPIRED : ML_MET_GATE_NO_SESSION;
        return 0;
    }
    /* The policy in force now, here: an address taken off the allow list
     * (or not on this location's) has no session, whatever it holds. */
    if (!ml_auth_may_sign_in(q, sess->email)) {
        ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, q->r,
                      "MAGICLINK-231: session of an address the allow policy does not admit "
                      "here (now); refused");
        q->gate_outcome = ML_MET_GATE_NOT_ALLOWED;
        return 0;
    }
    switch (ml_revoked(q, sess)) {
    case 0:
        return 1;
    case 1:
        q->gate_outcome = ML_MET_GATE_REVOKED;
        /* A signed-out or revoked session still in use: worth an admin's eye. */
        ml_audit_line(q, sess->email, 162, "session refused", "revoked");
        return 0;
    default:
        return -1;
    }
}

static int ml_check_authn(request_rec *r)
{
    const char *type = ap_auth_type(r);
    ml_session_t sess;
    ml_req_t q;

    if (!type || strcasecmp(type, ML_AUTH_TYPE))
        return DECLINED;
    if (!ml_web_init(&q, r)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r,
                      "MAGICLINK-041: AuthType MagicLink without MagicLinkKeyFile for this server");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* No client may speak for us: drop any incoming copy first. */
    if (q.dc->pass_header)
        apr_table_unset(r->headers_in, q.dc->pass_header);
    /* Subrequests and internal redirects: the earlier request already
     * opened the cookie; its decision holds where the limits are the same. */
    if (ml_same_decision(&q, r->main) || ml_same_decision(&q, r->prev))
        return OK;
    switch (ml_auth_session(&q, &sess)) {
    case 1:
        break;
    case 0:
        /* A browser whose session was signed out drops its cookie, so that its
         * next request is one without a session, not another MAGICLINK-162
         * line (a thief's copy, which ignores this, keeps being logged). */
        if (q.gate_outcome == ML_MET_GATE_REVOKED)
            ml_web_set_cookie(&q, ml_dir_cookie(q.dc), "", "/", 0);
        ml_metrics_gate(r, (ml_metric_t)q.gate_outcome);
        return ml_unauthenticated(&q);
    default:
        ml_metrics_gate(r, ML_MET_GATE_STORE_DOWN);
        apr_table_setn(r->err_headers_out, "Retry-After", "60");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    ml_renew(&q, &sess);
    ml_set_user(&q, sess.email);
    return OK;
}

/* Require magiclink-domain example.com [@example.org ...]: the domains,
 * normalized once at start-up (lower case, A-labels), against the domain of
 * the canonical address the gate admitted. */
static authz_status ml_authz_domain(request_rec *r, const char *require_args,
                                    const void *parsed)
{
    const apr_array_header_t *domains = parsed;
    const char *at;
    int i;

    if (!r->user)
        return AUTHZ_DENIED_NO_USER;
    at = strrchr(r->user, '@');
    if (!at || !domains)
        return AUTHZ_DENIED;
    /* Ours are canonical; a user name from another AuthType may not be. */
    for (i = 0; i < domains->nelts; i++)
        if (!strcasecmp(APR_ARRAY_IDX(domains, i, const char *), at + 1))
            return AUTHZ_GRANTED;
    return AUTHZ_DENIED;
}

static const char *ml_authz_domain_parse(cmd_parms *cmd, const char *args,
                                         const void **parsed)
{
    apr_array_header_t *domains = apr_array_make(cmd->pool, 2, sizeof(const char *));
    const char *t = args, *w, *norm, *why;

    while (*(w = ap_getword_conf(cmd->temp_pool, &t))) {
        const char *d = *w == '@' ? w + 1 : w;
        if (ml_addr_normalize_domain(cmd->pool, d, strlen(d), &norm, &why) != APR_SUCCESS)
            return apr_psprintf(cmd->pool, "Require magiclink-domain: \"%s\" is not a domain "
                                "(%s); expected names such as example.com", w, why);
        APR_ARRAY_PUSH(domains, const char *) = norm;
    }
    if (domains->nelts == 0)
        return "Require magiclink-domain needs at least one domain";
    *parsed = domains;
    return NULL;
}

static const authz_provider ml_authz_domain_provider = {
    &ml_authz_domain,
    &ml_authz_domain_parse,
};

void ml_auth_register_hooks(apr_pool_t *p)
{
    ml_nostore_filter = ap_register_output_filter("MAGICLINK_NOSTORE", ml_nostore_out, NULL,
                                                  AP_FTYPE_PROTOCOL - 1);
    ap_hook_check_authn(ml_check_authn, NULL, NULL, APR_HOOK_MIDDLE, AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_fixups(ml_identity_fixups, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_note_auth_failure(ml_note_auth_failure, NULL, NULL, APR_HOOK_MIDDLE);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "magiclink-domain",
                              AUTHZ_PROVIDER_VERSION, &ml_authz_domain_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
}
