#!/usr/bin/env bash
# Creates (or reuses) the oracle venv at target/oracle-venv and installs .ci/oracle/requirements.txt.
# Cached: when target/oracle-venv/.oracle-stamp holds the hash of requirements.txt plus the interpreter
# version, nothing is installed again. Needs python3.11 (or $ORACLE_PYTHON) with venv + pip, and PyPI.
# Usage: bash .ci/oracle/setup.sh            (FORCE=1 to rebuild the venv from scratch)
set -euo pipefail
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PYTHONDONTWRITEBYTECODE=1

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
req="$here/requirements.txt"
venv="$root/target/oracle-venv"
stamp="$venv/.oracle-stamp"

py="${ORACLE_PYTHON:-}"
if [ -z "$py" ]; then
  if command -v python3.11 >/dev/null 2>&1; then py=python3.11; else py=python3; fi
fi
if ! "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' 2>/dev/null; then
  echo "oracle setup: $py is missing or older than 3.9" >&2
  exit 2
fi

pyver="$("$py" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
want="$( { cat "$req"; echo "python=$pyver"; } | sha256sum | cut -d' ' -f1)"

if [ "${FORCE:-0}" != "1" ] && [ -x "$venv/bin/python" ] && [ -f "$stamp" ] \
   && [ "$(cat "$stamp")" = "$want" ] && "$venv/bin/python" -c 'import sys' 2>/dev/null; then
  echo "oracle setup: venv up to date ($venv)"
else
  echo "oracle setup: installing into $venv with $py ($pyver)"
  rm -rf "$venv"
  mkdir -p "$root/target"
  "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet -r "$req"
  "$venv/bin/python" -m pip check >/dev/null || { "$venv/bin/python" -m pip check >&2; exit 1; }
  echo "$want" > "$stamp"
fi

"$venv/bin/python" - <<'PY'
import sys
from importlib.metadata import version
print(f"  python      {sys.version.split()[0]}")
for dist in ("sqlfluff", "sqlfluffrs", "sqlglot", "titan-core", "ruff"):
    print(f"  {dist:<11} {version(dist)}")
PY
