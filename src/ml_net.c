#include "ml_net.h"

#include <apr_strings.h>
#include <arpa/inet.h>
#include <string.h>

const char *ml_net_block(apr_pool_t *p, const char *ip)
{
    unsigned char a[16];
    char text[INET6_ADDRSTRLEN];
    static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

    if (!ip)
        return "";
    if (inet_pton(AF_INET, ip, a) == 1)
        return apr_psprintf(p, "%u.%u.%u.0/24", a[0], a[1], a[2]);
    if (inet_pton(AF_INET6, ip, a) == 1) {
        if (memcmp(a, mapped, sizeof(mapped)) == 0)
            return apr_psprintf(p, "%u.%u.%u.0/24", a[12], a[13], a[14]);
        memset(a + 8, 0, 8);
        inet_ntop(AF_INET6, a, text, sizeof(text));
        return apr_pstrcat(p, text, "/64", NULL);
    }
    return apr_pstrndup(p, ip, 64);
}
