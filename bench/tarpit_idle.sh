#!/usr/bin/env bash
# tarpit_idle: one backstop process holds 19,000 concurrent tarpit connections (a
# [[listener]] kind = "tarpit" at spamd's default stutter of one byte a second) under an
# open-files limit of 20,000; reports the memory per connection (RSS growth / connections,
# target under 4 KiB) and backstop's CPU while it holds them (user + system over a window,
# target under 5 % of one core), next to OpenBSD spamd's documented default of 800
# connections (-c maxcon). The clients (bench/idle_clients.py first-byte) hold a connection
# once its first banner byte arrived and never read again. Fails unless every one is held.
# Usage: bench/tarpit_idle.sh BUILD_DIR [CONNECTIONS]   (BENCH_TARPIT_SECONDS: the window, 30;
# BENCH_TARPIT_BUDGET: the listener's max_bytes_per_second, default its own 4000; 0 = none)
source "$(dirname "$0")/lib.sh"
build=${1:-build}
connections=${2:-${BENCH_TARPIT_CONNECTIONS:-19000}}
window=${BENCH_TARPIT_SECONDS:-30}
files=20000
target_kib=4
target_cpu=5
spamd_maxcon=800
ulimit -n "$files"
make_workdir tarpit

port=$(free_port)
trap_port=$(free_port)
write_backstop_config "$work/backstop.toml" "$port" "$work/queue" "$connections"
cat >>"$work/backstop.toml" <<CFG
[[listener]]
address = "127.0.0.1:$trap_port"
kind = "tarpit"
$([ -z "${BENCH_TARPIT_BUDGET:-}" ] || echo "max_bytes_per_second = $BENCH_TARPIT_BUDGET")
CFG
"$build/backstop" serve --config "$work/backstop.toml" 2>"$work/log" &
server=$!
pids+=("$server")
wait_listen 127.0.0.1 "$trap_port" # from /proc/net/tcp: no probe connection
rss() { awk '/VmRSS/ {print $2}' "/proc/$server/status"; }
counter_value() { # name
  "$build/backstop" stats --json --config "$work/backstop.toml" |
    /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['counters']['$1'])"
}
before=$(rss)
start_idle_clients "$trap_port" "$connections" first-byte
held=$(idle_field open)
after=$(rss)
hz=$(getconf CLK_TCK)
system_jiffies() { awk '{print $15}' "/proc/$1/stat"; }
jiffies_before=$(process_jiffies "$server")
system_before=$(system_jiffies "$server")
machine_before=$(machine_jiffies)
bytes_before=$(counter_value tarpit_bytes)
load=$(cut -d' ' -f1-3 /proc/loadavg)
sleep "$window"
jiffies_after=$(process_jiffies "$server")
system_after=$(system_jiffies "$server")
machine_after=$(machine_jiffies)
bytes_after=$(counter_value tarpit_bytes)
held_after=$(ls "/proc/$server/fd" | wc -l)
release_idle_clients
read -r per cpu system machine rate per_byte <<<"$(/usr/bin/python3 -c "
held = max($held, 1)
cpu = ($jiffies_after - $jiffies_before) / $hz
sent = max($bytes_after - $bytes_before, 1)
print(f'{($after - $before) / held:.2f}', f'{cpu / $window * 100:.2f}',
      f'{($system_after - $system_before) / $hz / $window * 100:.2f}',
      f'{($machine_after - $machine_before) / $hz / $window * 100:.0f}',
      f'{sent / $window:.0f}', f'{cpu / sent * 1e6:.1f}')")"
echo "tarpit: $held of $connections connections held by one backstop process after" \
  "${idle_connect_seconds} s (open-files limit $files; spamd's default maxcon $spamd_maxcon:" \
  "$(ratio "$held" "$spamd_maxcon")x); failed $(idle_field failed), refused $(idle_field refused)," \
  "timed out $(idle_field timed_out); backstop descriptors at the end of the window: $held_after"
echo "tarpit: RSS ${before} KiB -> ${after} KiB: ${per} KiB per connection (target < ${target_kib} KiB)"
echo "tarpit: CPU over ${window} s while holding them: ${cpu} % of one core (${system} % in the" \
  "kernel; target < ${target_cpu} %); ${rate} bytes stuttered a second, ${per_byte} us of CPU a byte;" \
  "whole machine ${machine} % of one core busy (load average at the start: $load)"
if [ "$held" -ne "$connections" ]; then
  echo "tarpit: FAILED: only $held of $connections connections held; backstop's log:" >&2
  sed "s/^[^ ]* [^ ]* //; s/\[[0-9.]*\]/[IP]/" "$work/log" | sort | uniq -c | sort -rn | head >&2
  exit 1
fi
