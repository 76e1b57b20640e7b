"""PROXY protocol (v1 and v2) on a [[listener]] behind a real HAProxy: the client that HAProxy
names is the client backstop sees (the Received header, the session log), a v2 health check
(LOCAL) is the proxy itself, and anyone else is closed before the banner: a peer outside
trusted_proxies, a malformed header, a header that never comes."""
import shutil
import socket
import subprocess
import time

import pytest

from conftest import MACHINE_CANNOT, Smtp, free_port, split_received, wait_until
from test_traps import with_listeners

HAPROXY = shutil.which("haproxy") or "/usr/sbin/haproxy"
PROXY = "127.0.0.20"      # HAProxy's frontends and the source of its connections to us
BACKSTOP = "127.0.0.21"   # the proxy listener
TRAP = "127.0.0.22"       # a defer trap behind the proxy too
CLIENT = "127.0.0.31"     # the real client, as HAProxy sees it
STRANGER = "127.0.0.32"   # not a trusted proxy


def listening(host, port):
    r = subprocess.run(["ss", "-Hltn", f"src {host}:{port}"], capture_output=True, text=True)
    return f"{host}:{port}" in r.stdout


class Haproxy:
    """haproxy -db (foreground) with its own config: one frontend per PROXY version, both
    forwarding to backstop's proxy listener from PROXY."""

    def __init__(self, tmp_path, backend_port, trap_port):
        self.v1_port = free_port(PROXY)
        self.v2_port = free_port(PROXY)
        self.trap_port = free_port(PROXY)
        self.config = tmp_path / "haproxy.cfg"
        self.log_path = tmp_path / "haproxy.log"
        target = f"{BACKSTOP}:{backend_port}"
        self.config.write_text(f"""global
  maxconn 100
defaults
  mode tcp
  timeout connect 5s
  timeout client 30s
  timeout server 30s
frontend v1
  bind {PROXY}:{self.v1_port}
  default_backend to_backstop_v1
frontend v2
  bind {PROXY}:{self.v2_port}
  default_backend to_backstop_v2
frontend trap
  bind {PROXY}:{self.trap_port}
  default_backend to_trap
backend to_backstop_v1
  server backstop {target} send-proxy source {PROXY}
backend to_backstop_v2
  server backstop {target} send-proxy-v2 source {PROXY} check inter 1s
backend to_trap
  server trap {TRAP}:{trap_port} send-proxy source {PROXY}
""")
        self.proc = None

    def start(self):
        check = subprocess.run([HAPROXY, "-c", "-f", str(self.config)], capture_output=True,
                               text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen([HAPROXY, "-db", "-f", str(self.config)],
                                     stdout=self.log, stderr=self.log, start_new_session=True)
        ready = wait_until(lambda: all(listening(PROXY, p) for p in
                                       (self.v1_port, self.v2_port, self.trap_port)), 10)
        assert ready, self.log_path.read_text(errors="replace")
        return self

    def stop(self):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
            self.log.close()


@pytest.fixture
def proxied(make_server, tmp_path):
    """(backstop with a proxy listener trusting PROXY only, haproxy in front of it)."""
    if not (shutil.which("haproxy") or shutil.os.path.exists(HAPROXY)):
        pytest.skip(f"{MACHINE_CANNOT} no haproxy (scripts/install-deps.sh installs it)")
    port = free_port(BACKSTOP)
    listener = {"address": f"{BACKSTOP}:{port}", "kind": "smtp", "proxy_protocol": True,
                "trusted_proxies": [f"{PROXY}/32"], "proxy_timeout": "1s"}
    trap_port = free_port(TRAP)
    trap = {"address": f"{TRAP}:{trap_port}", "kind": "defer", "proxy_protocol": True,
            "trusted_proxies": [f"{PROXY}/32"]}
    server = with_listeners(make_server(), [listener, trap]).start()
    server.wait_for_log(f"listening on {BACKSTOP}:{port}")
    server.wait_for_log(f"listening on {TRAP}:{trap_port}")
    haproxy = Haproxy(tmp_path, port, trap_port).start()
    server.trap_port = trap_port
    server.proxy_port = port
    yield server, haproxy
    haproxy.stop()


def send_one_message(port, subject):
    c = Smtp(port, host=PROXY, source=CLIENT)
    try:
        c.greet()
        c.start_mail(ehlo=False)
        c.send(f"Subject: {subject}\r\n\r\nbody\r\n.\r\n".encode())
        code, lines = c.read_reply()
        assert code == 250, lines
        c.cmd("QUIT")
    finally:
        c.close()


def received_of(server, subject):
    for m in server.queued():
        raw = server.raw_message(m["id"])
        if f"Subject: {subject}".encode() in raw:
            return split_received(raw)[0].decode(errors="replace")
    raise AssertionError(f"no queued message with subject {subject}")


@pytest.mark.parametrize("version", ["v1", "v2"])
def test_the_client_haproxy_names_is_the_client(proxied, version):
    server, haproxy = proxied
    port = haproxy.v1_port if version == "v1" else haproxy.v2_port
    send_one_message(port, f"via {version}")
    received = received_of(server, f"via {version}")
    assert f"[{CLIENT}]" in received, received
    assert f"[{PROXY}]" not in received, received
    server.wait_for_log(f"proxy [{PROXY}] ({version}) on {BACKSTOP}:{server.proxy_port}: "
                        f"client [{CLIENT}]")
    server.wait_for_log(f"disconnect from [{CLIENT}]")


def test_a_trap_behind_the_proxy_records_the_client(proxied):
    server, haproxy = proxied
    c = Smtp(haproxy.trap_port, host=PROXY, source=CLIENT)
    try:
        c.greet()
        assert c.code("MAIL FROM:<a@b.example>") == 250
        assert c.code("RCPT TO:<u@example.test>") == 451
        c.cmd("QUIT")
    finally:
        c.close()
    server.wait_for_log(f"trap hit: defer {TRAP}:{server.trap_port} from [{CLIENT}]")


def test_a_v2_health_check_is_the_proxy_itself(proxied):
    server, _ = proxied
    # HAProxy's checks send a v2 LOCAL header: no client, the real peer stands.
    server.wait_for_log(f"proxy [{PROXY}] (v2) on {BACKSTOP}:{server.proxy_port}: "
                        f"client [{PROXY}] (the proxy itself", timeout=10)


def closed_without_banner(sock, timeout=5):
    """True when the peer closes (FIN or RST) without having sent a byte."""
    sock.settimeout(timeout)
    try:
        data = sock.recv(4096)
    except ConnectionResetError:
        return True
    return data == b""


def connect_from(source, port):
    s = socket.socket()
    s.bind((source, 0))
    s.connect((BACKSTOP, port))
    return s


def test_a_peer_outside_trusted_proxies_is_closed_before_the_banner(proxied):
    server, _ = proxied
    s = connect_from(STRANGER, server.proxy_port)
    try:
        s.sendall(f"PROXY TCP4 {CLIENT} {BACKSTOP} 1234 25\r\n".encode())
        assert closed_without_banner(s)
    finally:
        s.close()
    server.wait_for_log(f"closed the connection from [{STRANGER}]: not a trusted proxy")
    assert server.stats()["counters"]["proxy_refused"] >= 1


@pytest.mark.parametrize("header", [
    b"PROXY TCP4 not-an-address 127.0.0.21 1234 25\r\n",
    b"EHLO client.example\r\n",
    b"\r\n\r\n\x00\r\nQUIT\n\x21\x11\x00\x04abcd",  # v2 PROXY, too short for IPv4 addresses
])
def test_a_malformed_header_is_closed_before_the_banner(proxied, header):
    server, _ = proxied
    before = server.stats()["counters"]["proxy_refused"]
    s = connect_from(PROXY, server.proxy_port)  # trusted, but not speaking the protocol
    try:
        s.sendall(header)
        assert closed_without_banner(s)
    finally:
        s.close()
    server.wait_for_log(f"closed the connection from [{PROXY}]:")
    assert server.stats()["counters"]["proxy_refused"] == before + 1


def test_a_header_that_never_comes_is_closed_after_proxy_timeout(proxied):
    server, _ = proxied
    s = connect_from(PROXY, server.proxy_port)
    try:
        s.sendall(b"PROXY TCP4 ")  # then silence
        started = time.monotonic()
        assert closed_without_banner(s, timeout=10)
        assert 0.5 < time.monotonic() - started < 5  # proxy_timeout = 1s
    finally:
        s.close()
    server.wait_for_log("no complete PROXY header within the deadline")
