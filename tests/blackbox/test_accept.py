"""Accepting mail for a backed-up domain into the queue: swaks happy path, what the queue
records, the Received header, byte-identical bodies, null sender, postmaster, 8BITMIME and
SMTPUTF8."""
import re
import socket
import time

import pytest

from conftest import (HOSTNAME, Smtp, dot_stuff, queue_id_of, send_message,
                      split_received, swaks, swaks_queue_id)


def test_banner_is_exact(server):
    c = Smtp(server.port)
    code, lines = c.read_reply()
    assert lines == ["220 mx2.example.test ESMTP backstop"]


def test_ehlo_advertises_extensions(make_server):
    server = make_server(smtp={"max_message_size": 1234567}).start()
    c = Smtp(server.port)
    lines = c.greet()
    assert lines[0].startswith(f"250-{HOSTNAME}")
    keywords = {l[4:].split(" ")[0].upper(): l[4:] for l in lines[1:]}
    for k in ("PIPELINING", "SIZE", "ETRN", "8BITMIME", "ENHANCEDSTATUSCODES", "SMTPUTF8",
              "CHUNKING", "DSN"):
        assert k in keywords, lines
    assert keywords["SIZE"] == "SIZE 1234567"  # the configured max, not a default
    assert "STARTTLS" not in keywords  # no certificate configured
    assert all(l.startswith("250-") for l in lines[:-1]) and lines[-1].startswith("250 ")


def test_helo_is_answered_with_one_line(server):
    c = Smtp(server.port)
    c.read_reply()
    code, lines = c.cmd("HELO client.example")
    assert code == 250 and len(lines) == 1 and HOSTNAME in lines[0]


def test_swaks_message_is_queued_and_listed(server):
    before = int(time.time())
    r = swaks(server.port, "--to", "alice@example.test", "--from", "bob@example.org",
              "--header", "Subject: swaks happy path", "--body", "hello from swaks")
    after = int(time.time())
    assert r.returncode == 0, r.stdout + r.stderr
    qid = swaks_queue_id(r)
    messages = server.queued()
    assert [m["id"] for m in messages] == [qid]
    m = messages[0]
    assert m["sender"] == "bob@example.org"
    assert [x["address"] for x in m["recipients"]] == ["alice@example.test"]
    assert m["status"] == "active"
    assert m["client_ip"] == "127.0.0.1"
    assert m["helo"] == "client.example"
    assert not m["tls"]
    assert m["smtputf8"] is False
    assert m["envid"] == ""
    assert before - 2 <= m["arrival"] <= after + 2
    rcpt = m["recipients"][0]
    for key in ("status", "attempts", "next_attempt", "last_error"):
        assert key in rcpt
    assert rcpt["status"] == "pending", rcpt  # the primary is a closed port: still waiting
    stored = server.raw_message(qid)
    # "size" is the stored message with our Received header, as mailq counts it
    assert m["size"] == len(stored), (m["size"], len(stored))
    assert b"Subject: swaks happy path\r\n" in stored and b"hello from swaks\r\n" in stored


def test_swaks_several_recipients_make_one_message(server):
    r = swaks(server.port, "--to", "a@example.test,b@EXAMPLE.test,c@example.test.",
              "--from", "bob@example.org")
    assert r.returncode == 0, r.stdout + r.stderr
    messages = server.queued()
    assert len(messages) == 1
    addrs = [x["address"] for x in messages[0]["recipients"]]
    assert [a.split("@")[0] for a in addrs] == ["a", "b", "c"]
    assert all(a.split("@")[1].rstrip(".").lower() == "example.test" for a in addrs)


def test_swaks_dot_stuffing_round_trip(server, tmp_path):
    # swaks does the dot-stuffing itself; what is stored must be what it meant to send.
    body = (b"Subject: dots via swaks\r\n\r\n.\r\n..\r\n.leading\r\n...three\r\n"
            b"middle . dot\r\nend\r\n")
    f = tmp_path / "msg.eml"
    f.write_bytes(body[:-2])  # swaks ends the data with CRLF.CRLF itself
    r = swaks(server.port, "--to", "alice@example.test", "--data", str(f))
    assert r.returncode == 0, r.stdout + r.stderr
    stored = server.raw_message(swaks_queue_id(r))
    assert split_received(stored)[1] == body


def test_queue_show_json(server):
    qid = queue_id_of(send_message(server.port, "bob@example.org", ["alice@example.test"],
                                   b"Subject: show me\r\n\r\nline\r\n"))
    answer = server.show(qid)
    assert answer["ok"] is True
    assert answer["message"]["id"] == qid
    assert answer["message"]["sender"] == "bob@example.org"
    assert answer["body"].endswith("\r\nSubject: show me\r\n\r\nline\r\n")


def test_received_header(server):
    qid = queue_id_of(send_message(server.port, "bob@example.org", ["alice@example.test"],
                                   b"Subject: r\r\n\r\nx\r\n", ehlo="helo.client.example"))
    header, rest = split_received(server.raw_message(qid))
    assert header.startswith(b"Received: from helo.client.example ([127.0.0.1])")
    unfolded = re.sub(rb"\r\n[ \t]+", b" ", header)
    assert f"by {HOSTNAME} (backstop) with ESMTP id {qid}".encode() in unfolded
    # RFC 5322 3.6.7: the header ends with "; date-time".
    assert re.search(rb"; \w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d [+-]\d{4}\r\n$", unfolded)
    assert rest == b"Subject: r\r\n\r\nx\r\n"


def test_received_header_does_not_trust_helo_text(server):
    # A HELO argument is the client's claim; it must not be able to break the header.
    c = Smtp(server.port)
    c.greet("evil.example\tby mx2.example.test")
    c.start_mail(ehlo=False)
    c.send(b"Subject: h\r\n\r\nx\r\n.\r\n")
    qid = queue_id_of(c.read_reply())
    header, rest = split_received(server.raw_message(qid))
    assert b"\n" not in header.replace(b"\r\n", b"")  # no line break smuggled into it
    assert rest == b"Subject: h\r\n\r\nx\r\n"


BODIES = {
    "dots": b"Subject: dots\r\n\r\n.\r\n..\r\n.leading dot\r\n. space\r\n.\ttab\r\n"
            b"...\r\nnot.a.dot\r\nlast\r\n",
    "empty-lines": b"Subject: e\r\n\r\n\r\n\r\n\r\nafter blanks\r\n\r\n",
    "trailing-space": b"Subject: t\r\n\r\ntrailing   \r\n\ttab indented\r\n  \r\n",
    "dot-then-crlf-inside": b"Subject: d\r\n\r\na\r\n.\r\nb\r\n.\r\n",
    "long-998": b"Subject: l\r\n\r\n" + b"L" * 998 + b"\r\n",
    "headers-only": b"Subject: only headers\r\nX-Other: 1\r\n",
    "no-headers": b"just a body line, no header block\r\n",
    "empty": b"",
    "first-line-dot": b".first line starts with a dot\r\nsecond\r\n",
    "first-line-lone-dot": b".\r\nafter a lone dot line\r\n",
}


@pytest.mark.parametrize("name", list(BODIES))
def test_body_is_byte_identical(server, name):
    body = BODIES[name]
    qid = queue_id_of(send_message(server.port, "bob@example.org", ["alice@example.test"],
                                   dot_stuff(body)))
    assert split_received(server.raw_message(qid))[1] == body


def test_body_sent_one_byte_at_a_time(server):
    # The DATA reader gets CRLF.CRLF and dot-stuffing split over many reads.
    body = b"Subject: slow\r\n\r\n.dot\r\n..\r\nx\r\n"
    c = Smtp(server.port)
    c.start_mail()
    for b in dot_stuff(body) + b".\r\n":
        c.send(bytes([b]))
        time.sleep(0.002)
    qid = queue_id_of(c.read_reply())
    assert split_received(server.raw_message(qid))[1] == body


def test_eight_bit_body_with_8bitmime(server):
    body = (b"Subject: 8bit\r\nContent-Type: text/plain; charset=iso-8859-1\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n\r\n\xe9t\xe9 \xff\xfe\x80 caf\xc3\xa9\r\n")
    qid = queue_id_of(send_message(server.port, "bob@example.org", ["alice@example.test"],
                                   body, params=" BODY=8BITMIME"))
    # Read the spool directly (server stopped): the bytes on disk are what must be identical.
    # test_cli.py checks that the running server's view shows the same bytes.
    server.stop()
    assert split_received(server.raw_message(qid))[1] == body


def test_null_sender_and_postmaster(server):
    c = Smtp(server.port)
    c.greet()
    code, lines = c.cmd("MAIL FROM:<>")
    assert code == 250 and lines[0].startswith("250 2.1.0")
    for rcpt in ("postmaster", "Postmaster", "POSTMASTER", "postmaster@example.test"):
        code, lines = c.cmd(f"RCPT TO:<{rcpt}>")
        assert code == 250 and lines[0].startswith("250 2.1.5"), (rcpt, lines)
    assert c.code("DATA") == 354
    c.send(b"Subject: bounce\r\n\r\nx\r\n.\r\n")
    qid = queue_id_of(c.read_reply())
    m = server.show(qid)["message"]
    assert m["sender"] == ""
    addrs = [r["address"] for r in m["recipients"]]
    assert len(addrs) >= 1
    # <postmaster> without a domain goes to a postmaster of a backed-up domain, nowhere else.
    assert all(a.rsplit("@", 1)[-1].lower() == "example.test" for a in addrs), addrs


def test_smtputf8_addresses(server):
    c = Smtp(server.port)
    c.greet()
    # RFC 6531 3.4: a non-ASCII address without the SMTPUTF8 parameter is refused.
    code, lines = c.cmd("MAIL FROM:<b\u00f6b@example.org>".encode())
    assert code == 553, lines
    assert c.code("MAIL FROM:<b\u00f6b@example.org> SMTPUTF8 BODY=8BITMIME".encode()) == 250
    code, lines = c.cmd("RCPT TO:<j\u00fcrgen@example.test>".encode())
    assert code == 250, lines
    assert c.code("RCPT TO:<\u7528\u6237@example.test>".encode()) == 250
    assert c.code("DATA") == 354
    body = "Subject: gr\u00fc\u00dfe\r\nFrom: b\u00f6b@example.org\r\n\r\n\u00fc\r\n".encode()
    c.send(body + b".\r\n")
    qid = queue_id_of(c.read_reply())
    m = server.show(qid)["message"]
    assert m["smtputf8"] is True
    assert m["sender"] == "b\u00f6b@example.org"
    assert [r["address"] for r in m["recipients"]] == ["j\u00fcrgen@example.test",
                                                       "\u7528\u6237@example.test"]
    assert split_received(server.raw_message(qid))[1] == body


def test_invalid_utf8_address_refused_even_with_smtputf8(server):
    c = Smtp(server.port)
    c.greet()
    assert c.code("MAIL FROM:<a@b.example> SMTPUTF8") == 250
    code, lines = c.cmd(b"RCPT TO:<j\xfcrgen@example.test>")  # Latin-1, not UTF-8
    assert code == 501 and lines[0].startswith("501 5.1.3"), lines  # RFC 6531 3.3: UTF-8
    assert c.code("NOOP") == 250


def test_queue_ids_are_unique_and_hex(server):
    ids = [queue_id_of(send_message(server.port, "a@b.example", ["u@example.test"],
                                    b"Subject: %d\r\n\r\nx\r\n" % i)) for i in range(15)]
    assert len(set(ids)) == 15
    assert all(re.fullmatch(r"[0-9A-Fa-f]{16}", i) for i in ids)
    assert server.queue_ids() == sorted(ids)


def test_two_transactions_in_one_session(server):
    c = Smtp(server.port)
    c.start_mail(recipients=["one@example.test"])
    c.send(b"Subject: 1\r\n\r\none\r\n.\r\n")
    first = queue_id_of(c.read_reply())
    c.start_mail(recipients=["two@example.test"], ehlo=False)
    c.send(b"Subject: 2\r\n\r\ntwo\r\n.\r\n")
    second = queue_id_of(c.read_reply())
    assert first != second
    got = {m["id"]: [r["address"] for r in m["recipients"]] for m in server.queued()}
    assert got == {first: ["one@example.test"], second: ["two@example.test"]}
    assert server.body(second).endswith("Subject: 2\r\n\r\ntwo\r\n")


def test_dsn_parameters_are_recorded(server):
    c = Smtp(server.port)
    c.greet()
    assert c.code("MAIL FROM:<a@b.example> RET=HDRS ENVID=abc+2Bdef") == 250
    assert c.code("RCPT TO:<u@example.test> NOTIFY=SUCCESS,FAILURE "
                  "ORCPT=rfc822;U+40example.test") == 250
    assert c.code("RCPT TO:<v@example.test> NOTIFY=NEVER") == 250
    assert c.code("RCPT TO:<w@example.test>") == 250
    assert c.code("DATA") == 354
    c.send(b"Subject: dsn\r\n\r\nx\r\n.\r\n")
    qid = queue_id_of(c.read_reply())
    m = server.show(qid)["message"]
    assert m["envid"] == "abc+def"  # xtext-decoded (RFC 3461 4)
    assert m["ret"] == "HDRS"
    got = [(r["address"], r["notify"], r["orcpt"]) for r in m["recipients"]]
    # ORCPT is xtext-decoded (RFC 3461 4.2: the DSN carries the decoded original address)
    assert got == [("u@example.test", ["SUCCESS", "FAILURE"], "rfc822;U@example.test"),
                   ("v@example.test", ["NEVER"], ""),
                   ("w@example.test", [], "")], got
    server.stop()  # the spool itself, not the running server's memory, holds them
    m = server.show(qid)["message"]
    assert m["ret"] == "HDRS"
    assert [(r["notify"], r["orcpt"]) for r in m["recipients"]] == [
        (["SUCCESS", "FAILURE"], "rfc822;U@example.test"), (["NEVER"], ""), ([], "")]


def test_no_dsn_parameters_recorded_as_unset(server):
    qid = queue_id_of(send_message(server.port, "a@b.example", ["u@example.test"],
                                   b"Subject: plain\r\n\r\nx\r\n"))
    m = server.show(qid)["message"]
    assert (m["ret"], m["envid"]) == ("", "")
    assert (m["recipients"][0]["notify"], m["recipients"][0]["orcpt"]) == ([], "")


def ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not ipv6_loopback(), reason="machine cannot: bind ::1 (no IPv6 loopback address)")
def test_ipv6_loopback_listener(make_server, free_port):
    port = free_port()
    six = free_port("::1")
    server = make_server(port=port, smtp={"listen": [f"127.0.0.1:{port}", f"[::1]:{six}"]})
    server.start()
    c = Smtp(six, host="::1")
    c.start_mail()
    c.send(b"Subject: v6\r\n\r\nx\r\n.\r\n")
    qid = queue_id_of(c.read_reply())
    m = server.show(qid)["message"]
    assert m["client_ip"] == "::1"
    c4 = Smtp(server.port)
    assert c4.read_reply()[0] == 220
