#!/usr/bin/env bash
# run-fuzzers: runs every libFuzzer target in BUILD_DIR over its seed corpus, then for
# SECONDS more on fresh inputs. New inputs go to a scratch corpus, never into the repo.
set -euo pipefail
build_dir=$1
seconds=${2:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
status=0
ran=0
for fuzzer in "$build_dir"/*_fuzz; do
  [ -x "$fuzzer" ] || continue
  name=$(basename "$fuzzer")
  ran=$((ran + 1))
  seeds="$root/fuzz/corpus/$name"
  scratch="$root/fuzz/corpus-run/$name"
  mkdir -p "$scratch"
  echo "== $name: seeds, then ${seconds}s of fresh inputs"
  if ! "$fuzzer" -max_total_time="$seconds" -max_len=4096 -rss_limit_mb=2048 \
      -artifact_prefix="$scratch/" "$scratch" "$seeds" 2>"$scratch.log"; then
    echo "!! $name failed; see $scratch.log"; tail -30 "$scratch.log"; status=1
  else
    grep -E "^(#[0-9]+.*DONE|Done)" "$scratch.log" | tail -1 || true
  fi
done
# A build that produced no fuzzer (wrong directory, fuzzing switched off) tested nothing.
if [ "$ran" -eq 0 ]; then
  echo "!! no *_fuzz executable in $build_dir: nothing was fuzzed"
  exit 1
fi
echo "== $ran fuzzers run"
exit $status
