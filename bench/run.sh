#!/usr/bin/env bash
# make bench: builds the benchmarks (Release, no sanitizers), runs every one,
# gathers their figures (one JSON object per line each) into
# bench/results/latest.json and prints them as a table, each figure beside
# the reference measured in the same run and the ratio between them.
# QUICK=1 makes every benchmark do a short smoke run.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
build=${BENCH_BUILD:-build-bench}
[ -f bench/deps.sh ] && bash bench/deps.sh
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DTIDE_SANITIZE=OFF -DTIDE_TESTS=OFF \
      -DTIDE_BENCH=ON >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
quick=()
[ "${QUICK:-0}" = 1 ] && quick=(--quick)
lines=$(mktemp)
trap 'rm -f "$lines"' EXIT
run() {
	local what=$1; shift
	echo "== $what" >&2
	if ! "$@" "${quick[@]}" >>"$lines"; then
		echo "bench: $what failed (its figures are missing from the table)" >&2
	fi
}
for prog in lifecycle bulk memory timers; do
	[ -x "$build/bench/$prog" ] && run "$prog" "$build/bench/$prog"
done
[ -f bench/callgrind.sh ] && run callgrind bash bench/callgrind.sh "$build/bench/lifecycle"
if [ -f bench/wrk.sh ]; then
	if [ "$(id -u)" -eq 0 ] && [ -e /dev/net/tun ]; then
		run wrk bash bench/wrk.sh --build "$build"
	else
		echo "bench: wrk through TAP/veth skipped: needs root and /dev/net/tun" >&2
	fi
fi
mkdir -p bench/results
python3 - "$lines" "$top/bench/results/latest.json" <<'PY'
import json, os, platform, sys, time
lines, out = sys.argv[1], sys.argv[2]
figs = []
for l in open(lines):
    l = l.strip()
    if l.startswith("{"):
        try:
            figs.append(json.loads(l))
        except ValueError:
            print("bench: ignored a line that is not JSON: " + l[:80], file=sys.stderr)
cpu = "?"
try:
    for l in open("/proc/cpuinfo"):
        if l.startswith("model name"):
            cpu = l.split(":", 1)[1].strip(); break
except OSError:
    pass
mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
doc = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
       "machine": {"cpu": cpu, "cores": os.cpu_count(), "memory_bytes": mem,
                   "kernel": platform.release()},
       "figures": figs}
json.dump(doc, open(out, "w"), indent=2, ensure_ascii=False)
def num(v):
    if v is None: return "-"
    if isinstance(v, float) and abs(v) < 10: return "%.3g" % v
    return "{:,.0f}".format(v)
print("%-44s %16s %-8s %16s %7s  %-12s %s" % ("figure", "tide", "unit", "reference", "ratio", "target", "met"))
for f in figs:
    met = {True: "yes", False: "NO", None: "-"}[f.get("meets_target")]
    print("%-44s %16s %-8s %16s %7s  %-12s %s" % (f.get("name", "?")[:44], num(f.get("value")),
          f.get("unit", ""), num(f.get("reference_value")),
          "-" if f.get("ratio") is None else "%.2f" % f["ratio"], f.get("target") or "-", met))
print("\nmachine: %s, %d cores, %.0f GiB, Linux %s; figures in %s" % (cpu, os.cpu_count(), mem / 2**30,
      platform.release(), os.path.relpath(out)))
PY
