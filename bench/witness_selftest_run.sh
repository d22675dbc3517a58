#!/usr/bin/env bash
# One `talon-harness selftest --seeds N --no-baseline` run for bench/witness_selftest.py, quiet or with one core
# kept at 100% by a busy loop for the whole run. Leaves DIR (the selftest --report-dir) and beside it DIR.start,
# DIR.end (UTC stamps), DIR.load (uptime before / after) and, for a busy run, DIR.busypid.
#
#     bench/witness_selftest_run.sh /tmp/wsel/quiet5 5            # quiet
#     bench/witness_selftest_run.sh /tmp/wsel/busy5 5 busy        # one core busy
#     python bench/witness_selftest.py --command "talon-harness selftest --seeds 5 --no-baseline" \
#         quiet=/tmp/wsel/quiet5 busy=/tmp/wsel/busy5
set -euo pipefail
DIR="$1"; SEEDS="$2"; MODE="${3:-quiet}"
HARNESS="$(dirname "$(command -v python)")/talon-harness"
[ -x "$HARNESS" ] || HARNESS="talon-harness"
rm -rf "$DIR" "$DIR".*; mkdir -p "$(dirname "$DIR")"
date -u +%Y-%m-%dT%H:%M:%SZ > "$DIR.start"
uptime > "$DIR.load"
BUSY=""
if [ "$MODE" = busy ]; then
  timeout 3600 python3 -c 'while True: pass' & BUSY=$!
  echo "$BUSY" > "$DIR.busypid"
fi
set +e
"$HARNESS" selftest --seeds "$SEEDS" --no-baseline --report-dir "$DIR" > "$DIR.log" 2>&1
CODE=$?
set -e
[ -n "$BUSY" ] && kill "$BUSY" 2>/dev/null || true
uptime >> "$DIR.load"
date -u +%Y-%m-%dT%H:%M:%SZ > "$DIR.end"
echo "selftest exit $CODE" >> "$DIR.log"
exit 0
