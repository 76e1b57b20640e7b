"""Recipient verification (issue 5) against a real primary: a private Postfix instance that
knows which users exist (postfix_primary.PostfixPrimary) and refuses the others at RCPT with
its own 550 5.1.1. backstop asks it about each recipient (callouts), caches the answers in
memory and in the SQLite state store, honours static recipient lists, slows down and cuts
off dictionary attacks, and checks that the sender's domain exists (dnsmasq, peers.Dns).

The first tests check the Postfix fixture itself and need nothing from backstop.
"""
import concurrent.futures
import json
import os
import re
import signal
import socket
import sqlite3
import threading
import time

import pytest

from conftest import Smtp, free_port, queue_id_of, send_message, wait_until
from peers import Dns, Sink
from postfix_primary import PostfixPrimary

DOMAIN = "example.test"
USERS = ("alice", "bob") + tuple(f"user{i:02d}" for i in range(40))
UNKNOWN_REPLY = "User unknown in virtual mailbox table"  # Postfix's own words


# ---- fixtures ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shared_primary(tmp_path_factory):
    """One Postfix for the module (0.3 s to start); tests that stop it or change its users get
    it back running with USERS by the `primary` fixture."""
    p = PostfixPrimary(tmp_path_factory.mktemp("primary"), users=USERS)
    try:
        p.start()
        yield p
    finally:
        p.remove()  # stops the master (asserts `postfix status` says so), keeps the maillog


@pytest.fixture
def primary(shared_primary):
    p = shared_primary
    if p.users != tuple(p.address(u) for u in USERS):
        p.set_users(USERS)
    if not p.master_alive():
        p.start()
    offset = p.log_size()
    yield p
    # Shown by pytest only when the test failed ("Captured stdout teardown").
    p.sync()
    print(f"---- Postfix primary maillog during the test ({p.dir}) ----")
    print(p.log_since(offset)[-6000:])


def verify_server(make_server, primary, verify=None, domain=None, extra_domains=(), **sections):
    """A started backstop whose domain example.test has `primary` as its primary, with
    callouts on and settings that keep tests fast; `verify`/`domain` override them."""
    v = {"callout": True, "sender_domain": False, "timeout": "5s", "primary_down_backoff": "1s",
         "unknown_recipient_delay": "0s", "max_connections_per_primary": 2,
         "idle_timeout": "30s", "unverified": "accept"}
    v.update(verify or {})
    d = {"name": DOMAIN, "primary": [f"{primary.host}:{primary.port}"], "verify": True}
    d.update(domain or {})
    return make_server(verify=v, domains=[d, *extra_domains], **sections).start()



def rcpt_replies(port, recipients, sender="carol@client.example", timeout=15):
    """One session: MAIL FROM, one RCPT per recipient, QUIT. The RCPT replies (code, lines)."""
    c = Smtp(port, timeout=timeout)
    try:
        c.greet()
        code, lines = c.cmd(f"MAIL FROM:<{sender}>")
        assert code == 250, lines
        out = [c.cmd(f"RCPT TO:<{r}>") for r in recipients]
        c.cmd("QUIT")
        return out
    finally:
        c.close()


def rcpt_one(port, address, **kw):
    return rcpt_replies(port, [address], **kw)[0]


def assert_reply(reply, code, enhanced=None, contains=None):
    got, lines = reply
    assert got == code, lines
    if enhanced:
        assert all(line[4:].startswith(enhanced + " ") or line[4:] == enhanced
                   for line in lines), lines
    if contains:
        assert contains in " ".join(lines), lines


def rejected_addresses(primary, since):
    return [r["address"] for r in primary.rcpt_rejections()[since:]]


def messages_with(primary, address, marker):
    return [m for m in primary.delivered(address) if marker in m]


# ---- the fixture itself (needs nothing from backstop) -----------------------------------------

def test_postfix_primary_accepts_users_refuses_unknown_and_counts(primary):
    base_conn, base_rej = primary.connections(), len(primary.rcpt_rejections())
    marker = f"fixture-{time.time_ns()}".encode()
    c = Smtp(primary.port, host=primary.host)
    c.greet("mx2.example.test")
    assert c.code("MAIL FROM:<>") == 250
    assert_reply(c.cmd("RCPT TO:<alice@example.test>"), 250, "2.1.5")
    assert_reply(c.cmd("RCPT TO:<nobody@example.test>"), 550, "5.1.1", UNKNOWN_REPLY)
    assert_reply(c.cmd("RCPT TO:<x@other.example>"), 554, "5.7.1", "Relay access denied")
    assert c.code("DATA") == 354
    c.send(b"Subject: fixture\r\n\r\n" + marker + b"\r\n.\r\n")
    assert c.read_reply()[0] == 250
    c.cmd("QUIT")
    c.close()
    for address in ("bob@example.test", "ghost@example.test"):
        c = Smtp(primary.port, host=primary.host)
        c.greet()
        assert c.code("MAIL FROM:<>") == 250
        c.cmd(f"RCPT TO:<{address}>")
        c.cmd("QUIT")
        c.close()
    assert primary.connections() - base_conn == 3
    assert rejected_addresses(primary, base_rej) == [
        "nobody@example.test", "x@other.example", "ghost@example.test"]
    assert primary.rcpt_rejections()[base_rej]["sender"] == ""
    got = primary.wait_delivered("alice")
    assert [m for m in got if marker in m], got
    assert any(a == "alice@example.test" for _, a in primary.deliveries())
    assert wait_until(lambda: primary.open_connections() == 0, 5)


def test_postfix_primary_stop_start_and_user_changes(primary):
    t0 = time.monotonic()
    primary.stop()
    assert time.monotonic() - t0 < 3
    assert not primary.running()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((primary.host, primary.port), timeout=2).close()
    t0 = time.monotonic()
    primary.start()
    assert time.monotonic() - t0 < 3
    assert primary.running()
    c = Smtp(primary.port, host=primary.host)
    c.greet()
    assert c.code("MAIL FROM:<>") == 250
    assert c.code("RCPT TO:<bob@example.test>") == 250
    primary.set_users(("alice", "carol"))
    # The open connection keeps its smtpd and the map it read (a Postfix property).
    assert c.code("RCPT TO:<carol@example.test>") == 550
    c.cmd("QUIT")
    c.close()
    c = Smtp(primary.port, host=primary.host)
    c.greet()
    assert c.code("MAIL FROM:<>") == 250
    assert c.code("RCPT TO:<carol@example.test>") == 250
    assert_reply(c.cmd("RCPT TO:<bob@example.test>"), 550, "5.1.1", UNKNOWN_REPLY)
    c.cmd("QUIT")
    c.close()
    t0 = time.monotonic()
    primary.restart()
    assert time.monotonic() - t0 < 5
    assert primary.running()


def test_postfix_primary_private_instances_are_independent_and_removed(tmp_path, primary):
    other = PostfixPrimary(tmp_path, host="127.0.0.3", domain="other.test", users=("zed",))
    try:
        other.start()
        assert other.port != primary.port or other.host != primary.host
        c = Smtp(other.port, host=other.host)
        c.greet()
        assert c.code("MAIL FROM:<>") == 250
        assert c.code("RCPT TO:<zed@other.test>") == 250
        assert c.code("RCPT TO:<alice@other.test>") == 550
        assert c.code("RCPT TO:<alice@example.test>") == 554  # not its domain: relay denied
        c.cmd("QUIT")
        c.close()
        assert other.connections() == 1
        assert primary.running()
    finally:
        other.remove()
    assert not other.running()
    assert not os.path.exists(other.dir)
    assert (tmp_path / f"postfix-127.0.0.3-{other.port}.maillog").exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((other.host, other.port), timeout=2).close()


# ---- callouts ---------------------------------------------------------------------------------

def test_valid_recipient_accepted_and_delivered_to_primary(make_server, primary):
    server = verify_server(make_server, primary)
    marker = f"valid-{time.time_ns()}".encode()
    c = Smtp(server.port)
    c.greet()
    assert c.code("MAIL FROM:<carol@client.example>") == 250
    assert_reply(c.cmd("RCPT TO:<alice@example.test>"), 250)
    assert c.code("DATA") == 354
    c.send(b"Subject: verified\r\n\r\n" + marker + b"\r\n.\r\n")
    queue_id_of(c.read_reply())
    c.cmd("QUIT")
    assert wait_until(lambda: messages_with(primary, "alice", marker))
    assert len(messages_with(primary, "alice", marker)) == 1
    assert wait_until(lambda: server.queued() == [])


def test_unknown_recipient_refused_at_rcpt_with_primarys_reason(make_server, primary):
    base_rej = len(primary.rcpt_rejections())
    server = verify_server(make_server, primary)
    c = Smtp(server.port)
    c.greet()
    assert c.code("MAIL FROM:<carol@client.example>") == 250
    assert_reply(c.cmd("RCPT TO:<nobody@example.test>"), 550, "5.1.1", UNKNOWN_REPLY)
    code, lines = c.cmd("DATA")  # no valid recipient: nothing to receive (RFC 5321 3.3)
    assert code == 503 and lines[0].startswith("503 5.5.1"), lines
    c.cmd("QUIT")
    c.close()
    # Asked once, with the null sender (the default [verify] sender).
    rejections = primary.rcpt_rejections()[base_rej:]
    assert [(r["address"], r["sender"]) for r in rejections] == [("nobody@example.test", "")]
    server.wait_for_log("disconnect from [127.0.0.1]")  # the session is over
    assert server.queued() == []  # nothing queued, so no bounce either
    counters = server.stats()["counters"]
    assert (counters["messages_accepted"], counters["bounces_sent"]) == (0, 0), counters


def test_mixed_recipients_only_the_valid_one_is_delivered_and_nothing_bounces(make_server,
                                                                              primary):
    base_rej = len(primary.rcpt_rejections())
    server = verify_server(make_server, primary)
    marker = f"mixed-{time.time_ns()}".encode()
    c = Smtp(server.port)
    c.greet()
    assert c.code("MAIL FROM:<carol@client.example>") == 250
    assert_reply(c.cmd("RCPT TO:<bob@example.test>"), 250)
    assert_reply(c.cmd("RCPT TO:<ghost@example.test>"), 550, "5.1.1", UNKNOWN_REPLY)
    assert c.code("DATA") == 354
    c.send(b"Subject: mixed\r\n\r\n" + marker + b"\r\n.\r\n")
    queue_id_of(c.read_reply())
    c.cmd("QUIT")
    assert wait_until(lambda: messages_with(primary, "bob", marker))
    assert wait_until(lambda: server.queued() == [])
    # ghost was refused once, by the callout; the delivery never named it.
    assert rejected_addresses(primary, base_rej) == ["ghost@example.test"]
    stats = server.stats()
    counters = stats["counters"]
    assert (counters["callouts_valid"], counters["callouts_invalid"]) == (1, 1), counters
    assert counters["callout_connections"] == 1, counters  # both asked on one connection
    assert (counters["recipients_accepted"], counters["messages_accepted"]) == (1, 1), counters
    assert counters["recipients_delivered"] == 1, counters
    assert counters["bounces_sent"] + counters["bounces_suppressed"] == 0, counters
    assert stats["refusals"] == {"RCPT reject recipient_verify": 1}


def test_callout_sender_is_configurable(make_server, primary):
    base_rej = len(primary.rcpt_rejections())
    server = verify_server(make_server, primary, verify={"sender": "verify@mx2.example.test"})
    assert_reply(rcpt_one(server.port, "ghost1@example.test"), 550, "5.1.1")
    rejections = primary.rcpt_rejections()[base_rej:]
    assert [(r["address"], r["sender"]) for r in rejections] == [
        ("ghost1@example.test", "verify@mx2.example.test")]


def test_domain_verify_overrides_global_callout_off(make_server, primary):
    server = verify_server(make_server, primary, verify={"callout": False},
                           domain={"verify": True})
    assert_reply(rcpt_one(server.port, "ghost2@example.test"), 550, "5.1.1", UNKNOWN_REPLY)
    assert_reply(rcpt_one(server.port, "alice@example.test"), 250)


def test_primary_down_known_answers_stay_and_unknown_addresses_defer(make_server, primary):
    server = verify_server(make_server, primary, domain={"unverified": "defer"})
    assert_reply(rcpt_one(server.port, "alice@example.test"), 250)
    assert_reply(rcpt_one(server.port, "ghost3@example.test"), 550, "5.1.1")
    primary.stop()
    # Cached positive: still 250; cached negative: still refused; never seen: cannot tell.
    assert_reply(rcpt_one(server.port, "alice@example.test"), 250)
    assert_reply(rcpt_one(server.port, "ghost3@example.test"), 550, "5.1.1")
    assert_reply(rcpt_one(server.port, "user05@example.test"), 450, "4.1.1")
    assert_reply(rcpt_one(server.port, "alice@example.test"), 250)


@pytest.mark.parametrize("global_policy, domain_policy, expected", [
    ("accept", None, 250),
    ("defer", None, 450),
    ("accept", "defer", 450),
    ("defer", "accept", 250),
])
def test_primary_down_unverified_policy(make_server, primary, global_policy, domain_policy,
                                        expected):
    primary.stop()
    domain = {"unverified": domain_policy} if domain_policy else {}
    server = verify_server(make_server, primary, verify={"unverified": global_policy},
                           domain=domain)
    t0 = time.monotonic()
    reply = rcpt_one(server.port, "user06@example.test")
    assert time.monotonic() - t0 < 3  # a refused connection is not a timeout
    assert_reply(reply, expected, "4.1.1" if expected == 450 else None)
    # With the primary backed off, the next answer comes at once and is the same.
    t0 = time.monotonic()
    assert rcpt_one(server.port, "user07@example.test")[0] == expected
    assert time.monotonic() - t0 < 1


def test_primary_that_never_answers_is_a_timeout_not_a_hang(make_server, primary):
    # A socket that listens but never accepts: the TCP handshake completes, no banner comes.
    silent = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    silent.bind((primary.host, 0))
    silent.listen(16)
    try:
        server = make_server(
            verify={"callout": True, "sender_domain": False, "timeout": "1s",
                    "unverified": "defer", "primary_down_backoff": "1s"},
            domains=[{"name": DOMAIN, "primary": [f"{primary.host}:{silent.getsockname()[1]}"],
                      "verify": True}]).start()
        t0 = time.monotonic()
        reply = rcpt_one(server.port, "alice@example.test", timeout=20)
        elapsed = time.monotonic() - t0
        assert_reply(reply, 450, "4.1.1")
        assert 0.9 <= elapsed < 4, elapsed
    finally:
        silent.close()


def test_cache_survives_backstop_restart(make_server, primary):
    server = verify_server(make_server, primary, domain={"unverified": "defer"})
    assert_reply(rcpt_one(server.port, "bob@example.test"), 250)
    assert_reply(rcpt_one(server.port, "ghost4@example.test"), 550, "5.1.1")
    primary.stop()
    server.restart()
    assert_reply(rcpt_one(server.port, "bob@example.test"), 250)
    assert_reply(rcpt_one(server.port, "ghost4@example.test"), 550, "5.1.1")
    assert_reply(rcpt_one(server.port, "user08@example.test"), 450, "4.1.1")
    server.restart(hard=True)  # SIGKILL: what was answered before is on disk already
    assert_reply(rcpt_one(server.port, "bob@example.test"), 250)


def test_expired_answers_are_purged_from_the_state_store_at_start(make_server, primary):
    server = verify_server(make_server, primary)
    assert_reply(rcpt_one(server.port, "bob@example.test"), 250)  # a live answer, kept
    server.stop()
    db = sqlite3.connect(server.dir / "state.db")
    with db:
        db.execute("INSERT INTO verify VALUES ('old@example.test', 1, '550 gone', 1, 2)")
    db.close()

    def stored():
        db = sqlite3.connect(server.dir / "state.db")
        try:
            return sorted(row[0] for row in db.execute("SELECT address FROM verify"))
        finally:
            db.close()

    assert stored() == ["bob@example.test", "old@example.test"]
    server.start()
    assert wait_until(lambda: stored() == ["bob@example.test"])
    assert "verify cache: 1 expired answers purged" in server.log_text()


def test_callout_connections_are_reused(make_server, primary):
    """30 distinct addresses over 6 sessions, then 6 sessions at once: never more than
    max_connections_per_primary connections at the primary, and each address asked once."""
    base_conn, base_rej = primary.connections(), len(primary.rcpt_rejections())
    server = verify_server(make_server, primary,
                           verify={"max_connections_per_primary": 2, "idle_timeout": "30s"})
    valid = [f"user{i:02d}@example.test" for i in range(24)]
    ghosts = [f"ghost{i:02d}-reuse@example.test" for i in range(6)]
    for s in range(6):
        replies = rcpt_replies(server.port, valid[s * 4:s * 4 + 4] + [ghosts[s]])
        assert [r[0] for r in replies] == [250] * 4 + [550], replies

    def session(i):
        return [r[0] for r in rcpt_replies(server.port, [f"user{24 + 2 * i:02d}@example.test",
                                                          f"user{25 + 2 * i:02d}@example.test"])]

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        results = list(pool.map(session, range(6)))
    assert results == [[250, 250]] * 6
    used = primary.connections() - base_conn
    assert 1 <= used <= 2, f"{used} callout connections for 42 addresses"
    assert sorted(rejected_addresses(primary, base_rej)) == sorted(ghosts)
    # The same addresses again: answered from the cache, no new connection, no new question.
    assert [r[0] for r in rcpt_replies(server.port, valid[:4] + ghosts[:1])] == [250] * 4 + [550]
    assert primary.connections() - base_conn == used
    assert len(primary.rcpt_rejections()) - base_rej == len(ghosts)


def test_sessions_asking_about_one_address_at_once_cost_one_callout(tmp_path, make_server):
    """Eight sessions send their RCPT at the same moment, four for an unknown address and
    four for a user, to a primary that takes a second per RCPT: each address is asked once,
    and every session gets that answer."""
    slow = PostfixPrimary(tmp_path, host="127.0.0.3", users=("alice",), settings={
        "smtpd_recipient_restrictions": "sleep 1, permit_mynetworks, reject_unauth_destination"})
    try:
        slow.start()
        server = verify_server(make_server, slow)
        addresses = ["ghost-once@example.test"] * 4 + ["alice@example.test"] * 4
        barrier = threading.Barrier(len(addresses))

        def session(address):
            c = Smtp(server.port, timeout=20)
            c.greet()
            assert c.code("MAIL FROM:<carol@client.example>") == 250
            barrier.wait()
            code = c.code(f"RCPT TO:<{address}>")
            c.close()
            return code

        with concurrent.futures.ThreadPoolExecutor(len(addresses)) as pool:
            codes = list(pool.map(session, addresses))
        assert codes == [550] * 4 + [250] * 4
        assert rejected_addresses(slow, 0) == ["ghost-once@example.test"]
        # Postfix opens one queue file per transaction whose RCPT it accepts: one probe.
        accepted = slow._lines(re.compile(r"postfix/smtpd\[\d+\]: [0-9A-F]+: client="))
        assert len(accepted) == 1, [m.group(0) for m in accepted]
        counters = server.stats()["counters"]
        assert (counters["callouts_valid"], counters["callouts_invalid"]) == (4, 4), counters
    finally:
        slow.remove()


def test_primary_restart_kills_pooled_connection_and_callouts_recover(make_server, primary):
    server = verify_server(make_server, primary, domain={"unverified": "defer"})
    assert_reply(rcpt_one(server.port, "alice@example.test"), 250)  # a pooled connection now
    primary.restart()  # the pooled connection dies with its smtpd
    assert_reply(rcpt_one(server.port, "ghost10@example.test"), 550, "5.1.1", UNKNOWN_REPLY)
    assert_reply(rcpt_one(server.port, "user14@example.test"), 250)


def test_old_positive_entry_is_rechecked_in_the_background(make_server, primary):
    server = verify_server(make_server, primary, domain={"unverified": "defer"},
                           verify={"positive_ttl": "1h", "positive_refresh": "1s"})
    base_rej = len(primary.rcpt_rejections())
    assert_reply(rcpt_one(server.port, "user15@example.test"), 250)
    primary.set_users([u for u in USERS if u != "user15"])
    primary.restart()  # open smtpd processes keep the old map: end them
    time.sleep(1.2)  # not synchronisation: the cached answer must age past positive_refresh
    # Older than positive_refresh: still answered from the cache at once, asked again behind.
    t0 = time.monotonic()
    assert_reply(rcpt_one(server.port, "user15@example.test"), 250)
    assert time.monotonic() - t0 < 1
    assert wait_until(lambda: "user15@example.test" in rejected_addresses(primary, base_rej), 5)
    assert wait_until(lambda: rcpt_one(server.port, "user15@example.test")[0] == 550, 5)


def test_negative_entry_expires_after_negative_ttl(make_server, primary):
    # Times are whole seconds: a 3 s TTL lasts at least 2 s, the restart below takes < 1 s.
    server = verify_server(make_server, primary, verify={"negative_ttl": "3s"})
    t0 = time.monotonic()
    assert_reply(rcpt_one(server.port, "newcomer@example.test"), 550, "5.1.1")
    primary.set_users(USERS + ("newcomer",))
    primary.restart()
    assert time.monotonic() - t0 < 1.5
    assert_reply(rcpt_one(server.port, "newcomer@example.test"), 550, "5.1.1")  # cached
    assert wait_until(lambda: rcpt_one(server.port, "newcomer@example.test")[0] == 250, 6)
    assert time.monotonic() - t0 >= 1.9


# ---- static recipient lists -------------------------------------------------------------------

def test_recipient_list_without_verify(tmp_path, make_server, primary):
    listed = tmp_path / "example.list"
    listed.write_text("# staff\nalice@example.test\n\ncarol@example.test\n")
    wild = tmp_path / "wild.list"
    wild.write_text("@wild.test\n")
    primary.stop()  # nothing here may need the primary
    server = verify_server(make_server, primary,
                           domain={"verify": False, "recipients": str(listed)},
                           extra_domains=[{"name": "wild.test", "primary": ["127.0.0.1:1"],
                                           "verify": False, "recipients": str(wild)}])
    assert_reply(rcpt_one(server.port, "alice@example.test"), 250)
    assert_reply(rcpt_one(server.port, "carol@example.test"), 250)
    assert_reply(rcpt_one(server.port, "bob@example.test"), 550, "5.1.1")  # real, not listed
    assert_reply(rcpt_one(server.port, "anyone@wild.test"), 250)
    assert_reply(rcpt_one(server.port, "other@wild.test"), 250)


def test_listed_recipients_are_accepted_without_asking_the_primary(tmp_path, make_server,
                                                                   primary):
    listed = tmp_path / "example.list"
    listed.write_text("alice@example.test\nlisted-only@example.test\n")
    base_rej = len(primary.rcpt_rejections())
    server = verify_server(make_server, primary,
                           domain={"verify": True, "recipients": str(listed),
                                   "unverified": "defer"})
    # The primary would refuse listed-only: 250 proves it was not asked.
    assert_reply(rcpt_one(server.port, "listed-only@example.test"), 250)
    assert_reply(rcpt_one(server.port, "bob@example.test"), 250)  # not listed: asked
    assert_reply(rcpt_one(server.port, "ghost5@example.test"), 550, "5.1.1", UNKNOWN_REPLY)
    assert rejected_addresses(primary, base_rej) == ["ghost5@example.test"]
    primary.stop()
    assert_reply(rcpt_one(server.port, "alice@example.test"), 250)  # listed, never asked
    assert_reply(rcpt_one(server.port, "user09@example.test"), 450, "4.1.1")


def test_recipient_list_reloaded_on_sighup_without_dropping_sessions(tmp_path, make_server,
                                                                     primary):
    listed = tmp_path / "example.list"
    listed.write_text("alice@example.test\n")
    primary.stop()
    server = verify_server(make_server, primary,
                           domain={"verify": False, "recipients": str(listed)})
    assert_reply(rcpt_one(server.port, "dave@example.test"), 550, "5.1.1")
    old = Smtp(server.port)
    old.greet()
    assert old.code("MAIL FROM:<carol@client.example>") == 250
    assert old.code("RCPT TO:<alice@example.test>") == 250

    listed.write_text("alice@example.test\ndave@example.test\n")
    server.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: rcpt_one(server.port, "dave@example.test")[0] == 250, 5), \
        server.log_text()[-2000:]
    assert_reply(rcpt_one(server.port, "erin@example.test"), 550, "5.1.1")
    assert server.running()

    # The session that was open across the reload carries on to a queued message.
    assert old.code("NOOP") == 250
    assert old.code("DATA") == 354
    old.send(b"Subject: across a reload\r\n\r\nx\r\n.\r\n")
    queue_id_of(old.read_reply())
    old.cmd("QUIT")

    listed.write_text("dave@example.test\n")
    server.proc.send_signal(signal.SIGHUP)
    assert wait_until(lambda: rcpt_one(server.port, "alice@example.test")[0] == 550, 5)
    assert_reply(rcpt_one(server.port, "dave@example.test"), 250)


# ---- dictionary attacks -----------------------------------------------------------------------

def test_dictionary_attack_is_slowed_down_and_cut_off(make_server, primary):
    server = verify_server(make_server, primary,
                           verify={"max_unknown_recipients": 4, "unknown_recipient_delay": "1s"})
    c = Smtp(server.port, timeout=30)
    c.greet()
    assert c.code("MAIL FROM:<carol@client.example>") == 250
    replies, times = [], []
    for i in range(20):
        t0 = time.monotonic()
        reply = c.cmd(f"RCPT TO:<guess{i:02d}@example.test>")
        times.append(time.monotonic() - t0)
        replies.append(reply)
        if reply[0] != 550:
            break
    assert [r[0] for r in replies] == [550, 550, 550, 421], replies
    for r in replies[:3]:
        assert_reply(r, 550, "5.1.1")
    assert_reply(replies[3], 421, "4.7.0")
    assert c.closed(5)
    # Unknown recipient n waits (n-1) x 1 s before its 550.
    assert times[0] < 0.9, times
    assert times[1] >= 0.9, times
    assert times[2] >= 1.9, times
    assert sum(times) < 15, times
    # A new session starts counting afresh.
    assert_reply(rcpt_one(server.port, "alice@example.test"), 250)


# ---- the sender's domain ----------------------------------------------------------------------

SENDER_RECORDS = [
    "--mx-host=sender.test,mx.sender.test,10", "--host-record=mx.sender.test,127.0.0.4",
    "--host-record=aonly.test,127.0.0.5",
    "--mx-host=nullmx.test,.,0",
]


@pytest.fixture
def wildcard_list(tmp_path):
    path = tmp_path / "wildcard.list"
    path.write_text(f"@{DOMAIN}\n")
    return str(path)


@pytest.mark.parametrize("sender, code, enhanced", [
    ("bob@sender.test", 250, None),       # MX
    ("bob@aonly.test", 250, None),        # no MX, an A record
    ("bob@nosuch.test", 550, "5.1.8"),    # NXDOMAIN
    ("bob@nullmx.test", 550, "5.1.8"),    # RFC 7505 null MX
    ("", 250, None),                      # the null sender is never checked
])
def test_sender_domain_must_exist(tmp_path, make_server, wildcard_list, sender, code, enhanced):
    dns = Dns(tmp_path, SENDER_RECORDS)
    try:
        server = make_server(
            dns={"servers": [f"127.0.0.1:{dns.port}"], "timeout": 500, "tries": 1},
            verify={"sender_domain": True},
            domains=[{"name": DOMAIN, "primary": ["127.0.0.1:1"], "verify": False,
                      "recipients": wildcard_list}]).start()
        c = Smtp(server.port)
        c.greet()
        assert_reply(c.cmd(f"MAIL FROM:<{sender}>"), code, enhanced)
        if code == 250:
            assert_reply(c.cmd("RCPT TO:<alice@example.test>"), 250)
        else:
            assert c.code("RCPT TO:<alice@example.test>") == 503  # no MAIL transaction
        c.cmd("QUIT")
    finally:
        dns.stop()


def test_sender_domain_dns_failure_defers(tmp_path, make_server, wildcard_list):
    dns = Dns(tmp_path, SENDER_RECORDS)
    try:
        server = make_server(
            dns={"servers": [f"127.0.0.1:{dns.port}"], "timeout": 300, "tries": 1},
            verify={"sender_domain": True},
            domains=[{"name": DOMAIN, "primary": ["127.0.0.1:1"], "verify": False,
                      "recipients": wildcard_list}]).start()
        c = Smtp(server.port)
        c.greet()
        assert c.code("MAIL FROM:<bob@sender.test>") == 250
        c.cmd("RSET")
        dns.stop()
        assert_reply(c.cmd("MAIL FROM:<bob@aonly.test>"), 451, "4.4.3")
        assert c.code("RSET") == 250
        assert c.code("MAIL FROM:<>") == 250  # never checked, so never deferred
        assert c.code("RCPT TO:<alice@example.test>") == 250
        c.cmd("QUIT")
    finally:
        dns.stop()


def test_sender_domain_check_off_needs_no_dns(make_server, wildcard_list):
    # The default [dns] of the test servers is a closed port: any lookup would fail.
    server = make_server(verify={"sender_domain": False},
                         domains=[{"name": DOMAIN, "primary": ["127.0.0.1:1"], "verify": False,
                                   "recipients": wildcard_list}]).start()
    c = Smtp(server.port)
    c.greet()
    assert c.code("MAIL FROM:<bob@nosuch.test>") == 250
    c.cmd("QUIT")
    server.configure(verify={"sender_domain": True})
    server.restart()
    c = Smtp(server.port)
    c.greet()
    assert_reply(c.cmd("MAIL FROM:<bob@nosuch.test>"), 451, "4.4.3")
    c.cmd("QUIT")


# ---- bounces of mail that was accepted unverified ----------------------------------------------

@pytest.mark.parametrize("bounce", ["never", "verified-sender", "always"])
def test_unverified_message_refused_later_bounces_only_if_allowed(tmp_path, make_server, primary,
                                                                  bounce):
    dns = Dns(tmp_path, ["--mx-host=sender.test,mx.sender.test,10",
                         "--host-record=mx.sender.test,127.0.0.4"])
    sink = Sink(tmp_path, "127.0.0.4", free_port("127.0.0.4"))
    try:
        sink.start()
        base_rej = len(primary.rcpt_rejections())
        primary.stop()
        server = verify_server(
            make_server, primary, verify={"unverified": "accept"},
            dns={"servers": [f"127.0.0.1:{dns.port}"], "timeout": 500, "tries": 1},
            delivery={"bounce": bounce, "mx_port": sink.port, "retry_initial": "1h",
                      "retry_max": "1h"})
        qid = queue_id_of(send_message(server.port, "bob@sender.test", ["ghost6@example.test"],
                                       b"Subject: unverified\r\n\r\nx\r\n"))
        assert wait_until(lambda: server.queued()[0]["recipients"][0]["attempts"] >= 1)
        primary.start()
        server.cli("queue", "flush")
        # The primary refuses ghost6 at delivery (from the real sender, not a callout).
        assert wait_until(lambda: ("ghost6@example.test", "bob@sender.test") in [
            (r["address"], r["sender"]) for r in primary.rcpt_rejections()[base_rej:]])
        assert wait_until(lambda: qid not in [m["id"] for m in server.queued()])
        counters = server.stats()["counters"]
        assert counters["callouts_unknown"] == 1 and counters["unverified_accepted"] == 1
        assert counters["recipients_failed"] == 1, counters
        if bounce == "always":
            assert wait_until(lambda: server.stats()["counters"]["bounces_sent"] == 1)
            assert server.stats()["counters"]["bounces_suppressed"] == 0
            got = sink.wait_messages(1)
            assert len(got) == 1, "no bounce arrived"
            fields, notice = got[0]
            assert fields["X-Rcpt-Args"][0].startswith("<bob@sender.test>")
            assert b"ghost6@example.test" in notice and b"5.1.1" in notice
        else:
            assert wait_until(lambda: server.stats()["counters"]["bounces_suppressed"] == 1)
            assert server.stats()["counters"]["bounces_sent"] == 0  # none was queued
            assert sink.messages() == []
        assert wait_until(lambda: server.queued() == [])
    finally:
        sink.remove()
        dns.stop()


# ---- the CLI ----------------------------------------------------------------------------------

def cli_json(server, *args):
    r = server.cli(*args, "--json")
    try:
        return json.loads(r.stdout)
    except ValueError:
        raise AssertionError(f"{args} printed no JSON: {r.stdout!r} {r.stderr!r}")


def test_cli_verify(make_server, primary):
    server = verify_server(make_server, primary)
    j = cli_json(server, "verify", "user10@example.test")
    assert j["address"] == "user10@example.test"
    assert j["cached"] is None
    assert j["callout"]["code"] == 250 and j["callout"]["result"] == "valid", j

    j = cli_json(server, "verify", "ghost7@example.test")
    assert j["callout"]["code"] == 550 and j["callout"]["result"] == "invalid", j
    assert UNKNOWN_REPLY in j["callout"]["reply"] and "5.1.1" in j["callout"]["reply"], j

    assert_reply(rcpt_one(server.port, "alice@example.test"), 250)
    j = cli_json(server, "verify", "alice@example.test")
    assert j["cached"] is not None and j["cached"]["result"] == "valid", j
    assert j["callout"]["result"] == "valid", j

    r = server.cli("verify", "alice@example.test")  # the text form
    assert "alice@example.test" in r.stdout

    primary.stop()
    j = cli_json(server, "verify", "user11@example.test")  # exit 0 even when nobody answers
    assert j["callout"]["result"] == "unknown", j
    j = cli_json(server, "verify", "alice@example.test")
    assert j["cached"]["result"] == "valid" and j["callout"]["result"] == "unknown", j


def test_cli_cache_list_and_flush_while_running(make_server, primary):
    server = verify_server(make_server, primary, domain={"unverified": "defer"},
                           verify={"positive_ttl": "2d", "positive_refresh": "1d",
                                   "negative_ttl": "1h"})
    t0 = time.time()
    for address, code in (("alice@example.test", 250), ("bob@example.test", 250),
                          ("user12@example.test", 250), ("ghost8@example.test", 550)):
        assert rcpt_one(server.port, address)[0] == code

    entries = cli_json(server, "cache", "list")
    by = {e["address"]: e for e in entries}
    assert set(by) == {"alice@example.test", "bob@example.test", "user12@example.test",
                       "ghost8@example.test"}, entries
    assert by["alice@example.test"]["result"] == "valid"
    assert by["ghost8@example.test"]["result"] == "invalid"
    assert UNKNOWN_REPLY in by["ghost8@example.test"]["reply"]
    for e in entries:
        assert t0 - 5 <= e["checked_at"] <= time.time() + 5, e
    assert abs(by["alice@example.test"]["expires_at"] - by["alice@example.test"]["checked_at"]
               - 2 * 86400) <= 5
    assert abs(by["ghost8@example.test"]["expires_at"] - by["ghost8@example.test"]["checked_at"]
               - 3600) <= 5

    server.cli("cache", "flush", "alice@example.test")
    assert {e["address"] for e in cli_json(server, "cache", "list")} == {
        "bob@example.test", "user12@example.test", "ghost8@example.test"}
    primary.stop()
    # The running server forgot alice too: it has to ask, and cannot.
    assert_reply(rcpt_one(server.port, "alice@example.test"), 450, "4.1.1")
    assert_reply(rcpt_one(server.port, "bob@example.test"), 250)

    server.cli("cache", "flush", "@example.test")
    assert cli_json(server, "cache", "list") == []
    assert_reply(rcpt_one(server.port, "bob@example.test"), 450, "4.1.1")
    assert_reply(rcpt_one(server.port, "ghost8@example.test"), 450, "4.1.1")

    primary.start()  # asked again once primary_down_backoff (1 s) is over
    assert wait_until(lambda: rcpt_one(server.port, "user13@example.test")[0] == 250, 5)
    assert rcpt_one(server.port, "ghost9@example.test")[0] == 550
    assert len(cli_json(server, "cache", "list")) == 2
    server.cli("cache", "flush")
    assert cli_json(server, "cache", "list") == []
    server.stop()
    assert cli_json(server, "cache", "list") == []  # the flush reached the state store
