#!/bin/sh
# `make run`: the demo. Writes a key file and an httpd config under var/,
# then runs httpd in the foreground on 127.0.0.1:8080 with the sign-in
# handler at /magic and a protected page at /private. Links are mailed to
# the maildir var/mail and also printed here as they arrive.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
var="${ML_VAR:-$top/var}"
port="${PORT:-8080}"
module="${ML_MODULE:-$top/build/mod_magiclink.so}"
mods=/usr/lib/apache2/modules

mkdir -p "$var/htdocs/private" "$var/run" "$var/mail"
if [ ! -s "$var/keys" ]; then
    (umask 077 && "$top/build/magiclink" keygen demo > "$var/keys")
fi
chmod 600 "$var/keys"

user=www-data
[ "$(id -u)" -eq 0 ] || user=$(id -un)
group=$(id -gn "$user")

cat > "$var/htdocs/index.html" <<'HTML'
<!doctype html><meta charset="utf-8"><title>mod_magiclink demo</title>
<p>This page is public. <a href="/private/">The private page</a> needs a sign-in.</p>
HTML
# The private page says who you are (server-side includes: REMOTE_USER is
# the signed-in address) and signs out through /magic/logout, the sign-out
# page an application links to (its buttons carry the CSRF token).
cat > "$var/htdocs/private/index.html" <<'HTML'
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Private page — mod_magiclink demo</title>
<style>
:root{color-scheme:light dark;--fg:#1b1f24;--bg:#f6f8fa;--card:#fff;--line:#d0d7de;--accent:#0b5cad;--accent-fg:#fff}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--bg:#0d1117;--card:#161b22;--line:#30363d;--accent:#4493f8;--accent-fg:#0d1117}}
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);background:var(--bg)}
header{padding:1rem 1.5rem;border-bottom:1px solid var(--line);background:var(--card);font-weight:600}
main{max-width:28rem;margin:2.5rem auto;padding:2rem;background:var(--card);border:1px solid var(--line);border-radius:8px;overflow-wrap:anywhere}
h1{font-size:1.5rem;margin:0 0 1rem}
.button{display:inline-block;font-weight:600;padding:.6rem 1.25rem;color:var(--accent-fg);background:var(--accent);border-radius:6px;text-decoration:none}
@media (max-width:30rem){main{margin:1rem;padding:1.25rem}.button{display:block;text-align:center}}
</style>
</head>
<body>
<header>mod_magiclink demo</header>
<main>
<h1>Private page</h1>
<p>You are signed in as <strong><!--#echo var="REMOTE_USER" --></strong>: mod_magiclink let you through.</p>
<p><a class="button" href="/magic/logout">Sign out</a></p>
</main>
</body>
</html>
HTML

cat > "$var/httpd.conf" <<CONF
ServerRoot "$var"
ServerName 127.0.0.1
Listen 127.0.0.1:$port
PidFile $var/run/httpd.pid
DefaultRuntimeDir $var/run
Mutex file:$var/run
ErrorLog /dev/stderr
LogLevel warn magiclink:${ML_LOGLEVEL:-info}
LogFormat "%h %u \"%r\" %>s %b" demo
CustomLog /dev/stdout demo
User $user
Group $group
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule authz_user_module $mods/mod_authz_user.so
LoadModule authz_host_module $mods/mod_authz_host.so
LoadModule authn_core_module $mods/mod_authn_core.so
LoadModule socache_shmcb_module $mods/mod_socache_shmcb.so
LoadModule mime_module $mods/mod_mime.so
LoadModule dir_module $mods/mod_dir.so
LoadModule include_module $mods/mod_include.so
LoadModule magiclink_module $module
TypesConfig /etc/mime.types
DocumentRoot "$var/htdocs"
DirectoryIndex index.html

MagicLinkKeyFile $var/keys
MagicLinkBaseURL http://127.0.0.1:$port
MagicLinkMailer maildir:$var/mail
MagicLinkCache lmdb:$var/state
MagicLinkMailFrom "mod_magiclink demo <login@demo.example>"
MagicLinkSiteName "mod_magiclink demo"
MagicLinkAllow *
MagicLinkCookieSecure Off

<Location /magic>
    SetHandler magiclink
</Location>
<Location /private>
    AuthType MagicLink
    AuthName "demo"
    Require valid-user
</Location>
<Directory "$var/htdocs/private">
    Options +IncludesNOEXEC
    AddOutputFilter INCLUDES .html
</Directory>
<Location /magiclink-metrics>
    SetHandler magiclink-metrics
    Require ip 127.0.0.1
</Location>
CONF
chown -R "$user:$group" "$var/mail" 2>/dev/null || true

# Print each new link as its mail lands.
(
    seen=""
    for f in "$var"/mail/new/*; do seen="$seen $f"; done   # only mail from now on
    while sleep 1; do
        for f in "$var"/mail/new/*; do
            [ -f "$f" ] || continue
            case " $seen " in *" $f "*) continue ;; esac
            seen="$seen $f"
            /usr/bin/python3 - "$f" <<'PY'
import email, email.policy, re, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.default)
text = m.get_body(("plain",)).get_content()
link = re.search(r"https?://\S+/verify/\S+", text)
code = re.search(r"\b\d{6}\b", text)
print("\n>>> mail for %s\n>>> link: %s\n>>> code: %s\n" % (
    m["To"], link.group(0) if link else "?", code.group(0) if code else "?"), flush=True)
PY
        done
    done
) &
watcher=$!
trap 'kill $watcher 2>/dev/null' EXIT INT TERM

# httpd first, the URL last: once it listens, after its own start-up lines.
/usr/sbin/apache2 -f "$var/httpd.conf" -DFOREGROUND &
httpd=$!
trap 'kill $watcher $httpd 2>/dev/null' EXIT INT TERM
for _ in $(seq 100); do
    curl -s -o /dev/null "http://127.0.0.1:$port/" && break
    kill -0 $httpd 2>/dev/null || break
    sleep 0.1
done
sleep 0.2
echo "  metrics: http://127.0.0.1:$port/magiclink-metrics  health: ...?health"
echo "mod_magiclink demo: open http://127.0.0.1:$port/private/  (Ctrl-C stops)"
wait $httpd
