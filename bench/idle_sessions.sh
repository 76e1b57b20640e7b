#!/usr/bin/env bash
# idle_sessions: how many concurrent idle SMTP sessions one backstop process holds under an
# open-files limit of 20,000, and its memory per session (RSS growth / sessions). Sessions
# have read the banner and said EHLO, then idle. Fails unless every session is held.
# Usage: bench/idle_sessions.sh BUILD_DIR [SESSIONS]
source "$(dirname "$0")/lib.sh"
build=${1:-build}
sessions=${2:-${BENCH_IDLE_SESSIONS:-19000}}
files=20000
target_kib=16
# backstop and each client process get their own limit of $files open files.
ulimit -n "$files"
make_workdir idle

port=$(free_port)
# Its own limits: [smtp] max_connections of the other benchmarks (15000) is below $sessions.
write_backstop_config "$work/backstop.toml" "$port" "$work/queue" "$sessions"
"$build/backstop" serve --config "$work/backstop.toml" 2>"$work/log" &
server=$!
pids+=("$server")
wait_listen 127.0.0.1 "$port" # from /proc/net/tcp: no probe session before the measurement
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
descriptors() { ls "/proc/$server/fd" | wc -l; }
before=$(rss)
fds_before=$(descriptors)
start_idle_clients "$port" "$sessions" ehlo
connect_seconds=$idle_connect_seconds
held=$(idle_field open)
after=$(rss)
fds_after=$(descriptors)
per=$(/usr/bin/python3 -c "print(f'{($after - $before) / max($held, 1):.1f}')")
echo "idle sessions: $held of $sessions held by one backstop process (target $sessions," \
  "open-files limit $files) after ${connect_seconds} s; failed $(idle_field failed)," \
  "refused $(idle_field refused), timed out $(idle_field timed_out)"
echo "idle sessions: backstop descriptors $fds_before -> $fds_after;" \
  "RSS ${before} KiB -> ${after} KiB; ${per} KiB per session (target: < ${target_kib} KiB)"
release_idle_clients
if [ "$held" -ne "$sessions" ]; then
  echo "idle sessions: FAILED: only $held of $sessions sessions held; backstop's log:" >&2
  sed "s/^[^ ]* [^ ]* //; s/\[[0-9.]*\]/[IP]/" "$work/log" | sort | uniq -c | sort -rn | head >&2
  exit 1
fi
