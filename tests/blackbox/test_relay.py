"""Never an open relay: only example.test is accepted, under every classic address trick.

Each refused address is tried inside a real transaction that also has a valid "canary"
recipient, which is then sent to the end: the queued message must hold the canary and
nothing else, so "refused" is checked on disk, not only in the reply code. The addresses
come from the classic relay-test suites (abuse.net, ORDB/relay-test scripts, Sendmail's
relay FAQ): percent hack, bang paths, source routes, quoted local parts, address literals,
trailing dots, look-alike and sub-domains, our own host name, and bytes that a C string
would cut short.
"""
import itertools
import re
import signal
import time

import pytest

from conftest import Smtp, queue_id_of

_canary = itertools.count()

# address -> the address that must be stored (the domain compared case-insensitively).
ACCEPTED = {
    "user@example.test": "user@example.test",
    "USER@EXAMPLE.TEST": "USER@example.test",
    "user@Example.Test": "user@example.test",
    "user@example.test.": "user@example.test",
    "user@EXAMPLE.TEST.": "user@example.test",
    "user+tag@example.test": "user+tag@example.test",
    # Percent hack, bang path and '@' in quoted local parts are refused as sender-specified
    # routing (test_routing.py); other quoted local parts are the primary's business.
    '"quoted local"@example.test': '"quoted local"@example.test',
    # RFC 5321 4.1.1.3 / C: source routes are accepted and their hops ignored.
    "@other.example:user@example.test": "user@example.test",
    "@a.example,@b.example:user@example.test": "user@example.test",
}

# Other destinations: exactly 550 5.7.1.
DENIED_RELAY = [
    "user@other.example",
    "user@other.example.",
    "postmaster@other.example",
    "user@example.test.other.example",
    "user@other.example.example.test",  # a sub-domain is another domain
    "user@sub.example.test",
    "user@example.testx",
    "user@xexample.test",
    "user@example.tes",
    "user@localhost",
    "user@localhost.localdomain",
    "user@mx2.example.test",  # our own host name is not a backed-up domain
    "user@MX2.EXAMPLE.TEST",
    # tricks that put a backed-up domain somewhere other than the domain part
    "user%example.test@other.example",
    "user%other.example%example.test@other.example",
    "example.test!user@other.example",
    "other.example!user%example.test@other.example",
    '"user@example.test"@other.example',
    '"user"@other.example',
    "@example.test:user@other.example",
    "@example.test,@example.test:user@other.example",
    "@mx2.example.test:user@other.example",
    # address literals (RFC 5321 4.1.3), loopback or not
    "user@[127.0.0.1]",
    "user@[127.0.0.2]",
    "user@[192.0.2.1]",
    "user@[IPv6:::1]",
    "user@[ipv6:::1]",
    "user@[IPv6:::ffff:127.0.0.1]",
    "user%other.example@[127.0.0.1]",
    '"user@other.example"@[127.0.0.1]',
    "other.example!user@[127.0.0.1]",
]

# Must be refused: by syntax (RFC 5321 4.1.2), 501 5.1.3 unless another reply is named.
# Syntactically valid domains that are not ours are relaying: 550 5.7.1.
BAD_SYNTAX = "501 5.1.3 "
RELAY_DENIED = "550 5.7.1 "
REFUSED = {
    # unqualified: RFC 5321 only allows <postmaster> without a domain
    "user": BAD_SYNTAX,
    "other.example!user": BAD_SYNTAX,
    "[127.0.0.1]!other.example!user": BAD_SYNTAX,
    "user%other.example": BAD_SYNTAX,
    "user%example.test": BAD_SYNTAX,
    '"user@other.example"': BAD_SYNTAX,
    '"user@example.test"': BAD_SYNTAX,
    "example.test": BAD_SYNTAX,
    # more than one @, empty parts, bad domain syntax
    "user@other.example@example.test": BAD_SYNTAX,
    "user@example.test@other.example": BAD_SYNTAX,
    "user@other.example@[127.0.0.1]": BAD_SYNTAX,
    "user@": BAD_SYNTAX,
    "@example.test": BAD_SYNTAX,
    "@": BAD_SYNTAX,
    "user@@example.test": BAD_SYNTAX,
    "user@example..test": BAD_SYNTAX,
    "user@.example.test": BAD_SYNTAX,
    "user@example.test..": BAD_SYNTAX,
    "user@-example.test": BAD_SYNTAX,
    "user@exa mple.test": BAD_SYNTAX,
    "user @example.test": BAD_SYNTAX,
    "<user@example.test>": "501 5.5.4 ",
    "us..er@example.test": BAD_SYNTAX,
    ".user@example.test": BAD_SYNTAX,
    "user.@example.test": BAD_SYNTAX,
    "user@other.example%example.test": BAD_SYNTAX,
    "user@[example.test]": BAD_SYNTAX,
    "user@[127.0.0.1": BAD_SYNTAX,
    "user@127.0.0.1": RELAY_DENIED,
    "user@[0x7f.0.0.1]": BAD_SYNTAX,
    "user@[IPv6:example.test]": BAD_SYNTAX,
    "@example.test:": BAD_SYNTAX,
    "@other.example:user": BAD_SYNTAX,
    "user@example-test": RELAY_DENIED,
    "user@test": RELAY_DENIED,
    # RFC 5321 4.1.2: a source-route hop is a Domain, never an address literal
    "@[127.0.0.1]:user@example.test": BAD_SYNTAX,
    "@[127.0.0.1]:user@other.example": BAD_SYNTAX,
}

SYNTAX_513 = ["user", "user@other.example@example.test", "user@example.test@other.example"]

# Whole RCPT lines as bytes: a parser that stops at NUL, CR or a space must not see
# "user@example.test" in them.
RAW_REFUSED = {
    b"RCPT TO:<user@example.test\x00@other.example>": BAD_SYNTAX,
    b"RCPT TO:<user@other.example\x00@example.test>": BAD_SYNTAX,
    b"RCPT TO:<user@other.example\x00>": BAD_SYNTAX,
    b"RCPT TO:<user@other.example> <user@example.test>": "501 5.5.4 ",
    b"RCPT TO:<user@other.example><user@example.test>": "501 5.5.4 ",
    b"RCPT TO:user@other.example": "501 5.5.4 ",
    b"RCPT TO: user@other.example": "501 5.5.4 ",
    b"RCPT TO:<user@other.example": "501 5.5.4 ",
    b"RCPT TO:<user@other.example>>": "501 5.5.4 ",
    b"RCPT TO:<<user@other.example>>": "501 5.5.4 ",
    b"RCPT TO:<user@other.example\rexample.test>": "500 5.5.2 ",  # a bare CR: not a line
    # Cyrillic a: a look-alike domain. SMTPUTF8 is a MAIL parameter (RFC 6531 3.4), not RCPT's.
    b"RCPT TO:<user@ex\xd0\xb0mple.test> SMTPUTF8": "555 5.5.4 ",
    b"RCPT TO:<user@ex\xd0\xb0mple.test>": RELAY_DENIED,
    b"RCPT TO:<user@xn--exmple-4nf.test>": RELAY_DENIED,
    b"RCPT TO:<user@other.example> ORCPT=rfc822;user@example.test": RELAY_DENIED,
}


def try_recipient(server, rcpt_line):
    """MAIL, then the tried RCPT line, then a canary recipient, then a message. Returns the
    reply to the tried RCPT and the recipients stored for the message."""
    canary = f"canary{next(_canary)}@example.test"
    c = Smtp(server.port)
    try:
        c.greet()
        assert c.code("MAIL FROM:<spammer@other.example> SMTPUTF8") == 250
        reply = c.cmd(rcpt_line)
        if reply[0] is None or reply[0] == 421:
            return reply, None
        code, lines = c.cmd(f"RCPT TO:<{canary}>")
        assert code == 250, lines
        assert c.code("DATA") == 354
        c.send(b"Subject: relay test\r\n\r\nx\r\n.\r\n")
        qid = queue_id_of(c.read_reply())
        c.cmd("QUIT")
    finally:
        c.close()
    stored = [r["address"] for r in server.show(qid)["message"]["recipients"]]
    return reply, (canary, stored)


def unquote(local):
    if len(local) >= 2 and local[0] == local[-1] == '"':
        return re.sub(r"\\(.)", r"\1", local[1:-1])
    return local


def same_address(stored, expected):
    """RFC 5321 4.1.2: "a"@d and a@d are the same mailbox; but a local part that needs
    quotes (it holds @ or a space) must keep them, or the next hop sees another address."""
    ls, _, ds = stored.rpartition("@")
    le, _, de = expected.rpartition("@")
    if ds.rstrip(".").lower() != de.rstrip(".").lower() or unquote(ls) != unquote(le):
        return False
    return not re.search(r'[@ ",:;<>()\[\]\\]', unquote(ls)) or ls.startswith('"')


def assert_not_queued(server, address):
    for m in server.queued():
        for r in m["recipients"]:
            assert r["address"].rpartition("@")[2].rstrip(".").lower() == "example.test", m
            assert not address or r["address"].lower() != address.lower(), m


@pytest.mark.parametrize("address", list(ACCEPTED))
def test_backed_up_domain_accepted(shared_server, address):
    (code, lines), (canary, stored) = try_recipient(shared_server, f"RCPT TO:<{address}>")
    assert code == 250 and lines[0].startswith("250 2.1.5"), lines
    assert len(stored) == 2 and stored[1] == canary, stored
    assert same_address(stored[0], ACCEPTED[address]), (stored[0], ACCEPTED[address])


@pytest.mark.parametrize("address", DENIED_RELAY)
def test_other_destinations_denied(shared_server, address):
    (code, lines), result = try_recipient(shared_server, f"RCPT TO:<{address}>")
    assert code == 550 and lines[0].startswith("550 5.7.1"), lines
    canary, stored = result
    assert stored == [canary]
    assert_not_queued(shared_server, address)


def test_relaying_denied_text(shared_server):
    (code, lines), _ = try_recipient(shared_server, "RCPT TO:<user@other.example>")
    assert lines == [lines[0]] and "Relaying denied" in lines[0]


@pytest.mark.parametrize("address", list(REFUSED))
def test_malformed_or_unqualified_refused(shared_server, address):
    (code, lines), result = try_recipient(shared_server, f"RCPT TO:<{address}>")
    assert lines[0].startswith(REFUSED[address]), lines
    if result:
        canary, stored = result
        assert stored == [canary]
    assert_not_queued(shared_server, address)


@pytest.mark.parametrize("address", SYNTAX_513)
def test_syntax_errors_are_501_5_1_3(shared_server, address):
    (code, lines), _ = try_recipient(shared_server, f"RCPT TO:<{address}>")
    assert code == 501 and lines[0].startswith("501 5.1.3"), lines


@pytest.mark.parametrize("line", list(RAW_REFUSED), ids=[repr(l)[13:60] for l in RAW_REFUSED])
def test_raw_rcpt_lines_never_accept_the_other_domain(shared_server, line):
    (code, lines), result = try_recipient(shared_server, line)
    # A permanent refusal: a 4xx would have the client retry the same trick later.
    assert code is not None and lines[0].startswith(RAW_REFUSED[line]), lines
    if result:
        canary, stored = result
        assert stored == [canary]
    assert_not_queued(shared_server, None)


def test_sender_in_our_domain_does_not_open_relay(shared_server):
    c = Smtp(shared_server.port)
    c.greet("example.test")
    assert c.code("MAIL FROM:<user@example.test>") == 250
    code, lines = c.cmd("RCPT TO:<victim@other.example>")
    assert code == 550 and "5.7.1" in lines[0]
    c.cmd("RSET")
    assert c.code("MAIL FROM:<>") == 250
    assert c.code("RCPT TO:<victim@other.example>") == 550


def test_loopback_client_is_not_trusted(make_server):
    # Many MTAs relay for 127.0.0.1; a backup MX must not, and a second loopback
    # address must not either.
    server = make_server().start()
    for source in ("127.0.0.1", "127.0.0.2"):
        c = Smtp(server.port, source=source)
        c.greet("localhost")
        assert c.code("MAIL FROM:<root@localhost>") == 250
        assert c.code("RCPT TO:<root@other.example>") == 550
    assert server.queued() == []


def test_only_refused_recipients_means_no_data(shared_server):
    c = Smtp(shared_server.port)
    c.greet()
    assert c.code("MAIL FROM:<spammer@other.example>") == 250
    before = shared_server.queue_ids()
    for address in DENIED_RELAY[:5]:
        assert c.code(f"RCPT TO:<{address}>") == 550
    code, lines = c.cmd("DATA")
    # RFC 5321 3.3 allows 503 or 554 here; backstop says 503, out of sequence
    assert code == 503 and lines[0].startswith("503 5.5.1"), lines
    # Even if the client sends a message anyway, none of it is taken as a message.
    c.send(b"Subject: x\r\n\r\nx\r\n.\r\nHELP\r\n")
    replies = []
    while True:
        r = c.read_reply()
        replies.append(r[0])
        if r[0] in (214, None, 421):
            break
    assert 250 not in replies and 354 not in replies, replies
    assert shared_server.queue_ids() == before


def test_domain_list_is_per_config(make_server):
    server = make_server(domains=[{"name": "example.test", "primary": ["127.0.0.1:1"]},
                                  {"name": "Second.Example.", "primary": ["127.0.0.1:1"]}])
    server.start()
    c = Smtp(server.port)
    c.greet()
    assert c.code("MAIL FROM:<a@b.example>") == 250
    assert c.code("RCPT TO:<u@second.example>") == 250
    assert c.code("RCPT TO:<u@SECOND.EXAMPLE.>") == 250
    assert c.code("RCPT TO:<u@third.example>") == 550


def test_sighup_reloads_the_domain_list(make_server):
    # docs/configuration.md: SIGHUP replaces the domain list for new connections; an invalid
    # file is logged and the running configuration stays.
    server = make_server().start()
    c = Smtp(server.port)
    c.greet()
    assert c.code("MAIL FROM:<a@b.example>") == 250
    assert c.code("RCPT TO:<u@new.example>") == 550
    server.domains.append({"name": "new.example", "primary": ["127.0.0.1:1"]})
    server.write_config()
    server.proc.send_signal(signal.SIGHUP)

    def rcpt_code(address):
        s = Smtp(server.port)
        s.greet()
        assert s.code("MAIL FROM:<a@b.example>") == 250
        code = s.code(f"RCPT TO:<{address}>")
        s.close()
        return code

    deadline = time.time() + 5
    while rcpt_code("u@new.example") != 250 and time.time() < deadline:
        time.sleep(0.1)
    assert rcpt_code("u@new.example") == 250
    assert rcpt_code("u@example.test") == 250
    # a broken file changes nothing
    server.config_path.write_text(server.config_path.read_text() + "bogus_key = 1\n")
    server.proc.send_signal(signal.SIGHUP)
    server.wait_for_log("keeping the running")  # the reload was tried and refused
    assert server.running()
    assert rcpt_code("u@new.example") == 250
    assert rcpt_code("u@other.example") == 550
