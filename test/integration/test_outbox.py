"""The outbox: `generate` queues the link's mail in the store and answers; background
deliverers send it, with retries.  A real SMTP relay (aiosmtpd) that can stall, answer
451 or 550, or be down; a real maildir on a tiny tmpfs that fills; kill -9 of every
child with mail queued.  Every accepted request's mail arrives once the fault clears."""
import asyncio
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import pytest
import requests
from aiosmtpd.controller import Controller
from prometheus_client.parser import text_string_to_metric_families

import ml_contract as C
import ml_httpd
from ml_client import Browser, expect

WAIT = 150          # seconds: the longest any test waits for its mails (bounded)


class Relay:
    """An aiosmtpd relay on a fixed loopback port that can be stopped and started again,
    stall each DATA, or answer the first N DATA commands with a given reply."""

    def __init__(self):
        self.port = ml_httpd.free_port()
        self.delay = 0.0
        self.fail_first = 0
        self.fail_reply = "451 4.3.0 Try again later"
        self.always = None
        self.attempts = 0
        self.tries = {}             # address -> DATA commands seen for it
        self.messages = []
        self.lock = threading.Lock()
        self.controller = None

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.attempts += 1
            n = self.attempts
            for a in envelope.rcpt_tos:
                self.tries[a] = self.tries.get(a, 0) + 1
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.always:
            return self.always
        if self.fail_first and all(self.tries.get(a, 0) <= self.fail_first
                                   for a in envelope.rcpt_tos):
            return self.fail_reply
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), envelope.original_content))
        return "250 2.0.0 Ok: queued"

    def start(self):
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port,
                                     ready_timeout=10)
        self.controller.start()
        return self

    def stop(self):
        if self.controller:
            self.controller.stop()
            self.controller = None

    def tries_for(self, addr):
        with self.lock:
            return self.tries.get(addr, 0)

    def to(self, addr):
        with self.lock:
            return [m for m in self.messages if addr in m[0]]

    def wait_for(self, addrs, timeout=WAIT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if all(self.to(a) for a in addrs):
                return
            time.sleep(0.2)
        missing = [a for a in addrs if not self.to(a)]
        raise AssertionError(f"{len(missing)} of {len(addrs)} mails never arrived")


@pytest.fixture(scope="module")
def relay():
    r = Relay().start()
    yield r
    r.stop()


@pytest.fixture
def fresh(relay):
    relay.delay, relay.fail_first, relay.always = 0.0, 0, None
    with relay.lock:
        relay.attempts = 0
    if relay.controller is None:
        relay.start()
    return relay


def smtp_server(httpd_factory, relay, name="smtp", deliverers=25, mpm_conf=""):
    conf = ml_httpd.Config(server_conf=(
        f"MagicLinkMailer smtp://127.0.0.1:{relay.port}?timeout=30\n"
        f"MagicLinkDeliverers {deliverers}"), mpm_conf=mpm_conf)
    return httpd_factory(name, conf)


# Room for 50 connections at once: the event MPM closes kept-alive connections of a
# process whose workers are all busy, which a burst of new connections on two cores
# causes by itself, delivery or none (this test is about delivery holding none).
ROOMY = ("StartServers 2\nServerLimit 2\nThreadLimit 64\nThreadsPerChild 64\n"
         "MaxRequestWorkers 128\nAsyncRequestWorkerFactor 4")


def sign_in_request(srv, addr, results):
    """login, generate, and one more request on the same kept-alive connection."""
    b = Browser(srv)
    page = b.login()
    r = b.generate({C.CSRF_FIELD: page.csrf, "email": addr})
    after = b.get(C.LOGIN)
    results.append((r.status_code, after.status_code))


def test_a_slow_relay_delays_mail_never_pages(httpd_factory, fresh, unique_email):
    srv = smtp_server(httpd_factory, fresh, name="smtp-slow", mpm_conf=ROOMY)
    fresh.delay = 10.0
    addrs = [unique_email() for _ in range(50)]
    results = []
    threads = [threading.Thread(target=sign_in_request, args=(srv, a, results)) for a in addrs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    arrived_when_answered = sum(1 for a in addrs if fresh.to(a))
    assert results == [(200, 200)] * 50, results
    # Every page and every next request was answered before the relay had taken the
    # mails: no request waited for delivery.
    assert arrived_when_answered < 50, arrived_when_answered
    fresh.wait_for(addrs)
    assert all(len(fresh.to(a)) == 1 for a in addrs)


def test_temporary_failures_are_retried_and_deliver_once(httpd_factory, fresh, unique_email,
                                                         expect_errors):
    expect_errors(r"MAGICLINK-141")
    srv = smtp_server(httpd_factory, fresh)
    fresh.fail_first = 3
    addr = unique_email()
    Browser(srv).request_link(addr)
    fresh.wait_for([addr])
    assert fresh.tries_for(addr) == 4
    time.sleep(1)
    assert len(fresh.to(addr)) == 1
    assert "MAGICLINK-141" in srv.error_log_text()


def test_a_permanent_refusal_is_not_retried(httpd_factory, fresh, unique_email, expect_errors):
    expect_errors(r"MAGICLINK-142")
    srv = smtp_server(httpd_factory, fresh)
    fresh.always = "550 5.1.1 No such user"
    addr = unique_email()
    Browser(srv).request_link(addr)
    ml_httpd.wait_for_log(srv, r"MAGICLINK-142.*" + addr.replace(".", r"\."), 0, timeout=30)
    time.sleep(3)                                       # past the first retry's time
    assert fresh.tries_for(addr) == 1
    assert srv.error_log_text().count("MAGICLINK-142") == 1


def test_a_relay_down_for_a_while_loses_nothing(httpd_factory, fresh, unique_email,
                                                expect_errors):
    expect_errors(r"MAGICLINK-141")
    srv = smtp_server(httpd_factory, fresh)
    fresh.stop()
    addrs = [unique_email() for _ in range(5)]
    for a in addrs:
        Browser(srv).request_link(a)
    time.sleep(20)
    fresh.start()
    fresh.wait_for(addrs)
    assert all(len(fresh.to(a)) == 1 for a in addrs)


def test_killing_every_child_loses_no_queued_mail(httpd_factory, fresh, unique_email,
                                                  expect_errors):
    expect_errors(r"MAGICLINK-141")
    srv = smtp_server(httpd_factory, fresh, name="killed")
    fresh.stop()
    addrs = [unique_email() for _ in range(100)]
    b = Browser(srv)
    csrf = b.login().csrf
    for a in addrs:
        expect(b.generate({C.CSRF_FIELD: csrf, "email": a}), C.OK)
    kids = subprocess.run(["pgrep", "-P", str(srv.proc.pid)], capture_output=True,
                          text=True).stdout.split()
    assert kids
    for pid in kids:
        os.kill(int(pid), signal.SIGKILL)
    fresh.start()
    fresh.wait_for(addrs)
    assert all(len(fresh.to(a)) == 1 for a in addrs)


def test_a_full_maildir_loses_nothing(httpd_factory, unique_email, expect_errors):
    """The maildir on a 64 KiB tmpfs: it fills, mails wait; emptied, they arrive."""
    expect_errors(r"MAGICLINK-141")
    mnt = Path(tempfile.mkdtemp(prefix="ml-tmpfs-"))
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0777", "tmpfs", str(mnt)],
                   check=True)
    try:
        maildir = mnt / "mail"
        for d in ("new", "cur", "tmp"):
            (maildir / d).mkdir(parents=True)
        subprocess.run(["chown", "-R", f"{ml_httpd.RUN_USER}:{ml_httpd.RUN_USER}",
                        str(maildir)], check=False)
        filler = mnt / "filler"
        with open(filler, "wb") as f:
            try:
                f.write(b"x" * 64 * 1024)
            except OSError:
                pass
        srv = httpd_factory("tmpfs", ml_httpd.Config(
            server_conf=f"MagicLinkMailer maildir:{maildir}"))
        addrs = [unique_email() for _ in range(5)]
        for a in addrs:
            Browser(srv).request_link(a)
        ml_httpd.wait_for_log(srv, r"MAGICLINK-141", 0, timeout=30)
        assert not list((maildir / "new").iterdir())
        filler.unlink()
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline and len(list((maildir / "new").iterdir())) < 5:
            time.sleep(0.2)
        got = [p.read_text(errors="replace") for p in (maildir / "new").iterdir()]
        assert len(got) == 5
        for a in addrs:
            assert sum(a in g for g in got) == 1
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)
        shutil.rmtree(mnt, ignore_errors=True)


def test_a_scrape_counts_the_mail_that_waits(httpd_factory, fresh, unique_email,
                                             expect_errors):
    """magiclink_outbox_depth and _oldest_age_seconds, read by the scrape from the store:
    three mails wait while the relay is down, none once it is back."""
    expect_errors(r"MAGICLINK-141")
    fresh.stop()
    srv = httpd_factory("outbox-gauges", ml_httpd.Config(server_conf=(
        f"MagicLinkMailer smtp://127.0.0.1:{fresh.port}\n"
        "<Location /metrics>\n    SetHandler magiclink-metrics\n"
        "    Require ip 127.0.0.1\n</Location>")))
    addrs = [unique_email() for _ in range(3)]
    for a in addrs:
        Browser(srv).request_link(a)
    time.sleep(1.1)                                     # the oldest has waited a second

    def gauges():
        r = requests.get(srv.url("/metrics"), timeout=30)
        assert r.status_code == 200, r.status_code
        return {s.name: s.value for f in text_string_to_metric_families(r.text)
                for s in f.samples if s.name.startswith("magiclink_outbox_")}

    got = gauges()
    assert got["magiclink_outbox_depth"] == 3, got
    assert got["magiclink_outbox_oldest_age_seconds"] >= 1, got
    fresh.start()
    fresh.wait_for(addrs)
    deadline = time.monotonic() + WAIT
    while gauges()["magiclink_outbox_depth"] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert gauges() == {"magiclink_outbox_depth": 0, "magiclink_outbox_oldest_age_seconds": 0}


def test_a_full_outbox_answers_503_for_everyone(httpd_factory, fresh, unique_email,
                                                expect_errors):
    expect_errors(r"MAGICLINK-01[56]|MAGICLINK-141")
    fresh.stop()
    srv = httpd_factory("outbox-full", ml_httpd.Config(server_conf=(
        f"MagicLinkMailer smtp://127.0.0.1:{fresh.port}\n"
        "MagicLinkCache lmdb:{dir}/state outbox=3")))
    b = Browser(srv)
    csrf = b.login().csrf
    codes = [b.generate({C.CSRF_FIELD: csrf, "email": unique_email()}).status_code
             for _ in range(3)]
    assert codes == [200, 200, 200]
    # Full: the same honest answer for an allowed and a not-allowed address.
    expect(b.generate({C.CSRF_FIELD: csrf, "email": unique_email()}), 503)
    expect(b.generate({C.CSRF_FIELD: csrf, "email": "someone@not-allowed.test"}), 503)


def test_a_one_process_httpd_stops_cleanly_after_delivering(unique_email):
    """httpd -X (one process: for debugging, and the benchmarks' heap and system-call
    counts) stops on SIGTERM with status 0 once its deliverers have sent a mail. They are
    stopped before the pools of their threads are destroyed; when they were joined later,
    each thread's pool was destroyed twice and the process crashed in apr_terminate."""
    srv = ml_httpd.Httpd("one-process")
    with open(srv.dir / "logs" / "stdout", "wb") as out:
        proc = subprocess.Popen([ml_httpd.APACHE2, "-X", "-f", str(srv.conf_path),
                                 "-DFOREGROUND"], env=srv.env(), stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + ml_httpd.START_TIMEOUT
        while not ml_httpd.port_accepts(srv.port):
            assert proc.poll() is None and time.monotonic() < deadline, srv.startup_output()
            time.sleep(ml_httpd.POLL)
        addr = unique_email()
        b = Browser(srv)
        page = b.login()
        expect(b.generate({C.CSRF_FIELD: page.csrf, "email": addr}), 200)
        assert srv.mailbox.take(addr)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
    assert proc.returncode == 0, srv.startup_output()
    assert not ml_httpd.unexpected_log_lines(srv.error_log_text())
    srv.cleanup()
