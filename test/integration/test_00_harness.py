"""The harness itself, without the module: a core-only httpd starts, serves, stops;
the log, secret and mail scanners find what they must and nothing else."""
from email.message import EmailMessage

import pytest
import requests

import ml_httpd


@pytest.fixture(scope="module")
def plain(httpd_factory):
    return httpd_factory("plain", ml_httpd.Config(with_module=False))


def test_core_httpd_serves_a_static_file(plain):
    r = requests.get(plain.url("/static.txt"), timeout=10)
    assert r.status_code == 200 and r.text == "static file\n"
    assert "configured -- resuming normal operations" in plain.error_log_text()


def test_start_and_stop_are_bounded_and_clean():
    srv = ml_httpd.Httpd("startstop", ml_httpd.Config(with_module=False))
    try:
        srv.start()
        assert ml_httpd.port_accepts(srv.port)
        assert srv.stop() == 0
        assert not ml_httpd.port_accepts(srv.port)
        assert ml_httpd.unexpected_log_lines(srv.error_log_text()) == []
    finally:
        srv.stop()
        srv.cleanup()


def test_refused_config_is_reported_with_its_message():
    srv = ml_httpd.Httpd("refused", ml_httpd.Config(with_module=False,
                                                     server_conf="NoSuchDirective 1"))
    try:
        proc = srv.config_test()
        assert proc.returncode != 0 and "NoSuchDirective" in proc.stdout
        started, output = srv.try_start()
        assert not started and "NoSuchDirective" in output
    finally:
        srv.cleanup()


LOG = (
    "[Mon Nov 24 18:08:01.000001 2025] [mpm_event:notice] [pid 1234:tid 99] AH00489: ok\n"
    "[Mon Nov 24 18:08:02.000001 2025] [magiclink:error] [pid 1234:tid 99] boom\n"
    "[Mon Nov 24 18:08:03.000001 2025] [core:crit] [pid 1234:tid 99] AH00001: expected one\n"
    "[Mon Nov 24 18:08:04.000001 2025] [magiclink:debug] [pid 123456:tid 4123456789] "
    "[client 127.0.0.1:5555] code 654321 for TOKENabc\n"
    "==4242==ERROR: AddressSanitizer: heap-use-after-free on address 0x1\n"
    "[Mon Nov 24 18:08:05.000001 2025] [core:notice] [pid 1:tid 2] AH00052: child pid 7 "
    "exit signal Segmentation fault (11)\n"
)


def test_log_scan_finds_errors_crashes_and_sanitizer_output():
    lines = [line for _, line in ml_httpd.unexpected_log_lines(LOG, expected=[r"AH00001"])]
    assert len(lines) == 3
    assert "boom" in lines[0] and "AddressSanitizer" in lines[1] and "exit signal" in lines[2]


def test_secret_scan_ignores_pids_and_tids():
    assert [s for s, _ in ml_httpd.leaked_secrets(LOG, {"123456", "412345"})] == []
    found = {s for s, _ in ml_httpd.leaked_secrets(LOG, {"654321", "TOKENabc", "absent"})}
    assert found == {"654321", "TOKENabc"}


def test_lab_reports_unexpected_lines_and_blames_the_test():
    from conftest import Lab
    lab = Lab()
    srv = lab.start("blame", ml_httpd.Config(with_module=False))
    lab.mark("test_a")
    with open(srv.error_log, "a") as f:
        f.write("[Mon Nov 24 18:08:02.000001 2025] [magiclink:error] [pid 1:tid 2] boom\n")
    srv.secrets.add("SECRETXYZ")
    with open(srv.error_log, "a") as f:
        f.write("[Mon Nov 24 18:08:02.000001 2025] [magiclink:info] [pid 1:tid 2] SECRETXYZ\n")
    (srv.san_dir / "asan.4242").write_text("==4242==ERROR: AddressSanitizer: SEGV\n")
    problems = "\n".join(lab.finish())
    ml_httpd.shutil.rmtree(srv.dir, ignore_errors=True)
    assert "during test_a" in problems and "boom" in problems
    assert "secret SECRETXYZ" in problems
    assert "sanitizer report asan.4242" in problems


def test_mail_parser_finds_link_and_code_in_both_parts(plain):
    link = f"{plain.base}/magic/verify/MTc5NTU0Mzc5OXxvRkM5cDAz_-x=="
    msg = EmailMessage()
    msg["From"] = "Example Site <login@example.com>"
    msg["To"] = "someone@example.com"
    msg["Subject"] = "Your sign-in link"
    msg.set_content(f"Sign in: {link}\nOr type the code 048213 (expires in 15 minutes).\n")
    msg.add_alternative(f'<p style="color:#123456"><a href="{link}">Sign in</a></p>'
                        f"<p>Code: <b>048213</b></p>", subtype="html")
    (plain.maildir / "new" / "1.test").write_bytes(bytes(msg))

    mail = plain.mailbox.take("someone@example.com", timeout=1)
    assert mail.link == link and link in mail.html_links
    assert mail.token == "MTc5NTU0Mzc5OXxvRkM5cDAz_-x=="
    assert mail.code == "048213"
    assert {"048213", mail.token} <= plain.secrets
    assert plain.mailbox.take_all() == []          # handed out once


def test_cli_seals_and_opens(tmp_path):
    keyfile = ml_httpd.write_keyfile(tmp_path / "keys", [ml_httpd.keygen("t1")])
    value = ml_httpd.seal(keyfile, "magic", {"email": "a@example.com"}, at=1000)
    assert ml_httpd.open_sealed(keyfile, "magic", value) == {"email": "a@example.com"}
    assert ml_httpd.open_sealed(keyfile, "other", value) is None
