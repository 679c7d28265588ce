"""The CLI's command line: what it says when it cannot make sense of one."""
import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CLI = Path(os.environ.get("ML_CLI", REPO / "build/magiclink"))
COMMANDS = ("keygen", "seal", "open", "revoke", "--version", "--help")


def cli(*args):
    return subprocess.run([str(CLI), *args], capture_output=True, text=True, timeout=30)


def test_unknown_command_is_named_with_the_usage_on_stderr_and_exit_2():
    proc = cli("frobnicate", "x")
    assert proc.returncode == 2, proc
    assert proc.stdout == ""
    first, _, rest = proc.stderr.partition("\n")
    assert first == 'magiclink: unknown command "frobnicate"', proc.stderr
    assert rest.startswith("usage:") and all(c in rest for c in COMMANDS), proc.stderr


def test_no_command_prints_the_usage_on_stderr_and_exits_2():
    proc = cli()
    assert proc.returncode == 2 and proc.stdout == "" and proc.stderr.startswith("usage:"), proc


def test_help_goes_to_stdout_with_exit_0():
    proc = cli("--help")
    assert proc.returncode == 0 and proc.stderr == "", proc
    assert all(c in proc.stdout for c in COMMANDS), proc.stdout


def test_a_failing_command_still_exits_1():
    proc = cli("open", "/nonexistent/keys", "name", "value")
    assert proc.returncode == 1 and proc.stderr.startswith("magiclink: "), proc


def test_keygen_store_writes_the_store_line():
    proc = cli("keygen", "store")
    fields = proc.stdout.split()
    assert proc.returncode == 0 and fields[0] == "store" and len(fields) == 3, proc
    assert all(len(f) == 64 and int(f, 16) >= 0 for f in fields[1:])
