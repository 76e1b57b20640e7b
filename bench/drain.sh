#!/usr/bin/env bash
# drain: how fast a backup MX empties its queue once the primary is back. MESSAGES 4 KB
# messages are queued while the primary (smtp-sink) is down; then the primary starts, the
# queue is flushed, and we time until it is empty. Same for Postfix as backup MX, and the
# ceiling: smtp-source sending the same messages straight to the same smtp-sink.
# Usage: bench/drain.sh BUILD_DIR [MESSAGES]
source "$(dirname "$0")/lib.sh"
build=${1:-build}
messages=${2:-${BENCH_DRAIN_MESSAGES:-20000}}
make_workdir drain

fill() { # port
  smtp-source -c -s 20 -m "$messages" -l 4096 -f sender@example.org -t user@example.test \
    "127.0.0.1:$1" >/dev/null
}
start_sink() { # port -> pid in sink_pid
  smtp-sink -u nobody "127.0.0.1:$1" 1000 >/dev/null 2>&1 &
  sink_pid=$!
  pids+=($sink_pid)
  wait_port 127.0.0.1 "$1"
}
wait_empty() { # command that prints the queue length; prints seconds waited
  local start
  start=$(now)
  while [ "$("$@")" != 0 ]; do sleep 0.2; done
  /usr/bin/python3 -c "print($(now) - $start)"
}

# backstop
port=$(free_port)
sink=$(free_port)
mkdir -p "$work/backstop"
write_backstop_config "$work/backstop/backstop.toml" "$port" "$work/backstop/queue"
sed -i "s|primary = \\[\"127.0.0.1:1\"\\]|primary = [\"127.0.0.1:$sink\"]|" "$work/backstop/backstop.toml"
"$build/backstop" serve --config "$work/backstop/backstop.toml" 2>"$work/backstop/log" &
pids+=($!)
wait_port 127.0.0.1 "$port"
fill "$port"
backstop_len() {
  "$build/backstop" queue list --json --config "$work/backstop/backstop.toml" |
    /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["messages"]))'
}
echo "backstop: $(backstop_len) messages queued with the primary down"
start_sink "$sink"
start=$(now)
"$build/backstop" queue flush --config "$work/backstop/backstop.toml" >/dev/null
while [ "$(backstop_len)" != 0 ]; do sleep 0.2; done
bsecs=$(/usr/bin/python3 -c "print($(now) - $start)")
kill "$sink_pid"
echo "backstop: drained $messages messages in ${bsecs}s = $(rate "$messages" "$bsecs") msg/s"

# Postfix as backup MX, relaying to the same kind of primary.
pport=$(free_port)
psink=$(free_port)
postfix_dir="$work/postfix"
start_postfix_backup_mx "$work/postfix" "$pport" "$psink"
fill "$pport"
postfix_len() {
  find "$work/postfix/spool/incoming" "$work/postfix/spool/active" \
    "$work/postfix/spool/deferred" "$work/postfix/spool/maildrop" -type f 2>/dev/null | wc -l
}
sleep 2
echo "postfix: $(postfix_len) messages queued with the primary down"
start_sink "$psink"
start=$(now)
postqueue -c "$work/postfix/etc" -f
while [ "$(postfix_len)" != 0 ]; do sleep 0.2; done
psecs=$(/usr/bin/python3 -c "print($(now) - $start)")
echo "postfix:  drained $messages messages in ${psecs}s = $(rate "$messages" "$psecs") msg/s"

# Ceiling: the same messages straight into smtp-sink.
csink=$(free_port)
start_sink "$csink"
start=$(now)
fill "$csink"
csecs=$(/usr/bin/python3 -c "print($(now) - $start)")
echo "drain: backstop=${bsecs}s postfix=${psecs}s ceiling=${csecs}s" \
  "postfix/backstop=$(ratio "$psecs" "$bsecs") ceiling/backstop=$(ratio "$csecs" "$bsecs")" \
  "(load: $(cut -d' ' -f1-3 /proc/loadavg))"
