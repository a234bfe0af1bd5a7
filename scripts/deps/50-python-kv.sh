#!/usr/bin/env bash
# A Python venv with pyzmq + msgpack for the independent KV-event check (test/sim/kv-events-python.test.ts):
# a subscriber written against vLLM's published layouts decodes what the simulator sends.
# Idempotent: reuses the venv when both imports work. $INFERGATE_CACHE/bin/python-kv runs the venv's
# python (a wrapper, not a symlink: a venv is found from the path its python is started by).
set -euo pipefail
cache="${INFERGATE_CACHE:-$HOME/.cache/infergate}"
venv="$cache/python-kv"
mkdir -p "$cache/bin"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import zmq, msgpack' 2>/dev/null; then
  echo "python-kv: venv present ($venv)"
else
  python=$(command -v python3 || true)
  if [ -z "$python" ]; then
    echo "python-kv: python3 not found" >&2
    exit 1
  fi
  rm -rf "$venv"
  # the real interpreter, not a version-manager shim, so the venv does not depend on the shell
  python=$("$python" -c 'import sys; print(sys.executable)')
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'pyzmq>=26,<28' 'msgpack>=1.0,<2'
  echo "python-kv: installed pyzmq + msgpack into $venv"
fi
rm -f "$cache/bin/python-kv"
printf '#!/bin/sh\nexec "%s" "$@"\n' "$venv/bin/python" >"$cache/bin/python-kv"
chmod +x "$cache/bin/python-kv"
