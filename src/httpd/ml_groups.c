#include "ml_groups.h"

#include "http_config.h"
#include "httpd.h"
#include "util_varbuf.h"
#include "apr_lib.h"
#include "apr_strings.h"

/* mod_authz_groupfile's limit for one line. */
#define ML_GROUPS_LINE_MAX (16 * 1024 * 1024)

static void ml_groups_add(apr_array_header_t *groups, apr_pool_t *p, const char *name,
                          apr_size_t len)
{
    int i;

    for (i = 0; i < groups->nelts; i++) {
        const char *g = APR_ARRAY_IDX(groups, i, const char *);
        if (strlen(g) == len && !memcmp(g, name, len))
            return;
    }
    APR_ARRAY_PUSH(groups, const char *) = apr_pstrmemdup(p, name, len);
}

/* One line "group: member member ...": adds the group when user is a member. */
static void ml_groups_line(apr_array_header_t *groups, apr_pool_t *p, apr_pool_t *sp,
                           const char *line, const char *user)
{
    const char *ll = line, *name = ap_getword(sp, &ll, ':');
    apr_size_t len = strlen(name);

    while (len && apr_isspace(name[len - 1]))
        len--;
    while (ll[0]) {
        if (!strcmp(ap_getword_conf(sp, &ll), user)) {
            ml_groups_add(groups, p, name, len);
            return;
        }
    }
}

apr_status_t ml_groups_of(apr_pool_t *p, const char *file, const char *user,
                          apr_array_header_t **out)
{
    apr_array_header_t *groups = apr_array_make(p, 4, sizeof(const char *));
    ap_configfile_t *f;
    struct ap_varbuf vb;
    apr_pool_t *sp;
    apr_status_t rv;

    rv = ap_pcfg_openfile(&f, p, file);
    if (rv != APR_SUCCESS)
        return rv;
    apr_pool_create(&sp, p);
    ap_varbuf_init(p, &vb, 256);
    while ((rv = ap_varbuf_cfg_getline(&vb, f, ML_GROUPS_LINE_MAX)) == APR_SUCCESS) {
        if (vb.buf[0] == '#' || !vb.buf[0])
            continue;
        apr_pool_clear(sp);
        ml_groups_line(groups, p, sp, vb.buf, user);
    }
    ap_cfg_closefile(f);
    ap_varbuf_free(&vb);
    apr_pool_destroy(sp);
    if (rv != APR_EOF)
        return rv;
    *out = groups;
    return APR_SUCCESS;
}
