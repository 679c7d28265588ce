/* Unit tests of the outbox's stored form (sealed mail inputs) and of a
 * deliverer's turn against a real LMDB store and a real maildir: what the
 * store holds never shows the link or the code, a sealed entry opens only
 * for its own message id and key file, and the mail is composed when it is
 * sent, in the language it was asked in. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ml_test.h"
#include "ml_codec.h"
#include "ml_outbox.h"

#define NOW 1700000000
#define KEY_A "a 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f " \
              "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f\n"
#define KEY_B "b ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100 " \
              "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
#define LINK "https://login.example/magic/verify/Zk3vQ0p7cT1xWw9aLm2N4bR6sD8fG0hJkL2mN4pQ6r"
#define CODE "482913"

static apr_pool_t *pool;
static ml_crypto_t *crypto;
static ml_scratch_t *scratch;
static char dir[64];

static ml_keyring_t *ring(const char *text)
{
    return ml_test_ring(crypto, text, pool);
}

static ml_outbox_msg_t message(int send, const char *mailer)
{
    ml_outbox_msg_t m = { send, mailer, "Magic Link <noreply@login.example>",
                          { NULL, "ada@example.org", "ada@example.org", "Example Site", LINK,
                            CODE, 15, "de" } };
    return m;
}

static ml_store_key_t id_of(const char *v)
{
    ml_hmac_key_t secret;
    ml_store_key_t k;

    ml_hmac_key_init(&secret, (const unsigned char *)"0123456789abcdef0123456789abcdef", 32);
    ml_store_key(&secret, "o", v, strlen(v), &k);
    return k;
}

static const char *seal(const ml_keyring_t *kr, const ml_store_key_t *id,
                        const ml_outbox_msg_t *m, apr_size_t *len)
{
    const char *v = ml_outbox_seal(scratch, kr, id, m, NOW, pool, len);

    assert_non_null(v);
    return v;
}

static void test_sealed_form_shows_neither_link_nor_code(void **unused)
{
    ml_keyring_t *kr = ring(KEY_A);
    ml_store_key_t id = id_of("one");
    ml_outbox_msg_t m = message(1, "maildir:/x"), got;
    apr_size_t len;
    const char *v = seal(kr, &id, &m, &len);
    const ml_keyring_t *rings[] = { kr };

    assert_null(memmem(v, len, CODE, strlen(CODE)));
    assert_null(memmem(v, len, "verify/", 7));
    assert_null(memmem(v, len, "ada@", 4));
    assert_int_equal(ml_outbox_open(scratch, rings, 1, &id, v, len, NOW, pool, &got), 1);
    assert_int_equal(got.send, 1);
    assert_string_equal(got.mailer, "maildir:/x");
    assert_string_equal(got.from, m.from);
    assert_string_equal(got.mail.to, "ada@example.org");
    assert_string_equal(got.mail.site_name, "Example Site");
    assert_string_equal(got.mail.link, LINK);
    assert_string_equal(got.mail.code, CODE);
    assert_string_equal(got.mail.lang, "de");
    assert_int_equal(got.mail.ttl_minutes, 15);
}

static void test_opens_only_for_its_id_and_keys(void **unused)
{
    ml_keyring_t *a = ring(KEY_A), *b = ring(KEY_B), *ba = ring(KEY_B KEY_A);
    ml_store_key_t id = id_of("one"), other = id_of("two");
    ml_outbox_msg_t m = message(0, "maildir:/x"), got;
    apr_size_t len;
    const char *v = seal(a, &id, &m, &len);
    char *tampered = apr_pmemdup(pool, v, len);
    const ml_keyring_t *only_b[] = { b }, *both[] = { b, a }, *rotated[] = { ba };

    assert_int_equal(ml_outbox_open(scratch, only_b, 1, &id, v, len, NOW, pool, &got), 0);
    assert_int_equal(ml_outbox_open(scratch, both, 2, &other, v, len, NOW, pool, &got), 0);
    /* A server with several key files, or a key file whose old key stays. */
    assert_int_equal(ml_outbox_open(scratch, both, 2, &id, v, len, NOW, pool, &got), 1);
    assert_int_equal(got.send, 0);
    assert_int_equal(ml_outbox_open(scratch, rotated, 1, &id, v, len, NOW, pool, &got), 1);
    tampered[len / 2] ^= 1;
    assert_int_equal(ml_outbox_open(scratch, both, 2, &id, tampered, len, NOW, pool, &got), 0);
    assert_int_equal(ml_outbox_open(scratch, both, 2, &id, "", 0, NOW, pool, &got), 0);
}

static void test_a_field_that_would_break_a_line_is_refused(void **unused)
{
    ml_keyring_t *kr = ring(KEY_A);
    ml_store_key_t id = id_of("one");
    ml_outbox_msg_t m = message(1, "maildir:/x");
    apr_size_t len;

    m.mail.site_name = "Example\nBcc: x@evil.example";
    assert_null(ml_outbox_seal(scratch, kr, &id, &m, NOW, pool, &len));
    m = message(1, "maildir:/x\r");
    assert_null(ml_outbox_seal(scratch, kr, &id, &m, NOW, pool, &len));
}

/* ---- a deliverer's turn, real store and maildir ---- */

typedef struct {
    ml_mailer_t *mailer;
} finder_t;

static ml_mailer_t *find(void *ctx, const char *spec)
{
    finder_t *f = ctx;

    return strcmp(spec, ml_mailer_describe(f->mailer)) == 0 ? f->mailer : NULL;
}

static ml_store_t *open_store(void)
{
    char spec[96], err[256];
    ml_store_t *st;

    snprintf(spec, sizeof(spec), "lmdb:%s/state", dir);
    assert_int_equal(ml_store_parse(&st, spec, NULL, 0, pool, err, sizeof(err)), APR_SUCCESS);
    if (ml_store_open(st, err, sizeof(err)) != APR_SUCCESS)
        fail_msg("open: %s", err);
    return st;
}

static char *read_all(const char *path, apr_size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = apr_palloc(pool, (apr_size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    buf[n] = '\0';
    *len = (apr_size_t)n;
    return buf;
}

/* The one message in the maildir's new/, or NULL. */
static char *delivered(const char *maildir)
{
    char path[512];
    struct dirent *e;
    DIR *d;
    apr_size_t len;
    char *found = NULL;

    snprintf(path, sizeof(path), "%s/new", maildir);
    d = opendir(path);
    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        assert_null(found);
        snprintf(path, sizeof(path), "%s/new/%s", maildir, e->d_name);
        found = read_all(path, &len);
    }
    closedir(d);
    return found;
}

/* The store in dir/state, and a maildir mailer in dir/mail (maildir, room
 * for 96) with its queue. */
static ml_store_t *open_with_maildir(char *maildir, finder_t *f, apr_uint64_t *q)
{
    const char *err = NULL;
    char spec[112];

    snprintf(maildir, 96, "%s/mail", dir);
    snprintf(spec, sizeof(spec), "maildir:%s", maildir);
    assert_int_equal(ml_mailer_create(&f->mailer, spec, NULL, pool, &err), APR_SUCCESS);
    *q = ml_outbox_queue(ml_mailer_describe(f->mailer));
    return open_store();
}

static void queue(ml_store_t *st, const ml_keyring_t *kr, const char *v, int send,
                  const char *mailer)
{
    ml_outbox_msg_t m = message(send, mailer);
    ml_store_mail_t mail = { 0 };

    mail.id = id_of(v);
    mail.queue = ml_outbox_queue(mailer);
    mail.data = seal(kr, &mail.id, &m, &mail.len);
    mail.created = mail.due = NOW;
    mail.exp = NOW + 900;
    mail.drop = !send;
    assert_int_equal(ml_store_issue(st, NULL, 0, NULL, NULL, 0, NOW, NOW + 960, &mail),
                     ML_STORE_OK);
}

static void test_a_turn_composes_what_it_sends_and_the_store_shows_nothing(void **unused)
{
    ml_keyring_t *kr = ring(KEY_A);
    const ml_keyring_t *rings[] = { kr };
    char maildir[96], dbfile[96];
    finder_t f;
    ml_store_t *st;
    ml_outbox_event_t ev;
    apr_uint64_t q;
    apr_size_t dblen;
    char *mail, *db;

    st = open_with_maildir(maildir, &f, &q);
    queue(st, kr, "sent", 1, ml_mailer_describe(f.mailer));
    snprintf(dbfile, sizeof(dbfile), "%s/state/data.mdb", dir);
    db = read_all(dbfile, &dblen);
    assert_null(memmem(db, dblen, CODE, strlen(CODE)));
    assert_null(memmem(db, dblen, "verify/", 7));

    {
        ml_outbox_reader_t rd = { &q, 1, find, &f, rings, 1, scratch };
        assert_int_equal(ml_outbox_step(st, &rd, NOW + 1, pool, &ev), ML_OUTBOX_SENT);
        assert_string_equal(ev.rcpt, "ada@example.org");
        mail = delivered(maildir);
        assert_non_null(mail);
        /* Composed now, from the sealed inputs, in the language asked for. */
        assert_non_null(strstr(mail, "Content-Language: de"));
        assert_non_null(strstr(mail, CODE));
        assert_non_null(strstr(mail, "To: ada@example.org"));
        assert_non_null(strstr(mail, "From: Magic Link <noreply@login.example>"));
        assert_int_equal(ml_outbox_step(st, &rd, NOW + 1, pool, &ev), ML_OUTBOX_IDLE);
    }
    ml_store_close(st);
}

static void test_entries_of_other_keys_are_removed_unsent(void **unused)
{
    ml_keyring_t *a = ring(KEY_A), *b = ring(KEY_B);
    const ml_keyring_t *rings[] = { b };
    char maildir[96];
    finder_t f;
    ml_store_t *st;
    ml_outbox_event_t ev;
    apr_uint64_t q;

    st = open_with_maildir(maildir, &f, &q);
    queue(st, a, "forged", 1, ml_mailer_describe(f.mailer));
    {
        ml_outbox_reader_t rd = { &q, 1, find, &f, rings, 1, scratch };
        assert_int_equal(ml_outbox_step(st, &rd, NOW + 1, pool, &ev), ML_OUTBOX_BROKEN);
        assert_null(delivered(maildir));
        assert_int_equal(ml_outbox_step(st, &rd, NOW + 1, pool, &ev), ML_OUTBOX_IDLE);
    }
    ml_store_close(st);
}

static int setup(void **unused)
{
    strcpy(dir, "/tmp/ml-outbox-XXXXXX");
    assert_non_null(mkdtemp(dir));
    return 0;
}

static int teardown(void **unused)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    return system(cmd);
}

int main(void)
{
    const char *err = NULL;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sealed_form_shows_neither_link_nor_code),
        cmocka_unit_test(test_opens_only_for_its_id_and_keys),
        cmocka_unit_test(test_a_field_that_would_break_a_line_is_refused),
        cmocka_unit_test_setup_teardown(
            test_a_turn_composes_what_it_sends_and_the_store_shows_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_entries_of_other_keys_are_removed_unsent, setup,
                                        teardown),
    };
    int rc;

    apr_initialize();
    apr_pool_create(&pool, NULL);
    if (ml_crypto_create(&crypto, pool, &err) != APR_SUCCESS
        || ml_scratch_create(&scratch, pool) != APR_SUCCESS) {
        fprintf(stderr, "crypto: %s\n", err ? err : "scratch");
        return 1;
    }
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    apr_pool_destroy(pool);
    apr_terminate();
    return rc;
}
