"""Several servers, one state (issue 7; doc/cluster.md).

Two httpd instances share one key file and one `MagicLinkCache redis:127.0.0.1:P` -- a
real redis-server on loopback -- as they would behind a load balancer without stickiness:
the browser's cookie jar goes to both (cookies do not care about ports).  Checked: single
use across servers (also under a race), the code path and its tries (also under a race),
rate limits, sign-outs (logout everywhere and of one browser, `magiclink revoke`), and an
outage of the store in the middle of a run (503s, one log line per incident and process,
recovery without an httpd restart).  Then, for the default LMDB store, what a graceful and
a full restart keep (more in test_store.py).
"""
import collections
import shutil
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import pytest

import ml_contract as C
import ml_httpd
from ml_client import Browser, expect, set_cookies

KIND = "redis"
RACERS = 20
ATTEMPTS = 4     # requests per check during an outage, each on a new connection

# Everything generous except the per-address limit the rate-limit test counts against
# (every request here comes from 127.0.0.1: one client network).
CLUSTER_LIMITS = ("email 3 3600", "email-total 1000 3600", "ip 100000 3600",
                  "domain 100000 3600")

# What the error log says while the store is down: once per incident and process (and a
# child started during the outage cannot open the store).
OUTAGE_LINE = r"MAGICLINK-015: MagicLinkCache \S+ is failing"
RECOVERY_LINE = r"MAGICLINK-017: MagicLinkCache \S+ works again"
CHILD_OPEN_LINE = r"MAGICLINK-014: MagicLinkCache \S+: cannot open in this child"
# A bound on how long the children take to find the store again once it is back.
RECOVERY_TIMEOUT = 20.0
RECOVERED_RUN = 10      # requests in a row on each server that show every child is back
TEXT_UNAVAILABLE = r"unavailable|try again"


# ---------------------------------------------------------------- helpers

def via(browser, server):
    """The same browser -- the same cookie jar -- talking to `server`, on a new
    connection: what a load balancer without stickiness does."""
    other = Browser(server)
    other.s.cookies = browser.s.cookies
    return other


def copy_to(browser, server):
    """Another tab of the same browser (its own copy of the cookies) on `server`."""
    other = Browser(server)
    other.s.cookies.update(browser.s.cookies)
    return other


def ask(browser, address):
    """A raw POST generate for `address` with the browser's CSRF token."""
    return browser.generate({C.CSRF_FIELD: browser.login().csrf, "email": address})


def confirm_on(browser, server, token):
    """Opens the link on `server` and presses its button there."""
    tab = via(browser, server)
    page = tab.verify_page(token)
    return tab.post(C.VERIFY + token, data=page.form_with(C.CSRF_FIELD).fields)


def open_on(browser, server, token):
    """GET verify/<token> on `server` (the page a click on the link shows)."""
    return via(browser, server).get(C.VERIFY + token, headers={"Accept": "text/html"})


def press_on(browser, server, token):
    """POST verify/<token> on `server` with the browser's CSRF token, without reading the
    page first (for links whose page is a refusal)."""
    tab = via(browser, server)
    return tab.post(C.VERIFY + token, data={C.CSRF_FIELD: tab.login().csrf})


def assert_used_on(browser, server, token):
    """The link's page and its button on `server` both say it was used."""
    for r in (open_on(browser, server, token), press_on(browser, server, token)):
        expect(r, C.LINK_USED, C.TEXT_USED)
        assert C.SESSION_COOKIE not in set_cookies(r)


def code_on(browser, server, check_page, code):
    """Types `code` into the waiting tab's form, the POST going to `server`."""
    form = check_page.form_with("pending")
    data = {**form.fields, "code": code}
    data.setdefault(C.CSRF_FIELD, check_page.csrf)
    return via(browser, server).post(C.CODE, data=data)


def wrong(code):
    return f"{(int(code) + 1) % 1000000:06d}"


@pytest.fixture(scope="module")
def shared_keyfile():
    """One key file for every server of this module (as a cluster must have)."""
    d = Path(tempfile.mkdtemp(prefix="ml-it-cluster-keys-"))
    d.chmod(0o755)
    path = ml_httpd.write_keyfile(d / "magiclink.keys", [ml_httpd.keygen("cluster")])
    yield path
    if not ml_httpd.KEEP:
        shutil.rmtree(d, ignore_errors=True)


def _pair(httpd_factory, store, keyfile, prefix, a_conf="", b_conf="", limits=CLUSTER_LIMITS):
    """Two servers on one store and one key file; they share one set of secrets (a
    session cookie or a token from one must not reach the other's log either)."""
    def config(private_conf):
        # Each test server has its own base URL (its port); a real cluster shares one,
        # and with it the default realm. Here the realm is named to share sessions.
        return ml_httpd.Config(key_file=str(keyfile), rate_limits=limits,
                               server_conf=store.httpd_conf() + "MagicLinkRealm ml-cluster\n",
                               private_conf=private_conf)
    a = httpd_factory(f"{prefix}-a", config(a_conf))
    b = httpd_factory(f"{prefix}-b", config(b_conf))
    b.secrets = a.secrets
    return a, b


@pytest.fixture(scope="module")
def cluster(httpd_factory, cache_factory, shared_keyfile):
    store = cache_factory(KIND, f"{KIND}-shared")
    a, b = _pair(httpd_factory, store, shared_keyfile, KIND)
    return SimpleNamespace(kind=KIND, store=store, a=a, b=b, keyfile=shared_keyfile)


# ---------------------------------------------------------------- single use across servers

def test_link_from_a_is_confirmed_on_b_and_the_session_opens_both(cluster, unique_email):
    addr = unique_email()
    browser = Browser(cluster.a)
    browser.request_link(addr)
    mail = cluster.a.mailbox.take(addr)
    r = expect(confirm_on(browser, cluster.b, mail.token), C.SIGNED_IN)
    assert set_cookies(r).get(C.SESSION_COOKIE, ("",))[0], f"no session cookie from B: {r.headers}"
    for srv in (cluster.a, cluster.b):
        expect(via(browser, srv).private(), C.OK, C.TEXT_SECRET_PAGE)


def test_replay_on_a_after_b_consumed_the_link_is_410(cluster, unique_email):
    addr = unique_email()
    browser = Browser(cluster.a)
    browser.request_link(addr)
    mail = cluster.a.mailbox.take(addr)
    expect(confirm_on(browser, cluster.b, mail.token), C.SIGNED_IN)
    for srv in (cluster.a, cluster.b):
        assert_used_on(browser, srv, mail.token)


def test_concurrent_confirmations_split_across_servers_sign_in_once(cluster, unique_email):
    addr = unique_email()
    browser = Browser(cluster.a)
    browser.request_link(addr)
    mail = cluster.a.mailbox.take(addr)
    data = browser.verify_page(mail.token).form_with(C.CSRF_FIELD).fields
    servers = [cluster.a if i % 2 == 0 else cluster.b for i in range(RACERS)]
    tabs = [copy_to(browser, srv) for srv in servers]
    start = threading.Barrier(RACERS, timeout=30)

    def confirm(tab):
        start.wait()
        return tab.post(C.VERIFY + mail.token, data=data).status_code

    with ThreadPoolExecutor(RACERS) as pool:
        statuses = list(pool.map(confirm, tabs))
    counts = collections.Counter(statuses)
    assert counts == {C.SIGNED_IN: 1, C.LINK_USED: RACERS - 1}, \
        f"{counts}; per server: {list(zip([s.name for s in servers], statuses))}"
    winner = tabs[statuses.index(C.SIGNED_IN)]
    for srv in (cluster.a, cluster.b):
        expect(via(winner, srv).private(), C.OK, C.TEXT_SECRET_PAGE)


# ---------------------------------------------------------------- the code across servers

def test_code_for_a_request_made_on_a_is_accepted_on_b(cluster, unique_email):
    addr = unique_email()
    browser = Browser(cluster.a)
    page = browser.request_link(addr)
    mail = cluster.a.mailbox.take(addr)
    expect(code_on(browser, cluster.b, page, mail.code), C.SIGNED_IN)
    expect(via(browser, cluster.a).private(), C.OK, C.TEXT_SECRET_PAGE)
    assert_used_on(browser, cluster.a, mail.token)


def test_code_tries_count_across_servers(cluster, unique_email):
    """Tries in turn on both servers count as one sequence."""
    addr = unique_email()
    browser = Browser(cluster.a)
    page = browser.request_link(addr)
    mail = cluster.a.mailbox.take(addr)
    for i in range(C.CODE_TRIES):
        srv = cluster.a if i % 2 == 0 else cluster.b
        expect(code_on(browser, srv, page, wrong(mail.code)), C.WRONG_CODE)
    # the 6th try, on the other server, with the right code
    r = expect(code_on(browser, cluster.b, page, mail.code), C.CODE_TRIES_EXHAUSTED)
    assert C.SESSION_COOKIE not in set_cookies(r)
    expect(code_on(browser, cluster.a, page, mail.code), C.CODE_TRIES_EXHAUSTED)


def test_concurrent_wrong_codes_split_across_servers_are_counted_exactly(cluster,
                                                                          unique_email):
    """Each try is counted atomically in the shared store: of RACERS wrong codes sent at
    once to both servers exactly CODE_TRIES are checked, the rest refused unchecked."""
    addr = unique_email()
    browser = Browser(cluster.a)
    page = browser.request_link(addr)
    mail = cluster.a.mailbox.take(addr)
    data = {**page.form_with("pending").fields, "code": wrong(mail.code)}
    data.setdefault(C.CSRF_FIELD, page.csrf)
    servers = [cluster.a if i % 2 == 0 else cluster.b for i in range(RACERS)]
    tabs = [copy_to(browser, srv) for srv in servers]
    start = threading.Barrier(RACERS, timeout=30)

    def try_code(tab):
        start.wait()
        return tab.post(C.CODE, data=data).status_code

    with ThreadPoolExecutor(RACERS) as pool:
        statuses = list(pool.map(try_code, tabs))
    counts = collections.Counter(statuses)
    checked = sum(n for status, n in counts.items() if status in C.WRONG_CODE)
    assert checked == C.CODE_TRIES and \
        counts[C.CODE_TRIES_EXHAUSTED] == RACERS - C.CODE_TRIES, counts
    expect(code_on(browser, cluster.b, page, mail.code), C.CODE_TRIES_EXHAUSTED)


# ---------------------------------------------------------------- rate limits across servers

def test_rate_limit_counts_requests_on_both_servers(cluster, unique_email):
    """MagicLinkRateLimit email 3 3600 on both: two on A, one on B, the 4th is refused
    wherever it lands."""
    addr = unique_email()
    browser = Browser(cluster.a)
    for srv in (cluster.a, cluster.a, cluster.b):
        expect(ask(via(browser, srv), addr), C.OK, C.TEXT_CHECK_EMAIL)
    for srv in (cluster.b, cluster.a):
        r = expect(ask(via(browser, srv), addr), C.THROTTLED)
        assert r.headers.get("Retry-After", "").isdigit(), f"no Retry-After: {r.headers}"
    assert len(cluster.a.mailbox.take_all(addr) + cluster.b.mailbox.take_all(addr)) <= 3


# ---------------------------------------------------------------- sign-outs across servers

def test_logout_on_a_signs_the_address_out_on_b(cluster, unique_email):
    addr = unique_email()
    first, second = Browser(cluster.a), Browser(cluster.b)
    first.sign_in(addr)                                   # asked for and confirmed on A
    second.request_link(addr)                             # asked for and confirmed on B
    expect(second.confirm(cluster.b.mailbox.take(addr).token), C.SIGNED_IN)
    for srv in (cluster.a, cluster.b):
        expect(via(second, srv).private(), C.OK, C.TEXT_SECRET_PAGE)
    expect(first.post(C.LOGOUT, data={C.CSRF_FIELD: first.login().csrf}), C.LOGGED_OUT)
    for srv in (cluster.b, cluster.a):
        expect(via(second, srv).private(), C.LOGIN_REDIRECT)
    third = Browser(cluster.b)                # signing in again afterwards works
    third.sign_in(addr)
    expect(via(third, cluster.a).private(), C.OK, C.TEXT_SECRET_PAGE)


def test_logout_of_this_browser_on_b_ends_its_copies_on_a(cluster, unique_email):
    """scope=browser: every copy of this session's cookie is out on both servers; the
    address's session in another browser stays in."""
    addr = unique_email()
    mine, elsewhere = Browser(cluster.a), Browser(cluster.b)
    mine.sign_in(addr)
    elsewhere.sign_in(addr)
    copy = mine.copy()
    tab = via(mine, cluster.b)
    expect(tab.post(C.LOGOUT, data={C.CSRF_FIELD: tab.login().csrf, "scope": "browser"}),
           C.LOGGED_OUT)
    for srv in (cluster.a, cluster.b):
        expect(via(copy, srv).private(), C.LOGIN_REDIRECT)
        expect(via(elsewhere, srv).private(), C.OK, C.TEXT_SECRET_PAGE)


def test_magiclink_revoke_signs_a_session_out_on_both(cluster, unique_email):
    addr = unique_email()
    browser = Browser(cluster.b)
    browser.sign_in(addr)
    for srv in (cluster.a, cluster.b):
        expect(via(browser, srv).private(), C.OK, C.TEXT_SECRET_PAGE)
    local, domain = addr.split("@")
    out = ml_httpd.cli("revoke", "--key-file", cluster.keyfile, cluster.store.spec,
                       f"{local}@{domain.upper()}").stdout
    assert addr in out, out                               # the address as normalized
    for srv in (cluster.a, cluster.b):
        expect(via(browser, srv).private(), C.LOGIN_REDIRECT)
        expect(via(browser, srv).private(accept="application/json"), C.UNAUTHORIZED)
    again = Browser(cluster.a)                # a sign-in after the revoke (same second or
    again.sign_in(addr)                       # not) works on both
    for srv in (cluster.a, cluster.b):
        expect(via(again, srv).private(), C.OK, C.TEXT_SECRET_PAGE)


def test_magiclink_revoke_fails_loudly_when_the_store_is_not_there(shared_keyfile):
    port = ml_httpd.free_port()
    proc = ml_httpd.cli("revoke", "--key-file", shared_keyfile, f"{KIND}:127.0.0.1:{port}",
                        "someone@example.com", check=False)
    assert proc.returncode == 1 and "127.0.0.1" in proc.stderr, proc


# ---------------------------------------------------------------- the store stops mid-run

@pytest.fixture(scope="module")
def outage(lab, httpd_factory, cache_factory, shared_keyfile):
    """A (MagicLinkCacheOutage Refuse, the default) and B (Admit) on their own store.
    Before the store is stopped: a session, a link not yet used and a waiting tab.  The
    tests below run in file order on it; the last one starts the store again."""
    kind = KIND
    lab.expected += [OUTAGE_LINE, CHILD_OPEN_LINE]
    store = cache_factory(kind, f"{kind}-outage")
    a, b = _pair(httpd_factory, store, shared_keyfile, f"{kind}-outage",
                 b_conf="MagicLinkCacheOutage Admit", limits=ml_httpd.GENEROUS_LIMITS)
    user = Browser(a)
    user.sign_in(f"signed-in.{kind}@example.com")
    for srv in (a, b):
        expect(via(user, srv).private(), C.OK, C.TEXT_SECRET_PAGE)
    signed_out = Browser(b)
    signed_out.sign_in(f"signed-out.{kind}@example.com")
    stolen = signed_out.copy()
    expect(signed_out.post(C.LOGOUT, data={C.CSRF_FIELD: signed_out.login().csrf}),
           C.LOGGED_OUT)
    # Refused, and told to drop the cookie; a thief keeps it (a copy of the copy asks).
    expect(via(stolen.copy(), a).private(), C.LOGIN_REDIRECT)
    waiting = Browser(a)
    addr = f"waiting.{kind}@example.com"
    page = waiting.request_link(addr)
    mail = a.mailbox.take(addr)
    since = {srv.name: srv.error_log_size() for srv in (a, b)}
    store.stop()
    return SimpleNamespace(kind=kind, store=store, a=a, b=b, user=user, signed_out=stolen,
                           waiting=waiting, page=page, mail=mail, since=since,
                           failures=collections.Counter())


def _down(o):
    assert not o.store.alive(), f"{o.kind} should be stopped for this test (test order?)"


def _unavailable(o, server, r):
    """A 503 page with Retry-After; counted as a failing request of `server`."""
    o.failures[server.name] += 1
    expect(r, 503, TEXT_UNAVAILABLE)
    assert r.headers.get("Retry-After", "").isdigit(), f"no Retry-After: {r.headers}"
    assert "<" in r.text, "want an HTML page"


def test_outage_generate_answers_503_and_mails_nothing(outage, unique_email):
    """(The sign-in form itself, GET login, does not use the store: still 200.)"""
    _down(outage)
    for srv in (outage.a, outage.b):
        for _ in range(3):
            addr = unique_email()
            _unavailable(outage, srv, ask(Browser(srv), addr))
            assert not srv.mailbox.take_all(addr)


def test_outage_verify_answers_503(outage):
    """Never 'expired' or 'already used' (410) while the store cannot say what became of
    the link: its page (GET) and its button (POST). Several tries, on new connections, so
    that they reach several child processes."""
    _down(outage)
    for srv in (outage.a, outage.b):
        for _ in range(ATTEMPTS):
            for r in (open_on(outage.waiting, srv, outage.mail.token),
                      press_on(outage.waiting, srv, outage.mail.token)):
                _unavailable(outage, srv, r)
                assert C.SESSION_COOKIE not in set_cookies(r)


def test_outage_code_answers_503(outage):
    _down(outage)
    for srv in (outage.a, outage.b):
        for _ in range(ATTEMPTS):
            r = code_on(outage.waiting, srv, outage.page, outage.mail.code)
            _unavailable(outage, srv, r)
            assert C.SESSION_COOKIE not in set_cookies(r)


def test_outage_logout_answers_503(outage):
    """A sign-out that cannot be recorded is not claimed, everywhere or of one browser."""
    _down(outage)
    for scope in ({}, {"scope": "browser"}):
        tab = copy_to(outage.user, outage.a)
        _unavailable(outage, outage.a,
                     tab.post(C.LOGOUT, data={C.CSRF_FIELD: tab.login().csrf, **scope}))


def test_outage_protected_page_is_503_under_refuse(outage):
    _down(outage)
    for _ in range(ATTEMPTS):
        r = via(outage.user, outage.a).private()
        outage.failures[outage.a.name] += 1
        expect(r, 503)
        assert r.headers.get("Retry-After", "").isdigit(), f"no Retry-After: {r.headers}"


def test_outage_never_admits_a_signed_out_session_under_refuse(outage):
    """The reason for Refuse: a session whose owner signed out (before the outage) must
    not get in while the sign-out cannot be read."""
    _down(outage)
    for _ in range(ATTEMPTS):
        r = via(outage.signed_out, outage.a).private()
        outage.failures[outage.a.name] += 1
        expect(r, 503)


def test_outage_protected_page_is_admitted_under_admit(outage):
    _down(outage)
    for _ in range(ATTEMPTS):
        expect(via(outage.user, outage.b).private(), C.OK, C.TEXT_SECRET_PAGE)
    expect(via(outage.user, outage.b).private(accept="application/json"), C.OK)
    # The price of Admit (doc/cluster.md): a sign-out cannot be checked either.
    expect(via(outage.signed_out, outage.b).private(), C.OK, C.TEXT_SECRET_PAGE)


def test_outage_is_logged_once_per_process(outage, unique_email):
    """One MAGICLINK-015 line per child process that saw the outage, not one per request,
    and no 'works again' while the store is still down."""
    _down(outage)
    for srv in (outage.a, outage.b):          # a few more, on new connections
        for _ in range(ATTEMPTS):
            _unavailable(outage, srv, ask(Browser(srv), unique_email()))
    for srv in (outage.a, outage.b):
        text = ml_httpd.error_log_since(srv, outage.since[srv.name])
        lines = ml_httpd.log_pids(text, OUTAGE_LINE)
        pids = {pid for pid, _ in lines}
        report = "\n".join(line for _, line in ml_httpd.log_pids(
            text, f"{OUTAGE_LINE}|{RECOVERY_LINE}"))
        assert lines and None not in pids, \
            f"[{srv.name}] no MAGICLINK-015 line:\n{text[-3000:]}"
        assert outage.kind in lines[0][1]
        assert len(lines) == len(pids), \
            f"[{srv.name}] {len(lines)} MAGICLINK-015 lines from {len(pids)} " \
            f"processes:\n{report}"
        assert outage.failures[srv.name] > len(pids), (outage.failures, pids)
        assert not ml_httpd.log_pids(text, RECOVERY_LINE), \
            f"[{srv.name}] 'works again' logged while the store is down:\n{report}"


def test_outage_ends_when_the_store_is_back_without_restarting_httpd(outage, unique_email):
    """The store started again on the same port (empty: it keeps nothing): sign-in works
    again within a bounded time without an httpd restart, the recovering processes say
    so (MAGICLINK-017), and what the store forgot fails closed."""
    parents = {srv.name: srv.proc.pid for srv in (outage.a, outage.b)}
    back = {srv.name: srv.error_log_size() for srv in (outage.a, outage.b)}
    outage.store.start()
    started = time.monotonic()
    deadline = started + RECOVERY_TIMEOUT
    seen = collections.Counter()
    while True:                               # a whole sign-in: asked on A, confirmed on B
        addr = unique_email()
        browser = Browser(outage.a)
        r = ask(browser, addr)
        seen[f"generate {r.status_code}"] += 1
        if r.status_code == C.OK:
            token = outage.a.mailbox.take(addr).token
            r = confirm_on(browser, outage.b, token)
            seen[f"verify {r.status_code}"] += 1
            if r.status_code == C.SIGNED_IN:
                break
        assert time.monotonic() < deadline, \
            f"no sign-in within {RECOVERY_TIMEOUT}s of the store's return: {dict(seen)}"
        time.sleep(0.2)
    first = time.monotonic() - started
    # Every child process finds the store again on its own: ask on new connections,
    # which reach the children in turn, until each server answers a run of requests in a
    # row, and a recovering process has said so (MAGICLINK-017).
    in_a_row = 0
    while in_a_row < RECOVERED_RUN or not any(
            ml_httpd.log_pids(ml_httpd.error_log_since(s, back[s.name]), RECOVERY_LINE)
            for s in (outage.a, outage.b)):
        assert time.monotonic() < deadline, \
            f"not recovered within {RECOVERY_TIMEOUT}s of the store's return " \
            f"({in_a_row} in a row; {dict(seen)})"
        ok = all(ask(Browser(srv), unique_email()).status_code == C.OK
                 for srv in (outage.a, outage.b))
        in_a_row = in_a_row + 1 if ok else 0
        if not ok:
            time.sleep(0.2)
    expect(via(browser, outage.a).private(), C.OK, C.TEXT_SECRET_PAGE)
    for srv in (outage.a, outage.b):
        text = ml_httpd.error_log_since(srv, outage.since[srv.name])
        down = {pid for pid, _ in ml_httpd.log_pids(text, OUTAGE_LINE)}
        up = [pid for pid, _ in ml_httpd.log_pids(
            ml_httpd.error_log_since(srv, back[srv.name]), RECOVERY_LINE)]
        # (how often: test_outage_is_logged_once_per_process)
        assert set(up) <= down, \
            f"[{srv.name}] MAGICLINK-017 since the store's return from {up}; " \
            f"MAGICLINK-015 from {down}"
        assert srv.proc.pid == parents[srv.name] and srv.proc.poll() is None
    print(f"[{outage.kind}] first sign-in {first:.1f}s, every child "
          f"{time.monotonic() - started:.1f}s after the store's return: {dict(seen)}")
    # The session from before the outage still opens (no sign-out is recorded) ...
    expect(via(outage.user, outage.a).private(), C.OK, C.TEXT_SECRET_PAGE)
    # ... and the link issued before it is gone (the restarted store forgot it): refused
    # as expired, page and button.
    for r in (open_on(outage.waiting, outage.a, outage.mail.token),
              press_on(outage.waiting, outage.a, outage.mail.token)):
        expect(r, C.LINK_EXPIRED, C.TEXT_EXPIRED)
        assert C.SESSION_COOKIE not in set_cookies(r)


# ---------------------------------------------------------------- LMDB across restarts

RESTARTS = {"graceful": ml_httpd.graceful_restart, "full": ml_httpd.full_restart}


@pytest.fixture(scope="module")
def lmdb_server(httpd_factory):
    """The default kind of store (LMDB, in the server's directory); email limit 2/hour."""
    return httpd_factory("lmdb", ml_httpd.Config(
        rate_limits=("email 2 3600", "email-total 1000 3600", "ip 100000 3600",
                     "domain 100000 3600")))


@pytest.mark.parametrize("how", RESTARTS)
def test_lmdb_restart_forgets_nothing(lmdb_server, unique_email, how):
    """LMDB lives in files, not in the parent's memory: after a graceful or a full
    restart a consumed link stays used, a link issued before works (once), a rate
    counter goes on counting, a sign-out stays, and a session still opens."""
    srv = lmdb_server
    browser = Browser(srv)
    used, _ = browser.sign_in(unique_email())
    pending_addr, throttled = unique_email(), unique_email()
    asker = Browser(srv)                      # a signed-in browser gets no sign-in form
    page = asker.request_link(pending_addr)
    pending = srv.mailbox.take(pending_addr)
    for _ in range(2):
        expect(ask(browser, throttled), C.OK)
    expect(ask(browser, throttled), C.THROTTLED)
    leaver = Browser(srv)
    leaver.sign_in(unique_email())
    stolen = leaver.copy()
    expect(leaver.post(C.LOGOUT, data={C.CSRF_FIELD: leaver.login().csrf}), C.LOGGED_OUT)
    expect(stolen.private(), C.LOGIN_REDIRECT)

    RESTARTS[how](srv)

    tab = browser.copy()                      # the old connection died with its child
    expect(tab.private(), C.OK, C.TEXT_SECRET_PAGE)
    assert_used_on(tab, srv, used.token)
    expect(asker.copy().enter_code(page, pending.code), C.SIGNED_IN)
    assert_used_on(tab, srv, pending.token)
    expect(ask(tab, throttled), C.THROTTLED)  # the counter was kept
    expect(stolen.copy().private(), C.LOGIN_REDIRECT)
    Browser(srv).sign_in(unique_email())      # and a new link works as usual


def test_cluster_store_keeps_sign_outs_across_an_httpd_restart(cluster, unique_email):
    """With redis the state is outside httpd: a full restart of A forgets nothing (a
    consumed link stays used, a sign-out stays)."""
    browser = Browser(cluster.a)
    used, _ = browser.sign_in(unique_email())
    stolen = browser.copy()
    expect(browser.post(C.LOGOUT, data={C.CSRF_FIELD: browser.login().csrf}), C.LOGGED_OUT)
    ml_httpd.full_restart(cluster.a)
    expect(stolen.copy().private(), C.LOGIN_REDIRECT)
    assert_used_on(stolen.copy(), cluster.a, used.token)
