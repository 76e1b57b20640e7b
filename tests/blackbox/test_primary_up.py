"""Issue 14: a backup MX that knows whether the primary is up. Real parts: dnsmasq serves
example.test's MX set (a nolisting decoy, the primary, this backup), smtp-sink plays the
primary (and, for the cascade, a second backup more preferred than us), and the test starts
and stops them. While a more-preferred host answers backstop's probes (or an ETRN heartbeat is
fresh), a client that comes here first is told to try the primary; while none does, the
backup takes the mail as before."""
import socket
import sqlite3
import subprocess
import threading
import time

import pytest

from conftest import BIN, Smtp, free_port, rcpt_reply, send_message, wait_until
from peers import Dns, Sink

DECOY, PRIMARY = "127.0.0.41", "127.0.0.42"
CASCADE_MX1, CASCADE_MX3 = "127.0.0.43", "127.0.0.44"

RECORDS = [
    "--host-record=mx2.example.test,127.0.0.1",  # this host
    "--mx-host=example.test,mx0.example.test,5", f"--host-record=mx0.example.test,{DECOY}",
    "--mx-host=example.test,mx1.example.test,10", f"--host-record=mx1.example.test,{PRIMARY}",
    "--mx-host=example.test,mx2.example.test,20",
    "--mx-host=cascade.test,mx1.cascade.test,10", f"--host-record=mx1.cascade.test,{CASCADE_MX1}",
    "--mx-host=cascade.test,mx3.cascade.test,20", f"--host-record=mx3.cascade.test,{CASCADE_MX3}",
    "--mx-host=cascade.test,mx2.example.test,30",
]

TRY_PRIMARY = "451 4.7.0 try the primary MX first: mx1.example.test"


class CountingListener:
    """A decoy that counts who connects: nolisting's decoy refuses, this one tells the test
    whether backstop ever took it for the primary (a probe or a delivery would connect)."""

    def __init__(self, host, port):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(16)
        self.connections = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self):
        self.sock.close()


@pytest.fixture
def world(tmp_path, make_server):
    dns = Dns(tmp_path, RECORDS)
    port = free_port()
    sinks = {ip: Sink(tmp_path, ip, port) for ip in (PRIMARY, CASCADE_MX3)}
    decoy = CountingListener(DECOY, port)

    class World:
        pass

    w = World()
    w.dns, w.sinks, w.port, w.decoy = dns, sinks, port, decoy

    def server(check=None, monitor=None, smtp=None, **sections):
        m = {"probe_interval": 1, "probe_timeout": 2, "down_after": 1, "up_after": 1}
        m.update(monitor or {})
        c = {"action": "defer"}
        c.update(check or {})
        domains = [{"name": "example.test", "decoy": ["mx0.example.test"]},
                   {"name": "cascade.test"}]
        return make_server(dns={"servers": [f"127.0.0.1:{dns.port}"], "timeout": 500},
                           delivery={"retry_initial": "1h", "retry_max": "1h", "mx_port": port},
                           verify={"callout": False, "sender_domain": False},
                           domains=domains, monitor=m, smtp=smtp or {},
                           **{"checks.primary_up": c}, **sections).start()

    w.server = server
    yield w
    decoy.close()
    for s in sinks.values():
        s.remove()
    dns.stop()


def reply_line(port, recipient):
    code, lines = rcpt_reply(port, recipient)
    return lines[-1]


def test_defers_while_the_primary_answers_probes_and_accepts_while_it_is_down(world):
    world.sinks[PRIMARY].start()
    server = world.server()
    server.wait_for_log("monitor: example.test primary mx1.example.test is up")
    assert reply_line(server.port, "alice@example.test") == TRY_PRIMARY
    world.sinks[PRIMARY].stop()
    server.wait_for_log("monitor: example.test primary mx1.example.test is down")
    code, lines = rcpt_reply(server.port, "alice@example.test")
    assert code == 250, lines


def test_reject_mode_says_551_as_the_seed_proposal_writes(world):
    world.sinks[PRIMARY].start()
    server = world.server(check={"action": "reject"})
    server.wait_for_log("monitor: example.test primary mx1.example.test is up")
    assert reply_line(server.port, "alice@example.test") == (
        "551 5.7.1 example.test Try the primary MX first while it is online; please try "
        "mx1.example.test")


def test_accept_per_domain_keeps_todays_behaviour(world):
    world.sinks[PRIMARY].start()
    server = world.server(**{'checks.primary_up.domain."example.test"': {"action": "accept"}})
    server.wait_for_log("monitor: example.test primary mx1.example.test is up")
    code, lines = rcpt_reply(server.port, "alice@example.test")
    assert code == 250, lines


def test_cascade_up_means_any_more_preferred_host_answers(world):
    world.sinks[CASCADE_MX3].start()  # mx1.cascade.test stays down, the second backup answers
    server = world.server()
    server.wait_for_log("monitor: cascade.test primary mx1.cascade.test is down")
    server.wait_for_log("monitor: cascade.test primary mx3.cascade.test is up")
    assert reply_line(server.port, "bob@cascade.test") == (
        "451 4.7.0 try the primary MX first: mx3.cascade.test")
    world.sinks[CASCADE_MX3].stop()
    server.wait_for_log("monitor: cascade.test primary mx3.cascade.test is down")
    code, lines = rcpt_reply(server.port, "bob@cascade.test")
    assert code == 250, lines


def test_the_decoy_is_never_probed_nor_delivered_to(world):
    server = world.server()
    server.wait_for_log("monitor: example.test primary mx1.example.test is down")
    qid_reply = send_message(server.port, "bob@sender.test", ["alice@example.test"],
                             b"Subject: while the primary is down\r\n\r\nhello\r\n")
    assert qid_reply[0] == 250, qid_reply
    server.wait_for_log("example.test: destination not reachable")
    # The primary comes back: the next probe finds it, and what waits for it goes at once
    # (retry_initial is an hour).
    world.sinks[PRIMARY].start()
    server.wait_for_log("monitor: example.test primary mx1.example.test is up")
    assert len(world.sinks[PRIMARY].wait_messages(1, timeout=15)) == 1
    # Several probe passes later, nothing ever connected to the decoy.
    server.wait_for_log("monitor: probe: mx1.example.test[", count=6, timeout=20)
    assert world.decoy.connections == 0


def test_state_changes_are_kept_in_the_state_store(world):
    world.sinks[PRIMARY].start()
    server = world.server()
    server.wait_for_log("monitor: example.test primary mx1.example.test is up")
    world.sinks[PRIMARY].stop()
    server.wait_for_log("monitor: example.test primary mx1.example.test is down")
    db = sqlite3.connect(server.sections["state"]["path"], timeout=5)

    def rows():
        return db.execute("SELECT from_state, to_state, reason FROM primary_history "
                          "WHERE domain = 'example.test' AND host = 'mx1.example.test' "
                          "ORDER BY id").fetchall()

    assert wait_until(lambda: len(rows()) >= 2), rows()
    history = rows()
    assert [(f, t) for f, t, _ in history[:2]] == [("unknown", "up"), ("up", "down")]
    assert "answered EHLO" in history[0][2]
    current = db.execute("SELECT state FROM primary_status WHERE domain = 'example.test' "
                         "AND host = 'mx1.example.test'").fetchone()
    assert current == ("down",)


def test_an_allowlisted_client_skips_the_deferral(world):
    world.sinks[PRIMARY].start()
    server = world.server(**{"checks.allowlist": {"networks": ["127.0.0.1/32"]}})
    server.wait_for_log("monitor: example.test primary mx1.example.test is up")
    code, lines = rcpt_reply(server.port, "alice@example.test")
    assert code == 250, lines


def heartbeat(port, domain="example.test", timeout=10):
    return subprocess.run([BIN, "heartbeat", "--to", f"127.0.0.1:{port}", "--domain", domain,
                           "--helo", "mx1.example.test", "--timeout", "5"],
                          capture_output=True, text=True, timeout=timeout)


def test_an_etrn_heartbeat_proves_the_primary_alive_for_its_window(world):
    # No probes: only the heartbeat can say the primary is up.
    server = world.server(monitor={"probe_interval": 0, "heartbeat_window": "3s"},
                          smtp={"etrn_clients": ["127.0.0.1/32"]})
    code, lines = rcpt_reply(server.port, "alice@example.test")
    assert code == 250, ("unknown is not up", lines)
    beat = heartbeat(server.port)
    assert beat.returncode == 0, beat.stderr
    assert "ETRN example.test: 25" in beat.stdout, beat.stdout
    assert reply_line(server.port, "alice@example.test") == (
        "451 4.7.0 try the primary MX first: the primary MX of example.test")
    # The window ends without another heartbeat: the backup takes mail again.
    assert wait_until(lambda: rcpt_reply(server.port, "alice@example.test")[0] == 250,
                      timeout=15)


def test_a_heartbeat_from_a_client_not_allowed_to_etrn_fails_and_proves_nothing(world):
    server = world.server(monitor={"probe_interval": 0, "heartbeat_window": "1h"})
    beat = heartbeat(server.port)
    assert beat.returncode != 0
    assert "459" in beat.stderr, beat.stderr
    code, lines = rcpt_reply(server.port, "alice@example.test")
    assert code == 250, lines


def test_heartbeat_to_a_closed_port_fails_within_its_timeout(world):
    beat = heartbeat(free_port())
    assert beat.returncode != 0
    assert "cannot connect" in beat.stderr, beat.stderr


@pytest.mark.parametrize("stage", ["greeting", "ehlo"])
def test_a_primary_that_stalls_is_down_within_the_probe_timeout(world, stage):
    # It accepts the connection but never greets (or never answers EHLO): a probe without a
    # deadline would wait forever and the domain would never be called down.
    from stall_peer import StallPeer
    peer = StallPeer(stage, host=PRIMARY, port=world.port)
    try:
        start = time.monotonic()
        server = world.server(monitor={"probe_timeout": 2})
        line = server.wait_for_log("monitor: example.test primary mx1.example.test is down",
                                   timeout=15)[0]
        took = time.monotonic() - start
        assert "timed out" in line, line
        assert took < 10, f"called down after {took:.1f} s; probe_timeout is 2 s"
        code, lines = rcpt_reply(server.port, "alice@example.test")
        assert code == 250, lines
    finally:
        peer.stop()


def test_a_client_that_keeps_retrying_passes_and_every_deferral_is_an_offense(world):
    # Keith Moore's objection: a real MTA may be unable to reach the primary. It retries; after
    # min_retries deferrals over min_period it is let through (K = 2 over T = 3 s here; the
    # store counts whole seconds, so at least 2 s pass in real time).
    world.sinks[PRIMARY].start()
    server = world.server(check={"min_retries": 2, "min_period": 3, "retry_window": 60})
    server.wait_for_log("monitor: example.test primary mx1.example.test is up")
    start = time.monotonic()
    deferrals = 0
    while time.monotonic() - start < 20:
        code, lines = rcpt_reply(server.port, "alice@example.test", sender="bob@sender.test")
        if code == 250:
            break
        assert lines[-1] == TRY_PRIMARY, lines
        deferrals += 1
        time.sleep(0.5)  # the pace of a retrying MTA, not a synchronisation
    took = time.monotonic() - start
    assert code == 250, "never let through"
    assert deferrals >= 2 and took >= 2, (deferrals, took)
    server.wait_for_log("primary_up: primary unreachable for this sender")
    # A different sender is a different triplet: deferred from the start.
    code, lines = rcpt_reply(server.port, "alice@example.test", sender="carol@sender.test")
    assert lines[-1] == TRY_PRIMARY, lines
    db = sqlite3.connect(server.sections["state"]["path"], timeout=5)

    def offenses():
        return db.execute("SELECT address, kind, listener, helo, sender_domain, recipient_domain "
                          "FROM offender_offense ORDER BY id").fetchall()

    assert wait_until(lambda: len(offenses()) >= deferrals + 1), offenses()
    assert offenses()[0] == ("127.0.0.1", "primary-deferral", f"smtp 127.0.0.1:{server.port}",
                             "client.example", "sender.test", "example.test")
