"""Approve on the other device (issue 18.1): the waiting tab shows a two-digit number and
reloads the wait route; the link opened in another browser asks for that number. The right
number approves and the waiting tab signs in by itself; a wrong one or "That wasn't me"
ends the link. The races (two approvals, approval after expiry, approval from the asking
browser itself) through a real httpd; the state lives in the store's link record."""
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

import ml_contract as C
import ml_httpd
from ml_client import Browser, Page, expect, location_path, set_cookies

FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
NUMBER = re.compile(r'class="number"[^>]*>(\d{2})<')


def number_of(page):
    m = NUMBER.search(page.response.text)
    assert m, f"no number on the waiting page:\n{page.response.text}"
    return m.group(1)


def other_number(n):
    return f"{(int(n) + 1) % 100:02d}"


def wait_url(page):
    """The wait route the waiting page reloads (its meta refresh) and links (Continue)."""
    m = re.search(r'http-equiv="refresh" content="(\d+); url=([^"]+)"', page.response.text)
    assert m, f"no refresh on the waiting page:\n{page.response.text}"
    assert 1 <= int(m.group(1)) <= 10, m.group(0)
    assert m.group(2).startswith(C.WAIT), m.group(2)
    return m.group(2)


def approve(b, token, number=None, decision="approve"):
    """Opens the link in browser b and sends the approval form with `number`."""
    page = Page(expect(b.get(C.VERIFY + token, headers={"Accept": "text/html"}),
                       C.APPROVAL_OFFER, C.TEXT_APPROVE))
    form = page.form_with("number")
    assert page.action_url(form).endswith(C.APPROVE + token), form
    fields = {"decision": decision, "number": number or ""}
    return b.submit(page, form, **fields)


@pytest.fixture
def asked(server, unique_email):
    """A desktop (Firefox on Linux) asked for a link: its browser, waiting Page, Mail."""
    desk = Browser(server)
    desk.s.headers["User-Agent"] = FIREFOX_LINUX
    addr = unique_email()
    page = desk.request_link(addr, return_="/private/?from=approval")
    return SimpleNamespace(browser=desk, page=page, mail=server.mailbox.take(addr), addr=addr)


# ---------------------------------------------------------------- the good path

def test_waiting_page_shows_the_number_and_reloads_the_wait_route(asked, server):
    n = number_of(asked.page)
    url = wait_url(asked.page)
    # "Continue", for browsers that do not reload, goes to the same place.
    assert f'href="{url}"' in asked.page.response.text
    # The wait route, still open: the same page, the same number, reloading again.
    again = Page(expect(asked.browser.get(url), C.OK, C.TEXT_CHECK_EMAIL))
    assert number_of(again) == n and wait_url(again) == url
    assert server.link_info(asked.mail.token)["state"] == "open"


def test_the_right_number_approves_and_the_waiting_tab_signs_in(asked, new_browser, server):
    phone = new_browser()
    r = approve(phone, asked.mail.token, number_of(asked.page))
    expect(r, C.APPROVED, C.TEXT_APPROVED)
    assert C.SESSION_COOKIE not in set_cookies(r) and phone.cookie(C.SESSION_COOKIE) is None
    assert server.link_info(asked.mail.token)["state"] == "approved"
    r = expect(asked.browser.get(wait_url(asked.page)), C.SIGNED_IN)
    assert location_path(server, r) == "/private/?from=approval"
    assert asked.browser.cookie(C.SESSION_COOKIE)
    expect(asked.browser.private(), C.OK, C.TEXT_SECRET_PAGE)
    info = server.link_info(asked.mail.token)
    assert info["used"] is True and info["state"] == "used", info
    # Once: a second reload, the link, the code, all say it is used.
    expect(asked.browser.copy().get(wait_url(asked.page)), C.LINK_USED, C.TEXT_USED)
    expect(asked.browser.enter_code(asked.page, asked.mail.code), C.CODE_AFTER_LINK_USED)
    expect(phone.private(), C.LOGIN_REDIRECT)


def test_the_approval_page_describes_the_asking_device(asked, new_browser):
    r = new_browser().get(C.VERIFY + asked.mail.token)
    expect(r, C.APPROVAL_OFFER, r"Firefox on Linux")
    assert re.search(r"\d+ minutes? ago", r.text), r.text
    expect(r, C.APPROVAL_OFFER, C.TEXT_MENTIONS_CODE)        # the code stays the fallback
    # A number is typed, never picked from a list.
    assert "<select" not in r.text and 'name="number" type="text"' in r.text


def test_an_unrecognized_device_is_said_so(browser, new_browser, server, unique_email):
    addr = unique_email()
    browser.s.headers["User-Agent"] = "curl/8.5.0 <script>"
    browser.request_link(addr)
    r = new_browser().get(C.VERIFY + server.mailbox.take(addr).token)
    expect(r, C.APPROVAL_OFFER, r"a browser we do not recognize")
    assert "curl" not in r.text and "<script>" not in r.text


def test_the_link_in_the_asking_browser_still_signs_in_directly(asked):
    expect(asked.browser.confirm(asked.mail.token), C.SIGNED_IN)


def test_the_code_works_after_the_approval_page_was_only_looked_at(asked, new_browser):
    new_browser().get(C.VERIFY + asked.mail.token)
    expect(asked.browser.enter_code(asked.page, asked.mail.code), C.SIGNED_IN)


def test_a_number_typed_with_spaces_or_without_its_zero_counts(asked, new_browser):
    n = number_of(asked.page)
    typed = f" {int(n)} "               # "07" typed as " 7 "
    expect(approve(new_browser(), asked.mail.token, typed), C.APPROVED, C.TEXT_APPROVED)


# ---------------------------------------------------------------- refusals

def test_a_wrong_number_ends_the_link(asked, new_browser, server):
    phone = new_browser()
    r = approve(phone, asked.mail.token, other_number(number_of(asked.page)))
    expect(r, C.APPROVAL_WRONG_NUMBER, C.TEXT_NUMBER_MISMATCH)
    assert server.link_info(asked.mail.token)["state"] == "refused"
    # Over everywhere: the waiting tab, the right number now, the link, the code.
    expect(asked.browser.get(wait_url(asked.page)), C.APPROVAL_DENIED, C.TEXT_REFUSED)
    expect(approve_post(phone, asked.mail.token, number_of(asked.page)), C.APPROVAL_TOO_LATE)
    expect(asked.browser.get(C.VERIFY + asked.mail.token), C.APPROVAL_DENIED, C.TEXT_REFUSED)
    expect(asked.browser.enter_code(asked.page, asked.mail.code), C.APPROVAL_DENIED)
    assert asked.browser.cookie(C.SESSION_COOKIE) is None


def test_that_wasnt_me_ends_the_link(asked, new_browser, server):
    r = approve(new_browser(), asked.mail.token, decision="deny")
    expect(r, C.APPROVAL_DENIED, C.TEXT_REFUSED)
    assert server.link_info(asked.mail.token)["state"] == "refused"
    expect(asked.browser.get(wait_url(asked.page)), C.APPROVAL_DENIED, C.TEXT_REFUSED)
    r = asked.browser.post(C.VERIFY + asked.mail.token, data={C.CSRF_FIELD: asked.page.csrf})
    expect(r, C.APPROVAL_DENIED, C.TEXT_REFUSED)


def test_a_malformed_number_ends_nothing(asked, new_browser, server):
    phone = new_browser()
    for typed in ("", "abc", "123", "4-2"):
        r = approve_post(phone, asked.mail.token, typed)
        expect(r, C.BAD_REQUEST, C.TEXT_APPROVE)
    assert server.link_info(asked.mail.token)["state"] == "open"
    expect(approve(phone, asked.mail.token, number_of(asked.page)), C.APPROVED)


def test_approval_needs_the_csrf_token(asked, new_browser, server):
    phone = new_browser()
    phone.login()
    r = phone.post(C.APPROVE + asked.mail.token,
                   data={"decision": "approve", "number": number_of(asked.page)})
    expect(r, C.CSRF_FAILED)
    assert server.link_info(asked.mail.token)["state"] == "open"


def test_a_forged_token_is_refused_before_any_store(new_browser):
    phone = new_browser()
    r = phone.post(C.APPROVE + "A" * 38, data={C.CSRF_FIELD: phone.login().csrf,
                                               "decision": "approve", "number": "00"})
    expect(r, C.LINK_INVALID, C.TEXT_INVALID)


def approve_post(b, token, number, decision="approve"):
    """The approval POST itself, with b's own CSRF token."""
    return b.post(C.APPROVE + token, data={C.CSRF_FIELD: b.login().csrf,
                                           "decision": decision, "number": number})


# ---------------------------------------------------------------- races

def test_two_approvals_one_wins(asked, new_browser, server):
    """Two other browsers send the right number at once: one approval counts (compare and
    set on the record); the other is told the link is used. The waiting tab signs in
    once."""
    n = number_of(asked.page)
    racers = [new_browser() for _ in range(4)]
    for b in racers:
        b.login()
    go = threading.Barrier(len(racers))

    def race(b):
        go.wait()
        return approve_post(b, asked.mail.token, n).status_code

    with ThreadPoolExecutor(len(racers)) as pool:
        codes = sorted(pool.map(race, racers))
    assert codes.count(C.APPROVED) == 1, codes
    assert all(c == C.APPROVAL_TOO_LATE for c in codes if c != C.APPROVED), codes
    expect(asked.browser.get(wait_url(asked.page)), C.SIGNED_IN)


def test_a_second_approval_after_the_first_is_refused(asked, new_browser, server):
    n = number_of(asked.page)
    expect(approve(new_browser(), asked.mail.token, n), C.APPROVED)
    late = new_browser()
    expect(approve_post(late, asked.mail.token, n), C.APPROVAL_TOO_LATE)
    # A wrong number after the approval ends nothing: the approval stands.
    expect(approve_post(late, asked.mail.token, other_number(n)), C.APPROVAL_TOO_LATE)
    assert server.link_info(asked.mail.token)["state"] == "approved"
    expect(asked.browser.get(wait_url(asked.page)), C.SIGNED_IN)


def test_the_asking_browser_cannot_approve_itself(asked, server):
    r = asked.browser.post(C.APPROVE + asked.mail.token,
                           data={C.CSRF_FIELD: asked.page.csrf, "decision": "approve",
                                 "number": number_of(asked.page)})
    expect(r, 303)
    assert location_path(server, r) == C.VERIFY + asked.mail.token
    assert server.link_info(asked.mail.token)["state"] == "open"
    expect(asked.browser.get(wait_url(asked.page)), C.OK, C.TEXT_CHECK_EMAIL)
    assert asked.browser.cookie(C.SESSION_COOKIE) is None


def test_a_head_of_the_wait_route_collects_nothing(asked, new_browser, server):
    expect(approve(new_browser(), asked.mail.token, number_of(asked.page)), C.APPROVED)
    r = expect(asked.browser.request("HEAD", wait_url(asked.page)), C.OK)
    assert C.SESSION_COOKIE not in set_cookies(r)
    assert server.link_info(asked.mail.token)["state"] == "approved"
    expect(asked.browser.get(wait_url(asked.page)), C.SIGNED_IN)


def test_only_the_asking_browser_collects_an_approval(asked, new_browser, server):
    """The wait URL is bound to the asking browser: the approver (or anyone who copies
    the URL) gets no session from it, and the approval is still there for the asker."""
    phone = new_browser()
    expect(approve(phone, asked.mail.token, number_of(asked.page)), C.APPROVED)
    for b in (phone, new_browser()):
        r = expect(b.get(wait_url(asked.page)), C.LINK_OTHER_BROWSER, C.TEXT_OTHER_BROWSER)
        assert C.SESSION_COOKIE not in set_cookies(r)
    assert server.link_info(asked.mail.token)["state"] == "approved"
    expect(asked.browser.get(wait_url(asked.page)), C.SIGNED_IN)


@pytest.fixture(scope="module")
def short(httpd_factory):
    """A server whose links live 2 seconds."""
    return httpd_factory("ttl2", ml_httpd.Config(server_conf="MagicLinkLinkTTL 2"))


def test_an_approval_after_expiry_is_refused(short, unique_email):
    desk, phone = Browser(short), Browser(short)
    addr = unique_email()
    page = desk.request_link(addr)
    mail = short.mailbox.take(addr)
    n = number_of(page)
    form_page = Page(expect(phone.get(C.VERIFY + mail.token), C.APPROVAL_OFFER))
    info = short.link_info(mail.token)
    time.sleep(max(0.0, min(3.0, info["exp"] + 1 - time.time())))
    r = phone.submit(form_page, form_page.form_with("number"), decision="approve", number=n)
    expect(r, C.APPROVAL_TOO_LATE, C.TEXT_EXPIRED)
    r = expect(desk.get(wait_url(page)), C.LINK_EXPIRED, C.TEXT_EXPIRED)
    assert "http-equiv=\"refresh\"" not in r.text          # the reloading stops
    assert desk.cookie(C.SESSION_COOKIE) is None


# ---------------------------------------------------------------- the admin's log

LINE = re.compile(r"MAGICLINK-(\d+): (.*?) email=(\S+) client=(\S+) outcome=(\w+)")


def test_each_approval_decision_is_one_log_line(server, new_browser, unique_email):
    since = server.error_log_size()
    runs = []
    for decision in ("approve", "wrong", "deny"):
        desk, addr = new_browser(), unique_email()
        page = desk.request_link(addr)
        mail = server.mailbox.take(addr)
        n = number_of(page)
        if decision == "approve":
            expect(approve(new_browser(), mail.token, n), C.APPROVED)
            expect(desk.get(wait_url(page)), C.SIGNED_IN)
        elif decision == "wrong":
            expect(approve(new_browser(), mail.token, other_number(n)), C.APPROVAL_WRONG_NUMBER)
        else:
            expect(approve(new_browser(), mail.token, decision="deny"), C.APPROVAL_DENIED)
        runs.append(addr)
    text = ml_httpd.error_log_since(server, since)
    got = [(tag, outcome, email) for tag, _, email, _, outcome in LINE.findall(text)]
    a, w, d = runs
    assert got == [("110", "mailed", a), ("170", "approved", a), ("152", "approval", a),
                   ("110", "mailed", w), ("172", "wrong_number", w),
                   ("110", "mailed", d), ("171", "denied", d)], text
