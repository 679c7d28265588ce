"""The admin's log: one notice line per sign-in decision, naming the address (or its
HMAC with MagicLinkLogAddresses Hashed), the client and the outcome, never a link or a
code; and the shipped fail2ban filter, run by the real fail2ban-regex over the log this
server wrote, counts exactly the failed steps."""
import collections
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import ml_contract as C
import ml_httpd
from ml_client import Browser, expect

REPO = Path(__file__).resolve().parents[2]
FILTER = REPO / "packaging" / "fail2ban" / "filter.d" / "apache-magiclink.conf"
SYSTEM = Path("/etc/fail2ban")

HTTPD_CONFIG = ml_httpd.Config(rate_limits=("email 2 3600", "email-total 1000 3600",
                                            "ip 100000 3600", "domain 100000 3600"))
LINE = re.compile(r"MAGICLINK-(\d+): (.*?) email=(\S+) client=(\S+) outcome=(\w+)")


def wrong(code):
    return f"{(int(code) + 1) % 1000000:06d}"


def events(server, since):
    text = ml_httpd.error_log_since(server, since)
    return [m.groups() for m in LINE.finditer(text)], text


def link_requested(server, addr):
    """A browser that asked for a link to addr: (browser, its waiting page, the mail)."""
    b = Browser(server)
    page = b.request_link(addr)
    return b, page, server.mailbox.take(addr)


def fail2ban_counts(log_text, tmp_path):
    """What the real fail2ban-regex, with the system's configuration and our filter,
    counts per address in log_text."""
    if shutil.which("fail2ban-regex") is None:
        pytest.fail("fail2ban-regex is not installed (make deps)")
    log = tmp_path / "error.log"
    log.write_text(log_text)
    conf = tmp_path / "fail2ban"
    shutil.copytree(SYSTEM, conf, symlinks=True)
    shutil.copy(FILTER, conf / "filter.d" / FILTER.name)
    proc = subprocess.run(["fail2ban-regex", "--out", "ip", str(log),
                           str(conf / "filter.d" / FILTER.name)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return collections.Counter(proc.stdout.split())


def test_each_decision_is_one_line(server, unique_email):
    since = server.error_log_size()
    addr = unique_email()
    b = Browser(server)
    page = b.request_link(addr)
    mail = server.mailbox.take(addr)
    expect(b.enter_code(page, wrong(mail.code)), C.WRONG_CODE)
    expect(b.confirm(mail.token), C.SIGNED_IN)
    stolen = Browser(server)
    stolen.s.cookies.update(b.s.cookies)                 # a copy of the session elsewhere
    expect(b.post(C.LOGOUT, data={C.CSRF_FIELD: b.login().csrf, "scope": "browser"}),
           C.LOGGED_OUT)
    expect(stolen.private(), C.LOGIN_REDIRECT)           # the signed-out copy, refused
    expect(stolen.private(), C.LOGIN_REDIRECT)           # its cookie cleared: no 2nd line
    got, text = events(server, since)
    outcomes = [(tag, outcome) for tag, _, _, _, outcome in got]
    assert outcomes == [("110", "mailed"), ("131", "wrong"), ("120", "signed_in"),
                        ("150", "link"), ("160", "browser"), ("162", "revoked")], text
    assert all(email == addr and client == "127.0.0.1" for _, _, email, client, _ in got)
    assert mail.token not in text and mail.code not in text
    assert "[magiclink:notice]" in text


def test_fail2ban_counts_the_failures_this_server_logged(server, unique_email, tmp_path):
    since = server.error_log_size()
    b, page, mail = link_requested(server, unique_email())
    for _ in range(C.CODE_TRIES):
        expect(b.enter_code(page, wrong(mail.code)), C.WRONG_CODE)          # 5 x wrong
    expect(b.enter_code(page, mail.code), C.CODE_TRIES_EXHAUSTED)          # locked
    expect(b.post(C.VERIFY + "A" * 38, data={C.CSRF_FIELD: page.csrf}),
           C.LINK_INVALID)                                                 # invalid
    expect(b.generate({C.CSRF_FIELD: "forged", "email": mail.to[0]}), C.CSRF_FAILED)  # csrf
    b.request_link(mail.to[0])                                             # 2nd of 2
    expect(b.generate({C.CSRF_FIELD: b.login().csrf, "email": mail.to[0]}), C.THROTTLED)
    got, _ = events(server, since)
    counted = [o for *_, o in got if o in ("wrong", "locked", "throttled", "csrf", "invalid")]
    assert collections.Counter(counted) == {"wrong": 5, "locked": 1, "invalid": 1, "csrf": 1,
                                            "throttled": 1}
    counts = fail2ban_counts(ml_httpd.error_log_since(server, since), tmp_path)
    assert counts == {"127.0.0.1": 9}, counts


def test_an_honest_visitors_slips_at_the_code_are_not_counted(server, unique_email, tmp_path):
    """A code that is not six digits, and one typed after the link was used in another
    tab: logged as what they are, and the fail2ban filter counts neither."""
    since = server.error_log_size()
    b, page, mail = link_requested(server, unique_email())
    assert b.enter_code(page, "12").status_code == 400                    # malformed
    expect(b.confirm(mail.token), C.SIGNED_IN)
    assert b.enter_code(page, mail.code).status_code == 410               # used
    got, text = events(server, since)
    assert [(tag, o) for tag, _, _, _, o in got if tag.startswith("13")] == \
        [("137", "malformed"), ("136", "used")], text
    counts = fail2ban_counts(text, tmp_path)
    assert counts == {}, counts


HASHED = ml_httpd.Config(server_conf="MagicLinkLogAddresses Hashed")


def test_hashed_addresses(httpd_factory, unique_email):
    srv = httpd_factory("hashed", HASHED)
    since = srv.error_log_size()
    addr, other = unique_email(), unique_email()
    for a in (addr, addr, other):
        Browser(srv).request_link(a)
    got, text = events(srv, since)
    names = [email for _, _, email, _, _ in got]
    assert addr not in text and other not in text
    assert len(names) == 3 and all(re.fullmatch(r"h:[0-9a-f]{16}", n) for n in names)
    assert names[0] == names[1] != names[2]          # one address, one name
