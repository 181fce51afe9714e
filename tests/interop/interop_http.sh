#!/usr/bin/env bash
# HTTP between tide and the Linux kernel's TCP, in a namespace of its own:
# curl fetches files from tide-httpd (byte-identical, 0 bytes to 3 MB), keeps
# one connection for several URLs (seen with ss and tide-ss), the server's
# keep-alive limits close connections, and tide-get fetches 5 MB from
# Python's http.server.
. "$(dirname "$0")/lib.sh"

it_init http
it_need_tide TIDE_HTTPD TIDE_SS TIDE_GET
it_need_cmd curl

T=198.18.0.2
L=198.18.0.1
www=$it_tmp/www
mkdir -p "$www/dir"
printf '<html><body>tide says hello</body></html>\n' >"$www/index.html"
: >"$www/empty.txt"
it_random "$www/big.bin" $((3 * 1024 * 1024))
it_random "$www/dir/odd.bin" 100001
for i in 1 2 3; do echo "page $i" >"$www/p$i.txt"; done

it_tide_start httpd 0 "$TIDE_HTTPD" --root "$www" --port 80 \
	--keepalive-timeout 2 --max-keepalive-requests 3 \
	--set net.ipv4.tcp_timewait_len=2 --set net.ipv4.tcp_fin_timeout=3

# --- pages byte-identical -------------------------------------------------------
for f in index.html empty.txt big.bin dir/odd.bin; do
	out=$it_tmp/got.${f//\//_}
	rm -f "$out"
	if it_ns timeout 30 curl -sS --fail -o "$out" "http://$T/$f"; then
		it_check "curl gets /$f byte-identical ($(stat -c %s "$www/$f") bytes)" cmp -s "$www/$f" "$out"
	else
		it_fail "curl gets /$f"
	fi
done
code=$(it_ns timeout 10 curl -sS -o /dev/null -w '%{http_code}' "http://$T/no-such-file")
it_check "a missing file is 404 (got $code)" [ "$code" = 404 ]

# --- keep-alive: several URLs on one connection ---------------------------------
# --rate spaces the requests, so the connection can be watched between
# them: Linux's side with ss, tide's with tide-ss.
it_start keepalive timeout 20 curl -sS --rate 1/s \
	-w '%{num_connects} %{local_port}\n' -o /dev/null "http://$T/p1.txt" \
	-o /dev/null "http://$T/p2.txt" -o /dev/null "http://$T/p3.txt"
: >"$it_tmp/ports.linux"
: >"$it_tmp/ports.tide"
while it_running keepalive; do
	it_conn_lines it_linux_ss "$L:*" "$T:80" |
		awk '$1 == "ESTAB" { split($4, a, ":"); print a[2] }' >>"$it_tmp/ports.linux"
	it_conn_lines it_tide_ss "$T:80" "$L:*" |
		awk '$1 == "ESTAB" { split($5, a, ":"); print a[2] }' >>"$it_tmp/ports.tide"
	sleep 0.1
done
it_wait_exit keepalive 20
it_check "curl fetched three URLs (exit $IT_STATUS)" [ "$IT_STATUS" = 0 ]
lport=$(awk 'NR == 1 { print $2 }' "$it_tmp/keepalive.out")
# One connection made, then reused twice, all from one local port.
got=$(tr '\n' ' ' <"$it_tmp/keepalive.out")
it_check "three requests, one connection: num_connects 1 0 0 on one port ($got)" \
	awk -v p="$lport" '{ c[NR] = $1; if ($2 != p) bad = 1 } END { exit !(NR == 3 && c[1] == 1 && c[2] == 0 && c[3] == 0 && !bad) }' \
	"$it_tmp/keepalive.out"
seen=$(sort -u "$it_tmp/ports.linux" | tr '\n' ' ')
it_check "ss saw one established connection during the three requests, curl's ($seen)" \
	[ "$seen" = "$lport " ]
seen=$(sort -u "$it_tmp/ports.tide" | tr '\n' ' ')
it_check "tide-ss saw one established connection, the same ($seen)" [ "$seen" = "$lport " ]

# --- keep-alive limits --------------------------------------------------------------
# MaxKeepAliveRequests 3: the fourth request needs a second connection.
it_ns timeout 20 curl -sS -w '%{num_connects}\n' -o /dev/null "http://$T/p1.txt" \
	-o /dev/null "http://$T/p2.txt" -o /dev/null "http://$T/p3.txt" \
	-o /dev/null "http://$T/index.html" >"$it_tmp/maxreq.out"
got=$(tr '\n' ' ' <"$it_tmp/maxreq.out")
it_check "max-keepalive-requests 3: four requests take two connections ($got)" \
	[ "$got" = "1 0 0 1 " ]

# KeepAliveTimeout 2 s: an idle connection is closed by tide: tide's side
# goes FIN_WAIT_2 then TIME_WAIT, the client's CLOSE_WAIT.
printf 'GET /index.html HTTP/1.1\r\nHost: %s\r\n\r\n' "$T" >"$it_tmp/req"
it_start idle $IT_PEER connect "$T" 80 send-file "$it_tmp/req" recv-all hold
it_wait_for "idle client connected" 10 grep -q '^connected' "$it_tmp/idle.out" ||
	it_fatal "the idle client could not connect"
iport=$(awk '/^connected/ { split($2, a, ":"); print a[2] }' "$it_tmp/idle.out")
it_wait_state "keep-alive timeout: Linux client CLOSE-WAIT" 6 it_linux_ss "$L:$iport" "$T:80" CLOSE-WAIT
it_wait_state "keep-alive timeout: tide FIN-WAIT-2" 2 it_tide_ss "$T:80" "$L:$iport" FIN-WAIT-2
it_stop idle 2
it_wait_state "after the client's close: tide TIME-WAIT" 3 it_tide_ss "$T:80" "$L:$iport" TIME-WAIT
it_wait_gone "tide's TIME-WAIT ends after tcp_timewait_len=2" 5 it_tide_ss "$T:80" "$L:$iport"
it_stop_clean httpd
it_wait_for "tide0 is gone with tide-httpd" 5 sh -c "! ip netns exec $NS ip link show tide0"

# --- tide-get from Linux's http.server --------------------------------------------
# A client: the device is made beforehand (persistent), with the kernel's
# address, so that the server can bind to it before tide-get starts.
srv=$it_tmp/srv
mkdir -p "$srv"
it_random "$srv/five.bin" $((5 * 1024 * 1024))
it_ns ip tuntap add dev tide0 mode tun || it_fatal "ip tuntap add dev tide0"
it_ns ip addr add "$L/24" dev tide0
it_ns ip link set tide0 up
it_start pyhttp python3 -m http.server --bind "$L" --directory "$srv" 8000
it_wait_for "http.server listens" 10 sh -c "ip netns exec $NS ss -tlnH | grep -q '$L:8000'" ||
	it_fatal "python3 -m http.server did not start"
it_start get "$TIDE_GET" --tun tide0 --addr "$T/24" "http://$L:8000/five.bin" \
	--output "$it_tmp/five.got" --set net.ipv4.tcp_timewait_len=2
if it_wait_exit get 60; then
	it_check "tide-get exits 0 (got $IT_STATUS)" [ "$IT_STATUS" = 0 ]
	it_check "tide-get: 5 MB from http.server byte-identical" cmp -s "$srv/five.bin" "$it_tmp/five.got"
else
	it_fail "tide-get ends within 60 s"
fi
it_stop pyhttp 3

it_finish
