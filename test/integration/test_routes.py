"""GET /magic/login, and what the handler says to unknown paths and wrong methods."""
import pytest

import ml_contract as C
import ml_httpd
from ml_client import Browser, allowed, expect, set_cookies


def test_login_page_has_the_same_csrf_token_in_meta_and_form(browser):
    page = browser.login()
    token = page.meta.get(C.CSRF_META)
    assert token, f"no <meta name={C.CSRF_META}> in\n{page.response.text}"
    assert page.form_with("email").fields.get(C.CSRF_FIELD) == token
    assert page.response.headers["Content-Type"].startswith("text/html")


def test_login_sets_the_binding_cookie_httponly_samesite_lax(browser):
    r = browser.get(C.LOGIN)
    expect(r, C.OK)
    cookies = set_cookies(r)
    assert C.BIND_COOKIE in cookies, f"no {C.BIND_COOKIE} in {cookies}"
    value, attrs = cookies[C.BIND_COOKIE]
    assert value and attrs.get("httponly") is True
    assert str(attrs.get("samesite", "")).lower() == "lax"
    assert "secure" not in attrs            # MagicLinkCookieSecure Off


def test_revisiting_keeps_the_token_and_another_browser_gets_another(browser, new_browser):
    first = browser.login().csrf
    assert browser.login().csrf == first
    assert browser.login(return_="/private/").csrf == first
    other = new_browser().login().csrf
    assert other and other != first


def test_login_form_posts_to_generate(browser, server):
    page = browser.login()
    form = page.form_with("email")
    assert form.method == "POST"
    assert page.action_url(form) == server.url(C.GENERATE)


def test_head_of_login_has_no_body(browser):
    r = browser.request("HEAD", C.LOGIN)
    expect(r, C.OK)
    assert r.content == b""


@pytest.mark.parametrize("path", ["/magic/nope", "/magic/loginx", "/magic/verifyx/abc",
                                  "/magic/generate/extra"])
def test_unknown_path_is_404(browser, path):
    expect(browser.get(path), C.NOT_FOUND)


@pytest.mark.parametrize("method, path, one_allowed", [
    ("PUT", C.GENERATE, "POST"),
    ("PUT", C.LOGIN, "GET"),
    ("DELETE", C.VERIFY + "abc", "POST"),
    ("PUT", C.CODE, "POST"),
    ("DELETE", C.LOGOUT, "POST"),
    ("PUT", C.APPROVE + "abc", "POST"),
    ("POST", C.WAIT + "abc", "GET"),
])
def test_wrong_method_is_405_with_allow(browser, method, path, one_allowed):
    r = expect(browser.request(method, path), C.BAD_METHOD)
    allow = allowed(r)
    assert one_allowed in allow and method not in allow, f"Allow: {r.headers.get('Allow')!r}"



def test_directory_sections_skip_the_handler_and_location_sections_do_not(httpd_factory,
                                                                        expect_errors):
    """The handler's URLs are not files, so there is no <Directory> walk for them (as
    for proxied URLs): a <Directory> over the path they would map to does not apply,
    while one over real files does, and <Location> sections apply to both."""
    conf = ml_httpd.Config(
        files={"htdocs/magic/index.html": "a file", "htdocs/shut/index.html": "shut"},
        server_conf='<Directory "{dir}/htdocs/magic">\n    Require all denied\n</Directory>\n'
                    '<Directory "{dir}/htdocs/shut">\n    Require all denied\n</Directory>\n'
                    '<Location /magic/code>\n    Require ip 192.0.2.1\n</Location>')
    server = httpd_factory("dirs", conf)
    expect_errors(r"AH01630: client denied by server configuration: .*/(shut/index\.html|magic/code)")
    browser = Browser(server)
    expect(browser.get("/shut/index.html"), 403)
    expect(browser.get(C.LOGIN), C.OK)
    expect(browser.post(C.CODE, data={C.CSRF_FIELD: browser.login().csrf}), 403)


# One route table splits the path, answers, and names the methods of a 405: the whole
# Allow set per route, so a route that loses or gains a method shows here.
@pytest.mark.parametrize("path, methods", [
    (C.LOGIN, {"GET", "HEAD"}),
    (C.GENERATE, {"GET", "HEAD", "POST"}),
    (C.CODE, {"GET", "HEAD", "POST"}),
    (C.LOGOUT, {"GET", "HEAD", "POST"}),
    (C.VERIFY + "abc", {"GET", "HEAD", "POST"}),
    (C.APPROVE + "abc", {"GET", "HEAD", "POST"}),
    (C.WAIT + "abc", {"GET", "HEAD"}),
    ("/magic/session", {"GET", "HEAD", "OPTIONS"}),
])
def test_each_route_allows_exactly_its_methods(browser, path, methods):
    r = expect(browser.request("PATCH", path), C.BAD_METHOD)
    assert allowed(r) == methods, f"{path}: Allow: {r.headers.get('Allow')!r}"


def test_an_exact_route_name_wins_over_a_token_route(browser):
    """/magic/verify/login is the sign-in page of a handler at /magic/verify (the base is
    taken from the route names), not a link whose token is "login"."""
    r = expect(browser.get("/magic/verify/login"), C.OK)
    assert 'action="/magic/verify/generate"' in r.text, r.text


def test_the_base_redirects_to_the_sign_in_page(browser):
    r = expect(browser.get("/magic/"), 302)
    assert r.headers["Location"].endswith(C.LOGIN)
