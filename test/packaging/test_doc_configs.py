"""Every ```apache block of README.md and doc/*.md passes `apache2 -t` in a real httpd
configuration with the built module, so no documented example can rot.

How a block becomes a configuration (docs are written as an admin would paste them,
with Debian's paths; this is what the test does with them):

- Around it: a throwaway ServerRoot in a temp directory; the modules a fresh Debian
  apache2 enables; the package's magiclink.load (its "# Depends:" modules, then the
  built module) and conf-available/magiclink.conf, as `a2enmod magiclink && a2enconf
  magiclink` would; ServerName www.example.com; `Define APACHE_LOG_DIR` (Debian's
  envvars variable).
- Context: a block holding a <VirtualHost>, or a directive httpd takes only outside
  one (MagicLinkCache, LoadModule, Listen, Mutex, User, ...), goes in at server
  level. Any other block is what goes into a site, and is placed inside
  <VirtualHost 127.0.0.1:PORT> (ServerName www.example.com).
- Modules: a comment line "# a2enmod NAME ..." in the block loads those modules
  (with their own "# Depends:"), as running a2enmod would.
- Paths: absolute paths under /etc/apache2, /var, /run and /srv, the command of a
  pipe: mailer, and the directory of an lmdb: store or a maildir: mailer, are placed
  below the temp ServerRoot (the same path under it): nothing is made on the host.
- Files the block names are made there: MagicLinkKeyFile (a fresh key file, root's,
  mode 600), a MagicLinkJWTKey's PEM (`magiclink jwt-keygen`, mode 600), a group file,
  MagicLinkAllowFile (one @domain), auth= of an SMTP mailer (user:password,
  mode 600), the pipe: command (a script that reads its input), the parent of a
  maildir:, an lmdb: directory (owned by the children's User, as the package makes
  it), <Directory> and DocumentRoot directories.
- A block that uses MagicLink directives and names no key file gets the package's
  MagicLinkKeyFile line from the test (it is a fragment of a site that has one).

Refused besides what `apache2 -t` refuses: a comment after a directive on the same
line (httpd takes it for arguments, or rejects the line).
"""
import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MODULE = Path(os.environ.get("ML_MODULE", REPO / "build/mod_magiclink.so"))
CLI = Path(os.environ.get("ML_CLI", REPO / "build/magiclink"))
APACHE2 = os.environ.get("ML_APACHE2", "/usr/sbin/apache2")
MODULES_DIR = Path("/usr/lib/apache2/modules")
MODS_AVAILABLE = Path("/etc/apache2/mods-available")
DOCS = [REPO / "README.md", *sorted((REPO / "doc").glob("*.md"))]
RUN_USER = "www-data"
HOST_STATE_DIR = Path("/var/lib/apache2/magiclink")   # the package's default store

# What `a2query -m` lists on a fresh Debian 12 apache2 install.
DEBIAN_DEFAULT_MODULES = (
    "access_compat alias auth_basic authn_core authn_file authz_core authz_host authz_user "
    "autoindex deflate dir env filter mime mpm_event negotiation reqtimeout setenvif status"
).split()
# Directives httpd refuses inside <VirtualHost> (the ones docs may show).
SERVER_ONLY = {"magiclinkcache", "loadmodule", "listen", "mutex", "user", "group", "pidfile",
               "serverroot", "defaultruntimedir", "define"}
PLACED = re.compile(r"(?<![\w:/.$}])/(?:etc/apache2|var|run|srv)(?:/[^\s\"'<>?&,]*)?")


# ---------------------------------------------------------------- the blocks

def doc_blocks():
    """[(id, text)] of every ```apache block."""
    found = []
    for doc in DOCS:
        text = doc.read_text()
        for m in re.finditer(r"^```apache\n(.*?)^```", text, re.M | re.S):
            line = text.count("\n", 0, m.start()) + 1
            found.append((f"{doc.relative_to(REPO)}:{line}", m.group(1)))
    return found


BLOCKS = doc_blocks()


def trailing_comments(block):
    """Lines where a # follows a directive (outside quotes)."""
    bad = []
    for line in block.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        quoted = False
        for i, ch in enumerate(stripped):
            if ch == '"':
                quoted = not quoted
            elif ch == "#" and not quoted and stripped[i - 1] in " \t":
                bad.append(line)
                break
    return bad


def missing_modules(block):
    """LoadModule lines whose file this machine (Debian's layout) does not have:
    httpd skips an already loaded module without looking at its path, so -t alone
    would not notice; on Debian the line should be `a2enmod NAME` anyway."""
    return [ln for ln in block.splitlines()
            if re.match(r"\s*LoadModule\s", ln)
            and not Path(ln.split()[2].strip('"')).is_absolute()
            or re.match(r"\s*LoadModule\s", ln) and not Path(ln.split()[2].strip('"')).exists()]


def directives(block):
    return [ln.split()[0].lower().strip("<") for ln in block.splitlines()
            if ln.strip() and not ln.strip().startswith("#")]


# ---------------------------------------------------------------- the configuration

def load_lines(name, seen):
    """LoadModule lines for a Debian module and what its .load says it depends on."""
    if name in seen:
        return []
    seen.add(name)
    load = MODS_AVAILABLE / f"{name}.load"
    assert load.exists(), f"no module {name} on this machine ({load})"
    text = load.read_text()
    out = []
    for dep in re.findall(r"^# Depends:(.*)$", text, re.M):
        for d in dep.split():
            out += load_lines(d, seen)
    return out + [ln for ln in text.splitlines() if ln.startswith("LoadModule")]


def package_load(seen):
    text = (REPO / "packaging/apache2/magiclink.load.in").read_text()
    out = []
    for dep in re.findall(r"^# Depends:(.*)$", text, re.M):
        for d in dep.split():
            out += load_lines(d, seen)
    return out + [f'LoadModule magiclink_module "{MODULE}"']


def package_conf(root):
    return (REPO / "packaging/apache2/magiclink.conf.in").read_text() \
        .replace("@SYSCONFDIR@", f"{root}/etc/apache2") \
        .replace("@MODULEDIR@", str(MODULES_DIR)) \
        .replace("@STATEDIR@", f"{root}/var/lib/apache2/magiclink")


def run_ids():
    if os.geteuid() != 0:
        return None
    pw = pwd.getpwnam(RUN_USER)
    return pw.pw_uid, pw.pw_gid


def place(block, root):
    """The block with its paths moved under root, and the files it names made."""
    # A store's directory, a maildir and a pipe's command too: nothing of the host's
    # is made or written (the pattern below skips paths after a colon).
    text = re.sub(r"\b(pipe|lmdb|maildir):(/[^\s\"]+)",
                  lambda m: f"{m.group(1)}:{root}{m.group(2)}", block)
    text = PLACED.sub(lambda m: f"{root}{m.group(0)}", text)
    for cmd in re.findall(r"pipe:(\S+?)(?:[\s\"]|$)", text):
        p = Path(cmd)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("#!/bin/sh\ncat >/dev/null\n")
        p.chmod(0o755)
    for keyfile in re.findall(r"MagicLinkKeyFile\s+\"?([^\"\s]+)", text):
        write_keyfile(Path(keyfile))
    for jwtkey in re.findall(r"MagicLinkJWTKey\s+\S+\s+\"?([^\"\s]+)", text):
        write_jwt_key(Path(jwtkey))
    for groups in re.findall(r"(?:MagicLinkGroupFile|AuthGroupFile)\s+\"?([^\"\s]+)", text):
        Path(groups).parent.mkdir(parents=True, exist_ok=True)
        Path(groups).write_text("staff: ann@example.com\n")
    for allow in re.findall(r"MagicLinkAllowFile\s+\"?([^\"\s]+)", text):
        Path(allow).parent.mkdir(parents=True, exist_ok=True)
        Path(allow).write_text("@example.com\n")
    for cred in re.findall(r"auth=([^&\s\"]+)", text):
        p = Path(cred)
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text("login@example.com:not-a-real-password\n")
        p.chmod(0o600)
    for maildir in re.findall(r"maildir:([^\s\"]+)", text):
        Path(maildir).parent.mkdir(parents=True, exist_ok=True)
    for store in re.findall(r"lmdb:([^\s\"]+)", text):
        Path(store).mkdir(parents=True, exist_ok=True)
        Path(store).chmod(0o750)
        if run_ids():
            os.chown(store, *run_ids())
    for d in re.findall(r"(?:<Directory|DocumentRoot)\s+\"?([^\">\s]+)", text):
        Path(d).mkdir(parents=True, exist_ok=True)
    return text


def write_jwt_key(path):
    """A fresh Ed25519 signing key from the built CLI, root's, mode 600."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = subprocess.run([str(REPO / "build" / "magiclink"), "jwt-keygen"], check=True,
                         capture_output=True, text=True).stdout
    path.write_text(pem)
    path.chmod(0o600)


def write_keyfile(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    keys = "".join(subprocess.run([str(CLI), "keygen", *a], capture_output=True, text=True,
                                  check=True).stdout for a in ([], ["store"]))
    path.write_text(keys)
    path.chmod(0o600)


def config(block, root, port):
    placed = place(block, root)
    for d in ("run", "var/log/apache2", "etc/apache2", "var/www/html"):
        (root / d).mkdir(parents=True, exist_ok=True)
    seen = set()
    out = [f'Define APACHE_LOG_DIR "{root}/var/log/apache2"',
           f'ServerRoot "{root}"', "ServerName www.example.com",
           f"Listen 127.0.0.1:{port}", f'PidFile "{root}/run/httpd.pid"',
           f'DefaultRuntimeDir "{root}/run"', f"Mutex file:{root}/run default",
           f'ErrorLog "{root}/var/log/apache2/error.log"', "LogLevel warn",
           'LogFormat "%h %l %u %t \\"%r\\" %>s %O \\"%{Referer}i\\" \\"%{User-Agent}i\\"" combined',
           f'DocumentRoot "{root}/var/www/html"']
    if run_ids():
        out += [f"User {RUN_USER}", f"Group {RUN_USER}"]
    for m in DEBIAN_DEFAULT_MODULES:
        out += load_lines(m, seen)
    for names in re.findall(r"^\s*#\s*a2enmod\s+(.+)$", block, re.M):
        for m in names.split():
            out += load_lines(m, seen)
    out += package_load(seen)
    out.append(package_conf(root))
    uses_module = any(d.startswith("magiclink") for d in directives(block)) or \
        "magiclink" in block.lower() and "sethandler" in block.lower()
    if uses_module and "magiclinkkeyfile" not in directives(block):
        keyfile = root / "etc/apache2/magiclink.key"
        write_keyfile(keyfile)
        placed = f'MagicLinkKeyFile "{keyfile}"\n' + placed
    if "virtualhost" in directives(block) or SERVER_ONLY & set(directives(block)):
        out.append(placed)
    else:
        out += [f"<VirtualHost 127.0.0.1:{port}>", "    ServerName www.example.com",
                placed, "</VirtualHost>"]
    return "\n".join(out) + "\n"


@pytest.fixture
def reachable_tmp():
    """A throwaway directory the children's User can reach (pytest's own tmp_path lies
    under /tmp/pytest-of-root, mode 0700, and the module refuses an lmdb: store behind
    a directory User cannot pass: MAGICLINK-408)."""
    d = Path(tempfile.mkdtemp(prefix="ml-doc-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def configtest(block, tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    root.chmod(0o755)
    conf = tmp_path / "httpd.conf"
    conf.write_text(config(block, root, 18080))
    proc = subprocess.run([APACHE2, "-t", "-f", str(conf)], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=60,
                          env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C"})
    return proc, conf


# ---------------------------------------------------------------- the tests

def test_the_docs_have_their_examples():
    ids = [i for i, _ in BLOCKS]
    assert sum(i.startswith("README.md") for i in ids) >= 3, ids
    assert any(i.startswith("doc/") for i in ids), ids


@pytest.mark.parametrize("block_id,block", BLOCKS, ids=[i for i, _ in BLOCKS])
def test_documented_config_passes_configtest(block_id, block, reachable_tmp):
    assert not trailing_comments(block), \
        f"{block_id}: a comment after a directive (Apache allows none):\n" + \
        "\n".join(trailing_comments(block))
    assert not missing_modules(block), \
        f"{block_id}: LoadModule of a file Debian does not have (say `a2enmod NAME`):\n" + \
        "\n".join(missing_modules(block))
    host_store = HOST_STATE_DIR.exists()
    proc, conf = configtest(block, reachable_tmp)
    assert proc.returncode == 0 and "Syntax OK" in proc.stdout, \
        f"{block_id}: apache2 -t refused it:\n{proc.stdout}\n--- {conf}\n{conf.read_text()}"
    assert HOST_STATE_DIR.exists() == host_store, f"{block_id}: made {HOST_STATE_DIR} on the host"


@pytest.mark.parametrize("line", ["MagicLinkCache lmdb:/var/lib/apache2/magiclink size=64M",
                                  "MagicLinkMailer maildir:/var/spool/magiclink",
                                  'MagicLinkMailer "pipe:/usr/sbin/sendmail -t -i"'])
def test_placing_keeps_the_host_untouched(line, tmp_path):
    placed = place(line + "\n", tmp_path)
    path = re.search(r"(?:lmdb|maildir|pipe):(\S+)", placed).group(1).strip('"')
    assert Path(path).is_relative_to(tmp_path), placed


# The harness itself: each of these mistakes (the ones the docs used to make) must
# be caught, or a passing run above would prove nothing.
@pytest.mark.parametrize("bad,why", [
    ("MagicLinkLinkTTL 900 # fifteen minutes\n", "comment"),
    ("MagicLinkAllow @example.com   # staff\n", "comment"),
    ("MagicLinkMailer pipe:/usr/sbin/sendmail -t -i\n", "configtest"),
    ("LoadModule socache_redis_module modules/mod_socache_redis.so\n", "loadmodule"),
    ("LoadModule magiclink_module modules/mod_magiclink.so\n", "loadmodule"),
    ("<Location /app>\n    ProxyPass http://127.0.0.1:9000/\n</Location>\n", "configtest"),
    ("MagicLinkCache lmdb:relative\n", "configtest"),
])
def test_the_check_catches_what_the_docs_got_wrong(bad, why, reachable_tmp):
    if why == "comment":
        assert trailing_comments(bad)
        return
    if why == "loadmodule":
        assert missing_modules(bad)
        return
    proc, _ = configtest(bad, reachable_tmp)
    assert proc.returncode != 0, proc.stdout


def test_a_quoted_pipe_mailer_passes(reachable_tmp):
    proc, _ = configtest('MagicLinkMailer "pipe:/usr/sbin/sendmail -t -i"\n', reachable_tmp)
    assert proc.returncode == 0, proc.stdout
