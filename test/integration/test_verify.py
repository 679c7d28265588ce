"""GET/HEAD/POST /magic/verify/<token>: confirmation, session cookie, and each refusal
(expired, used, other browser, invalid, CSRF), plus the race for a single use."""
import base64
import collections
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import requests.adapters

import ml_contract as C
import ml_httpd
from ml_client import Browser, expect, location_path, set_cookies

RACERS = 50


@pytest.fixture
def link(browser, server, unique_email):
    """A fresh link asked for by `browser`: its Mail."""
    addr = unique_email()
    browser.request_link(addr)
    return server.mailbox.take(addr)


def post_token(browser, token, csrf=None):
    """POST verify/<token> from `browser` with its own CSRF token."""
    return browser.post(C.VERIFY + token, data={C.CSRF_FIELD: csrf or browser.login().csrf})


def reseal(server, token, at, **changes):
    """The link token with claims changed, sealed (with the server's key) at time `at`."""
    claims = ml_httpd.open_sealed(server.keyfile, C.LINK_NAME, token)
    assert claims, f"cannot open the link token {token}"
    claims.update(changes)
    return ml_httpd.seal(server.keyfile, C.LINK_NAME, claims, at=at)


# ---------------------------------------------------------------- the good path

def test_get_three_times_then_post_signs_in(browser, server, link):
    for _ in range(3):
        page = browser.verify_page(link.token)
        assert C.SESSION_COOKIE not in set_cookies(page.response)
    r = expect(browser.confirm(link.token), C.SIGNED_IN)
    assert location_path(server, r) == "/"


def test_head_is_200_without_body_and_does_not_consume(browser, link):
    r = expect(browser.request("HEAD", C.VERIFY + link.token), C.OK)
    assert r.content == b""
    expect(browser.confirm(link.token), C.SIGNED_IN)


def test_confirmation_page_posts_back_to_the_link(browser, link):
    page = browser.verify_page(link.token)
    form = page.form_with(C.CSRF_FIELD)
    assert form.method == "POST" and page.action_url(form) == link.link
    assert form.fields[C.CSRF_FIELD] == browser.login().csrf
    assert page.response.headers["Content-Type"].startswith("text/html")


def test_session_cookie_attributes_and_private_page(browser, server, unique_email):
    expect(browser.private(), C.LOGIN_REDIRECT)
    _, r = browser.sign_in(unique_email())
    cookies = set_cookies(r)
    assert C.SESSION_COOKIE in cookies, f"no {C.SESSION_COOKIE} in {cookies}"
    value, attrs = cookies[C.SESSION_COOKIE]
    assert value and attrs.get("path") == "/" and attrs.get("httponly") is True
    assert str(attrs.get("samesite", "")).lower() == "lax"
    assert "secure" not in attrs                         # MagicLinkCookieSecure Off
    expect(browser.private(), C.OK, C.TEXT_SECRET_PAGE)


def test_real_link_expires_after_the_default_ttl(server, link):
    claims = ml_httpd.open_sealed(server.keyfile, C.LINK_NAME, link.token)
    assert abs(int(claims["exp"]) - (time.time() + C.LINK_TTL_DEFAULT)) < 60, claims["exp"]


# ---------------------------------------------------------------- refusals

def test_replay_is_410_already_used(browser, link):
    expect(browser.confirm(link.token), C.SIGNED_IN)
    r = expect(browser.confirm(link.token), C.LINK_USED, C.TEXT_USED)
    assert C.SESSION_COOKIE not in set_cookies(r)


def test_other_browser_is_403_pointing_to_the_code(browser, new_browser, link):
    other = new_browser()
    r = expect(other.confirm(link.token), C.LINK_OTHER_BROWSER, C.TEXT_OTHER_BROWSER)
    expect(r, C.LINK_OTHER_BROWSER, C.TEXT_MENTIONS_CODE)
    assert other.cookie(C.SESSION_COOKIE) is None
    expect(browser.confirm(link.token), C.SIGNED_IN)     # the failed attempt did not consume


def test_missing_or_wrong_csrf_is_403_and_does_not_consume(browser, new_browser, link):
    page = browser.verify_page(link.token)
    form = page.form_with(C.CSRF_FIELD)
    without = {k: v for k, v in form.fields.items() if k != C.CSRF_FIELD}
    without.setdefault("confirm", "1")        # a form body, just without the token
    expect(browser.post(page.action_url(form), data=without), C.CSRF_FAILED)
    for wrong in ("x" * len(form.fields[C.CSRF_FIELD]), new_browser().login().csrf, ""):
        r = browser.post(page.action_url(form), data={**without, C.CSRF_FIELD: wrong})
        expect(r, C.CSRF_FAILED)
    expect(browser.confirm(link.token), C.SIGNED_IN)


def _flip(token, index):
    raw = bytearray(base64.urlsafe_b64decode(token))
    raw[index] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).decode()


TAMPERINGS = {
    "timestamp byte": lambda srv, t, tmp: _flip(t, 0),
    "payload byte": lambda srv, t, tmp: _flip(t, len(base64.urlsafe_b64decode(t)) // 2),
    "mac byte": lambda srv, t, tmp: _flip(t, -1),
    "truncated": lambda srv, t, tmp: t[:-8],
    "garbage": lambda srv, t, tmp: "garbage",
    "not base64": lambda srv, t, tmp: "!!!$$$~~~",
    # Longer than any link, but under PATH_MAX: httpd itself answers 403 to
    # paths it cannot map (AH00127) before any module sees them.
    "overlong": lambda srv, t, tmp: "A" * 3000,
    "sealed under another name": lambda srv, t, tmp: ml_httpd.seal(
        srv.keyfile, "session", ml_httpd.open_sealed(srv.keyfile, C.LINK_NAME, t)),
    "sealed with another key": lambda srv, t, tmp: ml_httpd.seal(
        ml_httpd.write_keyfile(tmp / "other.key", [ml_httpd.keygen("other")]), C.LINK_NAME,
        ml_httpd.open_sealed(srv.keyfile, C.LINK_NAME, t)),
}


@pytest.mark.parametrize("how", TAMPERINGS)
def test_tampered_token_is_400_invalid(browser, server, link, tmp_path, how):
    bad = TAMPERINGS[how](server, link.token, tmp_path)
    assert bad != link.token
    r = expect(post_token(browser, bad), C.LINK_INVALID, C.TEXT_INVALID)
    assert C.SESSION_COOKIE not in set_cookies(r)
    expect(browser.confirm(link.token), C.SIGNED_IN)


def test_expired_link_is_410(browser, server, link):
    now = int(time.time())
    old = reseal(server, link.token, at=now - C.LINK_TTL_DEFAULT - 100, exp=str(now - 100))
    expect(post_token(browser, old), C.LINK_EXPIRED, C.TEXT_EXPIRED)
    expect(browser.confirm(link.token), C.SIGNED_IN)     # the original still works


def test_link_past_its_exp_claim_is_410_though_freshly_sealed(browser, server, link):
    now = int(time.time())
    expect(post_token(browser, reseal(server, link.token, at=now, exp=str(now - 10))),
           C.LINK_EXPIRED, C.TEXT_EXPIRED)


def test_link_sealed_longer_ago_than_the_ttl_is_410(browser, server, link):
    now = int(time.time())
    old = reseal(server, link.token, at=now - C.LINK_TTL_DEFAULT - 100, exp=str(now + 100))
    expect(post_token(browser, old), C.LINK_EXPIRED, C.TEXT_EXPIRED)


# ---------------------------------------------------------------- the store keeps links

NEWER_LINKS = 400       # three times what one shmcb subcache holds


class _FromAddress(requests.adapters.HTTPAdapter):
    """Connects from a given loopback address (all of 127/8 reaches the server)."""

    def __init__(self, address):
        self.address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):
        kwargs["source_address"] = (self.address, 0)
        super().init_poolmanager(*args, **kwargs)


def test_a_link_outlives_many_newer_ones(httpd_factory):
    """shmcb files an entry under its key's first byte: keys must spread over every
    subcache, or a few hundred later requests push a pending link out (and it reads as
    used). Only the first address is allowed, so the others mail nothing. Each newer
    request comes from its own client address and domain: one hot rate-limit counter
    rewritten on every request cycles its own subcache (shmcb is a ring per subcache),
    which would push out a link that happens to share it (doc/cluster.md)."""
    first = "first@bulk.example.org"
    server = httpd_factory("bulk", ml_httpd.Config(allow=(first,)))
    browser = Browser(server)
    browser.request_link(first)
    csrf = browser.login().csrf
    for i in range(NEWER_LINKS):
        browser.s.mount("http://", _FromAddress(f"127.0.{1 + i // 200}.{1 + i % 200}"))
        expect(browser.generate({C.CSRF_FIELD: csrf, "email": f"u@{i}.bulk.example.org"}),
               C.OK, C.TEXT_CHECK_EMAIL)
    browser.s.mount("http://", requests.adapters.HTTPAdapter())
    mail = server.mailbox.take(first)
    expect(browser.confirm(mail.token), C.SIGNED_IN)


# ---------------------------------------------------------------- single use under a race

def test_concurrent_confirmations_sign_in_exactly_once(browser, server, link):
    page = browser.verify_page(link.token)
    form = page.form_with(C.CSRF_FIELD)
    url, data = page.action_url(form), dict(form.fields)
    tabs = [browser.copy() for _ in range(RACERS)]
    start = threading.Barrier(RACERS, timeout=30)

    def confirm(tab):
        start.wait()
        return tab.post(url, data=data).status_code

    with ThreadPoolExecutor(RACERS) as pool:
        statuses = list(pool.map(confirm, tabs))
    counts = collections.Counter(statuses)
    assert counts == {C.SIGNED_IN: 1, C.LINK_USED: RACERS - 1}, counts
    winner = tabs[statuses.index(C.SIGNED_IN)]
    expect(winner.private(), C.OK, C.TEXT_SECRET_PAGE)
