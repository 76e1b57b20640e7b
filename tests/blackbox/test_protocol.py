"""RFC 5321 conversation rules: sequence, syntax, limits, pipelining, BDAT."""
from conftest import Smtp


def test_sequence_errors(server):
    c = Smtp(server.port)
    assert c.read_reply()[0] == 220
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 503
    assert c.cmd("EHLO client.example")[0] == 250
    assert c.cmd("RCPT TO:<user@example.test>")[0] == 503
    assert c.cmd("DATA")[0] == 503
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
    code, lines = c.cmd("MAIL FROM:<a@b.example>")
    assert code == 503 and "5.5.1" in lines[0]
    assert c.cmd("DATA")[0] == 503
    assert c.cmd("RSET")[0] == 250
    assert c.cmd("RCPT TO:<user@example.test>")[0] == 503


def test_enhanced_codes_only_after_ehlo(server):
    c = Smtp(server.port)
    c.read_reply()
    assert c.cmd("HELO client.example")[0] == 250
    code, lines = c.cmd("MAIL FROM:<a@b.example>")
    assert code == 250 and not lines[0].startswith("250 2.")
    c2 = Smtp(server.port)
    c2.greet()
    code, lines = c2.cmd("MAIL FROM:<a@b.example>")
    assert lines[0].startswith("250 2.1.0")


def test_misc_commands(server):
    c = Smtp(server.port)
    c.greet()
    assert c.cmd("NOOP")[0] == 250
    assert c.cmd("VRFY user")[0] == 252
    assert c.cmd("HELP")[0] == 214
    assert c.cmd("EXPN list")[0] == 502
    assert c.cmd("FOO bar")[0] == 500
    assert c.cmd("DATAX")[0] == 500
    code, lines = c.cmd("QUIT")
    assert code == 221
    assert c.closed()


def test_command_line_limits(server):
    c = Smtp(server.port)
    c.greet()
    code, lines = c.cmd("NOOP " + "x" * 600)
    assert code == 500 and "5.5.2" in lines[0]
    # MAIL may use up to 1024 octets for DSN parameters (RFC 3461 section 5).
    code, _ = c.cmd("MAIL FROM:<a@b.example> ENVID=" + "e" * 90 + " RET=HDRS" + " " * 400)
    assert code == 250
    code, _ = c.cmd("RCPT TO:<x@example.test> " + "NOTIFY=NEVER " + " " * 2000)
    assert code == 500
    assert c.cmd("NOOP")[0] == 250  # the long line was discarded as a whole


def test_bare_lf_command_refused(server):
    c = Smtp(server.port)
    c.greet()
    c.send(b"NOOP\n")
    code, lines = c.read_reply()
    assert code == 500 and "CRLF" in lines[0]
    assert c.cmd("NOOP")[0] == 250


def test_error_limit_disconnects(server):
    c = Smtp(server.port)
    c.greet()
    codes = [c.cmd("BOGUS")[0] for _ in range(10)]
    assert codes[:9] == [500] * 9
    code, lines = c.read_reply() if codes[9] == 500 else (codes[9], [])
    assert code == 421
    assert c.closed()


def test_max_recipients(make_server):
    server = make_server(smtp={"max_recipients": 3}).start()
    c = Smtp(server.port)
    c.greet()
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
    for i in range(3):
        assert c.cmd(f"RCPT TO:<u{i}@example.test>")[0] == 250
    code, lines = c.cmd("RCPT TO:<u9@example.test>")
    assert code == 452 and "4.5.3" in lines[0]


def test_size_announced_too_big(make_server):
    server = make_server(smtp={"max_message_size": 10000}).start()
    c = Smtp(server.port)
    c.greet()
    code, lines = c.cmd("MAIL FROM:<a@b.example> SIZE=10001")
    assert code == 552 and "5.3.4" in lines[0]
    assert c.cmd("MAIL FROM:<a@b.example> SIZE=9000")[0] == 250


def test_message_growing_too_big(make_server):
    server = make_server(smtp={"max_message_size": 10000}).start()
    c = Smtp(server.port)
    c.greet()
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
    assert c.cmd("RCPT TO:<u@example.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: big\r\n\r\n" + (b"y" * 70 + b"\r\n") * 300 + b".\r\n")
    code, lines = c.read_reply()
    assert code == 552 and "5.3.4" in lines[0]
    assert c.cmd("NOOP")[0] == 250  # still in sync
    assert server.queued() == []


def test_data_line_too_long(server):
    c = Smtp(server.port)
    c.greet()
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
    assert c.cmd("RCPT TO:<u@example.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: long\r\n\r\n" + b"z" * 1200 + b"\r\n.\r\n")
    code, lines = c.read_reply()
    assert code == 500 and "5.5.6" in lines[0]
    assert server.queued() == []


def test_pipelined_transaction(server):
    c = Smtp(server.port)
    assert c.read_reply()[0] == 220
    c.send(b"EHLO client.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u1@example.test>\r\n"
           b"RCPT TO:<nobody@other.example>\r\nRCPT TO:<u2@example.test>\r\nDATA\r\n")
    codes = [c.read_reply()[0] for _ in range(6)]
    assert codes == [250, 250, 250, 550, 250, 354]
    c.send(b"Subject: p\r\n\r\nbody\r\n.\r\nMAIL FROM:<c@d.example>\r\nRCPT TO:<u3@example.test>\r\n"
           b"DATA\r\n")
    assert [c.read_reply()[0] for _ in range(4)] == [250, 250, 250, 354]
    c.send(b"second\r\n.\r\nQUIT\r\n")
    assert c.read_reply()[0] == 250
    assert c.read_reply()[0] == 221
    messages = server.queued()
    assert [[r["address"] for r in m["recipients"]] for m in messages] == [
        ["u1@example.test", "u2@example.test"], ["u3@example.test"]]


def test_bdat(server):
    c = Smtp(server.port)
    c.greet()
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
    assert c.cmd("RCPT TO:<u@example.test>")[0] == 250
    part1 = b"Subject: chunks\r\n\r\nfirst "
    part2 = b"second\r\n.dot line kept\r\n"
    c.send(b"BDAT %d\r\n" % len(part1) + part1)
    code, lines = c.read_reply()
    assert code == 250 and f"{len(part1)} octets" in lines[0]
    c.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
    code, lines = c.read_reply()
    assert code == 250 and "queued as" in lines[0]
    qid = lines[0].rsplit(" ", 1)[-1]
    assert server.body(qid).endswith("Subject: chunks\r\n\r\nfirst second\r\n.dot line kept\r\n")


def test_bdat_without_transaction_consumes_chunk(server):
    c = Smtp(server.port)
    c.greet()
    c.send(b"BDAT 10\r\nMAIL FROM:")
    assert c.read_reply()[0] == 503
    assert c.cmd("NOOP")[0] == 250
