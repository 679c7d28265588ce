#!/usr/bin/python3
"""A/B two builds of mod_magiclink in one run (for a candidate fix).

    ab_modules.py --a build/mod_magiclink.so --b /tmp/other/build/mod_magiclink.so \
        [--mpm event] [--seconds 4] [--rounds 3] [--links 5000]

Two httpds with the same configuration as `make bench-http` (default MagicLinkCache),
one per module; wrk POST generate on each in turn (A B A B ...), medians and the
per-round ratio B/A; then, on each, LINKS links issued back to back and each used
once (POST verify, in issue order): how many still open (a link is recorded in the
store when issued; an entry the store evicted answers 410). Prints JSON.
"""
import argparse
import copy
import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.dont_write_bytecode = True   # no __pycache__ in the source tree
sys.path.insert(0, str(Path(__file__).resolve().parent))
import run as R   # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--a", type=Path, required=True)
    ap.add_argument("--b", type=Path, required=True)
    ap.add_argument("--build", type=Path, default=R.REPO / "build")
    ap.add_argument("--mpm", default="event")
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--links", type=int, default=5000)
    ap.add_argument("--tmp", default="/dev/shm")
    a = ap.parse_args()
    root = Path(tempfile.mkdtemp(prefix="mlab-", dir=a.tmp))
    root.chmod(0o755)
    servers, out = [], {"a": str(a.a), "b": str(a.b), "mpm": a.mpm}
    try:
        (root / "bin").mkdir()
        base = argparse.Namespace(build=a.build.resolve(), bin={})
        for k, p in (("trivial", a.build / "bench" / "mod_ml_trivial.so"),
                     ("cli", a.build / "magiclink")):
            base.bin[k] = root / "bin" / p.name
            shutil.copy2(p, base.bin[k])
        key = root / "keys"
        key.write_text(R.run([str(base.bin["cli"]), "keygen", "ab"], 30).stdout)
        key.chmod(0o600)
        base.jwt_key = root / "jwt.pem"
        base.jwt_key.write_text(R.run([str(base.bin["cli"]), "jwt-keygen"], 30).stdout)
        base.jwt_key.chmod(0o600)
        htdocs = root / "htdocs"
        (htdocs / "private").mkdir(parents=True)
        (htdocs / "public").mkdir(parents=True)
        htdocs.chmod(0o755)
        srv = {}
        for name, so in (("a", a.a), ("b", a.b)):
            args = copy.deepcopy(base)
            args.bin["module"] = root / "bin" / f"mod_magiclink_{name}.so"
            shutil.copy2(so, args.bin["module"])
            s = R.Httpd(a.mpm, root, args, {}, key, htdocs, name=f"httpd-{name}")
            servers.append(s)
            s.start()
            bind, nonce = s.login()
            srv[name] = (s, {"method": "POST", "ctype": R.FORM, "cookie": bind,
                             "body": s.gen_body(nonce)}, bind, nonce)
            R.wrk(s.port, "/magic/generate", srv[name][1], 1)
            s.clear_mail()
        runs = {"a": [], "b": []}
        for rnd in range(a.rounds):
            for name in ("a", "b"):
                s, spec, _, _ = srv[name]
                r = R.wrk(s.port, "/magic/generate", spec, a.seconds)
                runs[name].append(r)
                R.log(f"round {rnd + 1} {name}: {r['rps']:.0f} req/s p99 {r['p99_ms']} ms"
                      + (f" BAD {r['bad_status']}" if r["bad_status"] else ""))
                s.clear_mail()
        out["generate"] = {n: {"rps": R.median([r["rps"] for r in rs]),
                               "p99_ms": R.median([r["p99_ms"] for r in rs]), "runs": rs}
                           for n, rs in runs.items()}
        out["generate"]["b_over_a"] = R.median(
            [b["rps"] / x["rps"] for x, b in zip(runs["a"], runs["b"])])
        for name in ("a", "b"):
            s, spec, bind, nonce = srv[name]
            path = root / f"links-{name}.txt"
            s.issue_links(bind, nonce, a.links, path, root)
            codes = {}
            for tok in path.read_text().split():
                st, _, _ = R.http_request(s.port, "POST", "/magic/verify/" + tok,
                                          f"csrf_token={nonce}",
                                          {"Content-Type": R.FORM, "Cookie": bind})
                codes[st] = codes.get(st, 0) + 1
            out.setdefault("links", {})[name] = {"issued": a.links, "answers": codes}
            R.log(f"{name}: {a.links} links issued back to back, then used: {codes}")
    finally:
        for s in servers:
            s.stop()
        shutil.rmtree(root, ignore_errors=True)
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
