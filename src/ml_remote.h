/* A minimal client for writing one value into the redis or memcache server
 * that mod_socache_redis / mod_socache_memcache use as MagicLinkCache, so
 * the admin CLI can act on a cluster's shared state (`magiclink revoke`).
 * The module itself never uses this: it goes through httpd's providers. */
#ifndef ML_REMOTE_H
#define ML_REMOTE_H

#include <apr_pools.h>
#include <apr_time.h>

/* spec: "redis:host:port" or "memcache:host:port". Stores value under key
 * for ttl seconds; on failure *err says why (never the value). */
apr_status_t ml_remote_set(const char *spec, const char *key, const char *value,
                           apr_uint32_t ttl, apr_interval_time_t timeout, apr_pool_t *p,
                           const char **err);

#endif
