# lib.sh: helpers shared by the benchmark scripts. Loopback only, everything cleaned up.
set -euo pipefail

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() { # host port
  for _ in $(seq 1 100); do
    if /usr/bin/python3 -c "import socket,sys; socket.create_connection(('$1',$2),1)" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "nothing listens on $1:$2" >&2
  return 1
}

now() { date +%s.%N; }

rate() { # count seconds
  /usr/bin/python3 -c "print(f'{$1/$2:.0f}')"
}

ratio() { # a b
  /usr/bin/python3 -c "print(f'{$1/$2:.2f}')"
}

# A backstop config for benchmarks: real disk, loopback DNS that answers nothing, primary down.
# BENCH_WORKERS sets [smtp] workers (default: backstop's own choice).
# MAX_CONNECTIONS (default 15000) is [smtp] max_connections and max_connections_per_ip.
write_backstop_config() { # file port queue_dir [max_connections]
  cat >"$1" <<CFG
hostname = "mx2.example.test"
[log]
level = "warn"
[smtp]
listen = ["127.0.0.1:$2"]
$([ -z "${BENCH_WORKERS:-}" ] || echo "workers = $BENCH_WORKERS")
max_connections = ${4:-15000}
max_connections_per_ip = ${4:-15000}
[queue]
dir = "$3"
[state]
path = "$3/../state.db"
[dns]
servers = ["127.0.0.1:1"]
timeout = 200
tries = 1
[delivery]
retry_initial = "1h"
# The Postfix reference is a plain relay_domains backup MX: no recipient verification, no
# sender-domain lookup. backstop does the same work here; bench/rcpt_latency.sh measures
# verification on its own.
[verify]
callout = false
sender_domain = false
unverified = "accept"
[checks.spf]
enabled = false
# The Postfix reference takes mail while its primary is up; so does backstop here.
[checks.primary_up]
action = "accept"
[[domain]]
name = "example.test"
primary = ["127.0.0.1:1"]
CFG
}

# main.cf lines every private Postfix instance shares: its own spool and data under DIR,
# the stock binaries and user.
postfix_private_main() { # dir
  cat <<CFG
compatibility_level = 3.6
queue_directory = $1/spool
data_directory = $1/data
meta_directory = /etc/postfix
shlib_directory = no
mail_owner = postfix
setgid_group = postdrop
CFG
}

# main.cf lines that keep a private instance off DNS and log to DIR/maillog.
postfix_private_log() { # dir
  cat <<CFG
disable_dns_lookups = yes
smtp_dns_support_level = disabled
maillog_file_prefixes = $1
maillog_file = $1/maillog
biff = no
CFG
}

# master.cf of a private instance: smtpd on LISTEN and the stock services, without chroot
# (the private spool has no chroot files); further arguments are extra service lines.
write_postfix_master() { # dir listen [service line...]
  local dir=$1 listen=$2
  shift 2
  {
    echo "$listen inet n - n - - smtpd"
    cat <<'CFG'
pickup    unix  n - n 60  1 pickup
cleanup   unix  n - n -   0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -   - trivial-rewrite
bounce    unix  - - n -   0 bounce
defer     unix  - - n -   0 bounce
trace     unix  - - n -   0 bounce
verify    unix  - - n -   1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -   - proxymap
smtp      unix  - - n -   - smtp
relay     unix  - - n -   - smtp
showq     unix  n - n -   - showq
error     unix  - - n -   - error
retry     unix  - - n -   - error
discard   unix  - - n -   - discard
anvil     unix  - - n -   1 anvil
scache    unix  - - n -   1 scache
postlog   unix-dgram n - n - 1 postlogd
CFG
    local line
    for line in "$@"; do echo "$line"; done
  } >"$dir/etc/master.cf"
}

# A private Postfix instance configured as a backup MX for example.test that only queues
# (the primary is "down": defer_transports), as backstop does in the same benchmark.
start_postfix_backup_mx() { # dir port [primary_port]
  local dir=$1 port=$2 primary=${3:-}
  mkdir -p "$dir/etc" "$dir/spool" "$dir/data"
  chown postfix "$dir/data"
  chmod 755 "$dir"
  cat >"$dir/etc/main.cf" <<CFG
$(postfix_private_main "$dir")
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mx3.example.test
mydestination =
mynetworks = 127.0.0.0/8
relay_domains = example.test
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions = reject_unauth_destination
relay_transport = relay:[127.0.0.1]:${primary:-1}
default_transport = smtp:[127.0.0.1]:${primary:-1}
$([ -z "$primary" ] && echo "defer_transports = relay smtp")
$(postfix_private_log "$dir")
CFG
  write_postfix_master "$dir" "127.0.0.1:$port"
  # postfix prints its errors only to a terminal or syslog: give it a terminal.
  script -qc "postfix -c $dir/etc start" /dev/null >"$dir/start.log" 2>&1 || true
  wait_port 127.0.0.1 "$port" || { cat "$dir/start.log" "$dir/maillog" >&2 2>/dev/null; return 1; }
}

stop_postfix() { # dir
  postfix -c "$1/etc" stop >/dev/null 2>&1 || true
}

# A scratch directory for one benchmark, removed with everything started in it on exit.
# Scripts add the PIDs they start to pids and set postfix_dir when they run Postfix.
make_workdir() { # name
  work=$(mktemp -d "/var/tmp/backstop-$1.XXXXXX")
  chmod 755 "$work" # a private Postfix runs as user postfix
  pids=()
  postfix_dir=""
  trap cleanup_workdir EXIT
}

cleanup_workdir() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -z "$postfix_dir" ] || stop_postfix "$postfix_dir"
  wait 2>/dev/null || true
  rm -rf "$work"
}

# Waits until a TCP socket listens on host:port (IPv4), read from /proc/net/tcp: no probe
# connection, which a server under measurement would count and log.
wait_listen() { # host port
  for _ in $(seq 1 100); do
    if /usr/bin/python3 - "$1" "$2" <<'PY'
import sys
a, b, c, d = (int(x) for x in sys.argv[1].split("."))
local = f"{d:02X}{c:02X}{b:02X}{a:02X}:{int(sys.argv[2]):04X}"
with open("/proc/net/tcp") as f:
    sys.exit(0 if any(l.split()[1] == local and l.split()[3] == "0A"
                      for l in f.readlines()[1:]) else 1)
PY
    then
      return 0
    fi
    sleep 0.1
  done
  echo "nothing listens on $1:$2" >&2
  return 1
}

# A private Postfix instance as the PRIMARY MX of a domain (the recipient-verification
# benchmark asks it about recipients): it knows the addresses listed in ADDRESSES (a file, one
# address a line) through virtual_mailbox_maps = texthash and refuses any other address of
# DOMAIN at RCPT with its own "550 5.1.1 ... User unknown in virtual mailbox table"; no DNS.
# It listens on HOST:PORT only (a 127.0.0.x address; inet_interfaces = loopback-only because
# Postfix refuses 127.0.0.2 there: lo carries only 127.0.0.1/8). Further arguments are
# "name = value" lines appended to main.cf. Stop it with stop_postfix DIR.
start_postfix_primary() { # dir host port domain addresses_file [main.cf line...]
  local dir=$1 host=$2 port=$3 domain=$4 addresses=$5
  shift 5
  mkdir -p "$dir/etc" "$dir/spool" "$dir/data" "$dir/mail"
  chown postfix "$dir/data" "$dir/mail"
  chmod 755 "$dir"
  awk -v d="$domain" '{ n = split($1, p, "@"); print $1, d "/" p[1] "/" }' "$addresses" \
    >"$dir/etc/users"
  cat >"$dir/etc/main.cf" <<CFG
$(postfix_private_main "$dir")
inet_interfaces = loopback-only
inet_protocols = ipv4
myhostname = primary.$domain
mydestination =
mynetworks = $host/32
relay_domains =
alias_maps =
alias_database =
virtual_mailbox_domains = $domain
virtual_mailbox_maps = texthash:$dir/etc/users
virtual_mailbox_base = $dir/mail
virtual_uid_maps = static:$(id -u postfix)
virtual_gid_maps = static:$(id -g postfix)
virtual_minimum_uid = 1
virtual_transport = virtual
smtpd_reject_unlisted_recipient = yes
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
smtpd_peername_lookup = no
$(postfix_private_log "$dir")
CFG
  local line
  for line in "$@"; do echo "$line" >>"$dir/etc/main.cf"; done
  write_postfix_master "$dir" "$host:$port" "virtual   unix  - n n -   - virtual"
  # Every Postfix command sleeps in 300 ms steps while main.cf or a texthash map is younger
  # than about 2 s ("file is being modified"): date them a minute back.
  touch -d "1 minute ago" "$dir/etc/main.cf" "$dir/etc/master.cf" "$dir/etc/users"
  script -qc "postfix -c $dir/etc start" /dev/null >"$dir/start.log" 2>&1 || true
  wait_listen "$host" "$port" || { cat "$dir/start.log" "$dir/maillog" >&2 2>/dev/null; return 1; }
}

# Waits until every line a private Postfix logged so far is in its maillog (postlogd writes
# asynchronously; a marker sent through the same postlog socket comes after them).
postfix_log_sync() { # dir
  local marker="bench-sync-$$-$RANDOM$RANDOM"
  postlog -c "$1/etc" -t bench "$marker" >/dev/null 2>&1 || return 0
  for _ in $(seq 1 200); do
    grep -q "$marker" "$1/maillog" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "postlogd did not write $marker" >&2
  return 1
}

# Machine-wide CPU jiffies spent (user, nice, system, irq, softirq, steal; not idle, iowait).
machine_jiffies() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }

# Context switches of the whole machine since boot.
machine_switches() { awk '/^ctxt/ {print $2}' /proc/stat; }

# CPU jiffies (user + system) of a process, all its threads included.
process_jiffies() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# Context switches (voluntary and not) summed over every thread of a process.
process_switches() {
  cat /proc/"$1"/task/*/status 2>/dev/null |
    awk '/^(non)?voluntary_ctxt_switches/ {n += $2} END {print n + 0}'
}

# Opens COUNT idle client connections to 127.0.0.1:PORT with bench/idle_clients.py (MODE ehlo:
# banner and EHLO; first-byte: the first byte of the banner) from two processes, each far
# under its own open-files limit and on its own 50 source addresses (127.0.0.2-51 and
# 127.0.0.52-101: about 190 ports per address for 19,000, none runs out). Returns once both
# have settled every connection; they hold them until release_idle_clients. Sets
# idle_connect_seconds; idle_field KEY sums a field of their reports (open, failed, ...).
start_idle_clients() { # port count [mode]
  local port=$1 count=$2 mode=${3:-ehlo} half=$(($2 / 2)) started
  mkfifo "$work/hold"
  started=$(now)
  /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/idle_clients.py" "$port" "$half" 2 "$mode" \
    <"$work/hold" >"$work/c1" &
  pids+=($!)
  /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/idle_clients.py" "$port" "$((count - half))" \
    52 "$mode" <"$work/hold" >"$work/c2" &
  pids+=($!)
  exec 3>"$work/hold"
  for _ in $(seq 1 1200); do
    [ -s "$work/c1" ] && [ -s "$work/c2" ] && break
    sleep 0.1
  done
  idle_connect_seconds=$(/usr/bin/python3 -c "print(f'{$(now) - $started:.1f}')")
}

idle_field() { # key
  awk -v k="$1" '{for (i = 1; i < NF; i++) if ($i == k) s += $(i + 1)} END {print s + 0}' \
    "$work/c1" "$work/c2"
}

release_idle_clients() { exec 3>&-; }

# The RCPT load client of rcpt_latency.sh and pipeline_cost.sh (one thread, one RCPT at a time
# per session, JSON on stdout). BENCH_RCPT_CLIENT picks it: cpp (the default: bench/rcpt_client.cpp,
# the CMake target rcpt_client, built here on demand) or python (bench/rcpt_client.py, the
# reference, which burns about a core of its own). run_rcpt_client KIND OUT ARGS... writes the
# JSON to OUT and the client's own CPU seconds (getrusage of the child) to OUT.cpu.
rcpt_client_kinds() { # -> the kinds BENCH_RCPT_CLIENT asks for ("both": cpp then python)
  case "${BENCH_RCPT_CLIENT:-cpp}" in
    cpp | python) echo "${BENCH_RCPT_CLIENT:-cpp}" ;;
    both) echo cpp python ;;
    *) echo "BENCH_RCPT_CLIENT must be cpp, python or both" >&2; return 1 ;;
  esac
}

build_rcpt_client() { # build_dir -> rcpt_client_bin (a dir that is no CMake build: g++ -O2)
  rcpt_client_bin="$1/rcpt_client"
  if [ -f "$1/CMakeCache.txt" ]; then
    cmake --build "$1" --target rcpt_client >/dev/null
  elif [ ! -x "$rcpt_client_bin" ]; then
    g++ -std=c++20 -O2 -o "$rcpt_client_bin" "$(dirname "${BASH_SOURCE[0]}")/rcpt_client.cpp"
  fi
}

run_rcpt_client() { # kind out host port address_file [options...]
  local kind=$1 out=$2 cmd
  shift 2
  if [ "$kind" = python ]; then
    cmd=(/usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/rcpt_client.py")
  else
    cmd=("$rcpt_client_bin")
  fi
  /usr/bin/python3 -c '
import resource, subprocess, sys
with open(sys.argv[1], "w") as out:
    rc = subprocess.run(sys.argv[3:], stdout=out).returncode
u = resource.getrusage(resource.RUSAGE_CHILDREN)
open(sys.argv[2], "w").write(f"{u.ru_utime + u.ru_stime:.6f}\n")
sys.exit(rc)' "$out" "$out.cpu" "${cmd[@]}" "$@"
}

# BENCH_PERF=DIR: perf records the server (on-CPU, call graphs) while it is measured, into
# DIR/NAME.data; `perf report -i DIR/NAME.data` shows where its CPU went. Off by default: the
# sampling costs the server a few percent.
start_perf() { # name pid
  perf_pid=""
  [ -n "${BENCH_PERF:-}" ] || return 0
  mkdir -p "$BENCH_PERF"
  perf record -q -F 1999 -g -p "$2" -o "$BENCH_PERF/$1.data" >/dev/null 2>&1 &
  perf_pid=$!
  sleep 0.3 # perf attaches before the load starts
}

stop_perf() {
  [ -n "${perf_pid:-}" ] || return 0
  kill -INT "$perf_pid" 2>/dev/null || true
  wait "$perf_pid" 2>/dev/null || true
  perf_pid=""
}
