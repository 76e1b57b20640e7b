#!/usr/bin/env bash
# test-all: what `make test` runs once the release server is built. The black-box suite
# mostly waits on sockets and timers (about a fifth of one core), so the sanitizer and fuzz
# builds compile meanwhile at the lowest priority: the tests' processes keep the CPU they
# ask for, the compilers take the rest. Then the sanitized unit tests, the fuzzers and the
# sanitized black-box tests, which need those builds.
set -uo pipefail
make_cmd=${1:-make}
asan_dir=${ASAN:-build-asan}
mkdir -p "$asan_dir"
log="$asan_dir/build.log"

nice -n 19 $make_cmd --no-print-directory build-asan build-fuzz >"$log" 2>&1 &
builds=$!
$make_cmd --no-print-directory blackbox
blackbox=$?
wait "$builds"
built=$?
if [ "$built" -ne 0 ]; then
  echo "!! the sanitizer or fuzz build failed; the end of $log:"
  tail -60 "$log"
  exit 1
fi
echo "== sanitizer and fuzz builds done (log: $log)"
[ "$blackbox" -eq 0 ] || exit 1
$make_cmd --no-print-directory asan-test fuzz-smoke blackbox-asan
