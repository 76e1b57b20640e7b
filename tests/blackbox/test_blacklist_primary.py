"""Issue 14 end to end: a client that keeps coming to this backup MX while the primary is up
is told to try the primary (primary_up), each time an offense; at the [offenders] threshold
the server lists it, logs "blacklisted ... for ...", and the blacklist check refuses it with
the 550. A large sender's host (confirmed PTR under allow_ptr_suffixes) hears the same 451s
but is never listed. Real parts: dnsmasq serves example.test's MX set and the PTR records,
smtp-sink plays the primary that answers backstop's probes."""
import json
import subprocess

import pytest

from conftest import Smtp, free_port, wait_until
from peers import Sink
from test_blacklist import REFUSAL, listings

PRIMARY = "127.0.0.42"
TRY_PRIMARY = "451 4.7.0 try the primary MX first: mx1.example.test"

RECORDS = [
    "--host-record=mx2.example.test,127.0.0.1",
    "--mx-host=example.test,mx1.example.test,10", f"--host-record=mx1.example.test,{PRIMARY}",
    "--mx-host=example.test,mx2.example.test,20",
    # 127.0.0.31: a large sender's outbound host, PTR and A agree
    "--host-record=out1.mail.big.test,127.0.0.31",
]


class PtrAndMxDns:
    """dnsmasq answering MX, A and PTR from local records; never forwards."""

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
def primary_world(tmp_path, make_server):
    dns = PtrAndMxDns(tmp_path, RECORDS)
    port = free_port()
    sink = Sink(tmp_path, PRIMARY, port)
    sink.start()

    def server(**sections):
        return make_server(
            dns={"servers": [f"127.0.0.1:{dns.port}"], "timeout": 500},
            delivery={"retry_initial": "1h", "retry_max": "1h", "mx_port": port},
            verify={"callout": False, "sender_domain": False},
            domains=[{"name": "example.test"}],
            monitor={"probe_interval": 1, "probe_timeout": 2, "down_after": 1, "up_after": 1},
            **{"checks.primary_up": {"action": "defer"}, "checks.blacklist": {"enabled": True}},
            **sections).start()

    yield server
    sink.remove()
    dns.stop()


def rcpt(server, source):
    c = Smtp(server.port, source=source, timeout=15)
    try:
        c.greet("bot.example")
        assert c.cmd("MAIL FROM:<a@sender.example>")[0] == 250
        return c.cmd("RCPT TO:<alice@example.test>")
    finally:
        c.close()


def test_primary_deferrals_list_the_client_and_it_gets_the_550(primary_world):
    server = primary_world(offenders={"threshold": 3, "window": "1d", "listing": "1h"})
    server.wait_for_log("monitor: example.test primary mx1.example.test is up")
    for _ in range(3):
        code, lines = rcpt(server, "127.0.0.30")
        assert lines[-1] == TRY_PRIMARY, lines
    server.wait_for_log("blacklisted 127.0.0.30 for 1 h: 3 offenses within 1 d")
    code, lines = rcpt(server, "127.0.0.30")
    assert code == 550 and lines[0] == REFUSAL, lines
    evidence = json.loads(server.cli("offenders", "127.0.0.30", "--json").stdout)["offenders"][0]
    assert evidence["listing"]["reason"] == "3 offenses within 1 d", evidence
    assert [o["kind"] for o in evidence["offenses"]] == ["primary-deferral"] * 3, evidence
    assert evidence["offenses"][0]["helo"] == "bot.example", evidence
    assert evidence["offenses"][0]["recipient_domain"] == "example.test", evidence


def test_a_reload_sets_the_new_threshold(primary_world):
    server = primary_world(offenders={"threshold": 10})
    server.wait_for_log("monitor: example.test primary mx1.example.test is up")
    assert rcpt(server, "127.0.0.32")[1][-1] == TRY_PRIMARY
    server.configure(offenders={"threshold": 2})
    server.proc.send_signal(1)  # SIGHUP
    server.wait_for_log("reload: 1 domains")
    assert rcpt(server, "127.0.0.32")[1][-1] == TRY_PRIMARY
    server.wait_for_log("blacklisted 127.0.0.32 for 7 d: 2 offenses within 1 d")
    assert rcpt(server, "127.0.0.32")[0] == 550


def test_a_large_senders_host_is_deferred_but_never_listed(primary_world):
    server = primary_world(offenders={"threshold": 2, "allow_ptr_suffixes": ["mail.big.test"]})
    server.wait_for_log("monitor: example.test primary mx1.example.test is up")
    for _ in range(4):
        assert rcpt(server, "127.0.0.31")[1][-1] == TRY_PRIMARY

    def recorded():
        got = json.loads(server.cli("offenders", "127.0.0.31", "--json").stdout)
        return got["offenders"][0]["offenses"]
    assert wait_until(lambda: len(recorded()) == 4, timeout=10), recorded()
    for o in recorded():
        assert o["counts"] is False and o["ptr"] == "out1.mail.big.test", o
        assert "allowlisted: PTR name out1.mail.big.test ends in mail.big.test" in o["detail"], o
    assert listings(server) == []
    assert "blacklisted 127.0.0.31" not in server.log_text()
