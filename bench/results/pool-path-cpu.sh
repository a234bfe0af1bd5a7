#!/bin/bash
# How bench/results/pool-path-cpu.md was measured: a CPU profile of the base's gateway, then two
# alternating base/after pairs of bench/gateway-overhead.ts (closed loop, shared layout), each in its
# own checkout (npm ci done in both). Run it with the machine to yourself.
#   bench/results/pool-path-cpu.sh BASE_CHECKOUT AFTER_CHECKOUT [OUT_DIR (default /tmp/pool-path-cpu)]
set -u
BASE=${1:?usage: pool-path-cpu.sh BASE_CHECKOUT AFTER_CHECKOUT [OUT_DIR]}
AFTER=${2:?usage: pool-path-cpu.sh BASE_CHECKOUT AFTER_CHECKOUT [OUT_DIR]}
OUT=${3:-/tmp/pool-path-cpu}
ARGS="--rounds 2 --parts closed --layouts shared --closed-seconds 4 --no-write"
echo "=== start $(date -u +%T) uptime: $(uptime)"
rm -rf "$OUT/base-prof" && mkdir -p "$OUT/base-prof"
(cd "$BASE" && timeout 150 npx tsx bench/gateway-overhead.ts --rounds 1 --parts closed --layouts shared --closed-seconds 6 --no-write "--gateway-node-args=--cpu-prof --cpu-prof-dir=$OUT/base-prof") > "$OUT/prof-base.log" 2>&1
echo "=== profile done $(date -u +%T) uptime: $(uptime)"
for i in 1 2; do
  echo "=== base $i $(date -u +%T) uptime: $(uptime)"
  (cd "$BASE" && timeout 150 npx tsx bench/gateway-overhead.ts $ARGS) 2>&1 | tail -25
  echo "=== after $i $(date -u +%T) uptime: $(uptime)"
  (cd "$AFTER" && timeout 150 npx tsx bench/gateway-overhead.ts $ARGS) 2>&1 | tail -25
done
echo "=== end $(date -u +%T) uptime: $(uptime)"
