"""The signed identity header (issue 20): what a proxied backend receives in
MagicLinkJWTHeader, verified by real JWT libraries as backends verify it, with the keys
fetched from the JWK Set location (`SetHandler magiclink-jwks`):

  - PyJWT (Debian's python3-jwt): PyJWKClient + jwt.decode;
  - jose (npm, test/jwt/verify.mjs): createRemoteJWKSet + jwtVerify.

Both accept the token, and both reject it after `exp`, with the wrong audience, after its
key is removed from the ring (graceful restart), and when the client forged the header
(it never reaches the backend). Also: ES256, the JWK Set document, the groups claim from
MagicLinkGroupFile, tokens never crossing identities or locations, start-up refusals,
and `magiclink jwt-keygen`."""
import base64
import contextlib
import http.client
import json
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

import ml_contract as C
import ml_httpd
from ml_client import Browser, allowed, expect

HEADER = "X-ML-Identity"
AUD = "https://backend.example"
NODE_DIR = ml_httpd.REPO / "test" / "jwt"
GROUPS = """# AuthGroupFile format
staff: ann@example.com bob@example.com
admins: ann@example.com
"quoted": ann@example.com
others: carol@example.com
staff: ann@example.com
"""


# ---------------------------------------------------------------- keys and servers

def jwt_key(alg="ed25519"):
    return ml_httpd.cli("jwt-keygen", alg).stdout


def write_secret(path, text):
    path = Path(path)
    path.write_text(text)
    path.chmod(0o600)
    return path


@pytest.fixture(scope="module")
def keydir():
    d = Path(tempfile.mkdtemp(prefix="ml-it-jwtkeys-"))
    d.chmod(0o755)
    for name, alg in (("ed", "ed25519"), ("ec", "es256"), ("a", "ed25519"),
                      ("b", "es256")):
        write_secret(d / f"{name}.pem", jwt_key(alg))
    (d / "groups").write_text(GROUPS)
    (d / "groups").chmod(0o644)
    yield d
    if not ml_httpd.KEEP:
        shutil.rmtree(d, ignore_errors=True)


def proxy_conf(echo, keydir, keys):
    mods = ml_httpd.MODULES_DIR
    lines = [f'LoadModule proxy_module "{mods}/mod_proxy.so"',
             f'LoadModule proxy_http_module "{mods}/mod_proxy_http.so"',
             "ProxyTimeout 10"]
    lines += [f'MagicLinkJWTKey {kid} "{keydir}/{kid}.pem"' for kid in keys]
    lines.append(f"""
<Location /jwks>
    SetHandler magiclink-jwks
</Location>
<Location /app/>
    AuthType MagicLink
    Require valid-user
    MagicLinkJWTHeader {HEADER}
    MagicLinkJWTAudience {AUD}
    MagicLinkGroupFile "{keydir}/groups"
    ProxyPass {echo.url}/
</Location>
<Location /plain/>
    AuthType MagicLink
    Require valid-user
    MagicLinkJWTHeader {HEADER}
    ProxyPass {echo.url}/plain/
</Location>
<Location /short/>
    AuthType MagicLink
    Require valid-user
    MagicLinkJWTHeader {HEADER}
    MagicLinkJWTTTL 1
    ProxyPass {echo.url}/short/
</Location>
<Location /pub/>
    Require all granted
    MagicLinkJWTHeader {HEADER}
    ProxyPass {echo.url}/pub/
</Location>
<Location /broken/>
    AuthType MagicLink
    Require valid-user
    MagicLinkJWTHeader {HEADER}
    MagicLinkGroupFile "{keydir}/no-such-groups"
    ProxyPass {echo.url}/broken/
</Location>
""")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def srv(httpd_factory, echo_backend, keydir):
    """Ed25519 key "ed" signs; "ec" is published beside it."""
    return httpd_factory("jwt", ml_httpd.Config(
        server_conf=proxy_conf(echo_backend, keydir, ["ed", "ec"])))


@pytest.fixture(scope="module")
def srv_ec(httpd_factory, echo_backend, keydir):
    """The ES256 key signs."""
    return httpd_factory("jwt-ec", ml_httpd.Config(
        server_conf=proxy_conf(echo_backend, keydir, ["ec"])))


def mint(server, email, iat_ago=0):
    now = int(time.time())
    claims = {"email": email, "iat": str(now - iat_ago), "seen": str(now), "aud": server.base}
    return ml_httpd.seal(server.keyfile, C.SESSION_COOKIE, claims, at=now)


def raw_get(server, path, headers):
    """GET with exactly these header lines; (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.putrequest("GET", path, skip_accept_encoding=True)
        for k, v in headers:
            conn.putheader(k, v)
        conn.endheaders()
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _norm(name):
    return name.lower().replace("_", "-")


def backend_tokens(server, path, email=None, cookie=None, extra=()):
    """The identity headers (any spelling) the echo backend received for one GET, as
    (status, [values])."""
    headers = [("Accept", "application/json")]
    if email or cookie:
        headers.append(("Cookie", f"{C.SESSION_COOKIE}={cookie or mint(server, email)}"))
    status, _, body = raw_get(server, path, headers + list(extra))
    if status != 200:
        return status, None
    seen = json.loads(body)
    return status, [v for k, v in seen["headers"] if _norm(k) == _norm(HEADER)]


def token_for(server, email, path="/app/x"):
    status, tokens = backend_tokens(server, path, email)
    assert status == 200 and tokens and len(tokens) == 1, (status, tokens)
    return tokens[0]


# ---------------------------------------------------------------- the verifiers

@contextlib.contextmanager
def _socket_timeout(seconds):
    """PyJWKClient's urlopen has no time-out of its own: bound it."""
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


def pyjwt_verify(server, token, audience=AUD):
    """PyJWT as a Python backend uses it: the key by kid from the JWK Set URL."""
    with _socket_timeout(30):
        client = jwt.PyJWKClient(server.url("/jwks"), cache_jwk_set=False)
        key = client.get_signing_key_from_jwt(token)
    return jwt.decode(token, key.key, algorithms=["EdDSA", "ES256"], audience=audience,
                      issuer=server.base,
                      options={"require": ["iss", "aud", "sub", "iat", "nbf", "exp", "jti"]})


def jose_verify(server, cases):
    """jose as a Node.js backend uses it; cases: [{token, audience?, now?}] -> results."""
    if not (NODE_DIR / "node_modules" / "jose").is_dir():
        raise ml_httpd.HarnessError(f"jose is not installed in {NODE_DIR}: run `make "
                                    "integration` (it runs npm ci there)")
    doc = {"jwks": server.url("/jwks"),
           "cases": [{"issuer": server.base, "audience": AUD, **c} for c in cases]}
    proc = subprocess.run(["node", str(NODE_DIR / "verify.mjs")], input=json.dumps(doc),
                          capture_output=True, text=True, timeout=120, cwd=NODE_DIR)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def jose_one(server, token, **kw):
    return jose_verify(server, [dict(token=token, **kw)])[0]


def b64d(part):
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def header_of(token):
    return json.loads(b64d(token.split(".")[0]))


# ---------------------------------------------------------------- accepted

def test_a_signed_in_visitor_reaches_the_backend_with_a_token_both_libraries_accept(
        srv, unique_email):
    addr = unique_email()
    b = Browser(srv)
    b.sign_in(addr)                                       # a real sign-in, by link
    status, tokens = backend_tokens(srv, "/app/whoami", cookie=b.cookie(C.SESSION_COOKIE))
    assert status == 200 and len(tokens) == 1, tokens
    token = tokens[0]
    assert header_of(token) == {"alg": "EdDSA", "kid": "ed", "typ": "JWT"}
    before = int(time.time())
    claims = pyjwt_verify(srv, token)
    assert claims["iss"] == srv.base and claims["aud"] == AUD
    assert claims["sub"] == claims["email"] == addr
    assert claims["nbf"] == claims["iat"] and claims["exp"] - claims["iat"] == 60
    assert abs(claims["iat"] - before) <= 10
    assert len(claims["jti"]) >= 16
    assert claims["groups"] == []                         # a group file, not listed in it
    got = jose_one(srv, token)
    assert got["ok"], got
    assert got["payload"] == claims and got["header"]["kid"] == "ed"


def test_es256_tokens_carry_a_raw_64_byte_signature_both_libraries_accept(srv_ec):
    token = token_for(srv_ec, "ec@example.com")
    assert header_of(token) == {"alg": "ES256", "kid": "ec", "typ": "JWT"}
    assert len(b64d(token.split(".")[2])) == 64          # r||s, not DER
    assert pyjwt_verify(srv_ec, token)["email"] == "ec@example.com"
    got = jose_one(srv_ec, token)
    assert got["ok"] and got["payload"]["sub"] == "ec@example.com", got


def test_the_jwk_set_publishes_every_key_and_no_private_part(srv, keydir):
    r = expect(Browser(srv).get("/jwks"), C.OK)
    assert r.headers["Content-Type"].startswith("application/jwk-set+json"), r.headers
    assert "max-age=" in r.headers.get("Cache-Control", ""), r.headers
    keys = {k["kid"]: k for k in r.json()["keys"]}
    assert list(keys) == ["ed", "ec"]
    assert {k: v for k, v in keys["ed"].items() if k != "x"} == \
        {"kty": "OKP", "crv": "Ed25519", "kid": "ed", "alg": "EdDSA", "use": "sig"}
    assert {k: v for k, v in keys["ec"].items() if k not in ("x", "y")} == \
        {"kty": "EC", "crv": "P-256", "kid": "ec", "alg": "ES256", "use": "sig"}
    # The published halves are the key files' public keys (read by another library).
    ed = serialization.load_pem_private_key((keydir / "ed.pem").read_bytes(), None)
    raw = ed.public_key().public_bytes(serialization.Encoding.Raw,
                                       serialization.PublicFormat.Raw)
    assert b64d(keys["ed"]["x"]) == raw
    pub = serialization.load_pem_private_key((keydir / "ec.pem").read_bytes(), None) \
        .public_key().public_numbers()
    assert int.from_bytes(b64d(keys["ec"]["x"]), "big") == pub.x
    assert int.from_bytes(b64d(keys["ec"]["y"]), "big") == pub.y
    expect(Browser(srv).request("HEAD", "/jwks"), C.OK)
    for method in ("POST", "PUT", "OPTIONS"):
        r = expect(Browser(srv).request(method, "/jwks"), C.BAD_METHOD)
        assert allowed(r) == {"GET", "HEAD"}, (method, r.headers.get("Allow"))


def test_default_audience_is_the_issuer(srv):
    token = token_for(srv, "plain@example.com", "/plain/x")
    claims = pyjwt_verify(srv, token, audience=srv.base)
    assert claims["aud"] == srv.base and "groups" not in claims
    assert jose_one(srv, token, audience=srv.base)["ok"]


# ---------------------------------------------------------------- rejected

def test_rejected_after_exp(srv):
    token = token_for(srv, "short@example.com", "/short/x")      # MagicLinkJWTTTL 1
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] == claims["iat"] + 1 and claims["aud"] == srv.base
    # jose, told the time: valid at iat, expired at exp.
    at_iat, at_exp = jose_verify(srv, [{"token": token, "audience": srv.base,
                                        "now": claims["iat"]},
                                       {"token": token, "audience": srv.base,
                                        "now": claims["exp"]}])
    assert at_iat["ok"], at_iat
    assert not at_exp["ok"] and at_exp["code"] == "ERR_JWT_EXPIRED", at_exp
    # Both at the real time, once it is past exp.
    while time.time() < claims["exp"] + 0.2:
        time.sleep(0.1)
    with pytest.raises(jwt.ExpiredSignatureError):
        pyjwt_verify(srv, token, audience=srv.base)
    got = jose_one(srv, token, audience=srv.base)
    assert not got["ok"] and got["code"] == "ERR_JWT_EXPIRED", got


def test_a_default_token_expires_a_minute_after_it_was_issued(srv):
    token = token_for(srv, "minute@example.com")
    claims = jwt.decode(token, options={"verify_signature": False})
    results = jose_verify(srv, [{"token": token, "now": claims["exp"] - 1},
                                {"token": token, "now": claims["exp"]},
                                {"token": token, "now": claims["nbf"] - 10}])
    assert results[0]["ok"], results
    assert results[1]["code"] == "ERR_JWT_EXPIRED", results
    assert results[2]["code"] == "ERR_JWT_CLAIM_VALIDATION_FAILED", results   # before nbf


def test_rejected_for_another_audience(srv):
    token = token_for(srv, "aud@example.com")
    with pytest.raises(jwt.InvalidAudienceError):
        pyjwt_verify(srv, token, audience="https://other-backend.example")
    got = jose_one(srv, token, audience="https://other-backend.example")
    assert not got["ok"] and got["code"] == "ERR_JWT_CLAIM_VALIDATION_FAILED", got
    assert "aud" in got["message"], got


def test_rotation_then_removal_of_a_key(httpd_factory, echo_backend, keydir):
    """Key a signs; b is added first (a still published: a's tokens still verify, new
    ones are b's); then a is removed: its tokens are rejected, b's accepted."""
    server = httpd_factory("jwt-rotate", ml_httpd.Config(
        server_conf=proxy_conf(echo_backend, keydir, ["a"])))
    old = token_for(server, "rot@example.com")
    assert header_of(old)["kid"] == "a"
    assert pyjwt_verify(server, old)["email"] == "rot@example.com"

    def reconfigure(keys):
        text = server.conf_path.read_text()
        start = text.index("MagicLinkJWTKey")
        end = text.index("<Location /jwks>")
        keylines = "".join(f'MagicLinkJWTKey {k} "{keydir}/{k}.pem"\n' for k in keys)
        server.conf_path.write_text(text[:start] + keylines + text[end:])
        ml_httpd.graceful_restart(server)

    reconfigure(["b", "a"])
    new = token_for(server, "rot@example.com")
    assert header_of(new)["kid"] == "b"
    for t in (old, new):
        assert pyjwt_verify(server, t)["email"] == "rot@example.com"
    assert all(r["ok"] for r in jose_verify(server, [{"token": old}, {"token": new}]))

    reconfigure(["b"])
    assert [k["kid"] for k in Browser(server).get("/jwks").json()["keys"]] == ["b"]
    with pytest.raises(jwt.PyJWKClientError):
        pyjwt_verify(server, old)
    gone, kept = jose_verify(server, [{"token": old}, {"token": new}])
    assert not gone["ok"] and gone["code"] == "ERR_JWKS_NO_MATCHING_KEY", gone
    assert kept["ok"], kept


def forged_token(kid="ed", email="admin@example.com"):
    """A well-formed token for someone else, signed with a key the site never had."""
    key = ed25519.Ed25519PrivateKey.generate()
    now = int(time.time())
    return jwt.encode({"iss": "x", "aud": AUD, "sub": email, "email": email, "iat": now,
                       "nbf": now, "exp": now + 60, "jti": "forged"}, key,
                      algorithm="EdDSA", headers={"kid": kid})


FORGED = {
    "canonical": [(HEADER, "FORGED")],
    "lowercase": [(HEADER.lower(), "FORGED")],
    "uppercase": [(HEADER.upper(), "FORGED")],
    "underscores": [(HEADER.replace("-", "_"), "FORGED")],
    "duplicated": [(HEADER, "FORGED"), (HEADER, "FORGED")],
    "mixed": [(HEADER, "FORGED"), (HEADER.lower().replace("-", "_"), "FORGED")],
    "empty": [(HEADER, "")],
}


@pytest.mark.parametrize("variant", sorted(FORGED))
def test_a_forged_header_never_reaches_the_backend(srv, echo_backend, unique_email, variant):
    fake = forged_token()
    extra = [(k, v.replace("FORGED", fake)) for k, v in FORGED[variant]]
    # A signed-in visitor: exactly one header, ours, naming the session's address.
    addr = unique_email()
    status, tokens = backend_tokens(srv, "/app/x", addr, extra=extra)
    assert status == 200 and len(tokens) == 1 and tokens[0] != fake, tokens
    assert pyjwt_verify(srv, tokens[0])["email"] == addr
    # Without a session: refused before the backend.
    before = echo_backend.count()
    for cookie in ([], [("Cookie", f"{C.SESSION_COOKIE}=garbage")]):
        status, _, _ = raw_get(srv, "/app/x", [("Accept", "application/json")] + cookie + extra)
        assert status == C.UNAUTHORIZED
    assert echo_backend.count() == before
    # Where nobody authenticates: stripped, nothing set, session cookie or not.
    for email in (None, addr):
        status, tokens = backend_tokens(srv, "/pub/x", email, extra=extra)
        assert status == 200 and tokens == [], tokens


def test_the_forged_token_itself_is_rejected_by_both_libraries(srv):
    fake = forged_token()
    with pytest.raises(jwt.InvalidSignatureError):
        pyjwt_verify(srv, fake)
    got = jose_one(srv, fake)
    assert not got["ok"] and got["code"] in ("ERR_JWS_SIGNATURE_VERIFICATION_FAILED",
                                             "ERR_JWT_CLAIM_VALIDATION_FAILED"), got


# ---------------------------------------------------------------- identities and locations

def test_tokens_never_cross_identities_or_locations(srv):
    """Many visitors interleaved on two locations (the per-thread token cache keys on
    identity and location): every token names its own visitor and location."""
    users = [f"mix{i}@example.com" for i in range(6)]
    cookies = {u: mint(srv, u) for u in users}
    for rnd in range(3):
        for u in users:
            for path, aud in (("/app/x", AUD), ("/plain/x", srv.base)):
                status, tokens = backend_tokens(srv, path, cookie=cookies[u])
                assert status == 200 and len(tokens) == 1
                claims = jwt.decode(tokens[0], options={"verify_signature": False})
                assert (claims["email"], claims["aud"]) == (u, aud), (rnd, u, path, claims)
                assert ("groups" in claims) == (path == "/app/x")
    assert pyjwt_verify(srv, tokens[0], audience=srv.base)["email"] == users[-1]


# ---------------------------------------------------------------- groups

def test_groups_claim_lists_the_members_groups_in_file_order_once(srv):
    claims = pyjwt_verify(srv, token_for(srv, "ann@example.com"))
    assert claims["groups"] == ["staff", "admins", '"quoted"']
    assert pyjwt_verify(srv, token_for(srv, "bob@example.com"))["groups"] == ["staff"]
    assert pyjwt_verify(srv, token_for(srv, "dave@example.com"))["groups"] == []


def test_group_file_changes_apply_without_a_restart(srv, keydir):
    (keydir / "groups").write_text(GROUPS + "late: erin@example.com\n")
    try:
        assert pyjwt_verify(srv, token_for(srv, "erin@example.com"))["groups"] == ["late"]
    finally:
        (keydir / "groups").write_text(GROUPS)


def test_an_unreadable_group_file_refuses_rather_than_claiming_no_groups(
        srv, echo_backend, expect_errors):
    expect_errors(r"MAGICLINK-503")
    before = echo_backend.count()
    status, tokens = backend_tokens(srv, "/broken/x", "ann@example.com")
    assert status == 500
    assert echo_backend.count() == before
    assert "MAGICLINK-503" in srv.error_log_text()


# ---------------------------------------------------------------- start-up refusals

def _refused(name, server_conf, must_name, keydir=None):
    srv = ml_httpd.Httpd(name, ml_httpd.Config(server_conf=server_conf))
    try:
        proc = srv.config_test()
        assert proc.returncode != 0, proc.stdout
        assert must_name in proc.stdout, proc.stdout
        return proc.stdout
    finally:
        srv.cleanup()


def test_a_header_without_a_key_refuses_to_start():
    out = _refused("jwt-nokey", f"<Location /app>\n MagicLinkJWTHeader {HEADER}\n</Location>",
                   "MagicLinkJWTHeader")
    assert "MAGICLINK-501" in out and "jwt-keygen" in out


@pytest.mark.parametrize("case", ["mode 644", "missing", "rsa key", "not a key",
                                  "same kid twice"])
def test_bad_keys_refuse_to_start(keydir, case):
    d = Path(tempfile.mkdtemp(prefix="ml-it-badkey-"))
    try:
        path = d / "k.pem"
        if case == "mode 644":
            path.write_text(jwt_key())
            path.chmod(0o644)
        elif case == "rsa key":
            write_secret(path, subprocess.run(
                ["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024"],
                capture_output=True, text=True, timeout=60, check=True).stdout)
        elif case == "not a key":
            write_secret(path, "hello\n")
        elif case != "missing":
            write_secret(path, jwt_key())
        conf = f'MagicLinkJWTKey k "{path}"\n'
        if case == "same kid twice":
            conf += f'MagicLinkJWTKey k "{keydir}/ed.pem"\n'
        out = _refused("jwt-badkey", conf, "MAGICLINK-500")
        assert str(path) in out or "used twice" in out, out
        assert "PRIVATE KEY" not in out
    finally:
        shutil.rmtree(d, ignore_errors=True)


@pytest.mark.parametrize("directive", ["MagicLinkJWTKey bad/kid /x.pem",
                                       "MagicLinkJWTTTL 0", "MagicLinkJWTTTL soon",
                                       "MagicLinkJWTHeader Bad:Name"])
def test_malformed_directives_are_refused(directive):
    name = directive.split()[0]
    _refused("jwt-bad", directive if name == "MagicLinkJWTKey"
             else f"<Location /x>\n{directive}\n</Location>", name)


# ---------------------------------------------------------------- the CLI

@pytest.mark.parametrize("alg, kind", [(None, ed25519.Ed25519PrivateKey),
                                       ("ed25519", ed25519.Ed25519PrivateKey),
                                       ("es256", ec.EllipticCurvePrivateKey)])
def test_jwt_keygen_writes_a_pem_private_key(alg, kind):
    out = ml_httpd.cli("jwt-keygen", *([alg] if alg else [])).stdout
    assert out.startswith("-----BEGIN PRIVATE KEY-----\n")
    key = serialization.load_pem_private_key(out.encode(), None)
    assert isinstance(key, kind)
    if alg == "es256":
        assert key.curve.name == "secp256r1"
    assert out != ml_httpd.cli("jwt-keygen", *([alg] if alg else [])).stdout


def test_jwt_keygen_refuses_other_algorithms():
    proc = ml_httpd.cli("jwt-keygen", "rsa", check=False)
    assert proc.returncode == 1 and proc.stdout == ""
    assert "ed25519 or es256" in proc.stderr
