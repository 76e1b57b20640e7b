#!/usr/bin/env bash
# cpu_per_message: backstop's own CPU (user + system, from /proc) per accepted message over
# one smtp-source run (20 sessions, 4 KB messages, primary down so all stays queued). A figure
# that carries across machines better than msg/s; run it for two builds to compare them.
# Usage: bench/cpu_per_message.sh BUILD_DIR [MESSAGES]
source "$(dirname "$0")/lib.sh"
build=${1:-build}
messages=${2:-${BENCH_MESSAGES:-20000}}
make_workdir cpu
port=$(free_port)
mkdir -p "$work/backstop"
write_backstop_config "$work/backstop/backstop.toml" "$port" "$work/backstop/queue"
"$build/backstop" serve --config "$work/backstop/backstop.toml" 2>"$work/backstop/log" &
pid=$!
pids+=($pid)
wait_port 127.0.0.1 "$port"
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
before=$(ticks)
smtp-source -c -s 20 -m "$messages" -l 4096 -f sender@example.org -t user@example.test \
  "127.0.0.1:$port" >/dev/null
after=$(ticks)
/usr/bin/python3 -c "print('cpu_per_message: backstop=%.1f us (%s, %d messages)' % \
  (($after - $before) / $(getconf CLK_TCK) / $messages * 1e6, '$build', $messages))"
