#!/usr/bin/env bash
# A connection's states on both sides, through the whole lifecycle, between
# tide and the Linux kernel's TCP: ss -tan shows Linux's side, tide-ss
# tide's. tide's side is tide-peer (scripted, so it holds each state as long
# as the test needs), Linux's is peer.py.
#
#  A  tide closes first: tide FIN_WAIT_2 -> TIME_WAIT, Linux CLOSE_WAIT ->
#     LAST_ACK -> gone
#  B  Linux closes first: Linux FIN_WAIT_2 -> TIME_WAIT, tide CLOSE_WAIT ->
#     LAST_ACK -> gone
#  C  a RST from each side: Linux's SO_LINGER {1, 0} close, tide's close
#     with unread data and SO_LINGER {1, 0}: the other side gets ECONNRESET
#     and the counters (tide-nstat, Linux's nstat) move.
#
# The short states (Linux's LAST_ACK, tide's) last one round trip on a TUN:
# to watch them, the ACK that would end them is held back by an nftables
# rule in the namespace for a moment; the retransmitted FIN then closes the
# connection once the rule is gone.
. "$(dirname "$0")/lib.sh"

it_init states
it_need_tide TIDE_PEER TIDE_SS TIDE_NSTAT
it_need_cmd nft nstat

TSET=(--set net.ipv4.tcp_timewait_len=2 --set net.ipv4.tcp_fin_timeout=10)
it_sysctl net.ipv4.tcp_fin_timeout=10

# hold_acks IN|OUT MATCH...: drop the packets that match, in the kernel's
# input (from tide) or output (to tide); release_acks removes the rule.
hold_acks() {
	local hook=$1
	shift
	it_ns nft add table inet hold
	it_ns nft add chain inet hold c "{ type filter hook $hook priority 0; }"
	it_ns nft add rule inet hold c "$@" counter drop
}
release_acks() { it_ns nft delete table inet hold; }

# Timers shown with -o: the line's timer field, e.g. timer:(timewait,1.2sec,0).
timer_of() { it_conn_lines "$1" "$2" "$3" | grep -o 'timer:([a-z]*' | head -1 | cut -d'(' -f2; }

# --- A: tide closes first -----------------------------------------------------
T=198.18.1.2 L=198.18.1.1
it_log "A: tide closes first ($T -> $L:5001)"
it_tun_add 1
it_start a_linux $IT_PEER listen "$L" 5001 eof wait-file "$it_tmp/a.lclose" close hold
it_wait_for "A: Linux listens" 5 grep -q listening "$it_tmp/a_linux.out"
it_tide_client a_tide 1 "$TIDE_PEER" "${TSET[@]}" connect "$L" 5001 wait-file "$it_tmp/a.tclose" close
it_wait_for "A: tide connected" 10 grep -q '^connected' "$it_tmp/a_tide.out" ||
	it_fatal "A: tide-peer could not connect"
tp=$(awk '/^connected/ { split($2, a, ":"); print a[2] }' "$it_tmp/a_tide.out")
it_wait_state "A: tide ESTABLISHED" 5 it_tide_ss "$T:$tp" "$L:5001" ESTAB
it_wait_state "A: Linux ESTAB" 5 it_linux_ss "$L:5001" "$T:$tp" ESTAB
touch "$it_tmp/a.tclose"
it_wait_state "A: tide FIN-WAIT-2 after its close" 5 it_tide_ss "$T:$tp" "$L:5001" FIN-WAIT-2
it_wait_state "A: Linux CLOSE-WAIT after tide's FIN" 5 it_linux_ss "$L:5001" "$T:$tp" CLOSE-WAIT
it_wait_for "A: Linux's application read EOF" 5 grep -q '^eof' "$it_tmp/a_linux.out"
it_check "A: tide's orphaned FIN-WAIT-2 has a timer ($(timer_of it_tide_ss "$T:$tp" "$L:5001"))" \
	[ -n "$(timer_of it_tide_ss "$T:$tp" "$L:5001")" ]
# Linux closes: its LAST_ACK lasts until tide's ACK gets in.
hold_acks input ip saddr "$T" tcp sport "$tp"
touch "$it_tmp/a.lclose"
it_wait_state "A: Linux LAST-ACK after its close" 5 it_linux_ss "$L:5001" "$T:$tp" LAST-ACK
it_wait_state "A: tide TIME-WAIT after Linux's FIN" 5 it_tide_ss "$T:$tp" "$L:5001" TIME-WAIT
it_check "A: tide's TIME-WAIT timer is timewait ($(timer_of it_tide_ss "$T:$tp" "$L:5001"))" \
	[ "$(timer_of it_tide_ss "$T:$tp" "$L:5001")" = timewait ]
sleep 0.5
release_acks
it_wait_gone "A: Linux's connection ends once tide's ACK gets through" 6 it_linux_ss "$L:5001" "$T:$tp"
it_wait_gone "A: tide's TIME-WAIT ends (tcp_timewait_len=2)" 6 it_tide_ss "$T:$tp" "$L:5001"
it_stop_clean a_tide
it_stop a_linux 2

# --- B: Linux closes first ---------------------------------------------------
T=198.18.2.2 L=198.18.2.1
it_log "B: Linux closes first ($L -> $T:5002)"
it_tide_start b_tide 2 "$TIDE_PEER" "${TSET[@]}" listen 5002 eof wait-file "$it_tmp/b.tclose" close
it_start b_linux $IT_PEER connect "$T" 5002 wait-file "$it_tmp/b.lclose" close hold
it_wait_for "B: Linux connected" 10 grep -q '^connected' "$it_tmp/b_linux.out" ||
	it_fatal "B: peer.py could not connect to tide-peer"
lp=$(awk '/^connected/ { split($2, a, ":"); print a[2] }' "$it_tmp/b_linux.out")
it_wait_state "B: Linux ESTAB" 5 it_linux_ss "$L:$lp" "$T:5002" ESTAB
it_wait_state "B: tide ESTABLISHED" 5 it_tide_ss "$T:5002" "$L:$lp" ESTAB
touch "$it_tmp/b.lclose"
it_wait_state "B: Linux FIN-WAIT-2 after its close" 5 it_linux_ss "$L:$lp" "$T:5002" FIN-WAIT-2
it_wait_state "B: tide CLOSE-WAIT after Linux's FIN" 5 it_tide_ss "$T:5002" "$L:$lp" CLOSE-WAIT
it_wait_for "B: tide's application read EOF" 5 grep -q '^eof' "$it_tmp/b_tide.out"
# tide closes: its LAST_ACK lasts until Linux's ACK gets out.
hold_acks output ip daddr "$T" tcp dport 5002
touch "$it_tmp/b.tclose"
it_wait_state "B: tide LAST-ACK after its close" 5 it_tide_ss "$T:5002" "$L:$lp" LAST-ACK
it_wait_state "B: Linux TIME-WAIT after tide's FIN" 5 it_linux_ss "$L:$lp" "$T:5002" TIME-WAIT
it_check "B: ss shows Linux's TIME-WAIT timer ($(timer_of it_linux_ss "$L:$lp" "$T:5002"))" \
	[ "$(timer_of it_linux_ss "$L:$lp" "$T:5002")" = timewait ]
it_wait_for "B: tide retransmits its FIN" 5 sh -c "[ \$(ip netns exec $NS nft list table inet hold | grep -o 'packets [0-9]*' | cut -d' ' -f2) -ge 2 ]"
it_check "B: tide's LAST-ACK has the retransmission timer ($(timer_of it_tide_ss "$T:5002" "$L:$lp"))" \
	[ "$(timer_of it_tide_ss "$T:5002" "$L:$lp")" = on ]
release_acks
it_wait_gone "B: tide's connection ends once Linux's ACK gets through" 6 it_tide_ss "$T:5002" "$L:$lp"
it_check "B: Linux stays in TIME-WAIT" it_has_state it_linux_ss "$L:$lp" "$T:5002" TIME-WAIT
it_stop_clean b_tide
it_stop b_linux 2

# --- C: resets ------------------------------------------------------------------
linux_counter() { it_ns nstat -asz "$1" | awk -v n="$1" '$1 == n { print $2 }'; }

# C1: Linux resets (SO_LINGER {1, 0}); tide was reading.
T=198.18.3.2 L=198.18.3.1
it_log "C1: Linux's SO_LINGER {1, 0} close resets ($L -> $T:5003)"
rst0=$(linux_counter TcpOutRsts)
it_tide_start c1_tide 3 "$TIDE_PEER" "${TSET[@]}" listen 5003 recv-all -
it_start c1_linux $IT_PEER connect "$T" 5003 send-random 1000 sleep 0.3 linger0 close
it_wait_for "C1: tide's recv fails" 5 grep -q '^error' "$it_tmp/c1_tide.out"
it_check "C1: tide's recv gets ECONNRESET ($(grep '^error' "$it_tmp/c1_tide.out"))" \
	grep -q '^error ECONNRESET' "$it_tmp/c1_tide.out"
it_check "C1: tide-nstat EstabResets 1 ($(it_nstat EstabResets))" [ "$(it_nstat EstabResets)" = 1 ]
it_check "C1: Linux's TcpOutRsts moved ($rst0 -> $(linux_counter TcpOutRsts))" \
	[ "$(linux_counter TcpOutRsts)" -gt "$rst0" ]
lp=$(awk '/^connected/ { split($2, a, ":"); print a[2] }' "$it_tmp/c1_linux.out")
it_wait_gone "C1: no connection left on tide's side" 3 it_tide_ss "$T:5003" "$L:$lp"
it_check "C1: none on Linux's (no TIME-WAIT after a reset)" it_no_conn it_linux_ss "$L:$lp" "$T:5003"
it_stop_clean c1_tide
it_wait_exit c1_linux 5

# C2: tide closes with unread data: RST (TCPAbortOnClose); Linux was reading.
T=198.18.4.2 L=198.18.4.1
it_log "C2: tide's close with unread data resets ($T -> $L:5004)"
er0=$(linux_counter TcpEstabResets)
it_tun_add 4
it_start c2_linux $IT_PEER listen "$L" 5004 send-random 1000 recv-all
it_wait_for "C2: Linux listens" 5 grep -q listening "$it_tmp/c2_linux.out"
it_tide_client c2_tide 4 "$TIDE_PEER" "${TSET[@]}" connect "$L" 5004 wait-readable close
it_wait_for "C2: Linux's recv fails" 10 grep -q '^error' "$it_tmp/c2_linux.out"
it_check "C2: Linux's recv gets ECONNRESET ($(grep '^error' "$it_tmp/c2_linux.out"))" \
	grep -q '^error ECONNRESET' "$it_tmp/c2_linux.out"
it_check "C2: tide-nstat OutRsts 1 ($(it_nstat OutRsts))" [ "$(it_nstat OutRsts)" = 1 ]
it_check "C2: tide-nstat TCPAbortOnClose 1 ($(it_nstat TCPAbortOnClose))" [ "$(it_nstat TCPAbortOnClose)" = 1 ]
it_check "C2: Linux's TcpEstabResets moved ($er0 -> $(linux_counter TcpEstabResets))" \
	[ "$(linux_counter TcpEstabResets)" -gt "$er0" ]
it_check "C2: no connection left on tide's side" it_no_conn it_tide_ss "$T:*" "$L:5004"
it_check "C2: none on Linux's" it_no_conn it_linux_ss "$L:5004" "$T:*"
it_stop_clean c2_tide
it_wait_exit c2_linux 5

# C3: tide's SO_LINGER {1, 0} close (TCPAbortOnData).
T=198.18.5.2 L=198.18.5.1
it_log "C3: tide's SO_LINGER {1, 0} close resets ($T -> $L:5005)"
it_tun_add 5
it_start c3_linux $IT_PEER listen "$L" 5005 recv-all
it_wait_for "C3: Linux listens" 5 grep -q listening "$it_tmp/c3_linux.out"
it_tide_client c3_tide 5 "$TIDE_PEER" "${TSET[@]}" connect "$L" 5005 sleep 0.3 linger0 close
it_wait_for "C3: Linux's recv fails" 10 grep -q '^error' "$it_tmp/c3_linux.out"
it_check "C3: Linux's recv gets ECONNRESET ($(grep '^error' "$it_tmp/c3_linux.out"))" \
	grep -q '^error ECONNRESET' "$it_tmp/c3_linux.out"
it_check "C3: tide-nstat OutRsts 1 ($(it_nstat OutRsts))" [ "$(it_nstat OutRsts)" = 1 ]
it_check "C3: tide-nstat TCPAbortOnData 1 ($(it_nstat TCPAbortOnData))" [ "$(it_nstat TCPAbortOnData)" = 1 ]
it_check "C3: no connection left on tide's side" it_no_conn it_tide_ss "$T:*" "$L:5005"
it_stop_clean c3_tide
it_wait_exit c3_linux 5

it_finish
