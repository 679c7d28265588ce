"""Helpers for the mail tests: the C driver, message checks, SMTP servers.
(A plain module rather than conftest.py, so that `from mailtest_util import`
cannot pick up another suite's conftest when suites run together.)

Every network server listens on 127.0.0.1 only, on a free port, and every
subprocess runs under a time limit, so no test can hang the suite.
"""
import asyncio
import email
import email.policy
import os
import pathlib
import socket
import subprocess
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

ROOT = pathlib.Path(__file__).resolve().parents[2]
MAILTOOL = os.environ.get("MAILTOOL") or str(ROOT / "build" / "test" / "mailtool")

# What every test sends: non-ASCII everywhere a person could put it, a link
# and a code in both parts (the link is a secret: it must never show up in
# an error message).
FROM_NAME = "Zoë Müller — Magic Link"
FROM_ADDR = "noreply@bücher.example"
FROM_ASCII = "noreply@xn--bcher-kva.example"
TO = "alice.o'hara+login@Example.ORG"
TO_ASCII = "alice.o'hara+login@example.org"
TOKEN = "MTcwMDAwMDAwMHxsaW5rLXRva2VuLXNlY3JldC1kby1ub3Qtc2hvd3x3aGF0ZXZlcg=="
LINK = "https://login.example.com/magic/verify/" + TOKEN
CODE = "482913"
SUBJECT = "Ihr Anmeldelink für Zoë — gültig 15 Minuten ✓ (ログイン)"
TEXT = (
    "Hallo Zoë,\n"
    "\n"
    "öffnen Sie diesen Link, um sich anzumelden:\n"
    f"{LINK}\n"
    "\n"
    f"Oder geben Sie den Code {CODE} ein.\n"
    ". a line that starts with a dot\n"
    "From here on, a line that starts with From\n"
    "trailing spaces   \n"
    "a long line " + "x" * 100 + " €uro=equals\n"
)
HTML = (
    "<!doctype html>\n<html><body>\n"
    f"<p>Hallo Zoë,</p>\n<p><a href=\"{LINK}\">Anmelden</a></p>\n"
    f"<p>Code: <b>{CODE}</b></p>\n"
    "<p style=\"color: #333\">" + "ä" * 80 + "</p>\n</body></html>\n"
)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(args, timeout=30, **kw):
    """Runs the C driver; returns the CompletedProcess (never raises on exit)."""
    return subprocess.run([MAILTOOL, *args], capture_output=True, timeout=timeout, **kw)


def send_args(mailer, *extra, to=TO, subject=SUBJECT, text=TEXT, html=HTML,
              sender=f"{FROM_NAME} <{FROM_ADDR}>"):
    return ["send", "--mailer", mailer, "--from", sender, "--to", to, "--subject", subject,
            "--text", text, "--html", html, *extra]


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=email.policy.default)


def check_wire_format(raw: bytes):
    """7-bit, CRLF only, no line over 76 (RFC 2045) except address headers."""
    assert all(b < 128 for b in raw), "non-ASCII byte on the wire"
    assert raw.endswith(b"\r\n")
    lines = raw[:-2].split(b"\r\n")
    for line in lines:
        assert b"\r" not in line and b"\n" not in line, "bare CR or LF"
        assert len(line) <= 76, f"line too long: {line!r}"


def check_message(raw: bytes, subject=SUBJECT, text=TEXT, html=HTML, to=TO_ASCII,
                  from_name=FROM_NAME, from_addr=FROM_ASCII):
    """Parses a delivered message with the email package and checks every
    header and both parts against what was given."""
    check_wire_format(raw)
    msg = parse(raw)
    assert not msg.defects, msg.defects
    names = [k.lower() for k in msg.keys()]
    for h in ["date", "from", "to", "subject", "message-id", "mime-version",
              "auto-submitted", "content-type"]:
        assert names.count(h) == 1, f"{h} appears {names.count(h)} times"
    sent = msg["Date"].datetime
    assert sent.utcoffset().total_seconds() == 0
    assert abs(time.time() - sent.timestamp()) < 300
    frm = msg["From"].addresses
    assert len(frm) == 1
    assert frm[0].display_name == from_name
    assert frm[0].addr_spec == from_addr
    rcpt = msg["To"].addresses
    assert len(rcpt) == 1 and rcpt[0].addr_spec == to
    assert str(msg["Subject"]) == subject
    mid = str(msg["Message-ID"])
    local, _, dom = mid.strip("<>").partition("@")
    assert mid.startswith("<") and mid.endswith(">")
    assert len(local) == 32 and all(c in "0123456789abcdef" for c in local)
    assert dom == from_addr.split("@")[1]
    assert str(msg["MIME-Version"]) == "1.0"
    assert str(msg["Auto-Submitted"]) == "auto-generated"
    assert msg.get_content_type() == "multipart/alternative"
    boundary = msg.get_boundary()
    assert boundary and boundary.startswith("=_ml_") and len(boundary) >= 20
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    for part, want in zip(parts, [text, html]):
        assert not part.defects, part.defects
        assert part.get_content_charset() == "utf-8"
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
        # Hard line breaks are CRLF on the wire, and the decoded text keeps them.
        assert part.get_content().replace("\r\n", "\n") == want
    return msg


def assert_no_secret(text: str):
    assert TOKEN not in text and LINK not in text and CODE not in text, text


# ---- SMTP servers (aiosmtpd) ----

class Recorder:
    """An aiosmtpd handler that records what it accepts and can be told to
    refuse RCPT or DATA, or to stall at DATA."""

    def __init__(self, rcpt_reply=None, data_reply=None, data_delay=0.0):
        self.rcpt_reply = rcpt_reply
        self.data_reply = data_reply
        self.data_delay = data_delay
        self.messages = []
        self.plain_ehlos = 0

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        session.host_name = hostname
        if session.ssl is None:
            self.plain_ehlos += 1
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_reply:
            return self.rcpt_reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.data_reply:
            return self.data_reply
        self.messages.append({
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "content": envelope.original_content,
            "tls": session.ssl is not None,
            "auth": session.auth_data,
            "helo": session.host_name,
        })
        return "250 2.0.0 Ok: queued"


class SmtpServer:
    def __init__(self, handler, **kw):
        self.handler = handler
        self.port = free_port()
        self.controller = Controller(handler, hostname="127.0.0.1", port=self.port,
                                     server_hostname="mx.test", ready_timeout=10, **kw)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()


def password_checker(user=b"mailer", password=b"s3cret:with:colons"):
    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user
              and auth_data.password == password)
        if not ok:  # handled=False: aiosmtpd answers 535 itself
            return AuthResult(success=False, handled=False)
        return AuthResult(success=True, auth_data=auth_data.login)
    return authenticator
