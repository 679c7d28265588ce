#include "ml_audit.h"

#include "http_log.h"
#include "apr_strings.h"

APLOG_USE_MODULE(magiclink);

typedef struct ml_audit_line {
    ml_metric_t metric;
    int tag;
    const char *event;
    const char *outcome;
} ml_audit_line_t;

/* Numbers are stable: fail2ban filters and admins' searches name them. */
static const ml_audit_line_t ml_audit_lines[] = {
    { ML_MET_LINK_MAILED, 110, "link requested", "mailed" },
    { ML_MET_LINK_NOT_ALLOWED, 111, "link requested", "not_allowed" },
    { ML_MET_LINK_THROTTLED, 112, "link requested", "throttled" },
    { ML_MET_LINK_INVALID, 113, "link requested", "invalid" },
    { ML_MET_LINK_CSRF, 114, "link requested", "csrf" },
    { ML_MET_LINK_STORE_DOWN, 115, "link requested", "store_down" },
    { ML_MET_LINK_STORE_FULL, 116, "link requested", "store_full" },
    { ML_MET_CONFIRM_SIGNED_IN, 120, "link confirmed", "signed_in" },
    { ML_MET_CONFIRM_EXPIRED, 121, "link confirmed", "expired" },
    { ML_MET_CONFIRM_USED, 122, "link confirmed", "used" },
    { ML_MET_CONFIRM_OTHER_BROWSER, 123, "link confirmed", "other_browser" },
    { ML_MET_CONFIRM_INVALID, 124, "link confirmed", "invalid" },
    { ML_MET_CONFIRM_CSRF, 125, "link confirmed", "csrf" },
    { ML_MET_CONFIRM_STORE_DOWN, 126, "link confirmed", "store_down" },
    { ML_MET_CODE_RIGHT, 130, "code", "right" },
    { ML_MET_CODE_WRONG, 131, "code", "wrong" },
    { ML_MET_CODE_LOCKED, 132, "code", "locked" },
    { ML_MET_CODE_INVALID, 133, "code", "invalid" },
    { ML_MET_CODE_STORE_DOWN, 134, "code", "store_down" },
    /* An honest visitor's slips, not counted by the fail2ban filter: a link
     * that expired or was used meanwhile, a code that is not six digits. */
    { ML_MET_CODE_EXPIRED, 135, "code", "expired" },
    { ML_MET_CODE_USED, 136, "code", "used" },
    { ML_MET_CODE_MALFORMED, 137, "code", "malformed" },
    { ML_MET_SIGN_IN_LINK, 150, "signed in", "link" },
    { ML_MET_SIGN_IN_CODE, 151, "signed in", "code" },
    { ML_MET_SIGN_IN_APPROVAL, 152, "signed in", "approval" },
    { ML_MET_SIGN_OUT_BROWSER, 160, "signed out", "browser" },
    { ML_MET_SIGN_OUT_EVERYWHERE, 161, "signed out", "everywhere" },
};

static const ml_audit_line_t *ml_audit_find(ml_metric_t m)
{
    apr_size_t i;

    for (i = 0; i < sizeof(ml_audit_lines) / sizeof(ml_audit_lines[0]); i++)
        if (ml_audit_lines[i].metric == m)
            return &ml_audit_lines[i];
    return NULL;
}

const char *ml_audit_name(apr_pool_t *p, const ml_srv_conf_t *sc, const char *email)
{
    ml_store_key_t h;
    char hex[2 * ML_STORE_KEY_LEN + 1];

    if (!email || !*email || strpbrk(email, " \t\r\n\"\\"))
        return "-";
    if (sc->log_hashed != ML_ON)
        return email;
    if (!sc->keyring)
        return "-";
    ml_store_key(&sc->keyring->store_secret, "log", email, strlen(email), &h);
    ml_store_key_hex(&h, hex);
    return apr_pstrcat(p, "h:", apr_pstrndup(p, hex, 16), NULL);
}

void ml_audit_line(ml_req_t *q, const char *email, int tag, const char *event,
                   const char *outcome)
{
    ap_log_rerror(APLOG_MARK, APLOG_NOTICE, 0, q->r,
                  "MAGICLINK-%03d: %s email=%s client=%s outcome=%s", tag, event,
                  ml_audit_name(q->r->pool, q->sc, email), q->r->useragent_ip, outcome);
}

int ml_audit(ml_req_t *q, const char *email, ml_metric_t outcome, int rc)
{
    const ml_audit_line_t *l = ml_audit_find(outcome);

    ml_metric_inc(outcome);
    if (l)
        ml_audit_line(q, email, l->tag, l->event, l->outcome);
    return rc;
}
