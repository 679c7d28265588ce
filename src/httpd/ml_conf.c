/* Directive handlers and the directive table, merging, and the start-up checks. */
#include "ml_conf.h"
#include "ml_jwt_glue.h"
#include "ml_lang.h"
#include "ml_link.h"
#include "ml_mailer.h"
#include "ml_preflight.h"
#include "ml_session_api.h"
#include "ml_templates.h"
#include "ml_state.h"

#include "http_log.h"
#include "http_main.h"
#include "unixd.h"
#include "apr_strings.h"
#include "apr_lib.h"
#include "apr_uri.h"
#include "apr_hash.h"
#include "http_core.h"

#include <unistd.h>

APLOG_USE_MODULE(magiclink);

static int ml_allow_entries;
static int ml_session_ttl_longest = ML_DEFAULT_SESSION_TTL;

int ml_conf_allow_count(void) { return ml_allow_entries; }
int ml_conf_session_ttl_longest(void) { return ml_session_ttl_longest; }

void ml_conf_reset_counts(void)
{
    ml_allow_entries = 0;
    ml_session_ttl_longest = ML_DEFAULT_SESSION_TTL;
}

/* ---- records and merging ---- */

void *ml_create_srv_conf(apr_pool_t *p, server_rec *s)
{
    ml_srv_conf_t *c = apr_pcalloc(p, sizeof(*c));

    c->rate_email = (ml_rate_t){ 5, 3600 };
    c->rate_email_total = (ml_rate_t){ 20, 3600 };
    c->rate_ip = (ml_rate_t){ 30, 3600 };
    c->rate_domain = (ml_rate_t){ 0, 3600 };
    c->log_hashed = ML_UNSET;
    return c;
}

#define ML_MERGE_PTR(f) m->f = add->f ? add->f : base->f

void *ml_merge_srv_conf(apr_pool_t *p, void *basev, void *addv)
{
    ml_srv_conf_t *base = basev, *add = addv, *m = apr_pcalloc(p, sizeof(*m));

    ML_MERGE_PTR(key_file);
    ML_MERGE_PTR(base_url);
    ML_MERGE_PTR(mailer_spec);
    ML_MERGE_PTR(mail_from);
    ML_MERGE_PTR(store);
    m->deliverers = add->deliverers ? add->deliverers : base->deliverers;
    m->log_hashed = add->log_hashed != ML_UNSET ? add->log_hashed : base->log_hashed;
    ML_MERGE_PTR(site_name);
    ML_MERGE_PTR(realm);
    /* A server's own allow list replaces what it would inherit. */
    ML_MERGE_PTR(allow);
    m->key_file_own = add->key_file_own;
    m->base_url_own = add->base_url_own;
    m->realm_own = add->realm_own;
    m->rate_email = add->rate_email_set ? add->rate_email : base->rate_email;
    m->rate_email_total = add->rate_email_total_set ? add->rate_email_total
                                                    : base->rate_email_total;
    m->rate_email_total_set = add->rate_email_total_set || base->rate_email_total_set;
    m->rate_ip = add->rate_ip_set ? add->rate_ip : base->rate_ip;
    m->rate_domain = add->rate_domain_set ? add->rate_domain : base->rate_domain;
    m->rate_email_set = add->rate_email_set || base->rate_email_set;
    m->rate_ip_set = add->rate_ip_set || base->rate_ip_set;
    m->rate_domain_set = add->rate_domain_set || base->rate_domain_set;
    m->used = add->used || base->used;
    m->jwt = ml_jwt_merge_srv(p, base->jwt, add->jwt);
    return m;
}

void *ml_create_dir_conf(apr_pool_t *p, char *dir)
{
    ml_dir_conf_t *c = apr_pcalloc(p, sizeof(*c));

    c->link_ttl = c->session_ttl = c->session_idle = ML_UNSET;
    c->bind_browser = c->cookie_secure = c->outage_admit = c->cache_control = ML_UNSET;
    return c;
}

#define ML_MERGE_INT(f) m->f = add->f != ML_UNSET ? add->f : base->f

void *ml_merge_dir_conf(apr_pool_t *p, void *basev, void *addv)
{
    ml_dir_conf_t *base = basev, *add = addv, *m = apr_pcalloc(p, sizeof(*m));

    ML_MERGE_INT(link_ttl);
    ML_MERGE_INT(session_ttl);
    ML_MERGE_INT(session_idle);
    ML_MERGE_INT(bind_browser);
    ML_MERGE_INT(cookie_secure);
    ML_MERGE_INT(outage_admit);
    ML_MERGE_INT(cache_control);
    ML_MERGE_PTR(login_url);
    ML_MERGE_PTR(pass_header);
    ML_MERGE_PTR(cookie_name);
    if (add->nlangs) {
        m->langs = add->langs;
        m->lang_codes = add->lang_codes;
        m->nlangs = add->nlangs;
    } else {
        m->langs = base->langs;
        m->lang_codes = base->lang_codes;
        m->nlangs = base->nlangs;
    }
    /* Narrowing: an inner section's list is added to the outer ones', never
     * put in their place (see ml_conf_allows). */
    if (base->allow && add->allow)
        m->allow = apr_array_append(p, base->allow, add->allow);
    else
        m->allow = add->allow ? add->allow : base->allow;
    m->jwt = ml_jwt_merge_dir(p, base->jwt, add->jwt);
    ML_MERGE_PTR(cors_origins);
    return m;
}

int ml_dir_link_ttl(const ml_dir_conf_t *d)
{
    return d->link_ttl != ML_UNSET ? d->link_ttl : ML_DEFAULT_LINK_TTL;
}

int ml_dir_session_ttl(const ml_dir_conf_t *d)
{
    return d->session_ttl != ML_UNSET ? d->session_ttl : ML_DEFAULT_SESSION_TTL;
}

int ml_dir_session_idle(const ml_dir_conf_t *d)
{
    return d->session_idle != ML_UNSET ? d->session_idle : ML_DEFAULT_SESSION_IDLE;
}

const char *ml_dir_cookie(const ml_dir_conf_t *d)
{
    return d->cookie_name ? d->cookie_name : ML_DEFAULT_COOKIE;
}

const char *ml_dir_login_url(const ml_dir_conf_t *d)
{
    return d->login_url ? d->login_url : ML_DEFAULT_LOGIN_URL;
}

int ml_dir_bind_browser(const ml_dir_conf_t *d)
{
    return d->bind_browser != ML_UNSET ? d->bind_browser : ML_ON;
}

int ml_dir_cache_control(const ml_dir_conf_t *d)
{
    return d->cache_control != ML_UNSET ? d->cache_control : ML_ON;
}

int ml_conf_allows(const ml_srv_conf_t *sc, const ml_dir_conf_t *dc, const char *email)
{
    int i;

    if (!ml_policy_allows(sc->allow, email))
        return 0;
    for (i = 0; dc && dc->allow && i < dc->allow->nelts; i++)
        if (!ml_policy_allows(APR_ARRAY_IDX(dc->allow, i, const ml_policy_t *), email))
            return 0;
    return 1;
}

/* ---- directive handlers ---- */

static ml_srv_conf_t *ml_srv(cmd_parms *cmd)
{
    ml_srv_conf_t *c = ap_get_module_config(cmd->server->module_config, &magiclink_module);
    c->used = 1;
    return c;
}

/* Server-context string directives store into the field named by cmd->info. */
static const char *ml_cmd_srv_string(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);

    if (err)
        return err;
    *(const char **)((char *)ml_srv(cmd) + (apr_size_t)cmd->info) = arg;
    return NULL;
}

static const char *ml_cmd_key_file(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);

    if (err)
        return err;
    ml_srv(cmd)->key_file = ap_server_root_relative(cmd->pool, arg);
    if (!ml_srv(cmd)->key_file)
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": invalid path ", arg, NULL);
    ml_srv(cmd)->key_file_own = 1;
    return NULL;
}

static const char *ml_cmd_base_url(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    apr_uri_t u;

    if (err)
        return err;
    if (apr_uri_parse(cmd->pool, arg, &u) != APR_SUCCESS || !u.scheme || !u.hostname
        || (strcasecmp(u.scheme, "http") && strcasecmp(u.scheme, "https"))
        || u.user || u.query || u.fragment || (u.path && strcmp(u.path, "/") && *u.path))
        return apr_pstrcat(cmd->pool, cmd->cmd->name,
                           ": expected an origin such as https://www.example.com[:port], got ",
                           arg, NULL);
    ml_srv(cmd)->base_url = apr_pstrcat(cmd->pool, apr_pstrdup(cmd->pool, u.scheme), "://",
                                        u.hostinfo, NULL);
    ap_str_tolower((char *)ml_srv(cmd)->base_url);
    ml_srv(cmd)->base_url_own = 1;
    return NULL;
}

static const char *ml_cmd_mailer(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);

    if (err)
        return err;
    if (strncmp(arg, "maildir:", 8) && strncmp(arg, "smtp://", 7) && strncmp(arg, "smtps://", 8)
        && strncmp(arg, "pipe:", 5))
        return apr_pstrcat(cmd->pool, cmd->cmd->name,
                           ": expected maildir:/dir, smtp://host:port, smtps://host:port or "
                           "pipe:/path/to/sendmail -t -i, got ", arg, NULL);
    ml_srv(cmd)->mailer_spec = arg;
    return NULL;
}

static const char *ml_cmd_cache(cmd_parms *cmd, void *dc, int argc, char *const argv[])
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);

    if (err)
        return err;
    if ((err = ml_state_parse(cmd->pool, argc, argv, &ml_srv(cmd)->store)) != NULL)
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", err, NULL);
    return NULL;
}

static const char *ml_parse_positive(cmd_parms *cmd, const char *arg, int *out)
{
    char *end;
    apr_int64_t v = apr_strtoi64(arg, &end, 10);

    if (!*arg || *end || v <= 0 || v > 10L * 365 * 86400)
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": expected a positive number, got ",
                           arg, NULL);
    *out = (int)v;
    return NULL;
}

static const char *ml_cmd_deliverers(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, GLOBAL_ONLY);
    int n;

    if (err || (err = ml_parse_positive(cmd, arg, &n)))
        return err;
    if (n > 64)
        return "MagicLinkDeliverers: at most 64 threads per child";
    ml_srv(cmd)->deliverers = n;
    return NULL;
}

static const char *ml_cmd_log_addresses(cmd_parms *cmd, void *dc, const char *arg)
{
    ml_srv_conf_t *c = ml_srv(cmd);

    if (!strcasecmp(arg, "plain"))
        c->log_hashed = ML_OFF;
    else if (!strcasecmp(arg, "hashed"))
        c->log_hashed = ML_ON;
    else
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": expected Plain or Hashed, got ", arg,
                           NULL);
    return NULL;
}

static const char *ml_cmd_rate(cmd_parms *cmd, void *dc, const char *what, const char *n,
                               const char *secs)
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);
    ml_srv_conf_t *c;
    ml_rate_t r;

    if (err)
        return err;
    if ((err = ml_parse_positive(cmd, n, &r.limit))
        || (err = ml_parse_positive(cmd, secs, &r.window)))
        return err;
    c = ml_srv(cmd);
    if (!strcasecmp(what, "email"))
        c->rate_email = r, c->rate_email_set = 1;
    else if (!strcasecmp(what, "email-total"))
        c->rate_email_total = r, c->rate_email_total_set = 1;
    else if (!strcasecmp(what, "ip"))
        c->rate_ip = r, c->rate_ip_set = 1;
    else if (!strcasecmp(what, "domain"))
        c->rate_domain = r, c->rate_domain_set = 1;
    else
        return apr_pstrcat(cmd->pool, cmd->cmd->name,
                           ": expected email, email-total, ip or domain, got ", what, NULL);
    return NULL;
}

/* Lifetimes: the field is named by cmd->info. */
static const char *ml_cmd_seconds(cmd_parms *cmd, void *dc, const char *arg)
{
    ml_srv(cmd);
    return ml_parse_positive(cmd, arg, (int *)((char *)dc + (apr_size_t)cmd->info));
}

/* A sign-out record must outlive every session it ends, whichever section
 * issued or checks it: the longest lifetime configured is remembered (all
 * of them are known at start, since .htaccess may not set one). */
static const char *ml_cmd_session_ttl(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = ml_cmd_seconds(cmd, dc, arg);

    if (!err && ((ml_dir_conf_t *)dc)->session_ttl > ml_session_ttl_longest)
        ml_session_ttl_longest = ((ml_dir_conf_t *)dc)->session_ttl;
    return err;
}

/* The policy a MagicLinkAllow(File) line adds to: the server's at server
 * level (main or <VirtualHost>), else the section's own list, which narrows
 * the server's. Never from .htaccess: a content owner must not widen or
 * quietly change who the site admits (the directives carry no override
 * bit, and this says so should that ever change). */
static const char *ml_allow_target(cmd_parms *cmd, void *dc, ml_policy_t **out)
{
    ml_dir_conf_t *d = dc;
    ml_srv_conf_t *c = ml_srv(cmd);

    if (cmd->override & (OR_AUTHCFG | OR_LIMIT | OR_OPTIONS | OR_FILEINFO | OR_INDEXES)
        && !(cmd->override & (RSRC_CONF | ACCESS_CONF)))
        return apr_pstrcat(cmd->pool, cmd->cmd->name,
                           " is not allowed in .htaccess files: set it in the server "
                           "configuration", NULL);
    if (!cmd->path) {
        if (!c->allow)
            c->allow = ml_policy_make(cmd->pool);
        *out = c->allow;
        return NULL;
    }
    if (!d->allow) {
        d->allow = apr_array_make(cmd->pool, 1, sizeof(ml_policy_t *));
        APR_ARRAY_PUSH(d->allow, ml_policy_t *) = ml_policy_make(cmd->pool);
    }
    *out = APR_ARRAY_IDX(d->allow, 0, ml_policy_t *);
    return NULL;
}

static const char *ml_cmd_allow(cmd_parms *cmd, void *dc, const char *arg)
{
    ml_policy_t *pol;
    const char *why = ml_allow_target(cmd, dc, &pol);

    if (why)
        return why;
    if ((why = ml_policy_add(pol, arg, cmd->pool)) != NULL)
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", arg, ": ", why, NULL);
    ml_allow_entries++;
    return NULL;
}

static const char *ml_cmd_allow_file(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *why, *path = ap_server_root_relative(cmd->temp_pool, arg);
    ml_policy_t *pol;
    int before;

    if ((why = ml_allow_target(cmd, dc, &pol)) != NULL)
        return why;
    before = ml_policy_count(pol);
    if (!path || (why = ml_policy_add_file(pol, path, cmd->pool)) != NULL)
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": ", path ? why : arg, NULL);
    ml_allow_entries += ml_policy_count(pol) - before;
    return NULL;
}

void ml_conf_policy_reporter(const char *path, int ok, const char *why, int entries)
{
    if (ok)
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, ap_server_conf,
                     "MAGICLINK-200: MagicLinkAllowFile %s re-read: %d entr%s", path, entries,
                     entries == 1 ? "y" : "ies");
    else
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, ap_server_conf,
                     "MAGICLINK-201: MagicLinkAllowFile %s: %s; nobody on that list may sign "
                     "in until it is fixed", path, why ? why : "unusable");
}

static const char *ml_cmd_realm(cmd_parms *cmd, void *dc, const char *arg)
{
    const char *err = ap_check_cmd_context(cmd, NOT_IN_DIR_CONTEXT);

    if (err)
        return err;
    if (!ml_realm_valid(arg))
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": expected a name of 1 to 256 printable "
                           "characters without spaces, got ", arg, NULL);
    ml_srv(cmd)->realm = arg;
    ml_srv(cmd)->realm_own = 1;
    return NULL;
}

static const char *ml_cmd_login_url(cmd_parms *cmd, void *dc, const char *arg)
{
    if (arg[0] != '/' || arg[1] == '/' || strpbrk(arg, "\\ \t\r\n?#"))
        return apr_pstrcat(cmd->pool, cmd->cmd->name,
                           ": expected a local path such as /magic/login, got ", arg, NULL);
    ((ml_dir_conf_t *)dc)->login_url = arg;
    ml_srv(cmd);
    return NULL;
}

static const char *ml_cmd_flag(cmd_parms *cmd, void *dc, int on)
{
    ml_srv(cmd);
    *(int *)((char *)dc + (apr_size_t)cmd->info) = on ? ML_ON : ML_OFF;
    return NULL;
}

static const char *ml_cmd_cookie_secure(cmd_parms *cmd, void *dc, const char *arg)
{
    ml_dir_conf_t *d = dc;

    ml_srv(cmd);
    if (!strcasecmp(arg, "on"))
        d->cookie_secure = ML_ON;
    else if (!strcasecmp(arg, "off"))
        d->cookie_secure = ML_OFF;
    else if (!strcasecmp(arg, "auto"))
        d->cookie_secure = ML_AUTO;
    else
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": expected On, Off or Auto, got ", arg,
                           NULL);
    return NULL;
}

static const char *ml_cmd_cache_outage(cmd_parms *cmd, void *dc, const char *arg)
{
    ml_dir_conf_t *d = dc;

    ml_srv(cmd);
    if (!strcasecmp(arg, "refuse"))
        d->outage_admit = ML_OFF;
    else if (!strcasecmp(arg, "admit"))
        d->outage_admit = ML_ON;
    else
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": expected Refuse or Admit, got ", arg,
                           NULL);
    return NULL;
}

/* RFC 6265 cookie-name / RFC 7230 token characters. */
int ml_conf_token_valid(const char *s)
{
    if (!*s || strlen(s) > 64)
        return 0;
    for (; *s; s++)
        if (!apr_isalnum(*s) && !strchr("!#$%&'*+-.^_`|~", *s))
            return 0;
    return 1;
}

static const char *ml_cmd_cookie_name(cmd_parms *cmd, void *dc, const char *arg)
{
    ml_srv(cmd);
    if (!ml_conf_token_valid(arg))
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": not a valid cookie name: ", arg, NULL);
    ((ml_dir_conf_t *)dc)->cookie_name = arg;
    return NULL;
}

static const char *ml_cmd_pass_header(cmd_parms *cmd, void *dc, const char *arg)
{
    ml_srv(cmd);
    if (!ml_conf_token_valid(arg))
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": not a valid header name: ", arg, NULL);
    ((ml_dir_conf_t *)dc)->pass_header = arg;
    return NULL;
}

/* MagicLinkLanguages de fr en: which compiled languages a location offers,
 * the first being the one for browsers that ask for none of them. */
static const char *ml_cmd_languages(cmd_parms *cmd, void *dcv, const char *args)
{
    ml_dir_conf_t *dc = dcv;
    int *langs = apr_pcalloc(cmd->pool, sizeof(int) * ML_LANG_COUNT);
    const char **codes = apr_pcalloc(cmd->pool, sizeof(char *) * ML_LANG_COUNT);
    const char *word, *all = "";
    int n = 0, i, k;

    ml_srv(cmd);
    for (i = 0; i < ML_LANG_COUNT; i++)
        all = apr_pstrcat(cmd->pool, all, i ? " " : "", ml_lang_codes[i], NULL);
    while (*(word = ap_getword_conf(cmd->temp_pool, &args))) {
        i = ml_lang_exact(word, strlen(word), ml_lang_codes, ML_LANG_COUNT);
        if (i < 0)
            return apr_psprintf(cmd->pool, "%s: '%s' is not a language compiled into the "
                                "module (these are: %s)", cmd->cmd->name, word, all);
        for (k = 0; k < n; k++) {
            if (langs[k] == i)
                return apr_psprintf(cmd->pool, "%s: '%s' is named twice", cmd->cmd->name, word);
        }
        langs[n] = i;
        codes[n++] = ml_lang_codes[i];
    }
    if (!n)
        return apr_pstrcat(cmd->pool, cmd->cmd->name, ": expected one or more of: ", all, NULL);
    dc->langs = langs;
    dc->lang_codes = codes;
    dc->nlangs = n;
    return NULL;
}

/* ---- the directive table (the module record's, in mod_magiclink.c) ---- */

#define ML_SRV_STR(name, field, help) \
    AP_INIT_TAKE1(name, ml_cmd_srv_string, (void *)APR_OFFSETOF(ml_srv_conf_t, field), \
                  RSRC_CONF, help)
#define ML_DIR_SECS(name, field, help) \
    AP_INIT_TAKE1(name, ml_cmd_seconds, (void *)APR_OFFSETOF(ml_dir_conf_t, field), \
                  RSRC_CONF | ACCESS_CONF | OR_AUTHCFG, help)
#define ML_DIR(name, fn, help) \
    AP_INIT_TAKE1(name, fn, NULL, RSRC_CONF | ACCESS_CONF | OR_AUTHCFG, help)

/* Every directive of the module. The identity-token and session-endpoint
 * directives keep their setters beside the records they fill
 * (ml_jwt_glue.c, ml_session_api.c). */
const command_rec ml_cmds[] = {
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
    /* Not in .htaccess: sign-out records are kept for the longest one. */
    AP_INIT_TAKE1("MagicLinkSessionTTL", ml_cmd_session_ttl,
                  (void *)APR_OFFSETOF(ml_dir_conf_t, session_ttl), RSRC_CONF | ACCESS_CONF,
                  "session lifetime in seconds"),
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
    AP_INIT_TAKE2("MagicLinkJWTKey", ml_cmd_jwt_key, NULL, RSRC_CONF,
                  "KID PEMFILE: a private key (Ed25519 or EC P-256) for identity tokens; "
                  "the first line signs, every line is published"),
    ML_DIR("MagicLinkJWTHeader", ml_cmd_jwt_header,
           "request header that carries the signed identity token to the backend"),
    ML_DIR("MagicLinkJWTAudience", ml_cmd_jwt_audience,
           "the token's aud claim [the issuer: MagicLinkBaseURL]"),
    ML_DIR("MagicLinkJWTTTL", ml_cmd_jwt_ttl, "identity token lifetime in seconds [60]"),
    ML_DIR("MagicLinkGroupFile", ml_cmd_group_file,
           "AuthGroupFile-format file whose groups go into the token's groups claim"),
    AP_INIT_ITERATE("MagicLinkCORSOrigin", ml_cmd_cors_origin, NULL,
                    RSRC_CONF | ACCESS_CONF | OR_AUTHCFG,
                    "origins (https://app.example.com) whose scripts may read the session "
                    "endpoint with credentials"),
    AP_INIT_RAW_ARGS("MagicLinkLanguages", ml_cmd_languages, NULL, RSRC_CONF | ACCESS_CONF,
                     "the languages offered, in order of preference: de fr en"),
    {NULL}};

/* ---- start-up ---- */

/* The origin of emailed links: MagicLinkBaseURL, else ServerName's scheme,
 * name and port. Never a request's Host header. */
static void ml_conf_origin(apr_pool_t *p, server_rec *s, ml_srv_conf_t *c)
{
    const char *scheme = s->server_scheme ? s->server_scheme : "http";
    int deflt = !strcasecmp(scheme, "https") ? 443 : 80;

    if (c->base_url)
        c->origin = c->base_url;
    else if (s->port && s->port != deflt)
        c->origin = apr_psprintf(p, "%s://%s:%u", scheme, s->server_hostname, s->port);
    else
        c->origin = apr_psprintf(p, "%s://%s", scheme, s->server_hostname);
    c->origin_https = !strncasecmp(c->origin, "https:", 6);
    c->realm_eff = c->realm ? c->realm : c->origin;
}

static int ml_conf_mailer(apr_pool_t *pconf, server_rec *s, ml_srv_conf_t *c)
{
    const char *spec = c->mailer_spec, *err = NULL;
    ml_mailer_opts_t opts;

    if (!spec) {
        c->mail_fallback = ap_runtime_dir_relative(pconf, "magiclink-mail");
        spec = apr_pstrcat(pconf, "maildir:", c->mail_fallback, NULL);
    }
    memset(&opts, 0, sizeof(opts));
    /* apache2 -t checks and makes nothing; the start makes the maildir. */
    opts.check_only = ap_state_query(AP_SQ_RUN_MODE) == AP_SQ_RM_CONFIG_TEST;
    /* The parent runs as root; the children that deliver run as User. */
    if (geteuid() == 0) {
        opts.chown_dirs = 1;
        opts.uid = ap_unixd_config.user_id;
        opts.gid = ap_unixd_config.group_id;
    }
    if (ml_mailer_create(&c->mailer, spec, &opts, pconf, &err) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "MAGICLINK-001: MagicLinkMailer %s: %s", spec,
                     err ? err : "unusable");
        return !OK;
    }
    if (!c->mail_from)
        c->mail_from = apr_pstrcat(pconf, "noreply@", s->server_hostname, NULL);
    if (ml_addr_parse_from(pconf, c->mail_from, &c->from, &err) != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "MAGICLINK-005: MagicLinkMailFrom %s: %s",
                     c->mail_from, err);
        return !OK;
    }
    return OK;
}

int ml_conf_check(apr_pool_t *pconf, server_rec *s, const ml_crypto_t *crypto)
{
    ml_srv_conf_t *c = ap_get_module_config(s->module_config, &magiclink_module);
    char err[512];

    if (!c->used)
        return OK;
    if (!c->key_file) {
        ap_log_error(
            APLOG_MARK, APLOG_EMERG, 0, s,
            "MAGICLINK-002: MagicLinkKeyFile is required (create one with `magiclink keygen "
            "> FILE && chmod 600 FILE`)");
        return !OK;
    }
    if (ml_keyring_load(&c->keyring, crypto, c->key_file, pconf, err, sizeof(err))
            != APR_SUCCESS) {
        ap_log_error(APLOG_MARK, APLOG_EMERG, 0, s, "MAGICLINK-003: MagicLinkKeyFile %s", err);
        return !OK;
    }
    if (ml_preflight_key_file(pconf, s, "MagicLinkKeyFile", c->key_file) != OK)
        return !OK;
    ml_conf_origin(pconf, s, c);
    if (!c->site_name)
        c->site_name = s->server_hostname;
    return ml_conf_mailer(pconf, s, c);
}

/* Where mail goes when no MagicLinkMailer says: once per path and per
 * start, after the logs are open (not in the pre-flight pass httpd makes
 * before it detaches, nor under -t). */
void ml_conf_note_mail_fallback(apr_pool_t *ptemp, server_rec *main_s)
{
    apr_hash_t *seen = apr_hash_make(ptemp);
    server_rec *s;

    if (ap_state_query(AP_SQ_MAIN_STATE) == AP_SQ_MS_CREATE_PRE_CONFIG)
        return;
    for (s = main_s; s; s = s->next) {
        ml_srv_conf_t *c = ap_get_module_config(s->module_config, &magiclink_module);

        if (!c->used || !c->mail_fallback || apr_hash_get(seen, c->mail_fallback,
                                                          APR_HASH_KEY_STRING))
            continue;
        apr_hash_set(seen, c->mail_fallback, APR_HASH_KEY_STRING, "");
        ap_log_error(APLOG_MARK, APLOG_NOTICE, 0, s,
                     "MAGICLINK-407: no MagicLinkMailer: sign-in mail is delivered to the "
                     "maildir %s (not sent to anybody); set MagicLinkMailer smtp://HOST:PORT "
                     "or pipe:... to send it",
                     c->mail_fallback);
    }
}
