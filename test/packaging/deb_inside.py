"""The install test's inside: runs as PID 1 of private mount, PID and network
namespaces (test_install.py starts it with unshare), so that everything it
does to this machine is thrown away when it exits.

    deb_inside.py DEB WORKDIR

/etc, /usr, /var and /run become overlays whose writable layer is a tmpfs
under WORKDIR: the real dpkg and apt install the package into the machine's
real apache2 as they would on a server, and nothing reaches the disk. The
network namespace has only its own loopback, so the apache2 started here
binds ports nobody else sees; the PID namespace ends every process started
here when this one exits.

Steps, each asserted: apt install the .deb; its files, key file and state
directory; a2enmod magiclink + a2enconf magiclink; a site with one protected
<Directory>; apache2ctl configtest; start; sign in by link with curl (mail
read from a maildir, link followed, protected page seen, token kept out of
the access log); stop; undo the admin's steps; apt purge; the three apache2
trees byte for byte as before the install.

Prints one line per step; exits non-zero with the reason on a failure.
"""
import email
import email.policy
import glob
import grp
import hashlib
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

PKG = "libapache2-mod-magiclink"
PORT = 8080
BASE = f"http://127.0.0.1:{PORT}"
OVERLAID = ("/etc", "/usr", "/var", "/run")
# What the package touches and purge must leave exactly as it found it.
WATCHED = ("/etc/apache2", "/var/lib/apache2", "/usr/lib/apache2/modules", "/etc/fail2ban",
           "/usr/sbin/magiclink", "/usr/share/doc/" + PKG, "/usr/share/man/man8/magiclink.8.gz",
           "/usr/share/man/man5/magiclink.conf.5.gz")
KEYFILE = Path("/etc/apache2/magiclink.key")
STATEDIR = Path("/var/lib/apache2/magiclink")
SITE = Path("/etc/apache2/sites-available/ml-install-test.conf")
DOCROOT = Path("/var/www/ml-install-test")
WAIT = 15.0         # bounded waits: port, mail, exit


def step(text):
    print(f"-- {text}", flush=True)


def run(*cmd, check=True, env=None, timeout=120):
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          env=env, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)}: exit {proc.returncode}\n{proc.stdout}")
    return proc


def dpkg_status():
    """The package's status for dpkg: "" when dpkg does not know it at all."""
    return subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Status}", PKG],
                          capture_output=True, text=True).stdout


def manifest(paths):
    """{path: (type, mode, uid, gid, sha256 or link target)} of every entry under paths."""
    out = {}
    for top in paths:
        if not os.path.lexists(top):
            continue
        entries = [top] if not os.path.isdir(top) or os.path.islink(top) else \
            [top] + [os.path.join(d, n) for d, ds, fs in os.walk(top) for n in ds + fs]
        for p in entries:
            st = os.lstat(p)
            if stat.S_ISLNK(st.st_mode):
                what = "->" + os.readlink(p)
            elif stat.S_ISREG(st.st_mode):
                what = hashlib.sha256(Path(p).read_bytes()).hexdigest()
            else:
                what = ""
            out[p] = (stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid,
                      what)
    return out


def diff(before, after):
    lines = [f"  gone:    {p}" for p in sorted(before.keys() - after.keys())]
    lines += [f"  new:     {p}" for p in sorted(after.keys() - before.keys())]
    lines += [f"  changed: {p} {before[p]} -> {after[p]}" for p in sorted(before.keys() &
                                                                        after.keys())
              if before[p] != after[p]]
    return "\n".join(lines)


# ---------------------------------------------------------------- the throwaway machine

def isolate(work):
    """Overlays with a tmpfs upper layer on OVERLAID; loopback up."""
    layers = work / "layers"
    layers.mkdir()
    run("mount", "-t", "tmpfs", "-o", "mode=0755", "ml-install-test", str(layers))
    for d in OVERLAID:
        name = d.strip("/")
        upper, wdir = layers / name / "upper", layers / name / "work"
        upper.mkdir(parents=True)
        wdir.mkdir()
        run("mount", "-t", "overlay", f"ml-{name}", "-o",
            f"lowerdir={d},upperdir={upper},workdir={wdir}", d)
    run("ip", "link", "set", "lo", "up")
    # Never let a maintainer script start or restart a service (Debian's
    # mechanism for chroots); the overlay makes this file throwaway too.
    policy = Path("/usr/sbin/policy-rc.d")
    policy.write_text("#!/bin/sh\n# install test: no service actions\nexit 101\n")
    policy.chmod(0o755)


# ---------------------------------------------------------------- HTTP with curl

class Curl:
    def __init__(self, work):
        self.jar = work / "cookies.txt"

    def __call__(self, method, path_or_url, data=None):
        """(status, headers text, body) of one request, cookies kept in the jar."""
        url = path_or_url if path_or_url.startswith("http") else BASE + path_or_url
        cmd = ["curl", "-sS", "--max-time", "20", "-X", method, "-b", str(self.jar),
               "-c", str(self.jar), "-D", "-", "-H", "Accept: text/html", url]
        for k, v in (data or {}).items():
            cmd += ["--data-urlencode", f"{k}={v}"]
        out = run(*cmd).stdout
        head, _, body = out.partition("\n\n")      # text mode: CRLF read as LF
        status = int(head.split(" ", 2)[1])
        return status, head, body


def csrf_of(body):
    m = re.search(r'<meta name="csrf-token" content="([^"]+)"', body) or \
        re.search(r'name="csrf_token" value="([^"]+)"', body)
    assert m, f"no CSRF token in the page:\n{body[:2000]}"
    return m.group(1)


def wait_for(predicate, what):
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"gave up waiting ({WAIT}s) for {what}")


def reap():
    """As PID 1 of the namespace this process inherits the daemonized apache2's
    orphans: collect the ones that exited, so they do not linger as zombies."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def apache2_running():
    reap()
    return run("pgrep", "-x", "apache2", check=False).stdout.split()


def port_open():
    try:
        with socket.create_connection(("127.0.0.1", PORT), timeout=0.5):
            return True
    except OSError:
        return False


# ---------------------------------------------------------------- the steps

def check_installed_files():
    listed = set(run("dpkg", "-L", PKG).stdout.split())
    for f in ("/usr/lib/apache2/modules/mod_magiclink.so", "/usr/sbin/magiclink",
              "/etc/apache2/mods-available/magiclink.load",
              "/etc/apache2/conf-available/magiclink.conf",
              "/etc/fail2ban/filter.d/apache-magiclink.conf",
              "/usr/share/man/man8/magiclink.8.gz", "/usr/share/man/man5/magiclink.conf.5.gz"):
        assert f in listed and os.path.exists(f), f"{f} not installed"
    st = KEYFILE.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o600), \
        f"key file is {st.st_uid}:{st.st_gid} {oct(st.st_mode)}"
    keys = [ln.split() for ln in KEYFILE.read_text().splitlines()
            if ln.strip() and not ln.startswith("#")]
    assert len(keys) == 2 and keys[0][0] != "store" and keys[1][0] == "store" and \
        all(len(k) == 3 and all(len(x) == 64 for x in k[1:]) for k in keys), \
        "key file: expected one sealing key line, then the store line"
    st = STATEDIR.stat()
    www = pwd.getpwnam("www-data")
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == \
        (www.pw_uid, grp.getgrnam("www-data").gr_gid, 0o750), \
        f"state directory is {st.st_uid}:{st.st_gid} {oct(st.st_mode)}"
    for what, name in (("-m", "magiclink"), ("-c", "magiclink")):
        assert run("a2query", "-q", what, name, check=False).returncode != 0, \
            f"{name} ({what}) enabled by the install: the admin enables it"
    out = run("magiclink", "--version").stdout
    assert out.strip() == f"magiclink {os.environ['ML_VERSION']}", out


def check_make_install():
    for f in ("/usr/lib/apache2/modules/mod_magiclink.so", "/usr/sbin/magiclink",
              "/etc/apache2/mods-available/magiclink.load",
              "/etc/apache2/conf-available/magiclink.conf",
              "/usr/share/man/man8/magiclink.8", "/usr/share/man/man5/magiclink.conf.5"):
        assert os.path.isfile(f), f"make install did not install {f}"
    st = KEYFILE.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o600), oct(st.st_mode)
    ids = [ln.split()[0] for ln in KEYFILE.read_text().splitlines()
           if ln.strip() and not ln.startswith("#")]
    assert len(ids) == 2 and ids[1] == "store", ids
    st = STATEDIR.stat()
    assert st.st_uid == pwd.getpwnam("www-data").pw_uid and stat.S_IMODE(st.st_mode) == 0o750
    run("a2enmod", "-q", "magiclink")
    out = run("apache2ctl", "configtest").stdout
    assert "Syntax OK" in out, out


def configure_site(work):
    maildir = work / "mail"
    DOCROOT.joinpath("private").mkdir(parents=True)
    DOCROOT.joinpath("private", "index.html").write_text("<p>secret page</p>\n")
    DOCROOT.joinpath("index.html").write_text("<p>public page</p>\n")
    SITE.write_text(f"""\
Listen 127.0.0.1:{PORT}
<VirtualHost 127.0.0.1:{PORT}>
    ServerName 127.0.0.1
    DocumentRoot {DOCROOT}
    ErrorLog ${{APACHE_LOG_DIR}}/ml-install-test-error.log
    CustomLog ${{APACHE_LOG_DIR}}/ml-install-test-access.log combined env=!magiclink_token
    MagicLinkKeyFile /etc/apache2/magiclink.key
    MagicLinkBaseURL {BASE}
    MagicLinkMailFrom "Install Test <login@example.com>"
    MagicLinkMailer maildir:{maildir}
    MagicLinkAllow @example.com
    MagicLinkCookieSecure Off
    <Location /magic>
        SetHandler magiclink
    </Location>
    <Directory {DOCROOT}>
        Require all granted
    </Directory>
    <Directory {DOCROOT}/private>
        AuthType MagicLink
        Require valid-user
    </Directory>
</VirtualHost>
""")
    run("a2ensite", "-q", SITE.stem)


def sign_in(work):
    curl = Curl(work)
    status, head, _ = curl("GET", "/private/")
    assert status == 302 and "/magic/login" in head, f"/private/ without a session:\n{head}"
    status, _, body = curl("GET", "/magic/login?return=/private/")
    assert status == 200, status
    status, _, body = curl("POST", "/magic/generate",
                           {"email": "admin@example.com", "csrf_token": csrf_of(body),
                            "return": "/private/"})
    assert status == 200 and re.search(r"check your (e-?mail|inbox)", body, re.I), body[:2000]
    new = work / "mail" / "new"
    mail = wait_for(lambda: sorted(new.glob("*")) if new.is_dir() else [], "the mail")
    assert len(mail) == 1, mail
    msg = email.message_from_bytes(mail[0].read_bytes(), policy=email.policy.default)
    assert msg["To"] == "admin@example.com", msg["To"]
    text = msg.get_body(("plain",)).get_content()
    links = {u for u in re.findall(r"https?://[^\s\"'<>]+", text) if "/verify/" in u}
    assert len(links) == 1, text
    link = links.pop()
    assert link.startswith(BASE + "/magic/verify/"), link
    status, _, body = curl("GET", link)
    assert status == 200 and "<form" in body, body[:2000]
    status, head, _ = curl("POST", link, {"csrf_token": csrf_of(body)})
    assert status == 303 and re.search(r"(?im)^location: .*/private/\s*$", head), head
    status, _, body = curl("GET", "/private/")
    assert status == 200 and "secret page" in body, body[:2000]
    return link


def check_logs(link):
    logs = Path("/var/log/apache2")
    access = (logs / "ml-install-test-access.log").read_text()
    assert "GET /private/ HTTP/1.1\" 200" in access, access
    assert "/verify/" not in access, f"a link token reached the access log:\n{access}"
    errors = (logs / "ml-install-test-error.log").read_text() + \
        (logs / "error.log").read_text(errors="replace")
    bad = [ln for ln in errors.splitlines() if re.search(r"\[[a-z_0-9]*:(error|crit|alert|emerg)\]",
                                                         ln)]
    assert not bad, "\n".join(bad)
    assert link.rsplit("/", 1)[1] not in errors, "the link token reached the error log"


def forget_earlier_installs():
    """The test is of a first install. A machine that ran the module before (a hand
    install, an interrupted test) may hold its state dir or key file; they go inside
    this namespace only (the overlay's upper layer), the host keeps them."""
    for leftover in (STATEDIR, KEYFILE):
        if leftover.exists():
            step(f"earlier install's {leftover} set aside (inside the namespace only)")
            shutil.rmtree(leftover) if leftover.is_dir() else leftover.unlink()


def main():
    deb, work = Path(sys.argv[1]), Path(sys.argv[2])
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive", LANG="C")
    isolate(work)
    forget_earlier_installs()
    before = manifest(WATCHED)
    mods_before = set(os.listdir("/etc/apache2/mods-enabled"))

    step(f"apt-get install {deb.name}")
    run("apt-get", "install", "-y", "-q", "--no-install-recommends", f"{deb}", env=env)
    check_installed_files()

    step("a2enmod magiclink, a2enconf magiclink, a site with a protected <Directory>")
    run("a2enmod", "magiclink")
    run("a2enconf", "magiclink")
    with_deps = set(os.listdir("/etc/apache2/mods-enabled")) - mods_before
    configure_site(work)
    out = run("apache2ctl", "configtest").stdout
    assert "Syntax OK" in out, out

    step("apache2ctl start, sign in by link with curl")
    run("apache2ctl", "start", env=env)
    wait_for(port_open, f"apache2 on 127.0.0.1:{PORT}")
    link = sign_in(work)
    check_logs(link)

    step("apache2ctl stop")
    run("apache2ctl", "stop", env=env)
    wait_for(lambda: not port_open() and not glob.glob("/run/apache2/apache2.pid")
             and not apache2_running(), "apache2 and all its processes to stop")

    step("apt-get install --reinstall (an upgrade's scripts): keys and store kept")
    keys = KEYFILE.read_bytes()
    out = run("apt-get", "install", "-y", "-q", "--reinstall", f"{deb}", env=env).stdout
    assert KEYFILE.read_bytes() == keys, "the upgrade replaced the key file"
    assert STATEDIR.is_dir() and run("a2query", "-q", "-m", "magiclink", check=False) \
        .returncode == 0, "the upgrade lost the state directory or the admin's a2enmod"
    # An enabled module is reloaded through apache2-maintscript-helper once the
    # configuration passes its test; policy-rc.d (see isolate) stops the reload.
    assert "policy-rc.d denied execution of reload" in out, out
    assert "configuration is broken" not in out, out

    step("undo the admin's steps (site, modules a2enmod pulled in), apt-get purge")
    run("a2dissite", "-q", "-p", SITE.stem)
    SITE.unlink()
    shutil.rmtree(DOCROOT)
    for name in sorted({n.rsplit(".", 1)[0] for n in with_deps} - {"magiclink"}):
        run("a2dismod", "-q", "-p", "-f", name)
    run("apt-get", "purge", "-y", "-q", PKG, env=env)
    status = dpkg_status()
    assert status in ("", "not-installed"), f"after purge dpkg says {status!r}"
    after = manifest(WATCHED)
    # a2enmod/a2enconf/a2ensite keep their state under /var/lib/apache2/{module,
    # conf,site}/ and make its directories on first use; apache2's tools own
    # them, so empty ones may stay. Everything else must be as it was.
    for p in [p for p in after.keys() - before.keys()
              if re.fullmatch(r"/var/lib/apache2/(module|conf|site)/[a-z_]+", p)
              and stat.S_ISDIR(after[p][0]) and not os.listdir(p)]:
        del after[p]
    assert after == before, "purge left the apache2 trees changed:\n" + diff(before, after)
    step(f"purged: {len(before)} entries under {', '.join(WATCHED[:3])} ... as before")

    step("make install (no package, no DESTDIR): the same files, key file, state directory")
    repo = Path(__file__).resolve().parents[2]
    run("make", "-C", str(repo), "install", "prefix=/usr", env=env, timeout=300)
    check_make_install()
    print("INSIDE OK", flush=True)


if __name__ == "__main__":
    main()
