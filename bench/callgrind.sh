#!/bin/sh
# Instructions per lifecycle (issue 6, item 2), counted by callgrind.
#
# Runs `lifecycle --count N` for N = 1000 and N = 2000 under
# valgrind --tool=callgrind; (Ir(2000) - Ir(1000)) / 1000 is the count of
# instructions for one full lifecycle, both ends (connect, 64-byte request,
# 64-byte response, active close, TIME_WAIT entry and expiry), start-up
# cost cancelled. Prints one JSON line on stdout; the 10 functions with the
# most instructions per lifecycle (same difference, per function) on stderr.
#
#   bench/callgrind.sh [path/to/lifecycle] [--quick]
set -eu

here=$(cd "$(dirname "$0")" && pwd)
bin=""
n1=1000
n2=2000
for a in "$@"; do
	case "$a" in
	--quick) n1=200; n2=400 ;;
	*) bin=$a ;;
	esac
done
if [ -z "$bin" ]; then
	for d in build-bench build-bench1 build; do
		if [ -x "$here/../$d/bench/lifecycle" ]; then
			bin="$here/../$d/bench/lifecycle"
			break
		fi
	done
fi
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
	echo "callgrind.sh: lifecycle binary not found (build with -DTIDE_BENCH=ON)" >&2
	exit 1
fi
if ! command -v valgrind >/dev/null 2>&1; then
	echo "callgrind.sh: valgrind not installed (apt-get install -y valgrind)" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

for n in $n1 $n2; do
	valgrind --tool=callgrind --callgrind-out-file="$tmp/cg.$n" \
		"$bin" --count "$n" >/dev/null 2>"$tmp/log.$n" || {
		cat "$tmp/log.$n" >&2
		exit 1
	}
	# Total Ir from the "summary:" / "totals:" line.
	awk '/^(summary|totals):/ { print $2; exit }' "$tmp/cg.$n" >"$tmp/ir.$n"
	# Inclusive of nothing: self Ir per function.
	callgrind_annotate --threshold=100 "$tmp/cg.$n" 2>/dev/null |
		awk '/^ *[0-9,]+ .*:/ { v = $1; gsub(",", "", v); $1 = ""; sub(/^ /, "");
			sub(/ \[.*\]$/, ""); sub(/^\( *[0-9.]+%\) */, "");
			sub(/^\?\?\?:/, ""); print v "\t" $0 }' >"$tmp/fn.$n"
done

ir1=$(cat "$tmp/ir.$n1")
ir2=$(cat "$tmp/ir.$n2")
per=$(awk -v a="$ir1" -v b="$ir2" -v d=$((n2 - n1)) 'BEGIN { printf "%.1f", (b - a) / d }')

echo "callgrind.sh: Ir($n1) = $ir1, Ir($n2) = $ir2: $per instructions per lifecycle" >&2
echo "callgrind.sh: top 10 functions, instructions per lifecycle (self):" >&2
awk -F '\t' -v d=$((n2 - n1)) -v n1="$tmp/fn.$n1" '
	FILENAME == n1 { a[$2] = $1; next }
	{ printf "%10.1f  %s\n", ($1 - a[$2]) / d, $2 }' "$tmp/fn.$n1" "$tmp/fn.$n2" |
	sort -rn | head -10 >&2

meets=$(awk -v p="$per" 'BEGIN { print (p <= 5000) ? "true" : "false" }')
printf '{"bench":"lifecycle","name":"instructions per lifecycle","value":%s,"unit":"instructions","reference":null,"reference_value":null,"ratio":null,"target":"\\u2264 5000","meets_target":%s,"note":"callgrind Ir, (Ir(N=%d) - Ir(N=%d)) / %d, both ends, sequential, TIME_WAIT expiry included"}\n' \
	"$per" "$meets" "$n2" "$n1" $((n2 - n1))
