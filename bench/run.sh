#!/usr/bin/env bash
# run: every benchmark, one after the other. Usage: bench/run.sh BUILD_DIR
set -euo pipefail
here=$(dirname "$0")
build=${1:-build}
echo "== machine: $(nproc) cores, $(free -g | awk '/Mem/ {print $2}') GiB, $(uname -r)"
bash "$here/smtp_throughput.sh" "$build"
bash "$here/cpu_per_message.sh" "$build"
bash "$here/idle_sessions.sh" "$build"
bash "$here/tarpit_idle.sh" "$build"
bash "$here/drain.sh" "$build"
bash "$here/large_queue.sh" "$build"
bash "$here/rcpt_latency.sh" "$build"
bash "$here/spf_evals.sh" "$build"
bash "$here/pipeline_cost.sh" "$build"
bash "$here/redis_state.sh" "$build"
