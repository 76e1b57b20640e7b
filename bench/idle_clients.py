"""Opens N idle SMTP sessions to a server, reads each banner, says EHLO, then holds them.
With MODE first-byte (bench/tarpit_idle.sh) a session is held as soon as the first byte of
its banner arrives: a tarpit sends the rest one byte a second, and nothing reads it.

At most WINDOW sessions are between connect() and the EHLO reply at a time, so the listen
backlog (net.core.somaxconn) never overflows into SYN retransmits. Source addresses rotate
over 50 loopback addresses from 127.0.0.FIRST, so no address runs out of ephemeral ports.
Prints "open N failed F refused R timed_out T seconds S" once every session is settled, then
waits for a line on stdin (or SIGTERM) before closing them.
Usage: idle_clients.py PORT COUNT [FIRST_SOURCE [MODE]]   (MODE: ehlo, the default, or first-byte)
"""
import errno
import selectors
import socket
import sys
import time

WINDOW = 400
SOURCES = 50
STALL_SECONDS = 30


class Opener:
    def __init__(self, port, count, first_source, first_byte=False):
        self.port, self.count, self.first = port, count, first_source
        self.first_byte = first_byte
        self.sel = selectors.DefaultSelector()
        self.held = []  # sockets that got the EHLO reply
        self.started = 0
        self.in_flight = 0
        self.failed = 0
        self.refused = 0  # a 4xx/5xx banner (max_connections and friends)
        self.buffers = {}

    def start_one(self):
        i = self.started
        self.started += 1
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((f"127.0.0.{self.first + i % SOURCES}", 0))
        s.setblocking(False)
        rc = s.connect_ex(("127.0.0.1", self.port))
        if rc not in (0, errno.EINPROGRESS):
            s.close()
            self.failed += 1
            return
        self.in_flight += 1
        self.buffers[s] = (False, b"")  # (greeted, bytes so far)
        self.sel.register(s, selectors.EVENT_READ)

    def settle(self, s, held):
        self.sel.unregister(s)
        del self.buffers[s]
        self.in_flight -= 1
        if held:
            self.held.append(s)
        else:
            s.close()

    def on_readable(self, s):
        try:
            data = s.recv(4096)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        greeted, seen = self.buffers[s]
        if not data:
            self.failed += 1
            self.settle(s, False)
            return
        seen += data
        if self.first_byte:
            if seen.startswith(b"2"):
                self.settle(s, True)
            else:
                self.refused += 1
                self.settle(s, False)
            return
        if not greeted and b"\r\n" in seen:
            if not seen.startswith(b"220"):
                self.refused += 1
                self.settle(s, False)
                return
            if b"220 " in seen:
                s.send(b"EHLO idle.example\r\n")
                self.buffers[s] = (True, b"")
                return
        if greeted and b"\r\n250 " in b"\r\n" + seen:
            self.settle(s, True)
            return
        self.buffers[s] = (greeted, seen)

    def run(self):
        while self.started < self.count or self.in_flight:
            while self.started < self.count and self.in_flight < WINDOW:
                self.start_one()
            if not self.in_flight:
                continue
            events = self.sel.select(timeout=STALL_SECONDS)
            if not events:
                break  # nothing moved for STALL_SECONDS: the rest count as timed out
            for key, _ in events:
                self.on_readable(key.fileobj)
        return self.in_flight + (self.count - self.started)


def main():
    port, count = int(sys.argv[1]), int(sys.argv[2])
    first = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    first_byte = len(sys.argv) > 4 and sys.argv[4] == "first-byte"
    started = time.monotonic()
    opener = Opener(port, count, first, first_byte)
    timed_out = opener.run()
    seconds = time.monotonic() - started
    print(f"open {len(opener.held)} failed {opener.failed} refused {opener.refused} "
          f"timed_out {timed_out} seconds {seconds:.1f}", flush=True)
    sys.stdin.readline()
    for s in opener.held:
        s.close()


if __name__ == "__main__":
    main()
