#!/usr/bin/env bash
# The peer routers the benchmark compares infergate with (src/bench/peers/), each a Rust router
# wrapped in a Python package: SGLang's (PyPI `sglang-router`; `sglang-router launch --worker-urls
# URL… --policy cache_aware`) and the vLLM project's (PyPI `vllm-router`, a fork of it with the same
# flags and no `launch`). Each is installed once into a venv under
# "$INFERGATE_CACHE/venvs/<package>-<version>" and linked as "$INFERGATE_CACHE/bin/<package>".
# Idempotent: a venv whose package reports the pinned version is kept.
set -euo pipefail
cache="${INFERGATE_CACHE:-$HOME/.cache/infergate}"
mkdir -p "$cache/bin" "$cache/venvs"

python=$(command -v python3 || true)

install_router() { # <package> <version>
  local package=$1 version=$2
  local venv="$cache/venvs/$package-$version" link="$cache/bin/$package"
  installed() {
    [ -x "$venv/bin/$package" ] &&
      [ "$("$venv/bin/python" -c "import importlib.metadata as m; print(m.version('$package'))" 2>/dev/null)" = "$version" ]
  }
  if ! installed; then
    if [ -z "$python" ]; then
      echo "$package: python3 not found; install it (apt-get install python3 python3-venv)" >&2
      exit 1
    fi
    echo "$package: installing $package==$version into $venv"
    rm -rf "$venv"
    "$python" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$package==$version"
    installed || { echo "$package: install did not produce version $version" >&2; exit 1; }
  fi
  ln -sfn "$venv/bin/$package" "$link"
  echo "$package: $version at $link"
}

install_router sglang-router 0.3.2
install_router vllm-router 0.1.17
