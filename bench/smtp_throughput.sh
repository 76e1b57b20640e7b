#!/usr/bin/env bash
# smtp_throughput: messages per second accepted into a durable queue, 20 parallel sessions of
# 4 KB messages from Postfix's smtp-source over loopback. Measured in one run against
#   backstop   (every 250 fdatasync'd),
#   Postfix    configured as a backup MX on this machine (fsyncs too), and
#   the ceiling: smtp-source against smtp-sink, which stores nothing.
# Usage: bench/smtp_throughput.sh BUILD_DIR [MESSAGES]
source "$(dirname "$0")/lib.sh"
build=${1:-build}
messages=${2:-${BENCH_MESSAGES:-20000}}
sessions=${BENCH_SESSIONS:-20}
size=${BENCH_SIZE:-4096}
make_workdir bench

drive() { # port -> seconds
  local start end
  start=$(now)
  smtp-source -c -s "$sessions" -m "$messages" -l "$size" -f sender@example.org \
    -t user@example.test "127.0.0.1:$1" >/dev/null
  end=$(now)
  /usr/bin/python3 -c "print($end - $start)"
}

# backstop
port=$(free_port)
mkdir -p "$work/backstop"
write_backstop_config "$work/backstop/backstop.toml" "$port" "$work/backstop/queue"
"$build/backstop" serve --config "$work/backstop/backstop.toml" 2>"$work/backstop/log" &
pids+=($!)
wait_port 127.0.0.1 "$port"
secs=$(drive "$port")
backstop_rate=$(rate "$messages" "$secs")
queued=$("$build/backstop" queue list --json --config "$work/backstop/backstop.toml" |
  /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["messages"]))')
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true
echo "backstop: $messages messages in ${secs}s = $backstop_rate msg/s; queued afterwards: $queued"
if [ "$queued" != "$messages" ]; then
  echo "!! backstop acknowledged $messages but lists $queued" >&2
  exit 1
fi

# Postfix as backup MX
pport=$(free_port)
postfix_dir="$work/postfix"
start_postfix_backup_mx "$work/postfix" "$pport"
psecs=$(drive "$pport")
postfix_rate=$(rate "$messages" "$psecs")
stop_postfix "$work/postfix"
echo "postfix:  $messages messages in ${psecs}s = $postfix_rate msg/s"

# ceiling
sport=$(free_port)
smtp-sink -u nobody -c "127.0.0.1:$sport" 1000 >/dev/null 2>&1 &
pids+=($!)
wait_port 127.0.0.1 "$sport"
csecs=$(drive "$sport")
ceiling_rate=$(rate "$messages" "$csecs")
echo "ceiling:  $messages messages in ${csecs}s = $ceiling_rate msg/s (smtp-sink, stores nothing)"

echo "throughput: backstop=$backstop_rate msg/s postfix=$postfix_rate msg/s ceiling=$ceiling_rate msg/s" \
  "backstop/postfix=$(ratio "$backstop_rate" "$postfix_rate")" \
  "backstop/ceiling=$(ratio "$backstop_rate" "$ceiling_rate") (load: $(cut -d' ' -f1-3 /proc/loadavg))"
