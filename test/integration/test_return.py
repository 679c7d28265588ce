"""The return path: stored with the link, followed after sign-in, never off-site."""
import pytest

import ml_contract as C
from ml_client import Page, expect, location_path

OFFSITE = ["//evil.com", "https://evil.com", "/\\evil.com", "\\\\evil.com",
           "javascript:alert(1)", "http:evil.com", "//evil.com/%2F..", "\t//evil.com",
           "/\t/evil.com", "evil.com"]
ONSITE = ["/private/", "/private/page?x=1&y=%2F", "/a/b/c"]


def sealed_return(server, mail):
    """The return path the store holds for the mailed link."""
    info = server.link_info(mail.token)
    assert info, f"the store holds nothing for {mail.token}"
    return info["return"]


@pytest.mark.parametrize("target", OFFSITE)
def test_offsite_return_at_login_becomes_root(browser, server, unique_email, target):
    addr = unique_email()
    browser.request_link(addr, return_=target)       # the login page is still a 200
    mail = server.mailbox.take(addr)
    assert sealed_return(server, mail) == "/"
    r = expect(browser.confirm(mail.token), C.SIGNED_IN)
    assert location_path(server, r) == "/", r.headers["Location"]


@pytest.mark.parametrize("target", OFFSITE[:3])
def test_offsite_return_posted_to_generate_becomes_root(browser, server, unique_email,
                                                        target):
    addr = unique_email()
    csrf = browser.login().csrf
    expect(browser.generate({C.CSRF_FIELD: csrf, "email": addr, "return": target}), C.OK)
    mail = server.mailbox.take(addr)
    assert sealed_return(server, mail) == "/"
    r = expect(browser.confirm(mail.token), C.SIGNED_IN)
    assert location_path(server, r) == "/"


@pytest.mark.parametrize("target", ONSITE)
def test_onsite_return_is_followed(browser, server, unique_email, target):
    addr = unique_email()
    browser.request_link(addr, return_=target)
    mail = server.mailbox.take(addr)
    assert sealed_return(server, mail) == target
    r = expect(browser.confirm(mail.token), C.SIGNED_IN)
    assert location_path(server, r) == target


def test_return_is_followed_after_the_code_too(browser, server, unique_email):
    addr = unique_email()
    page = browser.request_link(addr, return_="/private/")
    mail = server.mailbox.take(addr)
    r = expect(browser.enter_code(page, mail.code), C.SIGNED_IN)
    assert location_path(server, r) == "/private/"


def test_login_redirect_round_trip(browser, server, unique_email):
    """/private/ -> login?return=%2Fprivate%2F -> mail -> confirm -> back to /private/."""
    r = expect(browser.private(), C.LOGIN_REDIRECT)
    login = location_path(server, r)
    page_r = expect(browser.get(login, headers={"Accept": "text/html"}), C.OK)
    page = Page(page_r)
    addr = unique_email()
    expect(browser.submit(page, page.form_with("email"), email=addr), C.OK)
    mail = server.mailbox.take(addr)
    r = expect(browser.confirm(mail.token), C.SIGNED_IN)
    assert location_path(server, r) == "/private/"
    expect(browser.get(location_path(server, r), headers={"Accept": "text/html"}),
           C.OK, C.TEXT_SECRET_PAGE)
