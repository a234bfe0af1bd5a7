#!/usr/bin/env bash
# Installs, once and cached, every outside program the tests start (Envoy, kube-apiserver + etcd,
# Helm, Chromium, Prometheus, peer routers, Python tools). Each scripts/deps/*.sh is idempotent,
# prints what it did, and keeps its output under "$INFERGATE_CACHE" (default ~/.cache/infergate).
# Run by `npm test` before the test runner; safe to run by hand.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export INFERGATE_CACHE="${INFERGATE_CACHE:-$HOME/.cache/infergate}"
mkdir -p "$INFERGATE_CACHE"
shopt -s nullglob
for dep in "$here"/deps/*.sh; do
  start=$(date +%s)
  bash "$dep"
  echo "test-deps: $(basename "$dep" .sh) ready ($(( $(date +%s) - start )) s)"
done
