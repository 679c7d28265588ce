#include "ml_auth.h"
#include "ml_store.h"
#include "ml_web.h"

#include "ap_provider.h"
#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "mod_auth.h"
#include "apr_strings.h"

APLOG_USE_MODULE(magiclink);

#define ML_AUTH_TYPE "MagicLink"

static int ml_is_navigation(request_rec *r)
{
    const char *accept = apr_table_get(r->headers_in, "Accept");

    return r->method_number == M_GET && accept && ap_strcasestr(accept, "text/html");
}

/* 302 to the login page for browsers, 401 for everything else. */
static int ml_unauthenticated(ml_req_t *q)
{
    request_rec *r = q->r;

    if (ml_is_navigation(r)) {
        const char *login = ml_dir_login_url(q->dc);
        apr_table_setn(r->headers_out, "Location",
                       apr_pstrcat(r->pool, login, strchr(login, '?') ? "&" : "?", "return=",
                                   ap_escape_urlencoded(r->pool, r->unparsed_uri), NULL));
        return HTTP_MOVED_TEMPORARILY;
    }
    apr_table_setn(r->err_headers_out, "WWW-Authenticate",
                   apr_psprintf(r->pool, "MagicLink realm=\"%s\"",
                                ap_auth_name(r) ? ap_auth_name(r) : q->sc->site_name));
    return HTTP_UNAUTHORIZED;
}

/* Re-seals the cookie when the idle window has moved by a minute or more. */
static void ml_renew(ml_req_t *q, ml_session_t *sess)
{
    const char *sealed;

    if (q->now - sess->seen < ML_RENEW_EVERY)
        return;
    sess->seen = q->now;
    if (ml_session_seal(q->scratch, q->kr, ml_dir_cookie(q->dc), sess, q->now, q->r->pool,
                        &sealed) == ML_CODEC_OK)
        ml_web_set_cookie(q, ml_dir_cookie(q->dc), sealed, "/", ml_dir_session_ttl(q->dc));
}

/* 1 when the address signed out after this session began, 0 when not, -1
 * when the cache cannot say: then MagicLinkCacheOutage decides (Refuse by
 * default, since an admitted session might be one its owner ended). */
static int ml_revoked(ml_req_t *q, const ml_session_t *sess)
{
    apr_int64_t not_before = 0;
    apr_status_t rv = ml_store_get_time(ml_store_get(), q->r->server, q->scratch,
                                        q->kr->crypto, "v", sess->email, &not_before,
                                        q->r->pool);

    if (rv != APR_SUCCESS)
        return q->dc->outage_admit == ML_ON ? 0 : -1;
    return not_before && sess->iat <= not_before;
}

static void ml_admit(ml_req_t *q, const char *email)
{
    request_rec *r = q->r;

    r->user = (char *)email;
    r->ap_auth_type = (char *)ML_AUTH_TYPE;
    apr_table_setn(r->subprocess_env, "MAGICLINK_EMAIL", email);
}

/* MagicLinkPassHeader: in fixups, after every access check, so the header
 * reaches a backend only as we set it, whatever Require lines allowed. */
static int ml_pass_header(request_rec *r)
{
    ml_dir_conf_t *d = ap_get_module_config(r->per_dir_config, &magiclink_module);

    if (!d || !d->pass_header)
        return DECLINED;
    apr_table_unset(r->headers_in, d->pass_header);
    if (r->user && r->ap_auth_type && !strcasecmp(r->ap_auth_type, ML_AUTH_TYPE))
        apr_table_setn(r->headers_in, d->pass_header, r->user);
    return DECLINED;
}

static int ml_check_authn(request_rec *r)
{
    const char *type = ap_auth_type(r), *cookie;
    ml_session_t sess;
    ml_codec_err_t e;
    ml_req_t q;

    if (!type || strcasecmp(type, ML_AUTH_TYPE))
        return DECLINED;
    if (!ml_web_init(&q, r)) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, r, APLOGNO(10541)
                      "AuthType MagicLink without MagicLinkKeyFile for this server");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* No client may speak for us: drop any incoming copy first. */
    if (q.dc->pass_header)
        apr_table_unset(r->headers_in, q.dc->pass_header);
    /* Subrequests and internal redirects: the main request already decided. */
    if (r->main && r->main->user && r->main->ap_auth_type
        && !strcasecmp(r->main->ap_auth_type, ML_AUTH_TYPE)) {
        ml_admit(&q, r->main->user);
        return OK;
    }
    if (r->prev && r->prev->user && r->prev->ap_auth_type
        && !strcasecmp(r->prev->ap_auth_type, ML_AUTH_TYPE)) {
        ml_admit(&q, r->prev->user);
        return OK;
    }
    cookie = ml_web_cookie(r, ml_dir_cookie(q.dc));
    if (!cookie)
        return ml_unauthenticated(&q);
    e = ml_session_open(q.scratch, q.kr, ml_dir_cookie(q.dc), cookie, q.now,
                        ml_dir_session_ttl(q.dc), ml_dir_session_idle(q.dc), r->pool, &sess);
    if (e != ML_CODEC_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_DEBUG, 0, r, APLOGNO(10542) "session refused: %s",
                      ml_codec_strerror(e));
        return ml_unauthenticated(&q);
    }
    switch (ml_revoked(&q, &sess)) {
    case 0:
        break;
    case 1:
        return ml_unauthenticated(&q);
    default:
        apr_table_setn(r->err_headers_out, "Retry-After", "60");
        return HTTP_SERVICE_UNAVAILABLE;
    }
    ml_renew(&q, &sess);
    ml_admit(&q, sess.email);
    return OK;
}

/* Require magiclink-domain example.com [example.org ...] */
static authz_status ml_authz_domain(request_rec *r, const char *require_args,
                                    const void *parsed)
{
    const char *t = require_args, *w, *at;

    if (!r->user)
        return AUTHZ_DENIED_NO_USER;
    at = strrchr(r->user, '@');
    if (!at)
        return AUTHZ_DENIED;
    while ((w = ap_getword_conf(r->pool, &t)) && *w) {
        if (*w == '@')
            w++;
        if (!strcasecmp(w, at + 1))
            return AUTHZ_GRANTED;
    }
    return AUTHZ_DENIED;
}

static const char *ml_authz_domain_parse(cmd_parms *cmd, const char *args,
                                         const void **parsed)
{
    if (!*args)
        return "Require magiclink-domain needs at least one domain";
    return NULL;
}

static const authz_provider ml_authz_domain_provider = {
    &ml_authz_domain,
    &ml_authz_domain_parse,
};

void ml_auth_register_hooks(apr_pool_t *p)
{
    ap_hook_check_authn(ml_check_authn, NULL, NULL, APR_HOOK_MIDDLE, AP_AUTH_INTERNAL_PER_CONF);
    ap_hook_fixups(ml_pass_header, NULL, NULL, APR_HOOK_FIRST);
    ap_register_auth_provider(p, AUTHZ_PROVIDER_GROUP, "magiclink-domain",
                              AUTHZ_PROVIDER_VERSION, &ml_authz_domain_provider,
                              AP_AUTH_INTERNAL_PER_CONF);
}
