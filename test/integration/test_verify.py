"""GET/HEAD/POST /magic/verify/<token>: confirmation, session cookie, and each refusal
(expired, used, other browser, invalid, CSRF), plus the race for a single use."""
import collections
import threading
import time
from types import SimpleNamespace
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import requests.adapters

import ml_contract as C
import ml_httpd
from ml_client import Browser, FromAddress, expect, location_path, set_cookies

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


def get_token(browser, token):
    """GET verify/<token> as a browser navigates to it."""
    return browser.get(C.VERIFY + token, headers={"Accept": "text/html"})


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
    info = server.link_info(link.token)
    assert info, f"no record in the store for {link.token}"
    assert info["exp"] - info["iat"] == C.LINK_TTL_DEFAULT, info
    assert abs(info["exp"] - (time.time() + C.LINK_TTL_DEFAULT)) < 60, info


# ---------------------------------------------------------------- refusals

def test_replay_is_410_already_used(browser, server, link):
    """The used state stays in the link's record until its expiry: the page (GET) and
    the button (POST) both say so."""
    expect(browser.confirm(link.token), C.SIGNED_IN)
    for r in (get_token(browser, link.token), post_token(browser, link.token)):
        expect(r, C.LINK_USED, C.TEXT_USED)
        assert C.SESSION_COOKIE not in set_cookies(r)
    info = server.link_info(link.token)
    assert info and info["used"] is True, info


def test_other_browser_is_403_pointing_to_the_code(browser, new_browser, link):
    """Opened in another browser: the page already says so (GET: the approval page, which
    also points to the code), and its own POST (with its own CSRF token) is refused."""
    other = new_browser()
    r = get_token(other, link.token)
    expect(r, C.APPROVAL_OFFER, C.TEXT_OTHER_BROWSER)
    expect(r, C.APPROVAL_OFFER, C.TEXT_MENTIONS_CODE)
    assert C.SESSION_COOKIE not in set_cookies(r)
    for r in (post_token(other, link.token),):
        expect(r, C.LINK_OTHER_BROWSER, C.TEXT_OTHER_BROWSER)
        expect(r, C.LINK_OTHER_BROWSER, C.TEXT_MENTIONS_CODE)
        assert C.SESSION_COOKIE not in set_cookies(r)
    assert other.cookie(C.SESSION_COOKIE) is None
    expect(browser.confirm(link.token), C.SIGNED_IN)     # the failed attempts did not consume


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


def _swap(token, index):
    """The token with the character at `index` replaced by another base64url one."""
    chars = list(token)
    chars[index] = "B" if chars[index] == "A" else "A"
    return "".join(chars)


@pytest.fixture(scope="module")
def foreign_token(httpd_factory):
    """A real link token of a server with another key file (and its own store)."""
    srv = httpd_factory("otherkey", ml_httpd.Config())
    Browser(srv).request_link("foreign@example.com")
    return srv.mailbox.take("foreign@example.com").token


ID_LEN = 22        # the token: a 22-character id, then a 16-character MAC
TAMPERINGS = {
    "first id character": lambda t, x: _swap(t, 0),
    "last id character": lambda t, x: _swap(t, ID_LEN - 1),
    "first mac character": lambda t, x: _swap(t, ID_LEN),
    "last mac character": lambda t, x: _swap(t, -1),
    "truncated": lambda t, x: t[:-8],
    "one character more": lambda t, x: t + "A",
    "garbage": lambda t, x: "garbage",
    "not base64": lambda t, x: "!!!$$$~~~",
    # Longer than any link, but under PATH_MAX: httpd itself answers 403 to
    # paths it cannot map (AH00127) before any module sees them.
    "overlong": lambda t, x: "A" * 3000,
    # The same id under the pending value's MAC: ours, but not a link.
    "the pending value": lambda t, x: x.pending,
    "a link of another key": lambda t, x: x.foreign(),
}


@pytest.mark.parametrize("how", TAMPERINGS)
def test_tampered_token_is_400_invalid(browser, server, unique_email, request, how):
    """Refused as not ours (400), never as expired or used (410): the MAC is checked
    before the store is asked. The page (GET) says so as well as the button (POST)."""
    addr = unique_email()
    page = browser.request_link(addr)
    link = server.mailbox.take(addr)
    extra = SimpleNamespace(pending=page.form_with("pending").fields["pending"],
                            foreign=lambda: request.getfixturevalue("foreign_token"))
    bad = TAMPERINGS[how](link.token, extra)
    assert bad != link.token
    expect(get_token(browser, bad), C.LINK_INVALID, C.TEXT_INVALID)
    r = expect(post_token(browser, bad), C.LINK_INVALID, C.TEXT_INVALID)
    assert C.SESSION_COOKIE not in set_cookies(r)
    expect(browser.confirm(link.token), C.SIGNED_IN)


# ---------------------------------------------------------------- expiry (in the store)

@pytest.fixture(scope="module")
def expired(httpd_factory):
    """A link (and its waiting tab) of a server with MagicLinkLinkTTL 2, once past its
    expiry: waited for (3 s at most) once for the tests below."""
    srv = httpd_factory("ttl2", ml_httpd.Config(server_conf="MagicLinkLinkTTL 2"))
    browser = Browser(srv)
    page = browser.request_link("expiring@example.com")
    mail = srv.mailbox.take("expiring@example.com")
    info = srv.link_info(mail.token)
    assert info and info["exp"] - info["iat"] == 2, info
    time.sleep(max(0.0, min(3.0, info["exp"] + 1 - time.time())))
    return SimpleNamespace(server=srv, browser=browser, page=page, mail=mail)


def test_expired_link_page_is_410(expired):
    r = expect(get_token(expired.browser, expired.mail.token), C.LINK_EXPIRED, C.TEXT_EXPIRED)
    assert not C.search(C.TEXT_USED, r.text), "expired, not used"


def test_expired_link_button_is_410(expired):
    r = expect(post_token(expired.browser, expired.mail.token), C.LINK_EXPIRED,
               C.TEXT_EXPIRED)
    assert not C.search(C.TEXT_USED, r.text), "expired, not used"
    assert C.SESSION_COOKIE not in set_cookies(r)


def test_expired_links_code_is_410(expired):
    r = expect(expired.browser.enter_code(expired.page, expired.mail.code), C.LINK_EXPIRED,
               C.TEXT_EXPIRED)
    assert C.SESSION_COOKIE not in set_cookies(r)


# ---------------------------------------------------------------- the store keeps links

NEWER_LINKS = 400       # the shmcb cache of old lost a link to fewer


def test_a_link_outlives_many_newer_ones(httpd_factory):
    """The store evicts nothing: a pending link outlives hundreds of newer requests
    (with the shmcb cache of old, a few hundred pushed one out and it read as used).
    Only the first address is allowed, so the others mail nothing. Each newer request
    comes from its own client address and domain, as a crowd's would (no rate limit
    stops them)."""
    first = "first@bulk.example.org"
    server = httpd_factory("bulk", ml_httpd.Config(allow=(first,)))
    browser = Browser(server)
    browser.request_link(first)
    csrf = browser.login().csrf
    for i in range(NEWER_LINKS):
        browser.s.mount("http://", FromAddress(f"127.0.{1 + i // 200}.{1 + i % 200}"))
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
