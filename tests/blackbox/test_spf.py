"""SPF at RCPT time (issue 12) end to end: a real dnsmasq serves the SPF records (TXT), the
MX hosts of the backed-up domains and their addresses; the real binary decides.

- fail: the sender domain allows only 192.0.2.1, so 127.0.0.1 is refused at RCPT with
  550 5.7.23 and the domain's explanation;
- pass: the accepted message carries a Received-SPF header in the queue;
- a trusted hop (seed 002): 127.0.0.3 is an MX host of example.test, so it may relay mail
  from that failing sender to example.test, while 127.0.0.1 may not, and in one transaction
  its recipients at other.test (whose MX it is not) are still refused;
- temperror: a sender domain that nobody serves (dnsmasq forwards nowhere) defers, 451 4.7.24.
"""
import pytest

from conftest import Smtp, queue_id_of
from peers import Dns

EXPLANATION = "Not an authorised sender of fail.test"
RECORDS = [
    "--txt-record=fail.test,v=spf1 ip4:192.0.2.1 -all exp=why.fail.test",
    f"--txt-record=why.fail.test,{EXPLANATION}",
    "--txt-record=pass.test,v=spf1 ip4:127.0.0.0/29 -all",
    "--txt-record=helo-fail.test,v=spf1 ip4:192.0.2.1 -all",
    # example.test: the primary (elsewhere) and a second backup, 127.0.0.3.
    "--mx-host=example.test,primary.example.test,10",
    "--mx-host=example.test,backup2.example.test,30",
    "--host-record=primary.example.test,192.0.2.50",
    "--host-record=backup2.example.test,127.0.0.3",
    "--mx-host=other.test,primary.other.test,10",
    "--host-record=primary.other.test,192.0.2.60",
]


@pytest.fixture
def dns(tmp_path):
    d = Dns(tmp_path, RECORDS)
    yield d
    d.stop()


def configured(make_server, tmp_path, dns, **sections):
    everyone = tmp_path / "everyone.list"
    everyone.write_text("@example.test\n@other.test\n")
    return make_server(
        dns={"servers": [f"127.0.0.1:{dns.port}"], "timeout": 1000, "tries": 2},
        **{"checks.spf": {"enabled": True}}, **sections,
        domains=[{"name": d, "primary": ["127.0.0.1:1"], "verify": False,
                  "recipients": str(everyone)} for d in ("example.test", "other.test")],
    ).start()


@pytest.fixture
def spf_server(make_server, tmp_path, dns):
    return configured(make_server, tmp_path, dns)


def session(server, sender, source=None, helo="client.example"):
    c = Smtp(server.port, source=source, timeout=20)
    c.greet(helo)
    code, lines = c.cmd(f"MAIL FROM:<{sender}>")
    assert code == 250, lines
    return c


def assert_reply(reply, code, enhanced, contains=None):
    got, lines = reply
    assert got == code, lines
    assert lines[-1][4:].startswith(enhanced + " "), lines
    if contains:
        assert contains in " ".join(lines), lines


def test_fail_is_refused_at_rcpt_with_the_explanation(spf_server):
    c = session(spf_server, "alice@fail.test")
    assert_reply(c.cmd("RCPT TO:<bob@example.test>"), 550, "5.7.23", EXPLANATION)
    c.cmd("QUIT")
    assert spf_server.queued() == []


def test_pass_is_accepted_with_received_spf_in_the_queued_message(spf_server):
    c = session(spf_server, "alice@pass.test")
    assert_reply(c.cmd("RCPT TO:<bob@example.test>"), 250, "2.1.5")
    assert_reply(c.cmd("RCPT TO:<carol@other.test>"), 250, "2.1.5")
    assert c.code("DATA") == 354
    c.send(b"Subject: spf\r\n\r\nhello\r\n.\r\n")
    queue_id = queue_id_of(c.read_reply())
    c.cmd("QUIT")
    stored = spf_server.body(queue_id)
    headers = [l for l in stored.split("\r\n") if l.startswith("Received-SPF:")]
    assert len(headers) == 1, stored[:2000]  # one per message, not one per recipient
    assert headers[0].startswith("Received-SPF: pass (mx2.example.test: domain of "
                                 "alice@pass.test designates 127.0.0.1 as permitted sender)"), \
        headers
    assert "client-ip=127.0.0.1;" in headers[0] and "identity=mailfrom" in headers[0], headers


def test_an_mx_host_of_the_recipient_domain_is_a_trusted_hop(spf_server):
    hop = session(spf_server, "alice@fail.test", source="127.0.0.3")
    assert_reply(hop.cmd("RCPT TO:<bob@example.test>"), 250, "2.1.5")
    # The same transaction, a domain whose MX it is not: decided per recipient.
    assert_reply(hop.cmd("RCPT TO:<carol@other.test>"), 550, "5.7.23")
    assert hop.code("DATA") == 354
    hop.send(b"Subject: relayed\r\n\r\nhello\r\n.\r\n")
    queue_id = queue_id_of(hop.read_reply())
    hop.cmd("QUIT")
    stored = spf_server.body(queue_id)
    assert "Received-SPF: none (mx2.example.test: 127.0.0.3 is backup2.example.test, an MX " \
           "host of example.test, a trusted hop" in stored, stored[:2000]
    listed = {m["id"]: m for m in spf_server.queued()}
    assert [r["address"] for r in listed[queue_id]["recipients"]] == ["bob@example.test"]
    # The same sender from a client that is no MX host of example.test fails.
    other = session(spf_server, "alice@fail.test", source="127.0.0.1")
    assert_reply(other.cmd("RCPT TO:<bob@example.test>"), 550, "5.7.23", EXPLANATION)
    other.cmd("QUIT")


def test_a_sender_domain_nobody_serves_is_a_temperror_and_defers(spf_server):
    # dnsmasq is authoritative for "test" only and forwards nowhere: it refuses the rest.
    c = session(spf_server, "alice@nowhere.example")
    assert_reply(c.cmd("RCPT TO:<bob@example.test>"), 451, "4.7.24")
    c.cmd("QUIT")


def test_the_null_sender_is_checked_by_its_helo_name(spf_server):
    c = session(spf_server, "", helo="helo-fail.test")
    assert_reply(c.cmd("RCPT TO:<bob@example.test>"), 550, "5.7.23")
    c.cmd("QUIT")


def test_a_recipient_domain_may_choose_its_own_policy(make_server, tmp_path, dns):
    server = configured(make_server, tmp_path, dns,
                        **{'checks.spf.domain."other.test"': {"fail": "defer"}})
    c = session(server, "alice@fail.test")
    assert_reply(c.cmd("RCPT TO:<bob@example.test>"), 550, "5.7.23")
    assert_reply(c.cmd("RCPT TO:<carol@other.test>"), 451, "4.7.1")
    c.cmd("QUIT")
