#!/bin/sh
# Runs packetdrill scripts against tide (libtide_packetdrill.so) and prints
# pass/fail per script and a count per folder. Neither fetches nor builds
# packetdrill: give it the binary, the shared object and the scripts.
#
#   tools/packetdrill/run-packetdrill.sh PACKETDRILL LIBTIDE_PACKETDRILL.so DIR [FOLDER...]
#
# DIR holds the folders (Linux's gtests/net/tcp, or a folder of gVisor's
# scripts); each FOLDER is a subfolder of DIR, or "." for DIR itself. Each
# script runs in IPv4 mode in a network namespace of its own when run as
# root (unshare -n), because the scripts run Linux sysctls in shell commands
# (defaults.sh): those then change that namespace, not this machine's.
# tide takes the same values from --so_flags instead (PD_SO_FLAGS to add),
# and the scripts' sysctl, tc and ip commands, which configure the Linux
# kernel that is not under test here, find do-nothing stand-ins first in PATH.
# PD_ARGS adds packetdrill options (gVisor runs its scripts with
# --tolerance_usecs=100000). Logs go to ${PD_LOGS:-/tmp/tide-packetdrill-logs}/FOLDER/SCRIPT.log.
set -u
pd=$1 so=$2 dir=$3
shift 3
[ $# -gt 0 ] || set -- .
local_ip=198.18.0.1
remote_ip=198.19.0.1
# The settings of Linux's gtests/net/tcp/common/defaults.sh that tide has.
flags="addr=$local_ip;set=net.ipv4.tcp_rmem=4096 540000 15728640"
flags="$flags;set=net.ipv4.tcp_wmem=4096 262144 4194304;set=net.ipv4.tcp_timestamps=1"
flags="$flags;set=net.ipv4.tcp_syn_retries=5;set=net.ipv4.tcp_synack_retries=5"
flags="$flags;set=net.ipv4.tcp_sack=1;set=net.ipv4.tcp_syncookies=1${PD_SO_FLAGS:+;$PD_SO_FLAGS}"
logs=${PD_LOGS:-/tmp/tide-packetdrill-logs}
ns=""
[ "$(id -u)" = 0 ] && ns="unshare -n"
shims=$(mktemp -d)
trap 'rm -rf "$shims"' EXIT
for cmd in sysctl tc ip; do
	printf '#!/bin/sh\nexit 0\n' >"$shims/$cmd"
	chmod +x "$shims/$cmd"
done
so=$(readlink -f "$so")
pd=$(readlink -f "$pd")
total_pass=0 total=0
for folder in "$@"; do
	pass=0 n=0
	mkdir -p "$logs/$folder"
	for script in "$dir/$folder"/*.pkt; do
		[ -e "$script" ] || continue
		name=$(basename "$script" .pkt)
		n=$((n + 1))
		if (cd "$(dirname "$script")" && PATH="$shims:$PATH" timeout 120 $ns "$pd" --ip_version=ipv4 \
			--local_ip=$local_ip --remote_ip=$remote_ip \
			--so_filename="$so" --so_flags="$flags" ${PD_ARGS:-} "$(basename "$script")") \
			>"$logs/$folder/$name.log" 2>&1; then
			pass=$((pass + 1))
			echo "PASS $folder/$name"
		else
			echo "FAIL $folder/$name: $(grep -v '^\s*$' "$logs/$folder/$name.log" | tail -1)"
		fi
	done
	echo "== $folder: $pass/$n"
	total_pass=$((total_pass + pass))
	total=$((total + n))
done
echo "== total: $total_pass/$total"
