#!/bin/bash
# Issue 14's side-by-side runs, one command per step (each under $BENCHLOCK, a command that runs its
# arguments with the machine to itself, when set; each bounded to 10 minutes), with `uptime` before
# and after in bench/results/precise-14.log:
# - precise-prefix:SEED — bench/precise-prefix.ts, approximate×1, precise×1, approximate×3, precise×3
#   at time scale 0.5 (docs/kv-events.md says why), 12 users × 6 rounds, 0.4 QPS, 180 s simulated;
#   results in bench/results/precise-14/;
# - precise-prefix-ts1:SEED — precise×1 and precise×3 only, at time scale 1 (the gateways' own wall
#   time not magnified); results in bench/results/precise-14-ts1/;
# - zipf:SEED — quality-zipf-precise, quick form, least-request vs infergate-precise.
#
#   bench/precise-issue14.sh [STEP:SEED …]   (default: precise-prefix:1 precise-prefix:2 precise-prefix-ts1:1 precise-prefix-ts1:2 zipf:0 zipf:1 zipf:2)
set -u
cd "$(dirname "$0")/.."
out=bench/results
log=$out/precise-14.log
lock=${BENCHLOCK:-}
specs=("$@")
[ ${#specs[@]} -eq 0 ] && specs=(precise-prefix:1 precise-prefix:2 precise-prefix-ts1:1 precise-prefix-ts1:2 zipf:0 zipf:1 zipf:2)
for spec in "${specs[@]}"; do
  step=${spec%:*}
  seed=${spec##*:}
  case $step in
    precise-prefix)
      cmd="npx tsx bench/precise-prefix.ts --seeds $seed --time-scale 0.5 --duration 180 --users 12 --qps 0.4 --scrape-interval 20ms --out $out/precise-14" ;;
    precise-prefix-ts1)
      cmd="npx tsx bench/precise-prefix.ts --seeds $seed --time-scale 1 --duration 180 --users 12 --qps 0.4 --scrape-interval 20ms --targets precise×1,precise×3 --out $out/precise-14-ts1" ;;
    zipf)
      cmd="node --import tsx src/cli/main.ts bench --scenario quality-zipf-precise --quick --seed $seed --strategy least-request,infergate-precise --json $out/quality-zipf-precise-quick-s$seed.json --progress lines > $out/quality-zipf-precise-quick-s$seed.txt" ;;
    *) echo "unknown step $step" >&2; exit 2 ;;
  esac
  ${lock:+"$lock"} bash -c "echo \"uptime before $spec: \$(uptime)\"; timeout 600 $cmd; echo \"exit $spec: \$?\"; echo \"uptime after $spec: \$(uptime)\"" >>"$log" 2>&1
done
