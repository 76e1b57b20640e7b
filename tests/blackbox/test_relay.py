"""Never an open relay: only the configured domain is accepted, under every address trick."""
import pytest

from conftest import Smtp

ACCEPTED = [
    "user@example.test",
    "USER@EXAMPLE.TEST",
    "user@example.test.",
    "user%other.example@example.test",
    "other.example!user@example.test",
    '"user@other.example"@example.test',
    "@relay.example:user@example.test",
    "@a.example,@b.example:user@example.test",
]

DENIED_550 = [
    "user@other.example",
    "user@example.test.other.example",
    "user@sub.example.test",
    "user%example.test@other.example",
    "example.test!user@other.example",
    '"user@example.test"@other.example',
    "@example.test:user@other.example",
    "user@[127.0.0.1]",
    "user@[IPv6:::1]",
    "user@localhost",
    "user@mx2.example.test",
    "user@example.testx",
]

DENIED_SYNTAX = [
    "user",
    "user@other.example@example.test",
    "user@example.test@other.example",
    "<user@example.test>",
    "user@",
    "@example.test",
    "user@exa mple.test",
    "user@-example.test",
    "us..er@example.test",
]


def rcpt(server, address):
    c = Smtp(server.port)
    c.greet()
    assert c.cmd("MAIL FROM:<spammer@other.example>")[0] == 250
    code, lines = c.cmd(f"RCPT TO:<{address}>")
    c.cmd("QUIT")
    c.close()
    return code, lines


@pytest.mark.parametrize("address", ACCEPTED)
def test_backed_up_domain_accepted(server, address):
    code, lines = rcpt(server, address)
    assert code == 250, lines


@pytest.mark.parametrize("address", DENIED_550)
def test_other_destinations_denied(server, address):
    code, lines = rcpt(server, address)
    assert code == 550, lines
    assert "5.7.1" in lines[0]


@pytest.mark.parametrize("address", DENIED_SYNTAX)
def test_malformed_addresses_refused(server, address):
    code, lines = rcpt(server, address)
    assert code in (501, 553), lines


def test_denied_recipients_never_queued(server):
    c = Smtp(server.port)
    c.greet()
    assert c.cmd("MAIL FROM:<spammer@other.example>")[0] == 250
    for address in DENIED_550[:9]:  # the 10th error would end the session (max_errors)
        assert c.cmd(f"RCPT TO:<{address}>")[0] == 550
    assert c.cmd("DATA")[0] == 503
    assert server.queued() == []


def test_accepted_trick_is_stored_for_the_backed_up_domain_only(server):
    c = Smtp(server.port)
    c.greet()
    assert c.cmd("MAIL FROM:<a@other.example>")[0] == 250
    assert c.cmd("RCPT TO:<user%victim.example@example.test>")[0] == 250
    assert c.cmd("RCPT TO:<@relay.example:user2@example.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send("Subject: x\r\n\r\nx\r\n.\r\n")
    assert c.read_reply()[0] == 250
    domains = {r["address"].rsplit("@", 1)[1] for r in server.queued()[0]["recipients"]}
    assert domains == {"example.test"}
