"""Sender-specified routing in the local part of a backed-up domain's recipient (issue 11).

A primary that honours the percent hack or bang paths (sendmail, Exim with
percent_hack_domains, many appliances) relays `user%other.example@example.test` on to
other.example: a backup MX that accepts such recipients is an open relay by proxy. Like
Postfix's reject_unauth_destination (allow_untrusted_routing = no), backstop refuses every
recipient whose local part, unquoted, holds '%', '!' or '@' with 550 5.7.1, names the routing
in the reply and counts it under its own check name. `[smtp] reject_sender_routing = false`
turns the check off. Source routes (`<@a,@b:user@d>`) are ignored as RFC 5321 4.1.1.3 and
appendix C say: the route never reaches the primary, only the mailbox does.
"""
import re

import pytest

from conftest import Smtp, free_port, queue_id_of, wait_until
from peers import Sink

DOMAIN = "example.test"

# address -> the routing operator the reply must name.
ROUTED = {
    "user%other.example@example.test": "%",
    "other.example!user@example.test": "!",
    '"user@other.example"@example.test': "@",
    '"user%other.example"@example.test': "%",
    '"other.example!user"@example.test': "!",
    "user%other.example%example.test@example.test": "%",
    '"user@other.example%example.test"@example.test': "@",
    '"@other.example:user"@example.test': "@",
    '"us\\@er"@example.test': "@",  # a quoted-pair is the same '@' once unquoted
}



@pytest.fixture
def wildcard_list(tmp_path):
    # Every address of the domain is valid: only the routing check can refuse one.
    path = tmp_path / "wildcard.list"
    path.write_text(f"@{DOMAIN}\n")
    return str(path)


def routing_server(make_server, wildcard_list, primary="127.0.0.1:1", **smtp):
    return make_server(smtp=smtp, domains=[{"name": DOMAIN, "primary": [primary],
                                            "verify": False, "recipients": wildcard_list}])


def rcpt(server, address):
    c = Smtp(server.port)
    try:
        c.greet()
        assert c.code("MAIL FROM:<sender@client.example>") == 250
        return c.cmd(f"RCPT TO:<{address}>")
    finally:
        c.close()


@pytest.mark.parametrize("address", list(ROUTED))
def test_routed_local_part_refused_with_the_routing_named(make_server, wildcard_list, address):
    server = routing_server(make_server, wildcard_list).start()
    code, lines = rcpt(server, address)
    assert code == 550 and lines[0].startswith("550 5.7.1 "), lines
    text = " ".join(lines)
    assert "sender-specified routing" in text, lines
    assert f"'{ROUTED[address]}'" in text, lines
    stats = server.stats()
    assert stats["refusals"] == {"RCPT reject sender_routing": 1}, stats
    assert stats["counters"]["recipients_accepted"] == 0, stats
    log = server.log_text()
    assert re.search(r"reject RCPT from \[127\.0\.0\.1\]: sender_routing <[^>]+>: "
                     r"sender-specified routing", log), log[-2000:]


def test_routed_recipient_never_reaches_the_queue(make_server, wildcard_list):
    server = routing_server(make_server, wildcard_list).start()
    c = Smtp(server.port)
    c.greet()
    assert c.code("MAIL FROM:<sender@client.example>") == 250
    for address in ROUTED:
        assert c.code(f"RCPT TO:<{address}>") == 550
    assert c.code("RCPT TO:<alice@example.test>") == 250
    assert c.code("DATA") == 354
    c.send(b"Subject: routing\r\n\r\nx\r\n.\r\n")
    qid = queue_id_of(c.read_reply())
    c.cmd("QUIT")
    stored = [r["address"] for r in server.show(qid)["message"]["recipients"]]
    assert stored == ["alice@example.test"], stored
    assert server.stats()["refusals"] == {"RCPT reject sender_routing": len(ROUTED)}


def test_plain_local_parts_with_other_specials_are_accepted(make_server, wildcard_list):
    server = routing_server(make_server, wildcard_list).start()
    for address in ["user+tag@example.test", "first.last@example.test",
                    '"quoted local"@example.test', '"a:b"@example.test', "o'brien@example.test"]:
        code, lines = rcpt(server, address)
        assert code == 250, (address, lines)
    assert server.stats()["refusals"] == {}


def test_check_can_be_turned_off(make_server, wildcard_list):
    server = routing_server(make_server, wildcard_list, reject_sender_routing=False).start()
    for address in ROUTED:
        code, lines = rcpt(server, address)
        assert code == 250, (address, lines)
    assert server.stats()["refusals"] == {}


def test_relay_check_still_comes_first(make_server, wildcard_list):
    # Another domain is "relaying denied", whatever its local part holds.
    server = routing_server(make_server, wildcard_list).start()
    code, lines = rcpt(server, "user%example.test@other.example")
    assert code == 550 and lines[0].startswith("550 5.7.1"), lines
    assert server.stats()["refusals"] == {"RCPT reject relay_domains": 1}


def test_source_route_is_ignored_and_never_forwarded(tmp_path, make_server, wildcard_list):
    host = "127.0.0.21"
    sink = Sink(tmp_path, host, free_port(host)).start()
    try:
        server = routing_server(make_server, wildcard_list, primary=f"{host}:{sink.port}").start()
        c = Smtp(server.port)
        c.greet()
        assert c.code("MAIL FROM:<sender@client.example>") == 250
        code, lines = c.cmd("RCPT TO:<@relay.other.example,@second.other.example:"
                            "alice@example.test>")
        assert code == 250, lines
        assert c.code("DATA") == 354
        c.send(b"Subject: source route\r\n\r\nx\r\n.\r\n")
        queue_id_of(c.read_reply())
        c.cmd("QUIT")
        got = sink.wait_messages(1)
        assert len(got) == 1, "nothing delivered to the primary"
        fields, _ = got[0]
        # The primary sees the mailbox alone, never the route.
        assert fields["X-Rcpt-Args"] == ["<alice@example.test>"], fields
        assert wait_until(lambda: server.queued() == [])
    finally:
        sink.remove()
