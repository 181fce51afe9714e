#!/usr/bin/env bash
# Bulk transfers of several MB in both directions between tide and the
# Linux kernel's TCP, checked with SHA-256:
#   tide-echo   <-> Python clients (4 MB out and back; three at once)
#   tide-httpd   -> curl (16 MB)
#   tide-get    <-  socat as an HTTP/1.0 server (16 MB, body ended by close)
#   tide-peer    -> socat as a server that stores what it gets (8 MB)
#   tide-peer   <-  socat as a server that sends a file (8 MB)
. "$(dirname "$0")/lib.sh"

it_init bulk
it_need_tide TIDE_ECHO TIDE_HTTPD TIDE_GET TIDE_PEER TIDE_SS
it_need_cmd curl socat

TSET=(--set net.ipv4.tcp_timewait_len=2 --set net.ipv4.tcp_fin_timeout=5)
MB=$((1024 * 1024))
www=$it_tmp/www
mkdir -p "$www"
it_random "$www/16m.bin" $((16 * MB))
it_random "$it_tmp/8m.bin" $((8 * MB))

echo_ok() { awk -v n="$2" '$1 == "echo" { ok = ($2 == n && $3 == $4) } END { exit !ok }' "$1"; }

# --- tide-echo: both directions at once ----------------------------------------
T=198.18.1.2 L=198.18.1.1
it_tide_start echo 1 "$TIDE_ECHO" --port 7 "${TSET[@]}"
it_start e0 timeout 60 $IT_PEER connect "$T" 7 echo $((4 * MB)) close
it_wait_exit e0 70
it_check "tide-echo: 4 MB sent and echoed back identical (exit $IT_STATUS)" echo_ok "$it_tmp/e0.out" $((4 * MB))
for i in 1 2 3; do
	it_start "e$i" timeout 60 $IT_PEER connect "$T" 7 echo $((2 * MB)) close
done
for i in 1 2 3; do
	it_wait_exit "e$i" 70
	it_check "tide-echo: client $i of 3 at once, 2 MB identical (exit $IT_STATUS)" echo_ok "$it_tmp/e$i.out" $((2 * MB))
done
it_wait_for "echo's connections have ended" 10 it_no_conn it_tide_ss "$T:7" "$L:*"
it_check "tide-ss: only the listener is left on port 7" it_no_conn it_tide_ss "$T:7" "$L:*"
it_stop_clean echo

# --- tide-httpd -> curl -----------------------------------------------------------
T=198.18.2.2 L=198.18.2.1
it_tide_start httpd 2 "$TIDE_HTTPD" --root "$www" --port 80 "${TSET[@]}"
if it_ns timeout 60 curl -sS --fail -o "$it_tmp/16m.curl" "http://$T/16m.bin"; then
	it_check "curl <- tide-httpd: 16 MB identical" cmp -s "$www/16m.bin" "$it_tmp/16m.curl"
else
	it_fail "curl <- tide-httpd: 16 MB"
fi
it_stop_clean httpd

# --- tide-get <- socat (HTTP/1.0, the body ends with the connection) ----------
T=198.18.3.2 L=198.18.3.1
it_tun_add 3
printf 'HTTP/1.0 200 OK\r\nContent-Type: application/octet-stream\r\n\r\n' >"$it_tmp/head"
cat "$it_tmp/head" "$www/16m.bin" >"$it_tmp/response"
# socat answers after it has read the request head (up to the blank line).
it_start socat_http socat -T 30 "TCP-LISTEN:8080,bind=$L,reuseaddr" \
	"SYSTEM:sed -u '/^\r\$/q' >/dev/null; cat $it_tmp/response"
it_wait_for "socat listens on $L:8080" 5 sh -c "ip netns exec $NS ss -tlnH | grep -q '$L:8080'"
it_tide_client get 3 "$TIDE_GET" "http://$L:8080/16m.bin" --output "$it_tmp/16m.get" "${TSET[@]}"
if it_wait_exit get 70; then
	it_check "tide-get <- socat: exit 0 (got $IT_STATUS)" [ "$IT_STATUS" = 0 ]
	it_check "tide-get <- socat: 16 MB identical" cmp -s "$www/16m.bin" "$it_tmp/16m.get"
else
	it_fail "tide-get <- socat: ends within 70 s"
fi
it_stop socat_http 2

# --- tide-peer -> socat, and socat -> tide-peer ---------------------------------
T=198.18.4.2 L=198.18.4.1
it_tun_add 4
it_start sink socat -u -T 30 "TCP-LISTEN:9000,bind=$L,reuseaddr" "CREATE:$it_tmp/8m.sink"
it_wait_for "socat listens on $L:9000" 5 sh -c "ip netns exec $NS ss -tlnH | grep -q '$L:9000'"
it_tide_client up 4 "$TIDE_PEER" "${TSET[@]}" connect "$L" 9000 send-file "$it_tmp/8m.bin" close
it_wait_exit sink 60
it_check "tide-peer -> socat: socat ends well (exit $IT_STATUS)" [ "$IT_STATUS" = 0 ]
it_check "tide-peer -> socat: 8 MB identical" cmp -s "$it_tmp/8m.bin" "$it_tmp/8m.sink"
it_stop_clean up

it_start source socat -u -T 30 "OPEN:$it_tmp/8m.bin" "TCP-LISTEN:9001,bind=$L,reuseaddr"
it_wait_for "socat listens on $L:9001" 5 sh -c "ip netns exec $NS ss -tlnH | grep -q '$L:9001'"
it_tide_client down 4 "$TIDE_PEER" "${TSET[@]}" connect "$L" 9001 recv-all "$it_tmp/8m.down" close
it_wait_for "tide-peer received everything" 60 grep -q '^recv' "$it_tmp/down.out"
it_check "socat -> tide-peer: 8 MB identical" cmp -s "$it_tmp/8m.bin" "$it_tmp/8m.down"
it_wait_exit source 10
it_stop_clean down

it_finish
