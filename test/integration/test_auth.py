"""AuthType MagicLink against the rest of httpd (issue 6): every Require form and their
compositions, .htaccess, 302 versus 401, open redirects through `return`, the pass
header through mod_proxy to a real backend, idle expiry and renewal, revocation by
logout, broken cookies, and subrequests / internal redirects.

Most sessions here are minted with the admin CLI (`magiclink seal`), which seals with
the server's own key, so that iat, seen and the timestamp can be chosen; the flows
that matter end to end (revocation, proxy, redirects) use real sign-ins."""
import base64
import email.utils
import http.client
import json
import re
import time
import urllib.parse

import pytest
import requests

import ml_contract as C
import ml_httpd
from ml_client import Browser, Page, describe, expect, location_path, set_cookies

LOCATIONS = ["user", "dom", "any", "both", "never", "bothdom", "iponly", "idle100", "ttl",
             "quoted", "ht", "strict"]

# Anyone may sign in here: these tests are about Require and the gate, not the
# allow policy (test_policy.py and test_gate_policy.py are).
HTTPD_CONFIG = ml_httpd.Config(
    allow=("*",),
    private_conf="""
    AuthName "Private Area"
    ErrorDocument 404 /private/notfound.html
    Header always set X-Echo-Email "%{MAGICLINK_EMAIL}e"
""",
    server_conf=r"""
<Location /user>
    AuthType MagicLink
    Require user a@example.com
</Location>
<Location /dom>
    AuthType MagicLink
    Require magiclink-domain Example.COM other.org
</Location>
<Location /any>
    AuthType MagicLink
    <RequireAny>
        Require ip 127.0.0.2
        Require magiclink-domain example.com
    </RequireAny>
</Location>
<Location /both>
    AuthType MagicLink
    <RequireAll>
        Require ip 127.0.0.1
        Require valid-user
    </RequireAll>
</Location>
<Location /never>
    AuthType MagicLink
    <RequireAll>
        Require ip 127.0.0.2
        Require valid-user
    </RequireAll>
</Location>
<Location /bothdom>
    AuthType MagicLink
    <RequireAll>
        Require ip 127.0.0.1
        Require magiclink-domain other.org
    </RequireAll>
</Location>
<Location /iponly>
    AuthType MagicLink
    Require ip 127.0.0.1
    Header always set X-Echo-User "%{MAGICLINK_EMAIL}e"
</Location>
<Location /idle100>
    AuthType MagicLink
    Require valid-user
    MagicLinkSessionIdle 100
</Location>
<Location /ttl>
    AuthType MagicLink
    Require valid-user
    MagicLinkSessionTTL 1000
</Location>
<Location /quoted>
    AuthType MagicLink
    AuthName "say \"hi\" there"
    Require valid-user
</Location>
<Location /strict>
    AuthType MagicLink
    Require valid-user
    MagicLinkSessionIdle 100
</Location>
<Directory "{dir}/htdocs/ht">
    AllowOverride AuthConfig
</Directory>
<Directory "{dir}/htdocs/private/idx">
    DirectoryIndex /strict/page.txt
</Directory>
""",
    files={
        **{f"htdocs/{d}/page.txt": f"page {d}\n" for d in LOCATIONS},
        "htdocs/ht/.htaccess": 'AuthType MagicLink\n'
                               'AuthName "Htaccess Realm"\n'
                               'Require magiclink-domain other.org\n'
                               'MagicLinkSessionIdle 100\n',
        "htdocs/private/notfound.html": "<html><body>custom not found</body></html>\n",
        "htdocs/private/sub/index.html": "<html><body>sub index</body></html>\n",
        "htdocs/private/x.txt": "private x\n",
        "htdocs/private/idx/.keep": "",
    })

FRIEND = "friend@other.org"
DENIED_LOGS = (C.AUTHZ_FAILURE_LOG, r"AH01630")   # user / client denied by the config
ABOVE_INFO = re.compile(r"^\[[^\]]*\] \[(?:[^\]:]*:)?(warn|error|crit|alert|emerg)\]", re.M)


# ---------------------------------------------------------------- helpers

def mint(server, email, iat_ago=0, seen_ago=0, ts_ago=None, name=C.SESSION_COOKIE,
         keyfile=None):
    """A session cookie value sealed with the server's key (or `keyfile`), with iat and
    seen that many seconds in the past and the seal's timestamp at ts_ago [seen_ago]."""
    now = int(time.time())
    claims = {"email": email, "iat": str(now - iat_ago), "seen": str(now - seen_ago),
              "aud": server.base}
    ts_ago = seen_ago if ts_ago is None else ts_ago
    return ml_httpd.seal(keyfile or server.keyfile, name, claims, at=now - ts_ago)


def call(server, path, cookie=None, accept="application/json", method="GET", headers=None):
    """One request with no cookie jar: only `cookie` as the session cookie."""
    h = {"Accept": accept}
    if cookie is not None:
        h["Cookie"] = f"{C.SESSION_COOKIE}={cookie}"
    h.update(headers or {})
    return requests.request(method, server.url(path), headers=h, allow_redirects=False,
                            timeout=30)


def unauthenticated(r):
    """The answer to a request without a (valid) session: 302 for navigations, 401
    with the challenge for the rest."""
    if r.request.method in ("GET", "HEAD") and "text/html" in r.request.headers["Accept"]:
        expect(r, C.LOGIN_REDIRECT)
        assert location_path_of(r).startswith(C.LOGIN + "?"), describe(r)
    else:
        expect(r, C.UNAUTHORIZED)
        assert C.search(C.WWW_AUTHENTICATE, r.headers.get("WWW-Authenticate", "")), describe(r)
    return r


def location_path_of(r):
    loc = r.headers.get("Location", "")
    p = urllib.parse.urlsplit(loc)
    return loc if not p.netloc else urllib.parse.urlunsplit(("", "", p.path, p.query, ""))


def log_since(server, offset):
    with open(server.error_log, "rb") as f:
        f.seek(offset)
        return f.read().decode("utf-8", "replace")


def session_set_cookie(r):
    return set_cookies(r).get(C.SESSION_COOKIE)


def date_of(r):
    return int(email.utils.parsedate_to_datetime(r.headers["Date"]).timestamp())


# ---------------------------------------------------------------- Require forms

def test_require_valid_user(server):
    unauthenticated(call(server, "/private/x.txt"))
    expect(call(server, "/private/x.txt", mint(server, "v@example.com")), C.OK, "private x")


def test_require_user(server, expect_errors):
    expect_errors(C.AUTHZ_FAILURE_LOG)
    expect(call(server, "/user/page.txt", mint(server, "a@example.com")), C.OK, "page user")
    for other in ("b@example.com", "A@example.com", "a@example.com.evil.org", FRIEND):
        r = expect(call(server, "/user/page.txt", mint(server, other)), C.AUTHZ_DENIED)
        assert "page user" not in r.text
    unauthenticated(call(server, "/user/page.txt"))
    unauthenticated(call(server, "/user/page.txt", accept="text/html"))


def test_authz_denial_with_401_carries_the_challenge(server, expect_errors):
    """authz_core answers a signed-in user that Require turns away with 401 (unless
    AuthzSendForbiddenOnFailure), after ap_note_auth_failure(); a 401 must carry
    WWW-Authenticate (RFC 7235 section 3.1)."""
    expect_errors(C.AUTHZ_FAILURE_LOG)
    for path in ("/user/page.txt", "/dom/page.txt"):
        r = expect(call(server, path, mint(server, "b@evil.org")), C.AUTHZ_DENIED)
        if r.status_code == 401:
            assert C.search(C.WWW_AUTHENTICATE, r.headers.get("WWW-Authenticate", "")), \
                describe(r)


@pytest.mark.parametrize("addr", ["u@example.com", "friend@other.org", "x@other.org"])
def test_require_magiclink_domain_grants_case_insensitively(server, addr):
    # The Require line says "Example.COM other.org": domains are normalized there.
    expect(call(server, "/dom/page.txt", mint(server, addr)), C.OK, "page dom")


@pytest.mark.parametrize("addr", ["u@EXAMPLE.com", "U@example.com", "x@OTHER.ORG"])
def test_session_with_a_non_canonical_address_is_no_session(server, addr):
    """Addresses are sealed in canonical form (lower case); anything else was sealed by
    someone else and is refused whole, not admitted under another spelling."""
    unauthenticated(call(server, "/dom/page.txt", mint(server, addr)))
    unauthenticated(call(server, "/private/x.txt", mint(server, addr), accept="text/html"))


@pytest.mark.parametrize("addr", ["u@evil.org", "u@notexample.com", "u@example.com.evil.org",
                                  "u@sub.example.com", "u@other.org.example.net",
                                  "example.com@evil.org", "u@example.co"])
def test_require_magiclink_domain_denies_other_domains(server, expect_errors, addr):
    expect_errors(C.AUTHZ_FAILURE_LOG)
    r = expect(call(server, "/dom/page.txt", mint(server, addr)), C.AUTHZ_DENIED)
    assert "page dom" not in r.text


def test_require_magiclink_domain_without_session(server):
    unauthenticated(call(server, "/dom/page.txt"))
    unauthenticated(call(server, "/dom/page.txt", accept="text/html"))


def test_require_any_ip_or_domain(server, expect_errors):
    expect_errors(C.AUTHZ_FAILURE_LOG)
    # Require ip 127.0.0.2 does not match: the session decides.
    unauthenticated(call(server, "/any/page.txt"))
    unauthenticated(call(server, "/any/page.txt", accept="text/html"))
    expect(call(server, "/any/page.txt", mint(server, "z@example.com")), C.OK, "page any")
    r = expect(call(server, "/any/page.txt", mint(server, FRIEND)), C.AUTHZ_DENIED)
    assert "page any" not in r.text


def test_require_all_ip_and_valid_user(server):
    unauthenticated(call(server, "/both/page.txt"))
    unauthenticated(call(server, "/both/page.txt", accept="text/html"))
    expect(call(server, "/both/page.txt", mint(server, FRIEND)), C.OK, "page both")


def test_require_all_that_must_deny(server, expect_errors):
    expect_errors(DENIED_LOGS[0])
    expect_errors(DENIED_LOGS[1])
    # ip 127.0.0.2 fails: nobody gets in, session or not.
    for cookie in (None, mint(server, "n@example.com")):
        r = call(server, "/never/page.txt", cookie)
        assert r.status_code in (401, 403) and "page never" not in r.text, describe(r)
    # ip matches, but the domain does not.
    r = expect(call(server, "/bothdom/page.txt", mint(server, "n@example.com")),
               C.AUTHZ_DENIED)
    assert "page bothdom" not in r.text
    expect(call(server, "/bothdom/page.txt", mint(server, FRIEND)), C.OK, "page bothdom")


def test_require_ip_alone_needs_no_session(server):
    r = expect(call(server, "/iponly/page.txt", accept="text/html"), C.OK, "page iponly")
    assert "Set-Cookie" not in r.headers
    # A session is not even looked at: nobody is authenticated there.
    r = expect(call(server, "/iponly/page.txt", mint(server, "i@example.com")), C.OK)
    assert r.headers.get("X-Echo-User") in (None, "", "(null)"), r.headers
    r = expect(call(server, "/iponly/page.txt", "garbage"), C.OK)


# ---------------------------------------------------------------- .htaccess

def test_htaccess_auth_type_and_require(server, expect_errors):
    expect_errors(C.AUTHZ_FAILURE_LOG)
    r = unauthenticated(call(server, "/ht/page.txt"))
    assert r.headers["WWW-Authenticate"] == 'MagicLink realm="Htaccess Realm"', r.headers
    r = unauthenticated(call(server, "/ht/page.txt", accept="text/html"))
    query = urllib.parse.urlsplit(r.headers["Location"]).query
    assert urllib.parse.parse_qs(query) == {"return": ["/ht/page.txt"]}
    expect(call(server, "/ht/page.txt", mint(server, FRIEND)), C.OK, "page ht")
    expect(call(server, "/ht/page.txt", mint(server, "h@example.com")), C.AUTHZ_DENIED)


def test_htaccess_session_idle_takes_effect(server):
    # 150 s idle: fine under the server's default (3600) ...
    stale = mint(server, FRIEND, iat_ago=150, seen_ago=150)
    expect(call(server, "/private/x.txt", stale), C.OK)
    # ... refused where the .htaccess says MagicLinkSessionIdle 100,
    unauthenticated(call(server, "/ht/page.txt", stale))
    unauthenticated(call(server, "/ht/page.txt", stale, accept="text/html"))
    # while 50 s is within it.
    expect(call(server, "/ht/page.txt", mint(server, FRIEND, iat_ago=50, seen_ago=50)), C.OK)


# ---------------------------------------------------------------- 302 versus 401

TARGETS = ["/private/x?y=1&z=%2F", "/private/caf%C3%A9/?q=%E2%9C%93&r=a+b&s=%26%3D",
           "/private/", "/private/x.txt?a=&b"]


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("target", TARGETS)
def test_html_navigation_gets_302_with_path_and_query(server, browser, method, target):
    r = expect(call(server, target, method=method,
                    accept="text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
               C.LOGIN_REDIRECT)
    path, _, query = location_path_of(r).partition("?")
    assert path == C.LOGIN, describe(r)
    assert urllib.parse.parse_qs(query, keep_blank_values=True) == {"return": [target]}, \
        describe(r)
    if method == "GET":    # and the login page takes it as the return path
        page = Page(expect(browser.get(location_path_of(r), headers={"Accept": "text/html"}),
                           C.OK))
        assert page.form_with("email").fields.get("return") == target


def test_absolute_form_request_target_keeps_the_path_as_return(server):
    """`GET http://host/private/x?y=1 HTTP/1.1` (absolute-form, RFC 9112 3.2.2) is the
    same resource as `GET /private/x?y=1`: the return path is the path and query."""
    status, headers, _ = raw_get(server, server.url("/private/x?y=1&z=%2F"),
                                 [("Accept", "text/html")])
    assert status == C.LOGIN_REDIRECT, (status, headers)
    path, _, query = headers["location"].partition("?")
    assert path.endswith(C.LOGIN)
    assert urllib.parse.parse_qs(query) == {"return": ["/private/x?y=1&z=%2F"]}, headers


@pytest.mark.parametrize("path", ["/private/x?y=1", "/quoted/page.txt"])
def test_json_gets_401_with_the_realm(server, path):
    r = expect(call(server, path, accept="application/json"), C.UNAUTHORIZED)
    assert "Location" not in r.headers
    expected = "Private Area" if path.startswith("/private") else 'say "hi" there'
    challenge = r.headers.get("WWW-Authenticate", "")
    m = re.fullmatch(r'MagicLink realm="((?:[^"\\]|\\.)*)"', challenge)
    assert m, f"not a well-formed challenge (RFC 7235 quoted-string): {challenge!r}"
    assert re.sub(r"\\(.)", r"\1", m.group(1)) == expected, challenge


@pytest.mark.parametrize("method, accept", [
    ("POST", "text/html"), ("POST", "application/json"), ("PUT", "text/html"),
    ("DELETE", "text/html"), ("GET", "*/*"), ("GET", None), ("HEAD", "*/*"),
    ("GET", "application/json, text/javascript, */*; q=0.01")])
def test_non_navigations_get_401(server, method, accept):
    headers = {"X-Requested-With": "XMLHttpRequest"}
    r = requests.request(method, server.url("/private/x?y=1"), allow_redirects=False,
                         timeout=30, headers={**headers, **({"Accept": accept} if accept
                                                            else {})})
    if accept is None:    # requests adds Accept: */* unless told not to
        assert r.request.headers.get("Accept") in (None, "*/*")
    expect(r, C.UNAUTHORIZED)
    assert r.headers.get("WWW-Authenticate") == 'MagicLink realm="Private Area"', describe(r)
    assert "Location" not in r.headers


# ---------------------------------------------------------------- open redirects

# `return` values that must never leave the site: at GET login the hidden field says
# "/", and a link requested with them (POST generate) sends the browser to "/".
OFFSITE = [
    "//evil.com", "///evil.com", "////evil.com", "/\\evil.com", "\\/evil.com",
    "/\\\\evil.com", "\\\\evil.com", "/\\/evil.com", "/%2F%2Fevil.com", "/%2f%2fevil.com",
    "%2F%2Fevil.com", "/%2F/evil.com", "/%5Cevil.com", "/%5C/evil.com", "/%5c%5cevil.com",
    "%5C%5Cevil.com", "https://evil.com", "HTTPS://evil.com", "https:/evil.com",
    "https:evil.com", "http:evil.com", "javascript:alert(1)", "JaVaScRiPt:alert(1)",
    "data:text/html,x", "/%09/evil.com", "/\t/evil.com", "/%0d%0aLocation:%20//evil",
    "/\r\nLocation: //evil", "//evil.com%2F@good", "//good@evil.com", "//evil.com\\@good",
    "/.//evil.com", "/%2e%2e//evil.com", "/..//evil.com", "/%252F%252Fevil.com",
    "/%25252F%25252Fevil.com", "/%2525252F%2525252Fevil.com", " //evil.com", "\t//evil.com",
    "\n//evil.com", "//evil%E3%80%82com", "//evil\u3002com", "evil.com", "/%00//evil.com",
    "",
]
ONSITE = ["/private/x?y=1&z=%2F", "/private/", "/private/a%20b.html",
          "/private/x?next=%2Fprivate%2F&n=1"]


def _id(v):
    return repr(v)[1:-1] or "empty"


@pytest.mark.parametrize("target", OFFSITE, ids=_id)
def test_offsite_return_at_login_renders_root(browser, target):
    page = browser.login(target)
    assert page.form_with("email").fields.get("return") == "/", page.response.text
    assert "evil" not in page.response.text.lower()


@pytest.mark.parametrize("target", OFFSITE, ids=_id)
def test_offsite_return_through_a_sign_in_lands_on_root(browser, server, unique_email,
                                                        target):
    addr = unique_email()
    csrf = browser.login().csrf
    expect(browser.generate({C.CSRF_FIELD: csrf, "email": addr, "return": target}), C.OK)
    mail = server.mailbox.take(addr)
    assert server.link_info(mail.token)["return"] == "/"
    r = expect(browser.confirm(mail.token), C.SIGNED_IN)
    assert r.headers["Location"] in ("/", server.base + "/"), describe(r)


@pytest.mark.parametrize("target", ONSITE)
def test_onsite_return_is_kept(browser, server, unique_email, target):
    assert browser.login(target).form_with("email").fields.get("return") == target
    addr = unique_email()
    csrf = browser.login().csrf
    expect(browser.generate({C.CSRF_FIELD: csrf, "email": addr, "return": target}), C.OK)
    mail = server.mailbox.take(addr)
    r = expect(browser.confirm(mail.token), C.SIGNED_IN)
    assert location_path(server, r) == target


# ---------------------------------------------------------------- the pass header, proxied

PASS = "X-Remote-Email"


def _norm(name):
    return name.lower().replace("_", "-")


@pytest.fixture(scope="module")
def proxied(httpd_factory, echo_backend):
    """A server whose /app/ is protected and proxied to the echo backend, and whose
    /pub/ is proxied without AuthType but with MagicLinkPassHeader."""
    mods = ml_httpd.MODULES_DIR
    return httpd_factory("proxy", ml_httpd.Config(server_conf=f"""
LoadModule proxy_module "{mods}/mod_proxy.so"
LoadModule proxy_http_module "{mods}/mod_proxy_http.so"
ProxyTimeout 10
<Location /app/>
    AuthType MagicLink
    AuthName "App"
    Require valid-user
    MagicLinkPassHeader {PASS}
    ProxyPass {echo_backend.url}/
</Location>
<Location /pub/>
    Require all granted
    MagicLinkPassHeader {PASS}
    ProxyPass {echo_backend.url}/pub/
</Location>
"""))


def raw_get(server, path, headers):
    """GET with exactly these header lines (duplicates and odd spellings kept)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        for k, v in headers:
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), resp.read()
    finally:
        conn.close()


FORGED = {
    "canonical": [(PASS, "admin@example.com")],
    "lowercase": [(PASS.lower(), "admin@example.com")],
    "uppercase": [(PASS.upper(), "admin@example.com")],
    "underscores": [("X_Remote_Email", "admin@example.com")],
    "duplicated": [(PASS, "admin@example.com"), (PASS, "root@example.com")],
    "duplicated-mixed": [(PASS, "admin@example.com"), ("x-remote-email", "root@example.com")],
    "dash-and-underscore": [(PASS, "admin@example.com"), ("x_remote_email", "root@example.com")],
    "empty": [(PASS, "")],
}


def backend_view(body):
    seen = json.loads(body)
    return seen, [(k, v) for k, v in seen["headers"] if _norm(k) == _norm(PASS)]


@pytest.mark.parametrize("variant", sorted(FORGED))
def test_forged_pass_header_is_replaced_for_a_session(proxied, echo_backend, unique_email,
                                                      variant):
    addr = unique_email()
    b = Browser(proxied)
    b.sign_in(addr)
    cookie = f"{C.SESSION_COOKIE}={b.cookie(C.SESSION_COOKIE)}"
    before = echo_backend.count()
    status, headers, body = raw_get(proxied, "/app/whoami?x=1",
                                    [("Accept", "application/json"), ("Cookie", cookie)]
                                    + FORGED[variant])
    assert status == 200, (status, headers, body[:500])
    assert echo_backend.count() == before + 1
    seen, copies = backend_view(body)
    assert seen["path"] == "/whoami?x=1"
    assert len(copies) == 1 and copies[0][1] == addr, \
        f"the backend must see exactly one {PASS} (in any spelling), the session's: " \
        f"{seen['headers']}"
    assert not any("admin@" in v or "root@" in v for _, v in seen["headers"]), seen["headers"]


@pytest.mark.parametrize("variant", sorted(FORGED))
@pytest.mark.parametrize("accept", ["text/html", "application/json"])
def test_forged_pass_header_without_a_session_never_reaches_the_backend(
        proxied, echo_backend, variant, accept):
    before = echo_backend.count()
    for cookie in ([], [("Cookie", f"{C.SESSION_COOKIE}=garbage")]):
        status, headers, body = raw_get(proxied, "/app/whoami",
                                        [("Accept", accept)] + cookie + FORGED[variant])
        assert status == (C.LOGIN_REDIRECT if accept == "text/html" else C.UNAUTHORIZED), \
            (status, headers, body[:300])
    assert echo_backend.count() == before, echo_backend.requests[before:]


@pytest.mark.parametrize("variant", sorted(FORGED))
def test_pass_header_is_stripped_where_there_is_no_auth_type(proxied, echo_backend,
                                                             unique_email, variant):
    # A session cookie is not enough to get the header set: nobody authenticated here.
    cookie = [("Cookie", f"{C.SESSION_COOKIE}={mint(proxied, unique_email())}")]
    for extra in ([], cookie):
        status, headers, body = raw_get(proxied, "/pub/x",
                                        [("Accept", "text/html")] + extra + FORGED[variant])
        assert status == 200, (status, headers, body[:300])
        seen, copies = backend_view(body)
        assert seen["path"] == "/pub/x"
        assert copies == [], f"a forged {PASS} reached the backend: {seen['headers']}"


# ---------------------------------------------------------------- idle expiry and renewal

def test_idle_session_is_renewed_after_a_minute(server, browser):
    now = int(time.time())
    old = mint(server, "r@example.com", iat_ago=120, seen_ago=120)
    r = expect(call(server, "/private/x.txt", old), C.OK, "private x")
    got = session_set_cookie(r)
    assert got, f"no renewed session cookie\n{describe(r)}"
    value, attrs = got
    claims = ml_httpd.open_sealed(server.keyfile, C.SESSION_COOKIE, value)
    assert claims["email"] == "r@example.com"
    assert claims["iat"] == str(now - 120), "renewal must keep the session's start"
    assert abs(int(claims["seen"]) - date_of(r)) <= 1 and abs(int(claims["seen"]) - now) <= 5
    assert attrs.get("path") == "/" and attrs.get("httponly") is True, attrs
    expect(call(server, "/private/x.txt", value), C.OK)
    server.secrets.add(value)


def test_recent_session_is_not_renewed(server):
    r = expect(call(server, "/private/x.txt",
                    mint(server, "r@example.com", iat_ago=30, seen_ago=30)), C.OK)
    assert session_set_cookie(r) is None, describe(r)


def test_session_idle_past_the_limit_is_refused(server):
    # Location with MagicLinkSessionIdle 100: 200 s idle is too long, 50 s is not.
    stale = mint(server, "r@example.com", iat_ago=200, seen_ago=200)
    unauthenticated(call(server, "/idle100/page.txt", stale))
    unauthenticated(call(server, "/idle100/page.txt", stale, accept="text/html"))
    expect(call(server, "/idle100/page.txt",
                mint(server, "r@example.com", iat_ago=200, seen_ago=50)), C.OK)


def test_session_past_its_ttl_is_refused_even_if_seen_is_fresh(server):
    # Location with MagicLinkSessionTTL 1000; the seal's timestamp is fresh too,
    # so only iat can tell.
    old = mint(server, "t@example.com", iat_ago=2000, seen_ago=5, ts_ago=5)
    unauthenticated(call(server, "/ttl/page.txt", old))
    expect(call(server, "/ttl/page.txt",
                mint(server, "t@example.com", iat_ago=900, seen_ago=5)), C.OK)
    # and under the default TTL (604800)
    ancient = mint(server, "t@example.com", iat_ago=604800 + 60, seen_ago=1, ts_ago=1)
    unauthenticated(call(server, "/private/x.txt", ancient, accept="text/html"))


# ---------------------------------------------------------------- revocation

def _logout(b):
    return expect(b.post(C.LOGOUT, data={C.CSRF_FIELD: b.login().csrf}), C.LOGGED_OUT)


def test_logout_revokes_every_session_of_the_address(server, new_browser, unique_email):
    addr = unique_email()
    a, b = new_browser(), new_browser()
    a.sign_in(addr)
    b.sign_in(addr)
    a_cookie, b_cookie = a.cookie(C.SESSION_COOKIE), b.cookie(C.SESSION_COOKIE)
    assert a_cookie != b_cookie
    expect(a.private(), C.OK, C.TEXT_SECRET_PAGE)
    expect(b.private(), C.OK, C.TEXT_SECRET_PAGE)
    out = _logout(a)
    expect(b.private(), C.LOGIN_REDIRECT)
    unauthenticated(call(server, "/private/x.txt", b_cookie))
    unauthenticated(call(server, "/private/x.txt", a_cookie, accept="text/html"))
    # A new sign-in afterwards works (in a later second than the sign-out: see
    # test_sign_in_in_the_same_second_as_a_sign_out for the same second).
    while int(time.time()) <= date_of(out):
        time.sleep(0.05)
    c = new_browser()
    c.sign_in(addr)
    expect(c.private(), C.OK, C.TEXT_SECRET_PAGE)
    unauthenticated(call(server, "/private/x.txt", b_cookie))       # still revoked


def test_sign_in_in_the_same_second_as_a_sign_out(server, new_browser, unique_email):
    """A link confirmed right after the same address signed out elsewhere starts a
    session that works: it was issued after the sign-out, not before it."""
    addr = unique_email()
    for attempt in range(3):
        a, c = new_browser(), new_browser()
        a.sign_in(addr)
        c.request_link(addr)
        mail = server.mailbox.take(addr)
        page = c.verify_page(mail.token)
        form = page.form_with(C.CSRF_FIELD)
        csrf = a.login().csrf
        time.sleep(1.02 - (time.time() % 1))          # early in a second
        out = a.post(C.LOGOUT, data={C.CSRF_FIELD: csrf})
        signed = c.submit(page, form)
        expect(out, C.LOGGED_OUT)
        expect(signed, C.SIGNED_IN)
        if date_of(out) == date_of(signed):
            break
    else:
        pytest.skip("could not get a sign-out and a sign-in into the same second")
    r = c.private()
    assert r.status_code == C.OK, \
        f"session issued after the sign-out (same second {date_of(out)}) is refused\n" \
        f"{describe(r)}"


# ---------------------------------------------------------------- broken cookies

def _outer(value):
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    ts, inner, mac = raw.split(b"|", 2)
    return ts, inner, mac


def _pack(ts, inner, mac):
    return base64.urlsafe_b64encode(b"|".join([ts, inner, mac])).decode()


def _flip_char(s, i):
    c = s[i:i + 1]
    return s[:i] + (b"B" if c != b"B" else b"C") + s[i + 1:]


def broken_cookies(server, tmp_path):
    good = mint(server, "k@example.com")
    ts, inner, mac = _outer(good)
    other_key = ml_httpd.write_keyfile(tmp_path / "other.keys", [ml_httpd.keygen()])
    return good, {
        "ts-digit": _pack(str(int(ts) - 1).encode(), inner, mac),
        "ts-future": _pack(str(int(ts) + 100).encode(), inner, mac),
        "ts-not-a-number": _pack(b"x" + ts[1:], inner, mac),
        "payload-start": _pack(ts, _flip_char(inner, 0), mac),
        "payload-middle": _pack(ts, _flip_char(inner, len(inner) // 2), mac),
        "payload-end": _pack(ts, _flip_char(inner, len(inner) - 3), mac),
        "mac-first": _pack(ts, inner, bytes([mac[0] ^ 1]) + mac[1:]),
        "mac-last": _pack(ts, inner, mac[:-1] + bytes([mac[-1] ^ 0x80])),
        "mac-short": _pack(ts, inner, mac[:-1]),
        "mac-missing": _pack(ts, inner, b""),
        "no-separators": base64.urlsafe_b64encode(ts + inner + mac).decode(),
        "outer-char": good[:10] + ("A" if good[10] != "A" else "B") + good[11:],
        "truncated-1": good[:-1],
        "truncated-4": good[:-4],
        "truncated-half": good[:len(good) // 2],
        "unpadded": good.rstrip("="),
        "doubled": good + good,
        "foreign-key": mint(server, "k@example.com", keyfile=other_key),
        "wrong-name": mint(server, "k@example.com", name=C.LINK_NAME),
        "wrong-name-bind": mint(server, "k@example.com", name=C.BIND_COOKIE),
        "empty": "",
        "not-base64": "!!!not*base64???",
        "spaces": "a b c",
        "percent": "%00%01%ff",
        "quoted": f'"{good}"',
        "long": "A" * 8000,
        "just-pipes": base64.urlsafe_b64encode(b"||").decode(),
        "no-email": ml_httpd.seal(server.keyfile, C.SESSION_COOKIE,
                                  {"iat": str(int(time.time())),
                                   "seen": str(int(time.time())), "aud": server.base}),
        "bad-iat": ml_httpd.seal(server.keyfile, C.SESSION_COOKIE,
                                 {"email": "k@example.com", "iat": "soon",
                                  "seen": str(int(time.time())), "aud": server.base}),
    }


def test_broken_session_cookies_are_no_session(server, tmp_path):
    good, cases = broken_cookies(server, tmp_path)
    std = good.replace("-", "+").replace("_", "/")
    if std != good:          # the standard base64 alphabet is not the URL-safe one
        cases["std-base64"] = std
    expect(call(server, "/private/x.txt", good), C.OK)     # the control
    start = server.error_log_size()
    failures = []
    for name, value in cases.items():
        for accept in ("text/html", "application/json"):
            r = call(server, "/private/x.txt", value, accept=accept)
            want = C.LOGIN_REDIRECT if accept == "text/html" else C.UNAUTHORIZED
            if r.status_code != want:
                failures.append(f"{name} ({accept}): {r.status_code}")
    assert not failures, failures
    # A broken cookie is everyday traffic: nothing above info in the error log.
    loud = ABOVE_INFO.findall(log_since(server, start))
    assert not loud, log_since(server, start)


def test_cookie_name_must_match_exactly(server):
    good = mint(server, "k@example.com")
    for header in (f"Magiclink_Session={good}", f"xmagiclink_session={good}",
                   f"magiclink_session_x={good}", f"magiclink_sessionx={good}",
                   f"other=magiclink_session={good}"):
        unauthenticated(call(server, "/private/x.txt", headers={"Cookie": header}))
    expect(call(server, "/private/x.txt",
                headers={"Cookie": f"a=1; {C.SESSION_COOKIE}={good}; b=2"}), C.OK)


# ---------------------------------------------------------------- subrequests, redirects

def test_directory_index_under_the_protected_location(server, browser, unique_email):
    addr = unique_email()
    browser.sign_in(addr)
    r = expect(browser.private("/private/"), C.OK, C.TEXT_SECRET_PAGE)
    assert r.headers.get("X-Echo-Email") == addr
    r = expect(browser.private("/private/sub/"), C.OK, "sub index")
    assert r.headers.get("X-Echo-Email") == addr
    unauthenticated(call(server, "/private/sub/", accept="text/html"))
    unauthenticated(call(server, "/private/sub/"))


def test_error_document_inside_the_protected_area(server, browser, unique_email):
    browser.sign_in(unique_email())
    for accept in ("text/html", "application/json"):
        expect(browser.private("/private/no-such-page", accept=accept), C.NOT_FOUND,
               "custom not found")
    # without a session the 404 is not even reached
    r = unauthenticated(call(server, "/private/no-such-page", accept="text/html"))
    assert "custom not found" not in r.text
    r = unauthenticated(call(server, "/private/no-such-page"))
    assert "custom not found" not in r.text


def test_error_document_request_has_magiclink_email(server, browser, unique_email):
    """The ErrorDocument is an internal redirect within the same <Location>; httpd then
    skips the authn hooks and copies r->user, so MAGICLINK_EMAIL (what a CGI, SSI or
    mod_headers sees) must still be set for the redirected request."""
    addr = unique_email()
    browser.sign_in(addr)
    r = expect(browser.private("/private/no-such-page"), C.NOT_FOUND, "custom not found")
    assert r.headers.get("X-Echo-Email") == addr, describe(r)


def test_subrequest_into_a_stricter_location_keeps_its_limits(server):
    """DirectoryIndex /strict/page.txt under /private: the subrequest is for /strict,
    whose MagicLinkSessionIdle is 100; a session idle for 150 s, good enough for
    /private (3600), must not get /strict's page through the subrequest either."""
    stale = mint(server, "s@example.com", iat_ago=150, seen_ago=150)
    expect(call(server, "/private/x.txt", stale), C.OK)
    unauthenticated(call(server, "/strict/page.txt", stale))
    r = call(server, "/private/idx/", stale)
    assert r.status_code != 200 and "page strict" not in r.text, describe(r)
    expect(call(server, "/private/idx/", mint(server, "s@example.com")), C.OK, "page strict")
