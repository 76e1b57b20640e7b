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
mkfifo "$work/hold"
# Two client processes, each far under its own open-files limit, on 50 source addresses each
# (127.0.0.2-51 and 127.0.0.52-101): about 190 ports per address, none runs out.
half=$((sessions / 2))
started=$(now)
/usr/bin/python3 "$(dirname "$0")/idle_clients.py" "$port" "$half" 2 <"$work/hold" >"$work/c1" &
pids+=($!)
/usr/bin/python3 "$(dirname "$0")/idle_clients.py" "$port" "$((sessions - half))" 52 \
  <"$work/hold" >"$work/c2" &
pids+=($!)
exec 3>"$work/hold"
for _ in $(seq 1 1200); do
  [ -s "$work/c1" ] && [ -s "$work/c2" ] && break
  sleep 0.1
done
connect_seconds=$(/usr/bin/python3 -c "print(f'{$(now) - $started:.1f}')")
field() { awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) s += $(i + 1)} END {print s + 0}' \
  "$work/c1" "$work/c2"; }
held=$(field open)
after=$(rss)
fds_after=$(descriptors)
per=$(/usr/bin/python3 -c "print(f'{($after - $before) / max($held, 1):.1f}')")
echo "idle sessions: $held of $sessions held by one backstop process (target $sessions," \
  "open-files limit $files) after ${connect_seconds} s; failed $(field failed)," \
  "refused $(field refused), timed out $(field timed_out)"
echo "idle sessions: backstop descriptors $fds_before -> $fds_after;" \
  "RSS ${before} KiB -> ${after} KiB; ${per} KiB per session (target: < ${target_kib} KiB)"
exec 3>&-
if [ "$held" -ne "$sessions" ]; then
  echo "idle sessions: FAILED: only $held of $sessions sessions held; backstop's log:" >&2
  sed "s/^[^ ]* [^ ]* //; s/\[[0-9.]*\]/[IP]/" "$work/log" | sort | uniq -c | sort -rn | head >&2
  exit 1
fi
