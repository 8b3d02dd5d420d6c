#!/usr/bin/env bash
# Tests of the TextMate grammar in editors/: scope assertions (editors/tests/*.eax) and snapshots
# of the example specs (specs/ok/*.eax against editors/tests/snap/*.eax.snap).
#
#   bash .ci/editor.sh            run the tests; exits non-zero on any failure
#   bash .ci/editor.sh --update   rewrite the snapshots from the current grammar (then review
#                                 `git diff editors/tests/snap` before committing)
#
# Needs node and npm (node 20 or later); installs the pinned test tool with `npm ci`.
set -euo pipefail
cd "$(dirname "$0")/.."

update=false
case "${1-}" in
  "") ;;
  --update) update=true ;;
  *) echo "usage: bash .ci/editor.sh [--update]" >&2; exit 2 ;;
esac

grammar=editors/eax.tmLanguage.json
manifest=editors/vscode/package.json
snaps=editors/tests/snap
scratch=target/editor-snap

echo "== node $(node --version), npm $(npm --version)"

echo "== the VS Code extension ships the same grammar"
if ! cmp -s "$grammar" editors/vscode/syntaxes/eax.tmLanguage.json; then
  echo "editors/vscode/syntaxes/eax.tmLanguage.json differs from $grammar;" \
    "copy it: cp $grammar editors/vscode/syntaxes/" >&2
  exit 1
fi

echo "== npm ci (editors/)"
(cd editors && npm ci --no-audit --no-fund --loglevel=error </dev/null)
bin=editors/node_modules/.bin

echo "== scope assertions: editors/tests/*.eax"
# The manifest maps `.eax` to the grammar, so this also checks the extension's wiring.
status=0
"$bin/vscode-tmgrammar-test" --config "$manifest" 'editors/tests/*.eax' || status=1

echo "== snapshots: specs/ok/*.eax"
# The tool keeps `X.snap` next to `X` and silently writes a missing one, so it runs on copies in
# target/ and this script checks first that every spec has a committed snapshot and vice versa.
rm -rf "$scratch"
mkdir -p "$scratch"
missing=0
for spec in specs/ok/*.eax; do
  name=$(basename "$spec")
  cp "$spec" "$scratch/$name"
  if [[ -f "$snaps/$name.snap" ]]; then
    cp "$snaps/$name.snap" "$scratch/$name.snap"
  elif ! $update; then
    echo "no snapshot $snaps/$name.snap for $spec (run: bash .ci/editor.sh --update)" >&2
    missing=1
  fi
done
for snap in "$snaps"/*.eax.snap; do
  [[ -e "$snap" ]] || continue
  name=$(basename "$snap" .snap)
  if [[ ! -f "specs/ok/$name" ]]; then
    if $update; then
      rm "$snap"
    else
      echo "$snap has no spec specs/ok/$name (run: bash .ci/editor.sh --update)" >&2
      missing=1
    fi
  fi
done
[[ $missing == 0 ]] || exit 1

if $update; then
  "$bin/vscode-tmgrammar-snap" --config "$manifest" --updateSnapshot "$scratch/*.eax"
  mkdir -p "$snaps"
  cp "$scratch"/*.eax.snap "$snaps/"
  echo "snapshots written to $snaps: review them with git diff before committing"
else
  "$bin/vscode-tmgrammar-snap" --config "$manifest" "$scratch/*.eax" || status=1
fi
if [[ $status != 0 ]]; then
  echo "== editor grammar: FAILED (see above)" >&2
  exit 1
fi
echo "== editor grammar: all tests passed"
