"""Who gets a link (MagicLinkAllow, MagicLinkAllowFile), how often (MagicLinkRateLimit),
and for how long (MagicLinkLinkTTL).  Each variant is its own server."""
import time

import pytest

import ml_contract as C
import ml_httpd
from ml_client import Browser, FromAddress, expect, location_path, set_cookies

LIMITED = "@limited.example.org"     # allowed in the rate-limit variants, used by nobody else


def limits(**over):
    """A rate_limits tuple: generous, except the ones given (e.g. email="3 3600")."""
    base = {"email": "1000 3600", "ip": "100000 3600", "domain": "100000 3600", **over}
    return tuple(f"{k} {v}" for k, v in base.items())


# ---------------------------------------------------------------- MagicLinkAllow

@pytest.mark.parametrize("address, allowed", [
    ("anyone@example.com", True),
    ("friend@other.org", True),
    ("enemy@other.org", False),
    ("friend@other.org.evil.net", False),
    ("anyone@example.com.evil.net", False),
    ("anyone@evilexample.com", False),
    ("friend+x@other.org", False),
])
def test_allow_list(browser, server, address, allowed):
    browser.request_link(address)
    if allowed:
        assert server.mailbox.take(address).token
    else:
        browser.assert_no_mail(address)


ALLOW_FILE = """# who may sign in
listed@file.example
@filedomain.example

  # indented comment
# hidden@file.example
"""


@pytest.fixture(scope="module")
def allow_file_server(httpd_factory):
    return httpd_factory("allowfile", ml_httpd.Config(
        allow=(), files={"allow.txt": ALLOW_FILE},
        server_conf='MagicLinkAllowFile "{dir}/allow.txt"'))


@pytest.mark.parametrize("address, allowed", [
    ("listed@file.example", True),
    ("anyone@filedomain.example", True),
    ("other@file.example", False),
    ("hidden@file.example", False),
    ("anyone@example.com", False),          # the base allow list is not in this variant
])
def test_allow_file(allow_file_server, address, allowed):
    browser = Browser(allow_file_server)
    browser.request_link(address)
    if allowed:
        assert allow_file_server.mailbox.take(address).token
    else:
        browser.assert_no_mail(address, allowed_domain="filedomain.example")


# ---------------------------------------------------------------- MagicLinkRateLimit

def _limited_server(httpd_factory, name, **over):
    return httpd_factory(name, ml_httpd.Config(allow=ml_httpd.DEFAULT_ALLOW + (LIMITED,),
                                               rate_limits=limits(**over)))


def _ask(browser, address):
    return browser.generate({C.CSRF_FIELD: browser.login().csrf, "email": address})


def test_email_limit(httpd_factory):
    srv = _limited_server(httpd_factory, "limit-email", email="3 3600")
    b = Browser(srv)
    for _ in range(3):
        expect(_ask(b, "same" + LIMITED), C.OK)
    r = expect(_ask(b, "same" + LIMITED), C.THROTTLED)
    assert r.headers.get("Retry-After", "").isdigit(), f"no Retry-After: {r.headers}"
    for _ in range(3):                                   # mail may be delivered later:
        srv.mailbox.take("same" + LIMITED)               # waited for (bounded)
    b.assert_no_mail("same" + LIMITED)                   # and no 4th
    expect(_ask(b, "other" + LIMITED), C.OK)            # per address


def test_domain_limit(httpd_factory):
    srv = _limited_server(httpd_factory, "limit-domain", domain="3 3600")
    b = Browser(srv)
    for i in range(3):
        expect(_ask(b, f"d{i}{LIMITED}"), C.OK)
    expect(_ask(b, f"d9{LIMITED}"), C.THROTTLED)
    expect(_ask(b, "friend@other.org"), C.OK)           # per domain
    b.assert_no_mail(f"d9{LIMITED}")


def _from(browser, net):
    browser.s.mount("http://", FromAddress(f"127.0.{net}.7"))
    return browser


def test_email_total_spares_a_browser_that_signed_in_as_the_address(httpd_factory):
    """Strangers on other networks can use up an address's email-total (here 4 an hour,
    2 per network) and hold it; the browser that signed in as that address before (its
    known-browser cookie) still gets its link, and no other browser does, not even one
    that signed in as another address."""
    srv = _limited_server(httpd_factory, "limit-known", email="2 3600",
                          **{"email-total": "4 3600"})
    victim = "victim" + LIMITED
    known, other, stranger = Browser(srv), Browser(srv), Browser(srv)
    known.sign_in(victim)                                   # 1 of the 4
    other.sign_in("other" + LIMITED)
    assert C.KNOWN_COOKIE in known.s.cookies
    for net, n in ((1, 2), (2, 1)):                         # 3 more: 4 of 4
        for _ in range(n):
            expect(_ask(_from(stranger, net), victim), C.OK)
    expect(_ask(_from(stranger, 3), victim), C.THROTTLED)  # a fresh network: the total
    expect(_ask(_from(other, 4), victim), C.THROTTLED)     # known, but as another address
    expect(_ask(_from(known, 5), victim), C.OK, C.TEXT_CHECK_EMAIL)
    expect(_ask(_from(known, 5), victim), C.OK)             # its own network's limit (2)...
    expect(_ask(_from(known, 5), victim), C.THROTTLED)      # ...still holds


def test_ip_limit(httpd_factory):
    srv = _limited_server(httpd_factory, "limit-ip", ip="5 3600")
    b = Browser(srv)
    for i in range(5):
        expect(_ask(b, f"i{i}{LIMITED}"), C.OK)
    expect(_ask(b, f"i9{LIMITED}"), C.THROTTLED)
    expect(_ask(b, "friend@other.org"), C.THROTTLED)    # any address from this IP
    assert srv.mailbox.take_all(f"i9{LIMITED}") == []


# ---------------------------------------------------------------- MagicLinkLinkTTL

def test_link_ttl_sets_the_links_expiry(httpd_factory):
    srv = httpd_factory("ttl2", ml_httpd.Config(server_conf="MagicLinkLinkTTL 2"))
    b = Browser(srv)
    b.request_link("ttl@example.com")
    mail = srv.mailbox.take("ttl@example.com")
    info = srv.link_info(mail.token)
    assert info and info["exp"] - info["iat"] == 2, info
    assert 0 <= info["exp"] - time.time() <= 3, info


def test_link_ttl_expired_link_is_410(httpd_factory):
    """Past MagicLinkLinkTTL (waited for: 3 s at most) the link is refused as expired."""
    srv = httpd_factory("ttl2", ml_httpd.Config(server_conf="MagicLinkLinkTTL 2"))
    b = Browser(srv)
    b.request_link("ttl-expired@example.com")
    mail = srv.mailbox.take("ttl-expired@example.com")
    info = srv.link_info(mail.token)
    assert info, "the store holds nothing for the link"
    time.sleep(max(0.0, min(3.0, info["exp"] + 1 - time.time())))
    r = b.post(C.VERIFY + mail.token, data={C.CSRF_FIELD: b.login().csrf})
    expect(r, C.LINK_EXPIRED, C.TEXT_EXPIRED)
    assert C.SESSION_COOKIE not in set_cookies(r)


# ---------------------------------------------------------------- cookie and binding options

def test_cookie_name_names_both_cookies(httpd_factory):
    srv = httpd_factory("cookiename", ml_httpd.Config(server_conf="MagicLinkCookieName sid"))
    b = Browser(srv)
    assert "sid_bind" in set_cookies(b.login().response)
    _, r = b.sign_in("named@example.com")
    assert "sid" in set_cookies(r) and C.SESSION_COOKIE not in set_cookies(r)
    srv.secrets.add(b.cookie("sid"))
    expect(b.private(), C.OK, C.TEXT_SECRET_PAGE)


def test_cookie_secure_on_marks_the_cookies_secure(httpd_factory):
    """Secure cookies carry the __Host- prefix: Secure, Path=/ and no Domain, so a
    browser keeps them from being set by any other host."""
    srv = httpd_factory("secure", ml_httpd.Config(server_conf="MagicLinkCookieSecure On"))
    cookies = set_cookies(Browser(srv).login().response)
    assert C.BIND_COOKIE not in cookies, cookies
    value, attrs = cookies[C.HOST_PREFIX + C.BIND_COOKIE]
    assert attrs.get("secure") is True and attrs.get("path") == "/", cookies
    assert "domain" not in attrs, cookies


def test_bind_browser_off_lets_another_browser_confirm(httpd_factory):
    srv = httpd_factory("unbound", ml_httpd.Config(server_conf="MagicLinkBindBrowser Off"))
    asker, other = Browser(srv), Browser(srv)
    asker.request_link("unbound@example.com")
    mail = srv.mailbox.take("unbound@example.com")
    expect(other.confirm(mail.token), C.SIGNED_IN)
    expect(other.private(), C.OK, C.TEXT_SECRET_PAGE)


def test_login_url_is_where_the_unauthenticated_are_sent(httpd_factory):
    srv = httpd_factory("loginurl", ml_httpd.Config(private_conf="MagicLinkLoginURL /signin"))
    r = expect(Browser(srv).private(), C.LOGIN_REDIRECT)
    assert location_path(srv, r).startswith("/signin?return="), r.headers["Location"]
