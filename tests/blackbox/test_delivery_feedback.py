"""What the primary says at delivery reaches the verification cache: a recipient that the
cache calls valid but that the primary refuses at delivery with 5.1.x is remembered as
unknown, so the next message to it is refused at RCPT instead of being accepted and bounced
again. The primary is a real Postfix (postfix_primary.PostfixPrimary)."""
import json

import pytest

from conftest import queue_id_of, rcpt_reply, send_message, wait_until as wait_for
from postfix_primary import PostfixPrimary


@pytest.fixture
def primary(tmp_path):
    p = PostfixPrimary(tmp_path / "primary", users=("alice", "bob"))
    p.start()
    yield p
    p.remove()


def cached(server, address):
    r = server.cli("verify", address, "--cached-only", "--json")
    return json.loads(r.stdout)["cached"]



def wait_until(predicate, timeout=15):
    return wait_for(predicate, timeout)



def test_refusal_at_delivery_turns_a_valid_cache_entry_negative(make_server, primary):
    s = make_server(verify={"callout": True, "sender_domain": False, "timeout": "5s",
                            "unknown_recipient_delay": "0s"},
                    delivery={"retry_initial": "1h"},
                    domains=[{"name": "example.test",
                              "primary": [f"{primary.host}:{primary.port}"]}]).start()
    body = b"Subject: to bob\r\n\r\nhello\r\n"
    # bob exists: the callout says so and the cache remembers it.
    queue_id_of(send_message(s.port, "carol@client.example", ["bob@example.test"], body))
    assert len(primary.wait_delivered("bob@example.test")) == 1
    assert cached(s, "bob@example.test")["result"] == "valid"
    # bob is removed at the primary; the cache still says valid, so the next message is
    # accepted and refused by the primary at delivery with its 550 5.1.1.
    primary.set_users(("alice",))
    queue_id_of(send_message(s.port, "carol@client.example", ["bob@example.test"], body))
    assert wait_until(lambda: cached(s, "bob@example.test")["result"] == "invalid"), \
        s.log_text()[-3000:]
    assert "5.1.1" in cached(s, "bob@example.test")["reply"]
    # The third message is refused at RCPT from the cache, without asking the primary.
    code, lines = rcpt_reply(s.port, "bob@example.test", sender="carol@client.example")
    assert code == 550 and lines[-1].startswith("550 5.1.1 "), lines



@pytest.mark.parametrize("delay_reject", ["no", "yes"])
def test_a_refused_sender_at_delivery_does_not_make_its_recipients_unknown(make_server, tmp_path,
                                                                           delay_reject):
    # The primary refuses one sender with 553 5.1.8: at MAIL (smtpd_delay_reject = no, the
    # reply is then copied to every recipient) or at each RCPT (yes). That says nothing
    # about the recipients: the cache must keep calling them valid.
    import os
    p = PostfixPrimary(tmp_path / "primary", users=("alice", "bob"))
    senders = os.path.join(p.etc, "senders")
    with open(senders, "w") as f:
        f.write("spammer@evil.test 553 5.1.8 Sender domain not found\n")
    p._age(senders)
    p.settings.update({"smtpd_sender_restrictions": f"check_sender_access texthash:{senders}",
                       "smtpd_delay_reject": delay_reject})
    p._write_config()
    p.start()
    try:
        s = make_server(verify={"callout": True, "sender_domain": False, "timeout": "5s"},
                        delivery={"retry_initial": "1h", "bounce": "never"},
                        domains=[{"name": "example.test",
                                  "primary": [f"{p.host}:{p.port}"]}]).start()
        queue_id_of(send_message(s.port, "spammer@evil.test",
                                 ["alice@example.test", "bob@example.test"],
                                 b"Subject: spam\r\n\r\nx\r\n"))
        s.wait_for_log("status=bounced", count=2)
        for who in ("alice@example.test", "bob@example.test"):
            code, lines = rcpt_reply(s.port, who, sender="carol@client.example")
            assert code == 250, (who, lines)
        assert cached(s, "bob@example.test")["result"] == "valid"
    finally:
        p.remove()
