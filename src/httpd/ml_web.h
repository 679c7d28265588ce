/* Request-side helpers shared by the handler and the auth hooks: the
 * per-request context, the per-thread scratch, cookies, form bodies, CSRF. */
#ifndef ML_WEB_H
#define ML_WEB_H

#include "httpd.h"
#include "ml_conf.h"
#include "ml_link.h"

typedef struct ml_req {
    request_rec *r;
    ml_srv_conf_t *sc;
    ml_dir_conf_t *dc;
    ml_scratch_t *scratch;
    const ml_keyring_t *kr;
    apr_int64_t now;
    apr_table_t *form;          /* POST fields, after ml_web_read_form */
    const char *bind_nonce;     /* this browser's nonce, from its binding cookie */
    const char *base;           /* the handler's path, from the route's URI */
    const char *signed_in_as;   /* the login page's visitor's address, if signed in */
    const char *ret;            /* the return path this request carries, once known:
                                   the pages' way back to sign-in keeps it */
    int lang;                   /* the pages' language: an index of ml_lang_info
                                   (ml_templates.h), set by ml_web_negotiate */
    int gate_outcome;           /* ml_metric_t: why ml_auth_session said no */
} ml_req_t;

/* Fills q for r; 0 when the server has no key ring (not configured). */
int ml_web_init(ml_req_t *q, request_rec *r);

/* The path of one of the handler's routes ("login", "verify/TOKEN"). */
const char *ml_web_route_url(const ml_req_t *q, const char *route);

/* The scratch of the calling worker thread, made on its first request. */
ml_scratch_t *ml_web_scratch(request_rec *r);
/* The object under key that lives as long as the calling worker thread,
 * made by make in the thread's pool on first use; without a thread object,
 * made for the request. NULL when make fails. */
void *ml_web_thread_state(request_rec *r, const char *key, void *(*make)(apr_pool_t *p));

/* Cookie names. `name` is always the configured one (MagicLinkCookieName,
 * or the binding cookie's); it is also the name sealed values are bound to
 * under their MAC. On the wire the cookie is called "__Host-" NAME whenever
 * it is Secure (MagicLinkCookieSecure On, or Auto over https): with Path=/
 * and no Domain the browser then refuses that name from any other host.
 * Over plain http (Secure off) the wire name is NAME itself.
 * ml_web_cookie_name() gives the wire name for r. */
const char *ml_web_cookie_name(request_rec *r, const char *name);

/* The value of the one cookie called (the wire name of) name, across every
 * Cookie header; NULL when there is none or more than one. */
const char *ml_web_cookie(request_rec *r, const char *name);
/* Sets a cookie: HttpOnly, SameSite=Lax, Secure as configured, under its
 * wire name when path is "/". */
void ml_web_set_cookie(const ml_req_t *q, const char *name, const char *value,
                       const char *path, apr_int64_t max_age);

/* Sessions of this server: sealed under the session cookie's configured
 * name, for the server's realm (MagicLinkRealm, else its origin). seal sets
 * sess->aud; open applies the given lifetime and idle limit. */
ml_codec_err_t ml_web_session_seal(const ml_req_t *q, ml_session_t *sess, const char **sealed);
ml_codec_err_t ml_web_session_open(const ml_req_t *q, const char *value, int ttl, int idle,
                                   ml_session_t *sess);

/* The binding cookie's name for this location. */
const char *ml_web_bind_name(const ml_req_t *q);

/* The known-browser cookie's name: magiclink_known, or NAME_known. */
const char *ml_web_known_name(const ml_req_t *q);
/* Opens the binding cookie into q->bind_nonce; with `issue`, makes and sets a
 * new one when there is none. */
void ml_web_binding(ml_req_t *q, int issue);

/* Reads an application/x-www-form-urlencoded body of at most ML_FORM_LIMIT
 * bytes into q->form: OK, or 413, 415 or 400. */
int ml_web_read_form(ml_req_t *q);
const char *ml_web_field(const ml_req_t *q, const char *name);

/* Whether a state-changing request may come from where the browser says it
 * comes from: refused when Sec-Fetch-Site is cross-site or same-site, or an
 * Origin header is present and is not the configured origin (the base URL).
 * Absent headers (older browsers, scripts) pass: the CSRF token decides.
 * Logs why it refuses. */
int ml_web_same_origin(const ml_req_t *q);

/* The POST comes from our origin (ml_web_same_origin) and the CSRF token it
 * presents (form field or X-CSRF-Token header) matches the browser's
 * binding nonce, compared in constant time. */
int ml_web_csrf_ok(const ml_req_t *q);

/* Constant-time comparison of two NUL-terminated strings; NULL equals nothing. */
int ml_web_equal(const char *a, const char *b);

/* Sets q->lang, once per request, to the first that applies of: a ?lang=
 * in the query (an explicit choice, kept in the language cookie NAME_lang),
 * that cookie, Accept-Language, and the first language the location offers
 * (MagicLinkLanguages; every compiled one, English first, by default). */
void ml_web_negotiate(ml_req_t *q);

/* A language as a short code ("de", "pt-BR"): for carrying it with a link. */
const char *ml_web_lang_code(int lang);

/* The language cookie's name for this location. */
const char *ml_web_lang_cookie(const ml_req_t *q);

/* Headers every page of ours carries: no caching, no framing, no referrer
 * (verify URLs hold tokens), a tight content security policy. */
void ml_web_page_headers(request_rec *r);

/* A method's bit in a methods mask: ML_METHOD(M_GET) | ML_METHOD(M_POST). */
#define ML_METHOD(m) (AP_METHOD_BIT << (m))

/* The answer to a method an endpoint has no answer for: 405, with the
 * methods it has (ML_METHOD bits; M_GET brings HEAD) in the Allow header,
 * which httpd writes from them (adding TRACE while TraceEnable is on). */
int ml_web_method_not_allowed(request_rec *r, apr_int64_t methods);

/* Removes every copy of header `name` a backend might read as it: any case,
 * '_' for '-' (X-Remote-Email, x-remote-email, X_Remote_Email ...). Only we
 * may speak for ourselves to a backend. */
void ml_web_strip_header(apr_table_t *headers, const char *name);

#endif
