#!/usr/bin/env bash
# Re-plants one of issue 17's seven bugs (and the canary-weight bug), runs the tests that must catch
# it, and restores the file — whatever the outcome. Never commits. Usage:
#   scripts/plant.sh <name>     names: ttft-from-run-start itl-from-first-token reset-not-retried
#     serve-ignores-max-body-size serve-ignores-idle-timeout serve-ignores-mirror-follow-client-abort
#     mirror-delays-primary mirror-always-follows-abort backendref-uses-rule-index
#     canary-ignores-weights stream-rewrite-skipped
#   scripts/plant.sh all        every plant in turn; prints which test files failed for each
# Exit status: 0 when every plant made at least one test fail.
set -euo pipefail
cd "$(dirname "$0")/.."

# One plant a line: name @ file @ perl substitution (perl -0pi) @ test files that must catch it.
PLANTS=$(cat <<'PLANTS_END'
ttft-from-run-start@src/bench/client.ts@s/ttftMs: state\.firstTokenAt - sentAt,/ttftMs: state.firstTokenAt - opts.runStart,/@test/bench/timing.test.ts test/bench/loadgen.test.ts test/bench/report.test.ts
itl-from-first-token@src/bench/client.ts@s/this\.gaps\.push\(now - this\.lastTokenAt\)/this.gaps.push(now - this.firstTokenAt)/@test/bench/timing.test.ts test/bench/loadgen.test.ts test/bench/report.test.ts
reset-not-retried@src/gateway/upstream-errors.ts@s/return f === 'connect' \|\| f === 'reset';/return f === 'connect';/@test/gateway/resilience.test.ts
serve-ignores-max-body-size@src/cli/serve-command.ts@s/maxBodyBytes: maxBody,/maxBodyBytes: d.maxBodyBytes,/@test/gateway/lifecycle.test.ts test/gateway/serve-cli.test.ts
serve-ignores-idle-timeout@src/cli/serve-command.ts@s/idleTimeoutMs: duration\('--idle-timeout', flags\.idleTimeout\),/idleTimeoutMs: d.idleTimeoutMs,/@test/gateway/lifecycle.test.ts test/gateway/serve-cli.test.ts
serve-ignores-mirror-follow-client-abort@src/cli/serve-command.ts@s/mirrorFollowsClientAbort: flags\.mirrorFollowClientAbort === true,/mirrorFollowsClientAbort: d.mirrorFollowsClientAbort,/@test/gateway/lifecycle.test.ts test/gateway/serve-cli.test.ts
mirror-delays-primary@src/gateway/exchange.ts@s/(clientSignal: ctx\.opts\.mirrorFollowsClientAbort \? this\.signal : undefined,\n      \}\);\n)/$1      await new Promise((r) => setTimeout(r, 250));\n/@test/gateway/mirror.test.ts test/gateway/serve-cli.test.ts
mirror-always-follows-abort@src/gateway/exchange.ts@s/clientSignal: ctx\.opts\.mirrorFollowsClientAbort \? this\.signal : undefined,/clientSignal: this.signal,/@test/gateway/mirror.test.ts test/gateway/serve-cli.test.ts
backendref-uses-rule-index@src/config/build/http-routes.ts@s/const refPath = `\$\{path\}\.backendRefs\[\$\{b\}\]`;/const refPath = `\$\{path\}.backendRefs[\$\{index\}]`;/@test/config/broken.test.ts test/config/seeds.test.ts test/config/diagnostic-paths.test.ts
canary-ignores-weights@src/datastore/objectives.ts@s/let weights = pairs\.map\(\(p\) => \(Number\.isFinite\(p\[1\]\) && p\[1\] > 0 \? p\[1\] : 0\)\);/let weights = pairs.map(() => 1);/@test/gateway/real-router.test.ts test/gateway/demo.test.ts
stream-rewrite-skipped@src/openai/sse-relay.ts@s/return this\.opts\.rewrite \? this\.opts\.rewrite\.rewriteText\(event\) : event;/return event;/@test/gateway/real-router.test.ts
PLANTS_END
)

run_one() {
  local spec="$1" name file subst tests
  IFS='@' read -r name file subst tests <<<"$spec"
  if ! git diff --quiet -- "$file"; then
    echo "$file has uncommitted changes; refusing to plant into it" >&2
    return 2
  fi
  cp -p "$file" "$file.unplanted"
  trap 'mv -f "'"$file"'.unplanted" "'"$file"'"' RETURN
  perl -0pi -e "$subst" "$file"
  if cmp -s "$file" "$file.unplanted"; then
    echo "PLANT $name: the substitution did not apply to $file (source changed?)" >&2
    return 2
  fi
  echo "== plant $name in $file"
  git --no-pager diff --stat -- "$file"
  local out
  # shellcheck disable=SC2086
  if out=$(npx vitest run $tests 2>&1); then
    echo "SURVIVED $name: no test failed"
    return 1
  fi
  echo "KILLED $name by:"
  grep -E '^ *FAIL ' <<<"$(sed 's/\x1b\[[0-9;]*m//g' <<<"$out")" | sort -u | sed 's/^ */  /'
}

want="${1:-all}"
status=0
while IFS= read -r spec; do
  name="${spec%%@*}"
  if [[ "$want" == all || "$want" == "$name" ]]; then
    run_one "$spec" || status=1
  fi
done <<<"$PLANTS"
exit $status
