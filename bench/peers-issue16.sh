#!/bin/bash
# Issue 16's side-by-side runs as they were queued on the shared two-core machine: one exclusive
# benchmark lock (/work/bin/benchlock) per workload and seed, each bounded to 10 minutes, `uptime`
# before and after each. Quick forms (120 s of simulated time per target), time scale 0.5
# (bench/results/peer-overhead.md says why), targets least-request, infergate (default profile) and
# SGLang's cache_aware. Results: bench/results/peers-16/.
#
#   bench/peers-issue16.sh [SEEDS…]      (default: 1 2)
set -u
cd "$(dirname "$0")/.."
out=bench/results/peers-16
mkdir -p "$out"
lock=${BENCHLOCK:-/work/bin/benchlock}
for seed in ${@:-1 2}; do
  for w in chat-heavy zipf 003; do
    "$lock" bash -c "echo \"uptime before $w s$seed: \$(uptime)\"; timeout 600 npx tsx bench/peers.ts --only $w --quick --seeds $seed --strategy least-request,infergate,sglang-cache-aware --out $out; echo \"exit \$?\"; echo \"uptime after $w s$seed: \$(uptime)\"" \
      >>"$out/run.log" 2>&1
  done
done
