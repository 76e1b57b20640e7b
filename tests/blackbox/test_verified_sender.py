"""Verified senders (issue 12, SPF section): while the primary cannot be asked, `[verify]
unverified = "verified-sender"` (the default) accepts a recipient the cache does not know
only from a verified sender and defers everyone else with 450 4.1.1; `accept` and `defer`
keep their meaning. `[delivery] bounce = "verified-sender"` sends no notice to a sender that
was not verified when its message was accepted. Nothing on this branch verifies a sender yet
(SPF and the sender callout are separate checks), so every sender here is unverified; the
verified side is covered by the unit tests (recipient_verifier, pipeline_verified_sender,
notice_policy, session_sender_verified). The primary is the default closed loopback port,
except for the expiry test."""
import signal

import pytest

from conftest import free_port, queue_id_of, rcpt_reply, send_message, wait_until
from peers import Dns, Sink


def server_with(make_server, unverified=None, domain_unverified=None):
    """A started server whose primary is down; unverified None = the built-in default."""
    s = make_server()
    if unverified is None:
        del s.sections["verify"]["unverified"]  # conftest sets "accept" for other tests
    else:
        s.sections["verify"]["unverified"] = unverified
    if domain_unverified:
        s.domains[0]["unverified"] = domain_unverified
    s.write_config()
    return s.start()


def test_default_defers_an_unverified_sender_while_the_primary_is_down(make_server):
    server = server_with(make_server)
    code, lines = rcpt_reply(server.port, "user@example.test", sender="a@b.example")
    assert code == 450, lines
    assert lines[-1].startswith("450 4.1.1 "), lines
    assert "sender not verified" in lines[-1], lines
    line = server.wait_for_log("recipient_verify <user@example.test>")[0]
    assert "defer RCPT" in line and "sender not verified" in line, line
    stats = server.stats()
    assert stats["counters"]["unverified_sender_deferred"] == 1, stats["counters"]
    assert stats["counters"]["unverified_deferred"] == 0
    assert stats["counters"]["unverified_accepted"] == 0
    assert stats["refusals"] == {"RCPT defer recipient_verify": 1}, stats["refusals"]


@pytest.mark.parametrize("unverified, domain_unverified, code, counter", [
    ("accept", None, 250, "unverified_accepted"),
    ("defer", None, 450, "unverified_deferred"),
    ("verified-sender", None, 450, "unverified_sender_deferred"),
    ("accept", "verified-sender", 450, "unverified_sender_deferred"),
    ("verified-sender", "accept", 250, "unverified_accepted"),
    ("verified-sender", "defer", 450, "unverified_deferred"),
])
def test_each_unverified_policy_for_an_unverified_sender(make_server, unverified,
                                                         domain_unverified, code, counter):
    server = server_with(make_server, unverified, domain_unverified)
    got, lines = rcpt_reply(server.port, "user@example.test")
    assert got == code, lines
    if code == 450:
        assert lines[-1].startswith("450 4.1.1 "), lines
        assert ("sender not verified" in lines[-1]) == (counter == "unverified_sender_deferred")
    assert server.stats()["counters"][counter] == 1


def test_sighup_switches_the_unverified_policy(make_server):
    server = server_with(make_server, "accept")
    assert rcpt_reply(server.port, "user1@example.test")[0] == 250
    server.sections["verify"]["unverified"] = "verified-sender"
    server.write_config()
    server.proc.send_signal(signal.SIGHUP)
    server.wait_for_log("reload: 1 domains")
    code, lines = rcpt_reply(server.port, "user2@example.test")
    assert code == 450 and "sender not verified" in lines[-1], lines


PRIMARY, SENDER_MX = "127.0.0.3", "127.0.0.4"


def test_expired_message_of_an_unverified_sender_gets_no_notice(tmp_path, make_server):
    # The sender's domain has a working MX: a bounce or delay notice, if one were sent,
    # would arrive there. The primary refuses every RCPT with 450, so the message waits,
    # passes its delay_warning and then expires.
    dns = Dns(tmp_path, ["--mx-host=sender.test,mx.sender.test,10",
                         f"--host-record=mx.sender.test,{SENDER_MX}"])
    port = free_port()
    primary, sender_mx = Sink(tmp_path, PRIMARY, port), Sink(tmp_path, SENDER_MX, port)
    try:
        primary.start("-r", "RCPT")
        sender_mx.start()
        server = make_server(
            dns={"servers": [f"127.0.0.1:{dns.port}"], "timeout": 500},
            delivery={"bounce": "verified-sender", "retry_initial": "1s", "retry_max": "1s",
                      "mx_port": port, "delay_warning": "1s", "max_queue_lifetime": "4s"},
            domains=[{"name": "example.test", "primary": [f"{PRIMARY}:{port}"]}],
            verify={"callout": False}).start()
        qid = queue_id_of(send_message(server.port, "bob@sender.test", ["alice@example.test"],
                                       b"Subject: expires\r\n\r\nx\r\n"))
        assert server.show(qid)["message"]["sender_verified"] is False  # stored with it
        line = server.wait_for_log(f"{qid}: to=<alice@example.test> no bounce", timeout=30)[0]
        assert "bounce = verified-sender, sender not verified" in line, line
        assert wait_until(lambda: server.queued() == [], timeout=10)
        counters = server.stats()["counters"]
        assert counters["recipients_failed"] == 1, counters
        assert counters["bounces_suppressed"] == 1, counters
        assert counters["bounces_sent"] == 0, counters
        assert counters["delay_notices"] == 0, counters
        assert sender_mx.messages() == []
    finally:
        primary.remove()
        sender_mx.remove()
        dns.stop()
