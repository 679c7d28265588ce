/* magiclink: the admin CLI (README.md "Admin CLI", man/magiclink.8).
 *
 *   magiclink keygen [ID]
 *   magiclink seal [--time UNIX] [--max-len BYTES] KEYFILE NAME JSON
 *   magiclink open [--max-age SECS] KEYFILE NAME VALUE
 *   magiclink revoke [--ttl SECS] [--key-file FILE] STORE [OPTION=VALUE ...] EMAIL
 *   magiclink link [--key-file FILE] STORE [OPTION=VALUE ...] TOKEN
 *   magiclink jwt-keygen [ed25519|es256]
 *   magiclink --version | --help
 *
 * Every failure prints one line on stderr saying which, and exits 1; a
 * command line it cannot make sense of gets the usage on stderr and exit 2. */
#include "ml_addr.h"
#include "ml_codec.h"
#include "ml_jwt.h"
#include "ml_link.h"
#include "ml_store.h"

#include <apr_file_info.h>
#include <apr_general.h>
#include <apr_strings.h>
#include <apr_time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ML_CLI_DEFAULT_MAX_AGE (86400 * 30)   /* gorilla/securecookie's default */
#ifndef ML_CLI_DEFAULT_KEYFILE
#define ML_CLI_DEFAULT_KEYFILE "/etc/apache2/magiclink.key"
#endif
#define ML_CLI_USAGE_ERROR     2                /* as getopt-style tools do */

/* From the VERSION file, through the Makefile (debian/changelog agrees:
 * test/packaging/test_version.py). */
#ifndef ML_VERSION
#error "build with -DML_VERSION=\"x.y.z\" (the Makefile passes VERSION)"
#endif

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
          "  magiclink revoke [--ttl SECS] [--key-file FILE] STORE [OPTION=VALUE ...] EMAIL\n"
          "      sign EMAIL out everywhere: sessions issued until now stop working on\n"
          "      every server sharing STORE (lmdb:DIR or redis:HOST:PORT, with the\n"
          "      options of MagicLinkCache: user=, password=, db=, timeout=;\n"
          "      password=- reads it from standard input), at once; FILE is\n"
          "      MagicLinkKeyFile [" ML_CLI_DEFAULT_KEYFILE "]; --ttl is\n"
          "      MagicLinkSessionTTL [604800]\n"
          "  magiclink link [--key-file FILE] STORE [OPTION=VALUE ...] TOKEN\n"
          "      print what STORE holds for an emailed link (or a pending value) as\n"
          "      JSON: address, return path, language, used, code tries, times\n"
          "  magiclink jwt-keygen [ed25519|es256]\n"
          "      print a fresh private key (PKCS#8 PEM) for MagicLinkJWTKey [ed25519]\n"
          "  magiclink --version\n"
          "      print the version\n"
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

/* The PEM goes to stdout only: the admin redirects it into a mode-600 file. */
static int cmd_jwt_keygen(int argc, const char **argv)
{
    const char *why = NULL;
    ml_buf_t pem;
    int rc = 0;

    if (argc > 1)
        return fail("jwt-keygen", "too many arguments");
    ml_buf_init(&pem);
    if (ml_jwt_keygen_pem(argc ? argv[0] : "ed25519", &pem, &why) != APR_SUCCESS)
        rc = fail("jwt-keygen", why);
    else if (fwrite(pem.data, 1, pem.len, stdout) != pem.len || fflush(stdout) != 0)
        rc = fail("jwt-keygen", "cannot write the key to standard output");
    ml_buf_free(&pem);
    return rc;
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

/* Splits a leading "--flag VALUE" (a string) off argv. */
static int take_string(int *argc, const char ***argv, const char *flag, const char **v)
{
    if (*argc >= 2 && strcmp((*argv)[0], flag) == 0) {
        *v = (*argv)[1];
        *argc -= 2;
        *argv += 2;
        return 1;
    }
    return 0;
}

/* "password=-": the password from the first line of standard input, so that
 * it is not in the command line, which every local user can read (ps). */
static int read_password(apr_pool_t *p, const char **opt)
{
    char line[1024];
    apr_size_t n;

    if (strcmp(*opt, "password=-") != 0)
        return 0;
    if (!fgets(line, sizeof(line), stdin))
        return fail("store", "password=-: no password on standard input");
    n = strcspn(line, "\r\n");
    line[n] = '\0';
    *opt = apr_pstrcat(p, "password=", line, NULL);
    memset(line, 0, sizeof(line));
    return 0;
}

/* Opens the store named as in MagicLinkCache, with its options (redis:
 * user=, password=, db=, timeout=); an LMDB store must exist already (the
 * server makes it, with the right owner). */
static int open_store(apr_pool_t *p, const char *spec, const char **opts, int nopts,
                      ml_store_t **st)
{
    char err[256];
    int i;

    for (i = 0; i < nopts; i++)
        if (read_password(p, &opts[i]))
            return 1;
    if (ml_store_parse(st, spec, opts, nopts, p, err, sizeof(err)) != APR_SUCCESS)
        return fail("store", err);
    if ((*st)->ops == &ml_store_lmdb_ops) {
        apr_finfo_t fi;
        if (apr_stat(&fi, apr_pstrcat(p, (*st)->where, "/data.mdb", NULL), APR_FINFO_TYPE, p)
            != APR_SUCCESS)
            return fail("store", apr_pstrcat(p, "no LMDB store in ", (*st)->where, NULL));
        /* The size the server gave it: a different one would resize the
         * file under the running server (a smaller one is SIGBUS there). */
        (*st)->opts.map_size = 0;
    }
    if (ml_store_open(*st, err, sizeof(err)) != APR_SUCCESS)
        return fail("store", err);
    return 0;
}

static int cmd_revoke(apr_pool_t *p, int argc, const char **argv)
{
    apr_int64_t ttl = 604800, now = apr_time_sec(apr_time_now());
    const char *email, *why, *keyfile = ML_CLI_DEFAULT_KEYFILE;
    ml_store_key_t key;
    ml_keyring_t *kr;
    ml_scratch_t *s;
    ml_store_t *st;
    ml_store_rc_t rc;
    int bad = 0;

    while (take_option(&argc, &argv, "--ttl", &ttl, &bad)
           || take_string(&argc, &argv, "--key-file", &keyfile))
        ;
    if (bad || ttl <= 0 || ttl > 0xffffffffLL)
        return fail("revoke", "--ttl takes a number of seconds");
    if (argc < 2)
        return fail("revoke", "expected [--key-file FILE] STORE [OPTION=VALUE ...] EMAIL "
                              "(see --help)");
    if (ml_addr_normalize(p, argv[argc - 1], strlen(argv[argc - 1]), &email, NULL, &why)
        != APR_SUCCESS)
        return fail("revoke", why);
    if (load(p, keyfile, &kr, &s) || open_store(p, argv[0], argv + 1, argc - 2, &st))
        return 1;
    ml_store_key(&kr->store_secret, "v", email, strlen(email), &key);
    rc = ml_store_set_time(st, &key, now, now + ttl, now);
    ml_store_close(st);
    if (rc != ML_STORE_OK)
        return fail("revoke", apr_pstrcat(p, st->spec, ": ", ml_store_strerror(rc), NULL));
    printf("signed out %s everywhere (sessions issued until now)\n", email);
    return 0;
}

/* A JSON string: quotes, backslashes and control characters escaped. */
static void print_json_string(const char *v)
{
    putchar('"');
    for (; *v; v++) {
        unsigned char c = (unsigned char)*v;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

/* Prints what the store holds for an emailed link: who asked, where it
 * returns, whether it was used, how many codes were tried. */
static int cmd_link(apr_pool_t *p, int argc, const char **argv)
{
    const char *keyfile = ML_CLI_DEFAULT_KEYFILE;
    apr_int64_t now = apr_time_sec(apr_time_now());
    ml_store_link_t raw;
    ml_keyring_t *kr;
    ml_scratch_t *s;
    ml_store_t *st;
    ml_store_rc_t rc;
    ml_link_t l;
    char *rec;

    take_string(&argc, &argv, "--key-file", &keyfile);
    if (argc < 2)
        return fail("link", "expected [--key-file FILE] STORE [OPTION=VALUE ...] TOKEN "
                            "(see --help)");
    if (load(p, keyfile, &kr, &s))
        return 1;
    if (ml_link_token(kr, ML_TOKEN_LINK, argv[argc - 1], &l) != ML_CODEC_OK
        && ml_link_token(kr, ML_TOKEN_PENDING, argv[argc - 1], &l) != ML_CODEC_OK)
        return fail("link", "not a link or pending value of this key file");
    if (open_store(p, argv[0], argv + 1, argc - 2, &st))
        return 1;
    rc = ml_store_get(st, &l.key, now, p, &raw);
    ml_store_close(st);
    if (rc != ML_STORE_OK)
        return fail("link", rc == ML_STORE_NOTFOUND ? "no such link (expired)"
                                                    : ml_store_strerror(rc));
    rec = apr_pstrmemdup(p, raw.rec, raw.len);
    if (ml_link_parse_record(rec, raw.len, &l) != ML_CODEC_OK)
        return fail("link", "the stored record does not parse");
    fputs("{\"email\": ", stdout);
    print_json_string(l.email);
    fputs(", \"return\": ", stdout);
    print_json_string(l.ret);
    fputs(", \"lang\": ", stdout);
    print_json_string(l.lang);
    printf(", \"used\": %s, \"state\": \"%s\", \"tries\": %d, \"iat\": %" APR_INT64_T_FMT
           ", \"exp\": %" APR_INT64_T_FMT "}\n",
           l.state == ML_LINK_USED ? "true" : "false",
           l.state == ML_LINK_USED       ? "used"
           : l.state == ML_LINK_APPROVED ? "approved"
           : l.state == ML_LINK_REFUSED  ? "refused"
                                         : "open",
           raw.tries, l.iat, l.exp);
    return 0;
}

int main(int argc, const char *const *argv)
{
    apr_pool_t *p;
    const char **args;
    const char *cmd = argc < 2 ? NULL : argv[1];
    int rc;

    if (!cmd) {
        usage(stderr);
        return ML_CLI_USAGE_ERROR;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("magiclink %s\n", ML_VERSION);
        return 0;
    }
    apr_app_initialize(&argc, &argv, NULL);
    apr_pool_create(&p, NULL);
    args = (const char **)argv + 2;
    if (strcmp(cmd, "keygen") == 0)
        rc = cmd_keygen(argc - 2, args);
    else if (strcmp(cmd, "seal") == 0)
        rc = cmd_seal(p, argc - 2, args);
    else if (strcmp(cmd, "open") == 0)
        rc = cmd_open(p, argc - 2, args);
    else if (strcmp(cmd, "revoke") == 0)
        rc = cmd_revoke(p, argc - 2, args);
    else if (strcmp(cmd, "link") == 0)
        rc = cmd_link(p, argc - 2, args);
    else if (strcmp(cmd, "jwt-keygen") == 0)
        rc = cmd_jwt_keygen(argc - 2, args);
    else {
        fprintf(stderr, "magiclink: unknown command \"%s\"\n", cmd);
        usage(stderr);
        rc = ML_CLI_USAGE_ERROR;
    }
    apr_pool_destroy(p);
    apr_terminate();
    return rc;
}
