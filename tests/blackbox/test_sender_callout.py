"""Sender callout (issue 12, [checks.sender_callout]): before a recipient is accepted,
backstop asks one of the sender domain's MX hosts whether the sender accepts mail
(EHLO, MAIL FROM:<>, RCPT TO:<sender>, QUIT). The sender domains' MX records come from a
real dnsmasq; their MX hosts are a real Postfix (which knows its users), or a StallPeer
that answers like a server (counting connections) or never answers RCPT. Checked: an
existing sender is accepted, an unknown one refused with 550 5.7.1 and Postfix's own words,
a stalled MX costs the client one deadline and gets 451, an answer is remembered (no second
connection), the per-domain rate limit answers 451 without contacting the MX, and the null
sender or a sender at a domain we back up is never called back."""
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import Smtp
from peers import Dns
from postfix_primary import PostfixPrimary
from stall_peer import StallPeer

DOMAIN = "example.test"
POSTFIX_MX = "127.0.0.6"  # sender.test
STALL_MX = "127.0.0.7"    # stall.test
PEER_MX = "127.0.0.8"     # peer.test, peer2.test
RECORDS = [
    "--mx-host=sender.test,mx.sender.test,10", f"--host-record=mx.sender.test,{POSTFIX_MX}",
    "--mx-host=stall.test,mx.stall.test,10", f"--host-record=mx.stall.test,{STALL_MX}",
    "--mx-host=peer.test,mx.peer.test,10", f"--host-record=mx.peer.test,{PEER_MX}",
    "--mx-host=peer2.test,mx.peer.test,10",
    f"--host-record=implicit.test,{PEER_MX}",  # no MX: the domain's address is its MX
]


@pytest.fixture
def dns(tmp_path):
    d = Dns(tmp_path, RECORDS)
    yield d
    d.stop()


@pytest.fixture
def wildcard_list(tmp_path):
    # Every recipient of the backed-up domain exists: only the sender callout can refuse.
    path = tmp_path / "wildcard.list"
    path.write_text(f"@{DOMAIN}\n")
    return str(path)


def callout_server(make_server, dns, wildcard_list, mx_port, **callout):
    options = {"enabled": True, "timeout": "3s", "connect_timeout": "2s",
               "reply_timeout": "2s"}
    options.update(callout)
    return make_server(**{
        "dns": {"servers": [f"127.0.0.1:{dns.port}"], "timeout": 500, "tries": 1},
        "delivery": {"retry_initial": "1h", "mx_port": mx_port},
        "checks.sender_callout": options,
        "domains": [{"name": DOMAIN, "primary": ["127.0.0.1:1"], "verify": False,
                     "recipients": wildcard_list}]}).start()


def rcpt(server, sender, recipient=f"user@{DOMAIN}"):
    """(code, lines) of RCPT after MAIL FROM:<sender>, and the seconds RCPT took."""
    c = Smtp(server.port, timeout=30)
    try:
        c.greet()
        code, lines = c.cmd(f"MAIL FROM:<{sender}>")
        assert code == 250, lines
        started = time.monotonic()
        reply = c.cmd(f"RCPT TO:<{recipient}>")
        took = time.monotonic() - started
        c.cmd("QUIT")
        return reply, took
    finally:
        c.close()


@pytest.fixture
def postfix_mx(tmp_path):
    (tmp_path / "pf").mkdir()
    p = PostfixPrimary(tmp_path / "pf", host=POSTFIX_MX, domain="sender.test",
                       users=("alice",))
    try:
        p.start()
        yield p
    finally:
        p.remove()


def test_existing_sender_is_accepted_after_asking_its_mx(make_server, dns, wildcard_list,
                                                         postfix_mx):
    server = callout_server(make_server, dns, wildcard_list, postfix_mx.port)
    (code, lines), _ = rcpt(server, "alice@sender.test")
    assert code == 250, lines
    assert postfix_mx.connections() == 1
    server.wait_for_log("sender callout <alice@sender.test>: accepts")


def test_unknown_sender_is_refused_at_rcpt_with_the_remote_text(make_server, dns, wildcard_list,
                                                                postfix_mx):
    server = callout_server(make_server, dns, wildcard_list, postfix_mx.port)
    (code, lines), _ = rcpt(server, "nobody@sender.test")
    assert code == 550, lines
    text = " ".join(lines)
    assert lines[0].startswith("550 5.7.1 Sender address rejected: 550 5.1.1 "), lines
    assert "<nobody@sender.test>: Recipient address rejected: User unknown" in text, lines
    # Postfix saw the null sender ask about the sender.
    refused = postfix_mx.rcpt_rejections()
    assert [(r["sender"], r["address"]) for r in refused] == [("", "nobody@sender.test")]


@pytest.mark.parametrize("stage", ["greeting", "ehlo", "mail", "rcpt"])
def test_stalled_mx_gets_451_within_the_deadline(make_server, dns, wildcard_list, free_port,
                                                 stage):
    port = free_port(STALL_MX)
    peer = StallPeer(stage, host=STALL_MX, port=port)
    try:
        server = callout_server(make_server, dns, wildcard_list, port, timeout="2s",
                                reply_timeout="10s")
        (code, lines), took = rcpt(server, "carol@stall.test")
        assert code == 451 and lines[0].startswith("451 4.7.1 "), lines
        assert took < 8, took  # the 2 s deadline, not the 10 s reply timeout or forever
        assert peer.stalled == 1
    finally:
        peer.stop()


def test_cannot_tell_accepts_for_a_domain_that_says_so(make_server, dns, tmp_path, free_port):
    both = tmp_path / "both.list"
    both.write_text(f"@{DOMAIN}\n@lenient.test\n")
    port = free_port(STALL_MX)
    peer = StallPeer("rcpt", host=STALL_MX, port=port)
    try:
        server = make_server(**{
            "dns": {"servers": [f"127.0.0.1:{dns.port}"], "timeout": 500, "tries": 1},
            "delivery": {"retry_initial": "1h", "mx_port": port},
            "checks.sender_callout": {"enabled": True, "timeout": "2s"},
            'checks.sender_callout.domain."lenient.test"': {"cannot_tell": "accept"},
            "domains": [{"name": d, "primary": ["127.0.0.1:1"], "verify": False,
                         "recipients": str(both)} for d in (DOMAIN, "lenient.test")]})
        server.start()
        (code, lines), _ = rcpt(server, "carol@stall.test", "user@lenient.test")
        assert code == 250, lines
        # The same stalled MX, for a recipient of a domain without the override: 451.
        (code, lines), _ = rcpt(server, "dan@stall.test", f"user@{DOMAIN}")
        assert code == 451, lines
    finally:
        peer.stop()


def test_an_answer_is_remembered_no_second_connection(make_server, dns, wildcard_list,
                                                      free_port):
    port = free_port(PEER_MX)
    peer = StallPeer("none", host=PEER_MX, port=port)
    try:
        server = callout_server(make_server, dns, wildcard_list, port)
        (code, lines), _ = rcpt(server, "dave@peer.test")
        assert code == 250, lines
        (code, lines), _ = rcpt(server, "unknown.eve@peer.test")
        assert code == 550, lines
        assert peer.connections() == 2
        # Asked again: both answers come from memory (a callout would come before the reply).
        (code, lines), _ = rcpt(server, "DAVE@peer.test")
        assert code == 250, lines
        (code, lines), _ = rcpt(server, "unknown.eve@peer.test")
        assert code == 550, lines
        assert peer.connections() == 2
        assert [c for c in peer.all_commands() if c.startswith("MAIL")] == ["MAIL FROM:<>"] * 2
    finally:
        peer.stop()


def test_rate_limit_defers_without_contacting_the_mx(make_server, dns, wildcard_list, free_port):
    port = free_port(PEER_MX)
    peer = StallPeer("none", host=PEER_MX, port=port)
    try:
        server = callout_server(make_server, dns, wildcard_list, port, per_minute_per_domain=1)
        (code, lines), _ = rcpt(server, "first@peer.test")
        assert code == 250, lines
        (code, lines), _ = rcpt(server, "second@peer.test")
        assert code == 451 and lines[0].startswith("451 4.7.1 "), lines
        assert peer.connections() == 1
        server.wait_for_log("rate limit: 1 callouts per minute to peer.test")
        # Another domain at the same MX host has its own limit.
        (code, lines), _ = rcpt(server, "third@peer2.test")
        assert code == 250, lines
        assert peer.connections() == 2
    finally:
        peer.stop()


def test_stage_mail_refuses_at_mail_from(make_server, dns, wildcard_list, postfix_mx):
    server = callout_server(make_server, dns, wildcard_list, postfix_mx.port, stage="mail")
    c = Smtp(server.port, timeout=30)
    try:
        c.greet()
        code, lines = c.cmd("MAIL FROM:<nobody@sender.test>")
        assert code == 550 and lines[0].startswith("550 5.7.1 Sender address rejected: "), lines
        code, lines = c.cmd("MAIL FROM:<alice@sender.test>")
        assert code == 250, lines
    finally:
        c.close()


def test_a_domain_without_mx_is_asked_at_its_address(make_server, dns, wildcard_list, free_port):
    port = free_port(PEER_MX)
    peer = StallPeer("none", host=PEER_MX, port=port)
    try:
        server = callout_server(make_server, dns, wildcard_list, port)
        (code, lines), _ = rcpt(server, "unknown.hal@implicit.test")
        assert code == 550, lines
        assert peer.connections() == 1
    finally:
        peer.stop()


def test_never_a_callout_for_the_null_sender_or_a_backed_up_domain(make_server, dns,
                                                                    wildcard_list, free_port):
    port = free_port(PEER_MX)
    peer = StallPeer("none", host=PEER_MX, port=port)
    try:
        server = callout_server(make_server, dns, wildcard_list, port)
        for sender in ("", f"someone@{DOMAIN}"):
            (code, lines), _ = rcpt(server, sender)
            assert code == 250, (sender, lines)
        # The same server does call out for a third-party sender: the check was on.
        (code, lines), _ = rcpt(server, "frank@peer.test")
        assert code == 250, lines
        assert peer.connections() == 1
        assert peer.commands(0)[2] == "RCPT TO:<frank@peer.test>"
    finally:
        peer.stop()


def test_off_by_default_no_callout(make_server, dns, wildcard_list, free_port):
    port = free_port(PEER_MX)
    peer = StallPeer("none", host=PEER_MX, port=port)
    try:
        server = make_server(**{
            "dns": {"servers": [f"127.0.0.1:{dns.port}"], "timeout": 500, "tries": 1},
            "delivery": {"retry_initial": "1h", "mx_port": port},
            "domains": [{"name": DOMAIN, "primary": ["127.0.0.1:1"], "verify": False,
                         "recipients": wildcard_list}]}).start()
        (code, lines), _ = rcpt(server, "unknown.gina@peer.test")
        assert code == 250, lines
        assert peer.connections() == 0
    finally:
        peer.stop()


def test_cache_misses_and_hits_are_counted(make_server, dns, wildcard_list, free_port):
    port = free_port(PEER_MX)
    peer = StallPeer("none", host=PEER_MX, port=port)
    try:
        server = callout_server(make_server, dns, wildcard_list, port)

        def misses_and_hits():
            counters = server.stats()["counters"]
            return counters["sender_callout_cache_misses"], counters["sender_callout_cache_hits"]

        assert misses_and_hits() == (0, 0)
        (code, lines), _ = rcpt(server, "dave@peer.test")
        assert code == 250, lines
        assert peer.connections() == 1
        assert misses_and_hits() == (1, 0), "the first mail had to ask the sender's MX"
        (code, lines), _ = rcpt(server, "dave@peer.test")
        assert code == 250, lines
        assert peer.connections() == 1, "the second mail was answered from the cache"
        assert misses_and_hits() == (1, 1)
        # The null sender is never asked about: neither a miss nor a hit.
        (code, lines), _ = rcpt(server, "")
        assert code == 250, lines
        assert misses_and_hits() == (1, 1)
    finally:
        peer.stop()


def test_concurrent_sessions_of_one_sender_share_one_callout(make_server, dns, wildcard_list,
                                                             free_port):
    """Ten sessions of one sender missing the cache at once: one callout, ten 250s. Each
    asking on its own, the per-domain limit (2 at once) would defer eight of them."""
    port = free_port(PEER_MX)
    peer = StallPeer("none", host=PEER_MX, port=port, slow_rcpt=1.0)
    try:
        server = callout_server(make_server, dns, wildcard_list, port)
        with ThreadPoolExecutor(max_workers=10) as pool:
            replies = list(pool.map(lambda _: rcpt(server, "dave@peer.test")[0][0], range(10)))
        assert replies == [250] * 10, replies
        assert peer.connections() == 1
    finally:
        peer.stop()
