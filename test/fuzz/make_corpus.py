#!/usr/bin/python3
"""Writes the fuzz seed corpora, test/fuzz/corpus_{open,claims,b64,claims_diff}/.

    make fuzz-corpus          (builds the tools, then runs this)

The output is deterministic (fixed key, times and IVs), so regenerating
changes nothing unless the format or this list changes. corpus_open holds
authentic values sealed with test/keys/test.key (and with fuzz_open.c's aux
key) at ML_FUZZ_T0, whose payloads reach the JSON parser, next to damaged
variants and plain JSON payloads; see fuzz_open.c for how they are used.
"""
import base64
import hashlib
import os
import subprocess
import sys
import tempfile

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
HERE = os.path.dirname(os.path.abspath(__file__))
SEAL_FIXED = os.path.join(BUILD, "interop", "seal_fixed")
TEST_KEY = os.path.join(BUILD, "interop", "test.key")
T0 = 1700000000          # ML_FUZZ_T0; fuzz_open opens at T0 + 600, max age 3600
AUX_KEY = ("aux 0101010101010101010101010101010101010101010101010101010101010101 "
           "0202020202020202020202020202020202020202020202020202020202020202\n")


def iv(n):
    return hashlib.sha256(b"iv%d" % n).hexdigest()[:32]


def seal(payload, key=TEST_KEY, name="magic", at=T0, n=0, raw=False):
    argv = [SEAL_FIXED] + (["--raw"] if raw else []) + [key, name, payload, str(at), iv(n)]
    r = subprocess.run(argv, capture_output=True, check=True)
    return r.stdout.strip()


def b64(raw):
    return base64.urlsafe_b64encode(raw)


def write(corpus, name, data):
    d = os.path.join(HERE, "corpus_" + corpus)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


SEED_JSON = '{"csrf":"pQ8uK3mZ0vY7rT2xW9aB4cD6eF1gH5jL8nS0qU3wX7y","email":"alice@example.com"}'
JSON_SAMPLES = {
    "seed": SEED_JSON,
    "empty": "{}",
    "unicode": '{"name":"名前 Ωμέγα 😀","rtl":"שלום","e":"e\u0301"}',
    "escapes": r'{"q":"say \"hi\"","bs":"C:\\x","ctl":"\u0001\b\f\n\r\t\u001f","html":"\u003c\u003e\u0026<>&"}',
    "surrogates": r'{"pair":"\ud83d\ude00","ls":"\u2028\u2029"}',
    "max_claims": "{" + ",".join('"k%02d":"v%d"' % (i, i) for i in range(32)) + "}",
    "long_value": '{"blob":"%s"}' % ("x" * 2000),
}
BAD_JSON = {
    "noncanonical": '{ "email" : "a@b.c",\n "csrf":"\\u0061" }\n',
    "duplicate": '{"a":"1","a":"2"}',
    "not_string": '{"a":1,"b":true,"c":null,"d":["x"],"e":{"f":"g"}}',
    "array": '["a","b"]',
    "scalar": '"just a string"',
    "null": "null",
    "trailing": '{"a":"b"}{"c":"d"}',
    "nul_escape": '{"a":"x\\u0000y"}',
    "lone_surrogate": '{"a":"\\ud800"}',
    "too_many": "{" + ",".join('"k%02d":"v"' % i for i in range(33)) + "}",
    "truncated": '{"a":"b',
    "deep": "[" * 200 + "]" * 200,
}


def open_corpus():
    n = 0
    for label, js in JSON_SAMPLES.items():
        n += 1
        write("open", "valid-" + label, seal(js, n=n))
    # Non-canonical and non-JSON payloads behind a valid MAC.
    for label, js in BAD_JSON.items():
        n += 1
        write("open", "raw-" + label, seal(js, n=n, raw=True))
    write("open", "raw-empty-payload", seal("", raw=True, n=99))   # IV only: ML_CODEC_DECRYPT
    write("open", "expired", seal(SEED_JSON, at=T0 - 7200, n=100))
    write("open", "at-max-age", seal(SEED_JSON, at=T0 + 600 - 3600, n=101))
    write("open", "future", seal(SEED_JSON, at=T0 + 3600, n=102))
    write("open", "within-skew", seal(SEED_JSON, at=T0 + 800, n=103))
    write("open", "ts-zero", seal(SEED_JSON, at=0, n=104))
    write("open", "other-name", seal(SEED_JSON, name="magiclink_session", n=105))
    write("open", "empty-name", seal(SEED_JSON, name="", n=106))
    with tempfile.TemporaryDirectory() as d:
        aux = os.path.join(d, "aux.key")
        with open(aux, "w") as f:
            f.write(AUX_KEY)
        os.chmod(aux, 0o600)
        write("open", "valid-aux-key", seal(SEED_JSON, key=aux, n=107))
    # The largest payload under the 4096-byte limit, and one just over.
    write("open", "long-near-limit", seal('{"v":"%s"}' % ("y" * 2246), n=108))

    good = seal(SEED_JSON, n=1)
    raw = base64.urlsafe_b64decode(good)
    bar1 = raw.index(b"|")
    bar2 = raw.index(b"|", bar1 + 1)
    for label, pos in [("ts", 0), ("bar1", bar1), ("inner", bar1 + 5), ("bar2", bar2),
                       ("mac", len(raw) - 1)]:
        t = bytearray(raw)
        t[pos] ^= 1
        write("open", "flip-" + label, b64(bytes(t)))
    write("open", "no-mac", b64(raw[:bar2]))
    write("open", "short-mac", b64(raw[:-1]))
    write("open", "truncated-1", good[:-1])
    write("open", "truncated-half", good[: len(good) // 2])
    write("open", "no-padding", good.rstrip(b"="))
    write("open", "std-alphabet", good.replace(b"-", b"+").replace(b"_", b"/"))
    write("open", "over-limit", b"QUFB" * 1030)
    write("open", "garbage-bars", b64(b"||"))
    write("open", "garbage-ts", b64(b"17e9|QUFB|" + bytes(32)))
    write("open", "empty", b"")
    # Plain payloads, for the seal-then-open half of fuzz_open.
    for label, js in list(JSON_SAMPLES.items())[:3] + list(BAD_JSON.items())[:3]:
        write("open", "payload-" + label, js)


def claims_corpus():
    for label, js in {**JSON_SAMPLES, **BAD_JSON}.items():
        write("claims", label, js)
    write("claims", "canonical", SEED_JSON + "\n")
    # Writer seeds: key NUL value NUL ... with bytes the writer must escape
    # or refuse.
    write("claims", "w-escapes", b'k\0<a href="x">&</a>\0ctl\0\x01\x1f\x7f\0ls\0\xe2\x80\xa8\xe2\x80\xa9')
    write("claims", "w-invalid-utf8", b"k\0\xc0\xaf\0k2\0\xed\xa0\x80\0k3\0\xf4\x90\x80\x80\0k4\0\xff")
    write("claims", "w-truncated-utf8", b"k\0\xe2\x80")
    write("claims", "w-4byte", "k\0😀\0名\0前".encode())


# For the reader against jansson: edges of each rule, on both sides of it.
DIFF_JSON = {
    "ws": ' \t\r\n{ \t\r\n"a" \t\r\n: \t\r\n"b" \t\r\n} \t\r\n',
    "ws-formfeed": '\f{}',
    "all-escapes": r'{"k":"\"\\\/\b\f\n\r\t\u00e9\u00E9\u20ac\uD83D\uDE00\uDBFF\uDFFF"}',
    "escaped-key": r'{"\u0061":"1","b":"2"}',
    "dup-by-escape": r'{"a":"1","\u0061":"2"}',
    "bad-escape": r'{"k":"\x"}',
    "short-u": r'{"k":"\u12"}',
    "lone-low": r'{"k":"\udc00"}',
    "high-then-high": r'{"k":"\ud800\ud800"}',
    "nul-key": r'{"\u0000":"v"}',
    "trailing-comma": '{"a":"b",}',
    "number": '{"a":-1.5e3}',
    "true": '{"a":true}',
    "empty-key": '{"":""}',
}
DIFF_BYTES = {
    "utf8-valid": '{"k":"\u00e9 \u20ac \U0001f600 \U0010ffff \x7f"}'.encode(),
    "utf8-overlong": b'{"k":"\xc0\xaf\xe0\x80\xaf"}',
    "utf8-surrogate": b'{"k":"\xed\xa0\x80"}',
    "utf8-too-big": b'{"k":"\xf4\x90\x80\x80"}',
    "utf8-cut": b'{"k":"\xe2\x82',
    "utf8-stray": b'{"\x80":"v"}',
    "raw-nul": b'{"k":"a\x00"}',
    "raw-ctl": b'{"k":"\x1f"}',
    "nul-after": b'{}\x00',
}


def claims_diff_corpus():
    for label, js in {**JSON_SAMPLES, **BAD_JSON, **DIFF_JSON}.items():
        write("claims_diff", label, js)
    for label, data in DIFF_BYTES.items():
        write("claims_diff", label, data)


def b64_corpus():
    samples = {
        "empty": b"", "one": b"QQ==", "two": b"QUI=", "three": b"QUJD",
        "urlsafe": b"-_-_", "std-chars": b"+/+/", "pad-middle": b"QQ==QUJD",
        "noncanonical-1": b"QR==", "noncanonical-2": b"QUJ=", "bad-len": b"QUJ",
        "triple-pad": b"Q===", "newline": b"QUJD\nQUJD", "nul": b"QU\0D",
        "value": b"MTcwMDAwMDAwMHxBQUVDQXdRRkJnY0lDUW9MREEwT0Q5SnppYlhMUFF1aENYNXdkclFqSFhT",
    }
    for label, data in samples.items():
        write("b64", label, data)


if __name__ == "__main__":
    for tool in (SEAL_FIXED, TEST_KEY):
        if not os.path.exists(tool):
            sys.exit(f"make_corpus: {tool} missing (make {tool})")
    open_corpus()
    claims_corpus()
    b64_corpus()
    claims_diff_corpus()
