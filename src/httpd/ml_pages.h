/* The pages the handler answers with, rendered from the compiled templates
 * straight into the response brigade, in the request's language (q->lang,
 * set by ml_web_negotiate). Each sets r->status and returns OK, or an HTTP
 * error when the page cannot be sent. */
#ifndef ML_PAGES_H
#define ML_PAGES_H

#include "ml_web.h"
#include "ml_templates.h"

/* A message of the catalog (po/messages.pot) in the request's language,
 * plain text, for the words a route passes to a page:
 * ml_page_error(q, 410, ml_msg(q, ML_MSG_ERROR_EXPIRED_TITLE), ...). */
const char *ml_msg(const ml_req_t *q, ml_msg_id_t id);

int ml_page_login(ml_req_t *q, int status, const char *ret, const char *email,
                  const char *error);
/* The sign-in page's URL, with ?return= when ret is not "/". */
const char *ml_page_login_url(const ml_req_t *q, const char *ret);

/* "Check your email" for link l: the number to match, "Continue" (and,
 * with refresh, the reload and "Stop reloading") to the wait route, "Use a
 * different address", and with again the "Send again" form. */
int ml_page_sent(ml_req_t *q, const char *email, const char *pending, const ml_link_t *l,
                 int again, int refresh, int status);
/* The waiting tab again after a wrong code: 403, with how many tries are
 * left when tries_left >= 0. */
int ml_page_code_malformed(ml_req_t *q, const char *pending);
int ml_page_code_wrong(ml_req_t *q, const char *pending, const ml_link_t *l, int tries_left);
int ml_page_confirm(ml_req_t *q, const char *email);
int ml_page_signed_in(ml_req_t *q, const char *email, const char *cont);
/* "Signed out": a 303 to location with the page as its body, or with
 * location NULL the page itself (200). */
int ml_page_signed_out(ml_req_t *q, const char *location);
/* The sign-out page (GET logout) of a signed-in browser: two buttons. */
int ml_page_signout(ml_req_t *q, const char *email);
/* "Approve sign-in on the other device?" for link l (opened by token). */
int ml_page_approve(ml_req_t *q, const ml_link_t *l, const char *token, int status);
int ml_page_error(ml_req_t *q, int status, const char *title, const char *message,
                  const char *retry_url, const char *retry_label);

#endif
