#!/usr/bin/env bash
# spf_evals: SPF evaluations per second over the RFC 7208 suite's zones with a warm cache
# (every answer in memory; bench/spf_bench.cpp). Builds the spf_bench target first.
# Usage: bench/spf_evals.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
cmake --build "$build" --target spf_bench -j"${JOBS:-2}" >/dev/null
"$build/spf_bench" --benchmark_min_time="${BENCH_MIN_TIME:-2}" --benchmark_counters_tabular=true
