/* mod_magiclink: passwordless email sign-in for Apache httpd 2.4.
 *
 * The module record, its hooks and its directives: glue only. The sign-in
 * routes live in src/httpd/ml_routes.c, AuthType MagicLink in ml_auth.c,
 * configuration in ml_conf.c, shared state in ml_store.c; everything else
 * (sealing, tokens, templates, mail) is the httpd-free core in src/. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_request.h"
#include "ap_provider.h"

#include "ml_auth.h"
#include "ml_conf.h"
#include "ml_deliverer.h"
#include "ml_jwt_glue.h"
#include "ml_session_api.h"
#include "ml_preflight.h"
#include "ml_metrics_glue.h"
#include "ml_routes.h"
#include "ml_state.h"

/* Made in check_config from pconf, so it lives exactly one configuration
 * cycle, like the key rings that use it. */
static ml_crypto_t *ml_crypto;

static int ml_pre_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp)
{
    ml_state_pre_config();
    ml_conf_reset_counts();
    ml_crypto = NULL;
    return OK;
}

/* Runs for `apachectl -t` too: everything a start can refuse is refused
 * here (key file, mailer, store), so the test and the start agree. */
static int ml_check_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                           server_rec *main_s)
{
    ml_srv_conf_t *main_c = ap_get_module_config(main_s->module_config, &magiclink_module);
    const char *why = NULL;
    server_rec *s;
    int used = 0;

    for (s = main_s; s; s = s->next) {
        ml_srv_conf_t *c = ap_get_module_config(s->module_config, &magiclink_module);
        used |= c->used;
    }
    if (!used)
        return OK;
    if (ml_crypto_create(&ml_crypto, pconf, &why) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, main_s, "MAGICLINK-000: %s", why);
        return !OK;
    }
    for (s = main_s; s; s = s->next)
        if (ml_conf_check(pconf, s, ml_crypto) != OK)
            return !OK;
    if (ml_preflight_store(ptemp, main_s, main_c->store) != OK)
        return !OK;
    if (ml_conf_cross_check(ptemp, main_s) != OK)
        return !OK;
    if (ml_conf_allow_count() == 0)
        ap_log_error(APLOG_MARK, APLOG_WARNING, 0, main_s,
                     "MAGICLINK-004: no MagicLinkAllow or MagicLinkAllowFile: nobody can sign in");
    return OK;
}

static int ml_post_config(apr_pool_t *pconf, apr_pool_t *plog, apr_pool_t *ptemp,
                          server_rec *main_s)
{
    ml_srv_conf_t *c = ap_get_module_config(main_s->module_config, &magiclink_module);

    if (!ml_crypto)
        return OK;
    if (ml_state_post_config(pconf, main_s, c->store) != APR_SUCCESS)
        return !OK;
    ml_conf_note_mail_fallback(ptemp, main_s);
    return OK;
}

static void ml_child_init(apr_pool_t *p, server_rec *s)
{
    ml_state_child_init(p, s);
    ml_deliverer_child_init(p, s);
}

static void ml_register_hooks(apr_pool_t *p)
{
    ml_policy_set_reporter(ml_conf_policy_reporter);
    ap_hook_pre_config(ml_pre_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_check_config(ml_check_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_post_config(ml_post_config, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_child_init(ml_child_init, NULL, NULL, APR_HOOK_MIDDLE);
    ap_hook_translate_name(ml_translate, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_map_to_storage(ml_map_to_storage, NULL, NULL, APR_HOOK_FIRST);
    ap_hook_handler(ml_handler, NULL, NULL, APR_HOOK_MIDDLE);
    ml_auth_register_hooks(p);
    ml_jwt_register_hooks(p);
    ml_metrics_register_hooks(p);
}

#define ML_SRV_STR(name, field, help) \
    AP_INIT_TAKE1(name, ml_cmd_srv_string, (void *)APR_OFFSETOF(ml_srv_conf_t, field), \
                  RSRC_CONF, help)
#define ML_DIR_SECS(name, field, help) \
    AP_INIT_TAKE1(name, ml_cmd_seconds, (void *)APR_OFFSETOF(ml_dir_conf_t, field), \
                  RSRC_CONF | ACCESS_CONF | OR_AUTHCFG, help)
#define ML_DIR(name, fn, help) \
    AP_INIT_TAKE1(name, fn, NULL, RSRC_CONF | ACCESS_CONF | OR_AUTHCFG, help)

static const command_rec ml_cmds[] = {
    AP_INIT_TAKE1("MagicLinkKeyFile", ml_cmd_key_file, NULL, RSRC_CONF,
                  "key file: one `ID HASHKEY BLOCKKEY` line per key, first one seals"),
    AP_INIT_TAKE1("MagicLinkBaseURL", ml_cmd_base_url, NULL, RSRC_CONF,
                  "origin of emailed links, e.g. https://www.example.com"),
    AP_INIT_TAKE1(
        "MagicLinkMailer", ml_cmd_mailer, NULL, RSRC_CONF,
        "maildir:/dir, smtp://host:port, smtps://host:port or pipe:/usr/sbin/sendmail -t -i"),
    ML_SRV_STR("MagicLinkMailFrom", mail_from, "From: address of link mails"),
    ML_SRV_STR("MagicLinkSiteName", site_name, "site name shown on pages and in mails"),
    AP_INIT_TAKE_ARGV("MagicLinkCache", ml_cmd_cache, NULL, RSRC_CONF,
                      "the state store: lmdb:DIR [size=64M] or redis:HOST:PORT [timeout=MS] "
                      "[user=U] [password=P] [db=N]"),
    AP_INIT_TAKE1("MagicLinkDeliverers", ml_cmd_deliverers, NULL, RSRC_CONF,
                  "mail deliverer threads per child process [4]"),
    AP_INIT_TAKE1("MagicLinkLogAddresses", ml_cmd_log_addresses, NULL, RSRC_CONF,
                  "Plain or Hashed: how sign-in log lines name the address [Plain]"),
    AP_INIT_TAKE3("MagicLinkRateLimit", ml_cmd_rate, NULL, RSRC_CONF,
                  "email|email-total|ip|domain N SECONDS"),
    ML_DIR_SECS("MagicLinkLinkTTL", link_ttl, "link lifetime in seconds"),
    ML_DIR_SECS("MagicLinkSessionTTL", session_ttl, "session lifetime in seconds"),
    ML_DIR_SECS("MagicLinkSessionIdle", session_idle, "session idle limit in seconds"),
    /* Not in .htaccess (no override bit): who may enter is the server's call. */
    AP_INIT_ITERATE("MagicLinkAllow", ml_cmd_allow, NULL, RSRC_CONF | ACCESS_CONF,
                    "addresses, @domains or * that may sign in (in a section: that the "
                    "section admits, within the server's list)"),
    AP_INIT_TAKE1("MagicLinkAllowFile", ml_cmd_allow_file, NULL, RSRC_CONF | ACCESS_CONF,
                  "file of addresses and @domains, re-read when it changes"),
    AP_INIT_TAKE1("MagicLinkRealm", ml_cmd_realm, NULL, RSRC_CONF,
                  "realm of this host's sessions [its origin]; the same name on several hosts "
                  "shares sessions between them"),
    AP_INIT_FLAG("MagicLinkCacheControl", ml_cmd_flag,
                 (void *)APR_OFFSETOF(ml_dir_conf_t, cache_control), RSRC_CONF | ACCESS_CONF,
                 "Cache-Control: private, no-store on what AuthType MagicLink admits [On]"),
    ML_DIR("MagicLinkLoginURL", ml_cmd_login_url, "where AuthType MagicLink sends browsers"),
    AP_INIT_FLAG("MagicLinkBindBrowser", ml_cmd_flag,
                 (void *)APR_OFFSETOF(ml_dir_conf_t, bind_browser),
                 RSRC_CONF | ACCESS_CONF | OR_AUTHCFG, "links work only in the asking browser"),
    ML_DIR("MagicLinkCookieSecure", ml_cmd_cookie_secure, "On, Off or Auto"),
    ML_DIR("MagicLinkCacheOutage", ml_cmd_cache_outage,
           "Refuse (503) or Admit valid sessions when the sign-out check cannot reach the cache"),
    ML_DIR("MagicLinkPassHeader", ml_cmd_pass_header, "request header that carries the email"),
    ML_DIR("MagicLinkCookieName", ml_cmd_cookie_name, "session cookie name"),
    ML_JWT_CMDS,
    ML_SESSION_API_CMDS,
    AP_INIT_RAW_ARGS("MagicLinkLanguages", ml_cmd_languages, NULL, RSRC_CONF | ACCESS_CONF,
                     "the languages offered, in order of preference: de fr en"),
    {NULL}};

AP_DECLARE_MODULE(magiclink) = {
    STANDARD20_MODULE_STUFF,
    ml_create_dir_conf,
    ml_merge_dir_conf,
    ml_create_srv_conf,
    ml_merge_srv_conf,
    ml_cmds,
    ml_register_hooks,
    AP_MODULE_FLAG_NONE
};
