"""Opens N idle SMTP sessions to a server, reads each banner, says EHLO, then holds them.

Prints "open N" once all are established and waits for a line on stdin (or SIGTERM) before
closing them. Source addresses rotate over 127.0.0.2.. so no address runs out of ports.
Usage: idle_clients.py PORT COUNT
"""
import selectors
import socket
import sys


def main():
    port, count = int(sys.argv[1]), int(sys.argv[2])
    socks = []
    sel = selectors.DefaultSelector()
    for i in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind((f"127.0.0.{2 + i % 50}", 0))
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        socks.append(s)
        sel.register(s, selectors.EVENT_READ, i)
    pending = set(range(count))
    greeted = set()
    buffers = [b""] * count
    while pending:
        events = sel.select(timeout=30)
        if not events:
            break
        for key, _ in events:
            i = key.data
            try:
                data = key.fileobj.recv(4096)
            except (BlockingIOError, InterruptedError):
                continue
            except OSError:
                pending.discard(i)
                sel.unregister(key.fileobj)
                continue
            if not data:
                pending.discard(i)
                sel.unregister(key.fileobj)
                continue
            buffers[i] += data
            if i not in greeted and b"220 " in buffers[i]:
                greeted.add(i)
                buffers[i] = b""
                key.fileobj.send(b"EHLO idle.example\r\n")
            elif i in greeted and b"\r\n250 " in b"\r\n" + buffers[i]:
                pending.discard(i)
                sel.unregister(key.fileobj)
    ok = len(greeted) - len(pending & greeted)
    print(f"open {ok}", flush=True)
    sys.stdin.readline()
    for s in socks:
        s.close()


if __name__ == "__main__":
    main()
