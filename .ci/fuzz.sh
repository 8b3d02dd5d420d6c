#!/usr/bin/env bash
# Fuzzes the whole front end (fuzz/fuzz_targets/compile.rs) for a bounded time, one job.
# Usage: .ci/fuzz.sh [SECONDS]   (default 60). Exits non-zero on any crash, panic or timeout,
# after printing the reproducer. Needs only the stable toolchain: RUSTC_BOOTSTRAP lets
# cargo-fuzz pass its -Z flags to the stable compiler.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
export RUSTC_BOOTSTRAP=1 CARGO_TERM_COLOR=never

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "== installing cargo-fuzz"
  cargo install cargo-fuzz --locked --quiet
fi

# The crate forbids unsafe code, so AddressSanitizer would find nothing the Rust checks do
# not; without it the fuzzer runs about twice as fast. -a keeps debug assertions (and with
# them overflow checks) on in the optimised build.
flags=(--sanitizer none --debug-assertions --target-dir fuzz/target)

echo "== build"
cargo fuzz build "${flags[@]}" compile

echo "== seed corpus (copied from the bundled specs, not kept in git)"
corpus=fuzz/corpus/compile
artifacts=fuzz/artifacts/compile
mkdir -p "$corpus" "$artifacts"
for spec in specs/ok/*.eax specs/err/*.eax tests/handler_specs/*.eax; do
  cp "$spec" "$corpus/seed-$(basename "$(dirname "$spec")")-$(basename "$spec")"
done
# A spec plus an eaxc.yaml, separated by byte 0xFF (see the target's input layout).
for config in specs/err/*.yaml; do
  { cat "${config%.yaml}.eax"; printf '\xff'; cat "$config"; } >"$corpus/seed-config-$(basename "$config")"
done
{ cat specs/ok/weather.eax; printf '\xff'; printf 'database: "D"\nsecret_template: "{{ {name} }}"\nnaming:\n  action: "{api}_{action}"\n'; } >"$corpus/seed-config-ok"

# One job in this process (what -jobs=1 would do in a child process, but with the log and the
# crash report on this script's output).
echo "== fuzz for ${seconds}s"
before=$(ls "$artifacts" | wc -l)
status=0
cargo fuzz run "${flags[@]}" compile "$corpus" -- \
  -max_total_time="$seconds" -dict=fuzz/eax.dict -max_len=16384 -timeout=10 \
  -rss_limit_mb=4096 -print_final_stats=1 -artifact_prefix="$artifacts/" || status=$?
after=$(ls "$artifacts" | wc -l)
if [ "$status" -ne 0 ] || [ "$after" -ne "$before" ]; then
  echo "== FUZZING FOUND A PROBLEM (exit $status)"
  for artifact in "$artifacts"/*; do
    [ -f "$artifact" ] || continue
    echo "-- $artifact (reproduce: RUSTC_BOOTSTRAP=1 cargo fuzz run ${flags[*]} compile $artifact)"
    od -c "$artifact" | head -40
  done
  exit 1
fi
echo "== no crash in ${seconds}s"
