"""The report of test/bench/run.py: results.json, results.md (tables, ratios, the targets
of README.md's Benchmarks section marked PASS/MISS) and the chart reqs.png/.svg (gnuplot)."""
import json
import shutil
import subprocess
from pathlib import Path

ENDPOINTS = ["login", "generate", "verify_get", "verify_post", "protected"]
LABEL = {"login": "GET login", "generate": "POST generate", "verify_get": "GET verify",
         "verify_post": "POST verify (pre-generated tokens)", "protected": "protected page"}
SHORT = {"login": "GET login", "generate": "POST generate", "verify_get": "GET verify",
         "verify_post": "POST verify", "protected": "protected page",
         "generate_nomail": "POST generate, no mail delivered"}
PEERS = ["ours", "ceiling", "go-optimized", "go-baseline"]
PEER = {"ours": "mod_magiclink", "ceiling": "ceiling", "go-optimized": "Go optimized",
        "go-baseline": "Go baseline",
        "ours-nomail": "mod_magiclink, no mail delivered (MagicLinkAllow nobody: queued, "
                       "dropped by the deliverers)",
        "ours-jwt": "mod_magiclink with the signed identity header (MagicLinkJWTHeader)",
        "ours-redis": "mod_magiclink on redis (the same httpd, MagicLinkCache redis)",
        "ours-nomail-redis": "mod_magiclink on redis, no mail delivered"}
# The rows on redis beside their LMDB twins (report order).
REDIS_ROWS = [("generate", "ours-nomail-redis", "ours-nomail"), ("generate", "ours-redis", "ours"),
              ("verify_post", "ours-redis", "ours"), ("protected", "ours-redis", "ours")]
# Targets now (README, Benchmarks; issue 13): (endpoint, peer, bar) against the ceiling.
TARGETS_NOW = [("protected", "ours", 0.95, "protected page >= 0.95x the same page without auth"),
               ("verify_post", "ours", 0.80, "POST verify >= 0.80x the trivial POST handler"),
               ("generate", "ours-nomail", 0.85,
                "POST generate without mail delivered >= 0.85x the trivial POST handler")]
CEILING = {"login": "trivial handler", "generate": "trivial handler, POST",
           "verify_get": "trivial handler", "verify_post": "trivial handler, POST",
           "protected": "same page, no auth"}
# Which Go benchmark is the per-request heap reference of an endpoint.
GO_HTTP = {"generate": "HTTPGenerate", "verify_get": "HTTPVerify"}
GO_CORE = {"generate": "CoreGenerate", "verify": "CoreVerify", "session": "CoreSession"}


def f0(x):
    return "-" if x is None else f"{x:,.0f}"


def f1(x):
    return "-" if x is None else f"{x:.1f}"


def f2(x):
    return "-" if x is None else f"{x:.2f}"


def f3(x):
    return "-" if x is None else f"{x:.3f}"


def ms(x):
    if x is None:
        return "-"
    return f"{x:.2f}" if x < 10 else f"{x:.1f}" if x < 100 else f"{x:.0f}"


def mib(kb):
    return "-" if not kb else f"{kb / 1024:.1f}"


def verdict(value, threshold, higher=True):
    if value is None:
        return "n/a"
    return "PASS" if (value >= threshold if higher else value <= threshold) else "MISS"


def syscall_diff(sc, ours, ceiling):
    """{call: per-request count in `ours` minus in `ceiling`} for every call that differs by
    0.01 or more, and the difference of the totals."""
    a, b = sc.get(ours), sc.get(ceiling)
    if not (a and b):
        return None, None
    names = set(a["calls"]) | set(b["calls"])
    diff = {n: a["calls"].get(n, 0) - b["calls"].get(n, 0) for n in names}
    return ({n: d for n, d in sorted(diff.items(), key=lambda kv: -abs(kv[1])) if abs(d) >= 0.01},
            a["total"] - b["total"])


def targets_now(r):
    """The targets of now (README, Benchmarks; issue 13), each a ratio taken in one run."""
    out = []
    for mpm, m in r.get("matrix", {}).items():
        for ep, peer, bar, text in TARGETS_NOW:
            d = m.get(ep, {})
            if peer not in d:
                continue
            ratio = d.get("vs_ceiling", {}).get(peer)
            out.append({"target": f"{text}, {mpm} MPM",
                        "measured": f"{f3(ratio)}x ({f0(d[peer]['rps'])} vs "
                                    f"{f0(d['ceiling']['rps'])} req/s)",
                        "result": verdict(ratio, bar)})
        for ep, peer, twin in REDIS_ROWS:
            d = m.get(ep, {})
            if peer not in d:
                continue
            bar = next((b for e, p, b, _ in TARGETS_NOW if e == ep and p == twin), None)
            ratio = d.get("vs_ceiling", {}).get(peer)
            out.append({"target": f"{SHORT[ep]}{' (no mail)' if 'nomail' in peer else ''} on "
                                  f"redis vs its ceiling, {mpm} MPM (no target"
                                  + (f"; the LMDB bar, {bar}x" if bar else "") + ")",
                        "measured": f"{f3(ratio)}x ({f0(d[peer]['rps'])} vs "
                                    f"{f0(d['ceiling']['rps'])} req/s); redis / LMDB "
                                    f"{f3(d.get('redis_vs_lmdb', {}).get(peer))}x",
                        "result": verdict(ratio, bar).lower() if bar else "-"})
    c = r.get("core", {}).get("session")
    if c and "heap_calls_per_op" in c:
        out.append({"target": "session open (ml_session_open, bench_core) with 0 heap calls",
                    "measured": f"{c['heap_calls_per_op']:.3f} heap calls, "
                                f"{c['heap_bytes_per_op']:.0f} B per op ({f0(c['ns_per_op'])} ns)",
                        "result": "PASS" if c["heap_calls_per_op"] == 0 else "MISS"})
    sc = r.get("syscalls", {}).get("per_request", {})
    for ours, label in (("protected/ours", "LMDB"), ("protected/ours, redis", "redis")):
        diff, total = syscall_diff(sc, ours, "protected/ceiling")
        if diff is None:
            continue
        d = sc[ours]
        extra = ", ".join(f"{n} {v:+.2f}" for n, v in diff.items()) or "none"
        mod = ", ".join(f"{n} {v:.2f}" for n, v in d.get("module_calls", {}).items()) or "none"
        ok = d.get("module_total") == 0
        out.append({"target": f"no system call for a gated request's checks ({label}; "
                              "httpd -X under strace)",
                    "measured": f"made from within mod_magiclink (strace -k, "
                                f"{d.get('module_n')} requests): {f2(d.get('module_total'))} "
                                f"per request ({mod}); all calls {d['total']:.2f} vs "
                                f"{sc['protected/ceiling']['total']:.2f} for the same page "
                                f"without auth ({total:+.2f}; calls that differ by 0.01 or "
                                f"more: {extra})",
                    "result": ("PASS" if ok else "MISS") if label == "LMDB"
                    else ("pass" if ok else "miss (no target)")})
    return out


def targets(r):
    """The targets of the first turn (before issue 13), each as measured here."""
    out = []
    mx = r.get("matrix", {})
    best = r.get("best_mpm")
    for mpm, m in mx.items():
        for ep, info in (("generate", " (mail delivered)"), ("verify_get", ""),
                         ("login", " (no target; same bar, for reference)")):
            if ep not in m:
                continue
            ratio = m[ep]["ratios"].get("ceiling")
            out.append({"target": f"{SHORT[ep]} >= 0.85x {CEILING[ep]}, {mpm} MPM{info}",
                        "measured": f"{f3(ratio)}x ({f0(m[ep]['ours']['rps'])} vs "
                                    f"{f0(m[ep]['ceiling']['rps'])} req/s)",
                        "result": verdict(ratio, 0.85) if "no target" not in info else
                        verdict(ratio, 0.85).lower()})
        jwt = m.get("protected", {}).get("ratios", {}).get("ours-jwt")
        if jwt:
            out.append({"target": f"protected page with the identity header >= 0.95x without "
                                  f"it, {mpm} MPM (signing costs no more than noise)",
                        "measured": f"{f3(1 / jwt)}x ({f0(m['protected']['ours-jwt']['rps'])} "
                                    f"vs {f0(m['protected']['ours']['rps'])} req/s)",
                        "result": verdict(1 / jwt, 0.95)})
        if mpm == best and "go-optimized" in m.get("protected", {}):
            for ep, info in (("generate", ""), ("verify_get", ""), ("protected", ""),
                             ("login", " (no target)"), ("verify_post", "")):
                if ep not in m:
                    continue
                ratio = m[ep]["ratios"].get("go-optimized")
                out.append({"target": f"{SHORT[ep]} >= 1.0x Go optimized, {mpm} MPM "
                                      f"(fastest here){info}",
                            "measured": f"{f3(ratio)}x ({f0(m[ep]['ours']['rps'])} vs "
                                        f"{f0(m[ep]['go-optimized']['rps'])} req/s)",
                            "result": verdict(ratio, 1.0) if "no target" not in info else
                            verdict(ratio, 1.0).lower()})
    core, go = r.get("core", {}), r.get("go", {}).get("bench", {})
    for case, gname in GO_CORE.items():
        c, g = core.get(case), go.get(gname, {}).get("optimized")
        if c and g:
            ratio = g["ns_per_op"] / c["ns_per_op"]
            out.append({"target": f"core {case}: at most 1/5 of Go optimized ns/op",
                        "measured": f"C {f0(c['ns_per_op'])} ns vs Go {f0(g['ns_per_op'])} ns: "
                                    f"Go/C = {f1(ratio)}x",
                        "result": verdict(ratio, 5.0)})
    heap = r.get("heap_httpd", {}).get("per_request", {})
    for ep, gname in GO_HTTP.items():
        g = go.get(gname, {}).get("optimized")
        ours, ceil = heap.get(f"{ep}/ours"), heap.get("generate/ceiling")
        if not (g and ours):
            continue
        mod_b = ours["bytes_per_req"] - (ceil["bytes_per_req"] if ceil else 0)
        mod_c = ours["calls_per_req"] - (ceil["calls_per_req"] if ceil else 0)
        out.append({"target": f"{SHORT[ep]}: heap per request <= 1/10 of Go optimized B/op",
                    "measured": f"module {f0(mod_b)} B (httpd total {f0(ours['bytes_per_req'])}) "
                                f"vs Go {f0(g['bytes_per_op'])} B/op: limit {f0(g['bytes_per_op'] / 10)}",
                    "result": verdict(mod_b, g["bytes_per_op"] / 10, higher=False)})
        out.append({"target": f"{SHORT[ep]}: heap calls per request <= 1/3 of Go optimized allocs/op",
                    "measured": f"module {f1(mod_c)} (httpd total {f1(ours['calls_per_req'])}) "
                                f"vs Go {g['allocs_per_op']}: limit {f1(g['allocs_per_op'] / 3)}",
                    "result": verdict(mod_c, g["allocs_per_op"] / 3, higher=False)})
        out.append({"target": f"{SHORT[ep]}: all heap freed before the request ends",
                    "measured": f"{f2(ours['calls_per_req'])} allocations, "
                                f"{f2(ours['frees_per_req'])} frees per request",
                    "result": "PASS" if abs(ours["calls_per_req"] - ours["frees_per_req"]) < 0.05
                    else "MISS"})
    c, g = core.get("session"), go.get("CoreSession", {}).get("optimized")
    p, pc = heap.get("protected/ours"), heap.get("protected/ceiling")
    if c and g and p:
        mod_b = p["bytes_per_req"] - (pc["bytes_per_req"] if pc else 0)
        mod_c = p["calls_per_req"] - (pc["calls_per_req"] if pc else 0)
        out.append({"target": "protected page: heap per request <= 1/10 of Go optimized B/op "
                              "(Go: session check alone)",
                    "measured": f"module {f0(mod_b)} B vs Go {f0(g['bytes_per_op'])} B/op: "
                                f"limit {f0(g['bytes_per_op'] / 10)}",
                    "result": verdict(mod_b, g["bytes_per_op"] / 10, higher=False)})
        out.append({"target": "protected page: heap calls per request <= 1/3 of Go optimized allocs/op",
                    "measured": f"module {f1(mod_c)} vs Go {g['allocs_per_op']}: "
                                f"limit {f1(g['allocs_per_op'] / 3)}",
                    "result": verdict(mod_c, g["allocs_per_op"] / 3, higher=False)})
    mem = r.get("memory", {})
    if mem.get("points"):
        pts = mem["points"]
        out.append({"target": f"RSS of the children flat over {f0(pts[-1]['requests'])} "
                              f"POST generates ({mem['mpm']} MPM)",
                    "measured": f"{mib(pts[0]['rss_kb'])} -> {mib(pts[1]['rss_kb'])} -> "
                                f"{mib(pts[-1]['rss_kb'])} MiB (after warm-up, first quarter, "
                                f"end; {mem['growth_after_first_chunk_kb']:+,} KiB over the last "
                                f"150k; same children: {mem['same_children']})",
                    "result": "PASS" if mem["flat"] else "MISS"})
    return out


def matrix_table(mpm, m, meta):
    lines = [f"### {mpm} MPM",
             "",
             "| endpoint | peer | req/s median (min-max) | p50 ms | p99 ms | server RSS MiB (procs) "
             "| body B | this peer / ceiling | ours / this peer |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for ep in ENDPOINTS:
        if ep not in m:
            continue
        for peer in [p for p in PEERS if p in m[ep]] + \
                [p for p in m[ep] if p not in PEERS and p in PEER]:
            d = m[ep][peer]
            name = PEER[peer] if peer != "ceiling" else f"ceiling: {CEILING[ep]}"
            ratio = "" if peer == "ours" else f"**{f2(m[ep]['ratios'].get(peer))}x**"
            vs = "" if peer == "ceiling" else f"{f2(m[ep].get('vs_ceiling', {}).get(peer))}x"
            flag = ""
            if d["bad_status"] or d["socket_errors"]:
                flag = f" (!{d['bad_status']} bad status, {d['socket_errors']} socket errors)"
            if d.get("outbox_backlog") is not None:
                flag += f" [outbox left {f0(d['outbox_backlog'])}]"
            lines.append(f"| {LABEL[ep] if peer == 'ours' else ''} | {name} | "
                         f"{f0(d['rps'])} ({f0(d['rps_min'])}-{f0(d['rps_max'])}){flag} | "
                         f"{ms(d['p50_ms'])} | {ms(d['p99_ms'])} | {mib(d['rss_kb'])} "
                         f"({d['procs']}) | {d['body_bytes'] or '-'} | {vs} | {ratio} |")
    return lines


def stores_table(mx):
    """The redis rows beside their LMDB twins, every MPM."""
    lines = ["| MPM | endpoint | LMDB req/s | LMDB / ceiling | redis req/s | redis / ceiling | "
             "redis / LMDB | outbox left after the run (LMDB / redis) |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for mpm, m in mx.items():
        for ep, peer, twin in REDIS_ROWS:
            d = m.get(ep, {})
            if peer not in d:
                continue
            vs = d.get("vs_ceiling", {})
            left = ""
            if d[twin].get("outbox_backlog") is not None:
                left = f"{f0(d[twin]['outbox_backlog'])} / {f0(d[peer]['outbox_backlog'])}"
            name = SHORT[ep] + (", no mail" if "nomail" in peer else
                                ", mail delivered" if ep == "generate" else "")
            lines.append(f"| {mpm} | {name} | {f0(d[twin]['rps'])} | {f2(vs.get(twin))}x | "
                         f"{f0(d[peer]['rps'])} | {f2(vs.get(peer))}x | "
                         f"**{f2(d.get('redis_vs_lmdb', {}).get(peer))}x** | {left} |")
    return lines


def write_chart(r, out):
    mx = r.get("matrix", {})
    if not mx or not shutil.which("gnuplot"):
        return None
    meta = r.get("meta", {})
    panels = []
    for old in out.glob("reqs_*.dat"):      # from an earlier run's MPMs
        old.unlink()
    for mpm, m in mx.items():
        dat = out / f"reqs_{mpm}.dat"
        rows = ["# endpoint\tours\tceiling\tgo_optimized\tgo_baseline"]
        for ep in ENDPOINTS:
            if ep in m:
                rows.append(f'"{SHORT[ep]}"\t' + "\t".join(
                    f"{m[ep][p]['rps']:.0f}" for p in PEERS))
        dat.write_text("\n".join(rows) + "\n")
        panels.append((mpm, dat))
    gp = out / "reqs.gp"
    title = (f"wrk -t2 -c50 keep-alive, {meta.get('seconds')} s runs, median of "
             f"{meta.get('rounds')} rounds (ABAB)")
    body = []
    for mpm, dat in panels:
        best = " (fastest here)" if mpm == r.get("best_mpm") and mpm != "event" else ""
        body += [f'set title "{mpm} MPM{best} — {title}"',
                 f"plot '{dat}' using 2:xtic(1) title 'mod\\_magiclink', "
                 "'' using 3 title 'ceiling (trivial handler / page without auth)', "
                 "'' using 4 title 'Go optimized', '' using 5 title 'Go baseline'"]
    common = ["set datafile separator '\\t'", "set style data histograms",
              "set style histogram clustered gap 1", "set style fill solid 0.85 border -1",
              "set boxwidth 0.9", "set ylabel 'requests/s'", "set grid ytics",
              "set yrange [0:*]", "set key outside bottom center horizontal",
              "set format y '%.0f'"]
    n = len(panels)
    script = []
    for term, ext in (("pngcairo size 1100,%d font 'sans,10'" % (430 * n), "png"),
                      ("svg size 1100,%d font 'sans,10'" % (430 * n), "svg")):
        script += [f"set terminal {term}", f"set output '{out / ('reqs.' + ext)}'",
                   f"set multiplot layout {n},1", *common, *body, "unset multiplot",
                   "set output"]
    gp.write_text("\n".join(script) + "\n")
    p = subprocess.run(["gnuplot", str(gp)], capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        return p.stderr
    return None


def write_report(r, out, name="results"):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(r, indent=1, sort_keys=True) + "\n")
    meta = r.get("meta", {})
    L = ["# mod_magiclink benchmarks", ""]
    L.append(f"Made by `{meta.get('command', 'make bench-http')}` on {meta.get('date', '?')}, "
             f"{meta.get('cpus')} CPUs, kernel {meta.get('kernel')}; {meta.get('httpd', '')}; "
             f"{r.get('go', {}).get('version', 'go ?')}; {meta.get('wrk', 'wrk')}. "
             f"Load average (1 min) at start {meta.get('load_at_start')} "
             f"(waited {meta.get('waited_for_quiet_s')} s for < {meta.get('max_load', 0.5)}); "
             f"before each matrix: {meta.get('load_before', {})}; after: "
             f"{meta.get('load_after', {})}. Elapsed {meta.get('elapsed_s', '?')} s.")
    L.append("")
    L.append(f"Load: wrk -t2 -c50 --latency on 127.0.0.1, keep-alive, {meta.get('seconds')} s per "
             f"run, the peers of an endpoint in turn, {meta.get('rounds')} rounds (A B C D A B C D "
             "...); req/s and latencies are medians over the rounds, ratios the median of the "
             "per-round ratios (each pair taken side by side). The client shares the 2 CPUs.")
    L.append("")
    if r.get("error"):
        L += [f"**The run failed: {r['error']}** (figures below are partial)", ""]
    best = r.get("best_mpm")
    now = targets_now(r)
    if now:
        L += ["## Targets now (README, Benchmarks; issue 13)", "",
              "Each a ratio of two rows taken in the same run, round by round (median of the "
              "per-round ratios).", "",
              "| target | measured | result |", "|---|---|---|"]
        for t in now:
            L.append(f"| {t['target']} | {t['measured']} | **{t['result']}** |")
        L.append("")
    L += ["## Targets of the first turn (before issue 13)", "", "| target | measured | result |",
          "|---|---|---|"]
    for t in targets(r):
        L.append(f"| {t['target']} | {t['measured']} | **{t['result']}** |")
    L += ["", "(lower-case pass/miss: rows with no target of their own, shown against the same bar.)", ""]

    sel = r.get("mpm_selection", {})
    if sel.get("by_mpm"):
        L += ["## Which MPM is fastest here", "",
              f"POST generate (ours) and the trivial POST handler in three httpds at once "
              f"(idle but for the one measured), {sel.get('seconds')} s runs, "
              f"{meta.get('rounds')} rounds in turn. Fastest for our generate: **{best}**.", "",
              "| MPM | mod_magiclink req/s | trivial req/s | ours / trivial | p99 ms (ours) | "
              "children RSS MiB (procs) |", "|---|---:|---:|---:|---:|---:|"]
        for mpm, d in sel["by_mpm"].items():
            o, c = d["ours"], d["ceiling"]
            L.append(f"| {mpm} | {f0(o['rps'])} | {f0(c['rps'])} | {f2(o['rps'] / c['rps'])} | "
                     f"{ms(o['p99_ms'])} | {mib(o['rss_kb'])} ({o['procs']}) |")
        L.append("")
    elif best:
        L += [f"MPMs given on the command line; the last ({best}) is taken as the fastest.", ""]

    if r.get("matrix"):
        L += ["## Requests per second", "",
              "Ceiling: for the handler's pages, our trivial content handler in the same httpd "
              "(`test/bench/mod_ml_trivial.c`: a fixed page of the same size as ours, POSTs read "
              "and discard the body); for the protected page, the same static page without "
              "AuthType. 'ours / this peer' is mod_magiclink's req/s over that peer's. RSS: sum "
              "of VmRSS of the httpd children (or of the Go process) after the run.", ""]
        for mpm, m in r["matrix"].items():
            L += matrix_table(mpm, m, meta) + [""]
        if any(p in m.get(ep, {}) for m in r["matrix"].values() for ep, p, _ in REDIS_ROWS):
            L += ["### The state store: LMDB and redis side by side", "",
                  "The same httpd configuration twice, run in turn within each round: "
                  "`MagicLinkCache lmdb:DIR` (the default; a directory of its own on tmpfs) and "
                  "`MagicLinkCache redis:127.0.0.1:PORT` (a redis-server of its own on the same "
                  "2 CPUs, no persistence). 'outbox left': the mails the run queued that the "
                  "deliverers had not yet sent (or dropped) when it ended; they are delivered "
                  "before the next run begins.", ""]
            L += stores_table(r["matrix"]) + [""]
    if r.get("ab"):
        L += [f"### ab -k -c50, one run of {min(meta.get('seconds') or 3, 3)} s per endpoint (mod_magiclink)", "",
              "| MPM | endpoint | req/s | p50 ms | p99 ms | non-2xx |", "|---|---|---:|---:|---:|---:|"]
        for mpm, eps in r["ab"].items():
            for ep, d in eps.items():
                L.append(f"| {mpm} | {SHORT[ep]} | {f0(d['rps'])} | {ms(d['p50_ms'])} | "
                         f"{ms(d['p99_ms'])} | {d['bad_status']} |")
        L += ["", "(POST verify is left out: ab repeats one request, and a link works once.)", ""]

    core, go = r.get("core", {}), r.get("go", {}).get("bench", {})
    if core or go:
        cg = r.get("callgrind", {}).get("ir_per_op", {})
        L += ["## The handler core in-process (no HTTP)", "",
              "C: `bench_core` (test/bench/core/bench_core.c) with the malloc_count shim "
              "preloaded; heap calls and bytes per op are every malloc/calloc/realloc, any "
              "library's included; Ir/op: instructions per op under callgrind (deterministic). Go: "
              "`go test -bench -benchmem` in test/bench/goseed, median of "
              f"{r.get('go', {}).get('bench', {}).get('CoreGenerate', {}).get('optimized', {}).get('samples', '?')} runs.", "",
              "| case | C ns/op | C heap calls/op | C heap B/op | C Ir/op | Go opt ns/op | Go opt B/op | "
              "Go opt allocs/op | Go base ns/op | Go base B/op | Go base allocs/op | Go opt / C |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for case in ("generate", "verify", "session", "mail"):
            c = core.get(case, {})
            g = go.get(GO_CORE.get(case, ""), {})
            go_, gb = g.get("optimized", {}), g.get("baseline", {})
            ratio = (go_["ns_per_op"] / c["ns_per_op"]) if go_ and c else None
            L.append(f"| {case} | {f0(c.get('ns_per_op'))} | {f2(c.get('heap_calls_per_op'))} | "
                     f"{f0(c.get('heap_bytes_per_op'))} | {f0(cg.get(case))} | "
                     f"{f0(go_.get('ns_per_op'))} | {f0(go_.get('bytes_per_op'))} | "
                     f"{f0(go_.get('allocs_per_op'))} | {f0(gb.get('ns_per_op'))} | "
                     f"{f0(gb.get('bytes_per_op'))} | {f0(gb.get('allocs_per_op'))} | "
                     f"{f1(ratio) + 'x' if ratio else '-'} |")
        L += ["",
              "generate = ml_link_issue (id, code, code hash, link and pending sealed) + "
              "ml_tpl_sent into an ml_sink_buf; verify = ml_link_open + ml_tpl_confirm; "
              "session = ml_session_open; mail = both mail templates + ml_mail_compose (work "
              "our generate does that the Go peer does not). The Go cases do the same through "
              "gorilla/securecookie and the peer's pages.", ""]
        for bench in ("HTTPGenerate", "HTTPVerify"):
            g = go.get(bench)
            if g:
                L.append(f"Go through the router (httptest), {bench}: optimized "
                         f"{f0(g['optimized']['ns_per_op'])} ns, {f0(g['optimized']['bytes_per_op'])} B, "
                         f"{g['optimized']['allocs_per_op']} allocs/op; baseline "
                         f"{f0(g['baseline']['ns_per_op'])} ns, {f0(g['baseline']['bytes_per_op'])} B, "
                         f"{g['baseline']['allocs_per_op']} allocs/op.")
        if core.get("verify") and core.get("generate"):
            L += ["", "Claims: the verify and session cases parse the claims with our own reader "
                  "(ml_claims_from_json), which takes its memory from the request pool only "
                  f"(heap calls per op: verify {f2(core['verify'].get('heap_calls_per_op'))}, "
                  f"session {f2(core['session'].get('heap_calls_per_op'))}); sealing writes "
                  "JSON into a recycled buffer. Whatever heap is used is freed within "
                  "the op (live bytes after 20,000 ops: "
                  + ", ".join(f"{k} {v.get('live_delta_bytes')}" for k, v in core.items()) + ")."]
        L.append("")

    heap = r.get("heap_httpd", {}).get("per_request", {})
    if heap:
        L += ["## Heap per request inside httpd", "",
              f"httpd -X ({r['heap_httpd'].get('mpm')} MPM, one process) with the malloc_count shim "
              "preloaded; two runs of N1 and N2 requests (ab -k -c8), the difference of the "
              "counters at exit over N2 - N1: every heap call of the process per request "
              "(httpd's own, APR's, OpenSSL's, jansson's, ours); the trivial handler's row is "
              "httpd's own share.", "",
              "| endpoint / handler | heap calls / req | heap bytes / req | frees / req |",
              "|---|---:|---:|---:|"]
        for k, d in heap.items():
            L.append(f"| {k} | {f2(d['calls_per_req'])} | {f0(d['bytes_per_req'])} | "
                     f"{f2(d['frees_per_req'])} |")
        L.append("")

    sc = r.get("syscalls", {}).get("per_request", {})
    if sc:
        ceilings = {"generate": "generate/ceiling", "verify_post": "verify_post/ceiling",
                    "protected": "protected/ceiling"}
        L += ["## System calls per request inside httpd", "",
              f"httpd -X ({r['syscalls'].get('mpm')} MPM, one process) under `strace -f -yy`, "
              f"{next(iter(sc.values()))['n']} requests one after another on a keep-alive "
              "connection after a warm-up (a session signed in just before the protected "
              "rows, a fresh link for each POST verify). Counted: every call between the "
              "first request and the last answer of the threads that served the requests "
              "(they touched the server's port), over the request count; detail: calls made "
              "at least once in a hundred requests. The other threads (the mail deliverers, "
              "idle workers) are background, apart. 'vs ceiling': each call's count minus the "
              "ceiling row's. 'From within mod_magiclink': a second pass of "
              f"{next(iter(sc.values())).get('module_n')} requests under `strace -k`, the calls "
              "of the serving threads whose stack holds mod_magiclink.so (its code, or LMDB, "
              "hiredis, OpenSSL called from it).", "",
              "| endpoint / handler | calls / req | the calls (per request) | vs ceiling | "
              "from within mod_magiclink / req | background / req (threads): calls |",
              "|---|---:|---|---|---|---|"]
        for k, d in sc.items():
            detail = ", ".join(f"{name} {f2(v)}" for name, v in d["calls"].items() if v >= 0.01)
            ceil = ceilings.get(k.split("/")[0])
            vs = ""
            if ceil and ceil != k and not k.endswith("ceiling"):
                diff, total = syscall_diff(sc, k, ceil)
                vs = (f"{total:+.2f}: " + (", ".join(f"{n} {v:+.2f}" for n, v in diff.items())
                                            or "no call differs"))
            bg = ", ".join(f"{n} {v}" for n, v in list(d.get("background", {}).items())[:6])
            mod = ""
            if "module_total" in d and not k.endswith("ceiling"):
                mod = f"{f2(d['module_total'])}" + (": " + ", ".join(
                    f"{n} {f2(v)}" for n, v in d["module_calls"].items() if v >= 0.01)
                    if d["module_calls"] else "")
            L.append(f"| {k} | {f2(d['total'])} | {detail} | {vs} | {mod} | "
                     f"{f2(d.get('background_per_req'))} ({d.get('background_threads')}): {bg} |")
        L += ["", "(background: the calls' totals over the requests' window.)", ""]

    mem = r.get("memory", {})
    if mem.get("points"):
        L += [f"## Memory: RSS of the httpd children over {f0(mem['points'][-1]['requests'])} "
              f"POST generates ({mem['mpm']} MPM)", "",
              f"After a warm-up of {f0(mem['warmup_requests'])} requests; ab -k -c50 with a fixed "
              "request count, summed over the children after each quarter once the deliverers "
              "had sent every queued mail. RSS = anonymous (heap, stacks: where a leak shows) "
              "+ file + shmem; the LMDB store's map is a file on tmpfs here, so the pages of it "
              "the children touched count as shmem: they grow with the links alive (each lives "
              "15 minutes), bounded by the map's size, and are not a leak.", "",
              "| requests | RSS MiB | anon MiB | shmem MiB | PSS MiB | children | req/s | "
              "outbox left | control: RSS MiB | control: anon MiB |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        ctl = mem.get("control", {}).get("points", [])
        for i, p in enumerate(mem["points"]):
            c = ctl[i] if i < len(ctl) else {}
            L.append(f"| {f0(p['requests'])} | {mib(p['rss_kb'])} | {mib(p.get('anon_kb'))} | "
                     f"{mib(p.get('shmem_kb'))} | {mib(p['pss_kb'])} | {p['procs']} | "
                     f"{f0(p.get('rps'))} | {f0(p.get('outbox_backlog'))} | "
                     f"{mib(c.get('rss_kb'))} | {mib(c.get('anon_kb'))} |")
        L += ["", f"Anonymous memory {mem.get('anon_growth_after_first_chunk_kb', 0):+,} KiB over "
              f"the last three quarters (RSS {mem['growth_after_first_chunk_kb']:+,} KiB, "
              f"{mem['growth_kb']:+,} KiB from the warm-up; the store's files take "
              f"{f0(mem.get('store_kb'))} KiB of tmpfs at the end); same child processes "
              f"throughout: {mem['same_children']}; non-2xx: {mem['bad_status']}. "
              f"**{'Flat' if mem['flat'] else 'NOT flat'}** (bar: anonymous memory under "
              f"{f0(mem['limit_kb'])} KiB more over the last three quarters, all children "
              "together; a leak of one 32-byte block per request would add 4.6 MiB)."]
        if mem.get("control"):
            c = mem["control"]
            L.append(f"Control, the same requests to the trivial POST handler in a fresh httpd: "
                     f"anonymous {c.get('anon_growth_after_first_chunk_kb', 0):+,} KiB, RSS "
                     f"{c['growth_after_first_chunk_kb']:+,} KiB over the last three quarters.")
        L.append("")

    prof = r.get("profile", {}).get("endpoints", {})
    if prof:
        L += [f"## Where the time goes (perf, {r['profile'].get('mpm')} MPM, httpd children "
              "under wrk)", ""]
        for ep, d in prof.items():
            L.append(f"**{SHORT[ep]}** — by object: " + ", ".join(
                f"{x['dso']} {x['pct']:.1f}%" for x in d.get("dso", [])[:8]))
            L.append("")
            L += ["| self % | object | symbol |", "|---:|---|---|"]
            for t in d.get("top", [])[:15]:
                L.append(f"| {t['pct']:.2f} | {t['dso']} | `{t['sym']}` |")
            L.append("")
            if d.get("inclusive"):
                L.append("Inclusive (with callees; DWARF call graphs), ours and httpd's: " + ", ".join(
                    f"`{x['sym']}` {x['pct']:.1f}%" for x in d["inclusive"][:30]))
                L.append("")
        L.append("Full reports: build/bench/profile_*.txt; core per function: "
                 "build/bench/callgrind_*.txt.")
        L.append("")

    L += ["## What each peer does", "",
          "- **mod_magiclink**: the module as configured for production but for the limits "
          "(MagicLinkRateLimit email, email-total and ip 300000000/3600: the counters are "
          "still kept in the store on every generate) and the store's bounds (`MagicLinkCache "
          "lmdb:DIR size=8G outbox=2000000`, a directory of its own on tmpfs: room for every "
          "link of the run, and an outbox that never refuses while the deliverers catch up). "
          "`generate` stores the link, its counters and the composed mail in one store "
          "transaction and answers; 4 deliverer threads per child (MagicLinkDeliverers) send "
          "the mail from the outbox to a maildir on tmpfs (write, fsync, link, unlink, fsync "
          "of new/) on the same CPUs. LogLevel warn, no access log, no socache module.",
          "- **no mail delivered**: the same handler where no address may sign in: the "
          "request does the same work (the message is queued, marked to be dropped), the "
          "deliverers remove it unsent.",
          "- **on redis**: the same httpd configuration with `MagicLinkCache redis:HOST:PORT "
          "outbox=2000000` (hiredis; one connection per thread), a redis-server of its own "
          "on loopback with no persistence.",
          "- **ceiling**: `mod_ml_trivial` in the same httpd: a fixed page of our page's size as "
          "one immortal bucket; POSTs read the body and discard it. For the protected page, the "
          "same static file without AuthType (httpd's default handler).",
          "- **Go peer** (test/bench/goseed): net/http, gorilla/securecookie (Debian), the same "
          "claims, cookies, CSRF check and pages (built from our rendered templates, so the bytes "
          "match), but no mail, no rate limits, no sign-out check on protected pages, and "
          "address normalization reduced to trim + lowercase. Baseline: gob + html/template; "
          "optimized: pooled JSON + precompiled pages. Baseline tokens are gob, hence longer "
          "pages.",
          "- GET verify never consumes; POST verify consumes a pre-generated link per request "
          "(bench_core --mint / goseed -mint, bound to the client's binding cookie) and answers "
          "303 with a session cookie. The protected page is requested with a session cookie "
          "from a real sign-in, renewed every round (a cookie older than a minute would be "
          "re-sealed on every request). Its checks: the session cookie opened, and the "
          "sign-out times read from the store (LMDB: two reads in the thread's read "
          "transaction; redis: two commands).",
          "- Every httpd: KeepAlive On, MaxKeepAliveRequests 0 (wrk's connections are never "
          "closed, as Go's are not), capacity for the 50 connections from the start "
          "(no forks during a run).", ""]
    (out / f"{name}.md").write_text("\n".join(L) + "\n")
    err = write_chart(r, out) if name == "results" else None
    if err:
        with open(out / f"{name}.md", "a") as f:
            f.write(f"\n(chart failed: {err})\n")
