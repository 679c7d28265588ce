"""A real httpd for the integration tests, in the manner of httpd's test/pyhttpd.

One `Httpd` is one server: a temp directory (ServerRoot, DefaultRuntimeDir, mutexes,
logs, key file, maildir, document root), a generated httpd.conf, and an
`apache2 -DFOREGROUND` process on a free 127.0.0.1 port.  The module's admin CLI
(`magiclink keygen|seal|open|link`) is wrapped here too, and so is the maildir
(`Mailbox`), the error-log scan, and the secret scan.

Environment:
  ML_MODULE     the module to load [build/mod_magiclink.so, relative to the repo root]
  ML_CLI        the admin CLI [build/magiclink]
  ML_SANITIZE   "address" when ML_MODULE was built with -fsanitize=address: httpd is
                started with LD_PRELOAD of libasan and sanitizer logs are scanned
  ML_ASAN_LIB   the ASan runtime to preload [`gcc -print-file-name=libasan.so`]
  ML_APACHE2    the httpd binary [/usr/sbin/apache2]
  ML_KEEP       set to keep the temp directories for inspection
"""
import email
import email.policy
import email.utils
import errno
import html
import json
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _repo_path(value):
    p = Path(value)
    return p if p.is_absolute() else REPO / p


APACHE2 = os.environ.get("ML_APACHE2", "/usr/sbin/apache2")
MODULES_DIR = Path(os.environ.get("ML_MODULES_DIR", "/usr/lib/apache2/modules"))
MODULE = _repo_path(os.environ.get("ML_MODULE", "build/mod_magiclink.so"))
CLI = _repo_path(os.environ.get("ML_CLI", "build/magiclink"))
SANITIZE = os.environ.get("ML_SANITIZE", "")
KEEP = bool(os.environ.get("ML_KEEP"))
RUN_USER = "www-data"

START_TIMEOUT = 15.0     # seconds until the port accepts
STOP_TIMEOUT = 15.0      # seconds until the parent is gone after SIGTERM
MAIL_TIMEOUT = 5.0       # seconds a mail may take to land in new/
POLL = 0.05
READY_LINE = "AH00489"   # "... configured -- resuming normal operations" (needs LogLevel notice)
# The same line of each MPM (event's is READY_LINE), and its "SIGUSR1 received".
READY_LINES = {"event": READY_LINE, "worker": "AH00292", "prefork": "AH00163"}
GRACEFUL_LINES = {"event": "AH00493", "worker": "AH00297", "prefork": "AH00171"}

# Core modules loaded from MODULES_DIR (unixd, log_config, so are compiled in), after
# the MPM of the config (Config.mpm).
CORE_MODULES = ["authn_core", "authz_core", "authz_user", "authz_host",
                "mime", "dir", "alias", "headers"]

# Static pages every server serves (path under htdocs -> body).
PAGES = {
    "static.txt": "static file\n",
    "private/index.html": "<html><body>secret page</body></html>\n",
    "friend/index.html": "<html><body>friend page</body></html>\n",
    "otherorg/index.html": "<html><body>other.org page</body></html>\n",
}


class HarnessError(Exception):
    """The harness could not do its job (as opposed to a test assertion failing)."""


# ---------------------------------------------------------------- the admin CLI

def _san_env():
    env = dict(os.environ)
    if SANITIZE:
        env["ASAN_OPTIONS"] = "detect_leaks=0"
    return env


def cli(*args, check=True):
    """Runs build/magiclink; returns the CompletedProcess (text)."""
    if not CLI.exists():
        raise HarnessError(f"admin CLI {CLI} not built (make {CLI.relative_to(REPO)})")
    proc = subprocess.run([str(CLI), *map(str, args)], capture_output=True, text=True,
                          timeout=30, env=_san_env())
    if check and proc.returncode != 0:
        raise HarnessError(f"magiclink {' '.join(map(str, args))}: rc={proc.returncode}: "
                           f"{proc.stderr.strip()}")
    return proc


def keygen(key_id=None):
    """One key-file line (with its newline)."""
    return cli("keygen", *([key_id] if key_id else [])).stdout


def write_keyfile(path, lines, mode=0o600):
    path = Path(path)
    path.write_text("".join(line if line.endswith("\n") else line + "\n" for line in lines))
    path.chmod(mode)
    return path


def seal(keyfile, name, claims, at=None, max_len=None):
    """Seals a dict of strings under NAME with the key file's first key (max_len: allow
    a value over the codec's 4096 bytes, to test what happens to one)."""
    args = ["seal"] + (["--time", str(int(at))] if at is not None else []) \
        + (["--max-len", str(max_len)] if max_len else [])
    return cli(*args, keyfile, name, json.dumps(claims)).stdout.strip()


def mint_session(server, email, iat_ago=0, seen_ago=0, realm=None, name="magiclink_session",
                 **extra):
    """A session cookie value as the module seals it (email, iat, seen, aud), with the
    server's key and its realm (its origin) unless `realm` says otherwise; `extra` adds
    or replaces claims (None removes one)."""
    now = int(time.time())
    claims = {"email": email, "iat": str(now - iat_ago), "seen": str(now - seen_ago),
              "aud": realm or server.base}
    claims.update(extra)
    claims = {k: v for k, v in claims.items() if v is not None}
    return seal(server.keyfile, name, claims, at=now - seen_ago)


def open_sealed(keyfile, name, value):
    """The claims of a sealed value (no max age), or None if it does not open."""
    proc = cli("open", "--max-age", "0", keyfile, name, value, check=False)
    return json.loads(proc.stdout) if proc.returncode == 0 else None


# ---------------------------------------------------------------- the server

def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_accepts(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _run_ids():
    """(uid, gid) httpd's children run as, or None when we are not root."""
    if os.geteuid() != 0:
        return None
    pw = pwd.getpwnam(RUN_USER)
    return pw.pw_uid, pw.pw_gid


DEFAULT_ALLOW = ("@example.com", "friend@other.org")
# Generous limits, so that a test module's many requests from 127.0.0.1 are not
# throttled by the defaults (ip 30/3600); rate-limit tests use their own variant.
GENEROUS_LIMITS = ("email 1000 3600", "email-total 1000 3600", "ip 100000 3600",
                   "domain 100000 3600")


@dataclass
class Config:
    """What varies between servers.  Text fields may use {dir}, {port} and {port2} (a
    second free port, for a <VirtualHost> of one's own: Listen it in server_conf)."""
    with_module: bool = True
    allow: tuple = DEFAULT_ALLOW
    rate_limits: tuple = GENEROUS_LIMITS
    server_conf: str = ""          # more server-level directives
    magic_conf: str = ""           # more directives inside <Location /magic>
    private_conf: str = ""         # more directives inside <Location /private>
    key_lines: tuple = None        # key-file lines [one fresh key]
    key_mode: int = 0o600
    key_file: str = None           # MagicLinkKeyFile, not written [{dir}/keys, written]
    files: dict = None             # more files: path relative to {dir} -> text (mode 644)
    mailer: str = None             # MagicLinkMailer [maildir:{dir}/mail]; "" for none
    log_level: str = "info magiclink:debug"
    # MagicLinkCache unless server_conf names one; None: the module's default
    # store (a test that uses it removes what it made).
    store: str = "lmdb:{dir}/state"
    mpm: str = "event"             # event, worker or prefork
    mpm_conf: str = ""             # its directives (StartServers ...) [httpd's defaults]
    handler: bool = True           # SetHandler magiclink in <Location /magic>


class Httpd:
    def __init__(self, name, config=None):
        self.name = name
        self.config = config or Config()
        self.dir = Path(tempfile.mkdtemp(prefix=f"ml-it-{name}-"))
        self.dir.chmod(0o755)
        self.port = free_port()
        self.port2 = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.conf_path = self.dir / "httpd.conf"
        self.error_log = self.dir / "logs" / "error_log"
        self.access_log = self.dir / "logs" / "access_log"
        self.san_dir = self.dir / "san"
        self.keyfile = Path(self._fmt(self.config.key_file)) if self.config.key_file \
            else self.dir / "keys"
        self.maildir = self.dir / "mail"
        self.htdocs = self.dir / "htdocs"
        self.proc = None
        self.secrets = set()        # values that must never reach the error log
        self.mailbox = Mailbox(self)
        self._stdout = self.dir / "logs" / "stdout"
        self._write()

    # -- files
    def _fmt(self, text):
        return text.replace("{dir}", str(self.dir)).replace("{port}", str(self.port)) \
                   .replace("{port2}", str(self.port2))

    def _write(self):
        ids = _run_ids()
        for d in ("logs", "run", "san", "htdocs", "mail/new", "mail/cur", "mail/tmp"):
            (self.dir / d).mkdir(parents=True, exist_ok=True)
        for rel, body in PAGES.items():
            p = self.htdocs / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(body)
        for p in [self.htdocs, *self.htdocs.rglob("*")]:
            p.chmod(0o755 if p.is_dir() else 0o644)
        if ids:     # the children write mail and sanitizer logs as RUN_USER
            for d in (self.maildir, *(self.maildir / s for s in ("new", "cur", "tmp")),
                      self.san_dir):
                os.chown(d, *ids)
        for rel, text in (self.config.files or {}).items():
            p = self.dir / rel
            p.parent.mkdir(parents=True, exist_ok=True)
            p.write_text(text)
            p.chmod(0o644)
        if self.config.with_module and not self.config.key_file:
            lines = self.config.key_lines if self.config.key_lines is not None else [keygen()]
            write_keyfile(self.keyfile, lines, self.config.key_mode)
        self.conf_path.write_text(self._conf())

    def _conf(self):
        c = self.config
        d = self.dir
        out = [
            f'ServerRoot "{d}"',
            "ServerName 127.0.0.1",
            f"Listen 127.0.0.1:{self.port}",
            f'PidFile "{d}/httpd.pid"',
            f'DefaultRuntimeDir "{d}/run"',
            f"Mutex file:{d}/run default",
            f'ErrorLog "{self.error_log}"',
            'LogFormat "%h %l %u %t \\"%r\\" %>s %b" ml',
            f'CustomLog "{self.access_log}" ml',
            "Timeout 30",
        ]
        if _run_ids():
            out += [f"User {RUN_USER}", f"Group {RUN_USER}"]
        out += [f'LoadModule {m}_module "{MODULES_DIR}/mod_{m}.so"'
                for m in [f"mpm_{c.mpm}", *CORE_MODULES]]
        out += [self._fmt(c.mpm_conf)]
        out += [
            "TypesConfig /etc/mime.types",
            f'DocumentRoot "{self.htdocs}"',
            "<Directory />",
            "    AllowOverride None",
            "    Require all denied",
            "</Directory>",
            f'<Directory "{self.htdocs}">',
            "    Require all granted",
            "</Directory>",
            "DirectoryIndex index.html",
        ]
        if c.with_module:
            out += [
                f'LoadModule magiclink_module "{MODULE}"',
                f'MagicLinkKeyFile "{self.keyfile}"',
                f"MagicLinkBaseURL {self.base}",
                *([] if c.mailer == "" else
                  [f"MagicLinkMailer {self._fmt(c.mailer or f'maildir:{self.maildir}')}"]),
                'MagicLinkMailFrom "Example Site <login@example.com>"',
            ]
            out += [f"MagicLinkAllow {a}" for a in c.allow]
            out += [f"MagicLinkRateLimit {r}" for r in c.rate_limits]
            out += [f"LogLevel {c.log_level}", "MagicLinkCookieSecure Off",
                    self._fmt(c.server_conf)]
            if c.store and not self._cache_line(c.server_conf):
                out += [f"MagicLinkCache {self._fmt(c.store)}"]
            out += ["<Location /magic>", "    SetHandler magiclink" if c.handler else "",
                    self._fmt(c.magic_conf),
                    "</Location>",
                    "<Location /private>", "    AuthType MagicLink", "    Require valid-user",
                    self._fmt(c.private_conf), "</Location>"]
        else:   # per-module levels only for loaded modules
            level = " ".join(w for w in c.log_level.split() if not w.startswith("magiclink:"))
            out += [f"LogLevel {level}", self._fmt(c.server_conf)]
        return "\n".join(out) + "\n"

    @staticmethod
    def _cache_line(conf):
        """The MagicLinkCache directive in conf (not MagicLinkCacheControl, whose name
        begins the same: taken for it, the server fell back to the host's default
        store directory), or None."""
        return re.search(r"^\s*MagicLinkCache\s+(\S+)", conf, re.M)

    def store_spec(self):
        """The MagicLinkCache this server uses (its first word)."""
        m = self._cache_line(self._fmt(self.config.server_conf))
        if m:
            return m.group(1)
        return self._fmt(self.config.store) if self.config.store else "lmdb:/var/lib/apache2/magiclink"

    def link_info(self, token):
        """What the store holds for an emailed link or pending value (the CLI's
        `magiclink link`): email, return, lang, used, tries, iat, exp; None if gone."""
        proc = cli("link", "--key-file", self.keyfile, self.store_spec(), token, check=False)
        return json.loads(proc.stdout) if proc.returncode == 0 else None

    # -- process
    def env(self):
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"}
        if SANITIZE:
            if "address" in SANITIZE:
                lib = os.environ.get("ML_ASAN_LIB") or subprocess.run(
                    ["gcc", "-print-file-name=libasan.so"], capture_output=True,
                    text=True).stdout.strip()
                env["LD_PRELOAD"] = lib
                env["ASAN_OPTIONS"] = (f"detect_leaks=0:abort_on_error=0:"
                                       f"log_path={self.san_dir}/asan")
            env["UBSAN_OPTIONS"] = f"print_stacktrace=1:log_path={self.san_dir}/ubsan"
        return env

    def config_test(self):
        """`apache2 -t` on this config: CompletedProcess with stdout+stderr in .stdout."""
        return subprocess.run([APACHE2, "-t", "-f", str(self.conf_path)], env=self.env(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              timeout=60)

    def start(self):
        """Starts httpd and waits (bounded) until the port accepts."""
        if self.config.with_module and not MODULE.exists():
            raise HarnessError(f"module {MODULE} not built (make)")
        with open(self._stdout, "wb") as out:
            self.proc = subprocess.Popen(
                [APACHE2, "-f", str(self.conf_path), "-DFOREGROUND"], env=self.env(),
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(f"httpd '{self.name}' exited with {self.proc.returncode} "
                                   f"at startup:\n{self.startup_output()}")
            # Ready: listening, and past set_signals() (AH00489 is logged after it;
            # an earlier SIGTERM would kill the parent without stopping the children).
            if port_accepts(self.port) and self.ready_line in self.error_log_text():
                return self
            time.sleep(POLL)
        self.stop()
        raise HarnessError(f"httpd '{self.name}' did not accept on port {self.port} within "
                           f"{START_TIMEOUT}s:\n{self.startup_output()}")

    def try_start(self):
        """For configs that must be refused: (started?, output).  Stops it if it started."""
        try:
            self.start()
        except HarnessError as e:
            return False, str(e)
        self.stop()
        return True, self.startup_output()

    def startup_output(self):
        parts = []
        for p in (self._stdout, self.error_log):
            if p.exists():
                parts.append(f"--- {p.name}\n" + p.read_text(errors="replace")[-4000:])
        return "\n".join(parts)

    def stop(self):
        """SIGTERM, then wait (bounded); SIGKILL the process group if it hangs.
        Returns the parent's exit status."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except OSError as e:
                    if e.errno != errno.ESRCH:
                        raise
                self.proc.wait(5)
                raise HarnessError(f"httpd '{self.name}' ignored SIGTERM for {STOP_TIMEOUT}s")
        return self.proc.returncode

    def cleanup(self):
        if not KEEP:
            shutil.rmtree(self.dir, ignore_errors=True)

    # -- logs
    def error_log_text(self):
        return self.error_log.read_text(errors="replace") if self.error_log.exists() else ""

    def error_log_size(self):
        return self.error_log.stat().st_size if self.error_log.exists() else 0

    def sanitizer_reports(self):
        """[(file name, text)] of every non-empty sanitizer log."""
        return [(p.name, p.read_text(errors="replace")) for p in sorted(self.san_dir.glob("*"))
                if p.is_file() and p.stat().st_size]

    def url(self, path):
        return self.base + path

    @property
    def ready_line(self):
        """The MPM's "resuming normal operations" line."""
        return READY_LINES[self.config.mpm]


# ---------------------------------------------------------------- log scanning

# "[time] [module:level] [pid N:tid M] [client ...] message"
_LEVEL = re.compile(r"^\[[^\]]*\] \[(?:[^\]:]*:)?(error|crit|alert|emerg)\]")
_PREFIX = re.compile(r"^(?:\[[^\]]*\]\s*)+")
# Crashes and sanitizer output, wherever they appear in the error log.
_CRASH = re.compile(r"AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|"
                    r"runtime error:|exit signal|seg fault|Segmentation fault|"
                    r"double free|stack smashing")


def unexpected_log_lines(text, expected=()):
    """[(byte offset, line)] of error-or-worse and crash lines not matching `expected`."""
    found, offset = [], 0
    for line in text.splitlines(keepends=True):
        if (_LEVEL.search(line) or _CRASH.search(line)) and \
                not any(re.search(p, line) for p in expected):
            found.append((offset, line.rstrip("\n")))
        offset += len(line.encode("utf-8", "replace"))
    return found


def leaked_secrets(text, secrets):
    """[(secret, line)] for every secret found in the log.  All-digit secrets (codes)
    must stand alone and are looked for after the bracketed line prefix, so that a
    pid or tid that happens to contain the digits is not a false alarm."""
    found = []
    for line in text.splitlines():
        message = _PREFIX.sub("", line)
        for s in secrets:
            if not s:
                continue
            if s.isdigit():
                if re.search(rf"(?<!\d){s}(?!\d)", message):
                    found.append((s, line))
            elif s in line:
                found.append((s, line))
    return found


# ---------------------------------------------------------------- the maildir

_URL = re.compile(r"https?://[^\s\"'<>]+")
_TAG = re.compile(r"<[^>]*>")


@dataclass
class Mail:
    msg: email.message.EmailMessage
    file: str
    text: str = ""
    html: str = ""
    text_links: list = field(default_factory=list)
    html_links: list = field(default_factory=list)
    text_codes: set = field(default_factory=set)
    html_codes: set = field(default_factory=set)

    @property
    def to(self):
        return [a.lower() for _, a in email.utils.getaddresses(self.msg.get_all("To", []))]

    @property
    def link(self):
        """The one verify link (from the text part; checked equal to the html part's)."""
        links = {u for u in self.text_links if "/verify/" in u}
        if len(links) != 1:
            raise AssertionError(f"expected one verify link in the text part, got {links}:\n"
                                 f"{self.text}")
        return links.pop()

    @property
    def token(self):
        return self.link.rsplit("/verify/", 1)[1]

    @property
    def code(self):
        common = self.text_codes & self.html_codes
        if len(common) != 1:
            raise AssertionError(f"expected one 6-digit code in both parts, text has "
                                 f"{self.text_codes}, html has {self.html_codes}")
        return next(iter(common))


def _codes(text):
    return set(re.findall(r"(?<![\d#])\d{6}(?!\d)", text))


def parse_mail(raw, name=""):
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    m = Mail(msg=msg, file=name)
    for part in msg.walk():
        if part.is_multipart() or part.get_content_disposition() == "attachment":
            continue
        if part.get_content_type() == "text/plain" and not m.text:
            m.text = part.get_content()
        elif part.get_content_type() == "text/html" and not m.html:
            m.html = part.get_content()
    m.text_links = _URL.findall(m.text)
    html_text = html.unescape(m.html)
    m.html_links = _URL.findall(html_text)
    m.text_codes = _codes(_URL.sub(" ", m.text))
    m.html_codes = _codes(_URL.sub(" ", _TAG.sub(" ", html_text)))
    return m


class Mailbox:
    """The server's maildir; every message is handed out once."""

    def __init__(self, server):
        self.server = server
        self.seen = set()

    def _unseen(self, to):
        new = self.server.maildir / "new"
        out = []
        for p in sorted(new.iterdir(), key=lambda p: (p.stat().st_mtime, p.name)):
            if p.name in self.seen:
                continue
            m = parse_mail(p.read_bytes(), p.name)
            if to is None or to.lower() in m.to:
                out.append(m)
        return out

    def _take(self, mails):
        for m in mails:
            self.seen.add(m.file)
            for links in (m.text_links, m.html_links):
                self.server.secrets.update(u.rsplit("/verify/", 1)[1] for u in links
                                           if "/verify/" in u)
            self.server.secrets.update(m.text_codes | m.html_codes)
        return mails

    def take(self, to, timeout=MAIL_TIMEOUT):
        """The next unseen message to `to`, waiting (bounded) for it to land."""
        deadline = time.monotonic() + timeout
        while True:
            mails = self._unseen(to)
            if mails:
                return self._take(mails[:1])[0]
            if time.monotonic() >= deadline:
                raise AssertionError(f"no mail to {to} in {self.server.maildir}/new within "
                                     f"{timeout}s")
            time.sleep(POLL)

    def take_all(self, to=None):
        """Every unseen message (to `to`), without waiting."""
        return self._take(self._unseen(to))


# ---------------------------------------------------------------- a backend to proxy to

class EchoBackend:
    """A tiny HTTP backend on a free 127.0.0.1 port, in a thread of the test process:
    every request is answered 200 with JSON {"method", "path", "headers": [[name, value],
    ...]} (the header lines as received: order, spelling and duplicates kept), and is
    recorded in `requests` so a test can tell whether httpd let a request through."""

    def __init__(self):
        import http.server
        import threading

        backend = self
        self.requests = []
        self._lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def _echo(self):
                n = int(self.headers.get("Content-Length") or 0)
                if n:
                    self.rfile.read(n)
                seen = {"method": self.command, "path": self.path,
                        "headers": [[k, v] for k, v in self.headers.items()]}
                with backend._lock:
                    backend.requests.append(seen)
                body = json.dumps(seen).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _echo

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.httpd.serve_forever,
                                        kwargs={"poll_interval": 0.1}, daemon=True)
        self._thread.start()

    def count(self):
        with self._lock:
            return len(self.requests)

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(5)


# ---------------------------------------------------------------- restarts and log reading

def error_log_since(server, offset):
    """The error log's text from byte `offset` on."""
    if not server.error_log.exists():
        return ""
    with open(server.error_log, "rb") as f:
        f.seek(offset)
        return f.read().decode("utf-8", "replace")


def wait_for_log(server, pattern, since=0, timeout=START_TIMEOUT):
    """Waits (bounded) until a line matching `pattern` is in the error log after byte
    `since`; returns that text."""
    deadline = time.monotonic() + timeout
    while True:
        text = error_log_since(server, since)
        if re.search(pattern, text):
            return text
        if time.monotonic() >= deadline:
            raise HarnessError(f"httpd '{server.name}': no /{pattern}/ in the error log "
                               f"within {timeout}s:\n{text[-3000:]}")
        time.sleep(POLL)


def log_pids(text, pattern):
    """[(pid, line)] of the lines matching `pattern` ("[pid N:tid M]" of each)."""
    out = []
    for line in text.splitlines():
        if re.search(pattern, line):
            m = re.search(r"\[pid (\d+)", line)
            out.append((int(m.group(1)) if m else None, line))
    return out


def graceful_restart(server):
    """SIGUSR1 to the parent (what `apache2 -k graceful` sends); waits (bounded) until the
    new generation says it is resuming normal operations."""
    since = server.error_log_size()
    server.proc.send_signal(signal.SIGUSR1)
    wait_for_log(server, GRACEFUL_LINES[server.config.mpm], since)   # "SIGUSR1 received. ..."
    wait_for_log(server, server.ready_line, since)
    return server


def full_restart(server):
    """Stops the server (SIGTERM, every child gone) and starts it again, same config."""
    server.stop()
    since = server.error_log_size()
    server.start()
    wait_for_log(server, server.ready_line, since)
    return server


# ---------------------------------------------------------------- shared stores (clusters)

REDIS_SERVER = os.environ.get("ML_REDIS_SERVER", "/usr/bin/redis-server")
STORE_START_TIMEOUT = 10.0


class CacheServer:
    """A real redis-server on a free 127.0.0.1 port, in the foreground, for
    `MagicLinkCache redis:127.0.0.1:P`.  It can be stopped and started again on the
    same port (an outage); it keeps nothing on disk."""

    KINDS = ("redis",)

    def __init__(self, kind="redis", name=None):
        if kind not in self.KINDS:
            raise HarnessError(f"no such store kind {kind!r}")
        self.kind = kind
        self.name = name or kind
        self.dir = Path(tempfile.mkdtemp(prefix=f"ml-it-{kind}-"))
        self.port = free_port()
        self.proc = None
        self.starts = 0

    @property
    def spec(self):
        """The MagicLinkCache argument (and `magiclink revoke`'s STORE)."""
        return f"{self.kind}:127.0.0.1:{self.port}"

    def httpd_conf(self):
        """Server-level lines that make an httpd use this store."""
        return f"MagicLinkCache {self.spec}\n"

    def _argv(self):
        return [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--daemonize", "no",
                "--dir", str(self.dir), "--logfile", ""]

    def _ask(self, request, timeout=1.0):
        """Sends one raw request line; returns the first reply line ('' on failure)."""
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as s:
                s.sendall(request)
                data = b""
                while b"\r\n" not in data:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    data += chunk
                return data.split(b"\r\n", 1)[0].decode("latin-1")
        except OSError:
            return ""

    def alive(self):
        return self._ask(b"PING\r\n") == "+PONG"

    def start(self):
        """Starts it (again, on the same port) and waits (bounded) until it answers."""
        if self.proc is not None and self.proc.poll() is None:
            return self
        if not Path(self._argv()[0]).exists():
            raise HarnessError(f"{self._argv()[0]} is not installed")
        self.starts += 1
        log = open(self.dir / f"out.{self.starts}", "wb")
        self.proc = subprocess.Popen(self._argv(), stdin=subprocess.DEVNULL, stdout=log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + STORE_START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise HarnessError(f"{self.kind} on port {self.port} exited with "
                                   f"{self.proc.returncode}:\n{self.output()}")
            if self.alive():
                return self
            time.sleep(POLL)
        self.stop()
        raise HarnessError(f"{self.kind} did not answer on port {self.port} within "
                           f"{STORE_START_TIMEOUT}s:\n{self.output()}")

    def stop(self):
        """SIGTERM, then wait (bounded; SIGKILL if it hangs) until the port is closed."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        deadline = time.monotonic() + 5
        while port_accepts(self.port) and time.monotonic() < deadline:
            time.sleep(POLL)

    def output(self):
        return "\n".join(p.read_text(errors="replace")[-2000:]
                         for p in sorted(self.dir.glob("out.*")))

    def cleanup(self):
        if not KEEP:
            shutil.rmtree(self.dir, ignore_errors=True)
