"""Notices about mail that waited: the bounce of a message that expired in the queue says
Status 5.4.7 (RFC 3463 X.4.7, delivery time expired) and carries the last error, as a
Diagnostic-Code when it was an SMTP reply; a delay notice gives the last temporary reply's
status, or 4.4.7 when there was no reply. Real peers: dnsmasq for the sender's MX, smtp-sink
as the sender's MX and as a primary that defers every RCPT (450 4.3.0)."""
import re

import pytest

from conftest import free_port, send_message, wait_until as wait_for
from peers import Dns, Sink

PRIMARY, SENDER_MX = "127.0.0.3", "127.0.0.4"
RECORDS = ["--mx-host=sender.test,mx.sender.test,10", f"--host-record=mx.sender.test,{SENDER_MX}",
           "--host-record=mx2.example.test,127.0.0.1"]
SINK_DEFERRAL = "450 4.3.0 Error: command failed"  # smtp-sink -r RCPT


@pytest.fixture
def rig(tmp_path, make_server):
    dns = Dns(tmp_path, RECORDS)
    port = free_port()
    primary, sender_mx = Sink(tmp_path, PRIMARY, port), Sink(tmp_path, SENDER_MX, port)

    def server(**delivery):
        d = {"retry_initial": "1s", "retry_max": "1s", "mx_port": port}
        d.update(delivery)
        return make_server(dns={"servers": [f"127.0.0.1:{dns.port}"], "timeout": 500},
                           delivery=d,
                           domains=[{"name": "example.test", "primary": [f"{PRIMARY}:{port}"]}],
                           verify={"callout": False, "sender_domain": False}).start()

    yield server, primary, sender_mx
    primary.remove()
    sender_mx.remove()
    dns.stop()



def wait_until(predicate, timeout=30):
    return wait_for(predicate, timeout)



def notice_text(sender_mx):
    got = sender_mx.wait_messages(1, timeout=30)
    assert got, "no notice reached the sender's MX"
    return got[0][1].decode(errors="replace")


def status_fields(text):
    """The per-recipient group of the message/delivery-status part, unfolded."""
    part = text.split("Content-Type: message/delivery-status", 1)[1]
    group = part.split("Final-Recipient:", 1)[1].split("\n\n", 1)[0].split("\r\n\r\n", 1)[0]
    fields = {}
    for line in re.sub(r"\r?\n[ \t]", " ", "Final-Recipient:" + group).splitlines():
        key, _, value = line.partition(": ")
        fields[key] = value
    return fields


def send_and_wait_for_attempt(server):
    send_message(server.port, "bob@sender.test", ["alice@example.test"],
                 b"Subject: waits\r\nMessage-ID: <waits@sender.test>\r\n\r\nx\r\n")
    assert wait_until(lambda: server.queued() and
                      server.queued()[0]["recipients"][0]["attempts"] >= 1)


def test_expired_message_bounces_with_547_and_the_last_reply(rig):
    make, primary, sender_mx = rig
    primary.start("-r", "RCPT")
    sender_mx.start()
    server = make(max_queue_lifetime="3s", delay_warning="0")
    send_and_wait_for_attempt(server)
    text = notice_text(sender_mx)
    fields = status_fields(text)
    assert fields["Final-Recipient"] == "rfc822; alice@example.test"
    assert fields["Action"] == "failed"
    assert fields["Status"] == "5.4.7", text
    assert fields["Diagnostic-Code"] == f"smtp; {SINK_DEFERRAL}", text
    assert fields["Remote-MTA"].startswith("dns; "), text
    assert (f"<alice@example.test>: message expired in the queue; last error: {SINK_DEFERRAL}"
            in text), text
    assert "Message-ID: <waits@sender.test>" in text  # the original comes back
    assert wait_until(lambda: server.queued() == [])


def test_expired_after_connection_failures_names_the_last_error(rig):
    make, primary, sender_mx = rig  # the primary never starts: connection refused
    sender_mx.start()
    server = make(max_queue_lifetime="3s", delay_warning="0")
    send_and_wait_for_attempt(server)
    last_error = server.queued()[0]["recipients"][0]["last_error"]
    assert last_error and not re.match(r"\d{3}", last_error)
    text = notice_text(sender_mx)
    fields = status_fields(text)
    assert fields["Status"] == "5.4.7", text
    assert "Diagnostic-Code" not in fields, text  # no SMTP reply to quote
    assert "message expired in the queue; last error: " in text
    assert "refused" in text.split("Content-Type: message/delivery-status")[0], text


def test_delay_notice_gives_the_last_temporary_reply(rig):
    make, primary, sender_mx = rig
    primary.start("-r", "RCPT")
    sender_mx.start()
    server = make(delay_warning="1s", max_queue_lifetime="1h")
    send_and_wait_for_attempt(server)
    text = notice_text(sender_mx)
    fields = status_fields(text)
    assert fields["Action"] == "delayed"
    assert fields["Status"] == "4.3.0", text
    assert fields["Diagnostic-Code"] == f"smtp; {SINK_DEFERRAL}", text
    assert len(server.queued()) == 1  # still waiting for the primary


def test_delay_notice_without_any_reply_says_447(rig):
    make, primary, sender_mx = rig
    sender_mx.start()
    server = make(delay_warning="1s", max_queue_lifetime="1h")
    send_and_wait_for_attempt(server)
    text = notice_text(sender_mx)
    fields = status_fields(text)
    assert fields["Action"] == "delayed"
    assert fields["Status"] == "4.4.7", text
    assert "Diagnostic-Code" not in fields, text
