#!/usr/bin/python3
"""Does the connection tell who may sign in?  (`make bench-timing`; a benchmark that
prints figures, not a test.)

A real httpd (the integration harness) mails through a real aiosmtpd relay that takes
150 ms per message.  On one kept-alive connection, N times: POST generate for an
address, then at once GET the login page; the figure is how long the GET takes, i.e.
how soon the connection carries the next response.  Runs interleave allowed and
not-allowed addresses (A, N, A, N ...) and a second allowed run gives the noise between
two runs of the same kind.  Before the outbox, an allowed address's next response came
~162 ms later (SMTP on the request's thread); now both kinds should be alike."""
import asyncio
import http.client
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))
import ml_httpd                      # noqa: E402
from aiosmtpd.controller import Controller   # noqa: E402

N = int(os.environ.get("TIMING_N", "500"))


class SlowRelay:
    async def handle_DATA(self, server, session, envelope):
        await asyncio.sleep(0.15)
        return "250 OK"


def csrf_and_cookie(conn):
    conn.request("GET", "/magic/login", headers={"Accept": "text/html"})
    r = conn.getresponse()
    body = r.read().decode()
    cookie = r.getheader("Set-Cookie").split(";", 1)[0]
    token = body.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    return token, cookie


def one(conn, csrf, cookie, addr):
    body = f"csrf_token={csrf}&email={addr}"
    conn.request("POST", "/magic/generate", body=body,
                 headers={"Content-Type": "application/x-www-form-urlencoded",
                          "Cookie": cookie})
    r = conn.getresponse()
    r.read()
    if r.status != 200:
        raise SystemExit(f"generate answered {r.status}")
    t0 = time.perf_counter()
    conn.request("GET", "/magic/login", headers={"Cookie": cookie})
    r2 = conn.getresponse()
    r2.read()
    return (time.perf_counter() - t0) * 1000.0


def summary(name, xs):
    xs = sorted(xs)
    return (f"{name:<16} n={len(xs):4d}  median {statistics.median(xs):7.3f} ms  "
            f"p90 {xs[int(len(xs) * 0.9)]:7.3f} ms  mean {statistics.mean(xs):7.3f} ms")


def main():
    relay_port = ml_httpd.free_port()
    relay = Controller(SlowRelay(), hostname="127.0.0.1", port=relay_port)
    relay.start()
    srv = ml_httpd.Httpd("timing", ml_httpd.Config(
        log_level="warn",
        server_conf=f"MagicLinkMailer smtp://127.0.0.1:{relay_port}\n"
                    "MagicLinkCache lmdb:{dir}/state outbox=100000"))
    try:
        srv.start()
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=30)
        csrf, cookie = csrf_and_cookie(conn)
        allowed, not_allowed, allowed2 = [], [], []
        for i in range(N):
            allowed.append(one(conn, csrf, cookie, f"a{i}.{os.getpid()}@example.com"))
            not_allowed.append(one(conn, csrf, cookie, f"n{i}.{os.getpid()}@not-allowed.test"))
            allowed2.append(one(conn, csrf, cookie, f"b{i}.{os.getpid()}@example.com"))
        print("Time until the kept-alive connection carries the next response "
              "(GET login right after POST generate), relay 150 ms/message:")
        print(summary("allowed", allowed))
        print(summary("not allowed", not_allowed))
        print(summary("allowed (again)", allowed2))
        diff = abs(statistics.median(allowed) - statistics.median(not_allowed))
        noise = abs(statistics.median(allowed) - statistics.median(allowed2))
        print(f"|allowed - not allowed| = {diff:.3f} ms; |allowed - allowed again| "
              f"(noise) = {noise:.3f} ms")
    finally:
        srv.stop()
        srv.cleanup()
        relay.stop()


if __name__ == "__main__":
    main()
