#!/bin/bash
# Issue 16's side-by-side runs: one command per WORKLOADS:SEED argument (under $BENCHLOCK, a command
# that runs its arguments with the machine to itself, when set), each bounded to 10 minutes (two
# workloads of three targets take about 6.5), with `uptime` before and after. Quick forms (120 s of
# simulated time per target; quality-003-peers 240 s, for ≥ 200 requests), time scale 0.5 (bench/results/peer-overhead.md says why), targets
# least-request, infergate (default profile) and SGLang's cache_aware. With $BENCHLOCK every argument
# is queued at once (in the background) and the lock hands them out; without it they run in turn.
# Results and the log: $OUT (default bench/results/peers-16/).
#
#   bench/peers-issue16.sh [WORKLOADS:SEED …]   (default: one command per workload and seed 1, 2)
set -u
cd "$(dirname "$0")/.."
out=${OUT:-bench/results/peers-16}
mkdir -p "$out"
lock=${BENCHLOCK:-}
specs=("$@")
[ ${#specs[@]} -eq 0 ] && specs=(zipf:1 chat-heavy:1 003:1 zipf:2 chat-heavy:2 003:2)
for spec in "${specs[@]}"; do
  w=${spec%:*}
  seed=${spec##*:}
  ${lock:+"$lock"} bash -c "echo \"uptime before $w s$seed: \$(uptime)\"; timeout 600 npx tsx bench/peers.ts --only $w --quick --seeds $seed --strategy least-request,infergate,sglang-cache-aware --out $out; echo \"exit $w s$seed: \$?\"; echo \"uptime after $w s$seed: \$(uptime)\"" \
    >>"$out/run.log" 2>&1 || echo "not run or failed: $w s$seed (exit $?; the lock waits at most 30 min)" >>"$out/run.log" &
  [ -z "$lock" ] && wait
  sleep 1
done
wait
