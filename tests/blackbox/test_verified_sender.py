"""Verified senders (issue 12, SPF section): while the primary cannot be asked, `[verify]
unverified = "verified-sender"` (the default) accepts a recipient the cache does not know
only from a verified sender and defers everyone else with 450 4.1.1; `accept` and `defer`
keep their meaning. Nothing on this branch verifies a sender yet (SPF and the sender
callout are separate checks), so every sender here is unverified; the verified side is
covered by the unit tests (recipient_verifier, pipeline_verified_sender). The primary is
the default closed loopback port."""
import signal

import pytest

from conftest import rcpt_reply


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
