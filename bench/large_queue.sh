#!/usr/bin/env bash
# large_queue: acceptance must not slow down as the queue grows, and a restart with a big
# queue must be accepting again within seconds. Fills MESSAGES (default 100,000) 4 KB
# messages in five equal rounds with the primary down, printing each round's rate, then
# restarts and times until the port accepts and the whole queue is listed.
# Usage: bench/large_queue.sh BUILD_DIR [MESSAGES]
source "$(dirname "$0")/lib.sh"
build=${1:-build}
messages=${2:-${BENCH_LARGE_MESSAGES:-100000}}
round=$((messages / 5))
make_workdir large

port=$(free_port)
write_backstop_config "$work/backstop.toml" "$port" "$work/queue"
"$build/backstop" serve --config "$work/backstop.toml" 2>"$work/log" &
server=$!
pids+=($server)
wait_port 127.0.0.1 "$port"
rates=()
for i in 1 2 3 4 5; do
  start=$(now)
  smtp-source -c -s 20 -m "$round" -l 4096 -f sender@example.org -t user@example.test \
    "127.0.0.1:$port" >/dev/null
  secs=$(/usr/bin/python3 -c "print($(now) - $start)")
  rates+=("$(rate "$round" "$secs")")
  echo "round $i: queue $((i * round)) messages, this round $(rate "$round" "$secs") msg/s"
done
kill "$server"
wait "$server" 2>/dev/null || true
start=$(now)
"$build/backstop" serve --config "$work/backstop.toml" 2>>"$work/log" &
pids+=($!)
wait_port 127.0.0.1 "$port"
up=$(/usr/bin/python3 -c "print(f'{$(now) - $start:.2f}')")
listed=$("$build/backstop" queue list --json --config "$work/backstop.toml" |
  /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["messages"]))')
echo "large queue: first round ${rates[0]} msg/s, last round ${rates[4]} msg/s" \
  "(last/first=$(ratio "${rates[4]}" "${rates[0]}")); restart with $listed queued:" \
  "accepting after ${up}s"
[ "$listed" = "$messages" ] || { echo "!! $listed listed, $messages acknowledged" >&2; exit 1; }
