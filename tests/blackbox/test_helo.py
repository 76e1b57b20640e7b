"""The HELO check ([checks.helo], issue 12) through the real binary. The table holds seed
000's Exim rule
    deny condition = ${if match {${lc:$sender_helo_name}}
                     {^(friend|localhost|$primary_hostname|$interface_address)\\$}}
with our hostname (mx2.example.test) and our interface address (127.0.0.1), plus syntax and
address literals. The client connects from 127.0.0.2, which is not one of our addresses
(the listener is 127.0.0.1 only). `resolve` is asked of a real dnsmasq."""
import pytest

from conftest import HOSTNAME, Smtp
from peers import Dns

CLIENT = "127.0.0.2"

SEED_CASES = [
    ("friend", "pattern"),
    ("FRIEND", "pattern"),
    ("localhost", "pattern"),
    ("LocalHost", "pattern"),
    (HOSTNAME, "not_ours"),            # $primary_hostname
    (HOSTNAME.upper(), "not_ours"),
    ("127.0.0.1", "not_ours"),          # $interface_address, bare
    ("[127.0.0.1]", "not_ours"),        # ... as a literal
    ("friendly.example.com", None),     # the seed's regex is anchored
    ("mail.friend.example", None),
    ("client.example", None),
    ("mailhost", "syntax"),
    ("mail..example.org", "syntax"),
    ("127.0.0.2", "syntax"),            # our client's own address, without brackets
    ("[127.0.0.2]", None),              # a literal of the client's own address
    ("[127.0.0.3]", "literal_match"),
]


@pytest.fixture
def helo_server(make_server):
    return make_server(**{"checks.helo": {"enabled": True}}).start()


@pytest.mark.parametrize("name,rule", SEED_CASES)
def test_seed_helo_cases(helo_server, name, rule):
    c = Smtp(helo_server.port, source=CLIENT)
    assert c.read_reply()[0] == 220
    code, lines = c.cmd(f"EHLO {name}")
    if rule is None:
        assert code == 250, lines
        return
    assert code == 550, lines
    # No enhanced code: a refused EHLO negotiated no ENHANCEDSTATUSCODES (RFC 2034).
    assert lines[-1].startswith(f"550 <{name}>: Helo command rejected: "), lines
    assert lines[-1].endswith(f"(helo.{rule})"), lines
    # The refusal is the HELO's only: the client may introduce itself properly and go on.
    assert c.code("EHLO client.example") == 250
    assert c.code("MAIL FROM:<a@b.example>") == 250


def test_helo_refusals_are_counted_and_logged_by_check(helo_server):
    c = Smtp(helo_server.port, source=CLIENT)
    c.read_reply()
    assert c.code("HELO friend") == 550
    line = helo_server.wait_for_log("reject HELO from [127.0.0.2]: helo <")[0]
    assert "pattern: " in line, line
    refusals = helo_server.stats()["refusals"]
    assert refusals.get("HELO reject helo") == 1, (refusals, line)


def test_warn_mode_logs_and_accepts(make_server):
    server = make_server(**{"checks.helo": {"enabled": True, "mode": "warn"}}).start()
    c = Smtp(server.port, source=CLIENT)
    c.read_reply()
    assert c.code("EHLO friend") == 250
    line = server.wait_for_log("warn HELO from [127.0.0.2]: helo would reject")[0]
    assert "pattern: " in line, line


def test_patterns_are_configurable(make_server):
    server = make_server(**{"checks.helo": {"enabled": True,
                                            "patterns": ["*.dyn.example", "/^bot[0-9]+\\./"]}})
    server.start()
    for name, code in [("host7.DYN.example", 550), ("bot42.example.org", 550),
                       ("friend.example.org", 250), ("robot42.example.org", 250)]:
        c = Smtp(server.port, source=CLIENT)
        c.read_reply()
        assert c.code(f"EHLO {name}") == code, name
        c.close()


def test_resolve_asks_a_real_dns_server(tmp_path, make_server):
    dns = Dns(tmp_path, ["--host-record=mail.client.test,127.0.0.2"])
    try:
        server = make_server(dns={"servers": [f"127.0.0.1:{dns.port}"], "timeout": 2000,
                                  "tries": 2},
                             **{"checks.helo": {"enabled": True, "resolve": True}}).start()
        c = Smtp(server.port, source=CLIENT)
        c.read_reply()
        assert c.code("EHLO mail.client.test") == 250
        code, lines = c.cmd("EHLO nowhere.test")
        assert code == 550 and "(helo.resolve)" in lines[-1], lines
        assert c.code("EHLO [127.0.0.2]") == 250, "a literal is not looked up"
    finally:
        dns.stop()


def test_resolve_defers_when_dns_is_down(make_server):
    # [dns] servers is a closed loopback port: every lookup fails, and nothing is rejected.
    server = make_server(**{"checks.helo": {"enabled": True, "resolve": True}}).start()
    c = Smtp(server.port, source=CLIENT)
    c.read_reply()
    code, lines = c.cmd("EHLO mail.client.test")
    assert code == 450, lines
    assert lines[-1].startswith("450 <mail.client.test>: Helo command rejected: "), lines


def test_our_own_host_may_use_our_name(helo_server):
    # A client on one of our own addresses (a local monitor) is not forging "HELO is me".
    c = Smtp(helo_server.port, source="127.0.0.1")
    c.read_reply()
    assert c.code(f"EHLO {HOSTNAME}") == 250
