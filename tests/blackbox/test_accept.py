"""Accepting mail for a backed-up domain into the queue, as a newcomer would try it."""
import subprocess

from conftest import Smtp, queue_id_of, send_message


def test_swaks_message_is_queued_and_listed(server):
    r = subprocess.run(["swaks", "--server", f"127.0.0.1:{server.port}", "--to",
                        "alice@example.test", "--from", "bob@example.org", "--helo",
                        "client.example"], capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "250 2.0.0 Ok: queued as" in r.stdout
    messages = server.queued()
    assert len(messages) == 1
    m = messages[0]
    assert m["sender"] == "bob@example.org"
    assert [r["address"] for r in m["recipients"]] == ["alice@example.test"]
    assert m["recipients"][0]["status"] == "pending"
    assert m["client_ip"] == "127.0.0.1"
    assert m["helo"] == "client.example"


def test_body_is_byte_identical_after_received_header(server):
    body = (b"Subject: dots\r\n\r\n..leading dot was stuffed\r\n.\r\nnot the end above\r\n"
            b"\xc3\xa9 8-bit line\r\nlast line\r\n")
    wire = body.replace(b"\r\n.", b"\r\n..")
    reply = send_message(server.port, "bob@example.org", ["alice@example.test"], wire)
    qid = queue_id_of(reply)
    assert len(qid) == 16
    stored = server.body(qid).encode("utf-8", errors="surrogateescape")
    assert stored.startswith(b"Received: from client.example ([127.0.0.1])\r\n")
    assert f"by mx2.example.test (backstop) with ESMTP id {qid}".encode() in stored
    header_end = stored.index(b"; ") 
    assert stored[stored.index(b"\r\n", header_end) + 2:] == body


def test_null_sender_and_postmaster_accepted(server):
    c = Smtp(server.port)
    c.greet()
    assert c.cmd("MAIL FROM:<>")[0] == 250
    assert c.cmd("RCPT TO:<postmaster>")[0] == 250
    assert c.cmd("RCPT TO:<Postmaster@Example.TEST>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send("Subject: x\r\n\r\nhi\r\n.\r\n")
    assert c.read_reply()[0] == 250
    m = server.queued()[0]
    assert m["sender"] == ""
    assert [r["address"] for r in m["recipients"]] == ["postmaster@example.test",
                                                        "Postmaster@example.test"]


def test_smtputf8_address_needs_smtputf8(server):
    c = Smtp(server.port)
    c.greet()
    assert c.cmd("MAIL FROM:<b\u00f6b@example.org>")[0] == 553
    assert c.cmd("MAIL FROM:<b\u00f6b@example.org> SMTPUTF8 BODY=8BITMIME")[0] == 250
    assert c.cmd("RCPT TO:<j\u00fcrgen@example.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send("Subject: \u00fc\r\n\r\nhi\r\n.\r\n".encode())
    assert c.read_reply()[0] == 250
    m = server.queued()[0]
    assert m["smtputf8"] is True
    assert m["recipients"][0]["address"] == "j\u00fcrgen@example.test"


def test_ehlo_advertises_extensions(server):
    c = Smtp(server.port)
    lines = c.greet()
    keywords = {l[4:].split(" ")[0] for l in lines[1:]}
    assert {"PIPELINING", "SIZE", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8", "CHUNKING",
            "DSN", "ETRN"} <= keywords
    assert "STARTTLS" not in keywords  # no certificate configured
    assert any(l == "250-SIZE 26214400" for l in lines)
