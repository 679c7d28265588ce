/* Client networks, as rate limits count them: one host of IPv6 owns 2^64
 * addresses and a small IPv4 client often a /24, so limits per address
 * would give each a fresh budget. */
#ifndef ML_NET_H
#define ML_NET_H

#include <apr_pools.h>

/* "203.0.113.0/24" for an IPv4 address (IPv4-mapped IPv6 too),
 * "2001:db8:1:2::/64" for IPv6; the text itself (bounded) for anything
 * that does not parse, so it is still counted. In p. */
const char *ml_net_block(apr_pool_t *p, const char *ip);

#endif
