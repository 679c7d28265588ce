"""A flow that forgives (issue 18.2) and the sign-out pages (issue 14.7): "Use a different
address" and "Send again" on the waiting page, the return path kept on every way back to
sign-in, the handler's own URLs never answering with httpd's bare pages, the signed-in
sign-in page, and GET logout (the URL an application links to) with both sign-outs."""
import html
import re
import time
import urllib.parse

import ml_contract as C
from ml_client import Browser, Page, expect, location_path, set_cookies

RET = "/private/?from=forgiving&x=1"


def hrefs(r):
    return [html.unescape(h) for h in re.findall(r'href="([^"]+)"', r.text)]


def login_links_keep(r, ret):
    """The page's links to the sign-in page, each with ?return=ret."""
    links = [h for h in hrefs(r) if urllib.parse.urlsplit(h).path == C.LOGIN]
    assert links, f"no link to the sign-in page:\n{r.text}"
    for h in links:
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(h).query)
        assert q.get("return") == [ret], (h, r.text)
    return links


# ---------------------------------------------------------------- our URLs, never httpd's

def test_get_of_generate_and_code_goes_to_the_sign_in_page(browser, server):
    for path in (C.GENERATE, C.CODE):
        r = expect(browser.get(path), 303)
        assert location_path(server, r) == C.LOGIN


def test_unknown_routes_get_a_styled_404(browser):
    for path in ("/magic/nope", "/magic/generate/extra", "/magic/wait/", "/magic/approve/"):
        r = expect(browser.get(path, headers={"Accept": "text/html"}), C.NOT_FOUND,
                   C.TEXT_NOT_FOUND)
        assert r.headers["Content-Type"].startswith("text/html; charset=utf-8")
        assert "<header>" in r.text and C.LOGIN in hrefs(r), r.text


def test_get_logout_without_a_session_is_the_signed_out_page(browser):
    r = expect(browser.get(C.LOGOUT), C.OK, C.TEXT_SIGNED_OUT)
    assert C.LOGIN in hrefs(r)


# ---------------------------------------------------------------- sign-out pages

def _sign_out_forms(page):
    forms = {f.fields.get("scope"): f for f in page.forms if page.action_url(f).endswith(C.LOGOUT)}
    assert set(forms) == {"browser", "everywhere"}, page.forms
    for f in forms.values():
        assert f.method == "POST" and f.fields[C.CSRF_FIELD] == page.csrf
    return forms


def test_get_logout_offers_both_sign_outs_and_the_post_lands_on_signed_out(new_browser, server,
                                                                          unique_email):
    addr = unique_email()
    mine, elsewhere = new_browser(), new_browser()
    mine.sign_in(addr)
    elsewhere.sign_in(addr)
    page = Page(expect(mine.get(C.LOGOUT), C.OK, re.escape(addr)))
    forms = _sign_out_forms(page)
    # "Sign out": this browser only; the POST lands on the signed-out page.
    r = expect(mine.submit(page, forms["browser"]), C.LOGGED_OUT)
    assert location_path(server, r) == C.LOGOUT
    expect(mine.get(C.LOGOUT), C.OK, C.TEXT_SIGNED_OUT)
    expect(mine.private(), C.LOGIN_REDIRECT)
    expect(elsewhere.private(), C.OK, C.TEXT_SECRET_PAGE)
    # "Sign out everywhere" from the other browser's page ends the address's sessions.
    third = new_browser()
    third.sign_in(addr)
    page = Page(expect(elsewhere.get(C.LOGOUT), C.OK))
    expect(elsewhere.submit(page, _sign_out_forms(page)["everywhere"]), C.LOGGED_OUT)
    expect(third.private(), C.LOGIN_REDIRECT)


def test_a_signed_in_browser_gets_continue_and_sign_out_not_a_form(browser, unique_email):
    addr = unique_email()
    browser.sign_in(addr)
    page = browser.login(return_=RET)
    r = page.response
    assert re.search(r"signed in as <strong>" + re.escape(addr), r.text, re.I), r.text
    assert not any("email" in f.fields for f in page.forms), page.forms
    assert RET in hrefs(r)                                   # Continue
    _sign_out_forms(page)


# ---------------------------------------------------------------- the return path

def test_use_a_different_address_keeps_the_return_path(browser, server, unique_email):
    addr = unique_email()
    page = browser.request_link(addr, return_=RET)
    server.mailbox.take(addr)
    login_links_keep(page.response, RET)
    # ...and so does the page it leads to.
    (link,) = login_links_keep(page.response, RET)
    again = Page(expect(browser.get(link), C.OK))
    assert again.form_with("email").fields["return"] == RET


def test_error_pages_keep_the_return_path(browser, new_browser, server, unique_email):
    addr = unique_email()
    browser.request_link(addr, return_=RET)
    mail = server.mailbox.take(addr)
    expect(browser.confirm(mail.token), C.SIGNED_IN)
    # A used link: its "request a new link" button.
    login_links_keep(expect(new_browser().get(C.VERIFY + mail.token), C.LINK_USED), RET)
    # A refusal on another device: its button.
    desk, phone = new_browser(), new_browser()
    other = unique_email()
    desk.request_link(other, return_=RET)
    token = server.mailbox.take(other).token
    page = Page(expect(phone.get(C.VERIFY + token), C.APPROVAL_OFFER))
    r = phone.submit(page, page.form_with("number"), decision="deny", number="")
    login_links_keep(expect(r, C.APPROVAL_DENIED, C.TEXT_REFUSED), RET)
    # A CSRF failure on the form: its button.
    stranger = new_browser()
    r = stranger.generate({"email": unique_email(), "return": RET, C.CSRF_FIELD: "x"})
    login_links_keep(expect(r, C.CSRF_FAILED), RET)


# ---------------------------------------------------------------- send again

def test_send_again_appears_after_a_short_wait_and_sends(browser, server, unique_email):
    """Right after asking: no "Send again". Half a minute later the waiting page (its
    reload) offers it; it asks for a new link for the same address and return path,
    within the rate limits, and the new mail's link works."""
    addr = unique_email()
    page = browser.request_link(addr, return_=RET)
    server.mailbox.take(addr)
    assert not any(page.action_url(f).endswith(C.GENERATE) for f in page.forms)
    wait = re.search(r'url=([^"]+)"', page.response.text).group(1)
    time.sleep(31)
    later = Page(expect(browser.get(wait), C.OK, C.TEXT_CHECK_EMAIL))
    form = next(f for f in later.forms if later.action_url(f).endswith(C.GENERATE))
    assert form.fields["email"] == addr and form.fields["return"] == RET
    r = expect(browser.submit(later, form), C.OK, C.TEXT_CHECK_EMAIL)
    mail = server.mailbox.take(addr)
    r = expect(browser.confirm(mail.token), C.SIGNED_IN)
    assert location_path(server, r) == RET


def test_a_wrong_code_keeps_the_number_and_the_ways_on(browser, server, unique_email):
    """After a wrong code the waiting page keeps the number, "Continue" (not reloading:
    the visitor is typing) and "Use a different address" with the return path."""
    addr = unique_email()
    page = browser.request_link(addr, return_=RET)
    mail = server.mailbox.take(addr)
    number = re.search(r'class="number"[^>]*>(\d{2})<', page.response.text).group(1)
    wrong = f"{(int(mail.code) + 1) % 1000000:06d}"
    r = expect(browser.enter_code(page, wrong), C.WRONG_CODE)
    assert re.search(r'class="number"[^>]*>' + number + "<", r.text), r.text
    assert 'http-equiv="refresh"' not in r.text
    assert any(h.startswith(C.WAIT) and h.endswith("?stop") for h in hrefs(r)), hrefs(r)
    login_links_keep(r, RET)
    expect(browser.enter_code(Page(r), mail.code), C.SIGNED_IN)
