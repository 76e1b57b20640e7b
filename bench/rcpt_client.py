"""RCPT decision latency: sends RCPT TO for a list of addresses over parallel SMTP sessions,
one command at a time (no pipelining), and times each RCPT from the send to its complete reply.

Every session connects and says EHLO before the clock starts; then each sends MAIL FROM once
per transaction, one RCPT per address (waiting for the reply before the next), RSET and a new
MAIL FROM every --rset-every recipients (to stay under the server's recipient limit), and QUIT
at the end. A session that has sent --per-connection RCPTs reconnects (servers count rejected
recipients as errors and cut a session off after too many). Addresses are dealt round-robin
to the sessions. One event loop drives all sessions (no threads, so no GIL hand-overs inside
the measured intervals).

The address file has one "ADDRESS EXPECTED_CODE" per line; a reply with another code counts
as wrong (the first few are shown). Prints one JSON object:
  {"rcpts", "seconds", "rate", "p50_ms", "p90_ms", "p99_ms", "max_ms", "wrong", "codes",
   "connections", "examples"}
Usage: rcpt_client.py HOST PORT ADDRESS_FILE [--sessions N] [--rset-every N]
                      [--per-connection N] [--sender ADDR] [--helo NAME] [--timeout S]
"""
import argparse
import json
import math
import re
import selectors
import socket
import sys
import time

FINAL = re.compile(rb"(?:^|\r\n)(\d{3}) [^\r\n]*\r\n$")


class Session:
    def __init__(self, index, addresses):
        self.index = index
        self.addresses = addresses  # [(address, expected code)]
        self.next = 0
        self.sock = None
        self.buf = b""
        self.state = "closed"
        self.in_tx = 0       # RCPTs in the current transaction
        self.on_conn = 0     # RCPTs on the current connection
        self.sent_at = 0
        self.current = None  # (address, expected) of the RCPT in flight

    def done(self):
        return self.next >= len(self.addresses)


class Client:
    def __init__(self, args, addresses):
        self.args = args
        self.sel = selectors.DefaultSelector()
        self.sessions = [Session(i, addresses[i::args.sessions]) for i in range(args.sessions)]
        self.sessions = [s for s in self.sessions if s.addresses]
        self.latencies = []
        self.codes = {}
        self.wrong = 0
        self.examples = []
        self.connections = 0
        self.running = False  # False while the sessions connect and say EHLO

    # ---- socket plumbing -------------------------------------------------------------------

    def connect(self, s):
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        sock.connect_ex((self.args.host, self.args.port))
        s.sock, s.buf, s.state, s.in_tx, s.on_conn = sock, b"", "greeting", 0, 0
        self.connections += 1
        self.sel.register(sock, selectors.EVENT_READ, s)

    def close(self, s):
        if s.sock is not None:
            self.sel.unregister(s.sock)
            s.sock.close()
            s.sock = None
        s.state = "closed"

    def send(self, s, line):
        data = line.encode() + b"\r\n"
        s.sent_at = time.perf_counter_ns()
        # A command line is far smaller than the socket buffer: one send writes it whole.
        n = s.sock.send(data)
        if n != len(data):
            raise RuntimeError("short send")
        s.state = line.split(" ", 1)[0].split(":", 1)[0].upper()

    # ---- the conversation ------------------------------------------------------------------

    def start_transaction(self, s):
        s.in_tx = 0
        self.send(s, f"MAIL FROM:<{self.args.sender}>")

    def next_step(self, s):
        """After MAIL/RCPT/RSET succeeded: the next command of session s."""
        if s.done():
            self.send(s, "QUIT")
        elif s.on_conn >= self.args.per_connection:
            self.send(s, "QUIT")
            s.state = "RECONNECT"
        elif s.in_tx >= self.args.rset_every:
            self.send(s, "RSET")
        else:
            s.current = s.addresses[s.next]
            s.next += 1
            s.in_tx += 1
            s.on_conn += 1
            self.send(s, f"RCPT TO:<{s.current[0]}>")

    def on_reply(self, s, code, text, now):
        state = s.state
        if state == "greeting":
            if code != 220:
                raise RuntimeError(f"session {s.index}: greeting {text!r}")
            self.send(s, f"EHLO {self.args.helo}")
        elif state == "EHLO":
            if code != 250:
                raise RuntimeError(f"session {s.index}: EHLO {text!r}")
            s.state = "ready"
            if self.running:
                self.start_transaction(s)
        elif state == "MAIL":
            if code != 250:
                raise RuntimeError(f"session {s.index}: MAIL {text!r}")
            self.next_step(s)
        elif state == "RCPT":
            self.latencies.append(now - s.sent_at)
            self.codes[code] = self.codes.get(code, 0) + 1
            if code != s.current[1]:
                self.wrong += 1
                if len(self.examples) < 5:
                    self.examples.append(f"{s.current[0]} expected {s.current[1]}: {text}")
            if code == 421:  # the server closes the session: go on with a new one
                self.close(s)
                self.connect(s)
                return
            self.next_step(s)
        elif state == "RSET":
            if code != 250:
                raise RuntimeError(f"session {s.index}: RSET {text!r}")
            self.start_transaction(s)
        elif state == "RECONNECT":
            self.close(s)
            self.connect(s)
        elif state == "QUIT":
            self.close(s)

    def on_readable(self, s):
        now = time.perf_counter_ns()
        try:
            data = s.sock.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as e:
            data, err = b"", e
        else:
            err = None
        if not data:
            if s.state in ("QUIT", "RECONNECT"):
                self.on_reply(s, 221, "(closed)", now)
                return
            raise RuntimeError(f"session {s.index}: connection lost in state {s.state} "
                               f"({err or 'closed by the server'}); buffer {s.buf[-200:]!r}")
        s.buf += data
        m = FINAL.search(s.buf)
        if not m:
            return
        text = s.buf.decode(errors="replace").strip()
        s.buf = b""
        self.on_reply(s, int(m.group(1)), text, now)

    def loop(self, until, deadline):
        while not until():
            if time.monotonic() > deadline:
                raise RuntimeError("timed out")
            for key, _ in self.sel.select(timeout=1.0):
                self.on_readable(key.data)

    def run(self):
        deadline = time.monotonic() + self.args.timeout
        for s in self.sessions:
            self.connect(s)
        self.loop(lambda: all(s.state == "ready" for s in self.sessions), deadline)
        self.running = True
        start = time.perf_counter_ns()
        for s in self.sessions:
            self.start_transaction(s)
        self.loop(lambda: all(s.state == "closed" and s.done() for s in self.sessions),
                  deadline)
        return (time.perf_counter_ns() - start) / 1e9


def percentile(sorted_ns, p):
    """Nearest-rank percentile, in milliseconds."""
    if not sorted_ns:
        return 0.0
    k = max(0, min(len(sorted_ns) - 1, math.ceil(p / 100 * len(sorted_ns)) - 1))
    return sorted_ns[k] / 1e6


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("host")
    ap.add_argument("port", type=int)
    ap.add_argument("addresses")
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--rset-every", type=int, default=50)
    ap.add_argument("--per-connection", type=int, default=800)
    ap.add_argument("--sender", default="bench@client.example")
    ap.add_argument("--helo", default="bench.client.example")
    ap.add_argument("--timeout", type=float, default=60.0)
    args = ap.parse_args()
    addresses = []
    with open(args.addresses) as f:
        for line in f:
            if line.strip():
                address, code = line.split()
                addresses.append((address, int(code)))
    client = Client(args, addresses)
    try:
        seconds = client.run()
    except RuntimeError as e:
        print(json.dumps({"error": str(e), "rcpts": len(client.latencies),
                          "wrong": client.wrong, "examples": client.examples}))
        sys.exit(1)
    lat = sorted(client.latencies)
    print(json.dumps({
        "rcpts": len(lat),
        "seconds": round(seconds, 3),
        "rate": round(len(lat) / seconds, 1),
        "p50_ms": round(percentile(lat, 50), 3),
        "p90_ms": round(percentile(lat, 90), 3),
        "p99_ms": round(percentile(lat, 99), 3),
        "max_ms": round(lat[-1] / 1e6, 3) if lat else 0.0,
        "wrong": client.wrong,
        "codes": {str(k): v for k, v in sorted(client.codes.items())},
        "connections": client.connections,
        "examples": client.examples,
    }))


if __name__ == "__main__":
    main()
