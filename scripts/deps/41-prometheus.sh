#!/usr/bin/env bash
# Prometheus for the dashboard test (test/page/dashboard.test.ts): Debian's `prometheus` package,
# linked as "$INFERGATE_CACHE/bin/prometheus" (and promtool when the package ships it). The Debian
# service is not started: the test runs its own Prometheus on a loopback port. Idempotent.
set -euo pipefail
cache="${INFERGATE_CACHE:-$HOME/.cache/infergate}"
mkdir -p "$cache/bin"
link="$cache/bin/prometheus"
if [ -x "$link" ] && "$link" --version >/dev/null 2>&1; then
  echo "41-prometheus: $("$link" --version 2>&1 | head -1) already linked"
  exit 0
fi
bin=$(command -v prometheus || true)
if [ -z "$bin" ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "41-prometheus: no prometheus and no apt-get: install Prometheus and link it to $link" >&2
    exit 1
  fi
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # policy-rc.d keeps the package's service from starting (no systemd in CI containers anyway).
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  bin=$(command -v prometheus || true)
fi
[ -n "$bin" ] || { echo "41-prometheus: prometheus did not install" >&2; exit 1; }
ln -sf "$bin" "$link"
tool=$(command -v promtool || true)
[ -n "$tool" ] && ln -sf "$tool" "$cache/bin/promtool"
echo "41-prometheus: linked $("$link" --version 2>&1 | head -1) at $link"
