"""Prometheus metrics, the mod_status section and the health answer (issue 17,
doc/metrics.md).

The base server runs the worker MPM with three child processes and no keep-alive, so the
requests of a run land in several processes; the counters live in one shared segment, so
a scrape from any child must show every event of every child, exactly.  Expositions are
read with the real Prometheus parser (Debian's python3-prometheus-client).
"""
import re
import signal
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

import ml_contract as C
import ml_httpd
from ml_client import Browser, allowed, expect

METRICS = "/metrics"
HEALTH = "/metrics?health"
STATUS = "/server-status"
SHORT = "/short-links"      # sign-in pages whose links expire after SHORT_TTL seconds
SHORT_TTL = 1
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
SETTLE_TIMEOUT = 5.0      # seconds for a mail's delivery to be counted after it landed
RETRY_TIMEOUT = 30.0      # seconds for a mail that failed to be tried again and land

STATUS_MODULE = f'LoadModule status_module "{ml_httpd.MODULES_DIR}/mod_status.so"'
METRICS_CONF = f"""
{STATUS_MODULE}
ExtendedStatus On
KeepAlive Off
CustomLog "{{dir}}/logs/pids" "%P %m %U %>s"
<Location {METRICS}>
    SetHandler magiclink-metrics
    Require ip 127.0.0.1
</Location>
<Location /metrics-elsewhere>
    SetHandler magiclink-metrics
    Require ip 192.0.2.1
</Location>
<Location {STATUS}>
    SetHandler server-status
    Require ip 127.0.0.1
</Location>
<Location /friend>
    AuthType MagicLink
    Require user friend@other.org
</Location>
<Location {SHORT}>
    SetHandler magiclink
    MagicLinkLinkTTL {SHORT_TTL}
</Location>
"""

# Worker MPM, three processes that stay (no spare-thread reaping), a few threads each.
WORKER = """
StartServers 3
ServerLimit 3
ThreadsPerChild 4
MaxRequestWorkers 12
MinSpareThreads 1
MaxSpareThreads 12
"""

HTTPD_CONFIG = ml_httpd.Config(
    mpm="worker", mpm_conf=WORKER, server_conf=METRICS_CONF,
    rate_limits=("email 2 3600", "ip 100000 3600", "domain 100000 3600"))

# Every series the issue names, with every label value (each must be there from the start).
SERIES = {
    "magiclink_link_requests_total": ("outcome", ["mailed", "not_allowed", "throttled",
                                                  "invalid", "csrf", "store_down",
                                                  "store_full"]),
    "magiclink_confirmations_total": ("outcome", ["signed_in", "expired", "used",
                                                  "other_browser", "invalid", "csrf",
                                                  "store_down"]),
    "magiclink_code_attempts_total": ("outcome", ["right", "wrong", "locked", "invalid",
                                                  "store_down"]),
    "magiclink_sign_ins_total": ("method", ["link", "code", "approval"]),
    "magiclink_sign_outs_total": ("scope", ["browser", "everywhere", "revoked"]),
    "magiclink_gated_requests_total": ("outcome", ["admitted", "no_session", "expired",
                                                   "revoked", "not_allowed", "store_down"]),
}
TRANSPORTS = ["maildir", "smtp", "pipe"]
OUTBOX_GAUGES = ["magiclink_outbox_depth", "magiclink_outbox_oldest_age_seconds"]


# ---------------------------------------------------------------- reading the figures

def key(name, **labels):
    return name, tuple(sorted(labels.items()))


def fetch(server, path=METRICS):
    """One GET on a new connection (the server does not keep connections alive)."""
    return requests.get(server.url(path), timeout=30)


def scrape(server):
    """{(sample name, sorted labels): value} of one exposition, parsed by prometheus_client."""
    r = expect(fetch(server), C.OK)
    assert r.headers.get("Content-Type") == CONTENT_TYPE, r.headers
    samples = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            k = key(s.name, **s.labels)
            assert k not in samples, f"{k} twice in the exposition"
            samples[k] = s.value
    return samples


STORE_OPS = "magiclink_store_operations_total"


def counters(samples):
    return {k: v for k, v in samples.items() if k[0].endswith("_total")}


def event_counters(samples):
    """The counters of requests and deliveries: the store operations move by themselves
    (the deliverers look into the outbox every second), so they are checked on their own."""
    return {k: v for k, v in counters(samples).items() if k[0] != STORE_OPS}


def store_ops(samples, result="ok"):
    return samples[key(STORE_OPS, result=result)]


def moved(before, after):
    """{key: delta} of every counter of events that changed (store operations, whose
    number depends on how the store is built and which the deliverers move in the
    background, are checked on their own)."""
    b, a = event_counters(before), event_counters(after)
    assert set(a) == set(b), f"series came or went: {set(a) ^ set(b)}"
    return {k: a[k] - b[k] for k in a if a[k] != b[k]}


def delivered(samples, transport="maildir", result="ok"):
    return samples[key("magiclink_mail_deliveries_total", transport=transport, result=result)]


def settle(server, before, deliveries):
    """A scrape taken once `deliveries` more maildir deliveries are counted than in `before`
    (a mail lands in new/ a moment before its delivery is counted); bounded."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while True:
        after = scrape(server)
        if delivered(after) - delivered(before) >= deliveries or time.monotonic() > deadline:
            return after
        time.sleep(ml_httpd.POLL)


def pids_since(server, offset):
    """The processes that served the requests logged after byte `offset` of the pid log."""
    with open(server.dir / "logs" / "pids", "rb") as f:
        f.seek(offset)
        return {line.split()[0] for line in f.read().decode().splitlines() if line}


def pid_log_size(server):
    p = server.dir / "logs" / "pids"
    return p.stat().st_size if p.exists() else 0


def wrong(code):
    return f"{(int(code) + 1) % 1000000:06d}"


def with_cookie(server, value):
    return Browser(server).get(C.PRIVATE, headers={"Accept": "text/html",
                                                   "Cookie": f"{C.SESSION_COOKIE}={value}"})


def expired_session(server, browser):
    """browser's session cookie, re-sealed as if issued before the session lifetime."""
    claims = ml_httpd.open_sealed(server.keyfile, C.SESSION_COOKIE,
                                  browser.cookie(C.SESSION_COOKIE))
    assert claims
    long_ago = int(time.time()) - 604800 - 7200
    past = {k: (str(long_ago) if k in ("iat", "seen") else v) for k, v in claims.items()}
    return ml_httpd.seal(server.keyfile, C.SESSION_COOKIE, past, at=long_ago)


def wait_past_expiry(server, token):
    """Until the store's record of the link says it expired (its TTL is 1 s: bounded)."""
    info = server.link_info(token)
    assert info and info["exp"] - info["iat"] == SHORT_TTL, info
    while time.time() < info["exp"] + 1:
        time.sleep(ml_httpd.POLL)


# ---------------------------------------------------------------- the exposition

def test_exposition_parses_and_names_every_series_from_the_start(server):
    samples = scrape(server)
    for name, (label, values) in SERIES.items():
        for v in values:
            assert key(name, **{label: v}) in samples, f"{name}{{{label}={v}}} missing"
    for t in TRANSPORTS:
        for result in ("ok", "failed"):
            assert key("magiclink_mail_deliveries_total", transport=t, result=result) in samples
        assert key("magiclink_mail_delivery_seconds_count", transport=t) in samples
        assert key("magiclink_mail_delivery_seconds_bucket", transport=t, le="+Inf") in samples
    for result in ("ok", "failed"):
        assert key("magiclink_store_operation_seconds_count", result=result) in samples
        assert key(STORE_OPS, result=result) in samples
    assert samples[key("magiclink_store_up")] == 1
    build = [k for k in samples if k[0] == "magiclink_build_info"]
    assert len(build) == 1 and dict(build[0][1])["version"] and samples[build[0]] == 1
    started = samples[key("magiclink_counters_start_time_seconds")]
    assert time.time() - 3600 < started <= time.time()


def test_every_scrape_sets_the_outbox_gauges(server):
    """The outbox gauges are read from the store by the scrape itself (no timer walks
    the outbox): the first scrape has them, gauges of an outbox that holds no mail."""
    r = expect(fetch(server), C.OK)
    families = {f.name: f for f in text_string_to_metric_families(r.text)}
    for g in OUTBOX_GAUGES:
        assert g in families, f"{g} not in the first scrape"
        assert families[g].type == "gauge", families[g].type
        assert [(s.name, s.labels) for s in families[g].samples] == [(g, {})]
    samples = scrape(server)
    depth, age = (samples[key(g)] for g in OUTBOX_GAUGES)
    assert depth == int(depth) >= 0 and age == int(age) >= 0, (depth, age)
    assert age == 0 or depth > 0, (depth, age)        # an empty outbox has no oldest mail


def test_histogram_buckets_are_cumulative_and_end_in_the_count(server):
    samples = scrape(server)
    for name, label, values in (("magiclink_store_operation_seconds", "result", ["ok", "failed"]),
                                ("magiclink_mail_delivery_seconds", "transport", TRANSPORTS)):
        for v in values:
            buckets = sorted(((float(dict(k[1])["le"]), val) for k, val in samples.items()
                              if k[0] == name + "_bucket" and dict(k[1])[label] == v))
            counts = [val for _, val in buckets]
            assert counts == sorted(counts), f"{name}{{{label}={v}}} not cumulative: {buckets}"
            assert buckets[-1][0] == float("inf")
            assert counts[-1] == samples[key(name + "_count", **{label: v})]


def test_head_get_only_and_the_location_guard(server, expect_errors):
    expect_errors(r"AH01630: client denied by server configuration: .*/metrics-elsewhere")
    r = requests.head(server.url(METRICS), timeout=30)
    assert r.status_code == 200 and r.headers["Content-Type"] == CONTENT_TYPE and not r.content
    for method in ("POST", "PUT", "OPTIONS"):
        r = requests.request(method, server.url(METRICS), data="x", timeout=30)
        assert r.status_code == C.BAD_METHOD and allowed(r) == {"GET", "HEAD"}, \
            (method, r.status_code, r.headers.get("Allow"))
    assert requests.get(server.url("/metrics-elsewhere"), timeout=30).status_code == 403
    assert requests.get(server.url("/metrics-elsewhere?health"), timeout=30).status_code == 403


# ---------------------------------------------------------------- a scripted run

def test_a_scripted_run_moves_every_counter_by_exactly_its_events(server, unique_email,
                                                                  expect_errors):
    """Every flow, each outcome a known number of times, on new connections that reach
    the three worker processes; then every counter must have moved by exactly that."""
    expect_errors(C.AUTHZ_FAILURE_LOG)
    before = scrape(server)
    log_from = pid_log_size(server)

    # A: a link, confirmed in its own browser; the protected page three times; a replay;
    # a location whose Require line refuses A.
    a, a_addr = Browser(server), unique_email()
    mail_a, _ = a.sign_in(a_addr)
    for _ in range(3):
        expect(a.private(), C.OK, C.TEXT_SECRET_PAGE)
    expect(a.get(C.VERIFY + mail_a.token, headers={"Accept": "text/html"}), C.LINK_USED,
           C.TEXT_USED)                                  # the page says so: not counted
    expect(a.post(C.VERIFY + mail_a.token, data={C.CSRF_FIELD: a.login().csrf}),
           C.LINK_USED, C.TEXT_USED)                     # the button: a confirmation
    expect(a.private("/friend/"), C.AUTHZ_DENIED)

    # B: a link opened in another browser, then the code typed in the waiting tab (one
    # wrong, then right); a copy of the session kept, then B signs out.
    b, b_addr = Browser(server), unique_email()
    waiting = b.request_link(b_addr)
    mail_b = server.mailbox.take(b_addr)
    other = elsewhere = Browser(server)
    expect(other.get(C.VERIFY + mail_b.token, headers={"Accept": "text/html"}),
           C.OK)                                          # the approval page: not counted
    expect(other.post(C.VERIFY + mail_b.token, data={C.CSRF_FIELD: other.login().csrf}),
           C.LINK_OTHER_BROWSER, C.TEXT_OTHER_BROWSER)   # the button: counted
    expect(b.enter_code(waiting, wrong(mail_b.code)), C.WRONG_CODE)
    expect(b.enter_code(waiting, mail_b.code), C.SIGNED_IN)
    stolen = b.copy()
    expect(b.post(C.LOGOUT, data={C.CSRF_FIELD: b.login().csrf}), C.LOGGED_OUT)
    expect(stolen.private(), C.LOGIN_REDIRECT)

    # D: the per-address limit is 2: two links, the third request throttled; then the
    # code of the second link mistyped five times, and the sixth try locked out.
    d, d_addr = Browser(server), unique_email()
    d.request_link(d_addr)
    server.mailbox.take(d_addr)
    waiting_d = d.request_link(d_addr)
    mail_d = server.mailbox.take(d_addr)
    expect(d.generate({C.CSRF_FIELD: d.login().csrf, "email": d_addr}), C.THROTTLED)
    for _ in range(C.CODE_TRIES):
        expect(d.enter_code(waiting_d, wrong(mail_d.code)), C.WRONG_CODE)
    expect(d.enter_code(waiting_d, mail_d.code), C.CODE_TRIES_EXHAUSTED)

    # E: the refusals.
    e = Browser(server)
    csrf = e.login().csrf
    expect(e.generate({C.CSRF_FIELD: "not-the-token", "email": unique_email()}), C.CSRF_FAILED)
    expect(e.generate({C.CSRF_FIELD: csrf, "email": "not an address"}), C.BAD_REQUEST)
    expect(e.generate({C.CSRF_FIELD: csrf, "email": "nobody@nowhere.example"}), C.OK)
    expect(e.post(C.VERIFY + "garbage", data={C.CSRF_FIELD: csrf}), C.LINK_INVALID)
    expect(e.post(C.VERIFY + mail_a.token, data={C.CSRF_FIELD: "wrong"}), C.CSRF_FAILED)
    expect(e.post(C.CODE, data={C.CSRF_FIELD: csrf, "pending": "garbage", "code": "123456"}),
           C.PENDING_INVALID)
    expect(e.private(), C.LOGIN_REDIRECT)
    expect(with_cookie(server, "garbage"), C.LOGIN_REDIRECT)
    expect(with_cookie(server, expired_session(server, a)), C.LOGIN_REDIRECT)

    # F: a link that expired (in the store) before its button was pressed.
    f, f_addr = Browser(server), unique_email()
    expect(f.post(SHORT + "/generate", data={C.CSRF_FIELD: f.login().csrf, "email": f_addr}),
           C.OK, C.TEXT_CHECK_EMAIL)
    mail_f = server.mailbox.take(f_addr)
    assert mail_f.link.startswith(server.url(SHORT + "/verify/")), mail_f.link
    wait_past_expiry(server, mail_f.token)
    expect(f.get(SHORT + "/verify/" + mail_f.token, headers={"Accept": "text/html"}),
           C.LINK_EXPIRED, C.TEXT_EXPIRED)               # the page: not counted
    expect(f.post(SHORT + "/verify/" + mail_f.token, data={C.CSRF_FIELD: f.login().csrf}),
           C.LINK_EXPIRED, C.TEXT_EXPIRED)               # the button: counted

    after = settle(server, before, 5)
    assert moved(before, after) == {
        key("magiclink_link_requests_total", outcome="mailed"): 5,
        key("magiclink_link_requests_total", outcome="throttled"): 1,
        key("magiclink_link_requests_total", outcome="csrf"): 1,
        key("magiclink_link_requests_total", outcome="invalid"): 1,
        key("magiclink_link_requests_total", outcome="not_allowed"): 1,
        key("magiclink_confirmations_total", outcome="signed_in"): 1,
        key("magiclink_confirmations_total", outcome="used"): 1,
        key("magiclink_confirmations_total", outcome="other_browser"): 1,
        key("magiclink_confirmations_total", outcome="invalid"): 1,
        key("magiclink_confirmations_total", outcome="csrf"): 1,
        key("magiclink_confirmations_total", outcome="expired"): 1,
        key("magiclink_code_attempts_total", outcome="wrong"): 1 + C.CODE_TRIES,
        key("magiclink_code_attempts_total", outcome="right"): 1,
        key("magiclink_code_attempts_total", outcome="locked"): 1,
        key("magiclink_code_attempts_total", outcome="invalid"): 1,
        key("magiclink_sign_ins_total", method="link"): 1,
        key("magiclink_sign_ins_total", method="code"): 1,
        key("magiclink_sign_outs_total", scope="everywhere"): 1,
        key("magiclink_gated_requests_total", outcome="admitted"): 3,
        key("magiclink_gated_requests_total", outcome="not_allowed"): 1,
        key("magiclink_gated_requests_total", outcome="revoked"): 1,
        key("magiclink_gated_requests_total", outcome="no_session"): 2,
        key("magiclink_gated_requests_total", outcome="expired"): 1,
        key("magiclink_mail_deliveries_total", transport="maildir", result="ok"): 5,
    }
    hist = "magiclink_mail_delivery_seconds_count"
    assert after[key(hist, transport="maildir")] - before[key(hist, transport="maildir")] == 5
    ops = key(STORE_OPS, result="ok"), key(STORE_OPS, result="failed")
    assert after[ops[0]] > before[ops[0]] and after[ops[1]] == before[ops[1]]
    # Every thread's first operation and one in 16 after it are timed.
    timed = key("magiclink_store_operation_seconds_count", result="ok")
    assert 0 < after[timed] <= after[ops[0]]
    assert after[key("magiclink_mail_last_delivery_ok")] == 1
    pids = pids_since(server, log_from)
    assert len(pids) >= 2, f"every request of the run went to one process ({pids})"
    print(f"run served by {len(pids)} processes: {sorted(pids)}")


def test_every_child_reads_the_same_figures(server):
    """Scrapes on new connections reach several processes; all show the same counters:
    the one event caused in one of them, exactly, and store operations that only grow
    from scrape to scrape (the deliverers of every process add to one figure)."""
    prior = scrape(server)
    expect(Browser(server).private(), C.LOGIN_REDIRECT)
    log_from = pid_log_size(server)
    seen = [scrape(server) for _ in range(9)]
    for s in seen:
        assert moved(prior, s) == {
            key("magiclink_gated_requests_total", outcome="no_session"): 1}
    assert all(event_counters(s) == event_counters(seen[0]) for s in seen), \
        "scrapes from different children disagree"
    ops = [store_ops(s) for s in [prior] + seen]
    assert ops == sorted(ops), f"store operations went back between scrapes: {ops}"
    assert {store_ops(s, "failed") for s in seen} == {store_ops(prior, "failed")}
    assert len(pids_since(server, log_from)) >= 2, "every scrape went to one process"


# ---------------------------------------------------------------- mod_status

def test_server_status_auto_carries_the_section(server, unique_email):
    browser, addr, prior = Browser(server), unique_email(), scrape(server)
    browser.request_link(addr)
    server.mailbox.take(addr)
    samples = settle(server, prior, 1)
    r = expect(fetch(server, STATUS + "?auto"), C.OK)
    auto = dict(line.split(": ", 1) for line in r.text.splitlines() if ": " in line)
    mailed = samples[key("magiclink_link_requests_total", outcome="mailed")]
    assert int(auto["magiclink_link_requests_mailed"]) == mailed >= 1, r.text
    assert int(auto["magiclink_mail_deliveries_maildir_ok"]) >= 1
    assert auto["magiclink_store_up"] == "1"
    assert auto["magiclink_version"] == dict(
        next(k for k in samples if k[0] == "magiclink_build_info")[1])["version"]
    assert "magiclink_store_operation_seconds_ok_count" in auto
    assert not [k for k in auto if k.endswith("_bucket") or "_le_" in k]


def test_server_status_html_has_a_mod_magiclink_section(server):
    r = expect(fetch(server, STATUS), C.OK)
    assert re.search(r"<h2>mod_magiclink [^<]+</h2>", r.text), r.text[-2000:]
    assert "magiclink_gated_requests_total{outcome=&quot;admitted&quot;}" in r.text


def test_without_extended_status_there_is_no_section(httpd_factory):
    srv = httpd_factory("no-extended", ml_httpd.Config(server_conf=f"""
{STATUS_MODULE}
ExtendedStatus Off
<Location {STATUS}>
    SetHandler server-status
</Location>
"""))
    r = expect(Browser(srv).get(STATUS + "?auto"), C.OK)
    assert "Total Accesses" not in r.text and "magiclink_" not in r.text, r.text


# ---------------------------------------------------------------- health

def test_health_is_ok_when_the_store_answers_and_no_delivery_failed(server):
    r = expect(fetch(server, HEALTH), C.OK)
    assert r.text == "ok\n" and r.headers["Content-Type"].startswith("text/plain")
    assert r.headers.get("Cache-Control") == "no-store"


def log_lines(server, since, tag, addr):
    """The error-log lines tagged `tag` about `addr`, after byte `since`."""
    with open(server.error_log, "rb") as f:
        f.seek(since)
        text = f.read().decode(errors="replace")
    return [ln for ln in text.splitlines() if f"{tag}:" in ln and f"email={addr} " in ln]


def test_health_is_503_after_a_failed_delivery_and_ok_after_the_next(server, unique_email):
    """A maildir the children cannot write to: the delivery fails (counted, the page is
    the same, the mail stays in the outbox), health says why; once the directory is
    writable again the outbox's retry delivers that very mail, the next request's mail
    goes too, and health is ok. Each failed try is one MAGICLINK-141 line (a warning),
    so the failures are counted exactly however many tries fell in the outage."""
    tmp = server.maildir / "tmp"
    before = scrape(server)
    since = server.error_log_size()
    stuck = unique_email()
    tmp.chmod(0o500)
    try:
        Browser(server).request_link(stuck)
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while delivered(scrape(server), result="failed") == delivered(before, result="failed"):
            assert time.monotonic() < deadline, "the failed delivery was not counted"
            time.sleep(ml_httpd.POLL)
        r = expect(fetch(server, HEALTH), 503)
        assert r.text == "last mail delivery failed (maildir)\n"
        assert scrape(server)[key("magiclink_mail_last_delivery_ok")] == 0
    finally:
        tmp.chmod(0o755)
    # Retried 2, 4, 8 ... s after each failure (ml_outbox_next_try): bounded wait.
    server.mailbox.take(stuck, timeout=RETRY_TIMEOUT)
    addr = unique_email()
    Browser(server).request_link(addr)
    server.mailbox.take(addr)
    after = settle(server, before, 2)
    tries = len(log_lines(server, since, "MAGICLINK-141", stuck))
    assert tries >= 1
    assert len(log_lines(server, since, "MAGICLINK-140", stuck)) == 1
    assert moved(before, after) == {
        key("magiclink_link_requests_total", outcome="mailed"): 2,
        key("magiclink_mail_deliveries_total", transport="maildir", result="failed"): tries,
        key("magiclink_mail_deliveries_total", transport="maildir", result="ok"): 2,
    }
    expect(fetch(server, HEALTH), C.OK)
    assert after[key("magiclink_mail_last_delivery_ok")] == 1


# ---------------------------------------------------------------- the store goes away

OUTAGE_LINES = [r"MAGICLINK-015: MagicLinkCache redis:\S+ is failing"]
RECOVERY_TIMEOUT = 30.0   # bound for every process to find the store again
RECOVERED_RUN = 6         # health answers in a row that show every process is back


@pytest.fixture(scope="module")
def redis_pair(lab, httpd_factory, cache_factory):
    """A server on a real redis (MagicLinkCache redis:...), and that redis."""
    lab.expected.extend(OUTAGE_LINES)
    store = cache_factory("redis", "redis-metrics")
    srv = httpd_factory("redis", ml_httpd.Config(server_conf=store.httpd_conf() + f"""
<Location {METRICS}>
    SetHandler magiclink-metrics
    Require ip 127.0.0.1
</Location>
"""))
    return srv, store


def test_health_follows_the_store_down_and_back_without_a_restart(redis_pair, unique_email):
    srv, store = redis_pair
    parent = srv.proc.pid
    user = Browser(srv)
    user.sign_in(unique_email())
    expect(fetch(srv, HEALTH), C.OK)
    before = scrape(srv)
    store.stop()
    try:
        r = expect(fetch(srv, HEALTH), 503)
        assert r.text == "state store not answering\n"
        expect(user.copy().private(), 503)               # MagicLinkCacheOutage Refuse
        down = scrape(srv)                               # the scrape still answers
        assert down[key("magiclink_store_up")] == 0
        failed = key(STORE_OPS, result="failed")
        assert down[failed] > before[failed]
        assert moved(before, down) == {
            key("magiclink_gated_requests_total", outcome="store_down"): 1}
    finally:
        store.start()
    deadline = time.monotonic() + RECOVERY_TIMEOUT
    in_a_row = 0
    while in_a_row < RECOVERED_RUN:     # each process finds the store again on its own
        assert time.monotonic() < deadline, f"health not back within {RECOVERY_TIMEOUT}s"
        ok = fetch(srv, HEALTH).status_code == C.OK and \
            user.copy().private().status_code == C.OK and \
            scrape(srv)[key("magiclink_store_up")] == 1
        in_a_row = in_a_row + 1 if ok else 0
        if not ok:
            time.sleep(0.2)
    assert srv.proc.pid == parent and srv.proc.poll() is None


# ---------------------------------------------------------------- restarts (last: they
# restart the module's base server)

def hup_restart(server):
    """SIGHUP to the parent (`apache2 -k restart`): the children are stopped at once, the
    parent stays and reads the configuration again."""
    since = server.error_log_size()
    server.proc.send_signal(signal.SIGHUP)
    ml_httpd.wait_for_log(server, r"SIGHUP received", since)
    ml_httpd.wait_for_log(server, server.ready_line, since)


@pytest.mark.parametrize("restart", [ml_httpd.graceful_restart, hup_restart],
                         ids=["graceful", "sighup"])
def test_a_restart_of_the_children_keeps_the_counters(server, unique_email, restart):
    browser, addr, prior = Browser(server), unique_email(), scrape(server)
    browser.request_link(addr)
    server.mailbox.take(addr)
    before = settle(server, prior, 1)
    started = before[key("magiclink_counters_start_time_seconds")]
    restart(server)
    after = scrape(server)
    assert event_counters(after) == event_counters(before)
    assert store_ops(after) >= store_ops(before)             # kept (and grown since)
    assert store_ops(after, "failed") == store_ops(before, "failed")
    assert after[key("magiclink_counters_start_time_seconds")] == started
    expect(Browser(server).private(), C.LOGIN_REDIRECT)     # and they still count
    assert moved(after, scrape(server)) == {
        key("magiclink_gated_requests_total", outcome="no_session"): 1}


def test_full_restart_starts_from_zero(server, unique_email):
    """A new shared segment: every event counter at zero, a later start time, and store
    operations counted from zero again (only the new deliverers' few since the start,
    fewer than the old generation had counted with a sign-in and its uses on top)."""
    b = Browser(server)
    b.sign_in(unique_email())
    for _ in range(60):     # a store operation or more each: well above the new start's
        expect(b.private(), C.OK)
    before = scrape(server)
    assert any(event_counters(before).values())
    started = before[key("magiclink_counters_start_time_seconds")]
    while int(time.time()) <= started:     # the start time is in whole seconds
        time.sleep(ml_httpd.POLL)
    ml_httpd.full_restart(server)
    after = scrape(server)
    assert not any(event_counters(after).values()), \
        {k: v for k, v in event_counters(after).items() if v}
    assert after[key("magiclink_counters_start_time_seconds")] > started
    assert store_ops(after, "failed") == 0
    print(f"store operations: {store_ops(before)} before, {store_ops(after)} after")
    assert store_ops(after) < store_ops(before), (store_ops(after), store_ops(before))
