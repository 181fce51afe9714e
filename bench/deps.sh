#!/usr/bin/env bash
# Packages the benchmarks need (`make bench`), not `make test`: wrk, lwIP
# (bench/lwip_server) and curl for bench/wrk.sh; valgrind for
# bench/callgrind.sh. Installs only what is missing.
set -eu
pkgs="wrk liblwip-dev curl valgrind"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "bench: missing Debian packages:$missing (run as root to install them)" >&2
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get install -y $missing >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y $missing >/dev/null; }
