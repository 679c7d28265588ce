"""GET /magic/session (issue 20): the signed-in browser's session as JSON, `{}` with 401
otherwise; never cached, never renewing; same origin only unless MagicLinkCORSOrigin
lists an origin, which then gets credentialed CORS answers and preflights."""
import time

import pytest
import requests

import ml_contract as C
import ml_httpd
from ml_client import allowed, describe, expect

SESSION = "/magic/session"
APP = "https://app.example.com"
EVIL = "https://evil.example"
REALM = "Example Realm"

HTTPD_CONFIG = ml_httpd.Config(magic_conf=f"""
    AuthName "{REALM}"
    MagicLinkCORSOrigin https://APP.example.com:443/ http://127.0.0.1:1
""")


def mint(server, email, iat_ago=0, seen_ago=0):
    now = int(time.time())
    claims = {"email": email, "iat": str(now - iat_ago), "seen": str(now - seen_ago),
              "aud": server.base}
    return ml_httpd.seal(server.keyfile, C.SESSION_COOKIE, claims, at=now - seen_ago), claims


def get(server, cookie=None, method="GET", headers=None):
    h = dict(headers or {})
    if cookie is not None:
        h["Cookie"] = f"{C.SESSION_COOKIE}={cookie}"
    return requests.request(method, server.url(SESSION), headers=h, allow_redirects=False,
                            timeout=30)


def cors_headers(r):
    return {k.lower(): v for k, v in r.headers.items() if k.lower().startswith("access-control-")}


def assert_json(r, status):
    expect(r, status)
    assert r.headers["Content-Type"].startswith("application/json"), describe(r)
    assert r.headers.get("Cache-Control") == "no-store", describe(r)
    assert r.headers.get("X-Content-Type-Options") == "nosniff", describe(r)
    return r.json()


def assert_empty_401(r):
    assert assert_json(r, C.UNAUTHORIZED) == {}
    assert C.search(C.WWW_AUTHENTICATE, r.headers.get("WWW-Authenticate", "")), describe(r)
    assert not any(k.lower() == "set-cookie" for k in r.headers), describe(r)


# ---------------------------------------------------------------- signed in, signed out

def test_a_signed_in_browser_reads_its_session(server, browser, unique_email):
    addr = unique_email()
    browser.sign_in(addr)
    start = int(time.time())
    r = browser.get(SESSION)
    body = assert_json(r, C.OK)
    assert set(body) == {"email", "expires", "idle_expires", "realm"}, body
    assert body["email"] == addr and body["realm"] == REALM
    assert abs(body["expires"] - (start + 604800)) <= 10, body       # MagicLinkSessionTTL
    assert abs(body["idle_expires"] - (start + 3600)) <= 10, body    # MagicLinkSessionIdle
    assert cors_headers(r) == {}, describe(r)


def test_the_times_are_the_cookies(server):
    value, claims = mint(server, "times@example.com", iat_ago=5000, seen_ago=30)
    body = assert_json(get(server, value), C.OK)
    assert body["expires"] == int(claims["iat"]) + 604800
    assert body["idle_expires"] == int(claims["seen"]) + 3600


def test_reading_the_session_does_not_renew_it(server):
    """An idle page polling the endpoint must not keep the session alive (the gate
    re-seals after a minute; this endpoint never does)."""
    value, claims = mint(server, "idle@example.com", seen_ago=600)
    r = get(server, value)
    assert assert_json(r, C.OK)["idle_expires"] == int(claims["seen"]) + 3600
    assert "Set-Cookie" not in r.headers, describe(r)


@pytest.mark.parametrize("cookie", [None, "", "garbage", "A" * 5000])
def test_no_session_is_401_with_an_empty_object(server, cookie):
    assert_empty_401(get(server, cookie))


@pytest.mark.parametrize("iat_ago, seen_ago", [(604801, 0), (3601, 3601)],
                         ids=["past its lifetime", "idle too long"])
def test_an_expired_session_is_401(server, iat_ago, seen_ago):
    value, _ = mint(server, "old@example.com", iat_ago=iat_ago, seen_ago=seen_ago)
    assert_empty_401(get(server, value))


def test_a_session_signed_out_everywhere_is_401(server, browser, new_browser, unique_email):
    addr = unique_email()
    browser.sign_in(addr)
    copy = browser.cookie(C.SESSION_COOKIE)
    assert assert_json(get(server, copy), C.OK)["email"] == addr
    expect(browser.post(C.LOGOUT, data={C.CSRF_FIELD: browser.login().csrf,
                                        "scope": "everywhere"}), C.LOGGED_OUT)
    assert_empty_401(get(server, copy))                  # the copy elsewhere is revoked
    assert_empty_401(browser.get(SESSION))


def test_head_and_other_methods(server):
    value, _ = mint(server, "head@example.com")
    r = expect(get(server, value, method="HEAD"), C.OK)
    assert r.content == b"" and r.headers["Content-Type"].startswith("application/json")
    for method in ("POST", "PUT", "DELETE"):
        r = expect(get(server, value, method=method), C.BAD_METHOD)
        assert allowed(r) == {"GET", "HEAD", "OPTIONS"}, describe(r)


# ---------------------------------------------------------------- origins

def test_same_origin_requests_carry_no_cors_headers(server):
    value, _ = mint(server, "same@example.com")
    r = get(server, value, headers={"Origin": server.base})
    assert assert_json(r, C.OK)["email"] == "same@example.com"
    assert cors_headers(r) == {}, describe(r)
    assert "Origin" in r.headers.get("Vary", ""), describe(r)


@pytest.mark.parametrize("origin", [EVIL, "null", APP + "/", "http://app.example.com",
                                    "https://app.example.com.evil.example",
                                    "http://127.0.0.1:2"])
def test_an_unlisted_origin_is_refused_without_cors_headers(server, origin):
    value, _ = mint(server, "cross@example.com")
    for cookie in (value, None):
        r = get(server, cookie, headers={"Origin": origin})
        assert assert_json(r, C.CSRF_FAILED) == {}, describe(r)
        assert "cross@" not in r.text
        assert cors_headers(r) == {}, describe(r)
    r = get(server, None, method="OPTIONS",
            headers={"Origin": origin, "Access-Control-Request-Method": "GET"})
    expect(r, C.CSRF_FAILED)
    assert cors_headers(r) == {}, describe(r)


@pytest.mark.parametrize("origin, echoed", [(APP, APP), ("https://App.Example.COM:443", APP),
                                            ("http://127.0.0.1:1", "http://127.0.0.1:1")])
def test_a_listed_origin_reads_the_session_with_credentials(server, origin, echoed):
    value, _ = mint(server, "listed@example.com")
    r = get(server, value, headers={"Origin": origin})
    assert assert_json(r, C.OK)["email"] == "listed@example.com"
    assert cors_headers(r) == {"access-control-allow-origin": echoed,
                               "access-control-allow-credentials": "true"}, describe(r)
    assert "Origin" in r.headers.get("Vary", ""), describe(r)
    # Signed out: the listed origin can read the 401 too.
    r = get(server, None, headers={"Origin": origin})
    assert_empty_401(r)
    assert r.headers.get("Access-Control-Allow-Origin") == echoed, describe(r)


def test_a_listed_origins_preflight(server):
    r = get(server, None, method="OPTIONS",
            headers={"Origin": APP, "Access-Control-Request-Method": "GET",
                     "Access-Control-Request-Headers": "x-requested-with"})
    expect(r, 204)
    assert r.content == b""
    h = cors_headers(r)
    assert h["access-control-allow-origin"] == APP
    assert h["access-control-allow-credentials"] == "true"
    assert "GET" in h["access-control-allow-methods"].replace(" ", "").split(",")
    assert "POST" not in h["access-control-allow-methods"]
    assert h["access-control-allow-headers"] == "x-requested-with"
    assert int(h["access-control-max-age"]) > 0
    vary = [v.strip() for v in r.headers.get("Vary", "").split(",")]
    assert "Origin" in vary and "Access-Control-Request-Method" in vary, describe(r)
    assert "Set-Cookie" not in r.headers


def test_a_preflight_asking_for_odd_headers_gets_none_allowed(server):
    r = expect(get(server, None, method="OPTIONS",
                   headers={"Origin": APP, "Access-Control-Request-Method": "GET",
                            "Access-Control-Request-Headers": "x-a\u00e9"}), 204)
    assert "access-control-allow-headers" not in cors_headers(r), describe(r)


def test_a_plain_options_lists_the_methods(server):
    r = expect(get(server, None, method="OPTIONS"), 204)
    assert r.headers.get("Allow") == "GET, HEAD, OPTIONS", describe(r)
    assert cors_headers(r) == {}, describe(r)


def test_without_listed_origins_every_other_origin_is_refused(httpd_factory):
    srv = httpd_factory("no-cors", ml_httpd.Config())
    value, _ = mint(srv, "nocors@example.com")
    body = assert_json(get(srv, value), C.OK)
    assert body["realm"] == "127.0.0.1"                   # MagicLinkSiteName's default
    for origin in (APP, EVIL):
        r = get(srv, value, headers={"Origin": origin})
        assert assert_json(r, C.CSRF_FAILED) == {} and cors_headers(r) == {}, describe(r)
        r = get(srv, None, method="OPTIONS",
                headers={"Origin": origin, "Access-Control-Request-Method": "GET"})
        expect(r, C.CSRF_FAILED)
        assert cors_headers(r) == {}, describe(r)


@pytest.mark.parametrize("value", ["*", "https://app.example.com/path", "app.example.com",
                                   "ftp://app.example.com", "https://user@app.example.com"])
def test_a_bad_cors_origin_is_refused_at_start(value):
    srv = ml_httpd.Httpd("bad-cors", ml_httpd.Config(
        magic_conf=f"MagicLinkCORSOrigin {value}"))
    try:
        proc = srv.config_test()
        assert proc.returncode != 0 and "MagicLinkCORSOrigin" in proc.stdout, proc.stdout
    finally:
        srv.cleanup()
