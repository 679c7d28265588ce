#!/usr/bin/python3
"""End-to-end benchmarks of mod_magiclink (`make bench-http`; issue 8).

One httpd per MPM under test, each serving, in the same server:
  /magic/...            mod_magiclink (SetHandler magiclink)
  /trivial/<endpoint>   mod_ml_trivial (test/bench/mod_ml_trivial.c): a fixed page of the
                        size of our page for that endpoint; POSTs read and discard the body
  /private/page.html    AuthType MagicLink, a static page
  /private-jwt/page.html  the same, with the signed identity header (MagicLinkJWTHeader)
  /public/page.html     the same page, no auth
  /nomail/generate      mod_magiclink where no address may sign in (nothing delivered)
with its state store in LMDB (MagicLinkCache lmdb:<its own directory>); beside it the
same httpd with MagicLinkCache redis (a private redis-server) for the rows of POST
generate, POST verify and the protected page on redis, and the Go peer (test/bench/goseed) in both modes, on 127.0.0.1. wrk (-t2 -c50,
keep-alive, BENCH_SECONDS per run) drives every peer of an endpoint in turn, round after
round (A B C D A B C D ...: ratios are taken within one run, pair by pair), and ab -k
once per endpoint. Also: the handler core in-process (bench_core in C, `go test -bench`
in Go), callgrind instruction counts, heap calls per request inside httpd (httpd -X with
the malloc_count shim), RSS of the children over BENCH_MEM_REQUESTS POST generates, and
a perf profile of POST generate.

Writes build/bench/results.md, results.json, reqs.png (and .svg), profile_*.txt.
Everything is bounded: every external command has a time-out.
"""
import argparse
import email
import email.policy
import http.client
import json
import os
import pwd
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

sys.dont_write_bytecode = True   # report.py is imported later: no __pycache__ in the tree

REPO = Path(__file__).resolve().parents[2]
BENCH_SRC = REPO / "test" / "bench"
APACHE2 = "/usr/sbin/apache2"
MODULES_DIR = Path("/usr/lib/apache2/modules")
RUN_USER = "www-data"
SITE = "mod_magiclink bench"
EMAIL = "bench@example.com"
FORM = "application/x-www-form-urlencoded"
THREADS, CONNS = 2, 50
LMDB_SIZE = "8G"        # the bench stores' map (sparse: only what is written takes memory)
OUTBOX_MAX = 2000000    # messages an outbox may hold (the default is 10,000)

# MPM settings: capacity for 50 keep-alive connections from the start, so no
# child is forked or reaped during a run (the same for every MPM's figures).
MPM_CONF = {
    "event": """StartServers 4
ServerLimit 16
ThreadsPerChild 25
MinSpareThreads 25
MaxSpareThreads 150
MaxRequestWorkers 150
MaxConnectionsPerChild 0""",
    "worker": """StartServers 4
ServerLimit 16
ThreadsPerChild 25
MinSpareThreads 25
MaxSpareThreads 150
MaxRequestWorkers 150
MaxConnectionsPerChild 0""",
    "prefork": """StartServers 100
MinSpareServers 10
MaxSpareServers 150
ServerLimit 150
MaxRequestWorkers 150
MaxConnectionsPerChild 0""",
}

ENDPOINTS = ["login", "generate", "verify_get", "verify_post", "protected"]
ENDPOINT_LABEL = {
    "login": "GET login",
    "generate": "POST generate",
    "verify_get": "GET verify",
    "verify_post": "POST verify",
    "protected": "protected page",
}
# Peers, in the order they are run within a round.
PEERS = ["ours", "ceiling", "go-optimized", "go-baseline"]
PEER_LABEL = {
    "ours": "mod_magiclink",
    "ceiling": "ceiling",
    "go-optimized": "Go optimized",
    "go-baseline": "Go baseline",
}
# Diagnostic peers of some endpoints (not in the ratios of the README's Benchmarks targets).
# The generate that delivers nothing (its target's row), the gated page with the signed
# identity header (MagicLinkJWTHeader), and the same httpd with MagicLinkCache redis.
EXTRA_PEERS = {"generate": ["ours-nomail", "ours-redis", "ours-nomail-redis"],
               "verify_post": ["ours-redis"],
               "protected": ["ours-jwt", "ours-redis"]}
CEILING_LABEL = {
    "login": "trivial handler",
    "generate": "trivial handler (POST)",
    "verify_get": "trivial handler",
    "verify_post": "trivial handler (POST)",
    "protected": "same page, no auth",
}


def log(*a):
    print("[bench %s]" % time.strftime("%H:%M:%S"), *a, file=sys.stderr, flush=True)


class BenchError(Exception):
    pass


def run(cmd, timeout, env=None, check=True, **kw):
    """subprocess.run with a time-out and captured text output."""
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env, **kw)
    except subprocess.TimeoutExpired as e:
        raise BenchError(f"timed out after {timeout}s: {' '.join(map(str, cmd))}") from e
    if check and p.returncode != 0:
        raise BenchError(f"{' '.join(map(str, cmd))}: exit {p.returncode}\n"
                         f"{p.stdout[-2000:]}\n{p.stderr[-2000:]}")
    return p


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BenchError(f"{what} exited with {proc.returncode} at start")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise BenchError(f"{what} did not accept on port {port} within {timeout}s")


def loadavg():
    return os.getloadavg()[0]


def wait_quiet(limit, max_wait):
    """Waits (bounded) for the 1-minute load average to drop under limit."""
    t0 = time.monotonic()
    while loadavg() >= limit and time.monotonic() - t0 < max_wait:
        log(f"load {loadavg():.2f} >= {limit}: waiting (at most {max_wait - (time.monotonic() - t0):.0f}s more)")
        time.sleep(10)
    return loadavg(), time.monotonic() - t0


# ------------------------------------------------------------------ /proc

def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                st = f.read()
        except OSError:
            continue
        if int(st[st.rindex(")") + 2:].split()[1]) == pid:
            out.append(int(d))
    return out


def cpu_seconds(pids):
    """User + system CPU time of these processes (every thread), in seconds."""
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])      # utime, stime (clock ticks)
    return total / os.sysconf("SC_CLK_TCK")


def proc_kb(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def rollup_kb(pid):
    """Pss and private (Private_Clean + Private_Dirty: USS) from smaps_rollup."""
    out = {"pss": 0, "uss": 0}
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    out["pss"] = int(line.split()[1])
                elif line.startswith(("Private_Clean:", "Private_Dirty:")):
                    out["uss"] += int(line.split()[1])
    except OSError:
        pass
    return out


def du_kb(path):
    """Disk (tmpfs) blocks under path, in KiB: what a sparse LMDB map really takes."""
    total = 0
    for dirpath, _, files in os.walk(path):
        for f in files:
            try:
                total += os.stat(os.path.join(dirpath, f)).st_blocks * 512
            except OSError:
                pass
    return total // 1024


def mem_of(pids):
    roll = [rollup_kb(p) for p in pids]
    # RssAnon: heap, stacks (where a leak shows); RssFile and RssShmem: mapped files,
    # the LMDB store's map among them (RssShmem on tmpfs: it grows with the live links,
    # bounded by their lifetime and the map's size).
    return {"rss_kb": sum(proc_kb(p, "VmRSS") for p in pids),
            "anon_kb": sum(proc_kb(p, "RssAnon") for p in pids),
            "file_kb": sum(proc_kb(p, "RssFile") for p in pids),
            "shmem_kb": sum(proc_kb(p, "RssShmem") for p in pids),
            "pss_kb": sum(r["pss"] for r in roll), "uss_kb": sum(r["uss"] for r in roll),
            "procs": len(pids)}


# ------------------------------------------------------------------ HTTP client

def http_request(port, method, path, body=None, headers=None, timeout=10):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        h = dict(headers or {})
        if body is not None:
            body = body.encode() if isinstance(body, str) else body
        c.request(method, path, body=body, headers=h)
        r = c.getresponse()
        data = r.read()
        return r.status, r.getheaders(), data
    finally:
        c.close()



def set_cookie(headers, name):
    for k, v in headers:
        if k.lower() == "set-cookie" and v.startswith(name + "="):
            return v.split(";", 1)[0]
    return None


def csrf_of(page):
    m = re.search(rb'<meta name="csrf-token" content="([^"]+)"', page)
    if not m:
        raise BenchError("no csrf-token meta in the login page")
    return m.group(1).decode()


# ------------------------------------------------------------------ servers

class Httpd:
    """One httpd (one MPM) with mod_magiclink and mod_ml_trivial.

    Its state store: an LMDB directory of its own under the scratch directory (never the
    host's /var/lib), or the redis given (a Redis below, one per httpd: the outbox is
    per store). No socache module is loaded: the module has its own stores."""

    def __init__(self, mpm, root, args, sizes, key, htdocs, redis=None, name=None):
        self.mpm, self.args, self.sizes, self.key, self.htdocs = mpm, args, sizes, key, htdocs
        self.dir = root / (name or f"httpd-{mpm}")
        self.maildir = self.dir / "mail"
        self.redis = redis
        self.store_dir = self.dir / "store"
        # Room for every link a run issues (they live MagicLinkLinkTTL, 15 min) and an
        # outbox that never refuses a generate for being full while the deliverers
        # catch up (the default, 10,000 messages, is a production bound): sparse on tmpfs.
        self.store = (f"{redis.spec} outbox={OUTBOX_MAX}" if redis else
                      f"lmdb:{self.store_dir} size={LMDB_SIZE} outbox={OUTBOX_MAX}")
        self.port = free_port()
        self.proc = None
        for d in ("run", "logs", "mail/new", "mail/cur", "mail/tmp"):
            (self.dir / d).mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            pw = pwd.getpwnam(RUN_USER)
            for d in (self.maildir, *(self.maildir / s for s in ("new", "cur", "tmp"))):
                os.chown(d, pw.pw_uid, pw.pw_gid)
        self.conf = self.dir / "httpd.conf"
        self.write_conf()

    def write_conf(self, single=False):
        d = self.dir
        user = [f"User {RUN_USER}", f"Group {RUN_USER}"] if os.geteuid() == 0 else []
        mods = ["authn_core", "authz_core", "authz_user", "authz_host", "mime"]
        trivial = []
        for ep in ENDPOINTS:
            if ep == "protected":
                continue
            trivial += [f"<Location /trivial/{ep}>", "    SetHandler ml-trivial",
                        f"    MLTrivialSize {self.sizes.get(ep, 4096)}", "</Location>"]
        lines = [
            f'ServerRoot "{d}"', "ServerName 127.0.0.1", f"Listen 127.0.0.1:{self.port}",
            f'PidFile "{d}/run/httpd.pid"', f'DefaultRuntimeDir "{d}/run"',
            f"Mutex file:{d}/run default", f'ErrorLog "{d}/logs/error_log"', "LogLevel warn",
            *user,
            f'LoadModule mpm_{self.mpm}_module "{MODULES_DIR}/mod_mpm_{self.mpm}.so"',
            *[f'LoadModule {m}_module "{MODULES_DIR}/mod_{m}.so"' for m in mods],
            f'LoadModule magiclink_module "{self.args.bin["module"]}"',
            f'LoadModule ml_trivial_module "{self.args.bin["trivial"]}"',
            MPM_CONF[self.mpm],
            "KeepAlive On", "MaxKeepAliveRequests 0", "KeepAliveTimeout 15", "Timeout 30",
            "TypesConfig /etc/mime.types", f'DocumentRoot "{self.htdocs}"',
            "<Directory />", "    AllowOverride None", "    Require all denied", "</Directory>",
            f'<Directory "{self.htdocs}">', "    Require all granted", "</Directory>",
            f'MagicLinkKeyFile "{self.key}"', f"MagicLinkBaseURL http://127.0.0.1:{self.port}",
            f'MagicLinkJWTKey bench "{self.args.jwt_key}"',
            f"MagicLinkMailer maildir:{self.maildir}",
            'MagicLinkMailFrom "Bench <login@bench.example>"', f'MagicLinkSiteName "{SITE}"',
            "MagicLinkCookieSecure Off",
            f"MagicLinkCache {self.store}",
            # Every limit out of the way (each is still counted in the store per generate).
            "MagicLinkRateLimit email 300000000 3600", "MagicLinkRateLimit ip 300000000 3600",
            "MagicLinkRateLimit email-total 300000000 3600",
            # Anyone at server level; a <Location>'s list narrows it.
            "MagicLinkAllow *",
            "<Location /magic>", "    SetHandler magiclink", "</Location>",
            # The same handler where no address may sign in: generate does all the
            # request's work (link stored, mail composed and queued in the outbox, the
            # page), and the deliverers drop the message unsent.
            "<Location /nomail>", "    SetHandler magiclink",
            "    MagicLinkAllow @nomail.invalid", "</Location>",
            "<Location /private>", "    AuthType MagicLink", "    AuthName bench",
            "    Require valid-user", "</Location>",
            "<Location /private-jwt>", "    AuthType MagicLink", "    AuthName bench",
            "    Require valid-user", "    MagicLinkJWTHeader X-Identity", "</Location>",
            *trivial,
        ]
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self, env=None, single=False):
        cmd = [APACHE2, "-f", str(self.conf), "-DFOREGROUND"] + (["-X"] if single else [])
        self.stderr = open(self.dir / "logs" / "stderr", "w")
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=self.stderr,
                                     stderr=self.stderr, start_new_session=True,
                                     env=env or {"PATH": "/usr/sbin:/usr/bin:/bin", "LANG": "C"})
        wait_port(self.port, self.proc, 30, f"httpd ({self.mpm})")
        if not single:   # the children are there once the port accepts, but let them settle
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and not children(self.proc.pid):
                time.sleep(0.1)
        return self

    def stop(self):
        if not self.proc:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.stderr.close()
        rc, self.proc = self.proc.returncode, None
        return rc

    def pids(self):
        return children(self.proc.pid) if self.proc else []

    def mem(self):
        return mem_of(self.pids())

    def clear_mail(self):
        n = 0
        for sub in ("new", "tmp"):
            with os.scandir(self.maildir / sub) as it:
                for e in it:
                    try:
                        os.unlink(e.path)
                        n += 1
                    except OSError:
                        pass
        return n

    def outbox_depth(self):
        """Messages waiting in this server's outbox, read from the store itself (the
        module's gauge is refreshed only every 5 s)."""
        if self.redis:
            p = run(["redis-cli", "-h", "127.0.0.1", "-p", str(self.redis.port), "ZCARD",
                     "magiclink:outbox"], 30)
            return int(p.stdout.strip())
        if not (self.store_dir / "data.mdb").exists():
            return 0
        p = run(["mdb_stat", "-s", "out", str(self.store_dir)], 30)
        m = re.search(r"Entries: (\d+)", p.stdout)
        if not m:
            raise BenchError(f"mdb_stat: no entry count:\n{p.stdout}")
        return int(m.group(1))

    def drain(self, timeout=300):
        """Waits (bounded) until the deliverers have emptied the outbox: the messages a
        run queued are delivered (or dropped) in the background, and must not be so
        during the next peer's run. (depth found, seconds waited)."""
        t0 = time.monotonic()
        depth = first = self.outbox_depth()
        while depth and time.monotonic() - t0 < timeout:
            time.sleep(0.2)
            depth = self.outbox_depth()
        if depth:
            raise BenchError(f"outbox of {self.dir.name} still holds {depth} messages "
                             f"after {timeout}s\n{self.error_log_tail()}")
        return first, time.monotonic() - t0

    def error_log_tail(self):
        p = self.dir / "logs" / "error_log"
        return p.read_text(errors="replace")[-3000:] if p.exists() else ""

    # -- the sign-in flow, as a browser does it
    def login(self):
        st, hd, body = http_request(self.port, "GET", "/magic/login")
        bind = set_cookie(hd, "magiclink_bind")
        if st != 200 or not bind:
            raise BenchError(f"GET /magic/login: {st}\n{self.error_log_tail()}")
        return bind, csrf_of(body)

    def gen_body(self, nonce):
        return f"email={urllib.parse.quote(EMAIL)}&csrf_token={nonce}"

    def mailed_link(self, bind, nonce):
        """POST generate, then the link's path from the mail it delivered."""
        before = set(os.listdir(self.maildir / "new"))
        st, _, _ = http_request(self.port, "POST", "/magic/generate", self.gen_body(nonce),
                                {"Content-Type": FORM, "Cookie": bind})
        if st != 200:
            raise BenchError(f"POST /magic/generate: {st}\n{self.error_log_tail()}")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            new = set(os.listdir(self.maildir / "new")) - before
            if new:
                f = self.maildir / "new" / sorted(new)[0]
                with open(f, "rb") as fh:
                    m = email.message_from_binary_file(fh, policy=email.policy.default)
                text = m.get_body(("plain",)).get_content()
                link = re.search(r"https?://\S+/verify/\S+", text).group(0)
                return urllib.parse.urlsplit(link).path
            time.sleep(0.02)
        raise BenchError("no mail arrived for POST /magic/generate\n" + self.error_log_tail())

    def harvest_links(self, path):
        """The verify paths' tokens of every mail in new/, one a line, into path; the mail
        is removed. Fast path: unfold quoted-printable and search; checked against the
        email module on the first mail."""
        pat = re.compile(rb"/verify/([A-Za-z0-9_\-]+(?:=3D)*)")
        n, checked = 0, False
        with open(path, "w") as out, os.scandir(self.maildir / "new") as it:
            for e in it:
                with open(e.path, "rb") as fh:
                    data = fh.read()
                os.unlink(e.path)
                m = pat.search(data.replace(b"=\r\n", b""))
                if not m:
                    raise BenchError(f"no link in mail {e.name}")
                tok = m.group(1).replace(b"=3D", b"=").decode()
                if not checked:
                    msg = email.message_from_bytes(data, policy=email.policy.default)
                    text = msg.get_body(("plain",)).get_content()
                    want = re.search(r"/verify/(\S+)", text).group(1)
                    if want != tok:
                        raise BenchError(f"link extraction: {tok!r} != {want!r}")
                    checked = True
                out.write(tok + "\n")
                n += 1
        return n

    def issue_links(self, bind, nonce, n, path, tmp, conns=CONNS):
        """n real links (POST generate, ab -k -c50), their tokens into path. (A
        one-process httpd takes fewer connections: the event MPM closes keep-alive ones
        over its limit.)"""
        self.clear_mail()
        spec = {"method": "POST", "body": self.gen_body(nonce), "ctype": FORM, "cookie": bind}
        t0 = time.monotonic()
        done, bad, rps = ab_count(self.port, "/magic/generate", spec, n, conns, tmp, 600)
        log(f"    issued {done} links in {time.monotonic() - t0:.1f}s ({rps:.0f}/s)")
        if bad or done != n:
            raise BenchError(f"issuing {n} links: {done} done, {bad} bad answers")
        # The page goes out before the mail is delivered (the deliverers send it from
        # the outbox): wait for the last ones.
        backlog, waited = self.drain()
        log(f"    the deliverers had {backlog} left; delivered in {waited:.1f}s")
        t0 = time.monotonic()
        got = self.harvest_links(path)
        log(f"    harvested {got} links in {time.monotonic() - t0:.1f}s")
        # ab's count can be a few off from what reached the handler with -k.
        if got < n * 0.999:
            raise BenchError(f"issuing {n} links: {got} mails")
        return rps

    def sign_in(self, bind, nonce):
        """A real sign-in: generate, the link from the mail, POST verify: the session."""
        path = self.mailed_link(bind, nonce)
        st, hd, _ = http_request(self.port, "POST", path, f"csrf_token={nonce}",
                                 {"Content-Type": FORM, "Cookie": bind})
        sess = set_cookie(hd, "magiclink_session")
        if st != 303 or not sess:
            raise BenchError(f"POST verify: {st}\n{self.error_log_tail()}")
        return sess


class Redis:
    """A private redis-server (no persistence) for one httpd's store (MagicLinkCache
    redis:...): the redis rows beside the LMDB ones."""

    def __init__(self, root):
        self.port = free_port()
        self.dir = root / "redis"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = None

    @property
    def spec(self):
        return f"redis:127.0.0.1:{self.port}"

    def start(self):
        self.log = open(self.dir / "out", "w")
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no", "--dir", str(self.dir), "--logfile", ""],
            stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, start_new_session=True)
        wait_port(self.port, self.proc, 15, "redis-server")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc:
            self.log.close()
        self.proc = None

    def mem(self):
        return mem_of([self.proc.pid]) if self.proc else {}


class GoSeed:
    def __init__(self, mode, root, args, key, htdocs, pages):
        self.mode, self.args, self.key, self.htdocs, self.pages = mode, args, key, htdocs, pages
        self.port = free_port()
        self.bin = args.bin["goseed"]
        self.dir = root / f"go-{mode}"
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = None

    def base_args(self):
        return [str(self.bin), "-mode", self.mode, "-keys", str(self.key), "-pages",
                str(self.pages), "-static", str(self.htdocs), "-site", SITE]

    def start(self):
        self.log = open(self.dir / "stderr", "w")
        self.proc = subprocess.Popen(self.base_args() + ["-addr", f"127.0.0.1:{self.port}"],
                                     stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log,
                                     start_new_session=True)
        wait_port(self.port, self.proc, 30, f"goseed ({self.mode})")
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self.proc:
            self.log.close()
        self.proc = None

    def pids(self):
        return [self.proc.pid] if self.proc else []

    def mem(self):
        return mem_of([self.proc.pid]) if self.proc else {}

    def login(self):
        st, hd, body = http_request(self.port, "GET", "/magic/login")
        bind = set_cookie(hd, "magiclink_bind")
        if st != 200 or not bind:
            raise BenchError(f"goseed {self.mode}: GET /magic/login: {st}")
        return bind, csrf_of(body)

    def mint(self, n, nonce, path):
        with open(path, "w") as out:
            p = subprocess.run(self.base_args() + ["-mint", str(n), "-nonce", nonce],
                               stdout=out, stderr=subprocess.PIPE, text=True, timeout=600)
        if p.returncode != 0:
            raise BenchError(f"goseed -mint: {p.stderr}")

    def sign_in(self, bind, nonce, tmp):
        self.mint(1, nonce, tmp)
        token = Path(tmp).read_text().strip()
        st, hd, _ = http_request(self.port, "POST", "/magic/verify/" + token,
                                 f"csrf_token={nonce}", {"Content-Type": FORM, "Cookie": bind})
        sess = set_cookie(hd, "magiclink_session")
        if st != 303 or not sess:
            raise BenchError(f"goseed {self.mode}: POST verify: {st}")
        return sess


def mint_ours(args, key, n, nonce, path):
    with open(path, "w") as out:
        p = subprocess.run([str(args.bin["core"]), "--mint", str(n), nonce,
                            str(key), EMAIL], stdout=out, stderr=subprocess.PIPE, text=True,
                           timeout=600)
    if p.returncode != 0:
        raise BenchError(f"bench_core --mint: {p.stderr}")


# ------------------------------------------------------------------ load generators

def parse_dur_ms(s):
    m = re.match(r"([\d.]+)(us|ms|s|m)$", s)
    if not m:
        return None
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v if u == "ms" else v * 1000 if u == "s" else v * 60000


def wrk(port, path, spec, seconds, threads=THREADS, conns=CONNS):
    """One wrk run; spec: method, body, ctype, cookie, tokens (file) or None."""
    env = dict(os.environ)
    env.update({"ML_METHOD": spec.get("method", "GET"), "ML_BODY": spec.get("body") or "",
                "ML_CTYPE": spec.get("ctype") or "", "ML_COOKIE": spec.get("cookie") or "",
                "ML_THREADS": str(threads)})
    script = BENCH_SRC / "request.lua"
    if spec.get("tokens"):
        script = BENCH_SRC / "tokens.lua"
        env.update({"ML_TOKENS": str(spec["tokens"]), "ML_PREFIX": path})
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{seconds}s", "--latency", "--timeout", "10s",
           "-s", str(script), f"http://127.0.0.1:{port}{path}"]
    p = run(cmd, timeout=seconds + 60, env=env)
    out = p.stdout
    res = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
           "requests": int(re.search(r"(\d+) requests in", out).group(1))}
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        res[f"p{pct}_ms"] = parse_dur_ms(m.group(1)) if m else None
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    res["bad_status"] = int(m.group(1)) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = sum(map(int, m.groups())) if m else 0
    return res


def ab(port, path, spec, seconds, tmp):
    cmd = ["ab", "-k", "-q", f"-c{CONNS}", f"-t{seconds}", "-n", "100000000", "-r"]
    if spec.get("method") == "POST":
        bf = Path(tmp) / "ab-body"
        bf.write_text(spec.get("body") or "")
        cmd += ["-p", str(bf), "-T", spec.get("ctype") or FORM]
    if spec.get("cookie"):
        cmd += ["-H", f"Cookie: {spec['cookie']}"]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    out = run(cmd, timeout=seconds + 90).stdout
    res = {"rps": float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1)),
           "requests": int(re.search(r"Complete requests:\s+(\d+)", out).group(1))}
    for pct in ("50", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\d+)", out, re.M)
        res[f"p{pct}_ms"] = float(m.group(1)) if m else None
    m = re.search(r"Non-2xx responses:\s+(\d+)", out)
    res["bad_status"] = int(m.group(1)) if m else 0
    m = re.search(r"Failed requests:\s+(\d+)", out)
    res["failed"] = int(m.group(1)) if m else 0
    return res


def ab_count(port, path, spec, n, conns, tmp, timeout):
    """ab with a fixed request count (memory and heap runs)."""
    cmd = ["ab", "-k", "-q", f"-c{conns}", "-n", str(n), "-r"]
    if spec.get("method") == "POST":
        bf = Path(tmp) / "ab-body"
        bf.write_text(spec.get("body") or "")
        cmd += ["-p", str(bf), "-T", spec.get("ctype") or FORM]
    if spec.get("cookie"):
        cmd += ["-H", f"Cookie: {spec['cookie']}"]
    cmd.append(f"http://127.0.0.1:{port}{path}")
    out = run(cmd, timeout=timeout).stdout
    done = int(re.search(r"Complete requests:\s+(\d+)", out).group(1))
    m = re.search(r"Non-2xx responses:\s+(\d+)", out)
    bad = int(m.group(1)) if m else 0
    rps = float(re.search(r"Requests per second:\s+([\d.]+)", out).group(1))
    return done, bad, rps


# ------------------------------------------------------------------ the bench

def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


class Bench:
    def __init__(self, args):
        self.args = args
        self.build = args.build
        self.out = args.build / "bench"
        self.out.mkdir(parents=True, exist_ok=True)
        self.root = Path(tempfile.mkdtemp(prefix="mlbench-", dir=args.tmp))
        self.root.chmod(0o755)
        self.servers = []
        self.peers = PEERS          # --only jwt: ours and the ceiling alone
        self.results = {"meta": {}, "mpm_selection": {}, "matrix": {}, "ab": {},
                        "memory": {}, "core": {}, "go": {}, "callgrind": {}, "heap_httpd": {},
                        "profile": {}, "syscalls": {}, "pages": {}}

    # -- setup
    def setup(self):
        r = self.root
        # Copies of what runs: a `make` elsewhere rewrites build/*.so in place, which
        # would crash an httpd that has the file mapped.
        src = {"module": self.build / "mod_magiclink.so",
               "trivial": self.build / "bench" / "mod_ml_trivial.so",
               "core": self.build / "bench" / "bench_core",
               "goseed": self.build / "bench" / "goseed",
               "cli": self.build / "magiclink",
               "malloc_count": self.args.malloc_count}
        (r / "bin").mkdir()
        self.args.bin = {}
        for k, p in src.items():
            if not Path(p).exists():
                raise BenchError(f"{p} is not built (make bench builds it)")
            self.args.bin[k] = r / "bin" / Path(p).name
            shutil.copy2(p, self.args.bin[k])
        self.key = r / "keys"
        key_line = run([str(self.args.bin["cli"]), "keygen", "bench"], 30).stdout
        self.key.write_text(key_line)
        self.key.chmod(0o600)
        self.args.jwt_key = r / "jwt.pem"
        self.args.jwt_key.write_text(run([str(self.args.bin["cli"]), "jwt-keygen"], 30).stdout)
        self.args.jwt_key.chmod(0o600)
        self.pages = r / "pages"
        self.pages.mkdir()
        run([str(self.args.bin["core"]), "--render", str(self.pages)], 30)
        self.htdocs = r / "htdocs"
        for d in ("private", "private-jwt", "public"):
            (self.htdocs / d).mkdir(parents=True)
        self.htdocs.chmod(0o755)
        self.tokens = r / "tokens"
        self.tokens.mkdir()

    def start(self, srv):
        self.servers.append(srv)
        return srv.start()

    def stop(self, srv):
        srv.stop()
        if srv in self.servers:
            self.servers.remove(srv)

    def cleanup(self):
        for s in list(self.servers):
            try:
                s.stop()
            except Exception as e:      # keep stopping the others
                log("stop failed:", e)
        self.servers = []
        if not self.args.keep:
            shutil.rmtree(self.root, ignore_errors=True)

    # -- page sizes: our pages, which the trivial handler's pages match
    def probe(self):
        log("probing page sizes (event MPM)")
        srv = self.start(Httpd("event", self.root / "probe", self.args, {}, self.key,
                               self.htdocs))
        try:
            bind, nonce = srv.login()
            sizes = {}
            _, _, body = http_request(srv.port, "GET", "/magic/login", None, {"Cookie": bind})
            sizes["login"] = len(body)
            st, _, body = http_request(srv.port, "POST", "/magic/generate", srv.gen_body(nonce),
                                       {"Content-Type": FORM, "Cookie": bind})
            sizes["generate"] = len(body)
            static_page = body
            path = srv.mailed_link(bind, nonce)
            _, _, body = http_request(srv.port, "GET", path, None, {"Cookie": bind})
            sizes["verify_get"] = len(body)
            st, _, body = http_request(srv.port, "POST", path, f"csrf_token={nonce}",
                                       {"Content-Type": FORM, "Cookie": bind})
            sizes["verify_post"] = len(body)
        finally:
            self.stop(srv)
        # The static page: the size of the generate page (its own text).
        for d in ("private", "private-jwt", "public"):
            p = self.htdocs / d / "page.html"
            p.write_bytes(static_page)
            p.chmod(0o644)
        sizes["protected"] = len(static_page)
        self.sizes = sizes
        self.results["pages"] = sizes
        log("page sizes:", sizes)

    # -- the requests of each endpoint for each peer
    def specs(self, srv, rd, goes, state):
        """(server, path, spec) for each peer of each endpoint; rd: the same httpd on
        redis (or None)."""
        ob, on = state["ours"]
        ours_tok = state["ours_verify_path"]
        sp = {}
        gen = {"method": "POST", "ctype": FORM}
        sp["login"] = {
            "ours": (srv, "/magic/login", {"cookie": ob}),
            "ceiling": (srv, "/trivial/login", {"cookie": ob}),
        }
        sp["generate"] = {
            "ours": (srv, "/magic/generate", dict(gen, body=srv.gen_body(on), cookie=ob)),
            "ours-nomail": (srv, "/nomail/generate", dict(gen, body=srv.gen_body(on), cookie=ob)),
            "ceiling": (srv, "/trivial/generate", dict(gen, body=srv.gen_body(on), cookie=ob)),
        }
        sp["verify_get"] = {
            "ours": (srv, ours_tok, {"cookie": ob}),
            "ceiling": (srv, "/trivial/verify_get", {"cookie": ob}),
        }
        sp["verify_post"] = {     # LMDB holds every link a run issues: the same httpd
            "ours": (srv, "/magic/verify/", dict(gen, body=f"csrf_token={on}", cookie=ob,
                                                 tokens="ours")),
            "ceiling": (srv, "/trivial/verify_post/", dict(gen, body=f"csrf_token={on}",
                                                           cookie=ob, tokens="trivial")),
        }
        sp["protected"] = {
            "ours": (srv, "/private/page.html", {"cookie": "session:ours"}),
            "ceiling": (srv, "/public/page.html", {"cookie": ob}),
            "ours-jwt": (srv, "/private-jwt/page.html", {"cookie": "session:ours"}),
        }
        if rd:
            rb, rn = state["ours-redis"]
            sp["generate"]["ours-redis"] = (rd, "/magic/generate",
                                            dict(gen, body=rd.gen_body(rn), cookie=rb))
            sp["generate"]["ours-nomail-redis"] = (rd, "/nomail/generate",
                                                   dict(gen, body=rd.gen_body(rn), cookie=rb))
            sp["verify_post"]["ours-redis"] = (rd, "/magic/verify/",
                                               dict(gen, body=f"csrf_token={rn}", cookie=rb,
                                                    tokens="ours-redis"))
            sp["protected"]["ours-redis"] = (rd, "/private/page.html",
                                             {"cookie": "session:ours-redis"})
        for g in goes:
            peer = "go-" + g.mode
            gb, gn = state[peer]
            sp["login"][peer] = (g, "/magic/login", {"cookie": gb})
            sp["generate"][peer] = (g, "/magic/generate",
                                    dict(gen, body=srv.gen_body(gn), cookie=gb))
            sp["verify_get"][peer] = (g, state[peer + "_verify_path"], {"cookie": gb})
            sp["verify_post"][peer] = (g, "/magic/verify/",
                                       dict(gen, body=f"csrf_token={gn}", cookie=gb, tokens=peer))
            sp["protected"][peer] = (g, "/private/page.html", {"cookie": "session:" + peer})
        return sp

    def peer_state(self, srv, rd, goes):
        state = {}
        bind, nonce = srv.login()
        state["ours"] = (bind, nonce)
        state["ours_verify_path"] = srv.mailed_link(bind, nonce)
        srv.drain()
        srv.clear_mail()
        if rd:
            state["ours-redis"] = rd.login()
        for g in goes:
            peer = "go-" + g.mode
            gb, gn = g.login()
            state[peer] = (gb, gn)
            tf = self.tokens / f"{peer}-one"
            g.mint(1, gn, tf)
            state[peer + "_verify_path"] = "/magic/verify/" + tf.read_text().strip()
        return state

    def fresh_sessions(self, srv, rd, goes, state):
        """Real sign-ins: the session cookie is re-sealed when older than a minute, so a
        fresh one for every round keeps every request on the same (no-renewal) path."""
        for server, peer in ((srv, "ours"), (rd, "ours-redis")):
            if server:
                state["session:" + peer] = server.sign_in(*state[peer])
                server.drain()
                server.clear_mail()
        for g in goes:
            peer = "go-" + g.mode
            gb, gn = state[peer]
            state["session:" + peer] = g.sign_in(gb, gn, self.tokens / f"{peer}-session")

    def prepare_tokens(self, servers, goes, state, peer, n):
        path = self.tokens / f"{peer}.txt"
        if peer in ("ours", "ours-redis"):
            # Real links: the server records each link it issues, and only those open.
            rps = servers[peer].issue_links(*state[peer], n, path, self.root)
            state.setdefault("issue_rps", {}).setdefault(peer, []).append(rps)
        elif peer == "trivial":
            mint_ours(self.args, self.key, n, state["ours"][1], path)
        else:
            g = next(g for g in goes if "go-" + g.mode == peer)
            g.mint(n, state[peer][1], path)
        return path

    def resolve(self, spec, state, servers, goes, peer, est_rps):
        s = dict(spec)
        if s.get("cookie", "").startswith("session:"):
            s["cookie"] = state[s["cookie"]]
        if s.get("tokens"):
            # Each token works once, and each wrk thread sends its own share of the list:
            # enough for one thread to make the whole run alone (wrk's threads share the
            # CPUs with the server and can be far apart), so none wraps round to a used
            # token. The trivial handler consumes nothing.
            n = 20000 if peer == "ceiling" else int(est_rps * self.args.seconds * THREADS * 1.1) + 5000
            s["tokens"] = self.prepare_tokens(servers, goes, state, s["tokens"], n)
            s["tokens_minted"] = n
        return s

    def check_spec(self, port, path, spec, endpoint, peer):
        """One request by hand: the status each endpoint must answer."""
        want = {"verify_post": 303}.get(endpoint, 200)
        if peer == "ceiling":
            want = 200
        p = path
        if spec.get("tokens"):
            p = path + Path(spec["tokens"]).read_text().split("\n", 1)[0]
        h = {}
        if spec.get("cookie"):
            h["Cookie"] = spec["cookie"]
        if spec.get("ctype"):
            h["Content-Type"] = spec["ctype"]
        st, hd, body = http_request(port, spec.get("method", "GET"), p, spec.get("body"), h)
        if st != want:
            raise BenchError(f"{endpoint} {peer}: {spec.get('method', 'GET')} {p} answered {st}, "
                             f"not {want}: {body[:300]!r}")
        return len(body)

    def run_matrix(self, mpm, srv, rd, goes, endpoints=ENDPOINTS):
        """Every endpoint's peers in turn, round after round. srv: the httpd (LMDB store)
        that serves ours and the ceiling; rd: the same httpd with MagicLinkCache redis
        (its rows: EXTRA_PEERS), or None."""
        log(f"matrix under {mpm}: {len(endpoints)} endpoints x {len(self.peers)} peers "
            f"(and the extra rows) x {self.args.rounds} rounds x {self.args.seconds}s")
        servers = {"ours": srv, "ours-redis": rd}
        state = self.peer_state(srv, rd, goes)
        specs = self.specs(srv, rd, goes, state)
        self.fresh_sessions(srv, rd, goes, state)
        res = {}
        # Warm every peer once (threads, pools, Go's heap).
        for peer in self.peers + (["ours-redis"] if rd else []):
            server, path, spec = specs["login"].get(peer) or (rd, "/magic/login",
                                                              {"cookie": state[peer][0]})
            wrk(server.port, path, self.resolve(spec, state, servers, goes, peer, 0), 1)
        for peer in ("ours", "ours-redis"):
            if servers[peer]:
                servers[peer].clear_mail()
        for ep in endpoints:
            peers = self.peers + [p for p in EXTRA_PEERS.get(ep, []) if p in specs[ep]]
            runs = {p: [] for p in peers}
            sizes = {}
            for rnd in range(self.args.rounds):
                if ep == "protected":
                    self.fresh_sessions(srv, rd, goes, state)
                for peer in peers:
                    server, path, spec = specs[ep][peer]
                    est = 0
                    if ep == "verify_post":
                        # Tokens for the run: from this peer's last POST verify, else from
                        # its GET verify and generate rates (a POST verify seals a session).
                        if runs[peer]:
                            est = max(r["rps"] for r in runs[peer])
                        else:
                            get = res.get("verify_get", {}).get(peer, {}).get("rps") or 20000
                            gen = res.get("generate", {}).get(peer, {}).get("rps") or 20000
                            est = min(get, 1.1 * gen)
                    s = self.resolve(spec, state, servers, goes, peer, est)
                    if rnd == 0:
                        sizes[peer] = self.check_spec(server.port, path, s, ep, peer)
                        if s.get("tokens"):   # the check used the first token up
                            lines = Path(s["tokens"]).read_text().split("\n", 1)[1]
                            Path(s["tokens"]).write_text(lines)
                    if isinstance(server, Httpd):
                        server.drain()      # the deliverers idle: their CPU is this run's
                    cpu0 = cpu_seconds(server.pids())
                    r = wrk(server.port, path, s, self.args.seconds)
                    r["round"] = rnd
                    if s.get("tokens"):
                        r["tokens_minted"] = s["tokens_minted"]
                        if peer != "ceiling" and r["requests"] > s["tokens_minted"] // 2 * 2:
                            r["note"] = "token list ran out: tokens reused (410s)"
                    r.update(server.mem())
                    if isinstance(server, Httpd) and server.redis:
                        r["redis"] = server.redis.mem()
                    if ep == "generate" and peer.startswith("ours"):
                        # What the run queued and the deliverers had not sent (or dropped)
                        # by its end; delivered before the next run starts.
                        r["outbox_backlog"], r["drain_s"] = server.drain()
                        server.clear_mail()
                    # The server's CPU per request (its deliverers' included): unlike
                    # req/s, it holds on a loaded machine.
                    r["cpu_us"] = (cpu_seconds(server.pids()) - cpu0) * 1e6 / max(r["requests"], 1)
                    runs[peer].append(r)
                    log(f"  {mpm} {ep:12s} {peer:17s} round {rnd + 1}: {r['rps']:9.0f} req/s"
                        f"  p50 {r['p50_ms']}ms p99 {r['p99_ms']}ms"
                        + (f"  outbox left {r['outbox_backlog']} ({r['drain_s']:.1f}s)"
                           if "outbox_backlog" in r else "")
                        + f"  cpu {r['cpu_us']:.0f}us/req"
                        + (f"  BAD {r['bad_status']}" if r["bad_status"] else "")
                        + (f"  sockerr {r['socket_errors']}" if r["socket_errors"] else ""))
            res[ep] = self.summarize(runs, sizes)
            if ep == "verify_post":
                res[ep]["issue_rps"] = state.pop("issue_rps", {})
            res[ep]["stores"] = {"ours": srv.store, **({"ours-redis": rd.store} if rd else {})}
        return res

    def summarize(self, runs, sizes):
        out = {}
        for peer, rs in runs.items():
            out[peer] = {
                "runs": rs,
                "rps": median([r["rps"] for r in rs]),
                "rps_min": min(r["rps"] for r in rs), "rps_max": max(r["rps"] for r in rs),
                "p50_ms": median([r["p50_ms"] for r in rs]),
                "p99_ms": median([r["p99_ms"] for r in rs]),
                "rss_kb": median([r.get("rss_kb") for r in rs]),
                "pss_kb": median([r.get("pss_kb") for r in rs]),
                "procs": rs[-1].get("procs"),
                "bad_status": sum(r["bad_status"] for r in rs),
                "socket_errors": sum(r["socket_errors"] for r in rs),
                "body_bytes": sizes.get(peer),
                "cpu_us": median([r.get("cpu_us") for r in rs]),
            }
            if any("outbox_backlog" in r for r in rs):
                out[peer]["outbox_backlog"] = median([r.get("outbox_backlog") for r in rs])
                out[peer]["drain_s"] = median([r.get("drain_s") for r in rs])

        def paired(a, b):
            """Median of the per-round ratios a / b (each pair taken side by side)."""
            return median([x["rps"] / y["rps"] for x, y in zip(runs[a], runs[b]) if y["rps"]])
        # ours / each other peer, each peer / the ceiling, and each redis row / its
        # LMDB twin in the same httpd configuration.
        out["ratios"] = {o: paired("ours", o) for o in runs if o != "ours"}
        out["vs_ceiling"] = {o: paired(o, "ceiling") for o in runs if o != "ceiling"}
        # The same ratio from CPU per request: ceiling's CPU / the peer's.
        out["cpu_vs_ceiling"] = {o: median([y["cpu_us"] / x["cpu_us"]
                                            for x, y in zip(runs[o], runs["ceiling"])
                                            if x.get("cpu_us") and y.get("cpu_us")])
                                 for o in runs if o != "ceiling" and "ceiling" in runs}
        out["redis_vs_lmdb"] = {o: paired(o, o[:-len("-redis")]) for o in runs
                                if o.endswith("-redis") and o[:-len("-redis")] in runs}
        return out

    # -- which MPM is fastest here
    def select_mpm(self):
        mpms = ["event", "worker", "prefork"]
        secs = min(self.args.seconds, 2)
        log(f"MPM selection: POST generate and the trivial POST on {mpms}, "
            f"{self.args.rounds} rounds x {secs}s")
        srvs = {m: self.start(Httpd(m, self.root / "select", self.args, self.sizes, self.key,
                                    self.htdocs)) for m in mpms}
        try:
            state = {}
            for m, s in srvs.items():
                bind, nonce = s.login()
                state[m] = {"cookie": bind, "body": s.gen_body(nonce), "method": "POST",
                            "ctype": FORM}
                wrk(s.port, "/magic/generate", state[m], 1)
                s.drain()
                s.clear_mail()
            runs = {m: {"ours": [], "ceiling": []} for m in mpms}
            for rnd in range(self.args.rounds):
                for m, s in srvs.items():
                    for peer, path in (("ours", "/magic/generate"), ("ceiling", "/trivial/generate")):
                        r = wrk(s.port, path, state[m], secs)
                        r.update(s.mem())
                        if peer == "ours":     # the mail it queued goes out before the next run
                            r["outbox_backlog"], r["drain_s"] = s.drain()
                        runs[m][peer].append(r)
                        log(f"  {m:8s} {peer:8s} round {rnd + 1}: {r['rps']:9.0f} req/s"
                            + (f"  BAD {r['bad_status']}" if r["bad_status"] else ""))
                    s.clear_mail()
        finally:
            for s in srvs.values():
                self.stop(s)
        sel = {m: {p: {"rps": median([r["rps"] for r in rs]),
                       "p99_ms": median([r["p99_ms"] for r in rs]),
                       "rss_kb": median([r["rss_kb"] for r in rs]),
                       "procs": rs[-1]["procs"], "runs": rs}
                   for p, rs in runs[m].items()} for m in mpms}
        best = max(mpms, key=lambda m: sel[m]["ours"]["rps"])
        self.results["mpm_selection"] = {"seconds": secs, "by_mpm": sel, "best": best,
                                         "criterion": "median req/s of POST generate (ours)"}
        log(f"fastest MPM here for POST generate: {best}")
        return best

    # -- one ab -k run per endpoint (ours)
    def run_ab(self, mpm, srv, goes):
        state = self.peer_state(srv, None, goes)
        self.fresh_sessions(srv, None, goes, state)
        specs = self.specs(srv, None, goes, state)
        out = {}
        for ep in ENDPOINTS:
            if ep == "verify_post":
                continue   # single-use tokens: ab sends one request over and over
            server, path, spec = specs[ep]["ours"]
            s = self.resolve(spec, state, {"ours": srv}, goes, "ours", 0)
            r = ab(server.port, path, s, min(self.args.seconds, 3), self.root)
            r.update(srv.mem())
            if ep == "generate":
                r["outbox_backlog"], r["drain_s"] = srv.drain()
            out[ep] = r
            log(f"  ab {mpm} {ep:12s}: {r['rps']:9.0f} req/s p50 {r['p50_ms']}ms "
                f"p99 {r['p99_ms']}ms" + (f" BAD {r['bad_status']}" if r["bad_status"] else ""))
            srv.clear_mail()
        return out

    # -- RSS of the children over many POST generates
    def run_memory(self, mpm, path="/magic/generate", label="memory"):
        total = self.args.mem_requests
        chunks = 4
        per = max(1, total // chunks)
        log(f"{label} under {mpm}: RSS before and after {per * chunks} POSTs to {path}")
        srv = self.start(Httpd(mpm, self.root / label, self.args, self.sizes, self.key,
                               self.htdocs))
        try:
            bind, nonce = srv.login()
            spec = {"method": "POST", "body": srv.gen_body(nonce), "ctype": FORM, "cookie": bind}
            pids0 = sorted(srv.pids())
            warm = min(20000, per)
            ab_count(srv.port, path, spec, warm, CONNS, self.root, 600)
            srv.drain(900)
            srv.clear_mail()
            time.sleep(0.5)
            points = [{"requests": 0, **srv.mem()}]
            done_total, bad_total = 0, 0
            for i in range(chunks):
                done, bad, rps = ab_count(srv.port, path, spec, per, CONNS, self.root, 900)
                done_total += done
                bad_total += bad
                backlog, waited = srv.drain(900)    # every queued mail delivered
                srv.clear_mail()
                time.sleep(0.5)
                points.append({"requests": done_total, "rps": rps, "outbox_backlog": backlog,
                               "drain_s": round(waited, 1), **srv.mem()})
                log(f"  after {done_total:7d}: RSS {points[-1]['rss_kb'] / 1024:.1f} MiB "
                    f"(anon {points[-1]['anon_kb'] / 1024:.1f}, file "
                    f"{points[-1]['file_kb'] / 1024:.1f}, shmem {points[-1]['shmem_kb'] / 1024:.1f}, "
                    f"PSS {points[-1]['pss_kb'] / 1024:.1f} "
                    f"MiB) in {points[-1]['procs']} children; outbox had {backlog} left")
            pids1 = sorted(srv.pids())
            store_kb = du_kb(srv.store_dir)
        finally:
            self.stop(srv)
        grow = points[-1]["rss_kb"] - points[0]["rss_kb"]
        grow_late = points[-1]["rss_kb"] - points[1]["rss_kb"]
        anon_late = points[-1]["anon_kb"] - points[1]["anon_kb"]
        # Flat: after the warm-up and the first quarter (every thread's buffers grown),
        # less than 1 MiB more anonymous memory (heap, stacks: where a leak would be) over
        # the last three quarters in all the children together (a leak of one 32-byte
        # block per request would be 4.6 MiB), with the same child processes throughout.
        # RSS also counts the pages of the LMDB store's map the children have touched,
        # which grows with the links alive (each lives 15 min): shown, not the criterion.
        limit = 1024
        flat = anon_late <= limit and pids0 == pids1
        return {"mpm": mpm, "path": path, "warmup_requests": warm, "points": points,
                "growth_kb": grow, "growth_after_first_chunk_kb": grow_late,
                "anon_growth_after_first_chunk_kb": anon_late, "store_kb": store_kb,
                "same_children": pids0 == pids1, "bad_status": bad_total, "flat": flat,
                "limit_kb": limit}

    # -- the core in-process: C and Go, callgrind
    def run_core(self):
        log("core in-process: bench_core (C, malloc_count preloaded)")
        env = dict(os.environ, LD_PRELOAD=str(self.args.bin["malloc_count"]))
        p = run([str(self.args.bin["core"]), str(self.key)], 300, env=env)
        core = {}
        for line in p.stdout.splitlines():
            if line.startswith("{"):
                d = json.loads(line)
                core[d["case"]] = d
        self.results["core"] = core
        log("core in-process: go test -bench (goseed)")
        env = dict(os.environ, ML_PAGES_DIR=str(self.pages), ML_KEYFILE=str(self.key),
                   GO111MODULE="off", GOFLAGS="",
                   GOPATH=os.environ.get("GOPATH") or "/usr/share/gocode",
                   GOCACHE=os.environ.get("GOCACHE") or str(self.build / "go-cache"))
        p = run(["go", "test", "-count", str(self.args.go_count), "-run", "TestPagesMatchC|TestFlow",
                 "-bench", ".", "-benchmem", "-benchtime", self.args.go_benchtime, "."],
                600, env=env, cwd=str(BENCH_SRC / "goseed"))
        (self.out / "go-bench.txt").write_text(p.stdout)
        go = {}
        for m in re.finditer(r"^Benchmark(\w+)/(\w+)-\d+\s+\d+\s+([\d.]+) ns/op\s+(\d+) B/op\s+"
                             r"(\d+) allocs/op", p.stdout, re.M):
            d = go.setdefault(m.group(1), {}).setdefault(m.group(2), {"ns": [], "B": [], "allocs": []})
            d["ns"].append(float(m.group(3)))
            d["B"].append(int(m.group(4)))
            d["allocs"].append(int(m.group(5)))
        gv = run(["go", "version"], 30).stdout.strip()
        self.results["go"] = {"version": gv, "bench": {
            name: {mode: {"ns_per_op": median(v["ns"]), "bytes_per_op": median(v["B"]),
                          "allocs_per_op": median(v["allocs"]), "samples": len(v["ns"])}
                   for mode, v in modes.items()} for name, modes in go.items()}}
        if shutil.which("valgrind"):
            log("core in-process: callgrind")
            n = self.args.callgrind_ops
            cg = self.root / "cg"
            cg.mkdir(exist_ok=True)
            run(["valgrind", "--tool=callgrind", "--collect-atstart=no",
                 f"--callgrind-out-file={cg}/callgrind.out.%p",
                 str(self.args.bin["core"]), "--callgrind", str(n), str(self.key)],
                900)
            irs = {}
            for f in sorted(cg.glob("callgrind.out.*")):
                text = f.read_text(errors="replace")
                m = re.search(r"^desc: Trigger: Client Request: (\S+)", text, re.M)
                t = re.search(r"^(?:summary|totals): (\d+)", text, re.M)
                if m and t:
                    irs[m.group(1)] = int(t.group(1)) / n
                    if m.group(1) in ("generate", "verify", "session", "mail"):
                        ann = run(["callgrind_annotate", "--inclusive=no", str(f)], 120,
                                  check=False).stdout
                        (self.out / f"callgrind_{m.group(1)}.txt").write_text(ann)
            self.results["callgrind"] = {"ops": n, "ir_per_op": irs}

    # -- system calls per request inside httpd (-X, strace)
    def run_syscalls(self, mpm, n=2000):
        """strace -f on a one-process httpd while n keep-alive requests of each endpoint
        arrive one after another: the kernel work each request costs. Calls are counted
        per thread: those of the threads that served the requests (that touched the
        client connection or the listener) over n; the rest (the mail deliverers, idle
        workers' time-outs) are background, apart. Then a pass under strace -k tells the
        calls made from within mod_magiclink (strace_requests)."""
        if not shutil.which("strace"):
            log("no strace: skipping the system-call count (apt-get install strace)")
            return {}
        log(f"system calls per request inside httpd -X ({mpm}, strace -f, {n} requests each, "
            "then 100 under strace -k)")
        out = {}
        root = self.root / "syscalls"
        redis = Redis(root)
        self.servers.append(redis)
        redis.start()
        srv = Httpd(mpm, root, self.args, self.sizes, self.key, self.htdocs)
        rd = Httpd(mpm, root, self.args, self.sizes, self.key, self.htdocs, redis=redis,
                   name=f"httpd-{mpm}-redis")
        for s in (srv, rd):
            self.servers.append(s)
            s.start(single=True)
        try:
            bind, nonce = srv.login()
            gen = srv.gen_body(nonce)
            rbind, rnonce = rd.login()
            def links():
                """POST verify takes a link per request: real ones, issued and delivered
                just before (every request of both passes and the warm-up, and spares)."""
                vtok = self.root / "syscalls-links.txt"
                srv.issue_links(bind, nonce, n + 700, vtok, self.root, conns=8)
                return ["/magic/verify/" + t for t in vtok.read_text().split()]
            form = {"Content-Type": FORM}
            for key, server, method, path, body, hd in (
                    ("generate/ours", srv, "POST", "/magic/generate", gen, {"Cookie": bind}),
                    ("generate/ours, no mail", srv, "POST", "/nomail/generate", gen,
                     {"Cookie": bind}),
                    ("generate/ours, no mail, redis", rd, "POST", "/nomail/generate",
                     rd.gen_body(rnonce), {"Cookie": rbind}),
                    ("generate/ceiling", srv, "POST", "/trivial/generate", gen, {}),
                    ("verify_get/ours", srv, "GET", lambda: srv.mailed_link(bind, nonce), None,
                     {"Cookie": bind}),
                    ("verify_post/ours", srv, "POST", links, f"csrf_token={nonce}",
                     {"Cookie": bind}),
                    ("verify_post/ceiling", srv, "POST", "/trivial/verify_post/x",
                     f"csrf_token={nonce}", {"Cookie": bind}),
                    ("protected/ours", srv, "GET", "/private/page.html", None, "session"),
                    ("protected/ceiling", srv, "GET", "/public/page.html", None, {"Cookie": bind}),
                    ("protected/ours, redis", rd, "GET", "/private/page.html", None,
                     "session")):
                if callable(path):          # a fresh link: links live 15 minutes
                    path = path()
                    server.drain()
                if hd == "session":
                    # Signed in just before: a session cookie older than a minute would be
                    # re-sealed on every request (the renewal path, not the check's).
                    hd = {"Cookie": server.sign_in(*((bind, nonce) if server is srv
                                                     else (rbind, rnonce)))}
                    server.drain()
                if body:
                    hd = dict(hd, **form)
                out[key] = self.strace_requests(server, method, path, body, hd, n, key=key)
                server.drain()
                server.clear_mail()
                d = out[key]
                log(f"  {key}: {d['total']:.2f} system calls per request "
                    f"({d['module_total']:.2f} from within mod_magiclink); background "
                    f"{d['background_per_req']:.2f} per request in {d['background_threads']} "
                    "threads")
        finally:
            for s in (srv, rd, redis):
                self.stop(s)
        return out

    def strace_requests(self, srv, method, path, body, hd, n, n_stacks=100, key=None):
        """path: one path, or a list of n + n_stacks + 200 or more (single-use links). Two
        passes:
        the calls of n requests (strace -f -yy -ttt: only calls between the first request
        and the last answer count), then n_stacks more under strace -k, each call's stack
        telling those made from within mod_magiclink (its own code, or a library it called:
        LMDB, hiredis, OpenSSL) from httpd's."""
        paths = iter(path) if isinstance(path, list) else None
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=10)
        module = Path(self.args.bin["module"]).name

        def send(count):
            for _ in range(count):
                conn.request(method, next(paths) if paths else path, body=body, headers=hd)
                resp = conn.getresponse()
                resp.read()
                if resp.status not in (200, 303):
                    raise BenchError(f"strace run {method} {path}: {resp.status}")

        def traced(count, extra):
            report = self.root / "strace.txt"
            # -yy: sockets as TCP:[local->peer], which tells the threads that served the
            # requests (they touched the server's port) from the rest.
            st = subprocess.Popen(["strace", "-f", "-qq", "-yy", "-ttt", "-s", "0", *extra,
                                   "-o", str(report), "-p", str(srv.proc.pid)],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            try:
                time.sleep(1.5)             # strace attaches to every thread
                t0 = time.time()
                send(count)
                t1 = time.time()
                time.sleep(0.5)
            finally:
                st.send_signal(signal.SIGINT)
                st.wait(timeout=120)
            text = report.read_text(errors="replace")
            if "-k" in extra and key:       # kept: which stack made each call
                keep = re.sub(r"[^a-z0-9]+", "_", key.lower()).strip("_")
                shutil.copy(report, self.out / f"strace_{keep}.txt")
            report.unlink()
            return text, t0, t1

        mine = re.compile(rf"127\.0\.0\.1:{srv.port}(?!\d)")
        call_re = re.compile(r"^(\d+)\s+([\d.]+)\s+(?:<\.\.\. )?([a-z_0-9]+)(\(| resumed>)")

        def records(text, t0, t1):
            """[tid, name, in the window, touched the port, from our module] per call,
            counted at its first line; the stack lines (-k) that follow a call's line (or
            its "resumed" line) are its own."""
            out, cur, pending = [], None, {}
            for line in text.splitlines():
                if line.startswith(" > "):
                    if cur is not None and module in line:
                        cur[4] = True
                    continue
                m = call_re.match(line)
                if not m:
                    cur = None
                    continue
                tid, ts, name, kind = int(m.group(1)), float(m.group(2)), m.group(3), m.group(4)
                if kind == "(":             # a new call (whole, or <unfinished ...>)
                    cur = [tid, name, t0 <= ts <= t1, bool(mine.search(line)), False]
                    out.append(cur)
                    if "<unfinished ...>" in line:
                        pending[tid] = cur
                else:                       # "<... name resumed>": its stack comes now
                    cur = pending.pop(tid, None)
                    if cur is not None and mine.search(line):
                        cur[3] = True
            return out

        try:
            send(200)                       # warm: lazy set-up is not per request
            recs = records(*traced(n, []))
            served = {r[0] for r in recs if r[3]}
            calls, background = {}, {}
            for tid, name, inside, _, _ in recs:
                if inside:
                    dst = calls if tid in served else background
                    dst[name] = dst.get(name, 0) + 1
            text, s0, s1 = traced(n_stacks, ["-k"])
            srecs = records(text, s0, s1)
            sserved = {r[0] for r in srecs if r[3]}
            ours, ours_bg = {}, {}
            for tid, name, inside, _, from_module in srecs:
                if inside and from_module:
                    dst = ours if tid in sserved else ours_bg
                    dst[name] = dst.get(name, 0) + 1
        finally:
            conn.close()
        return {"total": sum(calls.values()) / n, "n": n, "threads": len(served),
                "calls": {k: v / n for k, v in sorted(calls.items(), key=lambda kv: -kv[1])},
                "background_threads": len({r[0] for r in recs} - served),
                "background_per_req": sum(background.values()) / n,
                "background": dict(sorted(background.items(), key=lambda kv: -kv[1])),
                "module_n": n_stacks,
                "module_total": sum(ours.values()) / n_stacks,
                "module_calls": {k: v / n_stacks for k, v in
                                 sorted(ours.items(), key=lambda kv: -kv[1])},
                "module_background": dict(sorted(ours_bg.items(), key=lambda kv: -kv[1]))}

    # -- heap calls per request inside httpd (-X, malloc_count shim)
    def run_heap_httpd(self, mpm):
        log(f"heap per request inside httpd -X ({mpm}, malloc_count shim)")
        n1, n2 = self.args.heap_requests
        out = {}
        env = {"PATH": "/usr/sbin:/usr/bin:/bin", "LANG": "C",
               "LD_PRELOAD": str(self.args.bin["malloc_count"]), "ML_MALLOC_COUNT_REPORT": "1"}
        for ep, peer in (("generate", "ours"), ("generate", "ceiling"), ("verify_get", "ours"),
                         ("protected", "ours"), ("protected", "ceiling"), ("login", "ours")):
            counts = []
            for n in (n1, n2):
                srv = Httpd(mpm, self.root / "heap", self.args, self.sizes, self.key, self.htdocs)
                self.servers.append(srv)
                srv.start(env=env, single=True)
                try:
                    bind, nonce = srv.login()
                    path, spec = {
                        ("generate", "ours"): ("/magic/generate", {"method": "POST",
                                               "body": srv.gen_body(nonce), "ctype": FORM,
                                               "cookie": bind}),
                        ("generate", "ceiling"): ("/trivial/generate", {"method": "POST",
                                                  "body": srv.gen_body(nonce), "ctype": FORM,
                                                  "cookie": bind}),
                        ("login", "ours"): ("/magic/login", {"cookie": bind}),
                    }.get((ep, peer), (None, None))
                    if ep == "verify_get":
                        path, spec = srv.mailed_link(bind, nonce), {"cookie": bind}
                    elif ep == "protected":
                        sess = srv.sign_in(bind, nonce)
                        path = "/private/page.html" if peer == "ours" else "/public/page.html"
                        spec = {"cookie": sess}
                    done, bad, _ = ab_count(srv.port, path, spec, n, 8, self.root, 300)
                    if bad:
                        raise BenchError(f"heap run {ep} {peer}: {bad} bad answers")
                    # The deliverer threads' heap calls (claim, maildir, done) belong to
                    # generate's count: let them send every queued mail before the exit.
                    srv.drain()
                finally:
                    self.stop(srv)
                # httpd points its stderr at the error log once configured.
                text = ((srv.dir / "logs" / "stderr").read_text(errors="replace")
                        + (srv.dir / "logs" / "error_log").read_text(errors="replace"))
                m = re.findall(r"malloc_count: (\d+) allocations, (\d+) bytes, (\d+) frees", text)
                if not m:
                    raise BenchError(f"no malloc_count report from httpd -X:\n{text[-2000:]}")
                counts.append(tuple(map(int, m[-1])))
                srv.clear_mail()
            d = n2 - n1
            out[f"{ep}/{peer}"] = {
                "calls_per_req": (counts[1][0] - counts[0][0]) / d,
                "bytes_per_req": (counts[1][1] - counts[0][1]) / d,
                "frees_per_req": (counts[1][2] - counts[0][2]) / d, "n": [n1, n2]}
            log(f"  {ep}/{peer}: {out[f'{ep}/{peer}']['calls_per_req']:.2f} heap calls, "
                f"{out[f'{ep}/{peer}']['bytes_per_req']:.0f} B per request")
        return out

    # -- perf profile of our hot endpoints under load
    def run_profile(self, mpm):
        if not shutil.which("perf"):
            log("no perf: skipping the profile (apt-get install linux-perf)")
            return {}
        out = {}
        srv = self.start(Httpd(mpm, self.root / "profile", self.args, self.sizes, self.key,
                               self.htdocs))
        try:
            bind, nonce = srv.login()
            vpath = srv.mailed_link(bind, nonce)
            sess = srv.sign_in(bind, nonce)
            for ep, path, spec in (
                    ("generate", "/magic/generate", {"method": "POST", "body": srv.gen_body(nonce),
                                                     "ctype": FORM, "cookie": bind}),
                    ("generate_nomail", "/nomail/generate",
                     {"method": "POST", "body": srv.gen_body(nonce), "ctype": FORM,
                      "cookie": bind}),
                    ("verify_get", vpath, {"cookie": bind}),
                    ("protected", "/private/page.html", {"cookie": sess})):
                secs = max(3, self.args.seconds)
                data = self.root / f"perf-{ep}.data"
                env = dict(os.environ, ML_METHOD=spec.get("method", "GET"),
                           ML_BODY=spec.get("body") or "", ML_CTYPE=spec.get("ctype") or "",
                           ML_COOKIE=spec.get("cookie") or "", ML_THREADS=str(THREADS))
                load = subprocess.Popen(
                    ["wrk", f"-t{THREADS}", f"-c{CONNS}", f"-d{secs + 2}s", "-s",
                     str(BENCH_SRC / "request.lua"), f"http://127.0.0.1:{srv.port}{path}"],
                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                try:
                    time.sleep(1)
                    pids = ",".join(map(str, srv.pids()))
                    # DWARF unwinding: the module and httpd are built without frame
                    # pointers, and the inclusive cost of our functions is the point.
                    run(["perf", "record", "-F", "499", "--call-graph", "dwarf,16384", "-o",
                         str(data), "-p", pids, "--", "sleep", str(secs)], secs + 120,
                        check=False)
                finally:
                    load.wait(timeout=secs + 30)
                srv.drain()
                srv.clear_mail()
                rep = run(["perf", "report", "-i", str(data), "--no-children", "--stdio",
                           "--sort", "dso,sym", "-g", "none", "--percent-limit", "0.3"], 600,
                          check=False).stdout
                (self.out / f"profile_{ep}.txt").write_text(rep)
                dsos = run(["perf", "report", "-i", str(data), "--no-children", "--stdio",
                            "--sort", "dso", "-g", "none"], 600, check=False).stdout
                (self.out / f"profile_{ep}_dso.txt").write_text(dsos)
                inc = run(["perf", "report", "-i", str(data), "--children", "--stdio",
                           "--sort", "sym", "-g", "none", "--percent-limit", "0.5"], 600,
                          check=False).stdout
                (self.out / f"profile_{ep}_inclusive.txt").write_text(inc)
                # Where the hottest symbols are called from (the kernel's share: which
                # system calls and faults lead there).
                chains = run(["perf", "report", "-i", str(data), "--no-children", "--stdio",
                              "--sort", "sym", "-g", "caller,2,callee", "--percent-limit", "3"],
                             600, check=False).stdout
                (self.out / f"profile_{ep}_chains.txt").write_text(chains)
                top = []
                for line in rep.splitlines():
                    m = re.match(r"\s+([\d.]+)%\s+(\S+)\s+\[.\]\s+(.+)$", line)
                    if m:
                        top.append({"pct": float(m.group(1)), "dso": m.group(2),
                                    "sym": m.group(3).strip()})
                # One DSO instance per child process: the same symbol can be listed once
                # per child; the sample sets are disjoint, so sum them.
                merged = {}
                for t in top:
                    k = (t["dso"], t["sym"])
                    merged[k] = merged.get(k, 0) + t["pct"]
                top = sorted(({"dso": k[0], "sym": k[1], "pct": round(v, 2)}
                              for k, v in merged.items()), key=lambda x: -x["pct"])
                incl = {}
                for line in inc.splitlines():
                    m = re.match(r"\s+([\d.]+)%\s+([\d.]+)%\s+\[.\]\s+(.+)$", line)
                    if m:
                        sym = m.group(3).strip()
                        incl[sym] = incl.get(sym, 0) + float(m.group(1))
                ours = sorted(((k, round(v, 1)) for k, v in incl.items()
                               if k.startswith(("ml_", "ap_", "apr_", "mdb_", "redis"))),
                              key=lambda x: -x[1])
                dso = []
                for line in dsos.splitlines():
                    m = re.match(r"\s+([\d.]+)%\s+(\S+)\s*$", line)
                    if m:
                        dso.append({"pct": float(m.group(1)), "dso": m.group(2)})
                out[ep] = {"top": top[:25], "dso": dso[:12],
                           "inclusive": [{"sym": k, "pct": v} for k, v in ours[:40]]}
                log(f"  profile {ep}: " + ", ".join(f"{t['sym']} {t['pct']}%" for t in top[:5]))
        finally:
            self.stop(srv)
        return out

    # -- the protected page with and without the signed identity header, alone
    def run_jwt(self, mpm):
        """`make bench-jwt`: the protected endpoint's peers but the Go ones (the page
        without auth, with AuthType MagicLink, and with MagicLinkJWTHeader too)."""
        self.peers = ["ours", "ceiling"]
        self.results["best_mpm"] = mpm
        srv = self.start(Httpd(mpm, self.root, self.args, self.sizes, self.key, self.htdocs))
        try:
            self.results["matrix"][mpm] = self.run_matrix(mpm, srv, None, [], ["protected"])
        finally:
            self.stop(srv)
        m = self.results["matrix"][mpm]["protected"]
        log(f"protected page, {mpm}: {m['ours']['rps']:.0f} req/s without the identity header, "
            f"{m['ours-jwt']['rps']:.0f} with it (with/without "
            f"{1 / m['ratios']['ours-jwt']:.3f}); no auth {m['ceiling']['rps']:.0f}")

    # -- CPU per request, ours beside the ceiling: the targets' ratios on a busy machine
    def run_cpu(self, mpm):
        self.peers = ["ours", "ceiling"]
        srv = self.start(Httpd(mpm, self.root, self.args, self.sizes, self.key, self.htdocs))
        try:
            m = self.run_matrix(mpm, srv, None, [], ["generate", "verify_post", "protected"])
        finally:
            self.stop(srv)
        self.results["matrix"][mpm] = m
        for ep, row in m.items():
            for peer, ratio in row["cpu_vs_ceiling"].items():
                log(f"cpu {ep:12s} {peer:14s} {row[peer]['cpu_us']:7.0f} us/req against "
                    f"{row['ceiling']['cpu_us']:5.0f}: {ratio:.2f}x the ceiling "
                    f"(req/s ratio {row['vs_ceiling'][peer]:.2f}x)")

    # -- the whole thing
    def main(self):
        a = self.args
        t0 = time.monotonic()
        load0, waited = wait_quiet(a.max_load, a.max_wait)
        meta = self.results["meta"]
        meta.update({
            "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"), "host": os.uname().nodename,
            "kernel": os.uname().release, "cpus": os.cpu_count(),
            "load_at_start": round(load0, 2), "waited_for_quiet_s": round(waited),
            "max_load": a.max_load,
            "seconds": a.seconds, "rounds": a.rounds, "threads": THREADS, "connections": CONNS,
            "httpd": run([APACHE2, "-v"], 30).stdout.split("\n")[0],
            "wrk": run(["wrk", "--version"], 30, check=False).stdout.split("\n")[0],
            "command": a.command})
        self.setup()
        if a.only == "core":
            self.run_core()
            return
        self.probe()
        if a.only == "profile":
            self.results["profile"] = {"mpm": "event", "endpoints": self.run_profile("event")}
            return
        if a.only == "jwt":
            self.run_jwt("event")
            return
        if a.only == "cpu":
            self.run_cpu("event")
            return
        if a.only == "syscalls":
            self.results["syscalls"] = {"mpm": "event", "per_request": self.run_syscalls("event")}
            return
        if a.mpms == "auto":
            best = self.select_mpm()
            mpms = ["event"] + ([best] if best != "event" else [])
        else:
            mpms = a.mpms.split(",")
            best = mpms[-1]
            self.results["mpm_selection"] = {"best": best, "criterion": "given (--mpms)"}
        self.results["best_mpm"] = best
        goes = [self.start(GoSeed(m, self.root, a, self.key, self.htdocs, self.pages))
                for m in ("optimized", "baseline")]
        # One httpd per MPM serves every endpoint with its LMDB store, POST verify's
        # links included (it holds every link a run issues; the shmcb of old held a few
        # thousand, so POST verify had a server on redis of its own). Beside it the same
        # httpd with MagicLinkCache redis, a redis-server of its own: the redis rows.
        for mpm in mpms:
            meta.setdefault("load_before", {})[mpm] = round(loadavg(), 2)
            redis = self.start(Redis(self.root / f"redis-{mpm}"))
            srv = self.start(Httpd(mpm, self.root, a, self.sizes, self.key, self.htdocs))
            rd = self.start(Httpd(mpm, self.root, a, self.sizes, self.key, self.htdocs,
                                  redis=redis, name=f"httpd-{mpm}-redis"))
            try:
                self.results["matrix"][mpm] = self.run_matrix(mpm, srv, rd, goes)
                self.stop(rd)
                self.stop(redis)
                self.results["ab"][mpm] = self.run_ab(mpm, srv, goes)
            finally:
                self.stop(srv)
                self.stop(rd)
                self.stop(redis)
            meta.setdefault("load_after", {})[mpm] = round(loadavg(), 2)
            self.write()            # partial results survive a later failure
        for g in goes:
            self.stop(g)
        self.results["memory"] = self.run_memory("event")
        # Control: httpd alone (the trivial POST handler), same requests.
        self.results["memory"]["control"] = self.run_memory("event", "/trivial/generate",
                                                            "memory-control")
        self.results["heap_httpd"] = {"mpm": "event", "per_request": self.run_heap_httpd("event")}
        self.results["syscalls"] = {"mpm": "event", "per_request": self.run_syscalls("event")}
        self.run_core()
        if not a.no_profile:
            self.results["profile"] = {"mpm": best, "endpoints": self.run_profile(best)}
        meta["elapsed_s"] = round(time.monotonic() - t0)

    # ------------------------------------------------------------------ report
    def write(self):
        from report import write_report   # test/bench/report.py
        # --only runs write beside the full run's report, not over it.
        name = f"results-{self.args.only}" if self.args.only else "results"
        write_report(self.results, self.out, name)
        return self.out / f"{name}.md"


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", type=Path, default=REPO / "build")
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--mpms", default="auto", help="auto, or e.g. event,worker")
    ap.add_argument("--mem-requests", type=int, default=200000)
    ap.add_argument("--heap-requests", type=lambda s: tuple(map(int, s.split(","))),
                    default=(2000, 12000))
    ap.add_argument("--tmp", default="/dev/shm")
    ap.add_argument("--malloc-count", type=Path, required=True)
    ap.add_argument("--callgrind-ops", type=int, default=2000)
    ap.add_argument("--go-count", type=int, default=3)
    ap.add_argument("--go-benchtime", default="0.5s")
    ap.add_argument("--max-load", type=float, default=0.5)
    ap.add_argument("--max-wait", type=int, default=180)
    ap.add_argument("--only", choices=["core", "profile", "syscalls", "jwt", "cpu"])
    ap.add_argument("--no-profile", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    ap.add_argument("--command", default="make bench-http")
    a = ap.parse_args()
    a.build = a.build.resolve()
    sys.path.insert(0, str(BENCH_SRC))
    b = Bench(a)
    rc = 0
    try:
        b.main()
    except BenchError as e:
        log("FAILED:", e)
        b.results["error"] = str(e)[:2000]
        rc = 1
    except KeyboardInterrupt:
        rc = 130
    finally:
        b.cleanup()
    log(f"wrote {b.write()}")
    return rc


if __name__ == "__main__":
    sys.exit(main())
