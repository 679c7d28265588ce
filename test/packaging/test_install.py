"""make install-test: the .deb installed into this machine's real apache2, in a throwaway.

Approach. A real `apt-get install ./libapache2-mod-magiclink_*.deb` runs the real
dpkg, maintainer scripts, a2enmod and apache2-maintscript-helper against the real
/etc/apache2 — but inside private mount, PID and network namespaces
(`unshare --mount --pid --fork --net`), where /etc, /usr, /var and /run are overlays
over the machine's own directories with a tmpfs as their writable layer
(test/packaging/deb_inside.py). So the machine's files are what the package meets,
and nothing it writes outlives the test: no chroot to build, no host state to
restore. The network namespace has only its own loopback (the apache2 started
there cannot collide with, or be reached by, anything outside), and the PID
namespace ends every process started there when the test's own process exits.

Inside: install, a2enmod + a2enconf, configtest, start on a loopback port, sign in
by link with curl through the maildir mailer, stop, purge, and the apache2 trees
byte for byte as before the install (that is the package's purge being clean).
Outside, before and after: a manifest (type, mode, owner, sha256) of the host's
/etc/apache2, /var/lib/apache2, /usr/lib/apache2/modules and the package's other
paths must be identical, dpkg must not know the package, and no apache2 process may
live in another network namespace (that is the isolation holding).

Needs root (namespaces, mounts) and ML_DEB (the .deb; `make install-test` sets it).
"""
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import deb_inside  # noqa: E402  (its manifest() and WATCHED, shared by both sides)

DEB = os.environ.get("ML_DEB", "")
TIMEOUT = 240


def apache2_elsewhere():
    """apache2 processes in a network namespace other than ours: only the test's
    namespace would hold one (other apache2 processes on this machine, such as the
    integration suites', are not the test's business and are left alone)."""
    ours = os.readlink("/proc/self/ns/net")
    out = subprocess.run(["pgrep", "-x", "apache2"], capture_output=True, text=True).stdout
    found = []
    for pid in out.split():
        try:
            if os.readlink(f"/proc/{pid}/ns/net") != ours:
                found.append(pid)
        except OSError:
            pass        # gone meanwhile
    return found


@pytest.mark.skipif(os.geteuid() != 0, reason="namespaces and mounts need root")
def test_deb_installs_signs_in_and_purges_without_touching_the_host():
    assert DEB and Path(DEB).is_file(), f"no package at ML_DEB={DEB!r} (make deb)"
    host_before = deb_inside.manifest(deb_inside.WATCHED)
    work = Path(tempfile.mkdtemp(prefix="ml-install-test-"))
    work.chmod(0o755)      # the maildir in it is written by www-data
    try:
        proc = subprocess.run(
            ["unshare", "--mount", "--propagation", "private", "--pid", "--fork",
             "--mount-proc", "--net", "/usr/bin/python3", str(HERE / "deb_inside.py"),
             str(Path(DEB).resolve()), str(work)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=TIMEOUT,
            env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
        print(proc.stdout)
        assert proc.returncode == 0 and "INSIDE OK" in proc.stdout, proc.stdout[-6000:]
    finally:
        # The tmpfs was mounted in the namespace only; what is left is ours.
        subprocess.run(["rm", "-rf", "--one-file-system", str(work)])
    host_after = deb_inside.manifest(deb_inside.WATCHED)
    assert host_after == host_before, \
        "the host changed:\n" + deb_inside.diff(host_before, host_after)
    status = deb_inside.dpkg_status()
    assert status in ("", "not-installed"), f"host dpkg knows the package: {status!r}"
    assert not apache2_elsewhere(), "an apache2 process of the test outlived it"


# Files only the Debian package has, by Debian's rules (dh_installchangelogs,
# dh_installdocs' copyright, dh_lintian).
DEBIAN_ONLY = {f"/usr/share/doc/{deb_inside.PKG}/changelog",
               f"/usr/share/doc/{deb_inside.PKG}/copyright",
               f"/usr/share/lintian/overrides/{deb_inside.PKG}"}


def test_make_install_installs_what_the_package_does(tmp_path):
    """`make install` (for systems without the package) places the same files as the
    .deb, given Debian's layout; man pages and docs compared without the .gz that
    dh_compress adds. The state directory and key file are made by the postinst
    (and by make install only when DESTDIR is empty), so neither list has them."""
    assert DEB and Path(DEB).is_file(), f"no package at ML_DEB={DEB!r} (make deb)"
    repo = HERE.parents[1]
    dest = tmp_path / "stage"
    proc = subprocess.run(["make", "-C", str(repo), "install", f"DESTDIR={dest}", "prefix=/usr",
                           f"docdir=/usr/share/doc/{deb_inside.PKG}", "APACHE_LAYOUT=debian"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "warning" not in (proc.stdout + proc.stderr).lower(), proc.stdout + proc.stderr
    staged = {"/" + str(p.relative_to(dest)) for p in dest.rglob("*") if not p.is_dir()}
    listing = subprocess.run(["dpkg-deb", "--fsys-tarfile", DEB], capture_output=True,
                             check=True).stdout
    names = subprocess.run(["tar", "-t"], input=listing, capture_output=True,
                           check=True).stdout.decode().split("\n")
    packaged = {n.lstrip(".").removesuffix(".gz") if n.startswith("./usr/share/") else
                n.lstrip(".") for n in names if n and not n.endswith("/")}
    assert staged == packaged - DEBIAN_ONLY
    assert (dest / "var/lib/apache2/magiclink").is_dir()
    load = (dest / "etc/apache2/mods-available/magiclink.load").read_text()
    assert "LoadModule magiclink_module /usr/lib/apache2/modules/mod_magiclink.so" in load, load
