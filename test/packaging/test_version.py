"""The version is written once, in VERSION; debian/changelog, the CLI and the
package name agree with it."""
import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
CLI = Path(os.environ.get("ML_CLI", REPO / "build/magiclink"))
VERSION = (REPO / "VERSION").read_text().strip()


def test_version_file_is_one_plain_version():
    assert re.fullmatch(r"\d+\.\d+\.\d+", VERSION), VERSION


def test_debian_changelog_agrees():
    out = subprocess.run(["dpkg-parsechangelog", "-l", str(REPO / "debian/changelog"),
                          "-S", "Version"], capture_output=True, text=True, check=True).stdout
    # A native package: no Debian revision, so the versions are equal.
    assert out.strip() == VERSION


def test_cli_says_the_version():
    proc = subprocess.run([str(CLI), "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout == f"magiclink {VERSION}\n", proc


@pytest.mark.skipif(not os.environ.get("ML_DEB"), reason="no package built (make deb)")
def test_package_is_named_after_the_version():
    name = Path(os.environ["ML_DEB"]).name
    assert name.startswith(f"libapache2-mod-magiclink_{VERSION}_"), name
