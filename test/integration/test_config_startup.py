"""`apache2 -t` refuses what a start would refuse, with the same message.

Traps that a configuration test used to pass and a restart then failed on (or
that nothing refused): the key file within reach of the user the children run
as, the lmdb store's directory, and the default mailer, which must say where
mail goes.  Same style as test_config_errors.py: each broken setup must be
refused by `apache2 -t` AND by a real start, both naming the cause.
"""
import os
import pwd
import re

import pytest

import ml_contract as C
import ml_httpd
from ml_client import Browser, expect

needs_root = pytest.mark.skipif(os.geteuid() != 0,
                                reason="User switching (and chown) needs root")


def run_ids():
    pw = pwd.getpwnam(ml_httpd.RUN_USER)
    return pw.pw_uid, pw.pw_gid


@pytest.fixture
def make_server():
    made = []

    def make(name, config):
        srv = ml_httpd.Httpd(name, config)
        made.append(srv)
        return srv
    yield make
    for srv in made:
        srv.stop()
        srv.cleanup()


def put_key(path, owner=(0, 0), dir_owner=(0, 0), dir_mode=0o755, mode=0o600):
    """A valid key file at path, with the given ownerships and modes."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chown(path.parent, *dir_owner)
    path.parent.chmod(dir_mode)
    ml_httpd.write_keyfile(path, [ml_httpd.keygen()], mode)
    os.chown(path, *owner)


def assert_refused_by_both(srv, pattern):
    proc = srv.config_test()
    assert proc.returncode != 0, f"apache2 -t accepted it:\n{proc.stdout}"
    assert re.search(pattern, proc.stdout), f"/{pattern}/ not in -t output:\n{proc.stdout}"
    started, output = srv.try_start()
    assert not started, f"httpd started anyway:\n{output}"
    assert re.search(pattern, output), f"/{pattern}/ not in start output:\n{output}"


def key_setup(name, **how):
    def setup(make_server):
        srv = make_server(name, ml_httpd.Config(key_file="{dir}/kdir/keys"))
        uid, gid = run_ids()
        resolved = {k: (uid, gid) if v == "run" else (0, gid) if v == "rootgrp" else v
                    for k, v in how.items()}
        put_key(srv.keyfile, **resolved)
        return srv
    return setup


# name -> (setup, what -t and the start must both say)
KEY_TRAPS = {
    "key owned by User": (key_setup("key-owned", owner="run"),
                          r"MAGICLINK-400: MagicLinkKeyFile \S+/kdir/keys: owned by User "
                          r"www-data"),
    "key dir owned by User": (key_setup("keydir-owned", dir_owner="run"),
                              r"MAGICLINK-401: MagicLinkKeyFile \S+/kdir/keys: its directory "
                              r"\S+/kdir is owned by User www-data"),
    "key dir writable by User's group": (key_setup("keydir-grp", dir_owner="rootgrp",
                                                   dir_mode=0o770),
                                         r"MAGICLINK-401: .*is writable by User www-data"),
    "key dir writable by all": (key_setup("keydir-all", dir_mode=0o777),
                                r"MAGICLINK-401: .*is writable by User www-data"),
}


def linked_key(make_server):
    """kdir/keys (in a directory of root's) is a symbolic link to a root-owned key in a
    directory User owns: a CGI could put another key file where the link leads."""
    srv = make_server("key-linked", ml_httpd.Config(key_file="{dir}/kdir/keys"))
    target = srv.dir / "userdir" / "keys"
    put_key(target, dir_owner=run_ids())
    srv.keyfile.parent.mkdir(parents=True, exist_ok=True)
    srv.keyfile.symlink_to(target)
    return srv


KEY_TRAPS["key linked into a dir owned by User"] = (
    linked_key, r"MAGICLINK-401: MagicLinkKeyFile \S+/kdir/keys: its directory \S+/userdir "
                r"\(where its path leads\) is owned by User www-data")


@needs_root
def test_root_key_in_a_sticky_world_writable_dir_is_accepted(make_server):
    """Sticky (like /tmp): User may write there but cannot replace root's file."""
    srv = key_setup("keydir-sticky", dir_mode=0o1777)(make_server)
    proc = srv.config_test()
    assert proc.returncode == 0 and "Syntax OK" in proc.stdout, proc.stdout


@needs_root
@pytest.mark.parametrize("case", KEY_TRAPS)
def test_key_file_within_reach_of_user_is_refused(make_server, case):
    setup, pattern = KEY_TRAPS[case]
    assert_refused_by_both(setup(make_server), pattern)


@needs_root
def test_root_owned_key_in_root_dir_is_accepted(make_server):
    """The control: the same layout, owned by root, passes -t and starts."""
    srv = key_setup("key-root")(make_server)
    proc = srv.config_test()
    assert proc.returncode == 0 and "Syntax OK" in proc.stdout, proc.stdout
    started, output = srv.try_start()
    assert started, output


@needs_root
def test_jwt_key_within_reach_of_user_is_refused(make_server):
    """A signing key User could read or swap lets a CGI mint identity tokens: the same
    checks as the main key file."""
    srv = make_server("jwt-key-owned", ml_httpd.Config(
        server_conf="MagicLinkJWTKey k1 {dir}/jdir/jwt.pem"))
    pem = srv.dir / "jdir" / "jwt.pem"
    pem.parent.mkdir(parents=True, exist_ok=True)
    pem.write_text(ml_httpd.cli("jwt-keygen").stdout)
    pem.chmod(0o600)
    os.chown(pem, *run_ids())
    assert_refused_by_both(srv, r"MAGICLINK-400: MagicLinkJWTKey \S+/jdir/jwt\.pem: owned by "
                                r"User www-data")


def test_key_file_that_is_a_directory_is_refused(make_server):
    srv = make_server("key-is-dir", ml_httpd.Config(key_file="{dir}/keys.d"))
    srv.keyfile.mkdir(mode=0o700)
    assert_refused_by_both(srv, r"MagicLinkKeyFile \S+/keys\.d: not a regular file")


@pytest.mark.parametrize("spec,pattern", [
    # Refused by the directive itself (a syntax error naming the directive).
    ("lmdb:relative/dir", r"MagicLinkCache: lmdb needs an absolute directory, e.g. "
                          r"lmdb:/var/lib/apache2/magiclink"),
    # A missing directory is made at start, but not one whose parent is missing too.
    ("lmdb:{dir}/no-parent/store", r"MAGICLINK-404: MagicLinkCache \S+: directory "
                                   r"\S+/no-parent/store cannot be made \(no parent\); "
                                   r"create it for User \S+ \(install -d -o \S+ -g \S+ "),
    ("lmdb:{dir}/htdocs/static.txt", r"MAGICLINK-405: MagicLinkCache \S+: \S+static\.txt is "
                                     r"not a directory"),
])
def test_unusable_lmdb_store_is_refused(make_server, spec, pattern):
    srv = make_server("store", ml_httpd.Config(server_conf=f"MagicLinkCache {spec}"))
    assert_refused_by_both(srv, pattern)


def test_missing_lmdb_dir_is_made_at_start(make_server, unique_email):
    """Its parent exists: -t accepts it (and makes nothing), the start makes it for the
    children (User's, when httpd starts as root) and the store in it works."""
    srv = make_server("store-made", ml_httpd.Config(
        server_conf="MagicLinkCache lmdb:{dir}/made/store"))
    store = srv.dir / "made" / "store"
    (srv.dir / "made").mkdir()
    proc = srv.config_test()
    assert proc.returncode == 0 and "Syntax OK" in proc.stdout, proc.stdout
    assert not store.exists(), "apache2 -t made the directory"
    srv.start()
    assert store.is_dir() and (store / "data.mdb").is_file()
    if os.geteuid() == 0:
        assert (store.stat().st_uid, store.stat().st_gid) == run_ids()
    b = Browser(srv)
    b.sign_in(unique_email())
    expect(b.private(), C.OK, C.TEXT_SECRET_PAGE)


def test_missing_maildir_is_made_at_start_not_by_the_test(make_server):
    """apache2 -t makes nothing on the host: a maildir that is missing but has a parent
    passes, and is made by the start; one with no parent is refused by both."""
    srv = make_server("maildir-made", ml_httpd.Config(mailer="maildir:{dir}/made-mail"))
    mail = srv.dir / "made-mail"
    proc = srv.config_test()
    assert proc.returncode == 0 and "Syntax OK" in proc.stdout, proc.stdout
    assert not mail.exists(), "apache2 -t made the maildir"
    srv.start()
    assert (mail / "new").is_dir() and (mail / "tmp").is_dir()
    orphan = make_server("maildir-orphan", ml_httpd.Config(mailer="maildir:{dir}/none/mail"))
    assert_refused_by_both(orphan, r"MAGICLINK-001: MagicLinkMailer maildir:\S+/none/mail: "
                                   r"cannot create \S+/none/mail")


@needs_root
def test_lmdb_dir_not_writable_by_user_is_refused(make_server):
    srv = make_server("store-ro", ml_httpd.Config(server_conf="MagicLinkCache lmdb:{dir}/store"))
    (srv.dir / "store").mkdir(mode=0o755)        # root's: the children could not write
    assert_refused_by_both(srv, r"MAGICLINK-406: MagicLinkCache \S+: User www-data cannot "
                                r"write in \S+/store \(owner uid 0, mode 0755\); chown "
                                r"www-data:www-data \S+/store")


@needs_root
def test_lmdb_dir_behind_a_closed_directory_is_refused(make_server):
    """The store's directory is User's, but a directory on the way is root's alone
    (0700): -t and the start refuse it, rather than every child failing to open it."""
    srv = make_server("store-behind", ml_httpd.Config(
        server_conf="MagicLinkCache lmdb:{dir}/closed/store"))
    (srv.dir / "closed").mkdir(mode=0o700)
    (srv.dir / "closed" / "store").mkdir(mode=0o750)
    os.chown(srv.dir / "closed" / "store", *run_ids())
    assert_refused_by_both(srv, r"MAGICLINK-408: MagicLinkCache \S+: User www-data cannot "
                                r"pass through \S+/closed \(owner uid 0, mode 0700\) on the "
                                r"way to \S+/closed/store")


def test_default_mailer_says_where_mail_goes_once(make_server):
    """No MagicLinkMailer: one notice at start naming the maildir, however many
    virtual hosts fall back to it; none in the configuration test."""
    vhost = ("<VirtualHost 127.0.0.1:{port}>\n    ServerName other.example\n"
             "</VirtualHost>\n<VirtualHost 127.0.0.1:{port}>\n    ServerName 127.0.0.1\n"
             "</VirtualHost>")
    srv = make_server("fallback", ml_httpd.Config(mailer="", server_conf=vhost,
                                                  log_level="notice"))
    proc = srv.config_test()
    assert proc.returncode == 0, proc.stdout
    srv.start()
    srv.stop()
    lines = [ln for ln in srv.error_log_text().splitlines() if "MAGICLINK-407" in ln]
    maildir = srv.dir / "run" / "magiclink-mail"
    assert len(lines) == 1, lines
    assert "[magiclink:notice]" in lines[0] and f"maildir {maildir} " in lines[0], lines[0]
    assert (maildir / "new").is_dir()


def test_explicit_mailer_gives_no_fallback_notice(make_server):
    srv = make_server("no-fallback", ml_httpd.Config(log_level="notice"))
    srv.start()
    srv.stop()
    assert "MAGICLINK-407" not in srv.error_log_text()


@pytest.mark.parametrize("spec,pattern", [
    ("memcache:127.0.0.1:11211", r'MagicLinkCache: unknown store "memcache": lmdb:DIR or '
                                 r'redis:HOST:PORT \(an evicting cache cannot hold sign-outs\)'),
    ("shmcb:relative/path(notasize)", r'MagicLinkCache: unknown store "shmcb": lmdb:DIR or '
                                      r'redis:HOST:PORT \(an evicting cache cannot hold '
                                      r'sign-outs\)'),
])
def test_store_a_start_would_refuse_is_refused_by_configtest(make_server, spec, pattern):
    """An evicting cache (memcache, shmcb) could forget a sign-out: the directive refuses
    it, so -t fails as the start does (it once said OK and the restart took the server
    down)."""
    srv = make_server("store-spec", ml_httpd.Config(server_conf=f"MagicLinkCache {spec}"))
    assert_refused_by_both(srv, pattern)
