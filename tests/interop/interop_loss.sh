#!/usr/bin/env bash
# Lost FINs between tide and the Linux kernel's TCP. Linux's applications
# run in a second namespace behind the test's namespace, which routes
# between them and tide's TUN devices (lib.sh, it_routed_peer), so that an
# nftables rule in its forward hook loses a packet on the way as a real
# network would: the sender does not know and retransmits. The rule drops
# the first FIN of each connection (a conntrack mark makes it one-shot),
# in each direction and for each side closing first. The FIN is
# retransmitted, the other side takes the copy, and both sides still close
# cleanly: no connection left once the timers have run.
#
#  1  Linux's first FIN lost: Linux retransmits it (its nstat's
#     TcpRetransSegs), tide ACKs the copy.
#     a  Linux closes first, against tide-echo (4 MB echoed intact)
#     b  tide closes first (tide-peer), Linux's FIN from LAST_ACK is lost
#  2  tide's first FIN lost: tide retransmits it (tide-nstat RetransSegs,
#     tide-ss's timer on FIN-WAIT-1 / LAST-ACK).
#     a  tide closes first (tide-peer)
#     b  Linux closes first, against tide-echo: tide's FIN from LAST_ACK
. "$(dirname "$0")/lib.sh"

it_init loss
it_need_tide TIDE_ECHO TIDE_PEER TIDE_SS TIDE_NSTAT
it_need_cmd nft nstat
it_routed_peer

# tide's minimum RTO is raised to 1 s so that its retransmission timer can
# be watched with tide-ss before it fires.
TSET=(--set net.ipv4.tcp_timewait_len=2 --set net.ipv4.tcp_fin_timeout=5
	--set net.ipv4.tcp_rto_min_ms=1000)
ip netns exec "$PNS" sysctl -qw net.ipv4.tcp_fin_timeout=5

# drop_first_fin FROM-IFACE: the router loses the first FIN of every
# connection that comes in on the device (tpeer0: Linux's, tideN: tide's).
drop_first_fin() {
	it_ns nft add table inet loss
	it_ns nft add chain inet loss c "{ type filter hook forward priority 0; }"
	it_ns nft add rule inet loss c iifname "$1" tcp flags \& fin == fin ct mark != 0x1 \
		ct mark set 0x1 counter drop
}
dropped() { it_ns nft list table inet loss | grep -o 'packets [0-9]*' | cut -d' ' -f2; }
dropped_is() { [ "$(dropped)" = "$1" ]; }
no_rule() { it_ns nft delete table inet loss; }
linux_counter() { ip netns exec "$LNS" nstat -asz "$1" | awk -v n="$1" '$1 == n { print $2 + 0 }'; }
timer_of() { it_conn_lines "$1" "$2" "$3" | grep -o 'timer:([a-z]*' | head -1 | cut -d'(' -f2; }
port_of() { awk '/^connected/ { split($2, a, ":"); print a[2]; exit }' "$1"; }

TE=198.18.1.2 LE=$PEER
it_tide_start echo 1 "$TIDE_ECHO" --port 7 "${TSET[@]}"

# --- 1a: Linux closes first, its FIN is lost ------------------------------------
it_log "1a: Linux's FIN lost, Linux closing first (echo)"
drop_first_fin tpeer0
re0=$(linux_counter TcpRetransSegs)
it_start_in "$PNS" e1 timeout 30 $IT_PEER connect "$TE" 7 echo $((4 * 1024 * 1024)) close
it_wait_exit e1 40
it_check "1a: 4 MB echoed intact (exit $IT_STATUS)" \
	awk '$1 == "echo" { ok = ($2 == 4194304 && $3 == $4) } END { exit !ok }' "$it_tmp/e1.out"
lp=$(port_of "$it_tmp/e1.out")
it_check "1a: Linux's first FIN was dropped (dropped: $(dropped))" dropped_is 1
it_check "1a: Linux retransmitted it (TcpRetransSegs $re0 -> $(linux_counter TcpRetransSegs))" \
	[ "$(linux_counter TcpRetransSegs)" -gt "$re0" ]
it_wait_state "1a: Linux TIME-WAIT" 5 it_linux_ss "$LE:$lp" "$TE:7" TIME-WAIT
it_wait_gone "1a: nothing left on tide's side" 5 it_tide_ss "$TE:7" "$LE:$lp"
no_rule

# --- 2b: Linux closes first, tide's FIN (LAST-ACK) is lost ---------------------
it_log "2b: tide's FIN lost, Linux closing first (echo)"
rt0=$(it_nstat RetransSegs)
drop_first_fin tide1
it_start_in "$PNS" e2 timeout 30 $IT_PEER connect "$TE" 7 echo 100000 close
it_wait_exit e2 40
it_check "2b: 100000 bytes echoed intact (exit $IT_STATUS)" \
	awk '$1 == "echo" { ok = ($2 == 100000 && $3 == $4) } END { exit !ok }' "$it_tmp/e2.out"
lp=$(port_of "$it_tmp/e2.out")
it_wait_for "2b: tide's FIN dropped" 5 dropped_is 1
it_wait_state "2b: tide LAST-ACK while its FIN is lost" 3 it_tide_ss "$TE:7" "$LE:$lp" LAST-ACK
it_check "2b: the LAST-ACK's retransmission timer runs ($(timer_of it_tide_ss "$TE:7" "$LE:$lp"))" \
	[ "$(timer_of it_tide_ss "$TE:7" "$LE:$lp")" = on ]
it_wait_state "2b: Linux TIME-WAIT once the copy arrives" 5 it_linux_ss "$LE:$lp" "$TE:7" TIME-WAIT
it_wait_gone "2b: nothing left on tide's side" 5 it_tide_ss "$TE:7" "$LE:$lp"
it_check "2b: tide-nstat RetransSegs moved ($rt0 -> $(it_nstat RetransSegs))" \
	[ "$(it_nstat RetransSegs)" -gt "$rt0" ]
no_rule
it_stop_clean echo

# --- 1b: tide closes first, Linux's FIN (LAST-ACK) is lost ----------------------
T=198.18.2.2 L=$PEER
it_log "1b: Linux's FIN lost, tide closing first (tide-peer)"
it_tun_add 2
re0=$(linux_counter TcpRetransSegs)
it_start_in "$PNS" l1 $IT_PEER listen "$L" 6001 eof close hold
it_wait_for "1b: Linux listens" 5 grep -q listening "$it_tmp/l1.out"
drop_first_fin tpeer0
it_tide_client t1 2 "$TIDE_PEER" "${TSET[@]}" connect "$L" 6001 close
it_wait_for "1b: Linux closed" 10 grep -q '^closed' "$it_tmp/l1.out" ||
	it_fail "1b: peer.py did not see the EOF and close"
tp=$(awk '/^connected/ { split($3, a, ":"); print a[2]; exit }' "$it_tmp/l1.out")
it_wait_for "1b: Linux's FIN dropped" 5 dropped_is 1
it_wait_state "1b: tide TIME-WAIT once the copy arrives" 5 it_tide_ss "$T:$tp" "$L:6001" TIME-WAIT
it_check "1b: Linux retransmitted its FIN (TcpRetransSegs $re0 -> $(linux_counter TcpRetransSegs))" \
	[ "$(linux_counter TcpRetransSegs)" -gt "$re0" ]
it_wait_gone "1b: nothing left on Linux's side" 5 it_linux_ss "$L:6001" "$T:$tp"
it_wait_gone "1b: nothing left on tide's side after TIME-WAIT" 5 it_tide_ss "$T:$tp" "$L:6001"
no_rule
it_stop_clean t1
it_stop l1 2

# --- 2a: tide closes first, its FIN is lost --------------------------------------
T=198.18.3.2 L=$PEER
it_log "2a: tide's FIN lost, tide closing first (tide-peer)"
it_tun_add 3
it_start_in "$PNS" l2 $IT_PEER listen "$L" 6002 eof close hold
it_wait_for "2a: Linux listens" 5 grep -q listening "$it_tmp/l2.out"
drop_first_fin tide3
it_tide_client t2 3 "$TIDE_PEER" "${TSET[@]}" connect "$L" 6002 close
it_wait_for "2a: tide connected" 10 grep -q '^connected' "$it_tmp/t2.out" ||
	it_fatal "2a: tide-peer could not connect"
tp=$(port_of "$it_tmp/t2.out")
it_wait_for "2a: tide's FIN dropped" 5 dropped_is 1
it_check "2a: tide FIN-WAIT-1 while its FIN is lost" it_has_state it_tide_ss "$T:$tp" "$L:6002" FIN-WAIT-1
it_check "2a: its retransmission timer runs ($(timer_of it_tide_ss "$T:$tp" "$L:6002"))" \
	[ "$(timer_of it_tide_ss "$T:$tp" "$L:6002")" = on ]
it_check "2a: Linux still ESTAB" it_has_state it_linux_ss "$L:6002" "$T:$tp" ESTAB
it_wait_for "2a: Linux read EOF and closed" 5 grep -q '^closed' "$it_tmp/l2.out" ||
	it_fail "2a: Linux's application did not see the retransmitted FIN"
it_check "2a: tide-nstat RetransSegs >= 1 ($(it_nstat RetransSegs))" [ "$(it_nstat RetransSegs)" -ge 1 ]
it_wait_gone "2a: nothing left on Linux's side" 5 it_linux_ss "$L:6002" "$T:$tp"
it_wait_gone "2a: nothing left on tide's side after TIME-WAIT" 6 it_tide_ss "$T:$tp" "$L:6002"
no_rule
it_stop_clean t2
it_stop l2 2

it_finish
