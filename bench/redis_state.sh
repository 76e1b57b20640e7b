#!/usr/bin/env bash
# redis_state: the state store shared in Redis against SQLite on one host (issue 16). One run,
# a real redis-server and a dnsmasq on loopback (never /etc/resolv.conf), one backstop at a
# time with [state] backend = "sqlite" or "redis", rounds interleaved (sqlite, redis, sqlite,
# ...), each figure the median of its rounds as in bench/smtp_throughput.sh.
#
# The configuration is a backup MX tier that shares its state: the default checks of
# smtp_throughput's backstop-default (mx_contacts, recipient verification, the sender-domain
# check and SPF answered by dnsmasq) plus the two checks that read shared state at every RCPT
# with nothing in memory in front of them: [checks.blacklist] (an offender listed by another
# host is refused here at once) and [checks.skipped_primary] (preferred = mx1.example.test,
# whose contacts would come from another host; the feed is silent, so nobody is judged and
# mail is accepted, but the evidence is read all the same). Recipient verification answers
# from a warm cache: before each round a warm-up server with the primary up (an smtp-sink
# that says 250 to the callout) verifies the recipient and writes the answer into the store;
# the measured server runs with the primary down (as smtp_throughput: no deliveries during
# the measurement; [checks.primary_up] accepts) and finds the answer in the store at the first
# RCPT, then in memory. Greylisting is off: a passed triplet is answered from memory for
# 10 minutes, so it costs the store nothing per message once passed (docs/performance.md).
#
# Per round and backend:
#   acceptance  smtp-source, SESSIONS (20) sessions, 4 KiB, one connection per message;
#               msg/s, and Redis' own counters before and after (INFO stats): round trips =
#               read events Redis processed (a pipeline or a script call is one), commands =
#               total_commands_processed (the commands inside scripts included), each divided
#               by the accepted messages, minus the INFO calls of this script;
#   rcpt        bench/rcpt_client.py, 20 sessions, one RCPT at a time (each a blacklist read
#               and a skipped-primary read): p50/p99 latency from send to reply.
# Prints each backend's medians, then ratio redis/sqlite msg/s (target >= 0.9), the RCPT
# latency added by Redis, and round trips per message (target <= 2); then what one Redis
# does on this machine (redis-benchmark, the commands backstop sends) for docs/operations.md.
# Fails when a message acknowledged is not in the queue or a store call failed.
# Usage: bench/redis_state.sh BUILD_DIR [MESSAGES]   (environment: BENCH_ROUNDS=3,
# BENCH_RCPTS=10000, BENCH_QUICK=1: 2000 messages, 2000 RCPTs, 1 round, no redis-benchmark)
source "$(dirname "$0")/lib.sh"
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-build}
quick=${BENCH_QUICK:-}
messages=${2:-${BENCH_MESSAGES:-$([ -n "$quick" ] && echo 2000 || echo 20000)}}
rcpts=${BENCH_RCPTS:-$([ -n "$quick" ] && echo 2000 || echo 10000)}
rounds=${BENCH_ROUNDS:-$([ -n "$quick" ] && echo 1 || echo 3)}
sessions=${BENCH_SESSIONS:-20}
size=${BENCH_SIZE:-4096}
make_workdir redis-state

dport=$(free_port)
dnsmasq --no-daemon --port="$dport" --listen-address=127.0.0.1 --bind-interfaces --no-resolv \
  --no-hosts --conf-file=/dev/null --user=root --auth-server=ns.example.org,127.0.0.1 \
  --auth-zone=example.org --auth-ttl=300 --local-ttl=300 \
  --txt-record=example.org,"v=spf1 ip4:127.0.0.0/8 -all" \
  --mx-host=example.org,mx.example.org,10 --host-record=mx.example.org,127.0.0.5 \
  >"$work/dnsmasq.log" 2>&1 &
pids+=($!)

rport=$(free_port)
redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" \
  >"$work/redis.log" 2>&1 &
pids+=($!)
wait_listen 127.0.0.1 "$rport"
rcli() { redis-cli -h 127.0.0.1 -p "$rport" "$@"; }

# The primary of the warm-up: says 250 to everything (the callout's RCPT included).
sport=$(free_port)
smtp-sink -u nobody -c "127.0.0.1:$sport" 100 >/dev/null 2>&1 &
pids+=($!)
wait_port 127.0.0.1 "$sport"

# The RCPT load: one address, the one the warm-up verified, answered 250 each time.
/usr/bin/python3 -c "print('user@example.test 250\\n' * $rcpts, end='')" >"$work/load"

# file port queue_dir backend primary: the shared-state configuration described above.
write_config() {
  write_backstop_config "$1" "$2" "$3"
  /usr/bin/python3 - "$1" "$dport" "$4" "127.0.0.1:$rport" "$5" <<'PY'
import re, sys
path, port, backend, url, primary = sys.argv[1:6]
text = open(path).read()
text = text.replace('servers = ["127.0.0.1:1"]', f'servers = ["127.0.0.1:{port}"]')
text = re.sub(r'\[verify\].*?(?=\n\[)', '[verify]\nunverified = "accept"', text, flags=re.S)
text = text.replace('[checks.spf]\nenabled = false\n', '')
text = text.replace('primary = ["127.0.0.1:1"]', f'primary = ["{primary}"]')
if backend == "redis":
    # 100 ms, not the default 10: on a shared 2-core machine a store thread that is not
    # scheduled for 10 ms would open the circuit and measure the machine, not Redis.
    text = text.replace('[state]\n', f'[state]\nbackend = "redis"\nurl = "redis://{url}/0"\n'
                        'timeout = 100\n')
text += """
[admin]
listen = ""
[checks.blacklist]
enabled = true
[checks.skipped_primary]
enabled = true
preferred = ["mx1.example.test"]
"""
open(path, "w").write(text)
PY
}

# Redis' read events (one per round trip) and commands so far, and the INFO calls so far.
redis_counts() {
  rcli info stats | tr -d '\r' |
    awk -F: '/^total_reads_processed:/ {r = $2} /^total_commands_processed:/ {c = $2}
             END {print r, c}'
}

# The recipient's answer in the store, written by a server with the primary up; each round
# starts with an empty store (a fresh SQLite file, FLUSHALL).
warm_up() { # dir backend
  local dir=$1 port pid
  port=$(free_port)
  write_config "$dir/warm.toml" "$port" "$dir/warm-queue" "$2" "127.0.0.1:$sport"
  "$build/backstop" serve --config "$dir/warm.toml" 2>"$dir/warm.log" &
  pid=$!
  pids+=($pid)
  wait_port 127.0.0.1 "$port"
  smtp-source -c -m 1 -f sender@example.org -t user@example.test "127.0.0.1:$port" >/dev/null
  for _ in $(seq 1 100); do
    "$build/backstop" verify --cached-only --json --config "$dir/warm.toml" user@example.test \
      2>/dev/null | grep -q '"result": "valid"' && break
    sleep 0.1
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
  "$build/backstop" verify --cached-only --json --config "$dir/warm.toml" user@example.test |
    grep -q '"result": "valid"' || { echo "!! $2: the warm-up verified nobody" >&2; exit 1; }
}

stat_of() { # config counter
  "$build/backstop" stats --json --config "$1" |
    /usr/bin/python3 -c "import json,sys; print(json.load(sys.stdin)['counters'].get('$2', 0))"
}

# One round of one backend: appends "msg/s p50 p99 round_trips/msg commands/msg" to
# $work/figures.<backend>.
run_round() { # backend
  local backend=$1 dir="$work/$1" port pid start end c0 c1 r0 r1 x0 x1 queued errors
  rm -rf "$dir"
  mkdir -p "$dir"
  [ "$backend" = sqlite ] || rcli flushall >/dev/null
  warm_up "$dir" "$backend"
  port=$(free_port)
  write_config "$dir/backstop.toml" "$port" "$dir/queue" "$backend" "127.0.0.1:1"
  "$build/backstop" serve --config "$dir/backstop.toml" 2>"$dir/log" &
  pid=$!
  pids+=($pid)
  wait_port 127.0.0.1 "$port"
  read -r r0 c0 < <(redis_counts)
  start=$(now)
  smtp-source -c -s "$sessions" -m "$messages" -l "$size" -f sender@example.org \
    -t user@example.test "127.0.0.1:$port" >/dev/null
  end=$(now)
  sleep 0.2 # the last contact batch (100 ms) is part of these messages' cost
  read -r r1 c1 < <(redis_counts)
  if ! /usr/bin/python3 "$here/rcpt_client.py" 127.0.0.1 "$port" "$work/load" \
      --sessions "$sessions" --rset-every 50 --sender sender@example.org --timeout 300 \
      >"$dir/rcpt.json"; then
    echo "!! $backend: the RCPT client failed: $(cat "$dir/rcpt.json")" >&2
    exit 1
  fi
  queued=$("$build/backstop" queue list --json --config "$dir/backstop.toml" |
    /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)["messages"]))')
  errors=$(stat_of "$dir/backstop.toml" state_store_errors)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  if [ "$queued" != "$messages" ] || [ "$errors" != 0 ]; then
    echo "!! $backend acknowledged $messages, lists $queued, store errors $errors" >&2
    grep -m5 -v '^$' "$dir/log" >&2 || true
    exit 1
  fi
  # redis_counts' own INFO is one read and one command (two calls between the snapshots).
  /usr/bin/python3 - "$dir/rcpt.json" "$messages" "$end" "$start" "$r0" "$r1" "$c0" "$c1" \
    "$backend" >>"$work/figures.$backend" <<'PY'
import json, sys
rcpt = json.load(open(sys.argv[1]))
m, end, start = int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
r0, r1, c0, c1 = (int(x) for x in sys.argv[5:9])
rt = (r1 - r0 - 1) / m if sys.argv[9] == "redis" else 0
cmds = (c1 - c0 - 1) / m if sys.argv[9] == "redis" else 0
if rcpt["wrong"]:
    sys.exit(f"!! {sys.argv[9]}: {rcpt['wrong']} RCPTs not 250: {rcpt['examples']}")
print(f"{m / (end - start):.0f} {rcpt['p50_ms']} {rcpt['p99_ms']} {rt:.3f} {cmds:.3f}")
PY
}

for _ in $(seq 1 "$rounds"); do
  run_round sqlite
  run_round redis
done

/usr/bin/python3 - "$work" "$messages" "$rcpts" "$sessions" "$rounds" <<'PY'
import statistics, sys
work, m, n, sessions, rounds = sys.argv[1:6]
med = {}
for b in ("sqlite", "redis"):
    rows = [list(map(float, l.split())) for l in open(f"{work}/figures.{b}")]
    med[b] = [statistics.median(col) for col in zip(*rows)]
    rates = "/".join(f"{r[0]:.0f}" for r in rows)
    print(f"{b + ':':8} {med[b][0]:6.0f} msg/s [{rates}]  RCPT p50 {med[b][1]:.3f} ms "
          f"p99 {med[b][2]:.3f} ms" +
          (f"  redis round trips {med[b][3]:.3f}/msg, commands {med[b][4]:.3f}/msg"
           if b == "redis" else ""))
s, r = med["sqlite"], med["redis"]
print(f"redis_state: {m} messages x {rounds} rounds, {sessions} sessions, {n} RCPTs: "
      f"sqlite={s[0]:.0f} msg/s redis={r[0]:.0f} msg/s redis/sqlite={r[0] / s[0]:.2f} "
      f"(target 0.9) rcpt_p50 sqlite={s[1]:.3f}ms redis={r[1]:.3f}ms "
      f"(+{r[1] - s[1]:.3f}) rcpt_p99 sqlite={s[2]:.3f}ms redis={r[2]:.3f}ms "
      f"(+{r[2] - s[2]:.3f}) round_trips={r[3]:.2f}/msg (target 2) commands={r[4]:.2f}/msg")
PY

# What one Redis does here: the reads backstop sends at each RCPT, one client connection
# each of 50 (no pipelining: each request one round trip), on the machine it shares.
if [ -z "$quick" ]; then
  rcli hset bench:o:l:127.0.0.1 listed_at 1 expires_at 2 reason r manual 0 >/dev/null
  for cmd in "HMGET bench:o:l:127.0.0.1 listed_at expires_at reason manual" \
      "HGETALL bench:c:a:127.0.0.1" "GET bench:c:h:mx1.example.test"; do
    # shellcheck disable=SC2086
    printf 'redis-benchmark %-55s %s\n' "$cmd:" "$(redis-benchmark -h 127.0.0.1 -p "$rport" \
      -c 50 -n 200000 -q $cmd 2>/dev/null | tr '\r' '\n' | grep -o '[0-9.]* requests per second' |
      tail -1)"
  done
fi
echo "(load: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores shared with other work)"
