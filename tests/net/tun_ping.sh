#!/usr/bin/env bash
# tide on real devices: in a network namespace of its own, tide (the probe,
# tests/net/tide_tun_probe.c) at 198.18.0.2 on a TUN and then a TAP device,
# the kernel at 198.18.0.1/24 on the same device:
#   - the kernel's `ping -c 3 -W 1 198.18.0.2` gets its replies (TUN, TAP);
#   - on TAP the kernel learnt tide's MAC through ARP (ip neigh);
#   - on TAP with the kernel's entry for tide made static, tide itself
#     resolves the kernel's address (its requests, its queue);
#   - a TCP connection to a closed port is refused (tide's RST);
#   - opening a device as an unprivileged user, with a too-long name, with
#     the name of an interface of another type, or without /dev/net/tun
#     fails with a message that says so.
# Needs root and /dev/net/tun: skipped (77) without. Everything it makes is
# removed on exit, also on failure.
# Usage: tun_ping.sh PATH/TO/tide_tun_probe
set -u
PROBE=${1:?usage: tun_ping.sh PATH/TO/tide_tun_probe}
NS=tide-tunping-$$
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tide-tunping.XXXXXX")
PID=

skip() { echo "SKIP: $*"; exit 77; }
fail() {
	echo "FAIL: $*"
	for f in "$TMP"/*.out; do [ -f "$f" ] && { echo "--- $f"; cat "$f"; }; done
	exit 1
}

cleanup() {
	if [ -n "$PID" ]; then kill -TERM "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; fi
	ip netns del "$NS" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || skip "needs root (network namespaces, TUN/TAP devices)"
[ -c /dev/net/tun ] || skip "no /dev/net/tun (load the tun module)"
command -v ip >/dev/null || skip "no ip (iproute2)"
command -v ping >/dev/null || skip "no ping (iputils-ping)"
[ -x "$PROBE" ] || fail "no probe at $PROBE"
ip netns add "$NS" 2>"$TMP/netns.err" || skip "cannot create a network namespace: $(cat "$TMP/netns.err")"
nsx() { ip netns exec "$NS" "$@"; }
nsx ip link set lo up

# start KIND NAME: the probe in the background, up to 20 s; waits for its
# "ready" line and sets MAC to tide's MAC ("-" on TUN).
MAC=
start() {
	local out="$TMP/$1-$2.out"
	timeout -s TERM 30 ip netns exec "$NS" "$PROBE" "$1" "$2" 198.18.0.2 20 >"$out" 2>&1 &
	PID=$!
	for _ in $(seq 50); do
		if grep -q '^ready ' "$out"; then
			MAC=$(awk '/^ready /{print $3}' "$out")
			return 0
		fi
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	fail "the probe did not come up on $1 $2"
}

# stop: ends the probe (SIGTERM: it prints its counts and exits 0).
stop() {
	kill -TERM "$PID" 2>/dev/null
	wait "$PID"
	local rc=$?
	PID=
	[ "$rc" -eq 0 ] || fail "the probe exited with $rc"
}

# count FILE NAME: a counter the probe printed (0 if absent).
count() { awk -v n="$2" '$1 == n {v = $2} END {print v + 0}' "$1"; }

# ---- TUN --------------------------------------------------------------
start tun tide0
nsx ip addr add 198.18.0.1/24 dev tide0
nsx ping -c 3 -W 1 198.18.0.2 >"$TMP/ping-tun.out" 2>&1 || fail "ping over TUN failed"
grep -q '3 received' "$TMP/ping-tun.out" || fail "ping over TUN: not 3 replies"
if nsx timeout 3 bash -c 'exec 3<>/dev/tcp/198.18.0.2/80' 2>"$TMP/tcp-tun.out"; then
	fail "a TCP connection to a closed port of tide succeeded"
fi
grep -q 'Connection refused' "$TMP/tcp-tun.out" || fail "TCP to a closed port: not refused"
stop
out="$TMP/tun-tide0.out"
[ "$(count "$out" IcmpInEchos)" -ge 3 ] || fail "TUN: IcmpInEchos below 3"
[ "$(count "$out" IcmpOutEchoReps)" -ge 3 ] || fail "TUN: IcmpOutEchoReps below 3"
[ "$(count "$out" OutRsts)" -ge 1 ] || fail "TUN: no RST counted"
echo "ok: TUN: ping answered, closed port refused"

# ---- TAP: the kernel resolves tide ------------------------------------
start tap tide0
mac=$MAC
nsx ip addr add 198.18.0.1/24 dev tide0
nsx ping -c 3 -W 1 198.18.0.2 >"$TMP/ping-tap.out" 2>&1 || fail "ping over TAP failed"
grep -q '3 received' "$TMP/ping-tap.out" || fail "ping over TAP: not 3 replies"
neigh=$(nsx ip neigh show 198.18.0.2 dev tide0)
case "$neigh" in
*"lladdr $mac "*) ;;
*) fail "ip neigh does not show tide's MAC $mac: '$neigh'" ;;
esac
stop
out="$TMP/tap-tide0.out"
[ "$(count "$out" arp_replies)" -ge 1 ] || fail "TAP: tide answered no ARP request"
[ "$(count "$out" IcmpOutEchoReps)" -ge 3 ] || fail "TAP: IcmpOutEchoReps below 3"
echo "ok: TAP: ping answered, the kernel learnt tide's MAC $mac through ARP"

# ---- TAP: tide resolves the kernel ------------------------------------
# The kernel's entry for tide is static, so the kernel never asks and tide
# learns nothing from it: the first reply waits in tide's queue behind
# tide's own request.
start tap tide1
mac=$MAC
nsx ip addr add 198.18.0.1/24 dev tide1
nsx ip neigh replace 198.18.0.2 lladdr "$mac" dev tide1 nud permanent
nsx ping -c 3 -W 1 198.18.0.2 >"$TMP/ping-tap2.out" 2>&1 || fail "ping over TAP (tide resolving) failed"
stop
out="$TMP/tap-tide1.out"
[ "$(count "$out" arp_requests)" -ge 1 ] || fail "TAP: tide sent no ARP request"
[ "$(count "$out" arp_queued)" -ge 1 ] || fail "TAP: no packet waited for ARP"
[ "$(count "$out" arp_failed)" -eq 0 ] || fail "TAP: packets lost waiting for ARP"
echo "ok: TAP: tide resolved the kernel's address (queued, then sent)"

# ---- errors -----------------------------------------------------------
if command -v setpriv >/dev/null; then
	nsx setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$PROBE" tun tide2 198.18.0.2 1 >"$TMP/nonroot.out" 2>&1
	rc=$?
	[ "$rc" -eq 1 ] || fail "as nobody: exit $rc, expected 1"
	grep -q 'creating a TUN device needs root or CAP_NET_ADMIN' "$TMP/nonroot.out" ||
		fail "as nobody: no clear message"
	echo "ok: as nobody: $(cat "$TMP/nonroot.out")"
else
	echo "note: no setpriv, the unprivileged case is not checked"
fi
nsx "$PROBE" tap abcdefghijklmnopq 198.18.0.2 1 >"$TMP/longname.out" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "too-long name: exit $rc, expected 1"
grep -q 'too long' "$TMP/longname.out" || fail "too-long name: no clear message"
echo "ok: too-long name: $(cat "$TMP/longname.out")"
nsx "$PROBE" tap lo 198.18.0.2 1 >"$TMP/taken.out" 2>&1
rc=$?
[ "$rc" -eq 1 ] || fail "name of another interface: exit $rc, expected 1"
grep -q 'exists and is not a TAP device' "$TMP/taken.out" || fail "name taken: no clear message"
echo "ok: name taken: $(cat "$TMP/taken.out")"
# No /dev/net/tun: hidden by an empty tmpfs in a private mount namespace
# (gone with the command).
if unshare -m --propagation private true 2>/dev/null; then
	unshare -m --propagation private sh -c 'mount -t tmpfs tide-none /dev/net && exec "$0" tun tide0 198.18.0.2 1' \
		"$PROBE" >"$TMP/notun.out" 2>&1
	rc=$?
	[ "$rc" -eq 1 ] || fail "no /dev/net/tun: exit $rc, expected 1"
	grep -q 'no /dev/net/tun: load the tun module' "$TMP/notun.out" ||
		fail "no /dev/net/tun: no clear message"
	echo "ok: no /dev/net/tun: $(cat "$TMP/notun.out")"
else
	echo "note: no private mount namespace here, the no-/dev/net/tun case is not checked"
fi
echo "tun_ping: all passed"
