/* Choosing a page's language: the languages a site offers (BCP 47 tags such
 * as "de", "pt-BR"), against what a browser asks for or a visitor chose.
 *
 * Accept-Language (RFC 9110 12.5.4) is read as a list of ranges with
 * weights: the range of highest weight that some offered language answers
 * wins, the earlier one among equals. A range is answered by RFC 4647
 * lookup: the tag itself, else an offered tag it is the start of ("pt" gets
 * "pt-BR"), else the same again with its last subtag cut off ("de-AT" gets
 * "de"). "*" stands for any offered language no other range names; weight 0
 * refuses a language. A malformed range or weight is skipped, nothing else
 * changes: any header, however long or odd, gets an answer in time linear
 * in its length, without allocating. No httpd here. */
#ifndef ML_LANG_H
#define ML_LANG_H

#include <apr.h>

#define ML_LANG_MAX_OFFERED 64
#define ML_LANG_TAG_MAX 64          /* longer ranges are skipped */

/* The index in offered[0..n) of the best language for the Accept-Language
 * value accept (NULL: none sent), or -1 when none is acceptable: the caller
 * then uses its default. n is at most ML_LANG_MAX_OFFERED. */
int ml_lang_negotiate(const char *accept, const char *const *offered, int n);

/* A visitor's explicit choice (a ?lang= value, a cookie): the index of the
 * offered language that answers tag[0..len) by lookup as above, or -1. */
int ml_lang_find(const char *tag, apr_size_t len, const char *const *offered, int n);

/* The index of the offered tag equal to tag (case aside; '_' reads as '-'),
 * or -1. For configuration, where a near miss is a mistake. */
int ml_lang_exact(const char *tag, apr_size_t len, const char *const *offered, int n);

#endif
