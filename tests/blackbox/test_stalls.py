"""Every wait on a peer has a deadline (issue 11): a primary that stalls at any stage of the
SMTP conversation, or answers slowly, never hangs a callout, a delivery round, or a session.

The primary is stall_peer.StallPeer on 127.0.0.5; its stage names the reply that never
comes: greeting (stall after connect), ehlo (after the banner), tls (during the TLS
handshake), mail (after EHLO), rcpt (after MAIL), data (after RCPT: no 354), rset (a
callout's RSET after RCPT), dot (after the final dot). Timeouts are 2 s; the bounds asserted
are generous (8 s) where the bugs took 25 s or forever.
"""
import json
import threading
import time

import pytest

from conftest import Smtp, queue_id_of, send_message, wait_until as wait_for
from stall_peer import StallPeer

DOMAIN = "example.test"
BOUND = 8.0  # seconds: four times the configured 2 s timeouts


@pytest.fixture
def peers():
    made = []

    def make(stage, **kw):
        p = StallPeer(stage, **kw)
        made.append(p)
        return p

    yield make
    for p in made:
        p.stop()


def wait_until(predicate, timeout=20.0):
    return wait_for(predicate, timeout)


# ---- callouts ---------------------------------------------------------------------------------

def callout_server(make_server, peer, **verify):
    v = {"callout": True, "sender_domain": False, "timeout": "2s", "unverified": "defer",
         "primary_down_backoff": "60s", "unknown_recipient_delay": "0s",
         "max_unknown_recipients": 0}
    v.update(verify)
    return make_server(verify=v, domains=[{"name": DOMAIN, "primary": [peer.endpoint],
                                           "verify": True}]).start()


def timed_rcpts(port, recipients, timeout=60):
    """One session, one RCPT per recipient: [(code, lines, seconds)]."""
    c = Smtp(port, timeout=timeout)
    try:
        c.greet()
        assert c.code("MAIL FROM:<carol@client.example>") == 250
        out = []
        for r in recipients:
            t0 = time.monotonic()
            code, lines = c.cmd(f"RCPT TO:<{r}>")
            out.append((code, lines, time.monotonic() - t0))
        c.cmd("QUIT")
        return out
    finally:
        c.close()


# The stages where nothing says whether the recipient exists: "cannot tell" (450 with
# unverified = defer), within the callout deadline.
@pytest.mark.parametrize("stage,pipelining", [
    ("greeting", False), ("ehlo", False), ("tls", False), ("mail", False), ("rcpt", False),
    ("mail", True), ("rcpt", True)])
def test_callout_to_a_stalled_primary_ends_in_cannot_tell(make_server, peers, stage,
                                                           pipelining):
    peer = peers(stage, pipelining=pipelining)
    server = callout_server(make_server, peer)
    [(code, lines, took)] = timed_rcpts(server.port, ["alice@example.test"])
    assert code == 450, lines
    assert took < BOUND, f"RCPT waited {took:.1f}s for a callout with timeout = 2s"
    assert peer.connections() == 1
    # The next callout for the same address: the primary timed out, so it is not asked
    # again within primary_down_backoff and the answer comes at once.
    [(code, lines, took)] = timed_rcpts(server.port, ["alice@example.test"])
    assert code == 450, lines
    assert took < BOUND
    assert peer.connections() == 1
    assert peer.wait_closed(1, timeout=BOUND), "the stalled callout connection was never closed"


def test_callout_whose_rset_stalls_keeps_the_rcpt_answer(make_server, peers):
    peer = peers("rset")
    server = callout_server(make_server, peer)
    [(code, lines, took)] = timed_rcpts(server.port, ["alice@example.test"])
    assert code == 250, lines
    assert took < BOUND
    assert peer.wait_closed(1, timeout=BOUND)


def test_sessions_waiting_for_the_same_stalled_callout_wait_no_longer_than_it(make_server,
                                                                              peers):
    peer = peers("tls")
    server = callout_server(make_server, peer)
    results = {}

    def ask(name):
        t0 = time.monotonic()
        results[name] = (timed_rcpts(server.port, ["bob@example.test"])[0], time.monotonic() - t0)

    first = threading.Thread(target=ask, args=("first",))
    first.start()
    assert peer.wait(lambda: peer.stalled >= 1, timeout=BOUND)
    second = threading.Thread(target=ask, args=("second",))
    second.start()
    first.join(60)
    second.join(60)
    for name in ("first", "second"):
        (code, lines, _), took = results[name]
        assert code == 450, (name, lines)
        assert took < BOUND, f"{name} session waited {took:.1f}s"
    assert peer.connections() == 1  # one shared callout


def test_callout_has_an_overall_deadline_not_only_per_step(make_server, peers):
    # Every reply comes after 1.8 s, inside the 2 s step timeout: greeting, EHLO, MAIL, RCPT
    # and RSET took 9 s with a deadline per step only.
    peer = peers("none", slow_all=1.8)
    server = callout_server(make_server, peer)
    [(code, lines, took)] = timed_rcpts(server.port, ["alice@example.test"])
    assert code == 450, lines
    assert took < 5.0, f"RCPT waited {took:.1f}s; the callout deadline is 2 s"


def test_slow_primary_is_backed_off_after_a_timed_out_callout(make_server, peers):
    peer = peers("none", slow_rcpt=5)
    server = callout_server(make_server, peer)
    recipients = [f"user{i}@example.test" for i in range(4)]
    replies = timed_rcpts(server.port, recipients)
    assert [code for code, _, _ in replies] == [450] * 4, replies
    assert replies[0][2] < BOUND
    # The first one timed out: the others answer "cannot tell" without asking again.
    for code, lines, took in replies[1:]:
        assert took < 1.0, f"RCPT waited {took:.1f}s although the primary just timed out"
    assert peer.connections() == 1
    counters = server.stats()["counters"]
    assert counters["callout_connections"] == 1, counters
    assert counters["callouts_unknown"] == 4, counters


def test_backstop_verify_against_a_stalled_primary_ends_within_the_deadline(make_server, peers):
    peer = peers("tls")
    server = callout_server(make_server, peer)
    t0 = time.monotonic()
    r = server.run("verify", "alice@example.test", "--json", timeout=60)
    took = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    answer = json.loads(r.stdout)["callout"]
    assert answer["result"] == "unknown", answer
    assert "TLS handshake" in answer["reply"] and "timed out" in answer["reply"], answer
    assert took < BOUND, f"backstop verify took {took:.1f}s with timeout = 2s"


# ---- deliveries -------------------------------------------------------------------------------

STAGE_WORDS = {"greeting": "greeting", "ehlo": "EHLO", "tls": "TLS", "mail": "MAIL",
               "rcpt": "RCPT", "data": "DATA", "dot": "final dot"}


def delivery_server(make_server, peer):
    return make_server(
        verify={"callout": False, "sender_domain": False},
        delivery={"connect_timeout": "2s", "command_timeout": "2s", "data_timeout": "2s",
                  "retry_initial": "1h"},
        domains=[{"name": DOMAIN, "primary": [peer.endpoint], "verify": False}]).start()


def recipient_state(server):
    queued = server.queued()
    return queued[0]["recipients"][0] if queued else None


@pytest.mark.parametrize("stage,pipelining", [(s, False) for s in STAGE_WORDS] + [
    ("mail", True), ("rcpt", True), ("data", True), ("dot", True)])
def test_delivery_to_a_stalled_primary_is_deferred_and_retried(make_server, peers, stage,
                                                               pipelining):
    peer = peers(stage, pipelining=pipelining)
    server = delivery_server(make_server, peer)
    t0 = time.monotonic()
    queue_id_of(send_message(server.port, "sender@client.example", ["alice@example.test"],
                             b"Subject: stalled\r\n\r\nwaits for a better peer\r\n"))
    assert peer.wait_connections(1)
    assert wait_until(lambda: (recipient_state(server) or {}).get("attempts", 0) >= 1,
                      timeout=BOUND), f"no deferral after {time.monotonic() - t0:.1f}s"
    state = recipient_state(server)
    error = state["last_error"]
    assert state["status"] == "pending", state
    assert "timed out" in error and STAGE_WORDS[stage] in error and "127.0.0.5" in error, error
    # The stalled connection was given up (its slot freed) ...
    assert peer.wait_closed(1, timeout=BOUND), "the stalled connection was never closed"
    # ... and the round ended: a flush makes a new attempt.
    server.cli("queue", "flush")
    assert peer.wait_connections(2, timeout=BOUND), \
        "queue flush made no new connection: the delivery round is stuck"
    assert len(server.queued()) == 1


def test_a_stall_backs_the_destination_off_for_the_mail_that_waits(make_server, peers):
    peer = peers("rcpt")
    server = delivery_server(make_server, peer)
    queue_id_of(send_message(server.port, "sender@client.example", ["alice@example.test"],
                             b"Subject: first\r\n\r\nfirst\r\n"))
    assert peer.wait(lambda: peer.stalled >= 1, timeout=BOUND)
    queue_id_of(send_message(server.port, "sender@client.example", ["bob@example.test"],
                             b"Subject: second\r\n\r\nsecond\r\n"))
    # The round ends as a destination failure, so the second message does not meet the
    # same stall in a round of its own right away.
    assert wait_until(lambda: "destination not reachable (timed out waiting for the reply to "
                      "RCPT TO" in server.log_text(), timeout=BOUND), server.log_text()[-3000:]
    assert peer.connections() == 1
    server.cli("queue", "flush")
    assert peer.wait_connections(2, timeout=BOUND)
    assert len(server.queued()) == 2


# ---- the server side ----------------------------------------------------------------------------

def test_client_that_never_speaks_tls_after_starttls_is_dropped(make_server, tls_files):
    cert, key = tls_files
    server = make_server(smtp={"tls_certificate": str(cert), "tls_key": str(key),
                               "command_timeout": "2s"}).start()
    c = Smtp(server.port, timeout=30)
    c.greet()
    code, lines = c.cmd("STARTTLS")
    assert code == 220, lines
    t0 = time.monotonic()
    assert c.closed(timeout=30), "the server kept a silent TLS handshake open"
    took = time.monotonic() - t0
    assert took < 6.0, f"dropped after {took:.1f}s with command_timeout = 2s"
    assert wait_until(lambda: "TLS handshake with [127.0.0.1] failed" in server.log_text(), 5)
