"""POST /magic/code: the code from the mail, typed into the waiting tab."""
import pytest

import ml_contract as C
from ml_client import expect, location_path, set_cookies


@pytest.fixture
def waiting(browser, server, unique_email):
    """(the "check your email" Page, the Mail) of a fresh request by `browser`."""
    addr = unique_email()
    page = browser.request_link(addr)
    return page, server.mailbox.take(addr)


def wrong(code):
    return f"{(int(code) + 1) % 1000000:06d}"


def test_right_code_signs_in(browser, server, waiting):
    page, mail = waiting
    r = expect(browser.enter_code(page, mail.code), C.SIGNED_IN)
    assert location_path(server, r) == "/"
    value, attrs = set_cookies(r)[C.SESSION_COOKIE]
    assert value and attrs.get("httponly") is True and attrs.get("path") == "/"
    expect(browser.private(), C.OK, C.TEXT_SECRET_PAGE)


def test_wrong_code_is_refused_then_the_right_one_works(browser, waiting):
    page, mail = waiting
    r = expect(browser.enter_code(page, wrong(mail.code)), C.WRONG_CODE)
    assert C.SESSION_COOKIE not in set_cookies(r)
    assert "<" in r.text, "want an HTML page saying so"
    expect(browser.enter_code(page, mail.code), C.SIGNED_IN)


@pytest.mark.parametrize("code", ["", "12345", "1234567", "abcdef", "12 456"])
def test_malformed_code_is_refused(browser, waiting, code):
    page, mail = waiting
    expect(browser.enter_code(page, code), C.WRONG_CODE)


def test_malformed_codes_cost_no_try_and_a_spaced_code_is_read(browser, server, waiting):
    page, mail = waiting
    for code in ("", "12345", "1234567", "abcdef", "12 456", "12345x"):
        expect(browser.enter_code(page, code), C.BAD_REQUEST)
    info = server.link_info(page.form_with("pending").fields["pending"])
    assert info and info["tries"] == 0, info
    expect(browser.enter_code(page, f" {mail.code[:3]} - {mail.code[3:]} "), C.SIGNED_IN)


def test_the_try_after_the_last_allowed_one_is_refused_even_with_the_right_code(
        browser, waiting):
    page, mail = waiting
    for _ in range(C.CODE_TRIES):
        expect(browser.enter_code(page, wrong(mail.code)), C.WRONG_CODE)
    r = expect(browser.enter_code(page, mail.code), C.CODE_TRIES_EXHAUSTED)
    assert C.SESSION_COOKIE not in set_cookies(r)


def test_the_last_allowed_try_may_still_be_right(browser, waiting):
    page, mail = waiting
    for _ in range(C.CODE_TRIES - 1):
        expect(browser.enter_code(page, wrong(mail.code)), C.WRONG_CODE)
    expect(browser.enter_code(page, mail.code), C.SIGNED_IN)


def test_after_the_code_the_link_is_used(browser, waiting):
    """The page (GET) and the button (POST) of the link both say it was used."""
    page, mail = waiting
    expect(browser.enter_code(page, mail.code), C.SIGNED_IN)
    expect(browser.get(C.VERIFY + mail.token, headers={"Accept": "text/html"}), C.LINK_USED,
           C.TEXT_USED)
    r = browser.post(C.VERIFY + mail.token, data={C.CSRF_FIELD: browser.login().csrf})
    expect(r, C.LINK_USED, C.TEXT_USED)


def test_after_the_link_the_code_is_used(browser, waiting):
    page, mail = waiting
    expect(browser.confirm(mail.token), C.SIGNED_IN)
    r = expect(browser.enter_code(page, mail.code), C.CODE_AFTER_LINK_USED)
    assert C.SESSION_COOKIE not in set_cookies(r)


def test_code_used_twice_is_refused(browser, waiting):
    page, mail = waiting
    expect(browser.enter_code(page, mail.code), C.SIGNED_IN)
    expect(browser.enter_code(page, mail.code), C.CODE_AFTER_LINK_USED)


def test_missing_or_wrong_csrf_is_403(browser, new_browser, waiting):
    page, mail = waiting
    expect(browser.enter_code(page, mail.code, **{C.CSRF_FIELD: ""}), C.CSRF_FAILED)
    expect(browser.enter_code(page, mail.code, **{C.CSRF_FIELD: new_browser().login().csrf}),
           C.CSRF_FAILED)
    expect(browser.enter_code(page, mail.code), C.SIGNED_IN)


def test_pending_value_does_not_work_in_another_browser(browser, new_browser, waiting):
    page, mail = waiting
    other = new_browser()
    csrf = other.login().csrf
    r = other.post(C.CODE, data={"pending": page.form_with("pending").fields["pending"],
                                 "code": mail.code, C.CSRF_FIELD: csrf})
    expect(r, C.CODE_OTHER_BROWSER)
    assert other.cookie(C.SESSION_COOKIE) is None


def test_tampered_pending_is_400(browser, waiting):
    page, mail = waiting
    pending = page.form_with("pending").fields["pending"]
    tampered = pending[:-6] + ("AAAAAA" if not pending.endswith("AAAAAA") else "BBBBBB")
    expect(browser.enter_code(page, mail.code, pending=tampered), C.PENDING_INVALID)
    expect(browser.enter_code(page, mail.code, pending="garbage"), C.PENDING_INVALID)
    # the link's token: the same id under the link's MAC, not a pending value
    expect(browser.enter_code(page, mail.code, pending=mail.token), C.PENDING_INVALID)
    expect(browser.enter_code(page, mail.code), C.SIGNED_IN)


def test_code_for_an_unknown_address_is_simply_wrong(browser, unique_email):
    page = browser.request_link(unique_email("unknown.example.net"))
    for code in ("000000", "123456"):
        r = expect(browser.enter_code(page, code), C.WRONG_CODE)
        assert C.SESSION_COOKIE not in set_cookies(r)
