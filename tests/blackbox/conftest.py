"""Black-box fixtures: the real backstop binary on loopback, a byte-exact SMTP client, swaks.

Every server is started with a config written into its own tmp directory and binds a free
loopback port; readiness is taken from the "listening on" log line, so no probe connection
disturbs per-IP counts. Only 127.0.0.x and ::1 are ever contacted, the DNS servers in the
config point at a closed loopback port, and the host's resolver is never asked.

On failure, pytest shows the SMTP transcripts of the test (every byte sent and received) and
the tail of each server's log, so a report can quote the exact bytes.
"""
import json
import os
import re
import signal
import socket
import ssl
import subprocess
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
BIN = os.environ.get("BACKSTOP_BIN",
                     os.path.normpath(os.path.join(HERE, "..", "..", "build", "backstop")))
SWAKS = "/usr/bin/swaks"
HOSTNAME = "mx2.example.test"
QUEUED_RE = re.compile(r"^250 2\.0\.0 Ok: queued as ([0-9A-Fa-f]{16})$")
ENHANCED_RE = re.compile(r"^\d{3}[ -][245]\.\d{1,3}\.\d{1,3}( |$)")
# A skip under CI=true must start its reason with this, naming what the machine lacks.
MACHINE_CANNOT = "machine cannot:"
# Lines a sanitizer writes to the server's log (BACKSTOP_SANITIZED=1: an ASan/UBSan binary).
SANITIZER_REPORT_RE = re.compile(r"ERROR: (Address|Leak|Thread)Sanitizer|runtime error:")

# Objects created by the running test, for the failure report and for the last-resort cleanup.
_live_servers = []
_live_clients = []


_ports_handed_out = set()


def free_port(host="127.0.0.1"):
    """A port nothing listens on now, never one this run handed out before: the kernel may give
    a just-closed port again, and two of a test's listeners then collide."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    while True:
        with socket.socket(family, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in _ports_handed_out:
            _ports_handed_out.add(port)
            return port


def wait_port(host, port, timeout=10.0):
    """Kept for peers.py: waits until something accepts on host:port."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def wait_until(predicate, timeout=10.0):
    """True as soon as predicate() is; False once timeout seconds have passed without."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def rcpt_reply(port, recipient, sender="a@b.example"):
    """The reply to RCPT TO:<recipient> in a fresh session (EHLO, MAIL first)."""
    c = Smtp(port)
    try:
        c.greet()
        code, lines = c.cmd(f"MAIL FROM:<{sender}>")
        assert code == 250, lines
        return c.cmd(f"RCPT TO:<{recipient}>")
    finally:
        c.close()


def toml_value(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, list):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    return json.dumps(v)


def decode(data):
    """Bytes from the binary to str, keeping every byte recoverable."""
    return data.decode("utf-8", errors="surrogateescape")


def encode(text):
    return text.encode("utf-8", errors="surrogateescape")


class Backstop:
    """One backstop server: its config, queue, log and (while running) its process."""

    def __init__(self, tmp_path, port=None, **sections):
        self.dir = tmp_path
        self.port = port or free_port()
        self.queue_dir = str(sections.pop("queue_dir", tmp_path / "queue"))
        self.config_path = tmp_path / "backstop.toml"
        self.log_path = tmp_path / "backstop.log"
        self.proc = None
        self._log = None
        self.env = None  # the server's environment; None = the test's
        self.sections = {
            "": {"hostname": HOSTNAME},
            "log": {"level": "debug"},
            # A test's stop() waits for the shutdown: 5 s at most for sessions left open.
            "smtp": {"listen": [f"127.0.0.1:{self.port}"], "workers": 2,
                     "max_connections_per_ip": 200, "shutdown_timeout": "5s"},
            "queue": {"dir": self.queue_dir},
            "state": {"backend": "sqlite", "path": str(tmp_path / "state.db")},
            # A closed loopback port: nothing is ever resolved through the host's resolver.
            "dns": {"servers": ["127.0.0.1:1"], "timeout": 200, "tries": 1},
            # The primary is a closed loopback port, retried only after an hour.
            "delivery": {"retry_initial": "1h"},
            # No DNS answers here: sender domains are checked only where a test serves them.
            # The primary is down: "cannot tell" stands in (tests of the default unset it).
            "verify": {"sender_domain": False, "unverified": "accept"},
            # SPF is on by default; with no DNS answers it would defer every RCPT.
            "checks.spf": {"enabled": False},
            # The admin HTTP listener (127.0.0.1:8025 by default) only where a test asks.
            "admin": {"listen": ""},
            # primary_up defers while the primary answers; most tests have a live primary.
            "checks.primary_up": {"action": "accept"},
            # No probes: a test's peers see only the connections the test is about.
            "monitor": {"probe_interval": 0},
        }
        self.domains = [{"name": "example.test", "primary": ["127.0.0.1:1"]}]
        self.configure(**sections)

    def configure(self, **sections):
        for name, values in sections.items():
            if name == "domains":
                self.domains = values
            elif name == "queue" and "dir" in values:
                self.queue_dir = str(values["dir"])
                self.sections["queue"].update(values)
            else:
                self.sections.setdefault(name, {}).update(values)
        self.write_config()

    def write_config(self):
        lines = [f"{k} = {toml_value(v)}" for k, v in self.sections[""].items()]
        for name, values in self.sections.items():
            if name:
                lines.append(f"[{name}]")
                lines += [f"{k} = {toml_value(v)}" for k, v in values.items()]
        for d in self.domains:
            lines.append("[[domain]]")
            lines += [f"{k} = {toml_value(v)}" for k, v in d.items()]
        self.config_path.write_text("\n".join(lines) + "\n")

    # ---- process control -------------------------------------------------------------------

    def start(self, timeout=10.0):
        assert self.proc is None, "already running"
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([BIN, "serve", "--config", str(self.config_path)],
                                     stdout=self._log, stderr=self._log,
                                     start_new_session=True, env=self.env)
        _live_servers.append(self)
        deadline = time.time() + timeout
        wanted = [f"listening on {a}" for a in self.sections["smtp"]["listen"]]
        while time.time() < deadline:
            text = self.log_since(offset)
            if all(self._listening(text, a) for a in self.sections["smtp"]["listen"]):
                return self
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        log = self.log_since(offset)
        self.kill9()
        raise RuntimeError(f"backstop did not log {wanted}:\n{log}")

    @staticmethod
    def _listening(text, address):
        host, _, port = address.rpartition(":")
        bare = host.strip("[]")
        return any(f"listening on {h}:{port}" in text for h in {host, bare, f"[{bare}]"})

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self):
        """SIGTERM, then SIGKILL after 10 s; safe to call twice or when it already died."""
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None
        if self._log:
            self._log.close()
            self._log = None
        return self

    def kill9(self):
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            self.proc = None
        if self._log:
            self._log.close()
            self._log = None
        return self

    def restart(self, hard=False):
        (self.kill9() if hard else self.stop())
        return self.start()

    def log_since(self, offset):
        try:
            with open(self.log_path, "rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def log_text(self):
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def wait_for_log(self, text, count=1, timeout=10.0):
        """Waits until `text` (a substring) is in `count` log lines; returns those lines.
        The event the test waits for, instead of a sleep."""
        deadline = time.time() + timeout
        while True:
            lines = [l for l in self.log_text().splitlines() if text in l]
            if len(lines) >= count:
                return lines
            if time.time() > deadline:
                raise AssertionError(f"{len(lines)} of {count} log lines with {text!r} "
                                     f"after {timeout} s:\n{self.log_text()[-3000:]}")
            time.sleep(0.02)

    # ---- the queue CLI -----------------------------------------------------------------------

    def run(self, *args, timeout=30):
        """Runs `backstop ARGS --config FILE`; stdout/stderr as str (surrogateescape)."""
        r = subprocess.run([BIN, *args, "--config", str(self.config_path)],
                           capture_output=True, timeout=timeout)
        r.stdout, r.stderr = decode(r.stdout), decode(r.stderr)
        return r

    def cli(self, *args, check=True):
        r = self.run(*args)
        if check and r.returncode != 0:
            raise AssertionError(f"backstop {' '.join(args)} exit {r.returncode}:\n"
                                 f"{r.stdout}\n{r.stderr}")
        return r

    def queue_json(self, *args):
        """(exit code, parsed JSON) of `backstop queue ARGS --json`."""
        r = self.run("queue", *args, "--json")
        try:
            answer = json.loads(r.stdout)
        except ValueError:
            raise AssertionError(f"queue {args} --json printed no JSON (exit {r.returncode}):"
                                 f"\nstdout: {r.stdout!r}\nstderr: {r.stderr!r}")
        assert isinstance(answer, dict) and "ok" in answer, answer
        assert answer["ok"] is (r.returncode == 0), (r.returncode, answer)
        return r.returncode, answer

    def stats(self):
        """`backstop stats --json` of the running server."""
        r = self.cli("stats", "--json")
        answer = json.loads(r.stdout)
        assert answer["ok"] is True, answer
        return answer

    def queued(self):
        code, answer = self.queue_json("list")
        assert code == 0, answer
        return answer["messages"]

    def queue_ids(self):
        return sorted(m["id"] for m in self.queued())

    def show(self, queue_id):
        code, answer = self.queue_json("show", queue_id)
        assert code == 0, answer
        return answer

    def body(self, queue_id):
        """The stored message as the JSON `body` string."""
        return self.show(queue_id)["body"]

    def raw_message(self, queue_id):
        """The stored message as bytes, from the text form of `queue show` (JSON strings
        cannot carry arbitrary bytes): everything from our Received header on."""
        r = subprocess.run([BIN, "queue", "show", queue_id, "--config", str(self.config_path)],
                           capture_output=True, timeout=30)
        assert r.returncode == 0, r.stderr
        at = r.stdout.find(b"Received: from ")
        assert at >= 0, r.stdout[:2000]
        return r.stdout[at:]


def split_received(stored):
    """(Received header incl. its CRLF, the rest) of a stored message (bytes)."""
    assert stored.startswith(b"Received: "), stored[:200]
    end = 0
    while True:
        end = stored.index(b"\r\n", end) + 2
        if stored[end:end + 1] not in (b" ", b"\t"):
            return stored[:end], stored[end:]


class Smtp:
    """A byte-exact SMTP client: sends exactly what the test says, reads replies as they come,
    and keeps a transcript of both directions."""

    def __init__(self, port, host="127.0.0.1", timeout=5, source=None):
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if source:
            self.sock.bind((source, 0))
        self.sock.connect((host, port))
        self.timeout = timeout
        self.buf = b""
        self.transcript = []
        _live_clients.append(self)

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.transcript.append((">", data))
        self.sock.sendall(data)

    def _recv(self):
        chunk = self.sock.recv(65536)
        self.transcript.append(("<", chunk))
        return chunk

    def read_reply(self):
        """One complete reply: (code, [lines]); (None, lines so far) at EOF. A timeout raises."""
        lines = []
        while True:
            while b"\r\n" not in self.buf:
                try:
                    chunk = self._recv()
                except (ConnectionResetError, BrokenPipeError):
                    chunk = b""
                if not chunk:
                    return (None, lines)
                self.buf += chunk
            line, self.buf = self.buf.split(b"\r\n", 1)
            text = decode(line)
            lines.append(text)
            assert re.match(r"^\d{3}([ -]|$)", text), f"malformed reply line {line!r}"
            if lines and text[:3] != lines[0][:3]:
                raise AssertionError(f"reply code changed inside a multi-line reply: {lines}")
            if len(text) == 3 or text[3] == " ":
                return (int(text[:3]), lines)

    def read_replies(self, n):
        return [self.read_reply() for _ in range(n)]

    def cmd(self, line):
        self.send((line if isinstance(line, bytes) else line.encode()) + b"\r\n")
        return self.read_reply()

    def code(self, line):
        return self.cmd(line)[0]

    def greet(self, name="client.example"):
        code, lines = self.read_reply()
        assert code == 220, lines
        code, lines = self.cmd(f"EHLO {name}")
        assert code == 250, lines
        return lines

    def start_mail(self, sender="a@b.example", recipients=("u@example.test",), ehlo=True):
        if ehlo:
            self.greet()
        assert self.code(f"MAIL FROM:<{sender}>") == 250
        for r in recipients:
            code, lines = self.cmd(f"RCPT TO:<{r}>")
            assert code == 250, lines
        code, lines = self.cmd("DATA")
        assert code == 354, lines

    def silent(self, wait=0.3):
        """True when the server sends nothing more within `wait` seconds (and did not close).
        Bytes that do arrive stay in the buffer for the assertion message."""
        if self.buf:
            return False
        self.sock.settimeout(wait)
        try:
            chunk = self._recv()
            self.buf += chunk
            return False
        except socket.timeout:
            return True
        except (ConnectionResetError, BrokenPipeError):
            return False
        finally:
            self.sock.settimeout(self.timeout)

    def starttls(self, context=None):
        """Upgrades the socket. Anything still buffered was sent in plaintext after the 220
        and is a failure for the caller to look at, so it is returned rather than dropped."""
        if context is None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        leftover, self.buf = self.buf, b""
        self.sock = context.wrap_socket(self.sock, server_hostname=HOSTNAME)
        self.transcript.append(("=", b"TLS handshake done: " + self.sock.version().encode()))
        return leftover

    def closed(self, timeout=5):
        """True when the server closes the connection within `timeout` (data is kept)."""
        self.sock.settimeout(timeout)
        try:
            while True:
                data = self._recv()
                if not data:
                    return True
                self.buf += data
        except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
            return True
        except socket.timeout:
            return False
        finally:
            try:
                self.sock.settimeout(self.timeout)
            except OSError:
                pass

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def dump(self):
        out = []
        for direction, data in self.transcript:
            out.append(f"{direction} {data!r}")
        return "\n".join(out)


def send_message(port, sender, recipients, body, ehlo="client.example", params=""):
    """Sends one message (body already dot-stuffed, ending in CRLF) and returns the reply to
    the final dot as (code, lines)."""
    c = Smtp(port)
    try:
        c.greet(ehlo)
        code, lines = c.cmd(f"MAIL FROM:<{sender}>{params}")
        assert code == 250, lines
        for r in recipients:
            code, lines = c.cmd(f"RCPT TO:<{r}>")
            assert code == 250, lines
        code, lines = c.cmd("DATA")
        assert code == 354, lines
        c.send(body + b".\r\n")
        reply = c.read_reply()
        if reply[0] is not None:
            c.send(b"QUIT\r\n")
        return reply
    finally:
        c.close()


def dot_stuff(body):
    """RFC 5321 4.5.2 transparency for a CRLF body."""
    return (b"." + body if body.startswith(b".") else body).replace(b"\r\n.", b"\r\n..")


def queue_id_of(reply):
    code, lines = reply
    assert code == 250, lines
    m = QUEUED_RE.match(lines[-1])
    assert m, f"not a queued reply: {lines}"
    return m.group(1)


def swaks(port, *args, server="127.0.0.1", timeout=30):
    """Runs swaks against the server; never lets it look anything up (explicit --helo, --from
    and --server)."""
    argv = [SWAKS, "--server", f"{server}:{port}", "--helo", "client.example",
            "--timeout", "10", *args]
    if "--from" not in args and "-f" not in args:
        argv += ["--from", "sender@client.example"]
    r = subprocess.run(argv, capture_output=True, timeout=timeout)
    r.stdout, r.stderr = decode(r.stdout), decode(r.stderr)
    return r


def swaks_queue_id(result):
    m = re.search(r"<[-~]  250 2\.0\.0 Ok: queued as ([0-9A-Fa-f]{16})", result.stdout)
    assert m, result.stdout + result.stderr
    return m.group(1)


# ---- fixtures -------------------------------------------------------------------------------

def sanitizer_reports(servers):
    """Log lines of sanitizer reports in these servers' logs, when the binary is sanitized."""
    if os.environ.get("BACKSTOP_SANITIZED") != "1":
        return []
    return [f"{s.dir.name}: {line}" for s in servers for line in s.log_text().splitlines()
            if SANITIZER_REPORT_RE.search(line)]


@pytest.fixture(autouse=True)
def _track_live_objects():
    _live_servers.clear()
    _live_clients.clear()
    yield
    for c in list(_live_clients):
        c.close()
    for s in list(_live_servers):  # last resort; make_server stops its own servers first
        s.kill9()
    reports = sanitizer_reports(list(dict.fromkeys(_live_servers)))
    assert not reports, "sanitizer report in a server log:\n" + "\n".join(reports)


def _skip_reason(rep):
    reason = rep.longrepr[2] if isinstance(rep.longrepr, tuple) else str(rep.longrepr)
    return reason[len("Skipped: "):] if reason.startswith("Skipped: ") else reason


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    # Under CI a skip is a failure unless it names what the machine cannot do: a test that
    # silently does not run cannot catch anything.
    under_ci = os.environ.get("CI") == "true"
    if under_ci and rep.skipped and not hasattr(rep, "wasxfail") and \
            not _skip_reason(rep).startswith(MACHINE_CANNOT):
        rep.outcome = "failed"
        rep.longrepr = (f"skipped under CI=true without a '{MACHINE_CANNOT}' reason: "
                        f"{_skip_reason(rep)}")
    if rep.when == "call" and rep.failed:
        for i, c in enumerate(_live_clients):
            rep.sections.append((f"smtp transcript {i}", c.dump()[-6000:]))
        servers = list(_live_servers)
        servers += [v for v in item.funcargs.values()
                    if isinstance(v, Backstop) and v not in servers]
        for s in servers:
            rep.sections.append((f"backstop log {s.dir.name}", s.log_text()[-4000:]))


@pytest.fixture(name="free_port")
def free_port_fixture():
    return free_port


@pytest.fixture
def make_server(tmp_path):
    """make_server(smtp={...}, queue={...}, domains=[...]) -> a configured, unstarted
    Backstop. Every one made is stopped in teardown, whatever the test did."""
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


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory):
    """One server for a module of read-mostly tests (relay checks): saves start-ups."""
    s = Backstop(tmp_path_factory.mktemp("shared"))
    s.start()
    _live_servers.remove(s)  # module-scoped: not killed by the per-test cleanup
    yield s
    s.stop()
    reports = sanitizer_reports([s])
    assert not reports, "sanitizer report in a server log:\n" + "\n".join(reports)


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory):
    """A self-signed certificate and key for mx2.example.test, made by openssl."""
    d = tmp_path_factory.mktemp("tls")
    cert, key = d / "cert.pem", d / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                    "-subj", f"/CN={HOSTNAME}", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key
