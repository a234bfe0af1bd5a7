#!/bin/bash
# rel: profile of the pool path (base), then base/after pairs of gateway-overhead (closed loop, shared).
set -u
OUT=/tmp/rel-prof
ARGS="--rounds 2 --parts closed --layouts shared --closed-seconds 4 --no-write"
echo "=== start $(date -u +%T) uptime: $(uptime)"
rm -rf $OUT/base-prof && mkdir -p $OUT/base-prof
(cd /tmp/rel-base && NODE_OPTIONS="--cpu-prof --cpu-prof-dir=$OUT/base-prof" timeout 150 npx tsx bench/gateway-overhead.ts --rounds 1 --parts closed --layouts shared --closed-seconds 6 --no-write) > $OUT/prof-base.log 2>&1
echo "=== profile done $(date -u +%T) uptime: $(uptime)"
for i in 1 2; do
  echo "=== base $i $(date -u +%T) uptime: $(uptime)"
  (cd /tmp/rel-base && timeout 150 npx tsx bench/gateway-overhead.ts $ARGS) 2>&1 | tail -25
  echo "=== after $i $(date -u +%T) uptime: $(uptime)"
  (cd /work/wt/rel && timeout 150 npx tsx bench/gateway-overhead.ts $ARGS) 2>&1 | tail -25
done
echo "=== end $(date -u +%T) uptime: $(uptime)"
