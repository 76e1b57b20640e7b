"""A real redis-server for the black-box tests: one per test, on a free loopback port, no
persistence, killed and started again on the same port to play an outage."""
import shutil
import socket
import subprocess
import time

from conftest import free_port


def _encode(args):
    parts = [b"*%d\r\n" % len(args)]
    for arg in args:
        data = arg if isinstance(arg, bytes) else str(arg).encode()
        parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(parts)


class _Reader:
    """Reads one RESP reply at a time from a socket."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def _line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _exact(self, n):
        while len(self.buf) < n + 2:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("redis closed the connection")
            self.buf += chunk
        data, self.buf = self.buf[:n], self.buf[n + 2:]
        return data

    def reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RuntimeError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n).decode(errors="replace")
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RuntimeError(f"unexpected RESP reply {line!r}")


class RedisServer:
    """redis-server on 127.0.0.1:port. `url` is what [state] url takes."""

    def __init__(self, tmp_path, port=None):
        if shutil.which("redis-server") is None:
            raise RuntimeError("redis-server is not installed (scripts/install-deps.sh)")
        self.port = port or free_port()
        self.dir = tmp_path
        self.log = open(tmp_path / f"redis-{self.port}.log", "ab")
        self.proc = None
        self.start()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout=5.0):
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", str(self.dir)]
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                if self.cmd("PING") == "PONG":
                    return
            except (OSError, RuntimeError, ConnectionError):
                time.sleep(0.02)
        raise RuntimeError(f"redis-server did not answer on 127.0.0.1:{self.port}")

    def kill(self):
        """SIGKILL: an outage as abrupt as a crash; keys are gone (no persistence)."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def stop(self):
        self.kill()
        self.log.close()

    def cmd(self, *args, timeout=2.0):
        """One command, its decoded reply (errors raise RuntimeError)."""
        return self.pipeline([args], timeout=timeout)[0]

    def pipeline(self, commands, timeout=2.0):
        with socket.create_connection(("127.0.0.1", self.port), timeout=timeout) as sock:
            sock.sendall(b"".join(_encode(c) for c in commands))
            reader = _Reader(sock)
            return [reader.reply() for _ in commands]

    def keys(self, pattern="*"):
        return sorted(self.cmd("KEYS", pattern))

    def commands_processed(self):
        """INFO stats total_commands_processed: round trips are counted from its deltas."""
        for line in self.cmd("INFO", "stats").splitlines():
            if line.startswith("total_commands_processed:"):
                return int(line.split(":", 1)[1])
        raise RuntimeError("INFO stats has no total_commands_processed")
