"""AuthType MagicLink: who gets in, what the rest get, the environment the backend sees,
and POST /magic/logout."""
import email.utils
import time
import urllib.parse
from datetime import datetime, timezone

import pytest

import ml_contract as C
import ml_httpd
from ml_client import Browser, expect, location_path, set_cookies

ECHO = 'Header always set X-Echo-Email "%{MAGICLINK_EMAIL}e"\n' \
       'Header always set X-Echo-Pass "expr=%{req:X-ML-User}"'

HTTPD_CONFIG = ml_httpd.Config(
    private_conf=f"MagicLinkPassHeader X-ML-User\n{ECHO}",
    server_conf="""
<Location /friend>
    AuthType MagicLink
    Require user friend@other.org
</Location>
<Location /otherorg>
    AuthType MagicLink
    Require magiclink-domain other.org
</Location>
""")

FRIEND = "friend@other.org"


def with_cookie(browser, value):
    """GET /private/ as an HTML navigation with only this session cookie."""
    return browser.get(C.PRIVATE, headers={"Accept": "text/html",
                                           "Cookie": f"{C.SESSION_COOKIE}={value}"})


# ---------------------------------------------------------------- without a session

def test_html_navigation_is_sent_to_login_with_the_return_path(browser, server):
    r = expect(browser.private(accept="text/html,application/xhtml+xml;q=0.9,*/*;q=0.8"),
               C.LOGIN_REDIRECT)
    path, _, query = location_path(server, r).partition("?")
    assert path == C.LOGIN and urllib.parse.parse_qs(query) == {"return": ["/private/"]}
    assert query.lower() == "return=%2fprivate%2f", "the return path must be URL-encoded"


@pytest.mark.parametrize("method, accept", [("GET", "application/json"),
                                            ("POST", "text/html")])
def test_other_requests_get_401_with_the_challenge(browser, method, accept):
    r = expect(browser.request(method, C.PRIVATE, headers={"Accept": accept}), C.UNAUTHORIZED)
    assert C.search(C.WWW_AUTHENTICATE, r.headers.get("WWW-Authenticate", "")), r.headers


@pytest.mark.parametrize("value", ["garbage", "A" * 5000, ""])
def test_garbage_session_cookie_is_no_session(browser, value):
    expect(with_cookie(browser, value), C.LOGIN_REDIRECT)


def test_session_sealed_under_another_name_is_no_session(browser, new_browser, server,
                                                         unique_email):
    browser.sign_in(unique_email())
    claims = ml_httpd.open_sealed(server.keyfile, C.SESSION_COOKIE,
                                  browser.cookie(C.SESSION_COOKIE))
    assert claims, "the session cookie does not open under its own name"
    forged = ml_httpd.seal(server.keyfile, C.LINK_NAME, claims)
    expect(with_cookie(new_browser(), forged), C.LOGIN_REDIRECT)


def test_session_older_than_its_lifetime_is_no_session(browser, new_browser, server,
                                                       unique_email):
    browser.sign_in(unique_email())
    claims = ml_httpd.open_sealed(server.keyfile, C.SESSION_COOKIE,
                                  browser.cookie(C.SESSION_COOKIE))
    long_ago = int(time.time()) - 604800 - 3600 * 2       # MagicLinkSessionTTL default
    past = {k: (str(long_ago) if k in ("exp", "iat", "seen", "idle") else v)
            for k, v in claims.items()}
    old = ml_httpd.seal(server.keyfile, C.SESSION_COOKIE, past, at=long_ago)
    expect(with_cookie(new_browser(), old), C.LOGIN_REDIRECT)


# ---------------------------------------------------------------- with a session

def test_session_reaches_the_backend_as_env_and_pass_header(browser, unique_email):
    addr = unique_email()
    browser.sign_in(addr)
    r = expect(browser.get(C.PRIVATE, headers={"Accept": "text/html",
                                               "X-ML-User": "admin@example.com"}),
               C.OK, C.TEXT_SECRET_PAGE)
    assert r.headers.get("X-Echo-Email") == addr
    assert r.headers.get("X-Echo-Pass") == addr, "the incoming copy must be replaced"


def test_require_user(browser, new_browser, unique_email, expect_errors):
    expect_errors(C.AUTHZ_FAILURE_LOG)
    browser.sign_in(FRIEND)
    expect(browser.private("/friend/"), C.OK, "friend page")
    stranger = new_browser()
    stranger.sign_in(unique_email())
    expect(stranger.private("/friend/"), C.AUTHZ_DENIED)


def test_require_magiclink_domain(browser, new_browser, unique_email, expect_errors):
    expect_errors(C.AUTHZ_FAILURE_LOG)
    browser.sign_in(FRIEND)
    expect(browser.private("/otherorg/"), C.OK, "other.org page")
    stranger = new_browser()
    stranger.sign_in(unique_email())
    r = expect(stranger.private("/otherorg/"), C.AUTHZ_DENIED)
    assert "other.org page" not in r.text


# ---------------------------------------------------------------- logout

def _cleared(attrs):
    if attrs.get("max-age") == "0":
        return True
    expires = attrs.get("expires")
    return bool(expires) and \
        email.utils.parsedate_to_datetime(expires) < datetime.now(timezone.utc)


def test_logout_clears_the_cookie_and_revokes_the_session(browser, new_browser, unique_email):
    browser.sign_in(unique_email())
    old = browser.cookie(C.SESSION_COOKIE)
    expect(with_cookie(new_browser(), old), C.OK, C.TEXT_SECRET_PAGE)    # a copy works...
    r = expect(browser.post(C.LOGOUT, data={C.CSRF_FIELD: browser.login().csrf}),
               C.LOGGED_OUT)
    cookies = set_cookies(r)
    assert C.SESSION_COOKIE in cookies and _cleared(cookies[C.SESSION_COOKIE][1]), cookies
    expect(browser.private(), C.LOGIN_REDIRECT)
    expect(with_cookie(new_browser(), old), C.LOGIN_REDIRECT)            # ...until logout


def test_a_second_sign_out_in_the_same_second_ends_a_session_begun_between(
        new_browser, server, unique_email):
    """Sign out everywhere, a sign-in, sign out everywhere again, within one second: the
    session begun between is dated just after the first sign-out (so that it survives
    it), and the second sign-out, dated a second later still, ends it."""
    address = unique_email()
    a, b, c = new_browser(), new_browser(), new_browser()
    a.sign_in(address)
    b.sign_in(address)
    c.request_link(address)
    page = c.verify_page(server.mailbox.take(address).token)
    form = page.form_with(C.CSRF_FIELD)
    everywhere = [{C.CSRF_FIELD: x.login().csrf, "scope": "everywhere"} for x in (a, b)]
    time.sleep(1.01 - time.time() % 1)     # the three steps (~20 ms) share one second
    expect(a.post(C.LOGOUT, data=everywhere[0]), C.LOGGED_OUT)
    expect(c.submit(page, form), C.SIGNED_IN)
    expect(c.private(), C.OK, C.TEXT_SECRET_PAGE)
    expect(b.post(C.LOGOUT, data=everywhere[1]), C.LOGGED_OUT)
    expect(c.private(), C.LOGIN_REDIRECT)


SHORT_HANDLER = ml_httpd.Config(magic_conf="MagicLinkSessionTTL 2")


def test_a_sign_out_outlives_the_handlers_shorter_session_ttl(httpd_factory, unique_email):
    """The sign-out record is kept for the longest MagicLinkSessionTTL configured (here
    /private's default, 7 days), not the handler's 2 s: a copy of the session, still
    young enough for /private, stays out once the handler's lifetime has passed."""
    srv = httpd_factory("short-handler-ttl", SHORT_HANDLER)
    b = Browser(srv)
    b.sign_in(unique_email())
    old = b.cookie(C.SESSION_COOKIE)
    thief = Browser(srv)
    expect(with_cookie(thief, old), C.OK, C.TEXT_SECRET_PAGE)           # a copy works...
    expect(b.post(C.LOGOUT, data={C.CSRF_FIELD: b.login().csrf}), C.LOGGED_OUT)
    time.sleep(3)                                     # past the handler's lifetime
    Browser(srv).request_link(unique_email())         # a write: expired records are swept
    expect(with_cookie(thief, old), C.LOGIN_REDIRECT)                   # ...and stays out


def test_a_session_older_than_the_handlers_ttl_can_still_be_signed_out(httpd_factory,
                                                                        unique_email):
    """A session still live for /private (7 days) but older than the handler's 2 s is
    ended by the handler's sign-out all the same; before, the handler opened it with its
    own lifetime, recorded no sign-out, and every copy stayed in."""
    srv = httpd_factory("short-handler-ttl-old", SHORT_HANDLER)
    b = Browser(srv)
    b.sign_in(unique_email())
    old = b.cookie(C.SESSION_COOKIE)
    thief = Browser(srv)
    time.sleep(3)                                     # past the handler's lifetime
    expect(with_cookie(thief, old), C.OK, C.TEXT_SECRET_PAGE)           # still in at /private
    csrf = b.login().csrf
    others = "; ".join(f"{c.name}={c.value}" for c in b.s.cookies if c.name != C.SESSION_COOKIE)
    expect(b.post(C.LOGOUT, data={C.CSRF_FIELD: csrf},
                  headers={"Cookie": f"{others}; {C.SESSION_COOKIE}={old}"}), C.LOGGED_OUT)
    expect(with_cookie(thief, old), C.LOGIN_REDIRECT)                   # ...and out now


def _iat(server, browser):
    """When the browser's session began (its sealed claim)."""
    claims = ml_httpd.open_sealed(server.keyfile, C.SESSION_COOKIE,
                                  browser.cookie(C.SESSION_COOKIE))
    return claims["iat"]


def test_logout_of_this_browser_ends_only_this_session(new_browser, server, unique_email):
    """scope=browser: every copy of this session's cookie is out; the same address's
    session in another browser stays in -- also one that began in the same second (two
    sign-ins in a row are tried a few times until they do)."""
    addr = unique_email()
    for _ in range(5):
        mine, elsewhere = new_browser(), new_browser()
        mine.sign_in(addr)
        elsewhere.sign_in(addr)
        if _iat(server, mine) == _iat(server, elsewhere):
            break
    copy = with_cookie(new_browser(), mine.cookie(C.SESSION_COOKIE))
    expect(copy, C.OK, C.TEXT_SECRET_PAGE)
    old = mine.cookie(C.SESSION_COOKIE)
    r = expect(mine.post(C.LOGOUT, data={C.CSRF_FIELD: mine.login().csrf, "scope": "browser"}),
               C.LOGGED_OUT)
    assert _cleared(set_cookies(r)[C.SESSION_COOKIE][1]), set_cookies(r)
    expect(mine.private(), C.LOGIN_REDIRECT)
    expect(with_cookie(new_browser(), old), C.LOGIN_REDIRECT)      # its copies too
    expect(elsewhere.private(), C.OK, C.TEXT_SECRET_PAGE)          # the other session stays
    again = new_browser()                                          # and a new sign-in works
    again.sign_in(addr)
    expect(again.private(), C.OK, C.TEXT_SECRET_PAGE)


def test_login_page_offers_sign_out_only_to_a_live_session(browser, new_browser,
                                                           unique_email):
    """The sign-out button (a POST with the page's CSRF token) is on the login page of a
    signed-in browser, and gone once that session ends, here or in another browser."""
    addr = unique_email()
    assert not any(f.action.endswith("logout") for f in new_browser().login().forms)
    browser.sign_in(addr)
    copy = with_cookie(new_browser(), browser.cookie(C.SESSION_COOKIE))
    expect(copy, C.OK, C.TEXT_SECRET_PAGE)
    page = browser.login()
    assert addr in page.response.text
    form = page.form_with(C.CSRF_FIELD)
    assert form.method == "POST" and page.action_url(form).endswith(C.LOGOUT), form
    assert form.fields[C.CSRF_FIELD] == page.csrf
    other = new_browser()
    other.s.cookies.set(C.SESSION_COOKIE, browser.cookie(C.SESSION_COOKIE))
    assert addr in other.login().response.text            # the same session elsewhere
    expect(browser.submit(page, form), C.LOGGED_OUT)
    expect(browser.private(), C.LOGIN_REDIRECT)
    page = browser.login()
    assert addr not in page.response.text
    assert not any(f.action.endswith("logout") for f in page.forms)
    assert addr not in other.login().response.text        # signed out everywhere


def test_logout_without_csrf_is_403_and_keeps_the_session(browser, new_browser,
                                                          unique_email):
    browser.sign_in(unique_email())
    expect(browser.post(C.LOGOUT, data={"logout": "1"}), C.CSRF_FAILED)
    expect(browser.post(C.LOGOUT, data={C.CSRF_FIELD: new_browser().login().csrf}),
           C.CSRF_FAILED)
    expect(browser.private(), C.OK, C.TEXT_SECRET_PAGE)


def test_incoming_pass_header_is_removed_without_a_session(browser):
    r = expect(browser.get(C.PRIVATE, headers={"Accept": "application/json",
                                               "X-ML-User": "admin@example.com"}),
               C.UNAUTHORIZED)
    assert "admin@example.com" not in r.headers.get("X-Echo-Pass", "")
