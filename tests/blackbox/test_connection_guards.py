"""Connection-level guards (issue 12) through the real binary: early talkers during
greeting_delay, connections a minute per address and per network ([checks.connection_rate]),
concurrent sessions per network ([smtp] max_connections_per_network), and reverse DNS facts
and their optional refusal ([checks.reverse_dns]) against a real dnsmasq serving PTR records.
Clients use their own loopback source addresses (127.0.0.x); the listener is 127.0.0.1."""
import subprocess
import time

import pytest

from conftest import Smtp, free_port, wait_until


def banner(port, source):
    """The first reply of a new connection from source, and the client."""
    c = Smtp(port, source=source)
    return c.read_reply(), c


# ---- early talkers ---------------------------------------------------------------------------

def test_early_talker_gets_554_and_the_close(make_server):
    server = make_server(smtp={"greeting_delay": 2},
                         **{"checks.early_talker": {"enabled": True}}).start()
    c = Smtp(server.port, source="127.0.0.2", timeout=10)
    c.send("EHLO bot.example\r\n")  # before the banner, as bots do
    code, lines = c.read_reply()
    assert code == 554, lines
    # Before EHLO no ENHANCEDSTATUSCODES is negotiated: the session sends the bare code.
    assert lines[-1].startswith("554 ") and "talked before my greeting" in lines[-1], lines
    assert c.closed(timeout=10), "the connection is closed after the refusal"
    server.wait_for_log("reject CONNECT from [127.0.0.2]: early_talker")
    assert server.stats()["refusals"].get("CONNECT reject early_talker") == 1


def test_polite_client_gets_the_banner_after_the_delay(make_server):
    server = make_server(smtp={"greeting_delay": 2},
                         **{"checks.early_talker": {"enabled": True}}).start()
    c = Smtp(server.port, source="127.0.0.2", timeout=10)
    started = time.monotonic()
    code, lines = c.read_reply()
    waited = time.monotonic() - started
    assert code == 220, lines
    assert waited >= 1.5, f"the banner came after {waited:.2f} s, before greeting_delay"
    assert c.code("EHLO client.example") == 250


# ---- connections a minute ------------------------------------------------------------------

def test_address_over_its_rate_gets_421_and_the_close(make_server):
    server = make_server(**{"checks.connection_rate": {"address_per_minute": 3}}).start()
    for i in range(3):
        (code, lines), c = banner(server.port, "127.0.0.2")
        assert code == 220, (i, lines)
        c.close()
    (code, lines), c = banner(server.port, "127.0.0.2")
    assert code == 421, lines
    assert lines[-1].startswith("421 ") and "Too many connections" in lines[-1], lines
    assert c.closed()
    (code, lines), _ = banner(server.port, "127.0.0.3")
    assert code == 220, "another address has its own allowance"
    assert server.stats()["refusals"].get("CONNECT defer connection_rate") == 1


def test_network_shares_one_rate(make_server):
    server = make_server(**{"checks.connection_rate": {"network_per_minute": 2}}).start()
    for source in ("127.0.0.2", "127.0.0.3"):
        (code, lines), c = banner(server.port, source)
        assert code == 220, (source, lines)
        c.close()
    (code, lines), _ = banner(server.port, "127.0.0.4")
    assert code == 421, lines
    line = server.wait_for_log("defer CONNECT from [127.0.0.4]: connection_rate")[0]
    assert "127.0.0.0/24" in line, line


def test_allowlisted_client_is_not_rate_limited(make_server):
    server = make_server(**{"checks.connection_rate": {"address_per_minute": 1},
                            "checks.allowlist": {"networks": ["127.0.0.5/32"]}}).start()
    for i in range(3):
        (code, lines), c = banner(server.port, "127.0.0.5")
        assert code == 220, (i, lines)
        c.close()


# ---- concurrent sessions per network -------------------------------------------------------

def test_concurrent_sessions_per_network(make_server):
    server = make_server(smtp={"max_connections_per_network": 2}).start()
    held = []
    for source in ("127.0.0.2", "127.0.0.3"):
        (code, lines), c = banner(server.port, source)
        assert code == 220, (source, lines)
        held.append(c)
    (code, lines), third = banner(server.port, "127.0.0.4")
    assert code == 421, lines
    assert "network" in lines[-1], lines
    assert third.closed()
    held[0].cmd("QUIT")
    held[0].close()

    def admitted():
        (code, _), c = banner(server.port, "127.0.0.4")
        c.close()
        return code == 220
    assert wait_until(admitted, timeout=10), "a slot comes back when a session ends"


# ---- reverse DNS ---------------------------------------------------------------------------

class PtrDns:
    """dnsmasq with local PTR and address records; --bogus-priv makes an unknown loopback
    address NXDOMAIN instead of a refusal."""

    def __init__(self, tmp_path, records):
        self.port = free_port()
        self.log = open(tmp_path / "dnsmasq.log", "ab")
        args = ["dnsmasq", "--no-daemon", f"--port={self.port}", "--listen-address=127.0.0.1",
                "--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
                "--user=root", "--bogus-priv", "--local=/test/", "--local-ttl=0"]
        self.proc = subprocess.Popen(args + records, stdout=self.log, stderr=self.log)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


@pytest.fixture
def ptr_dns(tmp_path):
    dns = PtrDns(tmp_path, [
        "--host-record=mail.client.test,127.0.0.2",             # PTR and A: confirmed
        "--ptr-record=3.0.0.127.in-addr.arpa,forged.test",      # PTR whose A is elsewhere
        "--host-record=forged.test,127.0.0.99",
    ])                                                          # 127.0.0.4: no PTR
    yield dns
    dns.stop()


def rcpt_from(port, source):
    c = Smtp(port, source=source, timeout=10)
    code, lines = c.read_reply()
    assert code == 220, lines
    assert c.code("EHLO client.example") == 250
    assert c.code("MAIL FROM:<a@b.example>") == 250
    return c.cmd("RCPT TO:<u@example.test>")


def reverse_dns_server(make_server, dns_port, require):
    return make_server(dns={"servers": [f"127.0.0.1:{dns_port}"], "timeout": 2000, "tries": 3},
                       **{"checks.reverse_dns": {"enabled": True, "require": require}}).start()


def test_reverse_dns_require_confirmed(make_server, ptr_dns):
    server = reverse_dns_server(make_server, ptr_dns.port, "confirmed")
    # dnsmasq's start-up time varies: the first session waits until it answers.
    assert wait_until(lambda: rcpt_from(server.port, "127.0.0.2")[0] == 250, timeout=15)
    for source in ("127.0.0.3", "127.0.0.4"):
        code, lines = rcpt_from(server.port, source)
        assert code == 550, (source, lines)
        assert lines[-1].startswith("550 5.7.25 "), lines
        assert f"[{source}]" in lines[-1], lines
    assert server.stats()["refusals"].get("RCPT reject reverse_dns") == 2


def test_reverse_dns_require_ptr_accepts_an_unconfirmed_name(make_server, ptr_dns):
    server = reverse_dns_server(make_server, ptr_dns.port, "ptr")
    assert wait_until(lambda: rcpt_from(server.port, "127.0.0.2")[0] == 250, timeout=15)
    assert rcpt_from(server.port, "127.0.0.3")[0] == 250
    code, lines = rcpt_from(server.port, "127.0.0.4")
    assert code == 550 and lines[-1].startswith("550 5.7.25 "), lines


def test_reverse_dns_trouble_defers_never_rejects(make_server):
    # [dns] servers is a closed loopback port.
    server = make_server(**{"checks.reverse_dns": {"enabled": True,
                                                   "require": "confirmed"}}).start()
    code, lines = rcpt_from(server.port, "127.0.0.2")
    assert code == 450, lines
    assert lines[-1].startswith("450 4.7.25 "), lines


def test_reverse_dns_facts_only_by_default(make_server, ptr_dns):
    server = make_server(dns={"servers": [f"127.0.0.1:{ptr_dns.port}"]},
                         **{"checks.reverse_dns": {"enabled": True}}).start()
    assert rcpt_from(server.port, "127.0.0.4")[0] == 250, "no PTR, but nothing is required"
