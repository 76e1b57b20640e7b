"""Hostile bytes (after Redis' protocol.tcl): garbage, binary, huge lines and abrupt
disconnects never crash the server, never grow it without bound, and never leave it
unresponsive to the next client."""
import os
import random
import socket
import time

from conftest import Smtp, queue_id_of, send_message


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def test_random_garbage_sessions(server):
    rng = random.Random(1234)
    for i in range(60):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        kind = i % 4
        if kind == 0:
            payload = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 4000)))
        elif kind == 1:
            payload = b"MAIL FROM:<" + b"A" * 100000 + b">\r\n"
        elif kind == 2:
            payload = b"EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.test>\r\nDATA\r\n" + \
                bytes(rng.getrandbits(8) for _ in range(20000))
        else:
            payload = b"\x00\r\n\xff\xfe\r\nEHLO \x00\x01\r\nBDAT 99999999999999999999\r\n"
        try:
            s.sendall(payload)
            s.settimeout(0.2)
            try:
                s.recv(65536)
            except OSError:
                pass
        except OSError:
            pass
        s.close()
    assert server.proc.poll() is None, "server died:\n" + server.log_text()[-2000:]
    reply = send_message(server.port, "a@b.example", ["u@example.test"], b"Subject: ok\r\n\r\nx\r\n")
    assert queue_id_of(reply)


def test_unterminated_line_flood_is_bounded(server):
    before = rss_kib(server.proc.pid)
    socks = []
    for _ in range(20):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        s.recv(100)
        socks.append(s)
    chunk = b"X" * 65536
    for _ in range(16):  # 1 MiB per connection without a line end
        for s in socks:
            try:
                s.sendall(chunk)
            except OSError:
                pass
    time.sleep(0.5)
    grown = rss_kib(server.proc.pid) - before
    assert grown < 64 * 1024, f"RSS grew by {grown} KiB for 20 MiB of unterminated input"
    for s in socks:
        s.close()
    c = Smtp(server.port)
    c.greet()
    assert c.cmd("NOOP")[0] == 250


def test_disconnect_at_every_stage_leaves_nothing(server):
    steps = [b"EHLO x\r\n", b"MAIL FROM:<a@b.example>\r\n", b"RCPT TO:<u@example.test>\r\n",
             b"DATA\r\n", b"Subject: cut\r\n\r\nhalf"]
    for n in range(1, len(steps) + 1):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        s.recv(100)
        s.sendall(b"".join(steps[:n]))
        time.sleep(0.05)
        s.close()
    time.sleep(0.3)
    assert server.queued() == []
    assert os.listdir(os.path.join(server.queue_dir, "tmp")) == []
