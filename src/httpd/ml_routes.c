/* The content handler (SetHandler magiclink): the sign-in routes of
 * README.md's "Routes" table, relative to the handler's <Location>. */
#include "ml_routes.h"
#include "ml_audit.h"
#include "ml_auth.h"
#include "ml_deliverer.h"
#include "ml_device.h"
#include "ml_mailer.h"
#include "ml_outbox.h"
#include "ml_addr.h"
#include "ml_mail_msg.h"
#include "ml_metrics.h"
#include "ml_pages.h"
#include "ml_net.h"
#include "ml_return.h"
#include "ml_session_api.h"
#include "ml_state.h"

#include "http_core.h"
#include "http_log.h"
#include "http_protocol.h"
#include "http_request.h"
#include "util_script.h"
#include "apr_strings.h"

APLOG_USE_MODULE(magiclink);

/* ---- shared steps ---- */

static const char *ml_login_url(const ml_req_t *q)
{
    return ml_web_route_url(q, "login");
}

/* The store already logged the incident once; here only at debug level, so
 * an outage is one line in the log, not one per request. */
static int ml_unavailable(ml_req_t *q, apr_status_t rv, const char *what)
{
    ap_log_rerror(APLOG_MARK, APLOG_DEBUG, rv, q->r, "MAGICLINK-030: %s failed; answering 503",
                  what);
    apr_table_setn(q->r->err_headers_out, "Retry-After", "60");
    return ml_page_error(q, HTTP_SERVICE_UNAVAILABLE, ml_msg(q, ML_MSG_ERROR_UNAVAILABLE_TITLE),
                         ml_msg(q, ML_MSG_ERROR_UNAVAILABLE), NULL,
                         ml_msg(q, ML_MSG_BACK_TO_SIGN_IN));
}

static int ml_csrf_failed(ml_req_t *q)
{
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, q->r,
                  "MAGICLINK-031: CSRF token missing or not this browser's; refused");
    return ml_page_error(q, HTTP_FORBIDDEN, ml_msg(q, ML_MSG_ERROR_CSRF_TITLE),
                         ml_msg(q, ML_MSG_ERROR_CSRF), NULL, ml_msg(q, ML_MSG_OPEN_SIGN_IN));
}

/* Reads the form and checks CSRF: OK, or the status already answered. */
static int ml_post_prologue(ml_req_t *q, int *done)
{
    int rc = ml_web_read_form(q);

    *done = 1;
    if (rc != OK)
        return rc;
    q->ret = ml_return_or(ml_web_field(q, "return"), "/");
    ml_web_binding(q, 0);
    if (!ml_web_csrf_ok(q))
        return ml_csrf_failed(q);
    *done = 0;
    return OK;
}

static ml_store_t *ml_store(void)
{
    return ml_state_store();
}

/* A store result, through the outage log. */
static ml_store_rc_t ml_noted(ml_req_t *q, ml_store_rc_t rc)
{
    return ml_state_note(q->r->server, rc);
}

static int ml_too_many(ml_req_t *q, int window, const char *title, const char *message)
{
    apr_table_setn(q->r->err_headers_out, "Retry-After", apr_itoa(q->r->pool, window));
    return ml_page_error(q, HTTP_TOO_MANY_REQUESTS, title, message, NULL,
                         ml_msg(q, ML_MSG_BACK_TO_SIGN_IN));
}

/* The longest window among the limits: how long a refused visitor waits at most. */
static int ml_longest_window(const ml_srv_conf_t *sc)
{
    int w = sc->rate_ip.window;

    w = sc->rate_email.window > w ? sc->rate_email.window : w;
    w = sc->rate_email_total.window > w ? sc->rate_email_total.window : w;
    return sc->rate_domain.limit && sc->rate_domain.window > w ? sc->rate_domain.window : w;
}

/* The digest a known-browser cookie holds for email: keyed with the store
 * key, so the cookie tells nobody the address even if it could be opened. */
static const char *ml_known_digest(const ml_req_t *q, const char *email)
{
    ml_store_key_t k;
    char *hex = apr_palloc(q->r->pool, 2 * ML_STORE_KEY_LEN + 1);

    ml_store_key(&q->kr->store_secret, "k", email, strlen(email), &k);
    ml_store_key_hex(&k, hex);
    return hex;
}

/* Whether this browser has signed in as email before (its known-browser
 * cookie says so): then no stranger can hold the address's email-total
 * limit against it. */
static int ml_known_browser(const ml_req_t *q, const char *email)
{
    const char *name = ml_web_known_name(q);
    const char *d = ml_claim_cookie_open(ML_CLAIM_KNOWN, q->scratch, q->kr, name,
                                         ml_web_cookie(q->r, name), q->now, ML_KNOWN_MAX_AGE,
                                         q->r->pool);

    return d && ml_web_equal(d, ml_known_digest(q, email));
}

/* Marks this browser as one that signed in as email (a year). */
static void ml_known_remember(ml_req_t *q, const char *email)
{
    const char *name = ml_web_known_name(q), *sealed;

    if (ml_claim_cookie_seal(ML_CLAIM_KNOWN, q->scratch, q->kr, name, ml_known_digest(q, email),
                             q->now, q->r->pool, &sealed) == ML_CODEC_OK)
        ml_web_set_cookie(q, name, sealed, "/", ML_KNOWN_MAX_AGE);
}

static void ml_limit(ml_req_t *q, ml_store_limit_t *lims, int *n, const char *kind,
                     const char *value, const ml_rate_t *rate)
{
    if (rate->limit <= 0)
        return;
    ml_store_key(&q->kr->store_secret, kind, value, strlen(value), &lims[*n].key);
    lims[*n].limit = rate->limit;
    lims[*n].window = rate->window;
    (*n)++;
}

/* Counts the request against each rate limit and, unless one is reached,
 * stores the link: one atomic step of the store, which writes nothing
 * when it refuses. Limits count client networks (IPv4 /24, IPv6 /64), not
 * single addresses, and an address per network under a higher ceiling for
 * the address itself, so nobody elsewhere can lock a visitor out alone.
 * 1 when stored; else 0, with the refusal answered in *status. */
static int ml_issue_under_limits(ml_req_t *q, const char *email, const ml_issued_t *is,
                                 const ml_store_mail_t *mail, int *status)
{
    const char *at = strrchr(email, '@');
    const char *net = ml_net_block(q->r->pool, q->r->useragent_ip);
    ml_store_limit_t lims[ML_STORE_LIMITS_MAX];
    ml_store_rc_t rc;
    int n = 0;

    ml_limit(q, lims, &n, "i", net, &q->sc->rate_ip);
    ml_limit(q, lims, &n, "e", apr_pstrcat(q->r->pool, email, "|", net, NULL), &q->sc->rate_email);
    if (!ml_known_browser(q, email))
        ml_limit(q, lims, &n, "E", email, &q->sc->rate_email_total);
    ml_limit(q, lims, &n, "d", at ? at + 1 : "", &q->sc->rate_domain);
    rc = ml_noted(q, ml_store_issue(ml_store(), lims, n, &is->link.key, is->rec, is->rec_len,
                                    q->now, is->link.exp + 60, mail));
    if (rc == ML_STORE_OK)
        ml_state_room();
    else
        ml_audit(q, email, rc == ML_STORE_OVER   ? ML_MET_LINK_THROTTLED
                           : rc == ML_STORE_FULL ? ML_MET_LINK_STORE_FULL
                                                 : ML_MET_LINK_STORE_DOWN,
                 0);
    if (rc == ML_STORE_OVER)
        *status = ml_too_many(q, ml_longest_window(q->sc),
                              ml_msg(q, ML_MSG_ERROR_THROTTLED_TITLE),
                              ml_msg(q, ML_MSG_ERROR_THROTTLED));
    else if (rc != ML_STORE_OK)
        *status = ml_unavailable(q, APR_EGENERAL, "storing the new link and its mail");
    return rc == ML_STORE_OK;
}

/* Starts the session: sets the cookie and answers 303 to the return path.
 * method is the sign_ins_total counter to move. */
static int ml_sign_in(ml_req_t *q, const ml_link_t *l, ml_metric_t method)
{
    ml_session_t sess = { l->email, q->now, q->now, NULL, ml_nonce(q->r->pool) };
    ml_store_key_t v, unused;
    apr_int64_t not_before = 0;
    const char *sealed;

    /* A sign-out revokes sessions issued up to its second: one that begins
     * in that same second is dated just after it, so it survives. */
    ml_auth_session_keys(q, &sess, &v, &unused);
    if (ml_noted(q, ml_store_get_time(ml_store(), &v, q->now, &not_before)) != ML_STORE_OK)
        return ml_unavailable(q, APR_EGENERAL, "reading the sign-out time");
    if (not_before >= sess.iat)
        sess.iat = sess.seen = not_before + 1;
    if (ml_web_session_seal(q, &sess, &sealed) != ML_CODEC_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r, "MAGICLINK-101: cannot seal a session");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    ml_web_set_cookie(q, ml_dir_cookie(q->dc), sealed, "/", ml_dir_session_ttl(q->dc));
    ml_known_remember(q, l->email);
    ml_audit(q, l->email, method, 0);
    return ml_page_signed_in(q, l->email, ml_return_or(l->ret, "/"));
}

static int ml_link_used(ml_req_t *q)
{
    return ml_page_error(q, HTTP_GONE, ml_msg(q, ML_MSG_ERROR_USED_TITLE),
                         ml_msg(q, ML_MSG_ERROR_USED), NULL, NULL);
}

/* A link whose sign-in was refused on another device ("That wasn't me", or
 * a wrong number): over, like a used one. */
static int ml_link_refused(ml_req_t *q, int wrong_number)
{
    return ml_page_error(q, wrong_number ? HTTP_FORBIDDEN : HTTP_GONE,
                         ml_msg(q, ML_MSG_REFUSED_TITLE),
                         ml_msg(q, wrong_number ? ML_MSG_REFUSED_WRONG_TEXT
                                                : ML_MSG_REFUSED_TEXT),
                         NULL, NULL);
}

static int ml_link_expired(ml_req_t *q)
{
    return ml_page_error(q, HTTP_GONE, ml_msg(q, ML_MSG_ERROR_EXPIRED_TITLE),
                         ml_msg(q, ML_MSG_ERROR_EXPIRED), NULL, NULL);
}

/* Marks the link used, if it still holds what was read (compare and set):
 * 1 when this request is the one that used it. */
static int ml_consume(ml_req_t *q, ml_link_t *l, const ml_store_link_t *raw, int *status)
{
    apr_size_t len;
    const char *used;
    ml_store_rc_t rc;

    l->state = ML_LINK_USED;
    used = ml_link_record(l, q->r->pool, &len);
    rc = used ? ml_noted(q, ml_store_replace(ml_store(), &l->key, raw->rec, raw->len, used,
                                             len, q->now))
              : ML_STORE_DOWN;
    if (rc == ML_STORE_NOTFOUND)
        *status = ml_link_used(q);
    else if (rc != ML_STORE_OK)
        *status = ml_unavailable(q, APR_EGENERAL, "recording the link as used");
    return rc == ML_STORE_OK;
}

/* Answers for a link or pending token that is not ours. */
static int ml_link_failed(ml_req_t *q, ml_codec_err_t e)
{
    ap_log_rerror(APLOG_MARK, APLOG_INFO, 0, q->r, "MAGICLINK-033: link refused: %s",
                  ml_codec_strerror(e));
    return ml_page_error(q, HTTP_BAD_REQUEST, ml_msg(q, ML_MSG_ERROR_INVALID_TITLE),
                         ml_msg(q, ML_MSG_ERROR_INVALID), NULL, NULL);
}

/* Reads the link behind a token into l (the stored bytes into raw): OK, or
 * the answer for a token that is not ours, a link that is gone (expired),
 * used, or a store that fails, in *status. */
enum { ML_LOAD_INVALID, ML_LOAD_EXPIRED, ML_LOAD_USED, ML_LOAD_DOWN };

static int ml_load_link(ml_req_t *q, ml_token_kind_t kind, const char *token, ml_link_t *l,
                        ml_store_link_t *raw, int *status, int *why)
{
    ml_codec_err_t e = ml_link_token(q->kr, kind, token, l);
    ml_store_rc_t rc;
    char *work;

    *why = ML_LOAD_INVALID;
    if (e != ML_CODEC_OK) {
        *status = ml_link_failed(q, e);
        return 0;
    }
    rc = ml_noted(q, ml_store_get(ml_store(), &l->key, q->now, q->r->pool, raw));
    *why = rc == ML_STORE_NOTFOUND ? ML_LOAD_EXPIRED : ML_LOAD_DOWN;
    if (rc != ML_STORE_OK) {
        *status = rc == ML_STORE_NOTFOUND ? ml_link_expired(q)
                                          : ml_unavailable(q, APR_EGENERAL, "reading the link");
        return 0;
    }
    work = apr_pstrmemdup(q->r->pool, raw->rec, raw->len);
    if (ml_link_parse_record(work, raw->len, l) != ML_CODEC_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r,
                      "MAGICLINK-102: a stored link record does not parse; refused");
        *status = ml_link_expired(q);
        return 0;
    }
    l->tries = raw->tries;
    q->ret = l->ret;
    *why = ML_LOAD_EXPIRED;
    /* The record outlives the link a little, to tell "used" from "expired". */
    if (l->exp < q->now) {
        *status = ml_link_expired(q);
        return 0;
    }
    *why = ML_LOAD_USED;
    if (l->state == ML_LINK_USED) {
        *status = ml_link_used(q);
        return 0;
    }
    if (l->state == ML_LINK_REFUSED) {
        *status = ml_link_refused(q, 0);
        return 0;
    }
    return 1;
}

/* ---- routes ---- */

static int ml_route_login(ml_req_t *q, const char *token)
{
    const char *ret = NULL;
    ml_session_t sess;

    if (q->r->args) {
        apr_table_t *args;
        ap_args_to_table(q->r, &args);
        ret = apr_table_get(args, "return");
    }
    ml_web_binding(q, 1);
    if (!q->bind_nonce) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r,
                      "MAGICLINK-103: cannot make a binding cookie");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    /* A signed-in visitor gets the sign-out button here. */
    if (ml_auth_session(q, &sess) == 1)
        q->signed_in_as = sess.email;
    return ml_page_login(q, HTTP_OK, ml_return_or(ret, "/"), NULL, NULL);
}

/* The link's mail as an outbox message: the sealed inputs of its mail,
 * queued for every address, to be sent only when it may sign in (send), so
 * that every request does the same work; the deliverer composes it. In the
 * request pool. */
static int ml_outbox_entry(ml_req_t *q, const char *email, const char *display, int send,
                           const ml_issued_t *is, ml_store_mail_t *mail)
{
    ml_outbox_msg_t m = { send, ml_mailer_describe(q->sc->mailer), q->sc->mail_from,
                          { NULL, email, display, q->sc->site_name, NULL, is->code,
                            (ml_dir_link_ttl(q->dc) + 59) / 60, ml_web_lang_code(q->lang) } };

    /* The origin is configuration, never this request's Host header. */
    m.mail.link = apr_pstrcat(q->r->pool, q->sc->origin,
                              ml_web_route_url(q, apr_pstrcat(q->r->pool, "verify/", is->token,
                                                              NULL)),
                              NULL);
    /* One message per link: its id follows from the link's (no second draw
     * of random bytes). */
    ml_store_key(&q->kr->store_secret, "o", (const char *)is->link.key.b, ML_STORE_KEY_LEN,
                 &mail->id);
    mail->queue = ml_outbox_queue(m.mailer);
    mail->data = ml_outbox_seal(q->scratch, q->kr, &mail->id, &m, q->now, q->r->pool,
                                &mail->len);
    mail->created = mail->due = q->now;
    mail->exp = is->link.exp;
    mail->attempts = 0;
    mail->drop = !send;
    if (!mail->data)
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r,
                      "MAGICLINK-301: cannot seal the link mail as an outbox entry");
    return mail->data != NULL;
}

/* Every address gets the same page after the same work: the link is
 * stored and its mail queued for every address (a not-allowed one's mail is
 * queued to be dropped, and it can never sign in with the link: the policy
 * is asked again at every sign-in), in one step of the store; delivery
 * happens in the background (ml_deliverer.h), never on this thread. */
static int ml_route_generate(ml_req_t *q, const char *token)
{
    const char *raw, *email, *display, *why = NULL, *ret;
    int done, rc, allowed;
    ml_store_mail_t mail;
    ml_issued_t is;

    rc = ml_post_prologue(q, &done);
    if (done)   /* 403: the CSRF page; else the body was refused */
        return ml_audit(q, NULL, q->r->status == HTTP_FORBIDDEN ? ML_MET_LINK_CSRF
                                                         : ML_MET_LINK_INVALID, rc);
    raw = ml_web_field(q, "email");
    ret = ml_return_or(ml_web_field(q, "return"), "/");
    if (!raw || ml_addr_normalize(q->r->pool, raw, strlen(raw), &email, &display, &why)
                    != APR_SUCCESS)
        return ml_audit(q, NULL, ML_MET_LINK_INVALID,
                          ml_page_login(q, HTTP_BAD_REQUEST, ret, raw,
                                        ml_msg(q, ML_MSG_ERROR_BAD_EMAIL)));
    allowed = ml_auth_may_sign_in(q, email);
    if (ml_link_issue(q->kr, q->now, ml_dir_link_ttl(q->dc), email, q->bind_nonce, ret,
                      ml_web_lang_code(q->lang),
                      ml_device_describe(apr_table_get(q->r->headers_in, "User-Agent"),
                                         q->r->pool),
                      q->r->pool, &is) != ML_CODEC_OK) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r, "MAGICLINK-104: cannot make a link");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (!ml_outbox_entry(q, email, display, allowed, &is, &mail))
        return HTTP_INTERNAL_SERVER_ERROR;
    if (!ml_issue_under_limits(q, email, &is, &mail, &rc))
        return rc;
    ml_deliverer_kick();
    ml_audit(q, email, allowed ? ML_MET_LINK_MAILED : ML_MET_LINK_NOT_ALLOWED, 0);
    return ml_page_sent(q, display, is.pending, &is.link, 0, 1, HTTP_OK);
}

/* Whether the policy lets l's address sign in here, now: asked at every
 * sign-in, since the allow list may have changed since the link was made. */
static int ml_may_sign_in(ml_req_t *q, const ml_link_t *l, int *status)
{
    if (ml_auth_may_sign_in(q, l->email))
        return 1;
    ml_audit_line(q, l->email, 105, "sign-in refused", "not_allowed");
    *status = ml_page_error(q, HTTP_FORBIDDEN, ml_msg(q, ML_MSG_ERROR_NOT_ALLOWED_TITLE),
                            ml_msg(q, ML_MSG_ERROR_NOT_ALLOWED), NULL,
                            ml_msg(q, ML_MSG_BACK_TO_SIGN_IN));
    return 0;
}

static int ml_other_browser(ml_req_t *q)
{
    return ml_page_error(q, HTTP_FORBIDDEN, ml_msg(q, ML_MSG_ERROR_OTHER_BROWSER_TITLE),
                         ml_msg(q, ML_MSG_ERROR_OTHER_BROWSER), NULL,
                         ml_msg(q, ML_MSG_REQUEST_LINK_HERE));
}

/* ---- approval on another device (README.md: number matching) ----
 *
 * The link opened in a browser other than the asking one offers to approve
 * the asking browser's sign-in: the person types the number the waiting tab
 * shows. The right number moves the link's record from open to approved,
 * a wrong one or "That wasn't me" to refused (the link is over), each one
 * compare-and-set from the record read, so exactly one decision counts on
 * every server. Only the waiting tab (its binding nonce is the record's)
 * then signs in, once (approved to used, compare-and-set), on the wait
 * route its page reloads. */

#define ML_WAIT_REFRESH_FOR 600     /* seconds the waiting tab reloads itself */
#define ML_SEND_AGAIN_AFTER 30      /* seconds before "Send again" is offered */

static int ml_approved_page(ml_req_t *q)
{
    return ml_page_error(q, HTTP_OK, ml_msg(q, ML_MSG_APPROVED_TITLE),
                         ml_msg(q, ML_MSG_APPROVED_TEXT), NULL, NULL);
}

/* GET verify in another browser: the approval form, while the link is open
 * and has a number (a record made before numbers: the old refusal). */
static int ml_approval_offer(ml_req_t *q, const ml_link_t *l, const char *token)
{
    if (l->state == ML_LINK_APPROVED)
        return ml_approved_page(q);
    if (!l->match || !*l->match)
        return ml_other_browser(q);
    return ml_page_approve(q, l, token, HTTP_OK);
}

/* One or two digits, spaces around allowed: a typed number to compare at
 * all. Anything else re-shows the form and ends nothing. */
static int ml_number_typed(const char *v)
{
    char digits[ML_MATCH_DIGITS + 1];

    return ml_link_digits(v, " \t", digits, ML_MATCH_DIGITS) >= 1;
}

/* Moves l's record to state, if it still holds what was read. */
static ml_store_rc_t ml_link_move(ml_req_t *q, ml_link_t *l, const ml_store_link_t *raw,
                                  int state)
{
    apr_size_t len;
    const char *rec;

    l->state = state;
    rec = ml_link_record(l, q->r->pool, &len);
    return rec ? ml_noted(q, ml_store_replace(ml_store(), &l->key, raw->rec, raw->len, rec, len,
                                              q->now))
               : ML_STORE_DOWN;
}

/* POST approve/TOKEN from another browser: decision=approve with the
 * number, or decision=deny. */
static int ml_route_approve(ml_req_t *q, const char *token)
{
    ml_link_t l = { 0 };
    ml_store_link_t raw;
    const char *decision, *number, *outcome;
    int done, rc, why, deny, right;
    ml_store_rc_t src;

    rc = ml_post_prologue(q, &done);
    if (done)
        return rc;
    if (!ml_load_link(q, ML_TOKEN_LINK, token, &l, &raw, &rc, &why))
        return rc;
    /* The asking browser itself has the confirm button; it approves nothing. */
    if (ml_web_equal(l.nonce, q->bind_nonce)) {
        apr_table_setn(q->r->headers_out, "Location",
                       ml_web_route_url(q, apr_pstrcat(q->r->pool, "verify/", token, NULL)));
        return HTTP_SEE_OTHER;
    }
    if (l.state != ML_LINK_OPEN)        /* approved already: single use */
        return ml_link_used(q);
    if (!l.match || !*l.match)
        return ml_other_browser(q);
    decision = ml_web_field(q, "decision");
    number = ml_web_field(q, "number");
    deny = decision && !strcmp(decision, "deny");
    if (!deny && !ml_number_typed(number))
        return ml_page_approve(q, &l, token, HTTP_BAD_REQUEST);
    right = !deny && ml_link_match_ok(&l, number);
    /* Asked here too (and again at the sign-in): a refused approval records
     * nothing. Whoever approves holds the mailed link, so it tells no one
     * anything new. */
    if (right && !ml_may_sign_in(q, &l, &rc))
        return rc;
    src = ml_link_move(q, &l, &raw, right ? ML_LINK_APPROVED : ML_LINK_REFUSED);
    if (src == ML_STORE_NOTFOUND)       /* another decision came first */
        return ml_link_used(q);
    if (src != ML_STORE_OK)
        return ml_unavailable(q, APR_EGENERAL, "recording the approval");
    outcome = right ? "approved" : deny ? "denied" : "wrong_number";
    ml_audit_line(q, l.email, right ? 170 : deny ? 171 : 172, "approval", outcome);
    if (right)
        return ml_approved_page(q);
    return ml_link_refused(q, !deny);
}

/* GET wait/PENDING, what the waiting tab reloads: for the asking browser
 * only, the page again while the link is open, the sign-in once it is
 * approved (approved to used: once), and the refusal or expiry otherwise. */
static int ml_route_wait(ml_req_t *q, const char *pending)
{
    ml_link_t l = { 0 };
    ml_store_link_t raw;
    int rc, why, age;

    ml_web_binding(q, 0);
    if (!ml_load_link(q, ML_TOKEN_PENDING, pending, &l, &raw, &rc, &why))
        return rc;
    if (!ml_web_equal(l.nonce, q->bind_nonce))
        return ml_other_browser(q);
    /* A HEAD (a prefetch, a checker) never collects the approval. */
    if (l.state == ML_LINK_APPROVED && !q->r->header_only) {
        if (!ml_may_sign_in(q, &l, &rc))
            return rc;
        if (!ml_consume(q, &l, &raw, &rc))   /* 410: used; else the store failed */
            return rc;
        return ml_sign_in(q, &l, ML_MET_SIGN_IN_APPROVAL);
    }
    /* Reloading stops by itself after a while, or when the visitor says
     * so (?stop: WCAG 2.2.1, a time limit the user can turn off). */
    age = (int)(q->now - l.iat);
    return ml_page_sent(q, l.email, pending, &l, age >= ML_SEND_AGAIN_AFTER,
                        age < ML_WAIT_REFRESH_FOR && !(q->r->args && !strcmp(q->r->args, "stop")),
                        HTTP_OK);
}

static const ml_metric_t ml_confirm_failed[] = {
    [ML_LOAD_INVALID] = ML_MET_CONFIRM_INVALID, [ML_LOAD_EXPIRED] = ML_MET_CONFIRM_EXPIRED,
    [ML_LOAD_USED] = ML_MET_CONFIRM_USED, [ML_LOAD_DOWN] = ML_MET_CONFIRM_STORE_DOWN,
};

/* GET shows the confirmation page (and says before any click when the
 * link is used, expired or from another browser); POST signs in. Only a
 * POST is counted as a confirmation. */
static int ml_route_verify(ml_req_t *q, const char *token)
{
    ml_link_t l = { 0 };
    ml_store_link_t raw;
    int done, rc = OK, why, post = q->r->method_number == M_POST;

    if (post) {
        rc = ml_post_prologue(q, &done);
        if (done)   /* 403: the CSRF page; else the body was refused */
            return ml_audit(q, l.email, q->r->status == HTTP_FORBIDDEN ? ML_MET_CONFIRM_CSRF
                                                             : ML_MET_CONFIRM_INVALID, rc);
    }
    else {
        ml_web_binding(q, 1);
    }
    if (!ml_load_link(q, ML_TOKEN_LINK, token, &l, &raw, &rc, &why))
        return post ? ml_audit(q, l.email, ml_confirm_failed[why], rc) : rc;
    if (ml_dir_bind_browser(q->dc) && !ml_web_equal(l.nonce, q->bind_nonce))
        return post ? ml_audit(q, l.email, ML_MET_CONFIRM_OTHER_BROWSER, ml_other_browser(q))
                    : ml_approval_offer(q, &l, token);
    if (!post)    /* mail scanners fetch links: never consume */
        return ml_page_confirm(q, l.email);
    if (!ml_may_sign_in(q, &l, &rc)) {
        ml_metric_inc(ML_MET_CONFIRM_INVALID);
        return rc;
    }
    if (!ml_consume(q, &l, &raw, &rc))   /* 410: used; else the store failed */
        return ml_audit(q, l.email, q->r->status == HTTP_GONE ? ML_MET_CONFIRM_USED
                                                    : ML_MET_CONFIRM_STORE_DOWN, rc);
    ml_audit(q, l.email, ML_MET_CONFIRM_SIGNED_IN, 0);
    return ml_sign_in(q, &l, ML_MET_SIGN_IN_LINK);
}

/* What a waiting tab's link that does not load counts as: only a forged or
 * garbled one is an attacker's sign (fail2ban counts "invalid"). */
static const ml_metric_t ml_code_failed[] = {
    [ML_LOAD_INVALID] = ML_MET_CODE_INVALID, [ML_LOAD_EXPIRED] = ML_MET_CODE_EXPIRED,
    [ML_LOAD_USED] = ML_MET_CODE_USED, [ML_LOAD_DOWN] = ML_MET_CODE_STORE_DOWN,
};

static int ml_code_locked(ml_req_t *q)
{
    return ml_page_error(q, HTTP_TOO_MANY_REQUESTS, ml_msg(q, ML_MSG_ERROR_TRIES_TITLE),
                         ml_msg(q, ML_MSG_ERROR_TRIES), NULL, NULL);
}

static int ml_route_code(ml_req_t *q, const char *token)
{
    const char *pending;
    char code[ML_CODE_DIGITS + 1];
    ml_link_t l = { 0 };
    ml_store_link_t raw, counted;
    ml_store_rc_t src;
    int done, rc, why;

    rc = ml_post_prologue(q, &done);
    if (done)
        return ml_audit(q, l.email, ML_MET_CODE_INVALID, rc);
    pending = ml_web_field(q, "pending");
    if (!pending)
        return ml_audit(q, l.email, ML_MET_CODE_INVALID,
                          ml_page_error(q, HTTP_BAD_REQUEST,
                                        ml_msg(q, ML_MSG_ERROR_INCOMPLETE_TITLE),
                                        ml_msg(q, ML_MSG_ERROR_INCOMPLETE), NULL, NULL));
    /* A malformed entry costs no try: only six digits are ever checked. */
    if (!ml_link_code_clean(ml_web_field(q, "code"), code))
        return ml_audit(q, l.email, ML_MET_CODE_MALFORMED,
                          ml_page_code_malformed(q, pending));
    if (!ml_load_link(q, ML_TOKEN_PENDING, pending, &l, &raw, &rc, &why))
        return ml_audit(q, l.email, ml_code_failed[why], rc);
    if (!ml_web_equal(l.nonce, q->bind_nonce))
        return ml_audit(q, l.email, ML_MET_CODE_INVALID, ml_csrf_failed(q));
    /* The try is counted in the link's own record before the code is
     * looked at: exactly ML_CODE_TRIES codes are ever checked per link. */
    src = ml_noted(q, ml_store_try_code(ml_store(), &l.key, ML_CODE_TRIES, q->now, q->r->pool,
                                        &counted));
    if (src == ML_STORE_OVER)
        return ml_audit(q, l.email, ML_MET_CODE_LOCKED, ml_code_locked(q));
    if (src == ML_STORE_NOTFOUND)
        return ml_audit(q, l.email, ML_MET_CODE_EXPIRED, ml_link_expired(q));
    if (src != ML_STORE_OK)
        return ml_audit(q, l.email, ML_MET_CODE_STORE_DOWN,
                          ml_unavailable(q, APR_EGENERAL, "counting code tries"));
    if (!ml_link_code_matches(q->kr, &l, code))
        return ml_audit(q, l.email, ML_MET_CODE_WRONG,
                          ml_page_code_wrong(q, pending, &l, ML_CODE_TRIES - counted.tries));
    ml_audit(q, l.email, ML_MET_CODE_RIGHT, 0);
    if (!ml_may_sign_in(q, &l, &rc) || !ml_consume(q, &l, &raw, &rc))
        return rc;
    return ml_sign_in(q, &l, ML_MET_SIGN_IN_CODE);
}

/* "everywhere" (the default, and what a missing scope means: the safer
 * reading) ends every session of the address issued until now; "browser"
 * ends this session only, wherever copies of its cookie are. */
static int ml_route_logout(ml_req_t *q, const char *token)
{
    const char *name = ml_dir_cookie(q->dc), *cookie = ml_web_cookie(q->r, name);
    const char *scope = NULL;
    ml_store_key_t everywhere, browser;
    ml_session_t sess;
    int done, rc;

    rc = ml_post_prologue(q, &done);
    if (done)
        return rc;
    scope = ml_web_field(q, "scope");
    /* Any live session may be ended here, also one of a section with a
     * longer lifetime than this handler's; its record is kept as long. */
    if (cookie && ml_web_session_open(q, cookie, ml_conf_session_ttl_longest(),
                                      ml_conf_session_ttl_longest(), &sess) == ML_CODEC_OK) {
        int this_browser = scope && !strcmp(scope, "browser");
        ml_store_rc_t src;

        ml_auth_session_keys(q, &sess, &everywhere, &browser);
        src = ml_noted(q, ml_store_set_time(ml_store(), this_browser ? &browser : &everywhere,
                                            q->now, q->now + ml_conf_session_ttl_longest(),
                                            q->now));
        if (src != ML_STORE_OK)
            return ml_unavailable(q, APR_EGENERAL, "recording the sign-out");
        ml_audit(q, sess.email,
                 this_browser ? ML_MET_SIGN_OUT_BROWSER : ML_MET_SIGN_OUT_EVERYWHERE, 0);
    }
    ml_web_set_cookie(q, name, "", "/", 0);
    /* To the signed-out page (GET logout without a session). */
    return ml_page_signed_out(q, ml_web_route_url(q, "logout"));
}

/* GET logout, the URL an application links to: the sign-out buttons for a
 * signed-in browser (the POST does the work), else the signed-out page. */
static int ml_route_logout_page(ml_req_t *q, const char *token)
{
    ml_session_t sess;

    if (q->r->args) {
        apr_table_t *args;
        ap_args_to_table(q->r, &args);
        q->ret = ml_return_or(apr_table_get(args, "return"), "/");
    }
    ml_web_binding(q, 1);
    if (!q->bind_nonce) {
        ap_log_rerror(APLOG_MARK, APLOG_ERR, 0, q->r,
                      "MAGICLINK-173: cannot make a binding cookie");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    if (ml_auth_session(q, &sess) == 1)
        return ml_page_signout(q, sess.email);
    return ml_page_signed_out(q, NULL);
}

/* Our URLs never show httpd's bare pages: a styled 404. */
static int ml_not_found(ml_req_t *q)
{
    return ml_page_error(q, HTTP_NOT_FOUND, ml_msg(q, ML_MSG_NOT_FOUND_TITLE),
                         ml_msg(q, ML_MSG_NOT_FOUND_TEXT), NULL, ml_msg(q, ML_MSG_OPEN_SIGN_IN));
}

/* GET approve/TOKEN (a reload of the refusal, say): the link's own page. */
static int ml_to_verify(ml_req_t *q, const char *token)
{
    apr_table_setn(q->r->headers_out, "Location",
                   ml_web_route_url(q, apr_pstrcat(q->r->pool, "verify/", token, NULL)));
    return HTTP_SEE_OTHER;
}

/* A GET of a POST-only route (a reload, a bookmark): to the sign-in page. */
static int ml_to_login(ml_req_t *q, const char *token)
{
    apr_table_setn(q->r->headers_out, "Location", ml_login_url(q));
    return HTTP_SEE_OTHER;
}

/* ---- dispatch ---- */

/* A route's answer to one method. token: what follows a token route's name
 * (verify/TOKEN); NULL for the others. */
typedef int (*ml_route_fn)(ml_req_t *q, const char *token);

enum { ML_EXACT, ML_TOKEN };    /* NAME is the last path part / NAME/TOKEN ends the path */

typedef struct ml_route {
    const char *name;
    int kind;                   /* ML_EXACT or ML_TOKEN */
    ml_route_fn get, post;      /* GET (and HEAD), POST; NULL: 405, Allow the others */
    ml_route_fn any;            /* every method: a route that answers methods itself */
} ml_route_t;

/* ml_session_api.c: GET, HEAD, OPTIONS, and its own 405 to the rest. */
static int ml_route_session_api(ml_req_t *q, const char *token)
{
    return ml_route_session(q);
}

/* Every route of the handler, one line each: the URI is split against these
 * names, the request is answered from the same line, and a method the line
 * has no answer for gets 405 with the methods it has. */
static const ml_route_t ml_routes[] = {
    /* name       kind      GET                   POST               any */
    { "login",    ML_EXACT, ml_route_login,       NULL,              NULL },
    { "generate", ML_EXACT, ml_to_login,          ml_route_generate, NULL },
    { "code",     ML_EXACT, ml_to_login,          ml_route_code,     NULL },
    { "logout",   ML_EXACT, ml_route_logout_page, ml_route_logout,   NULL },
    { "session",  ML_EXACT, NULL,                 NULL,              ml_route_session_api },
    { "verify",   ML_TOKEN, ml_route_verify,      ml_route_verify,   NULL },
    { "approve",  ML_TOKEN, ml_to_verify,         ml_route_approve,  NULL },
    { "wait",     ML_TOKEN, ml_route_wait,        NULL,              NULL },
    { NULL, 0, NULL, NULL, NULL }
};

/* Whether the URI (its last '/' at slash) ends in rt: /NAME, or /NAME/TOKEN
 * with a non-empty token; if so, sets the base (the path before it) and,
 * for a token route, *token. */
static int ml_route_matches(ml_req_t *q, const ml_route_t *rt, const char *slash,
                            const char **token)
{
    const char *uri = q->r->uri, *start = slash;
    apr_size_t n = strlen(rt->name);

    if (rt->kind == ML_EXACT && strcmp(slash + 1, rt->name))
        return 0;
    if (rt->kind == ML_TOKEN) {
        if (!slash[1] || (apr_size_t)(slash - uri) < n + 1 || slash[-(apr_ssize_t)n - 1] != '/'
            || strncmp(slash - n, rt->name, n))
            return 0;
        start = slash - n - 1;
        *token = slash + 1;
    }
    q->base = apr_pstrmemdup(q->r->pool, uri, (apr_size_t)(start - uri));
    return 1;
}

/* The route the URI names, or NULL. Exact names first: /m/verify/login is
 * the sign-in page of a handler at /m/verify. */
static const ml_route_t *ml_route_find(ml_req_t *q, const char *slash, const char **token)
{
    const ml_route_t *rt;
    int kind;

    for (kind = ML_EXACT; kind <= ML_TOKEN; kind++)
        for (rt = ml_routes; rt->name; rt++)
            if (rt->kind == kind && ml_route_matches(q, rt, slash, token))
                return rt;
    return NULL;
}

/* No route of ours: the base for the styled 404's link to sign-in is the
 * path below a route name just before the last part (/magic/generate/extra,
 * /magic/wait/): then 1; else the parent, and 0. */
static int ml_route_guess_base(ml_req_t *q, const char *slash)
{
    const char *uri = q->r->uri, *v;
    const ml_route_t *rt;

    q->base = apr_pstrmemdup(q->r->pool, uri, (apr_size_t)(slash - uri));
    for (v = slash; v > uri && v[-1] != '/'; v--)
        ;
    if (v == uri)
        return 0;
    for (rt = ml_routes; rt->name; rt++)
        if ((apr_size_t)(slash - v) == strlen(rt->name)
            && !strncmp(v, rt->name, (apr_size_t)(slash - v))) {
            q->base = apr_pstrmemdup(q->r->pool, uri, (apr_size_t)(v - 1 - uri));
            return 1;
        }
    return 0;
}

enum { ML_PATH_NONE, ML_PATH_BASE, ML_PATH_UNKNOWN, ML_PATH_ROUTE };

/* Splits the URI into the handler's base path and the route below it, from
 * the route names themselves: httpd does not tell a handler which section
 * set it, and this way it works in <Location>, <LocationMatch> and
 * <Directory> alike. ML_PATH_ROUTE with *rt (and *token), ML_PATH_BASE for
 * the base itself, ML_PATH_UNKNOWN for none of ours, ML_PATH_NONE for a URI
 * without a '/'. */
static int ml_route_split(ml_req_t *q, const ml_route_t **rt, const char **token)
{
    const char *slash = strrchr(q->r->uri, '/');

    if (!slash)
        return ML_PATH_NONE;
    *rt = ml_route_find(q, slash, token);
    if (*rt)
        return ML_PATH_ROUTE;
    return ml_route_guess_base(q, slash) || slash[1] ? ML_PATH_UNKNOWN : ML_PATH_BASE;
}

/* The route's answer to this method, else 405 naming the methods it has. */
static int ml_route_run(ml_req_t *q, const ml_route_t *rt, const char *token)
{
    int m = q->r->method_number;    /* HEAD is M_GET */

    if (rt->any)
        return rt->any(q, token);
    if (m == M_GET && rt->get)
        return rt->get(q, token);
    if (m == M_POST && rt->post)
        return rt->post(q, token);
    return ml_web_method_not_allowed(q->r, (rt->get ? ML_METHOD(M_GET) : 0)
                                               | (rt->post ? ML_METHOD(M_POST) : 0));
}

/* ---- skipping the filesystem ---- */

/* The handler's pages are not files, so the <Directory> walk and its stat
 * calls (a tenth of a request's time) are skipped for them, as mod_proxy
 * skips them for proxied URLs; <Location> and <If> sections still apply.
 * Only translate_name still sees the <Location> walk (map_to_storage runs
 * on the server defaults), so the decision is noted there. */
static const char ml_virtual;

int ml_translate(request_rec *r)
{
    core_dir_config *d = ap_get_core_module_config(r->per_dir_config);
    const char *err = NULL, *h;

    if (!d->expr_handler)
        return DECLINED;
    h = ap_expr_str_exec(r, d->expr_handler, &err);
    if (!err && h && !strcmp(h, ML_HANDLER))
        ap_set_module_config(r->request_config, &magiclink_module, (void *)&ml_virtual);
    return DECLINED;
}

int ml_map_to_storage(request_rec *r)
{
    return ap_get_module_config(r->request_config, &magiclink_module) == &ml_virtual ? OK
                                                                                    : DECLINED;
}

/* ---- the handler ---- */

int ml_handler(request_rec *r)
{
    const ml_route_t *rt = NULL;
    const char *token = NULL;
    ml_req_t q;
    int path;

    if (!r->handler || strcmp(r->handler, ML_HANDLER))
        return DECLINED;
    if (!ml_web_init(&q, r)) {
        ap_log_rerror(
            APLOG_MARK, APLOG_ERR, 0, r,
            "MAGICLINK-036: SetHandler magiclink without MagicLinkKeyFile for this server");
        return HTTP_INTERNAL_SERVER_ERROR;
    }
    path = ml_route_split(&q, &rt, &token);
    if (path == ML_PATH_NONE)
        return HTTP_NOT_FOUND;
    ml_web_negotiate(&q);
    if (path == ML_PATH_BASE) {
        apr_table_setn(r->headers_out, "Location", ml_login_url(&q));
        return HTTP_MOVED_TEMPORARILY;
    }
    if (path == ML_PATH_UNKNOWN)
        return ml_not_found(&q);
    return ml_route_run(&q, rt, token);
}
