/* The asking browser, described for the person approving its sign-in on
 * another device: "Firefox|Linux" from its User-Agent. Only names from the
 * fixed lists below come out, so nothing the client sent is ever shown or
 * stored as is; a browser or system not recognized makes no description. */
#ifndef ML_DEVICE_H
#define ML_DEVICE_H

#include <apr_pools.h>

/* "Browser|OS" (both from fixed lists; static strings), or NULL when either
 * is not recognized or ua is NULL. */
const char *ml_device_describe(const char *ua, apr_pool_t *p);

/* Splits a stored description into its browser and system (in p): 1, or 0
 * when it is not one (empty, or not "A|B"). */
int ml_device_split(const char *desc, apr_pool_t *p, const char **browser, const char **os);

#endif
