#include "ml_mail_transport.h"

#include <apr_lib.h>
#include <apr_strings.h>
#include <stdarg.h>

#define ML_TOKEN_RUN 24
#define ML_DIGIT_RUN 6

void ml_mail_errf(char *errbuf, apr_size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!errbuf || errlen == 0)
        return;
    va_start(ap, fmt);
    apr_vsnprintf(errbuf, errlen, fmt, ap);
    va_end(ap);
}

static int ml_token_char(char c)
{
    return apr_isalnum(c) || c == '_' || c == '-' || c == '=' || c == '+' || c == '/' || c == '%';
}

/* Length of the URL or token-like run at s[0..n) (a word start), or 0. */
static apr_size_t ml_secret_word(const char *s, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n && (apr_isalpha(s[i]) || s[i] == '+' || s[i] == '-' || s[i] == '.'); i++)
        ;
    if (i > 0 && n - i >= 3 && memcmp(s + i, "://", 3) == 0) {
        while (i < n && !apr_isspace(s[i]))
            i++;
        return i;
    }
    for (i = 0; i < n && ml_token_char(s[i]); i++)
        ;
    return i >= ML_TOKEN_RUN ? i : 0;
}

/* Length of the run of digits at s[0..n) when it is long enough to be a
 * one-time code, or 0. */
static apr_size_t ml_secret_digits(const char *s, apr_size_t n)
{
    apr_size_t i;

    for (i = 0; i < n && apr_isdigit(s[i]); i++)
        ;
    return i >= ML_DIGIT_RUN ? i : 0;
}

void ml_mail_err_remote(char *errbuf, apr_size_t errlen, const char *text, apr_size_t n)
{
    apr_size_t o, i = 0, run, end;

    if (!errbuf || errlen == 0)
        return;
    o = strlen(errbuf);
    for (end = 0; end < n && text[end] != '\r' && text[end] != '\n'; end++)
        ;
    while (i < end && o + 1 < errlen) {
        run = 0;
        if (i == 0 || !ml_token_char(text[i - 1]))
            run = ml_secret_word(text + i, end - i);
        if (run == 0 && (i == 0 || !apr_isdigit(text[i - 1])))
            run = ml_secret_digits(text + i, end - i);
        if (run > 0) {
            apr_size_t k = errlen - 1 - o < 5 ? errlen - 1 - o : 5;
            memcpy(errbuf + o, "[...]", k);
            o += k;
            i += run;
            continue;
        }
        errbuf[o++] = apr_isprint(text[i]) ? text[i] : '?';
        i++;
    }
    errbuf[o] = '\0';
}
