#!/usr/bin/env bash
# Rewrites the golden traces from the current tide-sim: one
# tests/golden/NAME.trace per built-in scenario. Review every changed line
# (git diff tests/golden) before committing: a golden file is a reviewed
# statement of how the stack behaves.
#
# usage: update.sh [TIDE-SIM]   (default: build/tools/tide-sim)
#        update.sh TIDE-SIM NAME...   (only those scenarios)
set -eu

here=$(cd "$(dirname "$0")" && pwd)
sim=${1:-$here/../../build/tools/tide-sim}
[ $# -gt 0 ] && shift
if [ ! -x "$sim" ]; then
	echo "update.sh: no tide-sim at $sim (build it, or pass its path)" >&2
	exit 2
fi

if [ $# -gt 0 ]; then
	names="$*"
else
	names=$("$sim" list | awk 'NF { print $1 }')
fi
for name in $names; do
	"$sim" run "$name" >"$here/$name.trace.new"
	mv "$here/$name.trace.new" "$here/$name.trace"
	echo "wrote tests/golden/$name.trace"
done
