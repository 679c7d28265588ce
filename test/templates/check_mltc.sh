#!/bin/sh
# Checks mltc itself: usage: check_mltc.sh MLTC DIR
#  DIR/bad/NAME.tpl   must fail: exit status 1, and stderr must hold
#                     "DIR/bad/FILE:LINE:COL: error: " and the message that
#                     NAME.expect gives as "FILE:LINE:COL: message" (_*.tpl
#                     are helpers, such as layouts, not cases);
#  DIR/good/NAME.tpl  must compile, and each line of NAME.expect must be a
#                     line of the generated C (leading spaces and trailing
#                     comments ignored);
#  templates/*.tpl    cut short anywhere: compile or fail cleanly.
set -u
mltc=$1
dir=$2
passed=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "FAIL $1"
    failed=$((failed + 1))
}

for tpl in "$dir"/bad/*.tpl; do
    name=$(basename "$tpl" .tpl)
    case $name in _*) continue ;; esac
    if [ ! -f "$dir/bad/$name.expect" ]; then
        fail "$name: no $name.expect"
        continue
    fi
    expect=$(cat "$dir/bad/$name.expect")
    loc=${expect%%: *}
    msg=${expect#*: }
    rm -f "$tmp"/ml_templates.*
    "$mltc" -o "$tmp" "$tpl" >"$tmp/err" 2>&1
    status=$?
    if [ "$status" -ne 1 ]; then
        fail "$name: exit status $status, expected 1"
    elif ! grep -qF -- "$dir/bad/$loc: error: " "$tmp/err"; then
        fail "$name: expected location $dir/bad/$loc, got: $(cat "$tmp/err")"
    elif ! grep -qF -- "$msg" "$tmp/err"; then
        fail "$name: expected message '$msg', got: $(cat "$tmp/err")"
    elif [ "$(wc -l <"$tmp/err")" -ne 1 ]; then
        fail "$name: expected one line on stderr, got: $(cat "$tmp/err")"
    elif ls "$tmp"/ml_templates.* >/dev/null 2>&1; then
        fail "$name: failed but wrote output"
    else
        passed=$((passed + 1))
    fi
done

for tpl in "$dir"/good/*.tpl; do
    name=$(basename "$tpl" .tpl)
    rm -f "$tmp"/ml_templates.*
    if ! "$mltc" -o "$tmp" "$tpl" >"$tmp/err" 2>&1; then
        fail "$name: did not compile: $(cat "$tmp/err")"
        continue
    fi
    sed -e 's/^ *//' -e 's|  /\*.*\*/$||' "$tmp/ml_templates.c" "$tmp/ml_templates.h" >"$tmp/gen"
    ok=1
    while IFS= read -r line; do
        if ! grep -qxF -- "$line" "$tmp/gen"; then
            fail "$name: generated C lacks: $line"
            ok=0
        fi
    done <"$dir/good/$name.expect"
    [ $ok -eq 1 ] && passed=$((passed + 1))
done

# Every product template cut short at 25 points (mid-tag, mid-UTF-8...):
# compiles or fails cleanly (status 1, one line), never crashes.
tpls=$(cd "$dir/../.." && pwd)/templates
cp "$tpls/layout.tpl" "$tmp/layout.tpl"
for tpl in "$tpls"/*.tpl; do
    size=$(wc -c <"$tpl")
    cut=1
    while [ "$cut" -lt "$size" ]; do
        head -c "$cut" "$tpl" >"$tmp/cut.tpl"
        "$mltc" "$tmp/cut.tpl" >/dev/null 2>"$tmp/err"
        status=$?
        if [ "$status" -gt 1 ] || [ "$(wc -l <"$tmp/err")" -gt 1 ]; then
            fail "$(basename "$tpl") cut at $cut: status $status: $(cat "$tmp/err")"
        else
            passed=$((passed + 1))
        fi
        cut=$((cut + size / 25 + 1))
    done
done

# No arguments, or an unknown option: usage and exit status 2.
"$mltc" >/dev/null 2>&1
[ $? -eq 2 ] && passed=$((passed + 1)) || fail "usage: expected exit status 2"

echo "mltc: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
