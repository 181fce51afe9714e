#!/usr/bin/env bash
# Compares the trace of every built-in scenario with its reviewed golden
# file, so that any change in the stack's behaviour (or in the trace
# format) shows up as a diff. A scenario without a golden file fails: every
# built-in scenario must have been reviewed.
#
# usage: check_golden.sh TIDE-SIM GOLDEN-DIR
# Regenerate the golden files (after reviewing the change) with update.sh.
set -u

if [ $# -ne 2 ]; then
	echo "usage: $0 TIDE-SIM GOLDEN-DIR" >&2
	exit 2
fi
sim=$1
dir=$2

names=$("$sim" list | awk 'NF { print $1 }') || {
	echo "check_golden: '$sim list' failed" >&2
	exit 2
}
if [ -z "$names" ]; then
	echo "check_golden: '$sim list' names no scenario" >&2
	exit 2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pass=0
fail=0
for name in $names; do
	golden="$dir/$name.trace"
	out="$tmp/$name.trace"
	if ! "$sim" run "$name" >"$out" 2>"$tmp/err"; then
		echo "FAIL $name: 'tide-sim run $name' failed:"
		cat "$tmp/err"
		fail=$((fail + 1))
		continue
	fi
	if [ ! -f "$golden" ]; then
		echo "FAIL $name: no golden file $golden (review the trace, then run update.sh)"
		fail=$((fail + 1))
		continue
	fi
	if diff -u --label "$golden" --label "tide-sim run $name" "$golden" "$out"; then
		pass=$((pass + 1))
	else
		echo "FAIL $name: the trace differs from $golden"
		fail=$((fail + 1))
	fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
