#!/usr/bin/env bash
# tide-sim's command line: what each mistake prints and the exit code it
# gives (0 ok, 1 an expectation failed, 2 a mistake in the command line or
# the scenario), and that run's outputs land where they are asked to.
#
# usage: cli_test.sh TIDE-SIM
set -u

if [ $# -ne 1 ]; then
	echo "usage: $0 TIDE-SIM" >&2
	exit 2
fi
sim=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

# check NAME WANT-CODE WANT-TEXT -- ARGS...: runs tide-sim ARGS, expects the
# exit code and WANT-TEXT somewhere in stdout+stderr (empty: anything).
check() {
	local name=$1 code=$2 text=$3
	shift 4
	"$sim" "$@" >"$tmp/out" 2>&1
	local got=$?
	if [ "$got" -ne "$code" ]; then
		echo "FAIL $name: exit $got, want $code; output:"
		sed 's/^/    /' "$tmp/out" | head -20
		fails=$((fails + 1))
		return
	fi
	if [ -n "$text" ] && ! grep -qF -- "$text" "$tmp/out"; then
		echo "FAIL $name: no '$text' in the output:"
		sed 's/^/    /' "$tmp/out" | head -20
		fails=$((fails + 1))
		return
	fi
	echo "ok $name"
}

cat >"$tmp/good.tsim" <<'EOF'
title  A good scenario
host   client 198.18.0.1
host   server 198.18.0.2
at 0      server listen 80 as L
at 0      client connect server:80 as c   => EINPROGRESS
at 10ms   server accept L as s            => 0
at 20ms   client close c                  => 0
expect at 30ms client c state FIN_WAIT_2
EOF
sed 's/FIN_WAIT_2/ESTABLISHED/' "$tmp/good.tsim" >"$tmp/bad-expect.tsim"
cat >"$tmp/syntax.tsim" <<'EOF'
host client 198.18.0.1
hots server 198.18.0.2
EOF
cat >"$tmp/setting.tsim" <<'EOF'
host client 198.18.0.1
set client net.ipv4.tcp_fin_timout = 30
EOF
cat >"$tmp/impossible.tsim" <<'EOF'
host client 198.18.0.1
host server 198.18.0.2
at 0      server listen 80 as L
at 1ms    server accept L as s
at 2ms    server close s
EOF

check help 0 "docs/scenarios.md" -- --help
check help-examples 0 "tide-sim run four-way-close" -- --help
check no-args 2 "usage: tide-sim list" --
check unknown-command 2 "tide-sim: unknown command 'play'" -- play x
check list 0 "four-way-close" -- list
check list-title 0 "Normal four-way close" -- list
check list-args 2 "list takes no arguments" -- list x
check run-no-name 2 "run needs a scenario" -- run
check missing 2 "tide-sim: no such scenario or file 'no-such-thing'" -- run no-such-thing
check missing-check 2 "tide-sim: no such scenario or file 'no-such-thing'" -- check no-such-thing
check syntax 2 "$tmp/syntax.tsim:2:1: unknown directive 'hots'" -- run "$tmp/syntax.tsim"
check setting 2 "$tmp/setting.tsim:2:12: unknown setting 'net.ipv4.tcp_fin_timout'" -- run "$tmp/setting.tsim"
check set-option 2 "tide-sim: --set net.ipv4.tcp_fin_timout=3: unknown setting 'net.ipv4.tcp_fin_timout'" \
	-- run "$tmp/good.tsim" --set net.ipv4.tcp_fin_timout=3
check set-option-bad 2 "--set wants KEY=VALUE or HOST.KEY=VALUE" -- run "$tmp/good.tsim" --set foo
check set-option-ok 0 "ok      line 8" -- run "$tmp/good.tsim" --set server.tcp_fin_timeout=5 --set=tcp_syncookies=0
check impossible 2 "$tmp/impossible.tsim:5: server: no socket named 's' (the call that was to create it failed)" \
	-- run "$tmp/impossible.tsim"
check unknown-option 2 "unknown option '--pdf' for run" -- run "$tmp/good.tsim" --pdf x
check json-on-check 2 "unknown option '--json' for check" -- check "$tmp/good.tsim" --json
check two-names 2 "one scenario at a time" -- run a b
check run-ok 0 "FIN-WAIT-1   --> " -- run "$tmp/good.tsim"
check run-failed 1 "FAILED  line 8" -- run "$tmp/bad-expect.tsim"
check check-ok 0 "ok good" -- check "$tmp/good.tsim"
check check-ok-count 0 "1 passed, 0 failed" -- check "$tmp/good.tsim"
check check-failed 1 "FAILED bad-expect: line 8: expect at 30ms client c state ESTABLISHED: found FIN_WAIT_2" \
	-- check "$tmp/bad-expect.tsim"
check check-failed-count 1 "0 passed, 1 failed" -- check "$tmp/bad-expect.tsim"
check check-error 2 "unknown directive 'hots'" -- check "$tmp/syntax.tsim"
check builtin 0 "Normal four-way close" -- run four-way-close
check builtin-check 0 "ok four-way-close" -- check four-way-close
check json 0 "" -- run "$tmp/good.tsim" --json
if ! head -c 1 "$tmp/out" | grep -q '{'; then
	echo "FAIL json: the output does not start with '{'"
	fails=$((fails + 1))
fi
check outputs 0 "" -- run four-way-close --pcap "$tmp/x.pcap" --svg "$tmp/x.svg"
for f in x.pcap x.svg; do
	if [ ! -s "$tmp/$f" ]; then
		echo "FAIL outputs: $f was not written"
		fails=$((fails + 1))
	fi
done
check pcap-unwritable 2 "tide-sim: cannot write $tmp/none/x.pcap" -- run four-way-close --pcap "$tmp/none/x.pcap"

if [ "$fails" -ne 0 ]; then
	echo "$fails failed"
	exit 1
fi
echo "all passed"
