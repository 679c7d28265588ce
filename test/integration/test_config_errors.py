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
    "magiclink-domain not a domain": ml_httpd.Config(server_conf='''
<Location /x>
    AuthType MagicLink
    Require magiclink-domain example.com not_a_domain
</Location>'''),
    "magiclink-domain star": ml_httpd.Config(server_conf='''
<Location /x>
    AuthType MagicLink
    Require magiclink-domain *
</Location>'''),
    "allow entry not a domain": ml_httpd.Config(allow=("@localhost",)),
    "allow file with a bad line": ml_httpd.Config(
        files={"allow.txt": "ann@example.com\nnot an entry\n"},
        server_conf='MagicLinkAllowFile "{dir}/allow.txt"'),
    "realm with a space": ml_httpd.Config(server_conf='MagicLinkRealm "two words"'),
    # A virtual host that inherits the keys and the base URL: its realm (the base URL's
    # origin) is the main server's, so their sessions would be valid at each other.
    "vhost shares keys and realm": ml_httpd.Config(server_conf='''
Listen 127.0.0.1:{port2}
<VirtualHost 127.0.0.1:{port2}>
    ServerName vhost.example
    MagicLinkSessionTTL 600
</VirtualHost>'''),
    # ... and one that also serves the handler mails links to the main server's host.
    "vhost serves the handler with an inherited base URL": ml_httpd.Config(server_conf='''
Listen 127.0.0.1:{port2}
<VirtualHost 127.0.0.1:{port2}>
    ServerName handler.example
    MagicLinkRealm handler-host
    <Location /signin>
        SetHandler magiclink
    </Location>
</VirtualHost>'''),
}

WARNED = {
    "require user not an address": ml_httpd.Config(private_conf="Require user admin"),
    "require user not canonical": ml_httpd.Config(private_conf="Require user Ann@Example.com"),
    "login url no handler serves": ml_httpd.Config(private_conf="MagicLinkLoginURL /signin"),
    "no handler at all": ml_httpd.Config(handler=False),
    "vhost inherits keys without a realm": ml_httpd.Config(server_conf='''
Listen 127.0.0.1:{port2}
<VirtualHost 127.0.0.1:{port2}>
    ServerName 127.0.0.1
    MagicLinkBaseURL http://127.0.0.1:{port2}
</VirtualHost>'''),
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


@pytest.mark.parametrize("case", WARNED)
def test_config_trap_is_accepted_with_a_warning(make_server, case):
    srv = make_server(case, WARNED[case])
    proc = srv.config_test()
    assert proc.returncode == 0 and "Syntax OK" in proc.stdout, proc.stdout
    assert re.search(C.CONFIG_WARNINGS[case], proc.stdout), \
        f"/{C.CONFIG_WARNINGS[case]}/ not in:\n{proc.stdout}"


def test_the_base_config_has_nothing_to_say(make_server):
    proc = make_server("quiet", ml_httpd.Config()).config_test()
    assert "MAGICLINK-22" not in proc.stdout, proc.stdout


def test_no_allow_list_starts_with_a_warning(httpd_factory):
    srv = httpd_factory("no-allow", ml_httpd.Config(allow=()))
    assert re.search(C.NO_ALLOW_WARNING, srv.error_log_text()), srv.error_log_text()[-2000:]


@pytest.mark.parametrize("spec, why", [
    ("maildir:relative/mail", "must be an absolute path"),
    ("smtp://127.0.0.1?bogus=1", "unknown option bogus"),
])
def test_a_refused_mailer_names_the_directive_once(make_server, spec, why):
    """A spec the directive takes but the mailer refuses at start: one line that says
    which directive, which value and why, each once."""
    srv = make_server("mailer " + why, ml_httpd.Config(server_conf=f"MagicLinkMailer {spec}"))
    proc = srv.config_test()
    assert proc.returncode != 0, f"apache2 -t accepted it:\n{proc.stdout}"
    lines = [line for line in proc.stdout.splitlines() if "MAGICLINK-001" in line]
    assert len(lines) == 1 and why in lines[0], proc.stdout
    assert lines[0].count("MagicLinkMailer") == 1 and lines[0].count(spec) == 1, lines[0]
