"""Black-box fixtures: the real backstop binary on loopback, a raw SMTP client, real peers.

Every test starts its own server on a free port with a config written into tmp_path; only
loopback addresses are used and the host's resolver is never asked.
"""
import json
import os
import signal
import socket
import ssl
import subprocess
import time

import pytest

BIN = os.environ.get("BACKSTOP_BIN", os.path.join(os.path.dirname(__file__), "../../build/backstop"))


def free_port(host="127.0.0.1"):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def wait_port(host, port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(v)


class Backstop:
    """One backstop server process with its own config, queue and log."""

    def __init__(self, tmp_path, port=None, **sections):
        self.dir = tmp_path
        self.port = port or free_port()
        self.queue_dir = sections.pop("queue_dir", str(tmp_path / "queue"))
        self.config_path = tmp_path / "backstop.toml"
        self.log_path = tmp_path / "backstop.log"
        self.proc = None
        self.sections = {
            "": {"hostname": "mx2.example.test"},
            "log": {"level": "debug"},
            "smtp": {"listen": [f"127.0.0.1:{self.port}"], "workers": 2,
                     "max_connections_per_ip": 200},
            "queue": {"dir": self.queue_dir},
            "state": {"path": str(tmp_path / "state.db")},
            "dns": {"servers": ["127.0.0.1:1"], "timeout": 200, "tries": 1},
            "delivery": {"retry_initial": "1h"},
        }
        self.domains = [{"name": "example.test", "primary": ["127.0.0.1:1"]}]
        for name, values in sections.items():
            if name == "domains":
                self.domains = values
            else:
                self.sections.setdefault(name, {}).update(values)
        self.write_config()

    def write_config(self):
        lines = []
        for key, value in self.sections[""].items():
            lines.append(f"{key} = {toml_value(value)}")
        for name, values in self.sections.items():
            if name == "":
                continue
            lines.append(f"[{name}]")
            for key, value in values.items():
                lines.append(f"{key} = {toml_value(value)}")
        for d in self.domains:
            lines.append("[[domain]]")
            for key, value in d.items():
                lines.append(f"{key} = {toml_value(value)}")
        self.config_path.write_text("\n".join(lines) + "\n")

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([BIN, "serve", "--config", str(self.config_path)],
                                     stdout=self.log, stderr=self.log)
        if not wait_port("127.0.0.1", self.port):
            self.stop()
            raise RuntimeError("backstop did not start:\n" + self.log_text())
        return self

    def log_text(self):
        return self.log_path.read_text(errors="replace")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def kill9(self):
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    def cli(self, *args, check=True):
        r = subprocess.run([BIN, *args, "--config", str(self.config_path)],
                           capture_output=True, text=True, timeout=30)
        if check and r.returncode != 0:
            raise AssertionError(f"backstop {args} failed: {r.stdout} {r.stderr}")
        return r

    def queue_json(self, *args):
        r = self.cli("queue", *args, "--json", check=False)
        return r.returncode, json.loads(r.stdout)

    def queued(self):
        code, answer = self.queue_json("list")
        assert code == 0, answer
        return answer["messages"]

    def body(self, queue_id):
        code, answer = self.queue_json("show", queue_id)
        assert code == 0, answer
        return answer["body"]


class Smtp:
    """A byte-exact SMTP client: send exactly what the test says, read replies as they come."""

    def __init__(self, port, host="127.0.0.1", timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def read_reply(self):
        """Returns (code, [lines]) of one complete reply, or (None, []) on EOF."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return (None, lines)
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            text = line.decode(errors="replace")
            lines.append(text)
            if len(text) < 4 or text[3] == " ":
                return (int(text[:3]), lines)

    def cmd(self, line):
        self.send(line + "\r\n")
        return self.read_reply()

    def greet(self, name="client.example"):
        code, _ = self.read_reply()
        assert code == 220
        code, lines = self.cmd(f"EHLO {name}")
        assert code == 250
        return lines

    def starttls(self):
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        self.sock = ctx.wrap_socket(self.sock, server_hostname="mx2.example.test")
        self.buf = b""

    def closed(self, timeout=5):
        """True when the server has closed the connection."""
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    return True
                self.buf += data
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def send_message(port, sender, recipients, body, ehlo="client.example"):
    """Sends one message and returns the final reply (code, lines)."""
    c = Smtp(port)
    try:
        c.greet(ehlo)
        assert c.cmd(f"MAIL FROM:<{sender}>")[0] == 250
        for r in recipients:
            assert c.cmd(f"RCPT TO:<{r}>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(body + b".\r\n")
        reply = c.read_reply()
        c.cmd("QUIT")
        return reply
    finally:
        c.close()


def queue_id_of(reply):
    code, lines = reply
    assert code == 250, lines
    return lines[-1].rsplit(" ", 1)[-1]


@pytest.fixture
def make_server(tmp_path):
    servers = []

    def make(**sections):
        d = tmp_path / f"s{len(servers)}"
        d.mkdir()
        s = Backstop(d, **sections)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.stop()


@pytest.fixture
def server(make_server):
    return make_server().start()
