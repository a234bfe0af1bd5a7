#!/usr/bin/env bash
# Mutation testing of one room (not in CI: minutes of CPU per room):
#   scripts/mutation.sh ROOM        ROOM: scheduling | scheduling-prefix | requestcontrol | openai | bench | config-diagnostics
# Runs Stryker under the machine's benchmark lock, writes the full report to .stryker-out/ROOM/
# (report.html, report.json; not committed) and a small summary to bench/results/mutation/ROOM.json
# (score, counts per file, every surviving mutant with its place and replacement).
# Env: MUTATION_CONCURRENCY (default 2); MUTATION_FORCE=1 retests every mutant (by default a room's
# later runs retest only what changed since its last run: .stryker-out/ROOM/incremental.json).
set -euo pipefail
cd "$(dirname "$0")/.."
room="${1:?usage: scripts/mutation.sh ROOM (see scripts/mutation-rooms.mjs)}"
mkdir -p bench/results/mutation ".stryker-out/$room"
lock=/work/bench.lock
run=(npx stryker run stryker.config.mjs)
if [[ -e "$lock" || -w "$(dirname "$lock")" ]]; then
  MUTATION_ROOM="$room" flock -w 900 "$lock" "${run[@]}"
else
  MUTATION_ROOM="$room" "${run[@]}"
fi
node scripts/mutation-summary.mjs "$room" ".stryker-out/$room/report.json" "bench/results/mutation/$room.json"
