#!/usr/bin/env bash
# Creates (or reuses) the Snowflake CLI venv at target/snowcli-venv: snowflake-cli $SNOWCLI_VERSION
# installed with --no-deps, then .ci/snowcli/requirements.txt (its other pins, and sqlglot).
# Cached: when target/snowcli-venv/.snowcli-stamp holds the hash of requirements.txt, the
# snowflake-cli version and the interpreter version, nothing is installed again. Needs python3.11
# (or $SNOWCLI_PYTHON) with venv + pip, and PyPI.
# Usage: bash .ci/snowcli/setup.sh            (FORCE=1 to rebuild the venv from scratch)
set -euo pipefail
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PYTHONDONTWRITEBYTECODE=1

# snowflake-cli's own METADATA pins pip==26.2.2, which PyPI does not serve, so it cannot go into
# requirements.txt (pip would try to resolve that pin); see the comment there.
SNOWCLI_VERSION=3.31.0

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
req="$here/requirements.txt"
venv="$root/target/snowcli-venv"
stamp="$venv/.snowcli-stamp"

py="${SNOWCLI_PYTHON:-}"
if [ -z "$py" ]; then
  if command -v python3.11 >/dev/null 2>&1; then py=python3.11; else py=python3; fi
fi
# snowflake-cli 3.31.0 requires Python >= 3.10.
if ! "$py" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else 1)' 2>/dev/null; then
  echo "snowcli setup: $py is missing or older than 3.10" >&2
  exit 2
fi

pyver="$("$py" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
want="$( { cat "$req"; echo "snowflake-cli==$SNOWCLI_VERSION"; echo "python=$pyver"; } \
         | sha256sum | cut -d' ' -f1)"

if [ "${FORCE:-0}" != "1" ] && [ -x "$venv/bin/python" ] && [ -f "$stamp" ] \
   && [ "$(cat "$stamp")" = "$want" ] && "$venv/bin/python" -c 'import sys' 2>/dev/null; then
  echo "snowcli setup: venv up to date ($venv)"
else
  echo "snowcli setup: installing into $venv with $py ($pyver)"
  rm -rf "$venv"
  mkdir -p "$root/target"
  "$py" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  "$venv/bin/python" -m pip install --quiet --no-deps "snowflake-cli==$SNOWCLI_VERSION"
  "$venv/bin/python" -m pip install --quiet -r "$req"
  # `pip check` is expected to complain about snowflake-cli's own pins of pip and setuptools,
  # which --no-deps skipped and requirements.txt leaves out; show what it says but do not fail on
  # those lines. Any other complaint fails. What matters most is checked right below: the
  # package imports and the `snow` entry point runs.
  check_out="$("$venv/bin/python" -m pip check 2>&1)" || true
  unexpected="$(printf '%s\n' "$check_out" | grep -v -e '^No broken requirements' -e '^$' \
    | grep -v -E '^snowflake-cli [0-9.]+ (requires|has requirement) (pip|setuptools)==' || true)"
  if [ -n "$check_out" ]; then printf '%s\n' "$check_out" | sed 's/^/  pip check: /' >&2; fi
  if [ -n "$unexpected" ]; then
    echo "snowcli setup: pip check reports more than snowflake-cli's pip/setuptools pins" >&2
    exit 1
  fi
  "$venv/bin/python" -c 'import snowflake.cli, snowflake.connector.util_text, sqlglot' \
    || { echo "snowcli setup: the venv cannot import snowflake.cli" >&2; exit 1; }
  echo "$want" > "$stamp"
fi

# Fail (also on a cached venv) if the CLI is not usable. SNOWFLAKE_HOME keeps `snow` away from
# the user's ~/.snowflake configuration.
snow_home="$(mktemp -d)"
trap 'rm -rf "$snow_home"' EXIT
if ! snow_version="$(SNOWFLAKE_HOME="$snow_home" "$venv/bin/snow" --version 2>&1)"; then
  echo "snowcli setup: \`snow --version\` failed:" >&2
  echo "$snow_version" >&2
  exit 1
fi

echo "  snow        $snow_version"
"$venv/bin/python" - <<'PY'
import sys
from importlib.metadata import version
print(f"  python      {sys.version.split()[0]}")
for dist in ("snowflake-cli", "snowflake-connector-python", "jinja2", "sqlglot"):
    print(f"  {dist:<26} {version(dist)}")
PY
