"""The state store (LMDB, the default kind) through a real httpd: what the gate decided
stays decided across graceful and full restarts and a killed child; floods aimed
anywhere reset no try count and bring back no signed-out session; code tries are
counted exactly under concurrency; `magiclink revoke` acts on a running server at once;
a full store fails closed; with no MagicLinkCache the default store is made with the
server's User as owner."""
import contextlib
import os
import pwd
import re
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests

import ml_contract as C
import ml_httpd
from ml_client import Browser, expect


def wrong(code):
    return f"{(int(code) + 1) % 1000000:06d}"


def signed_out_everywhere(browser):
    """POST logout (everywhere) from `browser`."""
    page = browser.login()
    r = browser.post(C.LOGOUT, data={C.CSRF_FIELD: page.csrf, "scope": "everywhere"})
    assert r.status_code in (200, 303), r.text[:300]


def children(server):
    out = subprocess.run(["pgrep", "-P", str(server.proc.pid)], capture_output=True,
                         text=True).stdout.split()
    return [int(p) for p in out]


def kill_children(server):
    """kill -9 of every child; waits (bounded) until the parent has new ones that answer."""
    old = set(children(server))
    assert old
    for pid in old:
        os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        now = set(children(server))
        if now and not now & old:
            try:
                if requests.get(server.url(C.LOGIN), timeout=2).status_code == 200:
                    return server
            except requests.RequestException:
                pass
        time.sleep(0.1)
    raise AssertionError("no new children after kill -9")


RESTARTS = {"graceful": ml_httpd.graceful_restart, "full": ml_httpd.full_restart,
            "kill -9": kill_children}


@pytest.mark.parametrize("how", list(RESTARTS))
def test_what_was_decided_survives(server, new_browser, unique_email, how):
    addr, other = unique_email(), unique_email()
    stolen, owner = new_browser(), new_browser()
    stolen.sign_in(addr)
    owner.s.cookies.update(stolen.s.cookies)           # a copy of the cookie elsewhere
    signed_out_everywhere(owner)
    expect(stolen.private(), C.LOGIN_REDIRECT)
    used, unused, waiting = new_browser(), new_browser(), new_browser()
    used_mail, _ = used.sign_in(other)
    unused.request_link(other)
    unused_mail = server.mailbox.take(other)
    page = waiting.request_link(addr)
    code_mail = server.mailbox.take(addr)
    for _ in range(2):
        expect(waiting.enter_code(page, wrong(code_mail.code)), C.WRONG_CODE)

    RESTARTS[how](server)

    expect(stolen.private(), C.LOGIN_REDIRECT)               # the signed-out session stays out
    expect(used.get(C.VERIFY + used_mail.token), C.LINK_USED)   # a used link stays used
    expect(unused.confirm(unused_mail.token), C.SIGNED_IN)   # an unused one works once
    expect(unused.get(C.VERIFY + unused_mail.token), C.LINK_USED)
    info = server.link_info(page.form_with("pending").fields["pending"])
    assert info and info["tries"] == 2, info            # code tries carried over
    for _ in range(C.CODE_TRIES - 2):
        expect(waiting.enter_code(page, wrong(code_mail.code)), C.WRONG_CODE)
    expect(waiting.enter_code(page, code_mail.code), C.CODE_TRIES_EXHAUSTED)


@pytest.fixture(params=["lmdb", "redis"])
def any_store(request, server, httpd_factory, cache_factory):
    """The module's base server (LMDB), or one on a real redis."""
    if request.param == "lmdb":
        return server
    store = cache_factory("redis", "flood-redis")
    return httpd_factory("on-redis", ml_httpd.Config(server_conf=store.httpd_conf()))


def test_a_flood_of_requests_resets_nothing(any_store, unique_email):
    """Thousands of generates (distinct addresses, as the eviction attack on the old
    cache sent) neither reset a try count nor bring back a signed-out session."""
    server = any_store
    addr = unique_email()
    stolen, owner, waiting = Browser(server), Browser(server), Browser(server)
    stolen.sign_in(addr)
    owner.s.cookies.update(stolen.s.cookies)
    signed_out_everywhere(owner)
    page = waiting.request_link(addr)
    mail = server.mailbox.take(addr)
    for _ in range(C.CODE_TRIES - 1):
        expect(waiting.enter_code(page, wrong(mail.code)), C.WRONG_CODE)
    flood = Browser(server)
    csrf = flood.login().csrf
    statuses = {}
    for i in range(3000):
        r = flood.generate({C.CSRF_FIELD: csrf, "email": f"flood{i}.{os.getpid()}@other.net"})
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
    assert statuses.get(200, 0) > 0, statuses
    expect(stolen.private(), C.LOGIN_REDIRECT)
    expect(waiting.enter_code(page, wrong(mail.code)), C.WRONG_CODE)   # the 5th, last try
    expect(waiting.enter_code(page, mail.code), C.CODE_TRIES_EXHAUSTED)


def test_parallel_wrong_codes_are_counted_exactly(server, browser, unique_email):
    addr = unique_email()
    page = browser.request_link(addr)
    mail = server.mailbox.take(addr)
    form = page.form_with("pending")
    data = dict(form.fields)
    data.update({"code": wrong(mail.code), C.CSRF_FIELD: page.csrf or browser.login().csrf})
    url = page.action_url(form)
    results, lock = [], threading.Lock()

    def one():
        b = browser.copy()
        r = b.post(url, data=data)
        with lock:
            results.append(r.status_code)

    threads = [threading.Thread(target=one) for _ in range(100)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(results) == 100
    checked = [s for s in results if s in C.WRONG_CODE]
    assert len(checked) == C.CODE_TRIES, sorted(results)
    assert results.count(C.CODE_TRIES_EXHAUSTED) == 100 - C.CODE_TRIES
    expect(browser.enter_code(page, mail.code), C.CODE_TRIES_EXHAUSTED)


def test_revoke_on_a_running_server(server, browser, unique_email):
    addr = unique_email()
    browser.sign_in(addr)
    expect(browser.private(), C.OK)
    local, domain = addr.split("@")
    out = ml_httpd.cli("revoke", "--key-file", server.keyfile, server.store_spec(),
                       f"{local}@{domain.upper()}").stdout
    assert addr in out
    expect(browser.private(), C.LOGIN_REDIRECT)


@pytest.mark.parametrize("size", ["2M", "128M"])
def test_revoke_leaves_the_stores_size_alone(httpd_factory, unique_email, size):
    """The command opens the store at the size the server gave it: its own default
    (64M) would cut a larger file under the running children (SIGBUS at their next
    touch past the cut) or grow a smaller one."""
    srv = httpd_factory(f"revoke-size-{size}", ml_httpd.Config(
        server_conf=f"MagicLinkCache lmdb:{{dir}}/state size={size}\n"))
    b = Browser(srv)
    address = unique_email()
    b.sign_in(address)
    data = srv.dir / "state" / "data.mdb"
    before = data.stat().st_size
    ml_httpd.cli("revoke", "--key-file", srv.keyfile, srv.store_spec(), address)
    assert data.stat().st_size == before
    expect(b.private(), C.LOGIN_REDIRECT)
    b.sign_in(address)                                  # the children still work
    expect(b.private(), C.OK)


def test_a_smaller_size_on_a_graceful_restart_keeps_the_store(httpd_factory, unique_email,
                                                             expect_errors):
    """size= lowered and a graceful restart: the store keeps its size (the children of
    the generation before still use it), and the log says why."""
    expect_errors(r"MAGICLINK-012")
    srv = httpd_factory("smaller-size", ml_httpd.Config(
        server_conf="MagicLinkCache lmdb:{dir}/state size=8M\n"))
    b = Browser(srv)
    b.sign_in(unique_email())
    data = srv.dir / "state" / "data.mdb"
    before = data.stat().st_size
    srv.conf_path.write_text(srv.conf_path.read_text().replace("size=8M", "size=2M"))
    ml_httpd.graceful_restart(srv)
    assert data.stat().st_size == before
    assert re.search(r"MAGICLINK-012: .*size=2048K is smaller than the store already is "
                     r"\(8192K\): kept at its size", srv.error_log_text())
    expect(b.private(), C.OK)


def test_revoke_refuses_a_missing_store(server, tmp_path):
    proc = ml_httpd.cli("revoke", "--key-file", server.keyfile, f"lmdb:{tmp_path}/none",
                        "a@example.com", check=False)
    assert proc.returncode == 1 and "no LMDB store" in proc.stderr
    assert not (tmp_path / "none").exists()


def test_the_link_is_short(server, browser, unique_email):
    addr = unique_email()
    browser.request_link(addr)
    mail = server.mailbox.take(addr)
    assert len(mail.token) == 38, mail.token
    assert len(mail.link) < 100 - 30 + len(server.base), mail.link   # under 100 for a 30-char origin
    info = server.link_info(mail.token)
    assert info["email"] == addr and info["used"] is False and info["tries"] == 0


def test_the_store_file_never_shows_a_link_or_its_code(server, browser, unique_email):
    """The store is readable by every process of httpd's User (a CGI among them), the
    key file is not: the queued mail is sealed, and the link record holds no token and
    no code. Read after delivery, so freed pages that held the entry are in the file
    too (LMDB does not wipe them)."""
    addrs = [unique_email() for _ in range(3)]
    mails = []
    for a in addrs:
        browser.request_link(a)
        mails.append(server.mailbox.take(a))
    data = (server.dir / "state" / "data.mdb").read_bytes()
    assert any(a.encode() in data for a in addrs)     # the file is the one written
    for m in mails:
        assert m.token.encode() not in data
        assert m.code.encode() not in data


FULL = ml_httpd.Config(server_conf="MagicLinkCache lmdb:{dir}/state size=1M")


def fill_until_full(srv, most):
    """POST generate for fresh addresses (at most `most`) until the store is full: 503,
    said in the log."""
    flood = Browser(srv)
    csrf = flood.login().csrf
    status = 200
    for i in range(most):
        status = flood.generate({C.CSRF_FIELD: csrf,
                                 "email": f"f{i}.{'x' * 40}@other.net"}).status_code
        if status != 200:
            break
    assert status == 503, status
    log = srv.error_log_text()
    assert "MAGICLINK-016" in log
    assert re.search(r"MAGICLINK-116: link requested .* outcome=store_full", log)   # not down


def test_a_full_store_fails_closed(httpd_factory, unique_email, expect_errors):
    expect_errors(r"MAGICLINK-016")
    srv = httpd_factory("full", FULL)
    keeper = Browser(srv)
    keeper.sign_in(unique_email())
    fill_until_full(srv, 20000)
    expect(keeper.private(), C.OK)                     # sessions still admitted
    signed_out_everywhere(keeper)                      # a sign-out still finds room
    expect(keeper.private(), C.LOGIN_REDIRECT)


def redis_cli(store, *args):
    return subprocess.run(["redis-cli", "-p", str(store.port), *args], capture_output=True,
                          text=True, timeout=10, check=True).stdout


@contextlib.contextmanager
def redis_password(store, password, *later):
    """redis asks for `password` while the block runs (the test may change it to one of
    `later`); none again after."""
    redis_cli(store, "CONFIG", "SET", "requirepass", password)
    try:
        yield
    finally:
        for pw in (password, *later):
            subprocess.run(["redis-cli", "-p", str(store.port), "-a", pw, "--no-auth-warning",
                            "CONFIG", "SET", "requirepass", ""], capture_output=True, timeout=10)


def test_a_full_redis_still_records_sign_outs(httpd_factory, cache_factory, unique_email,
                                             expect_errors):
    """redis at its maxmemory (noeviction): new links answer 503, and a sign-out, from
    the browser or `magiclink revoke`, is still recorded (LMDB keeps room for them; on
    redis the sign-out's script may write beyond maxmemory), so no signed-out session
    comes back while redis is full."""
    expect_errors(r"MAGICLINK-016")
    store = cache_factory("redis", "full-redis")
    srv = httpd_factory("on-full-redis", ml_httpd.Config(server_conf=store.httpd_conf()))
    keeper, other = Browser(srv), Browser(srv)
    keeper.sign_in(unique_email())
    other_address = unique_email()
    other.sign_in(other_address)
    used = int(re.search(r"used_memory:(\d+)", redis_cli(store, "INFO", "memory")).group(1))
    redis_cli(store, "CONFIG", "SET", "maxmemory", str(used + 512 * 1024))
    try:
        fill_until_full(srv, 5000)
        csrf = keeper.login().csrf
        for i in range(3):           # said once, however many reads between (one connection)
            expect(keeper.private(), C.OK)     # sessions still admitted
            expect(keeper.generate({C.CSRF_FIELD: csrf, "email": f"again{i}@other.net"}), 503)
        pids = re.findall(r"\[pid (\d+)[^]]*\] MAGICLINK-016", srv.error_log_text())
        assert pids and len(pids) == len(set(pids)), pids          # once per process
        expect(keeper.private(), C.OK)
        signed_out_everywhere(keeper)
        expect(keeper.private(), C.LOGIN_REDIRECT)
        ml_httpd.cli("revoke", "--key-file", srv.keyfile, store.spec, other_address)
        expect(other.private(), C.LOGIN_REDIRECT)
    finally:
        redis_cli(store, "CONFIG", "SET", "maxmemory", "0")


DEFAULT_DIR = Path("/var/lib/apache2/magiclink")


def test_no_cache_directive_means_lmdb_in_the_default_directory(unique_email):
    """The default store survives reboots (not under /run) and belongs to the User."""
    existed = DEFAULT_DIR.exists()
    srv = ml_httpd.Httpd("default-store", ml_httpd.Config(store=None))
    try:
        srv.start()
        assert (DEFAULT_DIR / "data.mdb").exists()
        if os.geteuid() == 0:
            assert DEFAULT_DIR.stat().st_uid == pwd.getpwnam(ml_httpd.RUN_USER).pw_uid
        b = Browser(srv)
        b.sign_in(unique_email())
        expect(b.private(), C.OK)
        ml_httpd.full_restart(srv)
        expect(b.private(), C.OK)
    finally:
        srv.stop()
        srv.cleanup()
        if not existed:
            shutil.rmtree(DEFAULT_DIR, ignore_errors=True)


def test_revoke_takes_the_stores_options(httpd_factory, cache_factory, unique_email):
    """`magiclink revoke` on a redis with a password and a database of its own: the
    options of MagicLinkCache on the command line (the password from standard input with
    password=-). Without the password it is refused; the sign-out goes to the database
    the options name (the previous build could name none, and wrote to database 0)."""
    store = cache_factory("redis", "revoke-redis")
    with redis_password(store, "pw-rev"):
        srv = httpd_factory("revoke-options", ml_httpd.Config(
            server_conf=f"MagicLinkCache {store.spec} password=pw-rev db=3\n"))
        b = Browser(srv)
        address = unique_email()
        b.sign_in(address)
        base = [str(ml_httpd.CLI), "revoke", "--key-file", str(srv.keyfile), store.spec]
        bare = subprocess.run(base + [address], capture_output=True, text=True, timeout=30)
        assert bare.returncode == 1 and "password" in bare.stderr, bare.stderr
        expect(b.private(), C.OK)
        wrong_db = subprocess.run(base + ["db=0", "password=-", address], input="pw-rev\n",
                                  capture_output=True, text=True, timeout=30)
        assert wrong_db.returncode == 0, wrong_db.stderr
        expect(b.private(), C.OK)                  # another database: not this server's
        done = subprocess.run(base + ["db=3", "password=-", address], input="pw-rev\n",
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0 and "signed out" in done.stdout, done.stderr
        assert "pw-rev" not in done.stdout + done.stderr
        expect(b.private(), C.LOGIN_REDIRECT)


def generates_again(b, csrf, unique_email):
    """POST generate until it answers 200 (bounded: 10 s), as a store comes back."""
    deadline = time.monotonic() + 10
    while True:
        r = b.generate({C.CSRF_FIELD: csrf, "email": unique_email()})
        if r.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    expect(r, C.OK)


def test_the_first_start_stops_on_a_redis_that_refuses_us(cache_factory, expect_errors):
    """A wrong password is a wrong setting: the first start stops and says so (only a
    restart keeps running on it, failing closed)."""
    store = cache_factory("redis", "password-redis")
    srv = ml_httpd.Httpd("wrong-password", ml_httpd.Config(
        server_conf=f"MagicLinkCache {store.spec} password=not-it timeout=300\n"))
    with redis_password(store, "pw-one"):
        try:
            started, output = srv.try_start()
            assert not started, output
            assert re.search(r"MAGICLINK-011: .*AUTH refused", output), output
            assert "not-it" not in output                  # the password is never told
        finally:
            srv.stop()
            srv.cleanup()


def test_a_reload_survives_a_redis_that_refuses_us_and_recovers(httpd_factory, cache_factory,
                                                                unique_email, expect_errors):
    """redis's password changed under a running server, then a graceful restart (what
    logrotate does every night): the server stays up and fails closed (503), saying why;
    with the password back, sign-in works again, no restart. Only the first start stops
    on a refusing redis."""
    expect_errors(r"MAGICLINK-01[2457]")
    store = cache_factory("redis", "password-redis")
    with redis_password(store, "pw-one", "pw-two"):
        srv = httpd_factory("reload-redis", ml_httpd.Config(
            server_conf=f"MagicLinkCache {store.spec} password=pw-one timeout=300\n"))
        b = Browser(srv)
        b.sign_in(unique_email())
        redis_cli(store, "-a", "pw-one", "--no-auth-warning", "CONFIG", "SET", "requirepass",
                  "pw-two")
        ml_httpd.graceful_restart(srv)
        assert srv.proc.poll() is None
        assert re.search(r"MAGICLINK-012: .*AUTH.*fails closed until redis lets us in",
                         srv.error_log_text())
        csrf = b.login().csrf
        expect(b.generate({C.CSRF_FIELD: csrf, "email": unique_email()}), 503)
        log = srv.error_log_text()
        assert re.search(r"MAGICLINK-015: MagicLinkCache \S+ is failing \(redis \S+: AUTH "
                         r"refused", log), log                     # and why
        assert "pw-one" not in log
        redis_cli(store, "-a", "pw-two", "--no-auth-warning", "CONFIG", "SET", "requirepass",
                  "pw-one")
        generates_again(b, csrf, unique_email)


def test_a_busy_redis_at_start_is_not_a_refusal(httpd_factory, cache_factory, unique_email,
                                               expect_errors):
    """redis busy with a long script answers every command BUSY: that is redis not
    answering yet, not a wrong setting, so the first start goes on (failing closed,
    saying so) and works once the script is killed. (LOADING, a redis reading its data
    back, is classed the same way.)"""
    expect_errors(r"MAGICLINK-01[2457]")
    store = cache_factory("redis", "busy-redis")
    redis_cli(store, "CONFIG", "SET", "busy-reply-threshold", "100")
    script = subprocess.Popen(["redis-cli", "-p", str(store.port), "EVAL",
                               "while true do end", "0"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while "BUSY" not in subprocess.run(["redis-cli", "-p", str(store.port), "PING"],
                                           capture_output=True, text=True,
                                           timeout=10).stdout:
            assert time.monotonic() < deadline, "redis never became busy"
            time.sleep(0.05)
        srv = httpd_factory("on-busy-redis", ml_httpd.Config(
            server_conf=f"MagicLinkCache {store.spec} timeout=300\n"))
        assert re.search(r"MAGICLINK-012: .*BUSY.*fails closed until redis answers",
                         srv.error_log_text())
        b = Browser(srv)
        csrf = b.login().csrf
        expect(b.generate({C.CSRF_FIELD: csrf, "email": unique_email()}), 503)
    finally:
        redis_cli(store, "SCRIPT", "KILL")
        script.wait(timeout=10)
    generates_again(b, csrf, unique_email)


def test_a_stalled_redis_costs_a_bounded_wait_then_503_and_recovers(httpd_factory,
                                                                    cache_factory,
                                                                    unique_email,
                                                                    expect_errors):
    """redis stopped with SIGSTOP (alive, not answering): sign-in answers 503 after the
    store's time-out instead of hanging; SIGCONT, and it works again, no restart."""
    expect_errors(r"MAGICLINK-01[45]")
    store = cache_factory("redis", "stalled-redis")
    srv = httpd_factory("on-stalled-redis", ml_httpd.Config(
        server_conf=f"MagicLinkCache {store.spec} timeout=300\n"))
    b = Browser(srv)
    b.request_link(unique_email())                       # answers while redis does
    csrf = b.login().csrf
    store.proc.send_signal(signal.SIGSTOP)
    try:
        r = b.generate({C.CSRF_FIELD: csrf, "email": unique_email()}, timeout=20)
        expect(r, 503)
    finally:
        store.proc.send_signal(signal.SIGCONT)
    generates_again(b, csrf, unique_email)
