#!/usr/bin/env bash
# SGLang's router (PyPI `sglang-router`, a Rust binary wrapped in a Python package): the peer router
# the benchmark compares infergate with (src/bench/peers/). Installed once into a venv under
# "$INFERGATE_CACHE/venvs/sglang-router-<version>" and linked as "$INFERGATE_CACHE/bin/sglang-router"
# (its console script: `sglang-router launch --worker-urls URL… --policy cache_aware`).
# Idempotent: a venv whose package reports the pinned version is kept.
set -euo pipefail
version=0.3.2
cache="${INFERGATE_CACHE:-$HOME/.cache/infergate}"
venv="$cache/venvs/sglang-router-$version"
link="$cache/bin/sglang-router"
mkdir -p "$cache/bin" "$cache/venvs"

installed() {
  [ -x "$venv/bin/sglang-router" ] &&
    [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("sglang-router"))' 2>/dev/null)" = "$version" ]
}

if ! installed; then
  python=$(command -v python3 || true)
  if [ -z "$python" ]; then
    echo "sglang-router: python3 not found; install it (apt-get install python3 python3-venv)" >&2
    exit 1
  fi
  echo "sglang-router: installing sglang-router==$version into $venv"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "sglang-router==$version"
  installed || { echo "sglang-router: install did not produce version $version" >&2; exit 1; }
fi
ln -sfn "$venv/bin/sglang-router" "$link"
echo "sglang-router: $("$link" --version 2>/dev/null | head -1) at $link"
