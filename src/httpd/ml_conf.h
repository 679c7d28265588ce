/* Configuration of mod_magiclink: the per-server and per-directory records,
 * the directives, and what is made from them once at start-up. */
#ifndef ML_CONF_H
#define ML_CONF_H

#include "httpd.h"
#include "http_config.h"

#include "ml_addr.h"
#include "ml_keyring.h"
#include "ml_policy.h"

extern module AP_MODULE_DECLARE_DATA magiclink_module;

#define ML_DEFAULT_LINK_TTL      900
#define ML_DEFAULT_SESSION_TTL   604800
#define ML_DEFAULT_SESSION_IDLE  3600
#define ML_DEFAULT_COOKIE        "magiclink_session"
#define ML_DEFAULT_LOGIN_URL     "/magic/login"
#define ML_DEFAULT_BIND_COOKIE   "magiclink_bind"
#define ML_BIND_SUFFIX           "_bind"
#define ML_DEFAULT_KNOWN_COOKIE  "magiclink_known"
#define ML_KNOWN_SUFFIX          "_known"
#define ML_KNOWN_MAX_AGE         (86400 * 365)
#define ML_BIND_MAX_AGE          86400
#define ML_RENEW_EVERY           60
#define ML_CODE_TRIES            5
#define ML_FORM_LIMIT            8192

enum { ML_UNSET = -1, ML_OFF = 0, ML_ON = 1, ML_AUTO = 2 };

typedef struct ml_rate {
    int limit;      /* 0: no limit */
    int window;     /* seconds */
} ml_rate_t;

struct ml_mailer;
struct ml_jwt_srv;
struct ml_jwt_dir;

typedef struct ml_srv_conf {
    const char *key_file;
    const char *base_url;
    const char *mailer_spec;
    const char *mail_from;
    struct ml_store *store;         /* MagicLinkCache, parsed; NULL: the default */
    const char *site_name;
    /* email: per address and client network; email-total: per address from
     * anywhere (a ceiling); ip: per client network (IPv4 /24, IPv6 /64). */
    ml_rate_t rate_email, rate_email_total, rate_ip, rate_domain;
    int rate_email_set, rate_email_total_set, rate_ip_set, rate_domain_set;
    int deliverers;                 /* MagicLinkDeliverers; 0: the default */
    int log_hashed;                 /* MagicLinkLogAddresses Hashed (ML_UNSET: Plain) */
    const char *realm;              /* MagicLinkRealm */
    ml_policy_t *allow;             /* MagicLinkAllow(File) at server level */
    int used;                       /* a MagicLink directive names this server */
    /* Set in this server's own section, not inherited (for the cross-checks). */
    int key_file_own, base_url_own, realm_own;
    /* Made in check_config, shared read-only by every thread. */
    ml_keyring_t *keyring;
    struct ml_mailer *mailer;
    ml_addr_from_t from;            /* MagicLinkMailFrom, parsed */
    const char *origin;             /* scheme://host[:port] of emailed links */
    const char *mail_fallback;      /* the default maildir, when no MagicLinkMailer */
    int origin_https;
    struct ml_jwt_srv *jwt;         /* identity tokens: ml_jwt_glue.h */
    const char *realm_eff;          /* sessions' aud: MagicLinkRealm, else origin */
} ml_srv_conf_t;

typedef struct ml_dir_conf {
    int link_ttl, session_ttl, session_idle;
    /* MagicLinkAllow(File) of the <Location>/<Directory> sections that apply,
     * outermost first (ml_policy_t *): each narrows, the address must be
     * allowed by the server's policy and by every one of these. */
    apr_array_header_t *allow;
    const char *login_url;
    int bind_browser;
    int cookie_secure;
    int outage_admit;               /* MagicLinkCacheOutage Admit */
    int cache_control;              /* MagicLinkCacheControl: no-store on admitted responses */
    const char *pass_header;
    const char *cookie_name;
    struct ml_jwt_dir *jwt;         /* identity tokens: ml_jwt_glue.h */
    apr_array_header_t *cors_origins;   /* MagicLinkCORSOrigin: ml_session_api.h */
    /* MagicLinkLanguages: the languages offered, in order (indexes of
     * ml_lang_info, and their codes); nlangs 0: every compiled language. */
    const int *langs;
    const char *const *lang_codes;
    int nlangs;
} ml_dir_conf_t;

void *ml_create_srv_conf(apr_pool_t *p, server_rec *s);
void *ml_merge_srv_conf(apr_pool_t *p, void *basev, void *addv);
void *ml_create_dir_conf(apr_pool_t *p, char *dir);
void *ml_merge_dir_conf(apr_pool_t *p, void *basev, void *addv);

/* Effective values, defaults applied. */
int ml_dir_link_ttl(const ml_dir_conf_t *d);
int ml_dir_session_ttl(const ml_dir_conf_t *d);
int ml_dir_session_idle(const ml_dir_conf_t *d);
const char *ml_dir_cookie(const ml_dir_conf_t *d);
const char *ml_dir_login_url(const ml_dir_conf_t *d);
int ml_dir_bind_browser(const ml_dir_conf_t *d);
int ml_dir_cache_control(const ml_dir_conf_t *d);

/* Whether a canonical address may sign in (and be admitted) under this
 * server and these sections, now: the server's allow policy and each
 * section's own list, allow files as they are at this moment. */
int ml_conf_allows(const ml_srv_conf_t *sc, const ml_dir_conf_t *dc, const char *email);

/* Every directive of the module, for the module record. */
extern const command_rec ml_cmds[];

/* Start-up: called from check_config for every server; loads the key ring
 * and makes the mailer, or logs why the server cannot start and fails. */
int ml_conf_check(apr_pool_t *pconf, server_rec *s, const ml_crypto_t *crypto);

/* post_config: says where mail goes for servers with no MagicLinkMailer. */
void ml_conf_note_mail_fallback(apr_pool_t *ptemp, server_rec *main_s);
/* Start-up, after ml_conf_check for every server: the checks across servers
 * and sections (shared keys without a realm, inherited base URLs, login URLs
 * no handler serves, Require user lines that are no address); warnings,
 * and !OK when the configuration cannot work. See ml_conf_xcheck.c. */
int ml_conf_cross_check(apr_pool_t *ptemp, server_rec *main_s);

/* Logs allow-file state changes at run time (ml_policy's reporter). */
void ml_conf_policy_reporter(const char *path, int ok, const char *why, int entries);

/* How many allow entries the configuration holds (for the start-up warning). */
int ml_conf_allow_count(void);
void ml_conf_reset_counts(void);
/* The longest MagicLinkSessionTTL anywhere in the configuration (or the
 * default): how long a sign-out must be remembered. */
int ml_conf_session_ttl_longest(void);
/* A cookie or header name: RFC 7230 token characters, 1 to 64 of them. */
int ml_conf_token_valid(const char *s);

#endif
