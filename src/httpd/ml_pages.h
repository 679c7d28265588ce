/* The pages the handler answers with, rendered from the compiled templates
 * straight into the response brigade. Each sets r->status and returns OK,
 * or an HTTP error when the page cannot be sent. */
#ifndef ML_PAGES_H
#define ML_PAGES_H

#include "ml_web.h"

int ml_page_login(ml_req_t *q, int status, const char *ret, const char *email,
                  const char *error);
int ml_page_sent(ml_req_t *q, const char *email, const char *pending, const char *error,
                 int status);
int ml_page_confirm(ml_req_t *q, const char *email);
int ml_page_signed_in(ml_req_t *q, const char *email, const char *cont);
int ml_page_signed_out(ml_req_t *q, const char *login_url);
int ml_page_error(ml_req_t *q, int status, const char *title, const char *message,
                  const char *retry_url, const char *retry_label);

/* The link mail's two bodies, rendered into the scratch's buffers. */
int ml_page_email(ml_req_t *q, const char *email, const char *link, const char *code,
                  ml_buf_t *text, ml_buf_t *html);

#endif
