#!/usr/bin/env bash
# Headless Chromium for the live page's browser test (test/page/): Debian's `chromium` package,
# linked as "$INFERGATE_CACHE/bin/chromium". The test drives it with playwright-core (npm), which
# downloads no browser of its own. Idempotent: does nothing when the link already works.
set -euo pipefail
cache="${INFERGATE_CACHE:-$HOME/.cache/infergate}"
mkdir -p "$cache/bin"
link="$cache/bin/chromium"
if [ -x "$link" ] && "$link" --version >/dev/null 2>&1; then
  echo "40-browser: $("$link" --version) already linked"
  exit 0
fi
find_chromium() { command -v chromium || command -v chromium-browser || true; }
bin=$(find_chromium)
if [ -z "$bin" ]; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "40-browser: no chromium and no apt-get: install Chromium and link it to $link" >&2
    exit 1
  fi
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo_cmd apt-get update -qq
  $sudo_cmd apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
  bin=$(find_chromium)
fi
[ -n "$bin" ] || { echo "40-browser: chromium did not install" >&2; exit 1; }
ln -sf "$bin" "$link"
echo "40-browser: linked $("$link" --version) at $link"
