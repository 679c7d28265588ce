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
cat > "$var/htdocs/private/index.html" <<'HTML'
<!doctype html><meta charset="utf-8"><title>Private</title>
<h1>Private page</h1><p>You are signed in: mod_magiclink let you through.</p>
<p>To sign out, open <a href="/magic/login">the sign-in page</a>: it has the button.</p>
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

echo "mod_magiclink demo: open http://127.0.0.1:$port/private/  (Ctrl-C stops)"
echo "  metrics: http://127.0.0.1:$port/magiclink-metrics  health: ...?health"
/usr/sbin/apache2 -f "$var/httpd.conf" -DFOREGROUND
