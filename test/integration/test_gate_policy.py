"""Issue 14 through a real httpd: the policy asked at every gated request (allow files
re-read at run time, per-location lists that narrow, never from .htaccess), one
identity per mailbox, sessions bound to their realm, cookies a sibling cannot toss,
cross-origin POSTs, hostile claims, and Cache-Control on what the gate admits.

Sessions are real sign-ins where the flow matters, else minted with the admin CLI
(`magiclink seal`, the server's own key), as a backend holding the keys could."""
import http.client
import os
import re
import time

import pytest
import requests

import ml_contract as C
import ml_httpd
from ml_client import Browser, describe, expect, set_cookies

# The promise: a change to an allow file holds within 2 s. The poll allows one more
# second for a loaded machine to schedule the request; it is a bound, not a measure.
POLICY_PROMISE = 2.0
POLICY_POLL_BOUND = POLICY_PROMISE + 1.0
ABOVE_INFO = re.compile(r"^\[[^\]]*\] \[(?:[^\]:]*:)?(warn|error|crit|alert|emerg)\]", re.M)


def call(server, path, cookie=None, accept="application/json", method="GET", headers=None,
         cookie_name=C.SESSION_COOKIE):
    h = {"Accept": accept}
    if cookie is not None:
        h["Cookie"] = f"{cookie_name}={cookie}"
    h.update(headers or {})
    return requests.request(method, server.url(path), headers=h, allow_redirects=False,
                            timeout=30)


def refused(r):
    """No session: 302 to the login page for a navigation, else 401."""
    want = C.LOGIN_REDIRECT if "text/html" in r.request.headers.get("Accept", "") \
        else C.UNAUTHORIZED
    return expect(r, want)


def raw(server, method, path, headers, body=None):
    """One request with exactly these header lines (repeated names kept)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in headers:
            conn.putheader(k, v)
        if body is not None:
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body.encode() if body is not None else None)
        resp = conn.getresponse()
        return resp.status, resp.getheaders(), resp.read().decode("utf-8", "replace")
    finally:
        conn.close()


def settle(since):
    """Waits until POLICY_POLL_BOUND has passed since `since` (time.monotonic()): from
    then on every process of the server must have seen a change made at `since`."""
    left = since + POLICY_POLL_BOUND - time.monotonic()
    if left > 0:
        time.sleep(left)


def poll_until(check, bound):
    """Calls check() until it is true or `bound` seconds have passed; returns the
    seconds it took, or None."""
    t0 = time.monotonic()
    while True:
        if check():
            return time.monotonic() - t0
        if time.monotonic() - t0 > bound:
            return None
        time.sleep(0.05)


def write_atomically(path, text):
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)


def log_since(server, offset):
    return ml_httpd.error_log_since(server, offset)


# ---------------------------------------------------------------- allow files at run time

ALLOW = "keep@example.com\ngone@example.com\n@team.example\n"


@pytest.fixture(scope="module")
def filesrv(httpd_factory):
    return httpd_factory("allowfile", ml_httpd.Config(
        allow=(), files={"allow.txt": ALLOW},
        server_conf='MagicLinkAllowFile "{dir}/allow.txt"'))


def allow_path(srv):
    return str(srv.dir / "allow.txt")


def test_address_removed_from_the_allow_file_is_refused_within_two_seconds(filesrv):
    b = Browser(filesrv)
    b.sign_in("gone@example.com")
    expect(b.private(), C.OK, C.TEXT_SECRET_PAGE)
    keep = ml_httpd.mint_session(filesrv, "keep@example.com")
    start = filesrv.error_log_size()
    t0 = time.monotonic()
    write_atomically(allow_path(filesrv), "keep@example.com\n@team.example\n")
    took = poll_until(lambda: b.private().status_code == C.LOGIN_REDIRECT, POLICY_POLL_BOUND)
    assert took is not None, f"still admitted {POLICY_POLL_BOUND}s after the removal"
    print(f"\nremoval took effect after {took:.2f}s (promise: {POLICY_PROMISE}s)")
    # Every child process has its own copy and its own once-a-second check: past the
    # bound, none of them admits the address any more.
    settle(t0)
    for _ in range(20):
        expect(b.private(), C.LOGIN_REDIRECT)
    refused(b.private(accept="application/json"))
    expect(call(filesrv, "/private/", keep), C.OK)            # the others are unaffected
    log = log_since(filesrv, start)
    assert "MAGICLINK-200" in log and "MAGICLINK-231" in log, log
    # Back on the list: the same (unrevoked) session is admitted again.
    write_atomically(allow_path(filesrv), ALLOW)
    assert poll_until(lambda: b.private().status_code == C.OK, POLICY_POLL_BOUND) is not None


def test_a_de_listed_address_cannot_be_approved_and_nothing_is_recorded(filesrv):
    """The approval is a door too: taken off the list after its mail went out, the
    address's right number is refused, and the link stays as it was."""
    desk, phone = Browser(filesrv), Browser(filesrv)
    t0 = time.monotonic()
    write_atomically(allow_path(filesrv), ALLOW)     # every process on the full list
    settle(t0)
    page = desk.request_link("gone@example.com")
    mail = filesrv.mailbox.take("gone@example.com")
    number = re.search(r'class="number"[^>]*>(\d{2})<', page.response.text).group(1)
    t0 = time.monotonic()
    write_atomically(allow_path(filesrv), "keep@example.com\n@team.example\n")
    settle(t0)
    offer = expect(phone.get(C.VERIFY + mail.token, headers={"Accept": "text/html"}),
                   C.APPROVAL_OFFER, C.TEXT_APPROVE)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', offer.text).group(1)
    r = phone.post(C.APPROVE + mail.token,
                   data={"csrf_token": csrf, "decision": "approve", "number": number})
    assert r.status_code == 403, describe(r)
    assert filesrv.link_info(mail.token)["state"] == "open"


def test_a_domain_entry_and_an_in_place_rewrite(filesrv):
    t = ml_httpd.mint_session(filesrv, "anyone@team.example")
    expect(call(filesrv, "/private/", t), C.OK)
    # Rewritten in place (same inode, as an editor without backup files does).
    with open(allow_path(filesrv), "w") as f:
        f.write("keep@example.com\ngone@example.com\n@other.example\n")
    assert poll_until(lambda: call(filesrv, "/private/", t).status_code == C.UNAUTHORIZED,
                      POLICY_POLL_BOUND) is not None
    write_atomically(allow_path(filesrv), ALLOW)
    assert poll_until(lambda: call(filesrv, "/private/", t).status_code == C.OK,
                      POLICY_POLL_BOUND) is not None


def test_a_broken_allow_file_admits_nobody_from_it_and_is_logged_once(filesrv, expect_errors):
    expect_errors(r"MAGICLINK-201")
    keep = ml_httpd.mint_session(filesrv, "keep@example.com")
    start = filesrv.error_log_size()
    t0 = time.monotonic()
    write_atomically(allow_path(filesrv), "keep@example.com\nnot an entry\n")
    assert poll_until(lambda: call(filesrv, "/private/", keep).status_code == C.UNAUTHORIZED,
                      POLICY_POLL_BOUND) is not None
    settle(t0)
    for _ in range(40):                                       # many requests, ...
        expect(call(filesrv, "/private/", keep), C.UNAUTHORIZED)
    # ... no new link either: the page is the same, no mail goes out.
    Browser(filesrv).request_link("keep@example.com")
    lines = ml_httpd.log_pids(log_since(filesrv, start), r"MAGICLINK-201")
    pids = [pid for pid, _ in lines]
    assert lines and len(pids) == len(set(pids)), \
        f"one line per process and change of state, got:\n" + "\n".join(l for _, l in lines)
    assert "line 2" in lines[0][1], lines[0][1]
    # Unreadable to the server (mode 000), then gone: nobody, still.
    os.chmod(allow_path(filesrv), 0o644)
    write_atomically(allow_path(filesrv), ALLOW)
    assert poll_until(lambda: call(filesrv, "/private/", keep).status_code == C.OK,
                      POLICY_POLL_BOUND) is not None
    t0 = time.monotonic()
    os.chmod(allow_path(filesrv), 0)
    assert poll_until(lambda: call(filesrv, "/private/", keep).status_code == C.UNAUTHORIZED,
                      POLICY_POLL_BOUND) is not None
    settle(t0)
    expect(call(filesrv, "/private/", keep), C.UNAUTHORIZED)
    t0 = time.monotonic()
    os.unlink(allow_path(filesrv))
    settle(t0)
    for _ in range(10):
        expect(call(filesrv, "/private/", keep), C.UNAUTHORIZED)
    write_atomically(allow_path(filesrv), ALLOW)
    assert poll_until(lambda: call(filesrv, "/private/", keep).status_code == C.OK,
                      POLICY_POLL_BOUND) is not None
    assert filesrv.mailbox.take_all("keep@example.com") == []


# ---------------------------------------------------------------- per-location lists

NARROW = ml_httpd.Config(
    server_conf="""
<Location /narrow>
    AuthType MagicLink
    Require valid-user
    MagicLinkAllow boss@example.com outsider@evil.example
</Location>
<Location /narrow/inner>
    MagicLinkAllow other@example.com boss@example.com
</Location>
<Location /dirnarrow>
    AuthType MagicLink
    Require valid-user
</Location>
<Directory "{dir}/htdocs/dirnarrow">
    MagicLinkAllow @other.org
</Directory>
<Directory "{dir}/htdocs/htallow">
    AllowOverride AuthConfig
</Directory>
""",
    files={"htdocs/narrow/page.txt": "narrow page\n",
           "htdocs/narrow/inner/page.txt": "inner page\n",
           "htdocs/dirnarrow/page.txt": "dir page\n",
           "htdocs/htallow/page.txt": "ht page\n",
           "htdocs/htallow/.htaccess": "AuthType MagicLink\nRequire valid-user\n"
                                       "MagicLinkAllow *\n"})


@pytest.fixture(scope="module")
def narrow(httpd_factory):
    return httpd_factory("narrow", NARROW)


@pytest.mark.parametrize("addr, private, narrow_ok, inner_ok, dir_ok", [
    ("boss@example.com", True, True, True, False),
    ("anyone@example.com", True, False, False, False),
    ("other@example.com", True, False, False, False),
    ("outsider@evil.example", False, False, False, False),   # a section never widens
    ("friend@other.org", True, False, False, True),
])
def test_a_location_list_narrows_the_server_list(narrow, addr, private, narrow_ok, inner_ok,
                                                 dir_ok):
    s = ml_httpd.mint_session(narrow, addr)
    for path, ok, text in (("/private/", private, C.TEXT_SECRET_PAGE),
                           ("/narrow/page.txt", narrow_ok, "narrow page"),
                           ("/narrow/inner/page.txt", inner_ok, "inner page"),
                           ("/dirnarrow/page.txt", dir_ok, "dir page")):
        r = call(narrow, path, s)
        if ok:
            expect(r, C.OK, text)
        else:
            refused(r)
            assert text not in r.text


def test_a_real_sign_in_reaches_only_the_locations_that_admit_it(narrow):
    boss, clerk = Browser(narrow), Browser(narrow)
    boss.sign_in("boss@example.com")
    clerk.sign_in("clerk@example.com")
    expect(boss.private("/narrow/page.txt"), C.OK, "narrow page")
    expect(clerk.private("/private/"), C.OK, C.TEXT_SECRET_PAGE)
    expect(clerk.private("/narrow/page.txt"), C.LOGIN_REDIRECT)


def test_allow_in_htaccess_is_refused_not_ignored(narrow, expect_errors):
    expect_errors(r"MagicLinkAllow not allowed here|\.htaccess")
    r = call(narrow, "/htallow/page.txt", ml_httpd.mint_session(narrow, "a@example.com"))
    assert r.status_code == 500 and "ht page" not in r.text, describe(r)
    assert "MagicLinkAllow not allowed here" in narrow.error_log_text()


# ---------------------------------------------------------------- one identity per mailbox

@pytest.fixture(scope="module")
def limited(httpd_factory):
    return httpd_factory("case-limit", ml_httpd.Config(
        rate_limits=("email 3 3600", "ip 100000 3600", "domain 100000 3600")))


def test_case_variants_share_one_rate_limit(limited):
    b = Browser(limited)
    for variant in ("Case.Var@Example.com", "case.var@example.com", "CASE.VAR@EXAMPLE.COM"):
        expect(b.generate({C.CSRF_FIELD: b.login().csrf, "email": variant}), C.OK)
    r = b.generate({C.CSRF_FIELD: b.login().csrf, "email": "cAsE.vAr@eXaMpLe.CoM"})
    expect(r, C.THROTTLED)
    # Delivery is in the background: wait for each of the three, then no fourth.
    mails = [limited.mailbox.take("case.var@example.com") for _ in range(3)]
    assert all(m.to == ["case.var@example.com"] for m in mails), [m.to for m in mails]
    b.assert_no_mail("case.var@example.com")


def test_case_variants_are_signed_out_together(server, new_browser):
    a, b = new_browser(), new_browser()
    a.sign_in("Mixed.Case@Example.com")
    b.sign_in("mixed.case@EXAMPLE.com")
    for br in (a, b):
        claims = ml_httpd.open_sealed(server.keyfile, C.SESSION_COOKIE,
                                      br.cookie(C.SESSION_COOKIE))
        assert claims["email"] == "mixed.case@example.com", claims
        expect(br.private(), C.OK, C.TEXT_SECRET_PAGE)
    expect(a.post(C.LOGOUT, data={C.CSRF_FIELD: a.login().csrf, "scope": "everywhere"}),
           C.LOGGED_OUT)
    expect(b.private(), C.LOGIN_REDIRECT)


# ---------------------------------------------------------------- realms

VHOST = """
Listen 127.0.0.1:{port2}
<VirtualHost 127.0.0.1:{port2}>
    ServerName 127.0.0.1
    MagicLinkBaseURL http://127.0.0.1:{port2}
    %s
</VirtualHost>
"""


def other_port(srv, path):
    return f"http://127.0.0.1:{srv.port2}{path}"


@pytest.fixture(scope="module")
def twohosts(httpd_factory):
    """One httpd, one key file, two hosts (ports): realms are their origins."""
    return httpd_factory("realms", ml_httpd.Config(server_conf=VHOST % ""))


@pytest.fixture(scope="module")
def shared(httpd_factory):
    return httpd_factory("shared-realm", ml_httpd.Config(
        server_conf="MagicLinkRealm example-sites\n" + VHOST % "MagicLinkRealm example-sites"))


def test_a_session_of_one_host_is_no_session_at_another(twohosts):
    a = Browser(twohosts)
    a.sign_in("realm@example.com")
    cookie = a.cookie(C.SESSION_COOKIE)
    assert ml_httpd.open_sealed(twohosts.keyfile, C.SESSION_COOKIE, cookie)["aud"] \
        == twohosts.base
    expect(a.private(), C.OK, C.TEXT_SECRET_PAGE)
    # Browsers send a host's cookies to its other ports: the realm keeps them apart.
    r = requests.get(other_port(twohosts, "/private/"), allow_redirects=False, timeout=30,
                     headers={"Accept": "application/json",
                              "Cookie": f"{C.SESSION_COOKIE}={cookie}"})
    expect(r, C.UNAUTHORIZED)
    other = ml_httpd.mint_session(twohosts, "realm@example.com",
                                  realm=f"http://127.0.0.1:{twohosts.port2}")
    r = requests.get(other_port(twohosts, "/private/"), allow_redirects=False, timeout=30,
                     headers={"Accept": "application/json",
                              "Cookie": f"{C.SESSION_COOKIE}={other}"})
    expect(r, C.OK, C.TEXT_SECRET_PAGE)
    refused(call(twohosts, "/private/", other))
    assert "MAGICLINK-223" in twohosts.error_log_text()       # said at start-up


def test_a_named_realm_shares_sessions_on_purpose(shared):
    s = ml_httpd.mint_session(shared, "realm@example.com", realm="example-sites")
    expect(call(shared, "/private/", s), C.OK)
    r = requests.get(other_port(shared, "/private/"), allow_redirects=False, timeout=30,
                     headers={"Accept": "application/json",
                              "Cookie": f"{C.SESSION_COOKIE}={s}"})
    expect(r, C.OK, C.TEXT_SECRET_PAGE)
    refused(call(shared, "/private/", ml_httpd.mint_session(shared, "realm@example.com")))


# ---------------------------------------------------------------- cookies a sibling cannot toss

def test_two_binding_cookies_are_none(server, new_browser):
    a, b = new_browser(), new_browser()
    csrf = a.login().csrf
    b.login()
    mine, theirs = a.cookie(C.BIND_COOKIE), b.cookie(C.BIND_COOKIE)
    body = f"{C.CSRF_FIELD}={csrf}&email=toss%40example.com"
    form = ("Content-Type", "application/x-www-form-urlencoded")
    status, _, _ = raw(server, "POST", C.GENERATE,
                       [form, ("Cookie", f"{C.BIND_COOKIE}={mine}")], body)
    assert status == C.OK
    for cookies in ([("Cookie", f"{C.BIND_COOKIE}={theirs}; {C.BIND_COOKIE}={mine}")],
                    [("Cookie", f"{C.BIND_COOKIE}={mine}; {C.BIND_COOKIE}={theirs}")],
                    [("Cookie", f"{C.BIND_COOKIE}={mine}; {C.BIND_COOKIE}={mine}")],
                    [("Cookie", f"{C.BIND_COOKIE}={mine}"),
                     ("Cookie", f"other=1; {C.BIND_COOKIE}={theirs}")]):
        status, _, text = raw(server, "POST", C.GENERATE, [form] + cookies, body)
        assert status == C.CSRF_FAILED, (cookies, status, text[:300])
    server.mailbox.take("toss@example.com")


def test_two_session_cookies_are_none(server, new_browser, unique_email):
    a, b = new_browser(), new_browser()
    a.sign_in(unique_email())
    b.sign_in(unique_email())
    sa, sb = a.cookie(C.SESSION_COOKIE), b.cookie(C.SESSION_COOKIE)
    ok = [("Accept", "application/json"), ("Cookie", f"{C.SESSION_COOKIE}={sa}")]
    assert raw(server, "GET", "/private/", ok)[0] == C.OK
    for cookies in ([("Cookie", f"{C.SESSION_COOKIE}={sb}; {C.SESSION_COOKIE}={sa}")],
                    [("Cookie", f"{C.SESSION_COOKIE}={sa};{C.SESSION_COOKIE}={sa}")],
                    [("Cookie", f"{C.SESSION_COOKIE}={sa}"),
                     ("Cookie", f"{C.SESSION_COOKIE}={sb}")]):
        status, _, _ = raw(server, "GET", "/private/",
                           [("Accept", "application/json")] + cookies)
        assert status == C.UNAUTHORIZED, cookies


@pytest.mark.parametrize("headers, status", [
    ({"Origin": "https://evil.example"}, C.CSRF_FAILED),
    ({"Origin": "null"}, C.CSRF_FAILED),
    ({"Origin": "null", "Sec-Fetch-Site": "cross-site"}, C.CSRF_FAILED),
    # What a browser sends for a page under Referrer-Policy: no-referrer: believed
    # only with its own word that the request is same-origin.
    ({"Origin": "null", "Sec-Fetch-Site": "same-origin"}, C.OK),
    ({"Origin": "http://127.0.0.1:1"}, C.CSRF_FAILED),
    ({"Origin": "http://localhost:{port}"}, C.CSRF_FAILED),
    ({"Origin": "http://127.0.0.1:{port}/x"}, C.CSRF_FAILED),
    ({"Sec-Fetch-Site": "cross-site"}, C.CSRF_FAILED),
    ({"Sec-Fetch-Site": "same-site"}, C.CSRF_FAILED),
    ({"Sec-Fetch-Site": "same-site", "Origin": "http://127.0.0.1:{port}"}, C.CSRF_FAILED),
    ({"Origin": "http://127.0.0.1:{port}"}, C.OK),
    ({"Origin": "HTTP://127.0.0.1:{port}", "Sec-Fetch-Site": "same-origin"}, C.OK),
    ({"Sec-Fetch-Site": "none"}, C.OK),
    ({}, C.OK),
], ids=lambda v: repr(v) if isinstance(v, dict) else str(v))
def test_post_from_elsewhere_is_refused(server, browser, unique_email, headers, status):
    h = {k: v.replace("{port}", str(server.port)) for k, v in headers.items()}
    addr = unique_email()
    r = browser.generate({C.CSRF_FIELD: browser.login().csrf, "email": addr}, headers=h)
    expect(r, status)
    if status == C.OK:
        server.mailbox.take(addr)
    else:
        browser.assert_no_mail(addr)


def test_sign_out_from_elsewhere_is_refused(server, browser, unique_email):
    browser.sign_in(unique_email())
    csrf = browser.login().csrf
    for h in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
        expect(browser.post(C.LOGOUT, data={C.CSRF_FIELD: csrf}, headers=h), C.CSRF_FAILED)
    expect(browser.private(), C.OK, C.TEXT_SECRET_PAGE)


@pytest.fixture(scope="module")
def securesrv(httpd_factory):
    return httpd_factory("secure-names", ml_httpd.Config(
        server_conf="MagicLinkCookieSecure On"))


def test_secure_cookies_are_host_cookies_and_plain_names_are_ignored(securesrv):
    host = C.HOST_PREFIX + C.SESSION_COOKIE
    r = requests.get(securesrv.url(C.LOGIN), timeout=30, headers={"Accept": "text/html"})
    cookies = set_cookies(r)
    assert set(cookies) == {C.HOST_PREFIX + C.BIND_COOKIE}, cookies
    s = ml_httpd.mint_session(securesrv, "host@example.com")
    expect(call(securesrv, "/private/", s, cookie_name=host), C.OK)
    # What a sibling host can set (no prefix, any Domain) is not ours.
    refused(call(securesrv, "/private/", s))
    other = ml_httpd.mint_session(securesrv, "other@example.com")
    status, _, _ = raw(securesrv, "GET", "/private/",
                       [("Accept", "application/json"),
                        ("Cookie", f"{host}={s}; {host}={other}")])
    assert status == C.UNAUTHORIZED


# ---------------------------------------------------------------- hostile claims

def hostile(server):
    now = int(time.time())
    good = {"email": "hostile@example.com", "iat": str(now), "seen": str(now),
            "aud": server.base}
    big = "a" * 2000 + "@example.com"      # sealed, still within 4096 bytes
    return {
        "CRLF in email": {**good, "email": "hostile@example.com\r\nX-Evil: 1"},
        "LF in email": {**good, "email": "hostile@example.com\n"},
        "upper-case email": {**good, "email": "Hostile@Example.com"},
        "percent-routed email": {**good, "email": "a%evil.example@example.com"},
        "2 KB email": {**good, "email": big},
        "huge iat": {**good, "iat": "99999999999999999999"},
        "iat 2^40": {**good, "iat": str(1 << 40)},
        "negative iat": {**good, "iat": "-1"},
        "future seen": {**good, "seen": str(now + 3600)},
        "iat with a sign": {**good, "iat": "+" + str(now)},
        "no aud": {k: v for k, v in good.items() if k != "aud"},
        "other aud": {**good, "aud": "https://other.example"},
        "aud with a space": {**good, "aud": server.base + " x"},
        "extra claim": {**good, "role": "admin"},
    }


def test_sealed_sessions_with_hostile_claims_are_refused(server):
    cases = hostile(server)
    # The control: the same claims, good, open.
    now = int(time.time())
    good = ml_httpd.seal(server.keyfile, C.SESSION_COOKIE,
                         {"email": "hostile@example.com", "iat": str(now), "seen": str(now),
                          "aud": server.base})
    expect(call(server, "/private/", good), C.OK)
    start = server.error_log_size()
    for name, claims in cases.items():
        value = ml_httpd.seal(server.keyfile, C.SESSION_COOKIE, claims)
        for accept in ("text/html", "application/json"):
            r = call(server, "/private/", value, accept=accept)
            assert r.status_code in (C.LOGIN_REDIRECT, C.UNAUTHORIZED) \
                and C.TEXT_SECRET_PAGE not in r.text, f"{name}: {describe(r)}"
            refused(r)
    log = log_since(server, start)
    assert len(re.findall(r"MAGICLINK-230", log)) >= len(cases), log
    assert not ABOVE_INFO.findall(log), log


def test_a_10kb_email_never_becomes_a_session(server):
    """Sealed past the codec's 4096 bytes (as a backend with the keys could): the
    cookie is refused whole, by httpd's header limit or the codec's length limit."""
    now = int(time.time())
    value = ml_httpd.seal(server.keyfile, C.SESSION_COOKIE,
                          {"email": "a" * 10240 + "@example.com", "iat": str(now),
                           "seen": str(now), "aud": server.base}, max_len=40000)
    assert len(value) > 10240
    r = call(server, "/private/", value)
    assert r.status_code in (400, C.UNAUTHORIZED) and C.TEXT_SECRET_PAGE not in r.text, \
        describe(r)


# ---------------------------------------------------------------- Cache-Control

CACHE = ml_httpd.Config(
    server_conf="""
<Location /ccpublic>
    AuthType MagicLink
    Require valid-user
    Header set Cache-Control "public, max-age=3600"
</Location>
<Location /ccoff>
    AuthType MagicLink
    Require valid-user
    MagicLinkCacheControl Off
    Header set Cache-Control "public, max-age=60"
</Location>
""",
    files={"htdocs/ccpublic/page.txt": "public page\n", "htdocs/ccoff/page.txt": "off page\n"})


@pytest.fixture(scope="module")
def cachesrv(httpd_factory):
    return httpd_factory("cache-control", CACHE)


def cache_control(srv, path, cookie):
    status, headers, _ = raw(srv, "GET", path, [("Accept", "text/html"),
                                                ("Cookie", f"{C.SESSION_COOKIE}={cookie}")])
    return status, [v for k, v in headers if k.lower() == "cache-control"]


def test_admitted_responses_are_private_and_not_stored(cachesrv):
    s = ml_httpd.mint_session(cachesrv, "cache@example.com")
    assert cache_control(cachesrv, "/private/", s) == (C.OK, ["private, no-store"])
    # A handler's own Cache-Control does not make a signed-in page public ...
    assert cache_control(cachesrv, "/ccpublic/page.txt", s) == (C.OK, ["private, no-store"])
    # ... an error page after admission is private too ...
    assert cache_control(cachesrv, "/private/no-such-page", s) == (C.NOT_FOUND,
                                                                  ["private, no-store"])
    # ... and MagicLinkCacheControl Off leaves a public asset's header alone.
    assert cache_control(cachesrv, "/ccoff/page.txt", s) == (C.OK, ["public, max-age=60"])
