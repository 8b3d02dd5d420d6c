#!/usr/bin/env bash
# Tests the hooks of .pre-commit-hooks.yaml with the real pre-commit tool: for each hook, runs
# `pre-commit try-repo <this repository> <hook> --all-files` in scratch git repositories, and
# expects it to pass on a good spec and to fail, with exit code 1 from eaxc, on a bad one.
#
#   bash .ci/precommit.sh                         the hooks in $EAXC_PRECOMMIT_HOOKS, by default
#                                                 eaxc-check eaxc-fmt eaxc-build
#   bash .ci/precommit.sh eaxc-check eaxc-fmt     only these
#
# try-repo takes this repository at HEAD plus its uncommitted changes to tracked files (staged or
# not); untracked files are left out until `git add`ed. In CI's clean clone that is HEAD.
# try-repo installs the hooks in a throwaway pre-commit store, so `cargo install` builds eaxc on
# every call; CARGO_TARGET_DIR keeps the compiled dependencies in target/ across calls and runs
# (PRE_COMMIT_HOME is set to target/ too, but try-repo does not use it for the hooks).
# Needs python3 (venv), git and cargo; installs pre-commit from PyPI into target/precommit-venv.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

precommit_version=4.7.0
venv=$root/target/precommit-venv

if [[ $# -gt 0 ]]; then
  hooks=("$@")
else
  read -ra hooks <<<"${EAXC_PRECOMMIT_HOOKS:-eaxc-check eaxc-fmt eaxc-build}"
fi
for hook in "${hooks[@]}"; do
  if ! grep -qx -- "- id: $hook" .pre-commit-hooks.yaml; then
    echo "no hook \`$hook\` in .pre-commit-hooks.yaml" >&2
    exit 2
  fi
done

echo "== pre-commit $precommit_version in target/precommit-venv"
if [[ "$("$venv/bin/pre-commit" --version 2>/dev/null)" != "pre-commit $precommit_version" ]]; then
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "pre-commit==$precommit_version" </dev/null
fi

export PRE_COMMIT_HOME=$root/target/precommit-home
# The target directory of this repository's own builds (eaxc_build below), before it is replaced.
own_target=${CARGO_TARGET_DIR:-$root/target}
export CARGO_TARGET_DIR=$root/target/precommit-cargo
# cargo install builds with the release profile; without optimisation the six installs of a full
# run take a fraction of the time, and what is tested (the hooks' wiring) is the same.
export CARGO_PROFILE_RELEASE_OPT_LEVEL=${CARGO_PROFILE_RELEASE_OPT_LEVEL:-0}
export PRE_COMMIT_COLOR=never NO_COLOR=1 CARGO_TERM_COLOR=never
# A caller inside a git hook would point these at its own repository.
unset GIT_DIR GIT_WORK_TREE GIT_INDEX_FILE

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

git_commit() {
  git -C "$1" add -A
  git -C "$1" -c user.name=eaxc-ci -c user.email=ci@eaxc.invalid -c commit.gpgsign=false \
    commit --quiet --no-verify -m "$2"
}

# new_repo DIR: a git repository with eaxc.yaml and one valid spec, specs/weather.eax.
new_repo() {
  mkdir -p "$1/specs"
  git init --quiet "$1"
  printf 'out: generated\n' >"$1/eaxc.yaml"
  cp src/cli/init/example.eax "$1/specs/weather.eax"
}

# eaxc_build DIR: writes DIR's generated output with this repository's eaxc (a debug build in
# its usual target directory, which CI has built already).
eaxc_build() {
  (cd "$1" && CARGO_TARGET_DIR=$own_target \
    cargo run --quiet --locked --manifest-path "$root/Cargo.toml" -- build </dev/null)
}

failures=0

# try HOOK DIR pass|fail [TEXT]: runs the hook on every file of DIR; a failure must come from the
# hook itself exiting 1 (not from a missing subcommand, exit 2, or a failed install), and its
# output must contain TEXT when given.
try() {
  local hook=$1 dir=$2 expect=$3 text=${4-} log rc start
  log=$scratch/$hook-$(basename "$dir").log
  start=$SECONDS
  set +e
  (cd "$dir" && "$venv/bin/pre-commit" try-repo "$root" "$hook" --all-files --verbose) \
    </dev/null >"$log" 2>&1
  rc=$?
  set -e
  local ok=false
  if [[ $expect == pass ]]; then
    [[ $rc == 0 ]] && grep -q 'Passed$' "$log" && ok=true
  else
    [[ $rc != 0 ]] && grep -q -- '- exit code: 1$' "$log" && ok=true
    if $ok && [[ -n $text ]] && ! grep -qF -- "$text" "$log"; then ok=false; fi
  fi
  if $ok; then
    echo "ok   $hook on $(basename "$dir"): ${expect}ed as expected ($((SECONDS - start)) s)"
  else
    echo "FAIL $hook on $(basename "$dir"): expected it to $expect${text:+ with \`$text\`}; pre-commit exited $rc:"
    sed 's/^/     /' "$log"
    failures=$((failures + 1))
  fi
}

for hook in "${hooks[@]}"; do
  echo "== $hook"
  good=$scratch/$hook/good
  bad=$scratch/$hook/bad
  new_repo "$good"
  new_repo "$bad"
  case $hook in
    eaxc-check)
      # A spec that calls a host outside its egress.
      cp specs/err/e0307_host_not_allowed.eax "$bad/specs/"
      ;;
    eaxc-fmt)
      # The same spec with its indentation removed.
      sed 's/^ *//' src/cli/init/example.eax >"$bad/specs/weather.eax"
      ;;
    eaxc-build)
      # Output written, then a spec changed without rebuilding.
      eaxc_build "$good"
      eaxc_build "$bad"
      sed -i 's/"metric"/"imperial"/' "$bad/specs/weather.eax"
      ;;
    *)
      echo "no test case for hook $hook in .ci/precommit.sh" >&2
      exit 2
      ;;
  esac
  git_commit "$good" "good"
  git_commit "$bad" "bad"
  try "$hook" "$good" pass
  case $hook in
    eaxc-check) try "$hook" "$bad" fail E0307 ;;
    *) try "$hook" "$bad" fail ;;
  esac
done

if [[ $failures != 0 ]]; then
  echo "== pre-commit hooks: $failures check(s) failed" >&2
  exit 1
fi
echo "== pre-commit hooks: all checks passed (${hooks[*]})"
