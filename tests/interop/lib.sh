# Shared helpers of the interop tests: tide programs on a TUN device in a
# network namespace of the test's own, talking to the Linux kernel's TCP.
#
# A test script sources this file, calls it_init NAME, then uses the
# helpers below, and ends with it_finish. Everything the test creates (the
# namespace, its processes, a temporary directory) is removed on exit,
# also when the test fails or is interrupted. Without root or /dev/net/tun
# the test exits 77 (skipped) and says why.
#
# The tide programs are found through the environment (set by ctest, see
# tests/CMakeLists.txt): TIDE_ECHO, TIDE_HTTPD, TIDE_GET, TIDE_SS,
# TIDE_NSTAT, and TIDE_PEER (tide_peer.c, a scripted peer for the tests).
# A program that is not built makes the tests that need it skip. Every
# program's stderr is searched for sanitizer reports at the end.
#
# Addresses: device tideN gets 198.18.N.0/24, the kernel 198.18.N.1 and
# tide 198.18.N.2 (198.18.0.0/15 is reserved for benchmarking: nothing of
# it leaves the namespace).
#
# Exit codes: 0 all checks passed, 1 a check failed (or the script broke
# off), 77 skipped.

# Every wait in the tests has a deadline; the whole script has one too (a
# watchdog sends SIGTERM, so the cleanup still runs before ctest's TIMEOUT
# would kill the script without it).
IT_DEADLINE=${IT_DEADLINE:-100}

it_passed=0
it_failed=0
it_done=0
it_pids=()
it_ns_list=()
it_tmp=
NS=
declare -A it_pid_of

# --- output and checks -----------------------------------------------------

it_log() { printf '# %s\n' "$*"; }

it_ok() {
	it_passed=$((it_passed + 1))
	printf 'ok - %s\n' "$*"
}

it_fail() {
	it_failed=$((it_failed + 1))
	printf 'FAIL - %s\n' "$*"
}

# it_check DESC CMD...: one check: CMD's exit status decides.
it_check() {
	local desc=$1
	shift
	if "$@"; then
		it_ok "$desc"
	else
		it_fail "$desc"
	fi
}

# it_fatal DESC: a step the rest of the test depends on failed.
it_fatal() {
	it_fail "$*"
	it_finish
}

it_skip() {
	echo "SKIP: $*"
	it_done=1
	exit 77
}

it_finish() {
	it_done=1
	it_sanitizer_reports
	echo "$it_passed passed, $it_failed failed"
	if [ "$it_failed" -ne 0 ]; then
		exit 1
	fi
	exit 0
}

# A sanitizer report in any program's stderr is a failure, whichever check
# looked at the program.
it_sanitizer_reports() {
	local f
	[ -n "$it_tmp" ] || return 0
	for f in "$it_tmp"/*.err; do
		[ -e "$f" ] || continue
		if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f"; then
			it_fail "a sanitizer report in ${f##*/}"
			sed -n '/Sanitizer\|runtime error/,+15p' "$f" | head -40
		fi
	done
}

# --- setup and cleanup -----------------------------------------------------

it_need_cmd() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || it_skip "$c is not installed (scripts/deps.sh installs it)"
	done
}

# it_need_tide VAR...: e.g. it_need_tide TIDE_HTTPD TIDE_SS.
it_need_tide() {
	local v p
	for v in "$@"; do
		p=${!v:-}
		[ -n "$p" ] && [ -x "$p" ] || it_skip "${v} is not built (${p:-not set})"
	done
}

it_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	# A signal may come while a helper's output goes to /dev/null: the
	# report goes to the script's own output.
	exec 1>&8 2>&9
	if [ -n "${it_watchdog:-}" ]; then
		kill "$it_watchdog" 2>/dev/null
		it_reap "$it_watchdog" 2
	fi
	local pid
	for pid in "${it_pids[@]}"; do
		it_kill TERM "$pid"
	done
	for pid in "${it_pids[@]}"; do
		it_reap "$pid" 3 || it_kill KILL "$pid"
	done
	local ns
	for ns in "${it_ns_list[@]}"; do
		# Anything still alive in the namespace is ours: it is the test's own.
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	if [ "$it_done" -eq 0 ]; then
		it_fail "the test stopped before its end (exit status $rc)"
		it_dump_logs
		echo "$it_passed passed, $it_failed failed"
		rc=1
	elif [ "$it_failed" -ne 0 ]; then
		it_dump_logs
	fi
	[ -n "$it_tmp" ] && rm -rf "$it_tmp"
	exit "$rc"
}

it_on_signal() {
	exec 1>&8 2>&9
	echo "# stopped by a signal (the deadline is ${IT_DEADLINE} s)"
	exit 1
}

# On failure, the last lines of every background program's output help.
it_dump_logs() {
	local f
	[ -n "$it_tmp" ] || return 0
	for f in "$it_tmp"/*.out "$it_tmp"/*.err; do
		[ -s "$f" ] || continue
		echo "--- ${f##*/} (last lines)"
		tail -n 25 "$f"
	done
}

# it_init NAME: checks the machine, makes the temporary directory and the
# namespace tide-it-NAME-PID with its loopback up, and arms the cleanup.
it_init() {
	local name=$1
	[ "$(id -u)" -eq 0 ] || it_skip "needs root (network namespaces and TUN devices)"
	[ -c /dev/net/tun ] || it_skip "no /dev/net/tun on this machine"
	it_need_cmd ip ss timeout python3 sha256sum cmp
	it_tmp=$(mktemp -d "${TMPDIR:-/tmp}/tide-it-$name.XXXXXX")
	# The watchdog: started before the traps are set, so that it has none
	# of them; without a child process (a sleep would keep the script's
	# output open, and ctest waits for that): a read that times out on a
	# FIFO of its own.
	mkfifo "$it_tmp/watchdog"
	(
		exec 3<>"$it_tmp/watchdog"
		read -r -t "$IT_DEADLINE" -u 3 _ || kill -TERM $$
	) </dev/null >/dev/null 2>&1 &
	it_watchdog=$!
	exec 8>&1 9>&2
	trap it_cleanup EXIT
	trap it_on_signal INT TERM
	# Each test sees only its own tide programs.
	export TIDE_RUN_DIR=$it_tmp/run
	mkdir -p "$TIDE_RUN_DIR"
	NS=tide-it-$name-$$
	LNS=$NS
	it_ns_add "$NS" || it_skip "cannot create a network namespace (ip netns add failed)"
	it_log "namespace $NS, temporary directory $it_tmp"
}

# it_routed_peer: Linux's applications in a second namespace, PNS, behind
# a router: the test's namespace NS forwards between tide's devices and a
# veth pair (NS: tpeer0 198.18.100.1/24, PNS: eth0 198.18.100.2/24, its
# default route via NS). A packet dropped by NS's forward hook is lost on
# the wire as far as both TCPs know, so the sender retransmits it (a drop
# in the sender's own output path is a local send error instead: Linux
# retries without counting a retransmission). Sets LNS, where it_linux_ss
# looks, to PNS; PEER is PNS's address.
it_routed_peer() {
	PNS=$NS-p
	PEER=198.18.100.2
	it_ns_add "$PNS" || it_fatal "ip netns add $PNS"
	ip -n "$NS" link add tpeer0 type veth peer name eth0 netns "$PNS" || it_fatal "veth pair"
	ip -n "$NS" addr add 198.18.100.1/24 dev tpeer0
	ip -n "$NS" link set tpeer0 up
	ip -n "$PNS" addr add "$PEER/24" dev eth0
	ip -n "$PNS" link set eth0 up
	ip -n "$PNS" route add default via 198.18.100.1
	it_sysctl net.ipv4.ip_forward=1
	LNS=$PNS
}

it_ns_add() {
	ip netns add "$1" 2>/dev/null || return 1
	it_ns_list+=("$1")
	ip -n "$1" link set lo up
}

# it_ns CMD...: runs CMD in the test's namespace.
it_ns() { ip netns exec "$NS" "$@"; }

# it_sysctl NAME=VALUE...: the kernel's settings, in the namespace only.
it_sysctl() {
	local kv
	for kv in "$@"; do
		it_ns sysctl -qw "$kv" || it_fatal "sysctl -w $kv in the namespace"
	done
}

# --- background processes --------------------------------------------------

# it_start NAME CMD...: starts CMD in the namespace, in the background, in a
# process group of its own (so that stopping it stops its children too);
# its output goes to $it_tmp/NAME.out and .err.
it_start() { it_start_in "$NS" "$@"; }

# it_start_in NETNS NAME CMD...: the same in another of the test's
# namespaces (it_routed_peer's).
it_start_in() {
	local ns=$1 name=$2
	shift 2
	setsid ip netns exec "$ns" "$@" >"$it_tmp/$name.out" 2>"$it_tmp/$name.err" </dev/null 8>&- 9>&- &
	local pid=$!
	it_pids+=("$pid")
	it_pid_of[$name]=$pid
}

# it_kill SIGNAL PID: the process and its group (the group exists only once
# setsid has run: right after it_start it may not yet).
it_kill() {
	kill "-$1" -- "-$2" 2>/dev/null
	kill "-$1" "$2" 2>/dev/null
}

# it_running NAME: true while the program runs (an ended one not yet
# collected is a zombie).
it_running() {
	local st
	st=$(ps -o stat= -p "${it_pid_of[$1]}" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "${st:0:1}" != Z ]
}

# it_reap PID SECONDS: waits for PID (a child of this shell) to end, at most
# SECONDS; sets IT_STATUS to its exit status, or to "timeout" (returns 1).
# Not in $(...): a subshell cannot collect its parent's children.
it_reap() {
	local pid=$1 secs=$2 end
	end=$(($(date +%s%N) + secs * 1000000000))
	while kill -0 "$pid" 2>/dev/null; do
		# A zombie has ended: wait collects it below.
		if [ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = Z ]; then
			break
		fi
		if [ "$(date +%s%N)" -ge "$end" ]; then
			IT_STATUS=timeout
			return 1
		fi
		sleep 0.05
	done
	IT_STATUS=0
	wait "$pid" 2>/dev/null || IT_STATUS=$?
	return 0
}

# it_wait_exit NAME SECONDS: waits for the program to end by itself; sets
# IT_STATUS to its exit status, returns 1 if it had to be killed.
it_wait_exit() {
	local name=$1 secs=$2 pid=${it_pid_of[$1]}
	if ! it_reap "$pid" "$secs"; then
		it_kill KILL "$pid"
		it_reap "$pid" 3
		IT_STATUS=timeout
		it_log "$name did not end within ${secs}s: killed"
		return 1
	fi
	return 0
}

# it_stop NAME [SECONDS]: SIGTERM, then SIGKILL after SECONDS (default 5);
# sets IT_STATUS; returns 0 if it ended on SIGTERM.
it_stop() {
	local name=$1 secs=${2:-5} pid=${it_pid_of[$1]}
	it_kill TERM "$pid"
	if ! it_reap "$pid" "$secs"; then
		it_kill KILL "$pid"
		it_reap "$pid" 3
		IT_STATUS=timeout
		return 1
	fi
	return 0
}

# it_stop_clean NAME: stops a tide program and checks that it ended well:
# exit status 0 and no sanitizer report.
it_stop_clean() {
	local name=$1
	if ! it_stop "$name" 10; then
		it_fail "$name ends on SIGTERM (it had to be killed)"
		return 1
	fi
	if [ "$IT_STATUS" != 0 ]; then
		it_fail "$name ends on SIGTERM with status 0 (got $IT_STATUS)"
		return 1
	fi
	if grep -qE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$it_tmp/$name.err"; then
		it_fail "$name: no sanitizer report (see $name.err)"
		return 1
	fi
	it_ok "$name stops cleanly on SIGTERM"
}

# --- tide programs on TUN devices -------------------------------------------

# it_tide_start NAME N PROG ARGS...: runs a tide program on TUN device tideN
# with address 198.18.N.2/24, waits for the device, gives the kernel side
# 198.18.N.1/24, and waits until the program's control socket answers.
it_tide_start() {
	local name=$1 n=$2
	shift 2
	local prog=$1
	shift
	it_start "$name" "$prog" --tun "tide$n" --addr "198.18.$n.2/24" "$@"
	it_wait_for "$name: device tide$n exists" 10 it_ns ip link show "tide$n" ||
		it_fatal "$name did not create tide$n"
	it_ns ip addr add "198.18.$n.1/24" dev "tide$n" || it_fatal "ip addr add 198.18.$n.1/24 dev tide$n"
	it_ns ip link set "tide$n" up
	if [ -n "${TIDE_SS:-}" ] && [ -x "$TIDE_SS" ]; then
		it_wait_for "$name: control socket" 10 it_tide_ss_ok ||
			it_fatal "$name's control socket did not appear in $TIDE_RUN_DIR"
	fi
	if command -v ping >/dev/null; then
		it_wait_for "$name answers ping" 10 it_ns ping -c1 -W1 "198.18.$n.2" ||
			it_log "$name does not answer ping (ICMP echo)"
	fi
	return 0
}

# it_tun_add N: makes TUN device tideN beforehand (persistent) with the
# kernel's address 198.18.N.1/24, so that a Linux server can listen on it
# before a tide client starts there (it_tide_client N ...).
it_tun_add() {
	local n=$1
	it_ns ip tuntap add dev "tide$n" mode tun || it_fatal "ip tuntap add dev tide$n mode tun"
	it_ns ip addr add "198.18.$n.1/24" dev "tide$n" || it_fatal "ip addr add 198.18.$n.1/24 dev tide$n"
	it_ns ip link set "tide$n" up
}

# it_tide_client NAME N PROG ARGS...: runs a tide program on the device
# made by it_tun_add N, as 198.18.N.2/24.
it_tide_client() {
	local name=$1 n=$2
	shift 2
	local prog=$1
	shift
	it_start "$name" "$prog" --tun "tide$n" --addr "198.18.$n.2/24" "$@"
}

it_tide_ss_ok() { it_ns "$TIDE_SS" -tan >/dev/null 2>&1; }

# --- waiting ---------------------------------------------------------------

# it_wait_for DESC SECONDS CMD...: polls CMD every 50 ms until it succeeds;
# on the deadline says what it waited for and returns 1.
it_wait_for() {
	local desc=$1 secs=$2 end
	shift 2
	end=$(($(date +%s%N) + secs * 1000000000))
	while :; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		if [ "$(date +%s%N)" -ge "$end" ]; then
			it_log "gave up after ${secs}s waiting for: $desc"
			return 1
		fi
		sleep 0.05
	done
}

# --- connection views -------------------------------------------------------
# Both views print lines "STATE RECV-Q SEND-Q LOCAL PEER ...". States are
# compared in ss's spelling (ESTAB, FIN-WAIT-2, ...): tide-ss's underscores
# and ESTABLISHED are mapped to it, so the helpers take either.

it_norm_state() {
	local s=${1//_/-}
	s=${s^^}
	[ "$s" = ESTABLISHED ] && s=ESTAB
	[ "$s" = SYN-RECEIVED ] && s=SYN-RECV
	echo "$s"
}

# Linux's TCP sockets in the namespace (ss -tan, with timers), header-less.
it_linux_ss() { ip netns exec "$LNS" ss -tanoH; }

# tide's connections, every tide program of the test, header-less (lines
# that start with a state name).
it_tide_ss() {
	it_ns "$TIDE_SS" -tano 2>/dev/null |
		awk 'toupper($1) ~ /^(ESTAB|ESTABLISHED|SYN[-_]SENT|SYN[-_]RECV|SYN[-_]RECEIVED|FIN[-_]WAIT[-_][12]|CLOSE[-_]WAIT|CLOSING|LAST[-_]ACK|TIME[-_]WAIT|LISTEN|CLOSED|UNCONN|CLOSE)$/'
}

# it_conn_lines VIEW LOCAL PEER: the view's lines for the connection from
# LOCAL to PEER (ADDR:PORT; a PORT of * matches any), states normalised.
it_conn_lines() {
	local view=$1 local=$2 peer=$3
	"$view" | awk -v l="$local" -v p="$peer" '
		function m(pat, s) {
			if (pat == "") return 1
			if (pat ~ /:\*$/) return index(s, substr(pat, 1, length(pat) - 1)) == 1
			return s == pat
		}
		{ if (m(l, $4) && m(p, $5)) print }' |
		while read -r st rest; do
			echo "$(it_norm_state "$st") $rest"
		done
}

# it_state VIEW LOCAL PEER: the states of the matching connections, one
# per line (empty: none).
it_state() { it_conn_lines "$1" "$2" "$3" | awk '{ print $1 }'; }

# it_has_state VIEW LOCAL PEER STATE: true if a matching connection is in
# STATE.
it_has_state() {
	local want
	want=$(it_norm_state "$4")
	it_state "$1" "$2" "$3" | grep -qx -- "$want"
}

# it_no_conn VIEW LOCAL PEER: true if no such connection is listed.
it_no_conn() { [ -z "$(it_conn_lines "$1" "$2" "$3")" ]; }

# it_wait_state DESC SECONDS VIEW LOCAL PEER STATE: a check that waits until
# the connection is in STATE; on failure shows what the view shows.
it_wait_state() {
	local desc=$1 secs=$2 view=$3 local=$4 peer=$5 want=$6
	if it_wait_for "$desc" "$secs" it_has_state "$view" "$local" "$peer" "$want"; then
		it_ok "$desc"
		return 0
	fi
	it_fail "$desc (state now: '$(it_state "$view" "$local" "$peer" | tr '\n' ' ')')"
	"$view" | sed 's/^/#   /'
	return 1
}

# it_wait_gone DESC SECONDS VIEW LOCAL PEER: a check that waits until the
# connection is no longer listed.
it_wait_gone() {
	local desc=$1 secs=$2 view=$3 local=$4 peer=$5
	if it_wait_for "$desc" "$secs" it_no_conn "$view" "$local" "$peer"; then
		it_ok "$desc"
		return 0
	fi
	it_fail "$desc"
	"$view" | sed 's/^/#   /'
	return 1
}

# --- counters ----------------------------------------------------------------

# it_nstat NAME: the value of tide's counter NAME (Linux's spelling, with or
# without the Tcp/TcpExt prefix), summed over the test's tide programs; 0
# when it is not listed (nstat leaves out zeros).
it_nstat() {
	local name=$1
	it_ns "$TIDE_NSTAT" -az 2>/dev/null | awk -v n="$name" '
		$1 == n || $1 == "Tcp" n || $1 == "TcpExt" n { s += $2 }
		END { print s + 0 }'
}

# --- data --------------------------------------------------------------------

# it_random FILE BYTES: a file of random bytes.
it_random() { head -c "$2" /dev/urandom >"$1"; }

# The Linux-side scripted peer (tests/interop/peer.py).
IT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
IT_PEER="python3 $IT_DIR/peer.py"
