#!/usr/bin/env bash
# Mutation testing of one room, or one chunk of a room (not in CI: minutes of CPU per room):
#   scripts/mutation.sh ROOM [CHUNK]     rooms and their chunks: scripts/mutation-rooms.mjs
# Runs Stryker, writes the full report to .stryker-out/ROOM/[CHUNK/] (report.html, report.json; not
# committed) and a small summary of the whole room — the latest report of every chunk merged — to
# bench/results/mutation/ROOM.json (score, counts per file, every surviving mutant with its place and
# replacement).
# Env:
#   MUTATION_CONCURRENCY  test runners in parallel (default 2)
#   MUTATION_FORCE=1      retest every mutant (by default a later run retests only what changed since
#                         the last run of that room or chunk: .stryker-out/…/incremental.json)
#   MUTATION_LOCK=PATH    hold a shared flock on PATH while Stryker runs (for a machine whose
#                         benchmarks take that lock exclusively); unset: no lock
set -euo pipefail
cd "$(dirname "$0")/.."
room="${1:?usage: scripts/mutation.sh ROOM [CHUNK] (see scripts/mutation-rooms.mjs)}"
chunk="${2:-}"
mkdir -p bench/results/mutation
run=(npx stryker run stryker.config.mjs)
export MUTATION_ROOM="$room" MUTATION_CHUNK="$chunk"
if [[ -n "${MUTATION_LOCK:-}" ]]; then
  flock -s "$MUTATION_LOCK" "${run[@]}"
else
  "${run[@]}"
fi
node scripts/mutation-summary.mjs "$room" "bench/results/mutation/$room.json"
