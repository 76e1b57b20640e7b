#!/usr/bin/env bash
# idle_sessions: how many concurrent idle SMTP sessions backstop holds, and its memory per
# session (RSS growth / sessions). Sessions have read the banner and said EHLO, then idle.
# Usage: bench/idle_sessions.sh BUILD_DIR [SESSIONS]
source "$(dirname "$0")/lib.sh"
build=${1:-build}
sessions=${2:-${BENCH_IDLE_SESSIONS:-10000}}
ulimit -n 20000
make_workdir idle

port=$(free_port)
write_backstop_config "$work/backstop.toml" "$port" "$work/queue"
"$build/backstop" serve --config "$work/backstop.toml" 2>"$work/log" &
server=$!
pids+=($server)
wait_port 127.0.0.1 "$port"
sleep 0.5
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
before=$(rss)
mkfifo "$work/hold"
# Two client processes keep each under the open-files limit.
half=$((sessions / 2))
/usr/bin/python3 "$(dirname "$0")/idle_clients.py" "$port" "$half" <"$work/hold" >"$work/c1" &
pids+=($!)
/usr/bin/python3 "$(dirname "$0")/idle_clients.py" "$port" "$((sessions - half))" <"$work/hold" >"$work/c2" &
pids+=($!)
exec 3>"$work/hold"
for _ in $(seq 1 600); do
  [ -s "$work/c1" ] && [ -s "$work/c2" ] && break
  sleep 0.1
done
sleep 1
open=$(( $(awk '{print $2}' "$work/c1") + $(awk '{print $2}' "$work/c2") ))
after=$(rss)
per=$(/usr/bin/python3 -c "print(f'{($after - $before) / max($open, 1):.1f}')")
echo "idle sessions: $open of $sessions open; RSS ${before} KiB -> ${after} KiB;" \
  "${per} KiB per session (target: 10000 sessions, < 16 KiB each)"
exec 3>&-
