"""DNSBL / DNSWL / RHSBL (issue 12) against a real dnsmasq serving the zones.

Clients connect from different loopback addresses (127.0.0.2, .3, ...), so each is its own
DNSBL name ("2.0.0.127.bl.test"); the zones are A and TXT records in dnsmasq's "test" zone.
A listed client is refused at RCPT, not earlier, with 554 5.7.1 naming the zone and its TXT.
"""
import socket
import subprocess

import pytest

from conftest import BIN, Backstop, Smtp, toml_value
from peers import Dns

NIBBLES_V6_LOOPBACK = ".".join(["1"] + ["0"] * 31)

RECORDS = [
    # 127.0.0.2: listed by bl.test, with a TXT record
    "--host-record=2.0.0.127.bl.test,127.0.0.2",
    "--txt-record=2.0.0.127.bl.test,Blocked: see https://bl.test/lookup?127.0.0.2",
    # 127.0.0.3: only in half.test, whose weight alone is below the threshold
    "--host-record=3.0.0.127.half.test,127.0.0.2",
    # 127.0.0.4: in bl.test but also in the allow zone wl.test
    "--host-record=4.0.0.127.bl.test,127.0.0.3",
    "--host-record=4.0.0.127.wl.test,127.0.0.2",
    # 127.0.0.5: bl.test answers outside 127/8, as a hijacked zone would
    "--host-record=5.0.0.127.bl.test,192.0.2.55",
    # spam.test as a sender domain, in the RHSBL
    "--host-record=spam.test.rhs.test,127.0.0.2",
    "--txt-record=spam.test.rhs.test,Sender domain listed",
    # a HELO name in the RHSBL for HELO names
    "--host-record=bad.helo.test.helo-bl.test,127.0.0.2",
    # ::1, listed by nibbles
    f"--host-record={NIBBLES_V6_LOOPBACK}.bl.test,127.0.0.2",
]

ZONES = [
    {"name": "bl.test", "type": "ip", "weight": 1},
    {"name": "half.test", "type": "ip", "weight": 0.5},
    {"name": "wl.test", "type": "ip", "weight": -1},
    {"name": "rhs.test", "type": "sender", "weight": 1, "codes": ["127.0.0.2"]},
    {"name": "helo-bl.test", "type": "helo", "weight": 1},
]


class DnsblServer(Backstop):
    """A Backstop whose config also carries [[checks.dnsbl.zone]] tables."""

    def __init__(self, tmp_path, zones, **sections):
        self.zones = zones
        super().__init__(tmp_path, **sections)

    def write_config(self):
        super().write_config()
        lines = ["", "[checks.dnsbl]", "threshold = 1"]
        for zone in self.zones:
            lines.append("[[checks.dnsbl.zone]]")
            lines += [f"{k} = {toml_value(v)}" for k, v in zone.items()]
        with open(self.config_path, "a") as f:
            f.write("\n".join(lines) + "\n")


@pytest.fixture
def dns(tmp_path):
    d = Dns(tmp_path, RECORDS)
    yield d
    d.stop()


@pytest.fixture
def make_dnsbl_server(tmp_path):
    servers = []

    def make(dns_port, zones=ZONES, listen=None, **extra):
        d = tmp_path / f"s{len(servers)}"
        d.mkdir()
        sections = {"dns": {"servers": [f"127.0.0.1:{dns_port}"], "timeout": 1000, "tries": 2},
                    **extra}
        s = DnsblServer(d, zones, **sections)
        if listen:
            s.configure(smtp={"listen": [listen(s.port)]})
        servers.append(s)
        return s.start()

    yield make
    for s in servers:
        s.stop()


def transaction(server, source, sender="a@b.example", host="127.0.0.1", helo="client.example",
                recipient="u@example.test"):
    """(MAIL reply, RCPT reply) of one session from `source`."""
    c = Smtp(server.port, host=host, source=source, timeout=15)
    try:
        c.greet(helo)
        mail = c.cmd(f"MAIL FROM:<{sender}>")
        rcpt = c.cmd(f"RCPT TO:<{recipient}>")
        return mail, rcpt
    finally:
        c.close()


def test_listed_client_is_refused_at_rcpt_with_zone_and_txt(dns, make_dnsbl_server):
    server = make_dnsbl_server(dns.port)
    mail, (code, lines) = transaction(server, "127.0.0.2")
    assert mail[0] == 250, mail
    assert code == 554, lines
    assert lines[0].startswith("554 5.7.1 "), lines
    assert "bl.test" in lines[0], lines
    assert "Blocked: see https://bl.test/lookup?127.0.0.2" in lines[0], lines
    assert "[127.0.0.2]" in lines[0], lines


def test_below_threshold_is_accepted(dns, make_dnsbl_server):
    server = make_dnsbl_server(dns.port)
    _, (code, lines) = transaction(server, "127.0.0.3")
    assert code == 250, lines


def test_allow_zone_lowers_the_score_below_threshold(dns, make_dnsbl_server):
    server = make_dnsbl_server(dns.port)
    _, (code, lines) = transaction(server, "127.0.0.4")
    assert code == 250, lines
    # Without the allow zone the same client is refused: the listing itself is real.
    other = make_dnsbl_server(dns.port, zones=[z for z in ZONES if z["name"] != "wl.test"])
    _, (code, lines) = transaction(other, "127.0.0.4")
    assert code == 554, lines


def test_answer_outside_127_is_ignored_and_logged(dns, make_dnsbl_server):
    server = make_dnsbl_server(dns.port)
    _, (code, lines) = transaction(server, "127.0.0.5")
    assert code == 250, lines
    server.wait_for_log("zone bl.test answered 192.0.2.55 for 5.0.0.127.bl.test: outside "
                        "127.0.0.0/8, ignored")


def test_dns_down_accepts_and_logs(dns, make_dnsbl_server):
    dns.stop()
    server = make_dnsbl_server(dns.port)
    _, (code, lines) = transaction(server, "127.0.0.2")
    assert code == 250, lines
    server.wait_for_log("zone bl.test not checked, counts 0")


def test_rhsbl_on_sender_domain(dns, make_dnsbl_server):
    server = make_dnsbl_server(dns.port)
    mail, (code, lines) = transaction(server, "127.0.0.6", sender="someone@spam.test")
    assert mail[0] == 250, mail
    assert code == 554, lines
    assert "sender domain spam.test blocked using rhs.test: Sender domain listed" in lines[0]
    _, (code, lines) = transaction(server, "127.0.0.6", sender="someone@fine.test")
    assert code == 250, lines


def can_bind_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not can_bind_ipv6_loopback(), reason="machine cannot: bind ::1")
def test_ipv6_client_is_asked_by_nibbles(dns, make_dnsbl_server):
    server = make_dnsbl_server(dns.port, listen=lambda port: f"[::1]:{port}")
    _, (code, lines) = transaction(server, "::1", host="::1")
    assert code == 554, lines
    assert "client [::1] blocked using bl.test" in lines[0], lines


def test_rhsbl_on_helo_name(dns, make_dnsbl_server):
    server = make_dnsbl_server(dns.port)
    _, (code, lines) = transaction(server, "127.0.0.6", helo="Bad.Helo.Test")
    assert code == 554, lines
    assert "HELO Bad.Helo.Test blocked using helo-bl.test" in lines[0], lines
    _, (code, lines) = transaction(server, "127.0.0.6", helo="good.helo.test")
    assert code == 250, lines


def test_listed_client_still_reaches_an_allowlisted_recipient(dns, make_dnsbl_server):
    # Refused at RCPT, not at connect: a recipient allowlist (postmaster) still wins.
    server = make_dnsbl_server(
        dns.port, **{"checks.allowlist": {"recipients": ["postmaster@example.test"]}})
    _, (code, lines) = transaction(server, "127.0.0.2", recipient="postmaster@example.test")
    assert code == 250, lines
    _, (code, lines) = transaction(server, "127.0.0.2")
    assert code == 554, lines


def test_a_code_outside_127_is_a_configuration_error(tmp_path):
    server = DnsblServer(tmp_path, [{"name": "bl.test", "codes": ["10.0.0.2"]}])
    result = subprocess.run([BIN, "check-config", "--config", str(server.config_path)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "checks.dnsbl.zone[0].codes" in result.stderr, result.stderr
    assert "outside 127.0.0.0/8" in result.stderr, result.stderr
