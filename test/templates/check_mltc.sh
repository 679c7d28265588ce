#!/bin/sh
# Checks mltc itself: usage: check_mltc.sh MLTC DIR
#  DIR/bad/NAME.tpl   must fail: exit status 1, and stderr must hold
#                     "DIR/bad/FILE:LINE:COL: error: " and the message that
#                     NAME.expect gives as "FILE:LINE:COL: message" (_*.tpl
#                     are helpers, such as layouts, not cases);
#  DIR/good/NAME.tpl  must compile, and each line of NAME.expect must be a
#                     line of the generated C (leading spaces and trailing
#                     comments ignored);
#  DIR/po/...         catalogs: bad ones fail, warnings fall back to English,
#                     overrides apply (see below);
#  DIR/lines/         a page in its layout: each line of text is one literal,
#                     in a constant named after its template, and each write's
#                     comment names the file:line its text starts on;
#  po/*.po            the shipped catalogs: complete, no warning, valid for msgfmt;
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

# Text greppable in the C: a template's line (however long) is one literal;
# a constant is named after the template its text starts in, and each write
# says where that is (the page's own text after a value is the page's).
lines=$dir/lines
rm -f "$tmp"/ml_templates.*
if "$mltc" -o "$tmp" "$lines/layout.tpl" "$lines/page.tpl" >"$tmp/err" 2>&1; then
    ok=1
    for want in \
        '    "body{margin:0;font:16px/1.5 system-ui,sans-serif;color:#1b1f24;background:#f6f8fa;text-align:start;padding:0 1rem}\n"' \
        '    "<p>A page line longer than a hundred columns is one literal in the C, never cut in the middle of a word.</p>\n"' \
        'static const char ml_tpl_page_s0[] =' \
        "    ML_W(out->put_static(out, ml_tpl_layout_s0, sizeof(ml_tpl_layout_s0) - 1));  /* $lines/layout.tpl:3 */" \
        "    ML_W(out->put_static(out, ml_tpl_layout_s1, sizeof(ml_tpl_layout_s1) - 1));  /* $lines/layout.tpl:7 */" \
        "    ML_W(out->put_static(out, ml_tpl_page_s0, sizeof(ml_tpl_page_s0) - 1));  /* $lines/page.tpl:5 */"; do
        grep -qxF -- "$want" "$tmp/ml_templates.c" || { fail "lines: generated C lacks: $want"; ok=0; }
    done
    [ $ok -eq 1 ] && passed=$((passed + 1))
else
    fail "lines: did not compile: $(cat "$tmp/err")"
fi

# Message catalogs (mltc_po.c, mltc_msg.c), against po/_messages.pot and the
# page po/_page.tpl: po/bad/NAME.po must fail like a bad template;
# po/warn/NAME.po must compile with exactly the warning NAME.expect gives and
# the English text in the place of the message it names.
po=$dir/po
check_fails() {    # CASE EXPECT-FILE DIR-OF-LOCATION KIND ARGS...
    case_=$1 expect_file=$2 locdir=$3 kind=$4
    shift 4
    expect=$(cat "$expect_file")
    loc=${expect%%: *}
    msg=${expect#*: }
    rm -f "$tmp"/ml_templates.*
    "$mltc" -o "$tmp" "$@" >"$tmp/err" 2>&1
    status=$?
    if [ "$kind" = error ] && [ "$status" -ne 1 ]; then
        fail "$case_: exit status $status, expected 1: $(cat "$tmp/err")"
    elif [ "$kind" = warning ] && [ "$status" -ne 0 ]; then
        fail "$case_: exit status $status, expected 0: $(cat "$tmp/err")"
    elif ! grep -qF -- "$locdir/$loc: $kind: " "$tmp/err"; then
        fail "$case_: expected location $locdir/$loc, got: $(cat "$tmp/err")"
    elif ! grep -qF -- "$msg" "$tmp/err"; then
        fail "$case_: expected message '$msg', got: $(cat "$tmp/err")"
    elif [ "$(wc -l <"$tmp/err")" -ne 1 ]; then
        fail "$case_: expected one line on stderr, got: $(cat "$tmp/err")"
    elif [ "$kind" = error ] && ls "$tmp"/ml_templates.* >/dev/null 2>&1; then
        fail "$case_: failed but wrote output"
    elif [ "$kind" = warning ] && ! [ -s "$tmp/ml_templates.c" ]; then
        fail "$case_: warned but wrote nothing"
    else
        passed=$((passed + 1))
        return 0
    fi
    return 1
}
for f in "$po"/bad/*.po; do
    name=$(basename "$f" .po)
    check_fails "po/$name" "$po/bad/$name.expect" "$po/bad" error "$po/_messages.pot" "$f" "$po/_page.tpl"
done
for f in "$po"/warn/*.po; do
    name=$(basename "$f" .po)
    check_fails "po/$name" "$po/warn/$name.expect" "$po/warn" warning "$po/_messages.pot" "$f" \
        "$po/_page.tpl" || continue
    # the message warned about is English in xx ("title"), or kept ("unknown")
    want='<p title=\"Hello\">Hallo '
    [ "$name" = unknown ] && want='<p title=\"Hallo\">Hallo '
    grep -qF -- "$want" "$tmp/ml_templates.c" || fail "po/$name: no '$want' in the C"
done
for f in "$po"/tpl/*.tpl; do
    name=$(basename "$f" .tpl)
    check_fails "po/tpl/$name" "$po/tpl/$name.expect" "$po/tpl" error "$po/_messages.pot" \
        "$po/xx.po" "$f"
done
# A good catalog: each line of xx.expect is a line of the C.
rm -f "$tmp"/ml_templates.*
if "$mltc" -o "$tmp" "$po/_messages.pot" "$po/xx.po" "$po/_page.tpl" >"$tmp/err" 2>&1 \
    && [ ! -s "$tmp/err" ]; then
    sed -e 's/^ *//' -e 's|  /\*.*\*/$||' "$tmp/ml_templates.c" "$tmp/ml_templates.h" >"$tmp/gen"
    ok=1
    while IFS= read -r line; do
        grep -qxF -- "$line" "$tmp/gen" || { fail "po/xx: generated C lacks: $line"; ok=0; }
    done <"$po/xx.expect"
    [ $ok -eq 1 ] && passed=$((passed + 1))
else
    fail "po/xx: $(cat "$tmp/err")"
fi
# Overrides (-O): one message of xx, and English itself; a language without
# a catalog is refused.
rm -f "$tmp"/ml_templates.*
"$mltc" -o "$tmp" "$po/_messages.pot" "$po/xx.po" -O "$po/override.po" -O "$po/override_en.po" \
    "$po/_page.tpl" >"$tmp/err" 2>&1
if [ $? -eq 0 ] && [ ! -s "$tmp/err" ] && grep -qF '"<title>Servus</title>\n"' "$tmp/ml_templates.c" \
    && grep -qF '", willkommen bei <strong>";' "$tmp/ml_templates.c" \
    && grep -qF '"<title>Howdy</title>\n"' "$tmp/ml_templates.c"; then
    passed=$((passed + 1))
else
    fail "po/override: $(cat "$tmp/err")"
fi
"$mltc" "$po/_messages.pot" -O "$po/override.po" "$po/_page.tpl" >"$tmp/err" 2>&1
[ $? -eq 1 ] && grep -qF "override.po:1:1: error: an override for language 'xx', which has no catalog" \
    "$tmp/err" && passed=$((passed + 1)) || fail "po/override without a catalog: $(cat "$tmp/err")"
# -Werror: a warning fails the run and writes nothing.
rm -f "$tmp"/ml_templates.*
"$mltc" -Werror -o "$tmp" "$po/_messages.pot" "$po/warn/untranslated.po" "$po/_page.tpl" \
    >"$tmp/err" 2>&1
[ $? -eq 1 ] && ! ls "$tmp"/ml_templates.* >/dev/null 2>&1 && passed=$((passed + 1)) \
    || fail "-Werror: expected exit status 1 and no output: $(cat "$tmp/err")"

# The shipped catalogs: every message translated, every placeholder in place
# (mltc -Werror: a warning is an error), and well-formed for gettext's own
# tools (msgfmt --check; msgcmp: every message of the .pot translated).
top=$(cd "$dir/../.." && pwd)
mkdir -p "$tmp/shipped"
if "$mltc" -Werror -o "$tmp/shipped" "$top"/po/messages.pot "$top"/po/*.po "$top"/templates/*.tpl \
    >"$tmp/err" 2>&1 && [ ! -s "$tmp/err" ]; then
    passed=$((passed + 1))
else
    fail "shipped catalogs: $(cat "$tmp/err")"
fi
# ... and every line of their text with nothing to escape (no {{, quote,
# backslash, '?', or non-ASCII; comments made one {{}} line) can be grepped
# in the C as one literal.
sed -e 's/^ *//' -e 's/;$//' "$tmp/shipped/ml_templates.c" >"$tmp/shipped/lits"
for tpl in "$top"/templates/*.tpl; do
    perl -0777 -pe 's/\{\{!.*?\}\}/{{}}/gs' "$tpl" \
    | LC_ALL=C grep -vE '\{\{|\}\}|["\\?]|[^ -~]|^$' | while IFS= read -r line; do
        grep -qxF -- "\"$line\\n\"" "$tmp/shipped/lits" || echo "$(basename "$tpl"): $line"
    done
done >"$tmp/missing"
[ ! -s "$tmp/missing" ] && passed=$((passed + 1)) \
    || fail "shipped templates: lines not one literal in the C: $(cat "$tmp/missing")"
if command -v msgfmt >/dev/null 2>&1; then
    for f in "$top"/po/*.po "$top"/po/messages.pot; do
        if msgfmt --check -o /dev/null "$f" >"$tmp/err" 2>&1 && [ ! -s "$tmp/err" ]; then
            passed=$((passed + 1))
        else
            fail "msgfmt --check $(basename "$f"): $(cat "$tmp/err")"
        fi
    done
    for f in "$top"/po/*.po; do
        msgcmp "$f" "$top/po/messages.pot" >"$tmp/err" 2>&1 && passed=$((passed + 1)) \
            || fail "msgcmp $(basename "$f"): $(cat "$tmp/err")"
    done
fi

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
