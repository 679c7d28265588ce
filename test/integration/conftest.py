"""Fixtures: one real httpd per test module (and per config variant), checked at the
end of the module for unexpected error-log lines, sanitizer reports and leaked secrets.

A test module sets `HTTPD_CONFIG = ml_httpd.Config(...)` to change the base server;
`httpd_factory(name, config)` starts more variants.  A test that provokes an error-log
line on purpose declares it with `expect_errors(regex)`.
"""
import itertools
import os

import pytest

import ml_httpd
from ml_client import Browser

_serial = itertools.count(1)


class Lab:
    """The servers of one test module, and what their logs may contain."""

    def __init__(self):
        self.servers = {}
        self.expected = []
        self.marks = {}          # server name -> [(test id, error-log size when it began)]
        self.current = None

    def start(self, name, config):
        if name not in self.servers:
            srv = ml_httpd.Httpd(name, config)
            self.servers[name] = srv      # registered first: stopped even if start fails
            self.marks[name] = [("startup", 0)]
            srv.start()
            self.marks[name].append((self.current, srv.error_log_size()))
        return self.servers[name]

    def mark(self, test_id):
        self.current = test_id
        for name, srv in self.servers.items():
            self.marks[name].append((test_id, srv.error_log_size()))

    def _blame(self, name, offset):
        test = "startup"
        for test_id, size in self.marks[name]:
            if size <= offset:
                test = test_id
        return test

    def finish(self):
        """Stops every server; returns the problems found in their logs."""
        problems = []
        for name, srv in self.servers.items():
            before = len(problems)
            try:
                rc = srv.stop()
                if rc not in (None, 0):
                    problems.append(f"[{name}] httpd exited with status {rc}")
            except ml_httpd.HarnessError as e:
                problems.append(f"[{name}] {e}")
            text = srv.error_log_text()
            for offset, line in ml_httpd.unexpected_log_lines(text, self.expected):
                problems.append(f"[{name}] unexpected in error_log (during "
                                f"{self._blame(name, offset)}):\n    {line}")
            for secret, line in ml_httpd.leaked_secrets(text, srv.secrets):
                problems.append(f"[{name}] secret {secret[:12]}... in error_log:\n    {line}")
            for file, report in srv.sanitizer_reports():
                problems.append(f"[{name}] sanitizer report {file}:\n{report[:6000]}")
            if len(problems) == before:
                srv.cleanup()
            else:
                problems.append(f"[{name}] logs kept in {srv.dir}")
        return problems


@pytest.fixture(scope="module")
def lab():
    lab = Lab()
    yield lab
    problems = lab.finish()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture(autouse=True)
def _mark_test(request, lab):
    lab.mark(request.node.nodeid)


@pytest.fixture(scope="module")
def httpd_factory(lab):
    """httpd_factory(name, config) -> a started ml_httpd.Httpd (one per name per module)."""
    return lab.start


@pytest.fixture(scope="module")
def server(request, httpd_factory):
    """The module's base server (its HTTPD_CONFIG, or the default config)."""
    return httpd_factory("base", getattr(request.module, "HTTPD_CONFIG", None))


@pytest.fixture
def expect_errors(lab):
    """expect_errors(regex): error-log lines matching it do not fail this test module."""
    return lab.expected.append


@pytest.fixture
def browser(server):
    return Browser(server)


@pytest.fixture
def new_browser(server):
    """new_browser() -> another, fresh browser on the base server."""
    return lambda: Browser(server)


@pytest.fixture
def unique_email():
    """unique_email(domain='example.com') -> an address no other test uses."""
    def make(domain="example.com"):
        return f"user{next(_serial)}.{os.getpid()}@{domain}"
    return make


@pytest.fixture(scope="module")
def echo_backend():
    """A backend on loopback that answers every request with the headers it got, as JSON
    (ml_httpd.EchoBackend); its port is known before the httpd config is written."""
    backend = ml_httpd.EchoBackend()
    yield backend
    backend.stop()


@pytest.fixture(scope="module")
def cache_factory():
    """cache_factory(kind, name) -> a started ml_httpd.CacheServer (kind "redis"), one
    per name per module, stopped when the module ends."""
    stores = {}

    def make(kind, name=None):
        name = name or kind
        if name not in stores:
            stores[name] = ml_httpd.CacheServer(kind, name)
            stores[name].start()
        return stores[name]
    yield make
    for store in stores.values():
        store.stop()
        store.cleanup()
