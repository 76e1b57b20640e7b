"""Delivery to the primary exactly as RFC 5321 says, with real peers: dnsmasq serving the
.test zone, smtp-sink playing the primary, the MX hosts and the sender's MX, each on its own
loopback address. Short retry intervals replace minutes of waiting."""
import re
import time

import pytest

from conftest import Smtp, free_port, queue_id_of, send_message, wait_until
from peers import Dns, Sink

PRIMARY, SENDER_MX = "127.0.0.3", "127.0.0.4"
MX1, MX_EQUAL, MX_WORSE, LOOP_BACKUP = "127.0.0.5", "127.0.0.6", "127.0.0.7", "127.0.0.8"
IMPLICIT, UNRESOLVABLE_A = "127.0.0.9", "127.0.0.10"

RECORDS = [
    "--mx-host=sender.test,mx.sender.test,10", f"--host-record=mx.sender.test,{SENDER_MX}",
    "--host-record=mx2.example.test,127.0.0.1",
    "--mx-host=mx.test,mx1.mx.test,10", f"--host-record=mx1.mx.test,{MX1}",
    "--mx-host=mx.test,mx2.example.test,20",
    "--mx-host=mx.test,other.mx.test,20", f"--host-record=other.mx.test,{MX_EQUAL}",
    "--mx-host=mx.test,mx3.mx.test,30", f"--host-record=mx3.mx.test,{MX_WORSE}",
    "--mx-host=loop.test,mx2.example.test,10",
    "--mx-host=loop.test,backup.loop.test,20", f"--host-record=backup.loop.test,{LOOP_BACKUP}",
    "--mx-host=nullmx.test,.,0",
    f"--host-record=implicit.test,{IMPLICIT}",
    "--mx-host=unresolvable.test,nowhere.unresolvable.test,10",
    f"--host-record=unresolvable.test,{UNRESOLVABLE_A}",
]


@pytest.fixture
def world(tmp_path, make_server):
    dns = Dns(tmp_path, RECORDS)
    port = free_port()
    sinks = {ip: Sink(tmp_path, ip, port) for ip in
             (PRIMARY, SENDER_MX, MX1, MX_EQUAL, MX_WORSE, LOOP_BACKUP, IMPLICIT, UNRESOLVABLE_A)}

    class World:
        pass

    w = World()
    w.dns, w.sinks, w.port = dns, sinks, port

    def server(delivery=None, smtp=None, primary_extra=None):
        domains = [{"name": "example.test", "primary": [f"{PRIMARY}:{port}"]}] + [
            {"name": d} for d in ("mx.test", "loop.test", "nullmx.test", "implicit.test",
                                  "unresolvable.test")]
        d = {"retry_initial": "1h", "retry_max": "1h", "mx_port": port}
        d.update(delivery or {})
        s = {"etrn_clients": ["127.0.0.1/32"]}
        s.update(smtp or {})
        # Delivery of what was accepted: no callouts, so a refusing primary is met at
        # delivery time, as for mail accepted while the primary could not be asked.
        return make_server(dns={"servers": [f"127.0.0.1:{dns.port}"], "timeout": 500},
                           delivery=d, smtp=s, domains=domains,
                           verify={"callout": False, "sender_domain": False}).start()

    w.server = server
    yield w
    for s in sinks.values():
        s.remove()
    dns.stop()



def counters(server):
    return server.stats()["counters"]


def lf(data):
    return data.replace(b"\r\n", b"\n")


def test_primary_up_gets_message_byte_identical(world):
    world.sinks[PRIMARY].start()
    server = world.server()
    body = b"Subject: hello\r\n\r\n.a line with a dot\r\n..two dots\r\nend\r\n"
    qid = queue_id_of(send_message(server.port, "bob@sender.test", ["alice@example.test"],
                                   body.replace(b"\r\n.", b"\r\n..")))
    got = world.sinks[PRIMARY].wait_messages(1)
    assert len(got) == 1
    fields, message = got[0]
    assert fields["X-Mail-Args"][0].startswith("<bob@sender.test>")
    assert fields["X-Rcpt-Args"] == ["<alice@example.test>"]
    assert message.startswith(b"Received: from client.example ([127.0.0.1])\n")
    assert f"with ESMTP id {qid}".encode() in message
    assert message.endswith(lf(body))  # smtp-sink stores LF line ends
    assert wait_until(lambda: server.queued() == [])
    assert "status=sent" in server.log_text()


def test_primary_down_then_etrn(world):
    server = world.server()
    qid = queue_id_of(send_message(server.port, "bob@sender.test", ["alice@example.test"],
                                   b"Subject: wait\r\n\r\nfor the primary\r\n"))
    assert wait_until(lambda: server.queued()[0]["recipients"][0]["attempts"] >= 1)
    r = server.queued()[0]["recipients"][0]
    assert "Connection refused" in r["last_error"] and r["next_attempt"] > time.time() + 600
    world.sinks[PRIMARY].start()
    c = Smtp(server.port)
    c.greet("primary.example.test")
    code, lines = c.cmd("ETRN example.test")
    assert code == 253 and "1 pending" in lines[0]
    assert world.sinks[PRIMARY].wait_messages(1)
    assert wait_until(lambda: server.queued() == [])
    assert qid.encode() in world.sinks[PRIMARY].messages()[0][1]


def test_primary_down_then_queue_flush(world):
    server = world.server()
    send_message(server.port, "bob@sender.test", ["alice@example.test"], b"Subject: f\r\n\r\nx\r\n")
    assert wait_until(lambda: server.queued()[0]["recipients"][0]["attempts"] >= 1)
    world.sinks[PRIMARY].start()
    out = server.cli("queue", "flush", "example.test").stdout
    assert "1 waiting" in out
    assert world.sinks[PRIMARY].wait_messages(1)
    assert wait_until(lambda: server.queued() == [])


def test_etrn_refused_for_other_clients_and_unknown_nodes(world):
    server = world.server(smtp={"etrn_clients": ["127.0.0.2/32"]})
    c = Smtp(server.port)
    c.greet()
    assert c.cmd("ETRN example.test")[0] == 459
    server2 = world.server()
    c2 = Smtp(server2.port)
    c2.greet()
    assert c2.cmd("ETRN other.example")[0] == 458
    assert c2.cmd("ETRN example.test")[0] == 251  # nothing waiting


def test_temporary_failure_then_accepted(world):
    sink = world.sinks[PRIMARY]
    sink.start("-r", "RCPT")
    server = world.server()
    send_message(server.port, "bob@sender.test", ["alice@example.test"], b"Subject: t\r\n\r\nx\r\n")
    assert wait_until(lambda: server.queued()[0]["recipients"][0]["attempts"] >= 1)
    assert server.queued()[0]["recipients"][0]["last_error"].startswith("450")
    sink.stop()
    sink.start()
    server.cli("queue", "flush")
    assert sink.wait_messages(1)
    assert wait_until(lambda: server.queued() == [])


def dsn_of(sink, count=1):
    got = sink.wait_messages(count)
    assert len(got) >= count, "no notice arrived"
    return got


def test_permanent_failure_bounces_rfc3464(world):
    world.sinks[PRIMARY].start("-f", "RCPT")
    world.sinks[SENDER_MX].start()
    server = world.server()
    send_message(server.port, "bob@sender.test", ["alice@example.test"],
                 b"Subject: doomed\r\nMessage-ID: <doomed@sender.test>\r\n\r\nx\r\n")
    fields, notice = dsn_of(world.sinks[SENDER_MX])[0]
    assert fields["X-Mail-Args"][0].startswith("<>")
    assert fields["X-Rcpt-Args"] == ["<bob@sender.test> NOTIFY=NEVER"]  # no DSN of a DSN
    text = notice.decode(errors="replace")
    assert "Content-Type: multipart/report; report-type=delivery-status" in text
    assert "Content-Type: message/delivery-status" in text
    assert "Final-Recipient: rfc822; alice@example.test" in text
    assert "Action: failed" in text and re.search(r"Status: 5\.\d+\.\d+", text)
    assert "Diagnostic-Code: smtp; 500 5.3.0" in text
    assert "Message-ID: <doomed@sender.test>" in text  # the original comes back
    assert wait_until(lambda: len(server.queued()) == 0)


def test_null_sender_never_gets_a_notice(world):
    world.sinks[PRIMARY].start("-f", "RCPT")
    world.sinks[SENDER_MX].start()
    server = world.server()
    send_message(server.port, "", ["alice@example.test"], b"Subject: n\r\n\r\nx\r\n")
    # The decision itself, counted: the failed recipient is suppressed, not reported. A
    # notice would have been counted in bounces_sent when it was queued.
    assert wait_until(lambda: counters(server)["bounces_suppressed"] == 1), counters(server)
    assert counters(server)["bounces_sent"] == 0, counters(server)
    assert server.queued() == []
    assert world.sinks[SENDER_MX].messages() == []
    assert "notice" not in server.log_text()


def test_delay_notice(world):
    world.sinks[SENDER_MX].start()
    server = world.server(delivery={"retry_initial": "1s", "retry_max": "1s",
                                    "delay_warning": "2s"})
    send_message(server.port, "bob@sender.test", ["alice@example.test"], b"Subject: d\r\n\r\nx\r\n")
    fields, notice = dsn_of(world.sinks[SENDER_MX])[0]
    text = notice.decode(errors="replace")
    assert "Action: delayed" in text and "Will-Retry-Until:" in text
    assert len(server.queued()) == 1  # still waiting for the primary
    # Two more attempts after the warning, each one past delay_warning: a server that warned
    # per attempt would have queued another notice by then.
    deferred = counters(server)["recipients_deferred"]
    assert wait_until(lambda: counters(server)["recipients_deferred"] >= deferred + 2)
    assert counters(server)["delay_notices"] == 1, counters(server)  # one warning per message
    assert len(world.sinks[SENDER_MX].messages()) == 1


def test_best_mx_is_this_host_is_a_loop_not_a_delivery(world):
    # This host is loop.test's best MX and no primary is configured: nowhere to deliver, so
    # the recipient is deferred at RCPT (test_loops.py has the details) and the less
    # preferred backup.loop.test is never a next hop.
    world.sinks[LOOP_BACKUP].start()
    server = world.server()
    c = Smtp(server.port)
    c.greet()
    assert c.code("MAIL FROM:<bob@sender.test>") == 250
    code, lines = c.cmd("RCPT TO:<user@loop.test>")
    assert code == 451 and lines[-1].startswith("451 4.4.4 ") and "mail loop" in lines[-1], lines
    c.cmd("QUIT")
    assert server.queued() == []
    assert counters(server)["messages_accepted"] == 0, counters(server)
    assert world.sinks[LOOP_BACKUP].messages() == []


def test_only_more_preferred_mx_hosts_receive(world):
    world.sinks[MX_EQUAL].start()
    world.sinks[MX_WORSE].start()
    server = world.server()
    send_message(server.port, "bob@sender.test", ["user@mx.test"], b"Subject: m\r\n\r\nx\r\n")
    assert wait_until(lambda: server.queued()[0]["recipients"][0]["attempts"] >= 1)
    assert "mx1.mx.test" in server.queued()[0]["recipients"][0]["last_error"]
    assert world.sinks[MX_EQUAL].messages() == [] and world.sinks[MX_WORSE].messages() == []
    world.sinks[MX1].start()
    server.cli("queue", "flush", "mx.test")
    assert world.sinks[MX1].wait_messages(1)
    assert world.sinks[MX_EQUAL].messages() == [] and world.sinks[MX_WORSE].messages() == []


def test_null_mx_bounces(world):
    world.sinks[SENDER_MX].start()
    server = world.server()
    send_message(server.port, "bob@sender.test", ["user@nullmx.test"], b"Subject: 0\r\n\r\nx\r\n")
    _, notice = dsn_of(world.sinks[SENDER_MX])[0]
    assert b"null MX" in notice and b"Action: failed" in notice
    assert wait_until(lambda: server.queued() == [])


def test_implicit_mx_when_no_mx_records(world):
    world.sinks[IMPLICIT].start()
    server = world.server()
    send_message(server.port, "bob@sender.test", ["user@implicit.test"], b"Subject: i\r\n\r\nx\r\n")
    assert world.sinks[IMPLICIT].wait_messages(1)
    assert wait_until(lambda: server.queued() == [])


def test_unresolvable_mx_never_falls_back_to_a_record(world):
    world.sinks[UNRESOLVABLE_A].start()
    world.sinks[SENDER_MX].start()
    server = world.server()
    send_message(server.port, "bob@sender.test", ["user@unresolvable.test"],
                 b"Subject: u\r\n\r\nx\r\n")
    _, notice = dsn_of(world.sinks[SENDER_MX])[0]
    assert b"has an address" in notice
    assert world.sinks[UNRESOLVABLE_A].messages() == []


def test_smtputf8_message_to_primary_without_smtputf8_bounces(world):
    world.sinks[PRIMARY].start()
    world.sinks[SENDER_MX].start()
    server = world.server()
    c = Smtp(server.port)
    c.greet()
    assert c.cmd("MAIL FROM:<bob@sender.test> SMTPUTF8")[0] == 250
    assert c.cmd("RCPT TO:<j\u00fcrgen@example.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send("Subject: \u00fc\r\n\r\nx\r\n.\r\n".encode())
    assert c.read_reply()[0] == 250
    _, notice = dsn_of(world.sinks[SENDER_MX])[0]
    assert b"5.6.7" in notice and b"SMTPUTF8" in notice
    assert world.sinks[PRIMARY].messages() == []


def test_queued_mail_is_delivered_after_restart(world):
    server = world.server()
    send_message(server.port, "bob@sender.test", ["alice@example.test"], b"Subject: r\r\n\r\nx\r\n")
    assert wait_until(lambda: server.queued()[0]["recipients"][0]["attempts"] >= 1)
    server.kill9()
    world.sinks[PRIMARY].start()
    server.start()
    server.cli("queue", "flush")
    assert world.sinks[PRIMARY].wait_messages(1)
    assert wait_until(lambda: server.queued() == [])
