/* Start-up checks across servers and sections (`apachectl -t` runs them):
 * configurations that cannot work, or that share more than the admin meant.
 *
 * What the per-directive handlers cannot see is read from the parsed
 * configuration tree (ap_conftree: the main files and every Include, as
 * mod_info shows it) and from the server records:
 *   - AuthType MagicLink or MagicLinkLoginURL sending visitors to a path that
 *     no <Location>/<LocationMatch> with SetHandler magiclink serves
 *     (warning; a handler set by an expression, in <Directory>/<Files> or in
 *     .htaccess cannot be mapped to URLs here, and then nothing is said);
 *   - Require user NAME, under AuthType MagicLink, where NAME is no address
 *     or not in canonical form, so it can never match (warning);
 *   - a virtual host using the key file it inherits, without a
 *     MagicLinkRealm of its own (warning: say so), and an error when that
 *     makes its realm another server's with the same keys (their sessions
 *     would be valid at each other);
 *   - a virtual host serving the handler while inheriting another host's
 *     MagicLinkBaseURL: the links it mails would point at that host (error).
 * Require magiclink-domain is checked by its own parse hook (ml_auth.c). */
#include "ml_conf.h"
#include "ml_routes.h"

#include "http_log.h"
#include "util_cfgtree.h"
#include "ap_regex.h"
#include "apr_strings.h"
#include "apr_uri.h"

APLOG_USE_MODULE(magiclink);

/* A <Location> or <LocationMatch> that sets the handler. */
typedef struct ml_xc_handler {
    const ap_directive_t *vhost; /* NULL: the main server's (every host's) */
    const char *prefix;          /* <Location path> */
    ap_regex_t *re;              /* <LocationMatch re>, <Location ~ re> */
} ml_xc_handler_t;

/* A path visitors are sent to for signing in. */
typedef struct ml_xc_gate {
    const ap_directive_t *node, *vhost;
    const char *login;
    const char *what;
} ml_xc_gate_t;

/* What a virtual host's own sections do with the module. */
typedef struct ml_xc_vhost {
    const ap_directive_t *node;
    int uses;                      /* any of our directives, AuthType or handler */
    const ap_directive_t *handler; /* a SetHandler magiclink inside it */
} ml_xc_vhost_t;

typedef struct ml_xc {
    apr_pool_t *p;
    apr_array_header_t *handlers, *gates, *vhosts;
    int unmapped; /* a handler the checks cannot place */
    int errors;
} ml_xc_t;

static const char *ml_xc_where(ml_xc_t *x, const ap_directive_t *d)
{
    return apr_psprintf(x->p, "%s:%d", d->filename ? d->filename : "?", d->line_num);
}

/* A section's argument without its closing '>' and quotes. */
static const char *ml_xc_section_arg(ml_xc_t *x, const ap_directive_t *d, int *is_regex)
{
    char *a = apr_pstrdup(x->p, d->args ? d->args : ""), *gt = strrchr(a, '>');
    const char *w, *rest;

    if (gt)
        *gt = '\0';
    rest = a;
    w = ap_getword_conf(x->p, &rest);
    *is_regex = !strcasecmp(d->directive, "<LocationMatch");
    if (!strcmp(w, "~")) {
        *is_regex = 1;
        w = ap_getword_conf(x->p, &rest);
    }
    return w;
}

static ml_xc_vhost_t *ml_xc_vhost_of(ml_xc_t *x, const ap_directive_t *vhost)
{
    int i;

    for (i = 0; vhost && i < x->vhosts->nelts; i++) {
        ml_xc_vhost_t *v = &APR_ARRAY_IDX(x->vhosts, i, ml_xc_vhost_t);
        if (v->node == vhost)
            return v;
    }
    return NULL;
}

/* The value of a directive in the section of d or any enclosing one: the
 * innermost wins, as merging would have it (an approximation: sections
 * elsewhere that also apply are not seen). */
static const char *ml_xc_in_scope(const ap_directive_t *d, const char *name)
{
    const ap_directive_t *scope, *c;

    for (scope = d->parent;; scope = scope->parent) {
        for (c = scope ? scope->first_child : ap_conftree; c; c = c->next)
            if (!strcasecmp(c->directive, name))
                return c->args;
        if (!scope)
            return NULL;
    }
}

static void ml_xc_set_handler(ml_xc_t *x, const ap_directive_t *d, const ap_directive_t *sec,
                              const ap_directive_t *vhost)
{
    const char *args = d->args, *h = ap_getword_conf(x->p, &args);
    ml_xc_handler_t *hs;
    int is_regex = 0;
    const char *where;

    if (!strncasecmp(h, "expr=", 5)) {
        if (ap_strcasestr(h, "magiclink"))
            x->unmapped = 1;
        return;
    }
    if (strcasecmp(h, ML_HANDLER))
        return;
    if (ml_xc_vhost_of(x, vhost)) {
        ml_xc_vhost_of(x, vhost)->uses = 1;
        ml_xc_vhost_of(x, vhost)->handler = d;
    }
    if (sec && strcasecmp(sec->directive, "<Location")
        && strcasecmp(sec->directive, "<LocationMatch")) {
        x->unmapped = 1;
        return;
    }
    hs = apr_array_push(x->handlers);
    hs->vhost = vhost;
    hs->prefix = "/";
    hs->re = NULL;
    if (!sec)
        return;
    where = ml_xc_section_arg(x, sec, &is_regex);
    if (!is_regex)
        hs->prefix = where;
    else if (!(hs->re = ap_pregcomp(x->p, where, AP_REG_EXTENDED)))
        x->unmapped = 1, hs->prefix = NULL;
}

static void ml_xc_gate(ml_xc_t *x, const ap_directive_t *d, const ap_directive_t *vhost,
                       const char *login)
{
    ml_xc_gate_t *g = apr_array_push(x->gates);

    g->node = d;
    g->vhost = vhost;
    g->login = login;
    g->what = !strcasecmp(d->directive, "AuthType") ? "AuthType MagicLink" : d->directive;
}

/* Require [not] user a b c, where AuthType MagicLink applies. */
static void ml_xc_require(ml_xc_t *x, const ap_directive_t *d)
{
    const char *args = d->args, *w = ap_getword_conf(x->p, &args), *type, *norm, *why;

    if (!strcasecmp(w, "not"))
        w = ap_getword_conf(x->p, &args);
    type = ml_xc_in_scope(d, "AuthType");
    if (strcasecmp(w, "user") || !type || strcasecmp(type, "MagicLink"))
        return;
    while (*(w = ap_getword_conf(x->p, &args))) {
        if (ml_addr_normalize(x->p, w, strlen(w), &norm, NULL, &why) != APR_SUCCESS)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, NULL,
                         "MAGICLINK-221: Require user %s (%s): not an email address (%s); "
                         "AuthType MagicLink users are addresses, so this never matches",
                         w, ml_xc_where(x, d), why);
        else if (strcmp(norm, w))
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, NULL,
                         "MAGICLINK-221: Require user %s (%s): addresses are compared in "
                         "their canonical form, %s; as written this never matches",
                         w, ml_xc_where(x, d), norm);
    }
}

static void ml_xc_walk(ml_xc_t *x, const ap_directive_t *d, const ap_directive_t *sec,
                       const ap_directive_t *vhost)
{
    for (; d; d = d->next) {
        const char *name = d->directive;

        if (d->first_child) {
            const ap_directive_t *inner_sec = sec, *inner_vhost = vhost;
            if (!strcasecmp(name, "<VirtualHost")) {
                ml_xc_vhost_t *v = apr_array_push(x->vhosts);
                memset(v, 0, sizeof(*v));
                v->node = inner_vhost = d;
                inner_sec = NULL;
            } else if (!strncasecmp(name, "<Location", 9) || !strncasecmp(name, "<Directory", 10)
                       || !strncasecmp(name, "<Files", 6) || !strncasecmp(name, "<Proxy", 6)) {
                inner_sec = d;
            }
            ml_xc_walk(x, d->first_child, inner_sec, inner_vhost);
            continue;
        }
        if (!strncasecmp(name, "MagicLink", 9) && ml_xc_vhost_of(x, vhost))
            ml_xc_vhost_of(x, vhost)->uses = 1;
        if (!strcasecmp(name, "SetHandler")) {
            ml_xc_set_handler(x, d, sec, vhost);
        } else if (!strcasecmp(name, "AuthType") && d->args && !strcasecmp(d->args, "MagicLink")) {
            if (ml_xc_vhost_of(x, vhost))
                ml_xc_vhost_of(x, vhost)->uses = 1;
            /* A MagicLinkLoginURL in scope is checked as itself. */
            if (!ml_xc_in_scope(d, "MagicLinkLoginURL"))
                ml_xc_gate(x, d, vhost, ML_DEFAULT_LOGIN_URL);
        } else if (!strcasecmp(name, "MagicLinkLoginURL") && d->args) {
            ml_xc_gate(x, d, vhost, d->args);
        } else if (!strcasecmp(name, "Require") && d->args) {
            ml_xc_require(x, d);
        }
    }
}

static int ml_xc_serves(const ml_xc_handler_t *h, const char *path)
{
    if (h->re)
        return ap_regexec(h->re, path, 0, NULL, 0) == 0;
    return h->prefix && !strncmp(path, h->prefix, strlen(h->prefix));
}

/* Warns about login URLs no handler serves. */
static void ml_xc_login_urls(ml_xc_t *x)
{
    int i, j;

    if (x->unmapped)
        return;
    for (i = 0; i < x->gates->nelts; i++) {
        ml_xc_gate_t *g = &APR_ARRAY_IDX(x->gates, i, ml_xc_gate_t);
        char *path = apr_pstrdup(x->p, g->login), *q = strchr(path, '?');
        int served = 0;

        if (q)
            *q = '\0';
        for (j = 0; j < x->handlers->nelts && !served; j++) {
            const ml_xc_handler_t *h = &APR_ARRAY_IDX(x->handlers, j, ml_xc_handler_t);
            /* The main server's sections apply to every host; a host's own
             * only to it, and a gate of the main server to any host. */
            if (!h->vhost || !g->vhost || h->vhost == g->vhost)
                served = ml_xc_serves(h, path);
        }
        if (served)
            continue;
        if (x->handlers->nelts == 0)
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, NULL,
                         "MAGICLINK-220: %s (%s) sends visitors to %s, but no section sets "
                         "SetHandler magiclink: nobody can sign in (a handler set in "
                         ".htaccess or by an expression is not seen by this check)",
                         g->what, ml_xc_where(x, g->node), g->login);
        else
            ap_log_error(APLOG_MARK, APLOG_WARNING, 0, NULL,
                         "MAGICLINK-220: %s (%s) sends visitors to %s, which no <Location> "
                         "with SetHandler magiclink serves; set MagicLinkLoginURL to the "
                         "handler's login path (e.g. /magic/login for <Location /magic>)",
                         g->what, ml_xc_where(x, g->node), g->login);
    }
}

static const char *ml_xc_name(ml_xc_t *x, server_rec *s)
{
    if (!s->is_virtual)
        return "the main server";
    return apr_psprintf(x->p, "<VirtualHost> %s (%s:%u)", s->server_hostname,
                        s->defn_name ? s->defn_name : "?", s->defn_line_number);
}

static ml_xc_vhost_t *ml_xc_vhost_for(ml_xc_t *x, server_rec *s)
{
    int i;

    for (i = 0; s->is_virtual && s->defn_name && i < x->vhosts->nelts; i++) {
        ml_xc_vhost_t *v = &APR_ARRAY_IDX(x->vhosts, i, ml_xc_vhost_t);
        if (v->node->filename && !strcmp(v->node->filename, s->defn_name)
            && (unsigned)v->node->line_num == s->defn_line_number)
            return v;
    }
    return NULL;
}

/* A host using the keys it inherits: its realm must be its own. */
static void ml_xc_realm(ml_xc_t *x, server_rec *main_s, server_rec *s, ml_srv_conf_t *c)
{
    server_rec *o;

    for (o = main_s; o; o = o->next) {
        ml_srv_conf_t *oc = ap_get_module_config(o->module_config, &magiclink_module);
        if (o == s || !oc->key_file || !oc->realm_eff || strcmp(oc->key_file, c->key_file)
            || strcmp(oc->realm_eff, c->realm_eff))
            continue;
        ap_log_error(APLOG_MARK, APLOG_ERR, 0, NULL,
                     "MAGICLINK-222: %s shares MagicLinkKeyFile %s and the realm \"%s\" with "
                     "%s, so a session of either is valid at both; set MagicLinkRealm in "
                     "the virtual host (the same name in both only to share sessions on "
                     "purpose), or give it a MagicLinkBaseURL and key file of its own",
                     ml_xc_name(x, s), c->key_file, c->realm_eff, ml_xc_name(x, o));
        x->errors++;
        return;
    }
    ap_log_error(APLOG_MARK, APLOG_WARNING, 0, NULL,
                 "MAGICLINK-223: %s uses the MagicLinkKeyFile it inherits (%s) without a "
                 "MagicLinkRealm of its own: its sessions are bound to \"%s\" and are no "
                 "session elsewhere; set MagicLinkRealm to say so, or to share sessions "
                 "with other hosts on purpose",
                 ml_xc_name(x, s), c->key_file, c->realm_eff);
}

/* A host serving the handler mails links to its MagicLinkBaseURL: one it
 * inherits names another host, unless it is this host's own name. */
static void ml_xc_base_url(ml_xc_t *x, server_rec *s, ml_srv_conf_t *c, ml_xc_vhost_t *v)
{
    apr_uri_t u;

    if (!v->handler || c->base_url_own || !c->base_url)
        return;
    if (apr_uri_parse(x->p, c->base_url, &u) == APR_SUCCESS && u.hostname && s->server_hostname
        && !strcasecmp(u.hostname, s->server_hostname))
        return;
    ap_log_error(APLOG_MARK, APLOG_ERR, 0, NULL,
                 "MAGICLINK-224: %s serves SetHandler magiclink (%s) but inherits "
                 "MagicLinkBaseURL %s, another host: the links it mails would point there "
                 "and fail; set MagicLinkBaseURL in the virtual host",
                 ml_xc_name(x, s), ml_xc_where(x, v->handler), c->base_url);
    x->errors++;
}

int ml_conf_cross_check(apr_pool_t *ptemp, server_rec *main_s)
{
    ml_xc_t x = {.p = ptemp};
    server_rec *s;

    x.handlers = apr_array_make(ptemp, 4, sizeof(ml_xc_handler_t));
    x.gates = apr_array_make(ptemp, 4, sizeof(ml_xc_gate_t));
    x.vhosts = apr_array_make(ptemp, 4, sizeof(ml_xc_vhost_t));
    ml_xc_walk(&x, ap_conftree, NULL, NULL);
    ml_xc_login_urls(&x);
    for (s = main_s->next; s; s = s->next) {
        ml_srv_conf_t *c = ap_get_module_config(s->module_config, &magiclink_module);
        ml_xc_vhost_t *v = ml_xc_vhost_for(&x, s);

        if (!v || !v->uses || !c->keyring)
            continue;
        if (!c->key_file_own && !c->realm_own)
            ml_xc_realm(&x, main_s, s, c);
        ml_xc_base_url(&x, s, c, v);
    }
    return x.errors ? !OK : OK;
}
