#!/usr/bin/env bash
# eaxc against titan-core (a Python peer) on the same corpus, side by side in one run.
# Builds eaxc in release mode, creates target/bench-venv with titan-core==0.11.1, then for each
# size N (default: 100 1000) times eaxc's in-process compile (examples/bench.rs --json) and
# titan-core creating and rendering the same objects in-process (titan_bench.py, best of 3; one
# run at 10,000 and more), and prints a Markdown table with the ratio, the whole `eaxc check` and
# `eaxc build` processes (medians), a build over an unchanged output directory, and peak memory.
# Usage: bash bench/peer/run.sh [N ...]   (needs python3 with venv, and PyPI)
set -euo pipefail
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 1000)
venv="$root/target/bench-venv"
work="$root/target/bench-peer"

cd "$root"
cargo build --release --quiet --bin eaxc --example bench
if ! "$venv/bin/python" -c 'import titan' 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'titan-core==0.11.1'
fi

# titan gets the handler bodies eaxc generates, so both carry the same bytes.
largest=0
for n in "${sizes[@]}"; do [ "$n" -gt "$largest" ] && largest=$n; done
rm -rf "$work" && mkdir -p "$work"
target/release/examples/bench --write-corpus "$largest" "$work/corpus"
(cd "$work/corpus" && "$root/target/release/eaxc" build specs --out generated 2>/dev/null)

# The process runs build into target/bench-peer too (the system temp directory can be slower).
EAXC_BENCH_DIR="$work" target/release/examples/bench --json "${sizes[@]}" > "$work/eaxc.jsonl"
"$venv/bin/python" "$here/titan_bench.py" "$work/corpus/generated" 3 "${sizes[@]}" > "$work/titan.jsonl"
rm -rf "$work/corpus/generated"  # hundreds of MB at 10,000 APIs

python3 - "$work/eaxc.jsonl" "$work/titan.jsonl" <<'PY'
import json, sys
eaxc = {r["apis"]: r for r in map(json.loads, open(sys.argv[1]))}
titan = {r["apis"]: r for r in map(json.loads, open(sys.argv[2]))}
print("| APIs | objects (eaxc / titan) | eaxc compile, streamed | eaxc compile, in memory | titan-core, in-process | titan / eaxc (streamed, in memory) | `eaxc check` process | `eaxc build` process | `cp -r` of its output | rebuild, unchanged | peak RSS (build) |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
def ms(value):
    return "n/a" if value is None else f"{value:.0f} ms" if value >= 100 else f"{value:.1f} ms"
for n in sorted(eaxc):
    e, t = eaxc[n], titan.get(n)
    ratio = f"{t['titan_ms'] / e['streamed_ms']:.1f}x, {t['titan_ms'] / e['compile_ms']:.1f}x" if t else "n/a"
    objects = f"{e['objects']} / {t['objects'] if t else 'n/a'}"
    peak = f"{e['peak_rss_mib']:.0f} MiB" if e["peak_rss_mib"] is not None else "n/a"
    print(f"| {n} | {objects} | {ms(e['streamed_ms'])} | {ms(e['compile_ms'])} | {ms(t['titan_ms'] if t else None)} | {ratio} "
          f"| {ms(e['check_process_ms'])} | {ms(e['build_process_ms'])} | {ms(e['copy_ms'])} | {ms(e['rebuild_process_ms'])} | {peak} |")
PY
