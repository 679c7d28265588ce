/* mod_magiclink: passwordless email sign-in for Apache httpd 2.4.
 *
 * The module record and its hooks: glue only. The sign-in routes live in
 * src/httpd/ml_routes.c, AuthType MagicLink in ml_auth.c, configuration and
 * the directive table (ml_cmds) in ml_conf.c, shared state in ml_store.c;
 * everything else (sealing, tokens, templates, mail) is the httpd-free core
 * in src/. */
#include "httpd.h"
#include "http_config.h"
#include "http_log.h"
#include "http_request.h"
#include "ap_provider.h"

#include "ml_auth.h"
#include "ml_conf.h"
#include "ml_deliverer.h"
#include "ml_jwt_glue.h"
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
