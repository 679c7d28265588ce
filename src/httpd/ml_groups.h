/* Groups of a signed-in address, from a file in AuthGroupFile's format
 * ("group: member member ...", `#` comments), for the identity token's
 * groups claim (MagicLinkGroupFile). */
#ifndef ML_GROUPS_H
#define ML_GROUPS_H

#include "httpd.h"
#include "apr_tables.h"

/* The groups that list user, in file order, each once, in *out (const char
 * *, in p; empty when none). The file is read with httpd's own config-file
 * reader and word splitter, exactly as mod_authz_groupfile reads it, so a
 * file shared with `Require group` means the same to both: a member must be
 * written as r->user is, the canonical address (domain in lower case, local
 * part as the visitor typed it), since the match is exact. Any error (a missing file, a line over 16 MiB) is
 * returned, never taken for "no groups". */
apr_status_t ml_groups_of(apr_pool_t *p, const char *file, const char *user,
                          apr_array_header_t **out);

#endif
