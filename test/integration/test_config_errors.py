"""Configurations httpd must refuse, with a message naming the directive or the file."""
import re

import pytest

import ml_contract as C
import ml_httpd

BROKEN = {
    "missing key file": ml_httpd.Config(key_file="{dir}/no-such-keys"),
    "key file mode 644": ml_httpd.Config(key_mode=0o644),
    "key file mode 640": ml_httpd.Config(key_mode=0o640),
    "malformed key line": ml_httpd.Config(key_lines=("k1 zz yy\n",)),
    "bad link ttl": ml_httpd.Config(server_conf="MagicLinkLinkTTL abc"),
    "bad mailer": ml_httpd.Config(server_conf="MagicLinkMailer bogus:x"),
}


@pytest.fixture
def make_server():
    made = []

    def make(name, config):
        srv = ml_httpd.Httpd(name.replace(" ", "-"), config)
        made.append(srv)
        return srv
    yield make
    for srv in made:
        srv.stop()
        srv.cleanup()


def test_the_base_config_is_accepted(make_server):
    proc = make_server("base", ml_httpd.Config()).config_test()
    assert proc.returncode == 0 and "Syntax OK" in proc.stdout, proc.stdout


@pytest.mark.parametrize("case", BROKEN)
def test_broken_config_is_refused_by_name(make_server, case):
    srv = make_server(case, BROKEN[case])
    names = C.CONFIG_ERROR_NAMES[case].replace("{keyfile}", re.escape(str(srv.keyfile)))
    proc = srv.config_test()
    assert proc.returncode != 0, f"apache2 -t accepted it:\n{proc.stdout}"
    assert "Invalid command" not in proc.stdout, proc.stdout     # the module is loaded
    assert re.search(names, proc.stdout), f"/{names}/ not in:\n{proc.stdout}"
    started, output = srv.try_start()
    assert not started, f"httpd started anyway:\n{output}"
    assert re.search(names, output), f"/{names}/ not in:\n{output}"


def test_no_allow_list_starts_with_a_warning(httpd_factory):
    srv = httpd_factory("no-allow", ml_httpd.Config(allow=()))
    assert re.search(C.NO_ALLOW_WARNING, srv.error_log_text()), srv.error_log_text()[-2000:]
