"""Groups without an identity provider (issue 20): `Require group` of httpd's own
mod_authz_groupfile on the session's user (r->user is the canonical address), with the
gate's rules intact (no session: 302 for navigations, 401 with the challenge for the rest);
members in, signed-in others 403 (AuthzSendForbiddenOnFailure On) or 401 (httpd's
default). MagicLinkGroupFile reads such a file with the same httpd functions for the
identity token's groups claim (test_jwt.py)."""
import time

import pytest
import requests

import ml_contract as C
import ml_httpd
from ml_client import Browser, describe, expect, location_path

GROUPS = """# members are canonical addresses: the domain in lower case
staff: ann@example.com bob@example.com
admins: ann@example.com
mixed: Carol@Example.com
"""

HTTPD_CONFIG = ml_httpd.Config(
    files={"groups": GROUPS},
    server_conf=f"""
LoadModule authz_groupfile_module "{ml_httpd.MODULES_DIR}/mod_authz_groupfile.so"
<Location /staff>
    AuthType MagicLink
    AuthName "Staff"
    AuthGroupFile "{{dir}}/groups"
    Require group staff
    AuthzSendForbiddenOnFailure On
</Location>
<Location /admins>
    AuthType MagicLink
    AuthGroupFile "{{dir}}/groups"
    <RequireAny>
        Require group admins
        Require user root@example.com
    </RequireAny>
    AuthzSendForbiddenOnFailure On
</Location>
<Location /staff401>
    AuthType MagicLink
    AuthGroupFile "{{dir}}/groups"
    Require group staff
</Location>
<Location /mixed>
    AuthType MagicLink
    AuthGroupFile "{{dir}}/groups"
    Require group mixed
    AuthzSendForbiddenOnFailure On
</Location>
""")


def mint(server, email):
    now = int(time.time())
    return ml_httpd.seal(server.keyfile, C.SESSION_COOKIE,
                         {"email": email, "iat": str(now), "seen": str(now),
                          "aud": server.base}, at=now)


def call(server, path, email=None, accept="application/json"):
    h = {"Accept": accept}
    if email:
        h["Cookie"] = f"{C.SESSION_COOKIE}={mint(server, email)}"
    return requests.get(server.url(path), headers=h, allow_redirects=False, timeout=30)


@pytest.mark.parametrize("email", ["ann@example.com", "bob@example.com"])
def test_members_are_admitted(server, email):
    expect(call(server, "/staff/missing.txt", email), C.NOT_FOUND)   # past the gate


def test_a_member_gets_the_page(server):
    page = server.htdocs / "staff" / "index.html"
    page.parent.mkdir(exist_ok=True)
    page.write_text("staff page\n")
    page.chmod(0o644)
    page.parent.chmod(0o755)
    expect(call(server, "/staff/", "ann@example.com", accept="text/html"), C.OK, "staff page")


@pytest.mark.parametrize("email", ["dave@example.com", "friend@other.org"])
def test_signed_in_non_members_get_403(server, expect_errors, email):
    expect_errors(C.AUTHZ_FAILURE_LOG)
    for accept in ("text/html", "application/json"):
        r = expect(call(server, "/staff/", email, accept=accept), 403)
        assert "Location" not in r.headers, describe(r)


def test_httpds_default_for_non_members_is_401_with_the_challenge(server, expect_errors):
    expect_errors(C.AUTHZ_FAILURE_LOG)
    r = expect(call(server, "/staff401/", "dave@example.com"), C.UNAUTHORIZED)
    assert C.search(C.WWW_AUTHENTICATE, r.headers.get("WWW-Authenticate", "")), describe(r)
    expect(call(server, "/staff401/x", "ann@example.com"), C.NOT_FOUND)


def test_without_a_session_the_gate_answers_as_always(server):
    r = expect(call(server, "/staff/", accept="text/html"), C.LOGIN_REDIRECT)
    assert location_path(server, r).lower().startswith(C.LOGIN + "?return=%2fstaff%2f"), describe(r)
    r = expect(call(server, "/staff/"), C.UNAUTHORIZED)
    assert r.headers.get("WWW-Authenticate") == 'MagicLink realm="Staff"', describe(r)


def test_group_or_user(server, expect_errors):
    expect_errors(C.AUTHZ_FAILURE_LOG)
    expect(call(server, "/admins/x", "ann@example.com"), C.NOT_FOUND)
    expect(call(server, "/admins/x", "root@example.com"), C.NOT_FOUND)
    expect(call(server, "/admins/x", "bob@example.com"), 403)


def test_a_real_sign_in_reaches_a_group_location(server, unique_email):
    """The address as typed signs in as its canonical form (the domain lower-cased, the
    local part as typed), which is what the group file must list."""
    b = Browser(server)
    b.request_link("ann@Example.COM")
    mail = server.mailbox.take("ann@example.com")
    expect(b.confirm(mail.token), C.SIGNED_IN)
    expect(b.get("/staff/missing", headers={"Accept": "application/json"}), C.NOT_FOUND)


def test_members_must_be_written_in_canonical_form(server, expect_errors):
    """mod_authz_groupfile compares exactly and r->user's domain is lower case: a member
    written Carol@Example.com is not carol@example.com (doc/backends.md says so)."""
    expect_errors(C.AUTHZ_FAILURE_LOG)
    expect(call(server, "/mixed/x", "carol@example.com"), 403)
