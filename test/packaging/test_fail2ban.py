"""The fail2ban filter (packaging/fail2ban/filter.d/apache-magiclink.conf), run by the
real fail2ban-regex over test/packaging/sample-error.log, and the example jail
loaded by the real fail2ban-client.

The sample holds the module's lines in Debian's default error-log format (IPv4 and
IPv6 clients, a proxy in front, a Referer that Apache appends), attempts to get
another address counted (through a Referer, a return path, a look-alike outcome),
and other modules' lines that mention the same words.  The counts per address
must be exactly the ones below.
"""
import collections
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
FILTER = REPO / "packaging/fail2ban/filter.d/apache-magiclink.conf"
JAIL = REPO / "packaging/fail2ban/jail-apache-magiclink.conf"
SAMPLE = REPO / "test/packaging/sample-error.log"
SYSTEM = Path("/etc/fail2ban")

# address -> lines that must count against it
EXPECTED = {
    "203.0.113.7": 5,       # 3 wrong codes (one with a Referer), locked, csrf
    "2001:db8::7": 3,       # throttled, csrf, invalid
    "2001:db8:0:1::ab": 1,  # invalid
    "198.51.100.23": 3,     # behind a proxy: client= counts, not [client 10.0.0.2]
    "192.0.2.44": 1,        # its own wrong code; the Referer naming 192.0.2.98 does not count
}

pytestmark = pytest.mark.skipif(shutil.which("fail2ban-regex") is None,
                                reason="fail2ban is not installed")


@pytest.fixture
def confdir(tmp_path):
    """A fail2ban configuration directory: the system's, with our filter and jail."""
    d = tmp_path / "fail2ban"
    shutil.copytree(SYSTEM, d, symlinks=True)
    shutil.copy(FILTER, d / "filter.d" / FILTER.name)
    return d


def matched_addresses(confdir):
    proc = subprocess.run(["fail2ban-regex", "--out", "ip", str(SAMPLE),
                           str(confdir / "filter.d" / FILTER.name)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return collections.Counter(proc.stdout.split())


def test_counts_exactly_the_failed_steps_per_address(confdir):
    assert matched_addresses(confdir) == collections.Counter(EXPECTED)


# The sample's lines (1-based) the filter must match, and no other: the module's
# wrong/locked/throttled/csrf/invalid lines. Not: mailed, signed_in, signed_out,
# the Referer and return-path injections (19, 21), outcome=wrongful (22), other
# modules' lines that carry the same words (23-27), an honest visitor's slips at the
# code (29-31: its link expired or used meanwhile, a code that is not six digits).
MATCHED_LINES = {5, 6, 7, 8, 11, 12, 13, 14, 16, 17, 18, 20, 28}


def test_matches_exactly_the_expected_lines(confdir):
    proc = subprocess.run(["fail2ban-regex", "--print-all-matched", "--print-no-missed",
                           str(SAMPLE), str(confdir / "filter.d" / FILTER.name)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    section = proc.stdout.split("|- Matched line(s):", 1)[1].split("`-", 1)[0]
    matched = [ln[3:] for ln in section.splitlines() if ln.startswith("|  ")]
    lines = SAMPLE.read_text().splitlines()
    assert sorted(matched) == sorted(lines[i - 1] for i in MATCHED_LINES)
    assert f"Lines: {len(lines)} lines, 0 ignored, {len(MATCHED_LINES)} matched" in proc.stdout
    assert sum(EXPECTED.values()) == len(MATCHED_LINES)


def test_every_counted_outcome_appears_in_the_sample():
    """The sample exercises each outcome the filter counts, and each it must not."""
    text = SAMPLE.read_text()
    for outcome in ("wrong", "locked", "throttled", "csrf", "invalid",
                    "mailed", "signed_in", "signed_out", "expired", "used", "malformed"):
        assert f"outcome={outcome}\n" in text or f"outcome={outcome}," in text, outcome


def test_example_jail_loads_with_the_filter(confdir):
    """fail2ban-client reads the jail, enabled, with our filter and the sample as its log."""
    jail = JAIL.read_text().replace("enabled  = false", "enabled  = true")
    jail = jail.replace("%(apache_error_log)s", str(SAMPLE))
    (confdir / "jail.d").mkdir(exist_ok=True)
    (confdir / "jail.d" / "apache-magiclink.conf").write_text(jail)
    # Only our jail: the system's own jail.d (e.g. Debian's sshd) may name logs
    # this machine does not have.
    for other in (confdir / "jail.d").iterdir():
        if other.name != "apache-magiclink.conf":
            other.unlink()
    proc = subprocess.run(["fail2ban-client", "-c", str(confdir), "--test", "-d"],
                          capture_output=True, text=True, timeout=60)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out
    assert "['add', 'apache-magiclink', 'auto']" in out, out
    assert f"['set', 'apache-magiclink', 'addlogpath', '{SAMPLE}'" in out, out
    assert "MAGICLINK-" in out, out          # the filter's failregex is in the jail
