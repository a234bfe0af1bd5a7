#!/usr/bin/env bash
# A Python venv for the independent checks written against vLLM's own stack:
# - pyzmq + msgpack: the KV-event subscriber of test/sim/kv-events-python.test.ts decodes what the
#   simulator sends;
# - tokenizers (Hugging Face's Rust tokenizer, what vLLM encodes with) + jinja2 (what transformers
#   renders chat templates with): test/tokenizer/python-equality.test.ts checks that infergate's
#   cached tokenization gives the engine's token ids.
# Idempotent: reuses the venv when every import works, adds what is missing otherwise.
# $INFERGATE_CACHE/bin/python-kv runs the venv's python (a wrapper, not a symlink: a venv is found
# from the path its python is started by).
set -euo pipefail
cache="${INFERGATE_CACHE:-$HOME/.cache/infergate}"
venv="$cache/python-kv"
packages=('pyzmq>=26,<28' 'msgpack>=1.0,<2' 'tokenizers>=0.21,<0.24' 'jinja2>=3.1,<4')
mkdir -p "$cache/bin"
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import zmq, msgpack, tokenizers, jinja2' 2>/dev/null; then
  echo "python-kv: venv present ($venv)"
else
  if ! [ -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import sys' 2>/dev/null; then
    python=$(command -v python3 || true)
    if [ -z "$python" ]; then
      echo "python-kv: python3 not found" >&2
      exit 1
    fi
    rm -rf "$venv"
    # the real interpreter, not a version-manager shim, so the venv does not depend on the shell
    python=$("$python" -c 'import sys; print(sys.executable)')
    "$python" -m venv "$venv"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${packages[@]}"
  echo "python-kv: installed ${packages[*]} into $venv"
fi
rm -f "$cache/bin/python-kv"
printf '#!/bin/sh\nexec "%s" "$@"\n' "$venv/bin/python" >"$cache/bin/python-kv"
chmod +x "$cache/bin/python-kv"
