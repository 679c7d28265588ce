"""Mail delivery end to end: the C code (through build/test/mailtool)
composes and sends; Python's email package parses what arrives.

Transports: maildir (files, permissions, write errors), SMTP against
aiosmtpd on 127.0.0.1 (refusals, stalls, STARTTLS, implicit TLS, AUTH,
connection reuse), pipe (recording, failing, hanging scripts). Hostile
input is refused before any message exists.
"""
import os
import shutil
import socket
import stat
import tempfile
import time

import pytest

from mailtest_util import (CODE, FROM_ASCII, FROM_NAME, LINK, TO_ASCII, Recorder, SmtpServer,
                           assert_no_secret, check_message, parse, password_checker, run,
                           send_args)


def ok(proc):
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc


def failed(proc, code):
    err = proc.stderr.decode(errors="replace")
    assert proc.returncode == code, f"exit {proc.returncode}: {err}"
    assert_no_secret(err)
    return err


# ---------------------------------------------------------------- addresses

@pytest.mark.parametrize("given,ascii,display", [
    ("alice@example.com", "alice@example.com", "alice@example.com"),
    # One identity per mailbox: the local part is lower-cased too.
    ("Alice.Smith+x@EXAMPLE.com", "alice.smith+x@example.com", "alice.smith+x@example.com"),
    ("zoe@Bücher.Example", "zoe@xn--bcher-kva.example", "zoe@bücher.example"),
    ("zoe@xn--BCHER-kva.example", "zoe@xn--bcher-kva.example", "zoe@bücher.example"),
    ("ivan@пример.рф", "ivan@xn--e1afmkfd.xn--p1ai", "ivan@пример.рф"),
    ("a@例え。テスト", "a@xn--r8jz45g.xn--zckzah", "a@例え.テスト"),
])
def test_address_normalized(given, ascii, display):
    out = ok(run(["addr", given])).stdout.decode().splitlines()
    assert out[:2] == [ascii, display]
    assert out[2] == ascii.split("@")[1]
    # Our A-labels agree with Python's IDNA codec (IDNA 2003, same for these).
    dom = display.split("@")[1]
    assert ascii.split("@")[1] == dom.encode("idna").decode()


HOSTILE = [
    ("alice@example.com\r\nBcc: eve@evil.example", "control character"),
    ("alice@example.com\nBcc: eve@evil.example", "control character"),
    ("alice@example.com\rX", "control character"),
    ("al ice@example.com", "space"),
    (" alice@example.com", "space"),
    ("Alice <alice@example.com>", "space"),
    ("<alice@example.com>", "not allowed"),
    ('"alice"@example.com', "quoted"),
    ('"a@b"@example.com', "quoted"),
    ("al\"ice@example.com", "not allowed"),
    (".alice@example.com", "dot"),
    ("alice.@example.com", "dot"),
    ("al..ice@example.com", "two dots"),
    ("alice@example..com", "empty part"),
    ("alice@.example.com", "empty part"),
    ("alice@example.com.", "empty part"),
    ("alice@@example.com", "more than one @"),
    ("alice@example.com,eve@evil.example", "more than one @"),
    ("alice", "no @"),
    ("x" * 65 + "@example.com", "longer than 64"),
    ("a@" + "b" * 64 + ".com", "longer than 63"),
    ("a@" + ".".join(["c" * 63] * 4), "longer than 253"),
    ("a" * 3000 + "@example.com", "too long"),
    ("аlice@example.com", "non-ASCII"),        # Cyrillic a
    ("ａlice@example.com", "non-ASCII"),       # fullwidth a
    ("alice@ｅxample.com", "not allowed"),     # fullwidth e
    ("alice@exa\u200bmple.com", "not allowed"),  # zero-width space
    ("alice@example\u2044com", "not allowed"),   # fraction slash
    ("alice@[127.0.0.1]", "address literals"),
    ("alice@127.0.0.1", "IP address"),
    ("root@localhost", "at least one dot"),
    ("alice@xn--zz.example", "punycode"),
]


@pytest.mark.parametrize("addr,why", HOSTILE)
def test_hostile_address_refused(addr, why):
    err = failed(run(["addr", addr]), 2)
    assert why in err
    # The messages are static: the input is never echoed back.
    assert "evil" not in err


def test_nul_in_address_refused():
    # argv cannot carry a NUL: the address goes in as hex, with its length.
    for raw in [b"alice\0@example.com", b"alice@example.com\0.evil.example", b"\0"]:
        err = failed(run(["addr-hex", raw.hex()]), 2)
        assert "control character" in err


@pytest.mark.parametrize("addr,why", HOSTILE[:12] + HOSTILE[22:26])
def test_hostile_recipient_never_reaches_a_transport(tmp_path, addr, why):
    marker = tmp_path / "ran"
    script = tmp_path / "sendmail"
    script.write_text(f"#!/bin/sh\ntouch {marker}\ncat >/dev/null\n")
    script.chmod(0o755)
    maildir = tmp_path / "md"
    for mailer in [f"pipe:{script} -t -i", f"maildir:{maildir}"]:
        assert why in failed(run(send_args(mailer, to=addr)), 2)
    assert not marker.exists()
    assert not (maildir / "new").exists() or not os.listdir(maildir / "new")


@pytest.mark.parametrize("spec,name,addr", [
    ("noreply@example.com", None, "noreply@example.com"),
    ("Magic Link <noreply@example.com>", "Magic Link", "noreply@example.com"),
    ('"Acme, Inc." <a@example.com>', "Acme, Inc.", "a@example.com"),
    ("Zoë Müller — Magic Link <noreply@bücher.example>", FROM_NAME, FROM_ASCII),
    ('"Evil\\" <x@evil.example>, Bcc: y" <a@example.com>', 'Evil" <x@evil.example>, Bcc: y',
     "a@example.com"),
    ("=?UTF-8?B?RXZpbA==?= <a@example.com>", "=?UTF-8?B?RXZpbA==?=", "a@example.com"),
])
def test_from_header(spec, name, addr):
    """The From line round-trips through a real parser: the display name is
    what was configured, never a second address or an extra header."""
    out = ok(run(["from", spec])).stdout.decode().split("\n", 2)
    assert out[0] == addr and out[1] == (name or "")
    line = out[2].rstrip("\n")  # the header, CRLF-folded if long
    assert all(len(x) <= 76 for x in line.split("\r\n"))
    msg = parse((line + "\r\n\r\n").encode())
    got = msg["From"].addresses
    assert len(got) == 1
    assert got[0].addr_spec == addr
    assert got[0].display_name == (name or "")


@pytest.mark.parametrize("spec", [
    "", "Name <a@example.com", "Na\"me <a@example.com>",
    "Evil\r\nBcc: x@example.com <a@example.com>", "Name <root@localhost>",
])
def test_from_refused(spec):
    failed(run(["from", spec]), 2)


def test_hostile_subject_refused_before_sending(tmp_path):
    md = tmp_path / "md"
    for subject in ["Hi\r\nBcc: eve@evil.example", "Hi\nX-Evil: 1", "tab\there", "bell\x07"]:
        failed(run(send_args(f"maildir:{md}", subject=subject)), 2)
    assert os.listdir(md / "new") == []


# ---------------------------------------------------------------- maildir

def maildir_files(md):
    return sorted(os.listdir(md / "new")), os.listdir(md / "tmp"), os.listdir(md / "cur")


def test_maildir_delivery(tmp_path):
    md = tmp_path / "mail" / "inbox"
    (tmp_path / "mail").mkdir()
    ok(run(send_args(f"maildir:{md}")))
    new, tmp, cur = maildir_files(md)
    assert len(new) == 1 and tmp == [] and cur == []
    for d in [md, md / "tmp", md / "new", md / "cur"]:
        assert stat.S_IMODE(os.stat(d).st_mode) == 0o700, d
    f = md / "new" / new[0]
    assert stat.S_IMODE(os.stat(f).st_mode) == 0o600
    # time.M<usec>P<pid>T<tid>Q<seq>R<random>.host
    first, _, host = new[0].partition(".")
    assert first.isdigit() and abs(int(first) - time.time()) < 300
    assert host.split(".", 1)[0].startswith("M") and "P" in host and "R" in host
    check_message(f.read_bytes())


def test_maildir_many_threads(tmp_path):
    md = tmp_path / "md"
    ok(run(send_args(f"maildir:{md}", "--count", "25", "--threads", "4")))
    new, tmp, _ = maildir_files(md)
    assert len(new) == 100 and len(set(new)) == 100 and tmp == []
    ids = set()
    for name in new[::10]:
        msg = check_message((md / "new" / name).read_bytes())
        ids.add(str(msg["Message-ID"]))
    assert len(ids) == 10


def test_maildir_existing_dir_kept(tmp_path):
    md = tmp_path / "md"
    for sub in ["", "tmp", "new", "cur"]:
        (md / sub).mkdir(mode=0o755, exist_ok=True)
    ok(run(send_args(f"maildir:{md}/")))
    assert len(os.listdir(md / "new")) == 1


def test_maildir_bad_specs(tmp_path):
    f = tmp_path / "file"
    f.write_text("not a directory")
    err = failed(run(send_args(f"maildir:{f}/maildir")), 3)
    assert "Not a directory" in err and "cannot create" in err
    err = failed(run(send_args(f"maildir:{f}")), 3)
    assert "not a directory" in err
    err = failed(run(send_args("maildir:relative/dir")), 3)
    assert "absolute path" in err
    err = failed(run(send_args(f"maildir:{tmp_path}/no/such/parent")), 3)
    assert "No such file" in err
    failed(run(send_args("mbox:/tmp/x")), 3)


def test_maildir_write_error_reported(tmp_path):
    """A write that fails half-way (here: the file size limit, which binds
    root too) is an error, and nothing is left in tmp/ or new/."""
    md = tmp_path / "md"
    err = failed(run(send_args(f"maildir:{md}", "--fsize-limit", "512")), 4)
    assert "maildir: writing" in err and "File too large" in err
    new, tmp, _ = maildir_files(md)
    assert new == [] and tmp == []


def test_maildir_publish_error_reported(tmp_path):
    """The message is written but cannot be moved into new/ (here new/ is a
    symlink to another file system, so link and rename both fail): an
    error, and the tmp/ file is removed."""
    md = tmp_path / "md"
    for sub in ["", "tmp", "cur"]:
        (md / sub).mkdir(mode=0o700)
    other = tempfile.mkdtemp(dir="/dev/shm")
    try:
        if os.stat(other).st_dev == os.stat(md).st_dev:
            pytest.skip("/dev/shm is on the same file system as the test directory")
        os.symlink(other, md / "new")
        err = failed(run(send_args(f"maildir:{md}")), 4)
        assert "maildir: moving into" in err and "cross-device" in err
        assert os.listdir(md / "tmp") == [] and os.listdir(other) == []
    finally:
        shutil.rmtree(other)


def test_maildir_broken_at_startup(tmp_path):
    md = tmp_path / "md"
    ok(run(send_args(f"maildir:{md}")))
    shutil.rmtree(md / "new")
    (md / "new").write_text("")
    assert "not a directory" in failed(run(send_args(f"maildir:{md}")), 3)


# ---------------------------------------------------------------- SMTP

def smtp_spec(server, scheme="smtp", **opts):
    q = "&".join(f"{k}={v}" for k, v in opts.items())
    return f"{scheme}://127.0.0.1:{server.port}" + (f"?{q}" if q else "")


def test_smtp_delivery():
    h = Recorder()
    with SmtpServer(h) as srv:
        ok(run(send_args(smtp_spec(srv, helo="client.example"))))
    assert len(h.messages) == 1
    m = h.messages[0]
    assert m["mail_from"] == FROM_ASCII
    assert m["rcpt_tos"] == [TO_ASCII]
    assert m["tls"] is False and m["helo"] == "client.example"
    check_message(m["content"])


def test_smtp_connection_reuse():
    h = Recorder()
    with SmtpServer(h) as srv:
        ok(run(send_args(smtp_spec(srv), "--count", "6")))
        assert len(h.messages) == 6 and h.plain_ehlos == 1
        ok(run(send_args(smtp_spec(srv, pool="0"), "--count", "3")))
        assert len(h.messages) == 9 and h.plain_ehlos == 4
        # Threads share a pool of at most `pool` idle connections.
        ok(run(send_args(smtp_spec(srv, pool="2"), "--count", "10", "--threads", "4")))
        assert len(h.messages) == 49 and h.plain_ehlos - 4 < 40  # some were reused
    for m in h.messages[::7]:
        check_message(m["content"])


def test_smtp_rcpt_refused():
    h = Recorder(rcpt_reply="550 5.1.1 <alice@example.org>: Recipient address rejected")
    with SmtpServer(h) as srv:
        err = failed(run(send_args(smtp_spec(srv))), 4)
    assert "550 5.1.1" in err and "Recipient address rejected" in err
    assert h.messages == []


def test_smtp_data_refused():
    h = Recorder(data_reply="554 5.7.1 Message rejected: looks like spam")
    with SmtpServer(h) as srv:
        err = failed(run(send_args(smtp_spec(srv))), 4)
    assert "554 5.7.1 Message rejected: looks like spam" in err


def test_smtp_reply_with_secret_is_filtered():
    h = Recorder(data_reply=f"554 5.7.1 Blocked URL {LINK} code {CODE}")
    with SmtpServer(h) as srv:
        err = failed(run(send_args(smtp_spec(srv))), 4)
    assert "554 5.7.1 Blocked URL [...] code [...]" in err


def test_smtp_stalled_server_times_out():
    h = Recorder(data_delay=20)
    with SmtpServer(h) as srv:
        t0 = time.monotonic()
        err = failed(run(send_args(smtp_spec(srv, timeout="1")), timeout=15), 4)
        took = time.monotonic() - t0
    assert took < 8, took
    assert "timed out" in err.lower()


def test_smtp_silent_server_times_out():
    """Accepts the TCP connection (the kernel does, from the backlog) and
    never greets: the connect time-out fires."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(8)
        port = s.getsockname()[1]
        t0 = time.monotonic()
        err = failed(run(send_args(f"smtp://127.0.0.1:{port}", "--connect-timeout", "1",
                                   "--timeout", "5"), timeout=15), 4)
        assert time.monotonic() - t0 < 8
    assert "timed out" in err.lower() or "timeout" in err.lower()


def test_smtp_nobody_listening():
    port = 1
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens there
    err = failed(run(send_args(f"smtp://127.0.0.1:{port}")), 4)
    assert "connect" in err.lower()


def test_starttls_required(tls_files, server_tls):
    cert, _ = tls_files
    h = Recorder()
    with SmtpServer(h, tls_context=server_tls, require_starttls=True) as srv:
        ok(run(send_args(smtp_spec(srv, starttls="required", cafile=cert))))
        # Certificates are verified by default: a self-signed one fails...
        err = failed(run(send_args(smtp_spec(srv, starttls="required"))), 4)
        assert "certificate" in err.lower()
        # ...unless verification is turned off (tests only).
        ok(run(send_args(smtp_spec(srv, starttls="required", verify="off"))))
        # Without STARTTLS this server refuses the transaction.
        err = failed(run(send_args(smtp_spec(srv))), 4)
        assert "530" in err
    assert len(h.messages) == 2 and all(m["tls"] for m in h.messages)
    check_message(h.messages[0]["content"])


def test_starttls_required_but_not_offered():
    h = Recorder()
    with SmtpServer(h) as srv:
        err = failed(run(send_args(smtp_spec(srv, starttls="required"))), 4)
    assert "STARTTLS" in err or "SSL" in err
    assert h.messages == []


def test_starttls_try(tls_files, server_tls):
    cert, _ = tls_files
    h = Recorder()
    with SmtpServer(h, tls_context=server_tls) as srv:
        ok(run(send_args(smtp_spec(srv, starttls="try", cafile=cert))))
    with SmtpServer(h) as srv:
        ok(run(send_args(smtp_spec(srv, starttls="try"))))
    assert [m["tls"] for m in h.messages] == [True, False]


def test_smtps_implicit_tls(tls_files, server_tls):
    cert, _ = tls_files
    h = Recorder()
    srv = SmtpServer(h, ssl_context=server_tls)
    with srv:
        ok(run(send_args(smtp_spec(srv, "smtps", cafile=cert), "--count", "2")))
        err = failed(run(send_args(smtp_spec(srv, "smtps"))), 4)
        assert "certificate" in err.lower()
    assert len(h.messages) == 2
    check_message(h.messages[1]["content"])


def write_creds(path, line, mode=0o600):
    path.write_text(line)
    path.chmod(mode)
    return path


def test_smtp_auth(tmp_path, tls_files, server_tls):
    cert, _ = tls_files
    good = write_creds(tmp_path / "good", "# relay account\n\nmailer:s3cret:with:colons\n")
    bad = write_creds(tmp_path / "bad", "mailer:wrong-password\r\n")
    h = Recorder()
    with SmtpServer(h, tls_context=server_tls, require_starttls=True, auth_required=True,
                    authenticator=password_checker()) as srv:
        ok(run(send_args(smtp_spec(srv, starttls="required", cafile=cert, auth=good))))
        # The same through the options structure rather than the spec.
        ok(run(send_args(smtp_spec(srv, starttls="required", cafile=cert), "--cred",
                         str(good))))
        err = failed(run(send_args(smtp_spec(srv, starttls="required", cafile=cert,
                                             auth=bad))), 4)
        assert "535" in err
        assert "wrong-password" not in err
        # No AUTH at all: the server requires it.
        err = failed(run(send_args(smtp_spec(srv, starttls="required", cafile=cert))), 4)
        assert "530" in err
    assert len(h.messages) == 2
    assert all(m["auth"] == b"mailer" and m["tls"] for m in h.messages)


def test_smtp_credentials_file_checks(tmp_path):
    port = 2525
    spec = f"smtp://127.0.0.1:{port}?starttls=required&auth="
    loose = write_creds(tmp_path / "loose", "u:p\n", 0o640)
    err = failed(run(send_args(spec + str(loose))), 3)
    assert "group or others" in err and "chmod 600" in err
    world = write_creds(tmp_path / "world", "u:p\n", 0o604)
    assert "group or others" in failed(run(send_args(spec + str(world))), 3)
    empty = write_creds(tmp_path / "empty", "# nothing\n")
    assert "user:password" in failed(run(send_args(spec + str(empty))), 3)
    nopass = write_creds(tmp_path / "nopass", "user:\n")
    assert "user:password" in failed(run(send_args(spec + str(nopass))), 3)
    assert "cannot open" in failed(run(send_args(spec + str(tmp_path / "missing"))), 3)
    good = write_creds(tmp_path / "good", "u:p\n")
    err = failed(run(send_args(f"smtp://127.0.0.1:{port}?auth={good}")), 3)
    assert "need TLS" in err


@pytest.mark.parametrize("spec,why", [
    ("smtp:", "expected smtp://host"),
    ("smtp://", "host"),
    ("smtp://bad_host:25", "host"),
    ("smtp://127.0.0.1:0", "port"),
    ("smtp://127.0.0.1:70000", "port"),
    ("smtp://127.0.0.1:25/path", "nothing may follow"),
    ("smtp://127.0.0.1?bogus=1", "unknown option bogus"),
    ("smtp://127.0.0.1?starttls=maybe", "starttls must be"),
    ("smtp://127.0.0.1?timeout=0", "timeout must be"),
    ("smtp://127.0.0.1?timeout=abc", "timeout must be"),
    ("smtp://127.0.0.1?verify=perhaps", "verify must be"),
    ("smtp://127.0.0.1?helo=a/b", "helo"),
    ("smtp://127.0.0.1?pool=1000", "pool"),
    ("smtp://127.0.0.1?cafile=%zz", "escape"),
    ("smtp://127.0.0.1?starttls", "key=value"),
    ("smtps://127.0.0.1?starttls=required", "does not apply"),
    ("smtp://[::1", "closing ]"),
    ("http://example.com", "unknown transport"),
])
def test_smtp_bad_specs(spec, why):
    err = failed(run(send_args(spec)), 3)
    assert why in err


# ---------------------------------------------------------------- pipe

def script(path, body):
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return path


def test_pipe_delivery(tmp_path):
    out, args = tmp_path / "out.eml", tmp_path / "args"
    s = script(tmp_path / "sendmail",
               f"printf '%s\\n' \"$@\" > {args}\n"
               f"trap '' PIPE\n"
               f"cat > {out}\n")
    ok(run(send_args(f"pipe:{s}  -t   -i")))
    assert args.read_text().split() == ["-t", "-i"]
    check_message(out.read_bytes())


def test_pipe_failure_reports_stderr(tmp_path):
    s = script(tmp_path / "sendmail",
               "cat >/dev/null\n"
               f"echo 'sendmail: fatal: refused {LINK} (code {CODE})' >&2\n"
               "echo 'second line' >&2\nexit 75\n")
    err = failed(run(send_args(f"pipe:{s} -t -i")), 4)
    assert "exited with status 75: sendmail: fatal: refused [...] (code [...])" in err
    assert "second line" not in err


def test_pipe_killed_by_signal(tmp_path):
    s = script(tmp_path / "sendmail", "cat >/dev/null\nkill -TERM $$\n")
    assert "killed by signal 15" in failed(run(send_args(f"pipe:{s}")), 4)


def pid_alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] not in "ZX"
    except FileNotFoundError:
        return False


def test_pipe_hang_times_out_and_kills(tmp_path):
    pids = tmp_path / "pids"
    s = script(tmp_path / "sendmail",
               f"sleep 60 & echo $! > {pids}\necho $$ >> {pids}\nwait\n")
    t0 = time.monotonic()
    err = failed(run(send_args(f"pipe:{s} -t", "--timeout", "1"), timeout=15), 4)
    assert time.monotonic() - t0 < 8
    assert "did not finish within 1.0 s; killed" in err
    time.sleep(0.2)
    for pid in pids.read_text().split():
        assert not pid_alive(int(pid)), f"{pid} survived"


def test_pipe_child_stops_reading(tmp_path):
    """A child that exits 0 without reading a large message: reported, and
    the SIGPIPE our write raises does not kill the caller."""
    s = script(tmp_path / "sendmail", "exit 0\n")
    big = tmp_path / "big.txt"
    big.write_text("x" * 300000 + "\n")
    err = failed(run(send_args(f"pipe:{s}", "--text-file", str(big))), 4)
    assert "before reading the whole message" in err


def test_pipe_stderr_flood_no_deadlock(tmp_path):
    out = tmp_path / "out.eml"
    s = script(tmp_path / "sendmail",
               "head -c 2000000 /dev/zero | tr '\\0' e >&2\n"
               f"cat > {out}\n")
    text = tmp_path / "text.txt"
    text.write_text("y" * 500000 + "\n")
    ok(run(send_args(f"pipe:{s}", "--text-file", str(text)), timeout=30))
    check_message(out.read_bytes(), text="y" * 500000 + "\n")


def test_pipe_signal_dispositions_reset(tmp_path):
    """The child starts with default signal handling and an empty mask,
    whatever the caller had (httpd ignores SIGPIPE, its threads block
    signals)."""
    out = tmp_path / "sig"
    # perl, not sh: a shell changes its own mask while it waits for children.
    prog = tmp_path / "sig.pl"
    prog.write_text("open(my $f, '<', '/proc/self/status');\n"
                    f"open(my $o, '>', '{out}');\n"
                    "print $o grep { /^Sig(Blk|Ign)/ } <$f>;\n"
                    "while (<STDIN>) {}\n")
    ok(run(send_args(f"pipe:/usr/bin/perl {prog}")))
    fields = dict(line.split(":\t") for line in out.read_text().splitlines())
    assert int(fields["SigBlk"], 16) == 0
    assert int(fields["SigIgn"], 16) & (1 << (13 - 1)) == 0  # SIGPIPE not ignored


@pytest.mark.parametrize("spec,why", [
    ("pipe:", "absolute path"),
    ("pipe:sendmail -t", "absolute path"),
    ("pipe:/nonexistent/sendmail -t", "cannot execute"),
    ("pipe:{tmp}/not-executable", "cannot execute"),
    ("pipe:/bin/true " + " ".join(["a"] * 40), "more than 32"),
])
def test_pipe_bad_specs(tmp_path, spec, why):
    (tmp_path / "not-executable").write_text("#!/bin/sh\n")
    assert why in failed(run(send_args(spec.replace("{tmp}", str(tmp_path)))), 3)


def test_pipe_exec_failure_at_send(tmp_path):
    """Executable but not a program: start-up accepts it (access(2) says
    yes), delivery reports the exec error."""
    junk = tmp_path / "junk"
    junk.write_bytes(b"\x7fELF garbage")
    junk.chmod(0o755)
    err = failed(run(send_args(f"pipe:{junk}")), 4)
    assert "cannot start: Exec format error" in err
