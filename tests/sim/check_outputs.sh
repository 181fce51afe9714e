#!/usr/bin/env bash
# Checks tide-sim's outputs with the tools people open them with:
#   the SVG is well-formed XML (xmllint), and
#   tshark reads the pcap, finds no malformed packet or bad checksum, and
#   sees the expected packets with the expected TCP flags.
# usage: check_outputs.sh SIM_SAMPLE OUTDIR [TIDE_SIM]
# SIM_SAMPLE writes a hand-built model's outputs (tests/sim/sim_sample.c);
# with TIDE_SIM, every built-in scenario's outputs are checked too.
set -eu
sample=$1 out=$2 sim=${3:-}
mkdir -p "$out"
fail=0
err() { echo "check_outputs: $*" >&2; fail=1; }

for tool in xmllint tshark; do
  command -v $tool >/dev/null || { echo "check_outputs: $tool is missing (make deps)" >&2; exit 1; }
done

# tshark complains about running as root on stderr; that is not an error.
tsh() { tshark "$@" 2>/dev/null; }

# Reads a pcap once; fails on what Wireshark would flag (malformed packets,
# bad IP or TCP checksums, any expert error); sets $npkts.
check_pcap_clean() {
  local fields bad
  fields=$(tsh -r "$1" -o tcp.check_checksum:TRUE -o ip.check_checksum:TRUE -T fields \
           -e tcp.checksum.status -e ip.checksum.status -e _ws.expert.severity -e _ws.malformed)
  npkts=$(printf '%s' "$fields" | grep -c '' || true)
  # 1 is "good" for both checksums; 8388608 is the expert "error" level.
  bad=$(printf '%s\n' "$fields" | awk -F'\t' 'NF && ($1 != 1 || $2 != 1 || $3 ~ /8388608/ || $4 != "")' | wc -l)
  [ "$bad" -eq 0 ] || err "$1: $bad packets tshark finds malformed or with bad checksums"
}

# The hand-built four-way close: 11 packets, these flags and numbers.
"$sample" "$out/sample" || err "sim_sample failed"
"$sample" "$out/zoo" zoo || err "sim_sample zoo failed"
xmllint --noout "$out/sample.svg" "$out/zoo.svg" || err "SVG is not well-formed XML"
check_pcap_clean "$out/sample.pcap"
[ "$npkts" -eq 11 ] || err "tshark reads $npkts packets in the sample, not 11"
got=$(tsh -r "$out/sample.pcap" -T fields -e frame.time_relative -e tcp.flags -e tcp.seq_raw -e tcp.ack_raw -e tcp.len)
want=$(printf '%s\n' \
  '0.000000000	0x0002	100	0	0' \
  '0.001000000	0x0012	300	101	0' \
  '0.002000000	0x0010	101	301	0' \
  '0.020000000	0x0018	101	301	100' \
  '0.061000000	0x0010	301	201	0' \
  '0.100000000	0x0011	201	301	0' \
  '0.312000000	0x0011	201	301	0' \
  '0.313000000	0x0010	301	202	0' \
  '0.313000000	0x0010	301	202	0' \
  '0.400000000	0x0011	301	202	0' \
  '0.401000000	0x0010	202	302	0')
if [ "$got" != "$want" ]; then
  err "tshark does not read the sample pcap as expected"
  diff <(echo "$want") <(echo "$got") >&2 || true
fi
# Wireshark's own analysis must see the retransmitted FIN for what it is.
[ "$(tsh -r "$out/sample.pcap" -Y tcp.analysis.retransmission | wc -l)" -eq 1 ] ||
  err "tshark does not see exactly one retransmission in the sample"

# Every built-in scenario, through tide-sim itself: as many packets in the
# pcap as segments in the JSON, a clean capture and a well-formed SVG.
if [ -n "$sim" ]; then
  names=$("$sim" list | awk '{print $1}')
  [ -n "$names" ] || err "tide-sim list printed nothing"
  for n in $names; do
    # Exit status 1 is a failed expectation: the runner's business, and
    # its outputs are still written. A sanitizer's report is ours.
    rc=0
    "$sim" run "$n" --json --pcap "$out/$n.pcap" --svg "$out/$n.svg" >"$out/$n.json" 2>"$out/$n.err" || rc=$?
    if [ "$rc" -gt 1 ] || grep -qE 'Sanitizer|runtime error' "$out/$n.err"; then
      err "tide-sim run $n failed (exit status $rc)"
      cat "$out/$n.err" >&2
      continue
    fi
    xmllint --noout "$out/$n.svg" || err "$n: SVG is not well-formed XML"
    segs=$(grep -c '"type": "segment"' "$out/$n.json" || true)
    check_pcap_clean "$out/$n.pcap"
    [ "$segs" -eq "$npkts" ] || err "$n: $segs segments in the JSON but $npkts packets in the pcap"
  done
fi
exit $fail
