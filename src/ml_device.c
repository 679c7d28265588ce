#include "ml_device.h"

#include <apr_strings.h>
#include <string.h>

typedef struct ml_device_name {
    const char *marker;     /* found anywhere in the User-Agent */
    const char *name;
} ml_device_name_t;

/* Order matters: browsers name the ones they are built on too (Edge says
 * Chrome and Safari; Chrome says Safari), so the most specific comes first. */
static const ml_device_name_t ml_browsers[] = {
    { "Edg/", "Edge" },         { "EdgA/", "Edge" },       { "EdgiOS/", "Edge" },
    { "OPR/", "Opera" },        { "SamsungBrowser/", "Samsung Internet" },
    { "Vivaldi/", "Vivaldi" },  { "FxiOS/", "Firefox" },   { "Firefox/", "Firefox" },
    { "CriOS/", "Chrome" },     { "Chromium/", "Chromium" }, { "Chrome/", "Chrome" },
    { "Safari/", "Safari" },
};

static const ml_device_name_t ml_systems[] = {
    { "Android", "Android" },   { "iPhone", "iOS" },       { "iPad", "iPadOS" },
    { "CrOS", "ChromeOS" },     { "Windows", "Windows" },  { "Mac OS X", "macOS" },
    { "Macintosh", "macOS" },   { "Linux", "Linux" },      { "FreeBSD", "FreeBSD" },
};

static const char *ml_device_find(const char *ua, const ml_device_name_t *names, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++)
        if (strstr(ua, names[i].marker))
            return names[i].name;
    return NULL;
}

const char *ml_device_describe(const char *ua, apr_pool_t *p)
{
    const char *browser, *os;

    /* A header longer than any real one is not read: bounded work. */
    if (!ua || strlen(ua) > 1024)
        return NULL;
    browser = ml_device_find(ua, ml_browsers, sizeof(ml_browsers) / sizeof(ml_browsers[0]));
    os = ml_device_find(ua, ml_systems, sizeof(ml_systems) / sizeof(ml_systems[0]));
    return browser && os ? apr_pstrcat(p, browser, "|", os, NULL) : NULL;
}

/* Only a name of the lists is taken back from a record. */
static const char *ml_device_known(const char *name, apr_size_t len,
                                   const ml_device_name_t *names, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n; i++)
        if (strlen(names[i].name) == len && !strncmp(names[i].name, name, len))
            return names[i].name;
    return NULL;
}

int ml_device_split(const char *desc, apr_pool_t *p, const char **browser, const char **os)
{
    const char *bar = desc ? strchr(desc, '|') : NULL;

    (void)p;
    if (!bar)
        return 0;
    *browser = ml_device_known(desc, (apr_size_t)(bar - desc), ml_browsers,
                               sizeof(ml_browsers) / sizeof(ml_browsers[0]));
    *os = ml_device_known(bar + 1, strlen(bar + 1), ml_systems,
                          sizeof(ml_systems) / sizeof(ml_systems[0]));
    return *browser && *os;
}
