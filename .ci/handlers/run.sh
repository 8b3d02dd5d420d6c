#!/usr/bin/env bash
# Runs the handler behaviour tests (tests/python/handler_tests.py) on the oldest and the newest
# Python runtime eaxc accepts that this machine has (pyenv's 3.10 and 3.13), each with requests +
# urllib3 1.26 (still common in Snowflake's package channel) and with the current 2.x.
# `cargo test` runs the same tests once, under the machine's python3.
# Each venv is cached under target/handler-venvs, keyed by its pins and interpreter version.
# Usage: bash .ci/handlers/run.sh [EAXC]      (EAXC: the eaxc binary; default: cargo run)
set -euo pipefail
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PYTHONDONTWRITEBYTECODE=1

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$root"
out="$root/target/ci-handler-output"
rm -rf "$out"
if [ $# -ge 1 ]; then
  "$1" build specs/ok tests/handler_specs --out "$out" >/dev/null
else
  cargo run --locked --quiet -- build specs/ok tests/handler_specs --out "$out" >/dev/null
fi

# The interpreters: pyenv's newest patch release of each minor version.
interpreter() {
  local minor="$1" base
  base="$(pyenv root 2>/dev/null || echo "$HOME/.pyenv")/versions"
  local found
  found="$(ls -d "$base/$minor".* 2>/dev/null | sort -V | tail -1 || true)"
  if [ -z "$found" ] || [ ! -x "$found/bin/python$minor" ]; then
    echo "handlers: no Python $minor under $base; the matrix needs it" >&2
    return 1
  fi
  echo "$found/bin/python$minor"
}

# name  python  pins
matrix=(
  "py3.10-urllib3-1.26 3.10 requests==2.31.0 urllib3==1.26.20"
  "py3.10-urllib3-2 3.10 requests==2.34.2 urllib3==2.8.0"
  "py3.13-urllib3-1.26 3.13 requests==2.31.0 urllib3==1.26.20"
  "py3.13-urllib3-2 3.13 requests==2.34.2 urllib3==2.8.0"
)

failed=0
runs=0
for row in "${matrix[@]}"; do
  read -r name minor pins <<<"$row"
  python="$(interpreter "$minor")"
  venv="$root/target/handler-venvs/$name"
  want="$( { echo "$pins"; "$python" -c 'import sys; print(sys.version)'; } | sha256sum | cut -d' ' -f1)"
  if [ ! -x "$venv/bin/python" ] || [ "$(cat "$venv/.stamp" 2>/dev/null)" != "$want" ]; then
    rm -rf "$venv"
    "$python" -m venv "$venv"
    # shellcheck disable=SC2086
    "$venv/bin/python" -m pip install --quiet $pins
    echo "$want" > "$venv/.stamp"
  fi
  versions="$("$venv/bin/python" -c 'import sys, requests, urllib3; print(sys.version.split()[0], "requests", requests.__version__, "urllib3", urllib3.__version__)')"
  echo "== handlers on Python $versions"
  if "$venv/bin/python" tests/python/handler_tests.py "$out/handlers" > "$root/target/handlers-$name.log" 2>&1; then
    tail -1 "$root/target/handlers-$name.log"
  else
    grep -v '^ok ' "$root/target/handlers-$name.log" || true
    failed=$((failed + 1))
  fi
  runs=$((runs + 1))
done
echo "handlers: $((runs - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
