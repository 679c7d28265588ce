"""A Go backend reads the module's session cookie itself: test/interop/session (the real
gorilla/securecookie, JSONEncoder, GOPATH mode against Debian's package) opens cookies
the module set through a real sign-in and through a renewal, with the key-file line.

The Go tool is built here, into a temporary directory, with the build cache under
build/go-cache (as `make interop` does); no network."""
import email.utils
import json
import os
import shutil
import subprocess
import time

import pytest
import requests

import ml_contract as C
import ml_httpd
from ml_client import expect, set_cookies

GO_SRC = ml_httpd.REPO / "test" / "interop" / "session" / "main.go"
GO_ENV = {"GO111MODULE": "off", "GOPATH": "/usr/share/gocode", "GOFLAGS": "",
          "GOCACHE": os.environ.get("ML_GOCACHE", str(ml_httpd.REPO / "build" / "go-cache"))}


@pytest.fixture(scope="module")
def gosession(tmp_path_factory):
    go = shutil.which("go") or "/usr/bin/go"
    if not os.path.exists(go):
        pytest.fail("go not found: `make deps` installs golang-go and "
                    "golang-github-gorilla-securecookie-dev")
    out = tmp_path_factory.mktemp("go") / "gosession"
    proc = subprocess.run([go, "build", "-o", str(out), str(GO_SRC)], capture_output=True,
                          text=True, timeout=300, env={**os.environ, **GO_ENV})
    assert proc.returncode == 0, f"go build failed:\n{proc.stderr}"
    return out


def key_line(server):
    """The key-file line, as a backend would be given it."""
    lines = [ln for ln in server.keyfile.read_text().splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    return lines[0]


def go_open(tool, keys, value, *flags, aud):
    """gosession with the realm the backend expects (the module's: its origin)."""
    return subprocess.run([str(tool), "-aud", aud, *flags, keys, value], capture_output=True,
                          text=True, timeout=30)


def go_claims(tool, keys, value, *flags, aud):
    proc = go_open(tool, keys, value, *flags, aud=aud)
    assert proc.returncode == 0, f"Go refused the module's cookie: {proc.stderr.strip()}"
    return json.loads(proc.stdout)


def date_of(r):
    return int(email.utils.parsedate_to_datetime(r.headers["Date"]).timestamp())


def test_go_opens_the_session_of_a_real_sign_in(browser, server, gosession, unique_email):
    addr = unique_email()
    _, r = browser.sign_in(addr)
    value = browser.cookie(C.SESSION_COOKIE)
    got = go_claims(gosession, key_line(server), value, aud=server.base)
    assert got["email"] == addr
    assert got["iat"] == got["seen"] == date_of(r), (got, r.headers["Date"])
    # the module's own reading of the same cookie agrees
    ours = ml_httpd.open_sealed(server.keyfile, C.SESSION_COOKIE, value)
    assert ours == {"email": addr, "iat": str(got["iat"]), "seen": str(got["seen"]),
                    "aud": server.base, "sid": ours["sid"]}
    assert got["aud"] == server.base
    assert len(ours["sid"]) == 24         # the session's own id (sign-out of one browser)
    # and the same cookie is a session to the module
    expect(browser.private(), C.OK, C.TEXT_SECRET_PAGE)


def test_go_opens_a_renewed_session(server, gosession):
    now = int(time.time())
    claims = {"email": "renew@example.com", "iat": str(now - 600), "seen": str(now - 120),
              "aud": server.base}
    old = ml_httpd.seal(server.keyfile, C.SESSION_COOKIE, claims, at=now - 120)
    # Go, with an idle limit of a minute, refuses the cookie as it is ...
    proc = go_open(gosession, key_line(server), old, "-idle", "60", aud=server.base)
    assert proc.returncode == 1 and "idle" in proc.stderr, proc
    # ... and accepts the one the module renews it into.
    r = requests.get(server.url(C.PRIVATE), allow_redirects=False, timeout=30,
                     headers={"Accept": "text/html", "Cookie": f"{C.SESSION_COOKIE}={old}"})
    expect(r, C.OK)
    renewed = set_cookies(r)[C.SESSION_COOKIE][0]
    server.secrets.add(renewed)
    got = go_claims(gosession, key_line(server), renewed, "-idle", "60", aud=server.base)
    assert got == {"email": "renew@example.com", "iat": now - 600, "seen": date_of(r),
                   "aud": server.base}


def test_go_applies_its_own_limits_and_refuses_what_the_module_refuses(
        browser, server, gosession, tmp_path, unique_email):
    addr = unique_email()
    browser.sign_in(addr)
    value = browser.cookie(C.SESSION_COOKIE)
    keys = key_line(server)
    later = str(int(time.time()) + 7200)
    # idle and lifetime limits, judged at a later time
    assert "idle" in go_open(gosession, keys, value, "-now", later, aud=server.base).stderr
    proc = go_open(gosession, keys, value, "-now", later, "-idle", "10000", "-ttl", "3600",
                   aud=server.base)
    assert proc.returncode == 1 and "lifetime" in proc.stderr, proc
    # another realm (a session of another host sharing the keys)
    proc = go_open(gosession, keys, value, aud="https://other.example")
    assert proc.returncode == 1 and "realm" in proc.stderr, proc
    # wrong name, foreign key, tampered
    assert go_open(gosession, keys, value, "-name", "magic", aud=server.base).returncode == 1
    foreign = ml_httpd.keygen().strip()
    assert go_open(gosession, foreign, value, aud=server.base).returncode == 1
    tampered = value[:20] + ("A" if value[20] != "A" else "B") + value[21:]
    assert go_open(gosession, keys, tampered, aud=server.base).returncode == 1
    # key rotation: a file with a new first key still opens what the old one sealed
    rotated = ml_httpd.write_keyfile(tmp_path / "rotated", [ml_httpd.keygen(), keys])
    assert go_claims(gosession, str(rotated), value, aud=server.base)["email"] == addr
