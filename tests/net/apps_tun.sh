#!/usr/bin/env bash
# Smoke test of tide's programs on a real link: tide-httpd, tide-get and
# tide-echo on a TUN device in a network namespace of this test's own,
# talking to the Linux kernel's TCP (curl, python3 -m http.server, a Python
# echo client). Addresses: the kernel 198.18.0.1, tide 198.18.0.2; nothing
# leaves the namespace, which is deleted at the end whatever happens.
#
# usage: apps_tun.sh TIDE-HTTPD TIDE-GET TIDE-ECHO
# Exit: 0 passed, 1 failed, 77 skipped (not root, no /dev/net/tun, a
# missing tool). The deeper state checks are the interop tests'
# (tests/interop); this one only shows that each program works end to end.
set -u
HTTPD=$1
GET=$2
ECHO=$3
K=198.18.0.1
T=198.18.0.2

skip() {
	echo "SKIP: $*"
	exit 77
}
[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces and TUN devices)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun on this machine"
for c in ip curl python3 cmp timeout; do
	command -v "$c" >/dev/null 2>&1 || skip "$c is not installed (scripts/deps.sh installs it)"
done

NS=tide-apps-$$
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tide-apps.XXXXXX")
pids=()
passed=0
failed=0

cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		for _ in $(seq 30); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.1
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	# anything left in the namespace is this test's own
	ip netns pids "$NS" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	if [ "$failed" -ne 0 ]; then
		for f in "$tmp"/*.err; do
			[ -s "$f" ] || continue
			echo "--- ${f##*/} (last lines)"
			tail -n 20 "$f"
		done
	fi
	rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ok() {
	passed=$((passed + 1))
	echo "ok - $*"
}
fail() {
	failed=$((failed + 1))
	echo "FAIL - $*"
}
check() {
	local desc=$1
	shift
	if "$@"; then ok "$desc"; else fail "$desc"; fi
}
finish() {
	echo "$passed passed, $failed failed"
	[ "$failed" -eq 0 ] && exit 0
	exit 1
}

in_ns() { ip netns exec "$NS" "$@"; }

# wait_for SECONDS CMD...: polls CMD every 50 ms; 1 on the deadline.
wait_for() {
	local end=$(($(date +%s%N) + $1 * 1000000000))
	shift
	until "$@" >/dev/null 2>&1; do
		[ "$(date +%s%N)" -ge "$end" ] && return 1
		sleep 0.05
	done
}

# start NAME CMD...: CMD in the namespace, in the background; its output
# in $tmp/NAME.out and .err; its pid in $started.
start() {
	local name=$1
	shift
	ip netns exec "$NS" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" </dev/null &
	started=$!
	pids+=("$started")
}

# stop_clean NAME PID: SIGTERM must end the program with status 0, its
# control socket removed and no sanitizer report.
stop_clean() {
	local name=$1 pid=$2 st=0
	kill -TERM "$pid"
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$pid" 2>/dev/null; then
		fail "$name ends on SIGTERM"
		return
	fi
	wait "$pid" || st=$?
	check "$name ends on SIGTERM with status 0 (got $st)" [ "$st" -eq 0 ]
	check "$name removed its control socket" no_socket "$name"
	check "$name: no sanitizer report" no_sanitizer "$tmp/$name.err"
}

no_socket() { ! ls "$TIDE_RUN_DIR" | grep -q "^$1\\."; }
no_sanitizer() { ! grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$1"; }

ip netns add "$NS" 2>/dev/null || skip "cannot create a network namespace"
ip -n "$NS" link set lo up
export TIDE_RUN_DIR=$tmp/run
mkdir -p "$TIDE_RUN_DIR"

# --- tide-httpd, fetched by curl ---------------------------------------------
www=$tmp/www
mkdir -p "$www/sub" "$tmp/outside"
printf '<!DOCTYPE html>\n<h1>tide</h1>\n' >"$www/index.html"
head -c 2500000 /dev/urandom >"$www/big.bin"
echo spaced >"$www/a b.txt"
echo sub >"$www/sub/index.html"
echo secret >"$tmp/outside/secret.txt"
ln -s "$tmp/outside/secret.txt" "$www/link-out"
ln -s index.html "$www/link-in.html"

start tide-httpd "$HTTPD" --tun tide0 --addr "$T/24" --root "$www" --port 80 \
	--keepalive-timeout 2 --set net.ipv4.tcp_timewait_len=2
httpd=$started
wait_for 10 in_ns ip link show tide0 || { fail "tide-httpd creates tide0"; finish; }
in_ns ip addr add "$K/24" dev tide0
in_ns ip link set tide0 up
wait_for 10 in_ns curl -sS -m 1 -o /dev/null "http://$T/" || { fail "tide-httpd answers"; finish; }

# fetch_same URL FILE: curl's copy of URL is FILE, byte for byte.
fetch_same() { in_ns timeout 20 curl -sS --fail -o "$tmp/got" "$1" && cmp -s "$tmp/got" "$2"; }
check "curl: index.html byte-identical" fetch_same "http://$T/" "$www/index.html"
check "curl: 2.5 MB file byte-identical" fetch_same "http://$T/big.bin" "$www/big.bin"
check "curl: %20 in the path" fetch_same "http://$T/a%20b.txt" "$www/a b.txt"
check "curl: a symlink inside the root is served" fetch_same "http://$T/link-in.html" "$www/index.html"

status() { in_ns timeout 10 curl -sS -o /dev/null -w '%{http_code}' "$@"; }
check "404 for a missing file" [ "$(status "http://$T/missing")" = 404 ]
check "404 for a symlink out of the root" [ "$(status "http://$T/link-out")" = 404 ]
check "400 for .. above the root" [ "$(status --path-as-is "http://$T/../outside/secret.txt")" = 400 ]
check "400 for an encoded .. above the root" [ "$(status --path-as-is "http://$T/%2e%2e/outside/secret.txt")" = 400 ]
check "405 for POST" [ "$(status -X POST "http://$T/")" = 405 ]
check "301 for a directory without its slash" [ "$(status "http://$T/sub")" = 301 ]
long=$(head -c 9000 /dev/zero | tr '\0' a)
check "414 for a 9000-byte path" [ "$(status "http://$T/$long")" = 414 ]
in_ns timeout 10 curl -sSI "http://$T/big.bin" >"$tmp/head.txt" 2>&1
check "HEAD: Content-Length" grep -qi '^content-length: 2500000' "$tmp/head.txt"
check "HEAD: Content-Type by extension" grep -qi '^content-type: application/octet-stream' "$tmp/head.txt"
in_ns timeout 10 curl -sSv -o /dev/null -o /dev/null "http://$T/" "http://$T/sub/" 2>"$tmp/ka.txt"
check "keep-alive: curl reuses the connection" grep -q 'Re-using existing connection' "$tmp/ka.txt"
check "one log line per request" grep -q "GET /big.bin 200 2500000" "$tmp/tide-httpd.err"
stop_clean tide-httpd "$httpd"
wait_for 5 sh -c "! ip netns exec $NS ip link show tide0" || fail "tide0 goes away with tide-httpd"

# --- tide-get, from Linux's http.server -----------------------------------------
# A persistent device, so that the server can bind to the kernel's address
# before tide starts.
in_ns ip tuntap add dev tide0 mode tun || { fail "ip tuntap add dev tide0"; finish; }
in_ns ip addr add "$K/24" dev tide0
in_ns ip link set tide0 up
start pyhttp python3 -m http.server --bind "$K" --directory "$www" 8000
wait_for 10 in_ns curl -sS -m 1 -o /dev/null "http://$K:8000/" || { fail "http.server starts"; finish; }

tget() { in_ns timeout 40 "$GET" --tun tide0 --addr "$T/24" --timeout 10 "$@"; }
st=0
tget "http://$K:8000/big.bin" --output "$tmp/g.got" 2>"$tmp/tide-get.err" || st=$?
check "tide-get exits 0 (got $st)" [ "$st" -eq 0 ]
check "tide-get: 2.5 MB from http.server byte-identical" cmp -s "$tmp/g.got" "$www/big.bin"
stdout_same() { tget "http://$K:8000/index.html" 2>>"$tmp/tide-get.err" | cmp -s - "$www/index.html"; }
check "tide-get: body on stdout" stdout_same
st=0
tget "http://$K:8000/missing" >/dev/null 2>>"$tmp/tide-get.err" || st=$?
check "tide-get: exit 1 on 404 (got $st)" [ "$st" -eq 1 ]
st=0
tget "http://$K:8001/" 2>"$tmp/refused.txt" || st=$?
check "tide-get: connection refused, exit 1 (got $st)" [ "$st" -eq 1 ]
check "tide-get: says 'connection refused'" grep -q 'connection refused' "$tmp/refused.txt"
st=0
tget "http://example.com/" 2>"$tmp/name.txt" || st=$?
check "tide-get: a host name is refused, exit 2 (got $st)" [ "$st" -eq 2 ]
check "tide-get: says why ('host name')" grep -q 'host name' "$tmp/name.txt"
st=0
tget --set net.ipv4.no_such_setting=1 "http://$K:8000/" 2>"$tmp/set.txt" || st=$?
check "an unknown setting exits 2 (got $st)" [ "$st" -eq 2 ]
check "the message names the setting" grep -q 'no_such_setting' "$tmp/set.txt"
check "tide-get: no sanitizer report" no_sanitizer "$tmp/tide-get.err"

# --- tide-echo, with a Python client -----------------------------------------------
start tide-echo "$ECHO" --tun tide0 --addr "$T/24" --port 7
echod=$started
echo_client() {
	in_ns timeout 20 python3 - "$T" "$1" <<'EOF'
import os, socket, sys, threading, time
host, n = sys.argv[1], int(sys.argv[2])
data = os.urandom(n)
for _ in range(100):          # until tide-echo listens
    try:
        s = socket.create_connection((host, 7), timeout=10)
        break
    except OSError:
        time.sleep(0.05)
else:
    sys.exit("cannot connect")
def send():
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)   # our FIN: the echo server closes after it
t = threading.Thread(target=send)
t.start()
got = bytearray()
while True:
    d = s.recv(65536)
    if not d:
        break
    got += d
t.join()
s.close()
sys.exit(0 if bytes(got) == data else "echo differs: %d of %d bytes" % (len(got), n))
EOF
}
check "tide-echo: 1 MB echoed, then closed after the client's FIN" echo_client 1000000
check "tide-echo: an empty connection" echo_client 0
stop_clean tide-echo "$echod"
finish
