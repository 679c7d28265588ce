/* The background deliverers: threads of each child that drain the outbox
 * (ml_outbox.h) through the configured mailers, so that no request waits
 * for a relay. Every child runs MagicLinkDeliverers of them; all of them,
 * on every server sharing the store, take turns through the store's leases.
 * A generate in this child wakes one at once; otherwise each looks for due
 * messages once a second. */
#ifndef ML_DELIVERER_H
#define ML_DELIVERER_H

#include "httpd.h"

#define ML_DELIVERERS_DEFAULT 4

void ml_deliverer_child_init(apr_pool_t *pchild, server_rec *s);

/* A message was queued: wake a deliverer of this process. */
void ml_deliverer_kick(void);

#endif
