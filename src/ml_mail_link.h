/* The sign-in mail of a link: its subject, text and HTML rendered from the
 * compiled templates (templates/email_*.tpl) in the visitor's language,
 * then composed as one MIME message (ml_mail_msg.h).
 *
 * Composed by the deliverer that sends it (ml_outbox.h), not by the request
 * that made the link: the outbox keeps only these inputs, sealed, so a mail
 * that is dropped (an address that may not sign in) is never composed. */
#ifndef ML_MAIL_LINK_H
#define ML_MAIL_LINK_H

#include "ml_addr.h"
#include "ml_buf.h"

typedef struct ml_mail_link {
    const ml_addr_from_t *from;     /* MagicLinkMailFrom, parsed */
    const char *to;                 /* the normalized address */
    const char *display;            /* the address as shown to its owner */
    const char *site_name;
    const char *link;               /* the whole URL, origin from the configuration */
    const char *code;
    int ttl_minutes;
    const char *lang;               /* a BCP 47 code of a compiled language; else English */
} ml_mail_link_t;

/* Renders and composes the message into out (reset first); text and html
 * are working buffers, wiped before it returns (they hold the link). On
 * failure out is wiped and *err says which step failed. */
apr_status_t ml_mail_link_compose(const ml_mail_link_t *in, ml_buf_t *text, ml_buf_t *html,
                                  ml_buf_t *out, apr_pool_t *p, const char **err);

#endif
