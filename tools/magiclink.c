/* magiclink: the admin CLI (DESIGN section 8).
 *
 *   magiclink keygen [ID]
 *   magiclink seal [--time UNIX] [--max-len BYTES] KEYFILE NAME JSON
 *   magiclink open [--max-age SECS] KEYFILE NAME VALUE
 *   magiclink revoke [--ttl SECS] CACHE EMAIL
 *
 * Every failure prints one line on stderr saying which, and exits 1. */
#include "ml_addr.h"
#include "ml_cachekey.h"
#include "ml_codec.h"
#include "ml_remote.h"

#include <apr_general.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <stdio.h>
#include <stdlib.h>

#define ML_CLI_DEFAULT_MAX_AGE (86400 * 30)   /* gorilla/securecookie's default */

static void usage(FILE *f)
{
    fputs("usage:\n"
          "  magiclink keygen [ID]\n"
          "      print a key-file line \"ID HASHKEY BLOCKKEY\" with fresh random keys\n"
          "  magiclink seal [--time UNIX] [--max-len BYTES] KEYFILE NAME JSON\n"
          "      seal a JSON object of strings under cookie name NAME with the\n"
          "      key file's first key; print the sealed value (at most 4096\n"
          "      bytes unless --max-len says more: for tests of oversized values)\n"
          "  magiclink open [--max-age SECS] KEYFILE NAME VALUE\n"
          "      open a sealed value with any key of the file and print its claims\n"
          "      as JSON (max age default 2592000 s, 0 for none)\n"
          "  magiclink revoke [--ttl SECS] CACHE EMAIL\n"
          "      sign EMAIL out everywhere: sessions issued until now stop working on\n"
          "      every server sharing CACHE (redis:host:port or memcache:host:port, as\n"
          "      in MagicLinkCache); --ttl is MagicLinkSessionTTL [604800]\n"
          "  magiclink --help\n", f);
}

static int fail(const char *what, const char *why)
{
    fprintf(stderr, "magiclink: %s: %s\n", what, why);
    return 1;
}

static int parse_int64(const char *s, apr_int64_t *v)
{
    char *end;

    if (!*s)
        return 0;
    *v = apr_strtoi64(s, &end, 10);
    return *end == '\0' && *v >= 0;
}

static int cmd_keygen(int argc, const char **argv)
{
    char line[ML_KEYLINE_MAX], id[32];

    if (argc > 1)
        return fail("keygen", "too many arguments");
    if (argc == 1)
        apr_cpystrn(id, argv[0], sizeof(id));
    else
        apr_snprintf(id, sizeof(id), "k%" APR_TIME_T_FMT, apr_time_sec(apr_time_now()));
    if (!ml_key_id_valid(id))
        return fail("keygen", "ID must be 1-32 of letters, digits, '-', '_', '.'");
    if (ml_keyring_keygen(id, line, sizeof(line)) != APR_SUCCESS)
        return fail("keygen", "no randomness available");
    fputs(line, stdout);
    return 0;
}

/* Splits a leading "--flag VALUE" off argv. */
static int take_option(int *argc, const char ***argv, const char *flag, apr_int64_t *v, int *bad)
{
    if (*argc >= 1 && strcmp((*argv)[0], flag) == 0) {
        if (*argc < 2 || !parse_int64((*argv)[1], v)) {
            *bad = 1;
            return 0;
        }
        *argc -= 2;
        *argv += 2;
        return 1;
    }
    return 0;
}

static int load(apr_pool_t *p, const char *path, ml_keyring_t **kr, ml_scratch_t **s)
{
    ml_crypto_t *c;
    const char *why;
    char err[512];

    if (ml_crypto_create(&c, p, &why) != APR_SUCCESS)
        return fail("crypto", why);
    if (ml_keyring_load(kr, c, path, p, err, sizeof(err)) != APR_SUCCESS)
        return fail("key file", err);
    if (ml_scratch_create(s, p) != APR_SUCCESS)
        return fail("memory", "out of memory");
    return 0;
}

static int cmd_seal(apr_pool_t *p, int argc, const char **argv)
{
    ml_seal_opts_t o = { 0 };
    ml_claims_t claims;
    ml_keyring_t *kr;
    ml_scratch_t *s;
    const char *why, *out;
    apr_size_t outlen;
    apr_int64_t max_len = 0;
    ml_codec_err_t e;
    int bad = 0;

    o.now = apr_time_sec(apr_time_now());
    take_option(&argc, &argv, "--time", &o.now, &bad);
    take_option(&argc, &argv, "--max-len", &max_len, &bad);
    if (bad || max_len < 0 || max_len > 1024 * 1024)
        return fail("seal", "--time takes a Unix time in seconds, --max-len up to 1048576 bytes");
    o.max_len = (apr_size_t)max_len;
    if (argc != 3)
        return fail("seal", "expected KEYFILE NAME JSON (see --help)");
    if (load(p, argv[0], &kr, &s))
        return 1;
    if (ml_claims_from_json(&claims, argv[2], strlen(argv[2]), p, &why) != APR_SUCCESS)
        return fail("seal", why);
    e = ml_seal(s, kr, argv[1], &claims, &o, &out, &outlen);
    if (e != ML_CODEC_OK)
        return fail("seal", ml_codec_strerror(e));
    fwrite(out, 1, outlen, stdout);
    fputc('\n', stdout);
    return 0;
}

static int cmd_open(apr_pool_t *p, int argc, const char **argv)
{
    ml_open_opts_t o = { 0 };
    ml_claims_t claims;
    ml_keyring_t *kr;
    ml_scratch_t *s;
    ml_buf_t json;
    ml_codec_err_t e;
    int bad = 0;

    o.now = apr_time_sec(apr_time_now());
    o.max_age = ML_CLI_DEFAULT_MAX_AGE;
    take_option(&argc, &argv, "--max-age", &o.max_age, &bad);
    if (bad)
        return fail("open", "--max-age takes a number of seconds");
    if (argc != 3)
        return fail("open", "expected KEYFILE NAME VALUE (see --help)");
    if (load(p, argv[0], &kr, &s))
        return 1;
    e = ml_open(s, kr, argv[1], argv[2], strlen(argv[2]), &o, p, &claims, NULL, NULL);
    if (e != ML_CODEC_OK)
        return fail("open", ml_codec_strerror(e));
    ml_buf_init(&json);
    if (ml_claims_to_json(&claims, &json) != APR_SUCCESS)
        return fail("open", "claims cannot be printed");
    fwrite(json.data, 1, json.len, stdout);
    ml_buf_free(&json);
    return 0;
}

static int cmd_revoke(apr_pool_t *p, int argc, const char **argv)
{
    apr_int64_t ttl = 604800;
    unsigned char key[ML_CACHEKEY_LEN];
    char remote[64];
    const char *email, *why;
    ml_crypto_t *c;
    ml_scratch_t *s;
    int bad = 0;

    take_option(&argc, &argv, "--ttl", &ttl, &bad);
    if (bad || ttl <= 0 || ttl > 0xffffffffLL)
        return fail("revoke", "--ttl takes a number of seconds");
    if (argc != 2)
        return fail("revoke", "expected CACHE EMAIL (see --help)");
    if (ml_addr_normalize(p, argv[1], strlen(argv[1]), &email, NULL, &why) != APR_SUCCESS)
        return fail("revoke", why);
    if (ml_crypto_create(&c, p, &why) != APR_SUCCESS)
        return fail("crypto", why);
    if (ml_scratch_create(&s, p) != APR_SUCCESS || !ml_cachekey(s, c, "v", email, key))
        return fail("revoke", "cannot derive the cache key");
    ml_cachekey_remote(key, remote);
    if (ml_remote_set(argv[0], remote,
                      apr_off_t_toa(p, apr_time_sec(apr_time_now())), (apr_uint32_t)ttl,
                      apr_time_from_sec(5), p, &why) != APR_SUCCESS)
        return fail("revoke", why);
    printf("signed out %s everywhere (sessions issued until now)\n", email);
    return 0;
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *p;
    const char **args;
    int rc;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&p, NULL);
    args = (const char **)argv + 2;
    if (strcmp(argv[1], "keygen") == 0)
        rc = cmd_keygen(argc - 2, args);
    else if (strcmp(argv[1], "seal") == 0)
        rc = cmd_seal(p, argc - 2, args);
    else if (strcmp(argv[1], "open") == 0)
        rc = cmd_open(p, argc - 2, args);
    else if (strcmp(argv[1], "revoke") == 0)
        rc = cmd_revoke(p, argc - 2, args);
    else {
        usage(stderr);
        rc = 1;
    }
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}
