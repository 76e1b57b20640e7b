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

