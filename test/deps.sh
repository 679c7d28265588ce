#!/bin/sh
# Installs, with apt-get, the Debian packages that building and testing need.
# Idempotent and silent when everything is present; the list is the single
# place that names them (packages a suite needs go here, not in the suite).
set -eu

# fonts-ipafont-gothic: Japanese glyphs for the browser run's screenshots (Arabic: DejaVu).
PKGS="build-essential clang libclang-rt-14-dev pkg-config
apache2 apache2-dev libapr1-dev libaprutil1-dev libssl-dev libjansson-dev libcurl4-openssl-dev
liblmdb-dev lmdb-utils libhiredis-dev
libcmocka-dev golang-go golang-github-gorilla-securecookie-dev
python3 python3-pytest python3-requests python3-aiosmtpd openssl
redis-server memcached wrk apache2-utils valgrind gnuplot-nox linux-perf strace
chromium fonts-ipafont-gothic debhelper lintian fail2ban python3-prometheus-client python3-jwt
python3-cryptography curl iproute2"
# The browser run needs Node.js and npm: the machine's own when it has them.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || PKGS="$PKGS nodejs npm"

missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "deps: installing$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
