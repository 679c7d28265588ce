#!/bin/sh
# bench-tpl: the "sent" page rendered by the compiled C template beside Go's
# html/template and a templ-style Go renderer, in one run; prints a table.
# Figures, not a test. Usage: run.sh BENCH_TPL OUTDIR
set -eu
bench=$1
out=$2
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)

"$bench" "$out/sent.html" >"$out/results.txt"
if command -v go >/dev/null 2>&1; then
    # GOPATH mode, no network; a cache of our own (HOME may be unset in CI).
    GOPATH="$here/go" GO111MODULE=off GOFLAGS= GOCACHE="$out/gocache" \
        go build -o "$out/tplbench" tplbench
    "$out/tplbench" "$out/sent.html" >>"$out/results.txt"
else
    echo "bench-tpl: no go on PATH; C figures only" >&2
fi

awk '
function field(name,   i, kv) {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == name) return kv[2] }
    return ""
}
BEGIN {
    label["c-buf"] = "mltc C, ml_buf sink"
    label["c-brigade"] = "mltc C, APR brigade sink"
    label["c-buf-de"] = "mltc C, ml_buf sink, German"
    label["c-buf-ar"] = "mltc C, ml_buf sink, Arabic"
    label["go-templ"] = "Go templ-style, bytes.Buffer"
    label["go-html-template"] = "Go html/template"
}
{ n++; name[n] = $1; ns[n] = field("ns"); b[n] = field("bytes"); a[n] = field("allocs")
  size[n] = field("size"); same[n] = field("same") }
END {
    printf "\"sent\" page (%d bytes), one render per op into a recycled buffer; ratios to mltc C, ml_buf sink\n", size[1]
    printf "%-30s %9s %8s %10s %10s %11s\n", "renderer", "ns/op", "B/op", "allocs/op", "ns ratio", "same page"
    for (i = 1; i <= n; i++)
        printf "%-30s %9.1f %8.0f %10.1f %9.2fx %11s\n", label[name[i]], ns[i], b[i], a[i],
            ns[i] / ns[1], same[i] != "" ? same[i] : i == 1 ? "reference" : size[i] " B"
}' "$out/results.txt"
