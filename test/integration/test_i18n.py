"""Pages and the sign-in mail in the visitor's language (doc/i18n.md): Accept-Language
with weights and fallbacks, a ?lang= choice that wins and is kept in a cookie,
MagicLinkLanguages, Content-Language and Vary, lang/dir on <html>, the mail in the
language of the page that asked for it, and hostile Accept-Language headers."""
import html
import re

import pytest

import ml_contract as C
import ml_httpd
from ml_client import Browser, Page, expect, set_cookies

LANG_COOKIE = "magiclink_lang"
SHIPPED = ("en", "ar", "de", "es", "fr", "ja", "pt-BR")

# What each language's pages and mail say (from po/LANG.po), to tell them apart.
SIGN_IN = {"en": "Sign in", "de": "Anmelden", "fr": "Connexion", "es": "Iniciar sesión",
           "pt-BR": "Entrar", "ja": "ログイン", "ar": "تسجيل الدخول"}
CHECK_EMAIL = {"de": "Prüfen Sie Ihr Postfach", "ja": "メールをご確認ください",
               "en": "Check your email"}
SUBJECT = {"de": "Ihr Anmeldelink für 127.0.0.1", "ja": "127.0.0.1 のログイン用リンク",
           "en": "Your sign-in link for 127.0.0.1"}


def html_lang(r):
    m = re.search(r'<html lang="([^"]+)" dir="(ltr|rtl)">', r.text)
    assert m, f"no <html lang dir> in:\n{r.text[:300]}"
    return m.groups()


def assert_language(r, code):
    """The page is in language `code`: header, <html lang>, and its words."""
    assert r.headers.get("Content-Language") == code, r.headers
    assert "accept-language" in r.headers.get("Vary", "").lower(), r.headers
    assert html_lang(r) == (code, "rtl" if code == "ar" else "ltr")
    if code in SIGN_IN and "/login" in r.url:
        assert f"<h1>{SIGN_IN[code]}</h1>" in r.text, r.text[:2000]


def login(browser, accept=None, **params):
    headers = {"Accept": "text/html"}
    if accept is not None:
        headers["Accept-Language"] = accept
    r = browser.get(C.LOGIN, params=params or None, headers=headers)
    return expect(r, C.OK)


def picker(r):
    """[(code, href, current)] of the language picker's links, in order."""
    return [(m.group(2), html.unescape(m.group(1)), bool(m.group(3)))
            for m in re.finditer(r'<li><a href="([^"]+)" hreflang="([^"]+)" lang="[^"]+"'
                                 r'( aria-current="true")?>', r.text)]


# ---------------------------------------------------------------- negotiation

@pytest.mark.parametrize("accept,code", [
    ("de", "de"), ("de-AT,de;q=0.9,en;q=0.5", "de"), ("fr-CA", "fr"), ("pt", "pt-BR"),
    ("es-419", "es"), ("ja;q=0.4, sv, ar;q=0.6", "ar"), ("sv, nb", "en"), (None, "en"),
    ("*", "en"), ("en;q=0, *", "ar"),
])
def test_accept_language_picks_the_page_language(browser, accept, code):
    assert_language(login(browser, accept), code)


def test_every_shipped_language_renders_with_its_direction(browser):
    for code in SHIPPED:
        r = login(browser, code)
        assert_language(r, code)
        assert ("rtl" in html_lang(r)) == (code == "ar")


def test_error_pages_speak_the_language(browser):
    login(browser)      # a binding cookie, so the link is judged on its own
    r = browser.get(C.VERIFY + "not-a-token", headers={"Accept-Language": "fr"})
    expect(r, C.LINK_INVALID)
    assert_language(r, "fr")
    assert "Lien non valide" in r.text and "Demander un nouveau lien" in r.text
    browser.s.headers["Accept-Language"] = "es"      # as a browser sends it on every request
    page = Page(login(browser))
    r = browser.submit(page, page.form_with("email"), email="not an address")
    expect(r, C.BAD_REQUEST)
    assert_language(r, "es")
    assert "Escribe una dirección de correo válida" in r.text


# ---------------------------------------------------------------- German page, German mail

def test_german_browser_gets_german_pages_and_mail(browser, server, unique_email):
    browser.s.headers["Accept-Language"] = "de-DE,de;q=0.9,en;q=0.5"
    addr = unique_email()
    page = Page(login(browser))
    assert_language(page.response, "de")
    r = browser.submit(page, page.form_with("email"), email=addr)
    expect(r, C.OK, CHECK_EMAIL["de"])
    assert_language(r, "de")
    mail = server.mailbox.take(addr)
    assert mail.msg["Content-Language"] == "de"
    assert mail.msg["Subject"] == SUBJECT["de"]
    assert "Öffnen Sie diesen Link, um sich anzumelden:" in mail.text
    assert "laufen in 15 Minuten ab" in mail.text and "laufen in 15 Minuten ab" in mail.html
    assert '<html lang="de" dir="ltr">' in mail.html
    assert mail.link in mail.html_links and re.fullmatch(r"\d{6}", mail.code)
    # The confirmation page, and signing in, in German too.
    r = browser.get(C.VERIFY + mail.token)
    expect(r, C.OK, "Anmeldung bestätigen")
    assert_language(r, "de")
    expect(browser.confirm(mail.token), C.SIGNED_IN)


def test_the_mail_keeps_the_language_that_asked_for_it(browser, new_browser, server,
                                                       unique_email):
    """The mail is written in the asking page's language when it is asked for; whoever
    opens it later (another browser, another language) does not change it. Pages follow
    each browser's own language."""
    browser.s.headers["Accept-Language"] = "de"
    addr = unique_email()
    page = Page(login(browser))
    check = browser.submit(page, page.form_with("email"), email=addr)
    expect(check, C.OK, CHECK_EMAIL["de"])
    mail = server.mailbox.take(addr)
    other = new_browser()
    other.s.headers["Accept-Language"] = "en-US,en;q=0.9"
    r = other.get(C.VERIFY + mail.token)
    expect(r, C.APPROVAL_OFFER, C.TEXT_APPROVE)
    assert_language(r, "en")
    r = other.post(C.VERIFY + mail.token, data={C.CSRF_FIELD: other.login().csrf})
    expect(r, C.LINK_OTHER_BROWSER, C.TEXT_OTHER_BROWSER)
    assert mail.msg["Content-Language"] == "de" and mail.msg["Subject"] == SUBJECT["de"]
    assert server.mailbox.take_all(addr) == [], "opening the link sent another mail"
    # The code from the German mail still works in the German tab.
    r = browser.enter_code(Page(check), mail.code)
    expect(r, C.SIGNED_IN)


# ---------------------------------------------------------------- an explicit choice

def test_lang_chosen_on_the_page_wins_over_the_header_and_sticks(browser, new_browser, server,
                                                                 unique_email):
    browser.s.headers["Accept-Language"] = "de"
    r = login(browser, lang="ja")
    assert_language(r, "ja")
    value, attrs = set_cookies(r)[LANG_COOKIE]
    assert value == "ja" and attrs.get("httponly") and attrs.get("samesite") == "Lax"
    assert int(attrs["max-age"]) > 86400 * 30 and attrs["path"] == "/"
    # Later pages of this browser: Japanese, whatever Accept-Language says.
    page = Page(login(browser))
    assert_language(page.response, "ja")
    addr = unique_email()
    r = browser.submit(page, page.form_with("email"), email=addr)
    expect(r, C.OK, CHECK_EMAIL["ja"])
    assert_language(r, "ja")
    mail = server.mailbox.take(addr)
    assert mail.msg["Content-Language"] == "ja" and mail.msg["Subject"] == SUBJECT["ja"]
    assert "分後に有効期限が切れます" in mail.text
    # Another browser with the same header is not affected.
    assert_language(login(new_browser(), "de"), "de")
    # Choosing again replaces the choice; an unknown choice changes nothing.
    assert_language(login(browser, lang="fr"), "fr")
    r = login(browser, lang="xx-unknown")
    assert_language(r, "fr")
    assert LANG_COOKIE not in set_cookies(r)


@pytest.mark.parametrize("choice,code", [("pt", "pt-BR"), ("pt_BR", "pt-BR"), ("DE-at", "de"),
                                         ("AR", "ar")])
def test_lang_choice_is_read_like_a_tag(browser, choice, code):
    r = login(browser, "en", lang=choice)
    assert_language(r, code)
    assert set_cookies(r)[LANG_COOKIE][0] == code


def test_a_forged_language_cookie_is_ignored(server):
    b = Browser(server)
    b.s.cookies.set(LANG_COOKIE, "<script>", domain="127.0.0.1", path="/")
    assert_language(login(b, "es"), "es")


def test_picker_lists_every_language_and_marks_the_current(browser):
    r = login(browser, "de", **{"return": "/private/?a=1&b=2"})
    links = picker(r)
    assert [c for c, _, _ in links] == list(SHIPPED)
    assert [c for c, _, cur in links if cur] == ["de"]
    for code, href, _ in links:
        assert href == f"{C.LOGIN}?lang={code}&return=%2Fprivate%2F%3Fa%3D1%26b%3D2"
    assert '<nav class="languages" aria-label="Sprache">' in r.text
    # Following a link: that language, the return path kept.
    r = browser.get(dict((c, h) for c, h, _ in links)["ar"], headers={"Accept-Language": "de"})
    expect(r, C.OK)
    assert_language(r, "ar")
    assert Page(r).form_with("email").fields["return"] == "/private/?a=1&b=2"


# ---------------------------------------------------------------- MagicLinkLanguages

LIMITED = ml_httpd.Config(magic_conf="MagicLinkLanguages de fr en")


def test_magiclink_languages_limits_and_orders(httpd_factory):
    srv = httpd_factory("limited", LIMITED)
    b = Browser(srv)
    assert_language(login(b, "ja"), "de")            # not offered: the first offered
    assert_language(login(b, "en"), "en")
    assert_language(login(b, "fr;q=0.5, en;q=0.4"), "fr")
    assert_language(login(b, None), "de")
    r = login(b, "en", lang="ja")                     # a choice of one not offered
    assert_language(r, "en")
    assert LANG_COOKIE not in set_cookies(r)
    assert [c for c, _, _ in picker(r)] == ["de", "fr", "en"]


def test_one_language_has_no_picker(httpd_factory):
    srv = httpd_factory("only-ja", ml_httpd.Config(magic_conf="MagicLinkLanguages ja"))
    r = login(Browser(srv), "de")
    assert_language(r, "ja")
    assert picker(r) == [] and 'class="languages"' not in r.text


@pytest.mark.parametrize("value,says", [("de xx", "'xx' is not a language compiled"),
                                        ("de de", "'de' is named twice"),
                                        ("", "expected one or more of")])
def test_unknown_language_is_a_config_error(value, says):
    srv = ml_httpd.Httpd("badlang", ml_httpd.Config(magic_conf=f"MagicLinkLanguages {value}"))
    try:
        proc = srv.config_test()
        assert proc.returncode != 0, proc.stdout
        assert "MagicLinkLanguages" in proc.stdout and says in proc.stdout, proc.stdout
    finally:
        srv.cleanup()


# ---------------------------------------------------------------- hostile headers

def _many_ranges():
    return ",".join(["a"] * 3990) + ",de"                      # 3991 ranges, ~8 KB


HOSTILE = {
    "8 KB of one range": ("de-" + "a" * 7990, None),
    "thousands of ranges": (_many_ranges(), "de"),
    "thousands of weighted ranges": (",".join(f"zz-{i % 100:02d};q=0.{i % 999 + 1:03d}"
                                              for i in range(500)) + ",ja;q=0.001", "ja"),
    "malformed weights": ("de;q=abc, fr;q=2, ja;q=-1, es;q=0.5.5, ar;q=", "en"),
    "separators only": (";;;,,, ,;q=1,=,", "en"),
    "nothing acceptable": ("*;q=0", "en"),
    "bytes above ASCII": ("d\xe9, \xff\xfe, ja", "ja"),
    "controls and quotes": ("de\t;\tq=0.1, \"fr\", <ja>", "de"),
}


@pytest.mark.parametrize("case", HOSTILE)
def test_hostile_accept_language_gets_a_normal_page(browser, case):
    header, want = HOSTILE[case]
    r = browser.get(C.LOGIN, headers={"Accept": "text/html",
                                      "Accept-Language": header.encode("latin-1")})
    expect(r, C.OK)
    code = r.headers.get("Content-Language")
    assert code in SHIPPED, r.headers
    if want:
        assert code == want
    assert_language(r, code)
    assert Page(r).form_with("email")
