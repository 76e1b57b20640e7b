"""`sender_domain_unchecked` counts transactions that went on while DNS could not check the
sender's domain (sender_domain_dns_trouble = "accept"): once per transaction that reaches
DATA with a recipient taken unchecked, not once per RCPT, and not at all when every
recipient was refused by a later check. The DNS server is a closed loopback port, so every
lookup fails at once (a temporary failure)."""
from conftest import Smtp, free_port, queue_id_of

DOMAIN = "example.test"


def unchecked(server):
    return server.stats()["counters"]["sender_domain_unchecked"]


def test_counted_once_per_transaction_that_went_on(make_server, tmp_path):
    listed = tmp_path / "listed.list"
    listed.write_text(f"one@{DOMAIN}\ntwo@{DOMAIN}\n")
    server = make_server(
        dns={"servers": [f"127.0.0.1:{free_port()}"], "timeout": 300, "tries": 1},
        verify={"sender_domain": True, "sender_domain_dns_trouble": "accept"},
        domains=[{"name": DOMAIN, "primary": ["127.0.0.1:1"], "verify": False,
                  "recipients": str(listed)}]).start()
    c = Smtp(server.port)
    try:
        c.greet()
        # The sender domain cannot be checked, but the only recipient is refused later on
        # (not listed): nothing went on, nothing was let in.
        assert c.code("MAIL FROM:<bob@sender.test>") == 250
        assert c.code(f"RCPT TO:<nobody@{DOMAIN}>") == 550
        assert c.code("RSET") == 250
        assert unchecked(server) == 0
        # Two recipients taken unchecked, one message: one transaction counted.
        assert c.code("MAIL FROM:<bob@sender.test>") == 250
        assert c.code(f"RCPT TO:<one@{DOMAIN}>") == 250
        assert c.code(f"RCPT TO:<nobody@{DOMAIN}>") == 550
        assert c.code(f"RCPT TO:<two@{DOMAIN}>") == 250
        assert c.code("DATA") == 354
        c.send(b"Subject: unchecked sender\r\n\r\nx\r\n.\r\n")
        queue_id_of(c.read_reply())
        assert unchecked(server) == 1
        # A sender that needs no check (the null sender): not counted.
        assert c.code("MAIL FROM:<>") == 250
        assert c.code(f"RCPT TO:<one@{DOMAIN}>") == 250
        assert c.code("DATA") == 354
        c.send(b"Subject: bounce\r\n\r\nx\r\n.\r\n")
        queue_id_of(c.read_reply())
        assert unchecked(server) == 1
        c.cmd("QUIT")
    finally:
        c.close()
    server.wait_for_log("sender domain not checked")
