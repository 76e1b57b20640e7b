#!/usr/bin/env bash
# rcpt_latency: how fast backstop decides a RCPT when it verifies recipients with the primary
# (issue 5), against a live primary: a private Postfix on 127.0.0.2 that knows half of the
# addresses (virtual_mailbox_maps) and refuses the other half at RCPT with 550 5.1.1.
# One client (parallel sessions, one RCPT at a time, each timed from send to reply: the C++
# bench/rcpt_client.cpp, the CMake target rcpt_client built by this script, or with
# BENCH_RCPT_CLIENT=python the reference bench/rcpt_client.py, which burns about a core of its
# own next to the server) sends the same ADDRESSES distinct recipients, in one run:
#   postfix   straight to the primary: Postfix's own RCPT decision (the reference);
#   callouts  to backstop, none of them seen before: every decision waits for a callout
#             (EHLO, MAIL FROM:<>, RCPT, RSET over at most max_connections_per_primary
#             reused connections);
#   cached    to backstop again: every decision comes from its cache.
# Prints RCPT/s, p50/p99 latency and the SMTP connections the primary saw, and the ratios
# cache-hit latency / Postfix latency and callout rate / Postfix rate. Fails when a reply
# is not what the primary's user list says (250 for a user, 550 for anyone else).
# Usage: bench/rcpt_latency.sh BUILD_DIR [ADDRESSES]
# Environment: BENCH_SESSIONS (20), BENCH_CALLOUT_CONNECTIONS ([verify]
# max_connections_per_primary, 2 = the default), BENCH_RCPT_CLIENT (cpp or python).
source "$(dirname "$0")/lib.sh"
build=${1:-build}
addresses=${2:-${BENCH_ADDRESSES:-10000}}
sessions=${BENCH_SESSIONS:-20}
callout_connections=${BENCH_CALLOUT_CONNECTIONS:-2}
primary_host=127.0.0.2
make_workdir rcpt
client_kind=$(rcpt_client_kinds)
[ "$client_kind" = cpp ] || [ "$client_kind" = python ] || { echo "rcpt_latency: BENCH_RCPT_CLIENT is cpp or python" >&2; exit 1; }
build_rcpt_client "$build"
echo "rcpt_latency: RCPT client $client_kind"

# Half valid users, half unknown, shuffled (fixed seed) so that every session gets both.
/usr/bin/python3 - "$addresses" "$work/users" "$work/load" <<'PY'
import random, sys
n = int(sys.argv[1])
valid = [f"user{i:06d}@example.test" for i in range(n - n // 2)]
unknown = [f"nobody{i:06d}@example.test" for i in range(n // 2)]
with open(sys.argv[2], "w") as f:
    f.write("".join(a + "\n" for a in valid))
load = [(a, 250) for a in valid] + [(a, 550) for a in unknown]
random.Random(5).shuffle(load)
with open(sys.argv[3], "w") as f:
    f.write("".join(f"{a} {c}\n" for a, c in load))
PY

# Postfix counts every rejected RCPT as an error of the connection: from the 10th
# (smtpd_soft_error_limit) it delays each reply by smtpd_error_sleep_time (1 s), at the 20th
# (smtpd_hard_error_limit) it answers 421 and disconnects, and RSETs beyond
# smtpd_junk_command_limit (100) count as errors too. backstop keeps under the defaults on
# its own (a callout connection is closed after 8 refusals or 100 probes), but the reference
# client sends hundreds of unknown recipients per connection: the limits are raised so that
# the reference measures Postfix's RCPT decision, not its error throttling. Its anvil limits
# stay at their defaults (smtpd_client_connection_count_limit = 50 concurrent connections per
# client, connection and recipient rate limits off); the load stays below them.
# in_flow_delay is off: Postfix opens a queue file at the first accepted RCPT, and each one
# takes a flow token that only the delivery of a message gives back. Probes are aborted
# (RSET) and never delivered, so on a primary that delivers nothing else the tokens run out
# after a few hundred valid probes and each further one waits in_flow_delay (1 s) per smtpd
# process: the benchmark would measure that pause (see docs/configuration.md, [verify]).
pport=$(free_port)
postfix_dir="$work/postfix"
start_postfix_primary "$postfix_dir" "$primary_host" "$pport" example.test "$work/users" \
  "smtpd_soft_error_limit = 1000000" "smtpd_hard_error_limit = 1000000" \
  "smtpd_error_sleep_time = 0s" "smtpd_junk_command_limit = 1000000" "in_flow_delay = 0s"

primary_connections() { # lines "connect from" in the primary's maillog so far
  postfix_log_sync "$postfix_dir"
  grep -c ' postfix/smtpd\[[0-9]*\]: connect from ' "$postfix_dir/maillog" || true
}

field() { # json_file key
  /usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"
}

measure() { # name host port -> $work/NAME.json, and NAME's primary connections in NAME.conns
  local before after
  before=$(primary_connections)
  if ! run_rcpt_client "$client_kind" "$work/$1.json" "$2" "$3" "$work/load" --sessions "$sessions" \
      --rset-every 50 --timeout 100; then
    echo "!! $1: the client failed: $(cat "$work/$1.json")" >&2
    exit 1
  fi
  after=$(primary_connections)
  echo $((after - before)) >"$work/$1.conns"
  if [ "$(field "$work/$1.json" wrong)" != 0 ]; then
    echo "!! $1: $(field "$work/$1.json" wrong) replies differ from the primary's user list:" \
      "$(field "$work/$1.json" examples)" >&2
    exit 1
  fi
}

# The reference first: it also starts the primary's smtpd processes, which then wait idle
# for the callouts as on a primary that has been running for a while.
measure postfix "$primary_host" "$pport"

port=$(free_port)
mkdir -p "$work/backstop"
cat >"$work/backstop/backstop.toml" <<CFG
hostname = "mx2.example.test"
[log]
level = "warn"
[smtp]
listen = ["127.0.0.1:$port"]
max_connections_per_ip = 1000
max_recipients = 100
max_errors = 1000
[queue]
dir = "$work/backstop/queue"
[state]
path = "$work/backstop/state.db"
[dns]
servers = ["127.0.0.1:1"]
timeout = 200
tries = 1
[delivery]
retry_initial = "1h"
[verify]
callout = true
timeout = "10s"
max_connections_per_primary = $callout_connections
idle_timeout = "30s"
cache_size = 100000
unverified = "accept"
max_unknown_recipients = 0
unknown_recipient_delay = "0s"
sender_domain = false
[checks.primary_up]
action = "accept"
# Recipient verification alone: SPF (on by default) would ask the dead DNS and defer.
[checks.spf]
enabled = false
[[domain]]
name = "example.test"
primary = ["$primary_host:$pport"]
verify = true
CFG
"$build/backstop" serve --config "$work/backstop/backstop.toml" 2>"$work/backstop/log" &
pids+=($!)
wait_port 127.0.0.1 "$port"

measure callouts 127.0.0.1 "$port"
measure cached 127.0.0.1 "$port"

/usr/bin/python3 - "$work" "$addresses" "$sessions" "$callout_connections" <<'PY'
import json, sys
work, n, sessions, conns = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
r = {}
for name in ("postfix", "callouts", "cached"):
    with open(f"{work}/{name}.json") as f:
        r[name] = json.load(f)
    with open(f"{work}/{name}.conns") as f:
        r[name]["primary_conns"] = int(f.read())
    with open(f"{work}/{name}.json.cpu") as f:
        r[name]["client_us"] = float(f.read()) / r[name]["rcpts"] * 1e6
p, c, h = r["postfix"], r["callouts"], r["cached"]
print(f"rcpt_latency: {n} distinct recipients ({n - n // 2} valid, {n // 2} unknown), "
      f"{sessions} sessions, one RCPT at a time, max_connections_per_primary = {conns}")
print(f"  {'':40} {'RCPT/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'primary conns':>14} "
      f"{'client CPU us/RCPT':>19}")
for label, x in (("Postfix primary, direct (reference)", p),
                 ("backstop, every RCPT a callout", c),
                 ("backstop, every RCPT a cache hit", h)):
    print(f"  {label:40} {x['rate']:>8.0f} {x['p50_ms']:>8.3f} {x['p99_ms']:>8.3f} "
          f"{x['primary_conns']:>14} {x['client_us']:>19.1f}")
ratios = {
    "cached/postfix_p50": h["p50_ms"] / p["p50_ms"],
    "cached/postfix_p99": h["p99_ms"] / p["p99_ms"],
    "callout_rate/postfix_rate": c["rate"] / p["rate"],
    "cached_rate/postfix_rate": h["rate"] / p["rate"],
}
print("  ratios: " + "  ".join(f"{k}={v:.2f}" for k, v in ratios.items()))
print(f"rcpt_latency: postfix={p['rate']:.0f}/s p50={p['p50_ms']:.3f}ms p99={p['p99_ms']:.3f}ms "
      f"callouts={c['rate']:.0f}/s p50={c['p50_ms']:.3f}ms p99={c['p99_ms']:.3f}ms "
      f"primary_conns={c['primary_conns']} "
      f"cached={h['rate']:.0f}/s p50={h['p50_ms']:.3f}ms p99={h['p99_ms']:.3f}ms "
      f"primary_conns={h['primary_conns']} "
      + " ".join(f"{k}={v:.2f}" for k, v in ratios.items()))
PY
echo "  (load: $(cut -d' ' -f1-3 /proc/loadavg))"
