"""POST /magic/generate: the mail, the "check your email" page, and every refusal."""
import email.utils
import html
import re
import urllib.parse

import pytest
import requests

import ml_contract as C
from ml_client import expect


def form(csrf, address, **more):
    return {C.CSRF_FIELD: csrf, "email": address, **more}


# ---------------------------------------------------------------- the mail

def test_allowed_address_gets_link_and_code_in_both_parts(browser, server, unique_email):
    addr = unique_email()
    browser.request_link(addr)
    mail = server.mailbox.take(addr)
    assert mail.to == [addr]
    assert email.utils.parseaddr(mail.msg["From"]) == C.FROM_HEADER
    assert mail.msg["Subject"]
    assert mail.text and mail.html, "want a text/plain and a text/html part"
    assert mail.link.startswith(server.url(C.VERIFY)) and mail.token
    assert mail.link in mail.html_links
    assert re.fullmatch(r"\d{6}", mail.code)


def _stored_record(server, addr):
    """The link record for `addr` as the store's file holds it (one "k=value" line per
    claim), read from the LMDB data file itself."""
    data = (server.dir / "state" / "data.mdb").read_bytes()
    i = data.find(f"\ne={addr}\n".encode())
    assert i >= 0, f"no record for {addr} in the store's file"
    start, end = data.rfind(b"ml1\n", 0, i), data.find(b"\nx=", i)
    assert 0 <= start and end > 0, "the record is not where it should be"
    return data[start:data.find(b"\n", end + 1) + 1].decode()


def test_link_token_is_opaque_and_its_claims_are_in_the_store(browser, server, unique_email):
    addr = unique_email()
    page = browser.request_link(addr)
    mail = server.mailbox.take(addr)
    pending = page.form_with("pending").fields["pending"]
    for token in (mail.token, pending):
        assert re.fullmatch(C.LINK_TOKEN, token), token
    assert mail.token != pending
    info = server.link_info(mail.token)
    assert info is not None, "the store holds nothing for the link"
    assert set(info) >= C.LINK_INFO, info
    assert info["email"] == addr and info["return"] == "/", info
    assert info["used"] is False and info["tries"] == 0, info
    assert info["exp"] - info["iat"] == C.LINK_TTL_DEFAULT, info
    assert server.link_info(pending) == info, "the pending value names the same link"
    record = _stored_record(server, addr)
    assert "\nc=" in record and mail.code not in record, "the code must be stored hashed"
    assert mail.token not in record and pending not in record


def test_unknown_address_gets_no_mail(browser, unique_email):
    addr = unique_email("unknown.example.net")
    browser.request_link(addr)
    browser.assert_no_mail(addr)


def _normalized(page, address):
    """The page's text with its per-request values (pending, csrf) and the address
    replaced by placeholders."""
    text = page.response.text
    values = [v for k, v in page.inputs.items() if k in ("pending", C.CSRF_FIELD)]
    values += [page.meta.get(C.CSRF_META, "")]
    for v in filter(None, values):
        for form_ in {v, html.escape(v), v.replace("=", "&#61;"), v.replace("=", "&#x3D;")}:
            text = text.replace(form_, "<VALUE>")
    for form_ in {address, html.escape(address)}:
        text = text.replace(form_, "<EMAIL>")
    # The number a second device asks for is drawn per link, like the pending value.
    text = re.sub(r'(class="number"[^>]*>)\d{2}<', r"\1<NUMBER><", text)
    return text


def test_unknown_and_allowed_addresses_get_identical_pages(browser, server, unique_email):
    known, unknown = unique_email(), unique_email("unknown.example.net")
    a = browser.request_link(known)
    b = browser.request_link(unknown)
    server.mailbox.take(known)
    assert a.response.status_code == b.response.status_code
    assert a.response.headers["Content-Type"] == b.response.headers["Content-Type"]
    assert sorted(a.response.cookies.keys()) == sorted(b.response.cookies.keys())
    assert _normalized(a, known) == _normalized(b, unknown)
    assert b.form_with("pending").fields["pending"], "unknown address: no pending value"


def test_check_email_page_has_the_code_form(browser, unique_email):
    page = browser.request_link(unique_email())
    f = page.form_with("pending")
    assert "code" in f.fields and f.method == "POST"
    assert page.action_url(f).endswith(C.CODE)


def test_csrf_token_may_come_in_the_header(browser, server, unique_email):
    addr = unique_email()
    csrf = browser.login().csrf
    r = browser.generate({"email": addr}, headers={C.CSRF_HEADER: csrf})
    expect(r, C.OK, C.TEXT_CHECK_EMAIL)
    assert server.mailbox.take(addr).token


# ---------------------------------------------------------------- CSRF

def test_no_binding_cookie_is_403(browser, new_browser, unique_email):
    addr = unique_email()
    csrf = browser.login().csrf
    stranger = new_browser()              # has never seen the login page
    expect(stranger.generate(form(csrf, addr)), C.CSRF_FAILED)
    expect(stranger.generate({"email": addr}, headers={C.CSRF_HEADER: csrf}), C.CSRF_FAILED)
    browser.assert_no_mail(addr)


def test_wrong_or_missing_csrf_token_is_403(browser, new_browser, unique_email):
    addr = unique_email()
    csrf = browser.login().csrf
    others = new_browser().login().csrf
    expect(browser.generate(form(others, addr)), C.CSRF_FAILED)
    expect(browser.generate(form(csrf[:-2] + ("AA" if csrf[-2:] != "AA" else "BB"), addr)),
           C.CSRF_FAILED)
    expect(browser.generate(form("", addr)), C.CSRF_FAILED)
    expect(browser.generate({"email": addr}), C.CSRF_FAILED)
    expect(browser.generate({"email": addr}, headers={C.CSRF_HEADER: others}), C.CSRF_FAILED)
    browser.assert_no_mail(addr)


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("address", ["", "plainaddress", "a@", "@example.com",
                                     "a@@example.com", "a@example..com", "a b@example.com"])
def test_malformed_address_is_400(browser, address):
    csrf = browser.login().csrf
    expect(browser.generate(form(csrf, address)), C.BAD_REQUEST)


@pytest.mark.parametrize("address", ["a@example.com\r\nBcc: victim@other.org",
                                     "a@example.com\nBcc: victim@other.org",
                                     "a@example.com\r", "a\r\n@example.com"])
def test_address_with_cr_or_lf_is_400(browser, address):
    csrf = browser.login().csrf
    expect(browser.generate(form(csrf, address)), C.BAD_REQUEST)
    browser.assert_no_mail("victim@other.org", "a@example.com")


def test_overlong_address_is_400(browser):
    address = "a" * (300 - len("@example.com")) + "@example.com"
    assert len(address) == 300
    csrf = browser.login().csrf
    expect(browser.generate(form(csrf, address)), C.BAD_REQUEST)
    browser.assert_no_mail(address)


def test_missing_email_field_is_400(browser):
    csrf = browser.login().csrf
    expect(browser.generate({C.CSRF_FIELD: csrf}), C.BAD_REQUEST)
    expect(browser.generate({C.CSRF_FIELD: csrf, "e-mail": "a@example.com"}), C.BAD_REQUEST)


@pytest.mark.parametrize("content_type, body, status", [
    ("application/x-www-form-urlencoded", b"\x00\xff%%zz&&==%G1;;\r\n", C.BAD_REQUEST),
    ("application/x-www-form-urlencoded", b"%", C.BAD_REQUEST),
    ("application/json", b'{"email": "a@example.com"}', C.BAD_BODY_TYPE),
    ("text/plain", b"email=a@example.com", C.BAD_BODY_TYPE),
])
def test_garbage_body_is_refused(browser, content_type, body, status):
    csrf = browser.login().csrf           # CSRF passes (header): only the body is wrong
    r = browser.generate(body, headers={"Content-Type": content_type, C.CSRF_HEADER: csrf})
    expect(r, status)


# ---------------------------------------------------------------- body limit

def _padded(csrf, address, size):
    head = urllib.parse.urlencode(form(csrf, address, pad=""))
    return (head + "x" * (size - len(head))).encode()


FORM_TYPE = {"Content-Type": "application/x-www-form-urlencoded"}


def test_body_over_the_limit_is_413(browser, unique_email):
    addr = unique_email()
    body = _padded(browser.login().csrf, addr, C.MAX_BODY + 1024)
    expect(browser.generate(body, headers=FORM_TYPE), C.TOO_BIG)
    browser.assert_no_mail(addr)


def test_chunked_body_over_the_limit_is_413(browser, unique_email):
    addr = unique_email()
    body = _padded(browser.login().csrf, addr, C.MAX_BODY + 1024)
    chunks = iter([body[:4000], body[4000:8000], body[8000:]])
    r = browser.generate(chunks, headers=FORM_TYPE)
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    expect(r, C.TOO_BIG)
    browser.assert_no_mail(addr)


@pytest.mark.parametrize("chunked", [False, True])
def test_body_under_the_limit_is_accepted(browser, server, unique_email, chunked):
    addr = unique_email()
    body = _padded(browser.login().csrf, addr, C.MAX_BODY - 512)
    data = iter([body[:4000], body[4000:]]) if chunked else body
    expect(browser.generate(data, headers=FORM_TYPE), C.OK)
    server.mailbox.take(addr)


# ---------------------------------------------------------------- origin of the link

@pytest.mark.parametrize("headers", [
    {"Host": "evil.example"},
    {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"},
    {"Host": "evil.example:8443", "Forwarded": "host=evil.example;proto=https"},
])
def test_link_origin_ignores_request_host_headers(browser, server, unique_email, headers):
    addr = unique_email()
    csrf = browser.login().csrf
    # Cookies by hand: requests would match the jar against the forged Host.
    r = requests.post(server.url(C.GENERATE), data=form(csrf, addr), timeout=30,
                      allow_redirects=False, headers={"Cookie": browser.cookie_header(),
                                                      **headers})
    expect(r, C.OK)
    mail = server.mailbox.take(addr)
    assert mail.link.startswith(server.url(C.VERIFY))
    assert "evil.example" not in mail.text and "evil.example" not in mail.html
