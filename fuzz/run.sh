#!/usr/bin/env bash
# make fuzz: builds the libFuzzer targets (clang, ASan, UBSan, the
# invariant checks) in $FUZZ_BUILD and runs them side by side for
# $FUZZ_TIME seconds each on their seed corpus (docs/fuzzing.md).
#
#   FUZZ_TIME=300        seconds per target
#   FUZZ_TARGETS="..."   which targets (default: all three)
#   FUZZ_BUILD=build-fuzz
#   FUZZ_MERGE=1         afterwards, add what the run found that covers new
#                        code to fuzz/corpus/<target> (libFuzzer's -merge)
#   JOBS                 build parallelism
#
# New inputs go to $FUZZ_BUILD/corpus/<target> (the repository's corpus is
# only read), crashes to $FUZZ_BUILD/crashes/<target>/. Exits non-zero if
# any target crashed, leaked, timed out or broke an invariant.
set -u
cd "$(dirname "$0")/.."
FUZZ_TIME=${FUZZ_TIME:-300}
FUZZ_BUILD=${FUZZ_BUILD:-build-fuzz}
FUZZ_TARGETS=${FUZZ_TARGETS:-"fuzz_packet fuzz_stack fuzz_text"}
FUZZ_MERGE=${FUZZ_MERGE:-0}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}

if ! command -v clang >/dev/null; then
	echo "fuzz: clang is missing (scripts/deps.sh installs it)" >&2
	exit 1
fi
# A build directory keeps its compiler: configure with clang only once.
if [ ! -f "$FUZZ_BUILD/CMakeCache.txt" ]; then
	CC=clang cmake -S . -B "$FUZZ_BUILD" -DCMAKE_BUILD_TYPE=Debug -DTIDE_FUZZ=ON -DTIDE_TESTS=OFF \
		-DTIDE_INVARIANTS=ON >/dev/null || exit 1
fi
# shellcheck disable=SC2086
cmake --build "$FUZZ_BUILD" -j "$JOBS" --target $FUZZ_TARGETS >"$FUZZ_BUILD/fuzz-build.log" 2>&1 || {
	cat "$FUZZ_BUILD/fuzz-build.log" >&2
	exit 1
}

# A hang is a bug too: no single input may take this long.
TIMEOUT=25
# A small quarantine keeps the resident size of long runs down (libFuzzer
# counts it against -rss_limit_mb).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1:quarantine_size_mb=64}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
maxlen_of() {
	if [ "$1" = fuzz_text ]; then echo 16384; else echo 4096; fi
}
pids=()
for t in $FUZZ_TARGETS; do
	mkdir -p "$FUZZ_BUILD/corpus/$t" "$FUZZ_BUILD/crashes/$t"
	dirs=("$FUZZ_BUILD/corpus/$t" "fuzz/corpus/$t")
	[ -d "fuzz/regressions/$t" ] && dirs+=("fuzz/regressions/$t")
	"$FUZZ_BUILD/fuzz/$t" -max_total_time="$FUZZ_TIME" -timeout="$TIMEOUT" -rss_limit_mb=2048 \
		-max_len="$(maxlen_of "$t")" -print_final_stats=1 -artifact_prefix="$FUZZ_BUILD/crashes/$t/" \
		"${dirs[@]}" >"$FUZZ_BUILD/fuzz-$t.log" 2>&1 &
	pids+=($!)
done

status=0
i=0
for t in $FUZZ_TARGETS; do
	wait "${pids[$i]}"
	rc=$?
	i=$((i + 1))
	log="$FUZZ_BUILD/fuzz-$t.log"
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	last=$(grep -E '^#[0-9]+' "$log" | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
	corp=$(sed -n 's/.* corp: \([0-9]*\).*/\1/p' <<<"$last")
	crashes=$(find "$FUZZ_BUILD/crashes/$t" -type f | wc -l)
	printf 'fuzz: %-12s %8s execs in %ss, coverage %s edges, %s features, corpus %s' \
		"$t" "${execs:-?}" "$FUZZ_TIME" "${cov:-?}" "${ft:-?}" "${corp:-?}"
	if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
		printf ' -- FAILED (exit %s, %s crash files in %s/crashes/%s)\n' "$rc" "$crashes" "$FUZZ_BUILD" "$t"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|tide: invariant|fuzz_|.*runtime error)' "$log" | head -5 | sed 's/^/fuzz:   /'
		echo "fuzz:   full log: $log"
		status=1
	else
		printf '\n'
	fi
	if [ "$FUZZ_MERGE" = 1 ]; then
		"$FUZZ_BUILD/fuzz/$t" -merge=1 -max_len="$(maxlen_of "$t")" "fuzz/corpus/$t" "$FUZZ_BUILD/corpus/$t" \
			>"$FUZZ_BUILD/merge-$t.log" 2>&1 || status=1
		echo "fuzz:   merged into fuzz/corpus/$t: $(ls "fuzz/corpus/$t" | wc -l) files"
	fi
done
exit $status
