/* Start-up checks that need the file system and the server's User: run in
 * check_config, which `apachectl -t` runs too, so a configuration test
 * refuses exactly what a start (or a reload) would refuse, with the same
 * message. Each returns OK, or logs why at EMERG and returns !OK. */
#ifndef ML_PREFLIGHT_H
#define ML_PREFLIGHT_H

#include "httpd.h"

/* A key file (already loaded, so it exists and has mode 600/400) must be
 * out of reach of the children: not owned by User, in a directory that
 * User can neither own nor write. A CGI running as User could otherwise
 * read the keys (and mint sessions or identity tokens for anyone) or swap
 * the file. directive names it in the message. */
int ml_preflight_key_file(apr_pool_t *p, server_rec *s, const char *directive,
                          const char *path);

/* MagicLinkCache (NULL: the default lmdb store): an lmdb directory is
 * writable by User (the children open the store after they switch to it),
 * or missing with a parent to make it in. */
struct ml_store;
int ml_preflight_store(apr_pool_t *p, server_rec *s, struct ml_store *st);

#endif
