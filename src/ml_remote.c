#include "ml_remote.h"

#include <apr_network_io.h>
#include <apr_strings.h>
#include <string.h>

static apr_status_t ml_remote_connect(const char *hostport, apr_port_t dflt,
                                      apr_interval_time_t timeout, apr_socket_t **out,
                                      apr_pool_t *p, const char **err)
{
    char *host = NULL, *scope = NULL;
    apr_port_t port = 0;
    apr_sockaddr_t *sa;
    apr_status_t rv;

    rv = apr_parse_addr_port(&host, &scope, &port, hostport, p);
    if (rv != APR_SUCCESS || !host) {
        *err = apr_psprintf(p, "expected host:port, got \"%s\"", hostport);
        return rv ? rv : APR_EINVAL;
    }
    if ((rv = apr_sockaddr_info_get(&sa, host, APR_UNSPEC, port ? port : dflt, 0, p))
        || (rv = apr_socket_create(out, sa->family, SOCK_STREAM, APR_PROTO_TCP, p))
        || (rv = apr_socket_timeout_set(*out, timeout))
        || (rv = apr_socket_connect(*out, sa))) {
        char buf[120];
        *err = apr_psprintf(p, "cannot connect to %s: %s", hostport,
                            apr_strerror(rv, buf, sizeof(buf)));
        return rv;
    }
    return APR_SUCCESS;
}

static apr_status_t ml_remote_send_all(apr_socket_t *sock, const char *data, apr_size_t n)
{
    while (n > 0) {
        apr_size_t len = n;
        apr_status_t rv = apr_socket_send(sock, data, &len);
        if (rv != APR_SUCCESS)
            return rv;
        data += len;
        n -= len;
    }
    return APR_SUCCESS;
}

/* Reads the first reply line (without CRLF) into buf. */
static apr_status_t ml_remote_reply(apr_socket_t *sock, char *buf, apr_size_t size)
{
    apr_size_t used = 0;

    while (used + 1 < size) {
        apr_size_t len = size - 1 - used;
        apr_status_t rv = apr_socket_recv(sock, buf + used, &len);
        char *eol;
        if (rv != APR_SUCCESS && !(APR_STATUS_IS_EOF(rv) && len > 0))
            return rv;
        used += len;
        buf[used] = '\0';
        if ((eol = strstr(buf, "\r\n")) != NULL) {
            *eol = '\0';
            return APR_SUCCESS;
        }
    }
    return APR_EGENERAL;
}

apr_status_t ml_remote_set(const char *spec, const char *key, const char *value,
                           apr_uint32_t ttl, apr_interval_time_t timeout, apr_pool_t *p,
                           const char **err)
{
    int redis = !strncmp(spec, "redis:", 6), memcache = !strncmp(spec, "memcache:", 9);
    const char *cmd, *want = redis ? "+OK" : "STORED";
    char reply[256], ttlbuf[16];
    apr_socket_t *sock;
    apr_status_t rv;

    if (!redis && !memcache) {
        *err = "the cache must be redis:host:port or memcache:host:port";
        return APR_EINVAL;
    }
    rv = ml_remote_connect(spec + (redis ? 6 : 9), redis ? 6379 : 11211, timeout, &sock, p, err);
    if (rv != APR_SUCCESS)
        return rv;
    apr_snprintf(ttlbuf, sizeof(ttlbuf), "%u", ttl);
    if (redis)
        cmd = apr_psprintf(p, "*4\r\n$5\r\nSETEX\r\n$%" APR_SIZE_T_FMT "\r\n%s\r\n$%"
                           APR_SIZE_T_FMT "\r\n%s\r\n$%" APR_SIZE_T_FMT "\r\n%s\r\n",
                           strlen(key), key, strlen(ttlbuf), ttlbuf, strlen(value), value);
    else
        cmd = apr_psprintf(p, "set %s 0 %s %" APR_SIZE_T_FMT "\r\n%s\r\n", key, ttlbuf,
                           strlen(value), value);
    rv = ml_remote_send_all(sock, cmd, strlen(cmd));
    if (rv == APR_SUCCESS)
        rv = ml_remote_reply(sock, reply, sizeof(reply));
    apr_socket_close(sock);
    if (rv != APR_SUCCESS) {
        char buf[120];
        *err = apr_psprintf(p, "no reply from %s: %s", spec, apr_strerror(rv, buf, sizeof(buf)));
        return rv;
    }
    if (strcmp(reply, want) != 0) {
        *err = apr_psprintf(p, "%s answered \"%.100s\"", spec, reply);
        return APR_EGENERAL;
    }
    return APR_SUCCESS;
}
