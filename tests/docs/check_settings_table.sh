#!/usr/bin/env bash
# The README's table of settings must be exactly what the registry says,
# so the documentation cannot drift from the code.
# Usage: check_settings_table.sh TIDE_SETTINGS_BINARY README
set -euo pipefail
bin=$1 readme=$2
want=$("$bin" --markdown)
have=$(sed -n '/<!-- settings-table:begin -->/,/<!-- settings-table:end -->/p' "$readme" | sed '1d;$d')
if [ "$want" != "$have" ]; then
  echo "README.md's settings table is out of date; regenerate it with:" >&2
  echo "  build/tools/tide-settings --markdown" >&2
  diff <(echo "$want") <(echo "$have") >&2 || true
  exit 1
fi
echo "settings table: 1 passed, 0 failed"
