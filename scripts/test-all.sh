#!/usr/bin/env bash
# test-all: what `make test` runs once the release server is built. The black-box suite
# mostly waits on sockets and timers (about a fifth of one core), so the sanitizer and fuzz
# builds compile meanwhile at the lowest priority: the tests' processes keep the CPU they
# ask for, the compilers take the rest. Then the sanitized unit tests, the fuzzers and the
# sanitized black-box tests, which need those builds: the last two side by side (each mostly
# waits), each into its own log, printed in turn.
set -uo pipefail
make_cmd=${1:-make}
# Each phase says when it ended (seconds since the release build was done): where CI time goes.
phase() { echo "== [+${SECONDS}s] $*"; }
asan_dir=${ASAN:-build-asan}
mkdir -p "$asan_dir"
log="$asan_dir/build.log"

nice -n 19 $make_cmd --no-print-directory build-asan build-fuzz >"$log" 2>&1 &
builds=$!
$make_cmd --no-print-directory blackbox
blackbox=$?
phase "black-box suite done (status $blackbox)"
wait "$builds"
built=$?
if [ "$built" -ne 0 ]; then
  echo "!! the sanitizer or fuzz build failed; the end of $log:"
  tail -60 "$log"
  exit 1
fi
phase "sanitizer and fuzz builds done (log: $log)"
[ "$blackbox" -eq 0 ] || exit 1

$make_cmd --no-print-directory asan-test >"$asan_dir/asan-test.log" 2>&1 &
unit=$!
$make_cmd --no-print-directory blackbox-asan >"$asan_dir/blackbox-asan.log" 2>&1 &
hostile=$!
$make_cmd --no-print-directory fuzz-smoke
fuzzed=$?
phase "fuzz smoke done (status $fuzzed)"
wait "$unit"
unit_status=$?
phase "sanitized unit tests done (status $unit_status)"
wait "$hostile"
hostile_status=$?
phase "sanitized black-box tests done (status $hostile_status)"
echo "== sanitized unit tests ($asan_dir/asan-test.log)"
tail -25 "$asan_dir/asan-test.log"
echo "== sanitized black-box tests ($asan_dir/blackbox-asan.log)"
tail -25 "$asan_dir/blackbox-asan.log"
[ "$fuzzed" -eq 0 ] && [ "$unit_status" -eq 0 ] && [ "$hostile_status" -eq 0 ]
