"""RFC 5321 conversation rules: command sequence, enhanced codes, line limits, bare LF,
max_errors, max_recipients, SIZE, pipelining, the small commands and BDAT (RFC 3030)."""
import pytest

from conftest import ENHANCED_RE, Smtp, queue_id_of, split_received


def test_sequence_errors(server):
    c = Smtp(server.port)
    assert c.read_reply()[0] == 220
    assert c.code("MAIL FROM:<a@b.example>") == 503  # before HELO/EHLO
    assert c.code("RCPT TO:<user@example.test>") == 503
    assert c.code("EHLO client.example") == 250
    code, lines = c.cmd("RCPT TO:<user@example.test>")  # before MAIL
    assert code == 503 and lines[0].startswith("503 5.5.1"), lines
    code, lines = c.cmd("DATA")  # before MAIL
    assert code == 503 and lines[0].startswith("503 5.5.1"), lines
    assert c.code("MAIL FROM:<a@b.example>") == 250
    code, lines = c.cmd("MAIL FROM:<c@d.example>")  # nested MAIL
    assert code == 503 and lines[0].startswith("503 5.5.1"), lines
    code, lines = c.cmd("DATA")  # before any accepted RCPT
    assert code == 503 and lines[0].startswith("503 5.5.1"), lines
    assert c.code("RCPT TO:<user@example.test>") == 250
    assert c.code("DATA") == 354
    c.send(b"Subject: seq\r\n\r\nx\r\n.\r\n")
    qid = queue_id_of(c.read_reply())
    # the nested MAIL did not replace the sender
    assert server.show(qid)["message"]["sender"] == "a@b.example"


def test_ehlo_resets_the_transaction(server):
    c = Smtp(server.port)
    c.read_reply()
    assert c.code("EHLO client.example") == 250
    assert c.code("MAIL FROM:<a@b.example>") == 250
    assert c.code("RCPT TO:<u@example.test>") == 250
    # RFC 5321 4.1.4: EHLO in the middle of a transaction resets it.
    assert c.code("EHLO client.example") == 250
    code, lines = c.cmd("DATA")
    assert code == 503 and lines[0].startswith("503 5.5.1"), lines
    assert c.code("MAIL FROM:<a@b.example>") == 250  # not nested


def test_enhanced_codes_only_after_ehlo(server):
    c = Smtp(server.port)
    c.read_reply()
    assert c.code("HELO client.example") == 250
    replies = [c.cmd(x) for x in ("MAIL FROM:<a@b.example>", "RCPT TO:<u@other.example>",
                                  "RCPT TO:<u@example.test>", "NOOP", "BOGUS", "RSET")]
    assert [r[0] for r in replies] == [250, 550, 250, 250, 500, 250]
    for code, lines in replies:
        assert not ENHANCED_RE.match(lines[0]), lines
    c2 = Smtp(server.port)
    c2.greet()
    replies = [c2.cmd(x) for x in ("MAIL FROM:<a@b.example>", "RCPT TO:<u@other.example>",
                                   "RCPT TO:<u@example.test>", "NOOP", "BOGUS", "RSET")]
    assert [r[0] for r in replies] == [250, 550, 250, 250, 500, 250]
    for code, lines in replies:
        assert ENHANCED_RE.match(lines[0]), lines
    assert replies[0][1][0].startswith("250 2.1.0")
    assert replies[1][1][0].startswith("550 5.7.1")
    assert replies[2][1][0].startswith("250 2.1.5")


def test_helo_and_ehlo_need_an_argument(server):
    c = Smtp(server.port)
    c.read_reply()
    assert c.code("EHLO") == 501
    assert c.code("HELO") == 501
    assert c.code("MAIL FROM:<a@b.example>") == 503  # neither counted as a greeting
    assert c.code("EHLO client.example") == 250


def test_rset_clears_the_transaction(server):
    c = Smtp(server.port)
    c.greet()
    assert c.code("MAIL FROM:<a@b.example>") == 250
    assert c.code("RCPT TO:<u@example.test>") == 250
    code, lines = c.cmd("RSET")
    assert code == 250 and lines[0].startswith("250 2.0.0")
    assert c.code("DATA") == 503
    assert c.code("RCPT TO:<u@example.test>") == 503
    assert c.code("MAIL FROM:<a@b.example>") == 250  # not nested
    assert server.queued() == []


def test_small_commands(server):
    c = Smtp(server.port)
    c.greet()
    code, lines = c.cmd("NOOP")
    assert code == 250 and lines[0].startswith("250 2.0.0")
    assert c.code("NOOP with an argument") == 250
    code, lines = c.cmd("VRFY user@example.test")
    assert code == 252 and lines[0].startswith("252 2."), lines  # never confirms a user
    code, lines = c.cmd("VRFY")  # RFC 5321 4.1.1.6: VRFY takes a string
    assert code == 501 and lines[0].startswith("501 5.5.4"), lines
    code, lines = c.cmd("HELP")
    assert code == 214, lines
    assert c.code("HELP MAIL") == 214
    code, lines = c.cmd("EXPN staff")  # a backup MX has no lists to expand (3.5.2)
    assert code == 502 and lines[0].startswith("502 5.5.1"), lines
    code, lines = c.cmd("FOO bar")
    assert code == 500 and lines[0].startswith("500 5.5."), lines
    assert c.code("DATAX") == 500
    code, lines = c.cmd("MAILFROM:<a@b.example>")  # no such command word
    assert code == 500 and lines[0].startswith("500 5.5.2"), lines
    code, lines = c.cmd("QUIT")
    assert code == 221 and lines[0].startswith("221 2.0.0")
    assert c.closed()


def test_commands_are_case_insensitive(server):
    c = Smtp(server.port)
    c.read_reply()
    assert c.code("ehlo client.example") == 250
    assert c.code("mail from:<a@b.example>") == 250
    assert c.code("Rcpt To:<u@example.test>") == 250
    assert c.code("data") == 354
    c.send(b"Subject: lc\r\n\r\nx\r\n.\r\n")
    queue_id_of(c.read_reply())
    assert c.code("qUiT") == 221


def test_mail_and_rcpt_parameters(server):
    c = Smtp(server.port)
    c.greet()
    assert c.code("MAIL FROM:<a@b.example> SIZE") == 501  # SIZE needs a value
    assert c.code("MAIL FROM:<a@b.example> SIZE=abc") == 501
    assert c.code("MAIL FROM:<a@b.example> BODY=9BIT") == 501
    code, lines = c.cmd("MAIL FROM:<a@b.example> NOSUCHPARAM=1")  # RFC 5321 4.1.1.11: 555
    assert code == 555 and lines[0].startswith("555 5.5.4"), lines
    assert c.code("MAIL FROM:<a@b.example> BODY=8BITMIME SIZE=100") == 250
    code, lines = c.cmd("RCPT TO:<u@example.test> NOSUCHPARAM=1")
    assert code == 555 and lines[0].startswith("555 5.5.4"), lines
    assert c.code("RCPT TO:<u@example.test> NOTIFY=BOGUS") == 501
    assert c.code("RCPT TO:<u@example.test> NOTIFY=NEVER,SUCCESS") == 501
    assert c.code("RCPT TO:<u@example.test> NOTIFY=NEVER") == 250


# ---- line limits ---------------------------------------------------------------------------

def test_command_line_512_octets_boundary(server):
    c = Smtp(server.port)
    c.greet()
    line512 = b"NOOP " + b"a" * (512 - 5 - 2)  # 512 octets with CRLF: allowed
    assert len(line512 + b"\r\n") == 512
    assert c.cmd(line512)[0] == 250
    code, lines = c.cmd(line512 + b"a")  # 513
    assert code == 500 and lines[0].startswith("500 5.5.2"), lines
    assert c.code("NOOP") == 250


def test_overlong_command_tail_is_not_a_command(server):
    # A server that cuts a long line at 512 and reads the rest as a new line would answer
    # the HELP hidden at octet 513.
    c = Smtp(server.port)
    c.greet()
    c.send(b"NOOP " + b"a" * (512 - 5) + b"HELP\r\n")
    code, lines = c.read_reply()
    assert code == 500 and "5.5.2" in lines[0], lines
    assert c.silent(), c.buf
    assert c.code("NOOP") == 250


def test_huge_command_line(server):
    c = Smtp(server.port)
    c.greet()
    c.send(b"NOOP " + b"x" * 200000 + b"\r\n")
    code, lines = c.read_reply()
    # One error for the whole line (the rest is discarded up to its LF), not one per 1 KiB.
    assert code == 500 and lines[0].startswith("500 5.5.2"), lines
    assert c.code("NOOP") == 250
    assert Smtp(server.port).read_reply()[0] == 220  # the server survived


def test_mail_and_rcpt_may_use_1024_octets(server):
    # RFC 3461 section 5: MAIL and RCPT lines with DSN parameters may be 1024 octets long.
    c = Smtp(server.port)
    c.greet()
    domain = ".".join(["d" * 63] * 2) + ".example"  # path stays under 256 (4.5.3.1.3)
    mail = f"MAIL FROM:<{'s' * 64}@{domain}> RET=HDRS ENVID={'e' * 100} SIZE=1000 BODY=8BITMIME"
    assert c.code(mail) == 250
    orcpt = "rfc822;" + "o" * 64 + "@" + ".".join(["r" * 63] * 6) + ".example"  # 463
    rcpt = f"RCPT TO:<{'u' * 64}@example.test> NOTIFY=SUCCESS,FAILURE,DELAY ORCPT={orcpt}"
    assert 512 < len(rcpt) + 2 <= 1024
    code, lines = c.cmd(rcpt)
    # the line is not too long, and an ORCPT of 463 octets is within RFC 3461's 500
    assert code == 250 and lines[0].startswith("250 2.1.5"), lines
    long_rcpt = f"RCPT TO:<u@example.test> ORCPT=rfc822;{'o' * 1000}@example.test"
    code, lines = c.cmd(long_rcpt)  # over 1024
    assert code == 500 and lines[0].startswith("500 5.5.2"), lines
    code, lines = c.cmd(b"NOOP " + b"n" * 600)  # only MAIL and RCPT get the longer limit
    assert code == 500 and lines[0].startswith("500 5.5.2"), lines
    assert c.code("RCPT TO:<v@example.test>") == 250  # the transaction survived
    assert c.code("NOOP") == 250


def test_bare_lf_command_refused_and_not_executed(server):
    c = Smtp(server.port)
    c.greet()
    c.send(b"MAIL FROM:<a@b.example>\n")
    code, lines = c.read_reply()
    assert code == 500 and lines[0].startswith("500 5.5.2"), lines
    assert c.silent(), c.buf
    # the MAIL did not start a transaction
    assert c.code("RCPT TO:<u@example.test>") == 503
    c.send(b"MAIL FROM:<a@b.example>\nRCPT TO:<u@example.test>\r\n")
    code, lines = c.read_reply()
    assert code == 500 and lines[0].startswith("500 5.5.2"), lines
    assert c.read_reply()[0] == 503  # the MAIL ending in bare LF was not run
    assert c.silent(), c.buf
    assert c.code("NOOP") == 250


def test_bare_cr_in_command_is_one_line(server):
    c = Smtp(server.port)
    c.greet()
    c.send(b"NOOP\rHELP\r\n")
    code, lines = c.read_reply()
    # One line with a bare CR in it: refused as a whole, so neither NOOP nor HELP ran.
    assert code == 500 and lines == ["500 5.5.2 Command lines must end with CRLF"], lines
    assert c.silent(), c.buf
    assert c.code("NOOP") == 250


@pytest.mark.parametrize("xs", [996, 997, 998, 999, 1000, 2000])
def test_data_line_too_long_after_the_dot(server, xs):
    c = Smtp(server.port)
    c.start_mail()
    # If the reader cut the long line into pieces, the ".\r\n" at its end would look like
    # the end of data and HELP would be answered.
    c.send(b"Subject: long\r\n\r\n" + b"z" * xs + b".\r\nHELP\r\nmore\r\n.\r\n")
    code, lines = c.read_reply()
    if xs + 3 <= 1000:  # "z"*xs + "." + CRLF fits in 1000 octets
        qid = queue_id_of((code, lines))
        assert split_received(server.raw_message(qid))[1] == (
            b"Subject: long\r\n\r\n" + b"z" * xs + b".\r\nHELP\r\nmore\r\n")
    else:
        assert code == 500 and lines[0].startswith("500 5.5.6"), lines
        assert server.queued() == []
    assert c.silent(), c.buf
    assert c.code("NOOP") == 250  # and the session is usable


def test_configured_data_line_limit(make_server):
    server = make_server(smtp={"max_line_length": 2000}).start()
    c = Smtp(server.port)
    c.start_mail()
    c.send(b"Subject: b\r\n\r\n" + b"y" * 1998 + b"\r\n.\r\n")  # 2000 with CRLF
    queue_id_of(c.read_reply())
    c.start_mail(ehlo=False)
    c.send(b"Subject: b\r\n\r\n" + b"y" * 1999 + b"\r\n.\r\n")  # 2001
    code, lines = c.read_reply()
    assert code == 500 and lines[0].startswith("500 5.5.6"), lines
    assert len(server.queued()) == 1


# ---- error and recipient limits -------------------------------------------------------------

def error_run(c, commands):
    """Sends commands one at a time until the server says 421 or closes."""
    codes = []
    for cmd in commands:
        try:
            code = c.cmd(cmd)[0]
        except (BrokenPipeError, ConnectionResetError):
            code = None
        codes.append(code)
        if code in (421, None):
            break
    return codes


def test_max_errors_default_10(server):
    c = Smtp(server.port)
    c.greet()
    codes = error_run(c, ["BOGUS"] * 12)
    # ten error replies, then 421 4.7.0 instead of an answer to the eleventh command
    assert codes == [500] * 10 + [421], codes
    assert c.closed()


def test_max_errors_counts_every_kind_of_error(make_server):
    server = make_server(smtp={"max_errors": 3}).start()
    c = Smtp(server.port)
    c.greet()
    assert c.code("MAIL FROM:<a@b.example>") == 250
    codes = error_run(c, ["RCPT TO:<u@other.example>", "BOGUS", "DATA", "NOOP", "NOOP"])
    assert codes == [550, 500, 503, 421], codes
    assert c.closed()
    assert Smtp(server.port).read_reply()[0] == 220  # a new session starts afresh


def test_max_errors_421_text(make_server):
    server = make_server(smtp={"max_errors": 2}).start()
    c = Smtp(server.port)
    c.greet()
    replies = [c.cmd("BOGUS") for _ in range(2)]
    last = replies[-1] if replies[-1][0] == 421 else c.read_reply()
    assert last[0] == 421 and last[1][0].startswith("421 4.7.0"), last


def test_max_recipients(make_server):
    server = make_server(smtp={"max_recipients": 3}).start()
    c = Smtp(server.port)
    c.greet()
    assert c.code("MAIL FROM:<a@b.example>") == 250
    for i in range(3):
        assert c.code(f"RCPT TO:<u{i}@example.test>") == 250
    code, lines = c.cmd("RCPT TO:<u9@example.test>")
    assert code == 452 and lines[0].startswith("452 4.5.3"), lines
    assert c.code("DATA") == 354
    c.send(b"Subject: three\r\n\r\nx\r\n.\r\n")
    qid = queue_id_of(c.read_reply())
    assert [r["address"] for r in server.show(qid)["message"]["recipients"]] == [
        "u0@example.test", "u1@example.test", "u2@example.test"]


# ---- SIZE ----------------------------------------------------------------------------------

def test_size_announced_too_big(make_server):
    server = make_server(smtp={"max_message_size": 10000}).start()
    c = Smtp(server.port)
    lines = c.greet()
    assert "250-SIZE 10000" in lines
    code, lines = c.cmd("MAIL FROM:<a@b.example> SIZE=10001")
    assert code == 552 and lines[0].startswith("552 5.3.4"), lines
    code, lines = c.cmd("MAIL FROM:<a@b.example> SIZE=99999999999999999999999")
    assert code == 501 and lines[0].startswith("501 5.5.4"), lines  # not a number we can hold
    assert c.code("MAIL FROM:<a@b.example> SIZE=10000") == 250


@pytest.mark.parametrize("extra", [0, 1])
def test_message_size_boundary(make_server, extra):
    # RFC 1870: a message of exactly the announced SIZE fits; what counts is the message as
    # sent (CRLFs included, dot-stuffing and terminator not), not our Received header.
    server = make_server(smtp={"max_message_size": 10000}).start()
    head = b"Subject: exact\r\n\r\n"
    line = b"e" * 98 + b"\r\n"
    body = head + line * ((10000 - len(head)) // len(line))
    body += b"f" * (10000 - len(body) - 2) + b"\r\n"
    assert len(body) == 10000
    if extra:
        body = body[:-2] + b"g\r\n"
    c = Smtp(server.port)
    c.greet()
    assert c.code(f"MAIL FROM:<a@b.example> SIZE={len(body)}") == (250 if not extra else 552)
    if extra:
        assert c.code("MAIL FROM:<a@b.example>") == 250
    assert c.code("RCPT TO:<u@example.test>") == 250
    assert c.code("DATA") == 354
    c.send(body + b".\r\n")
    code, lines = c.read_reply()
    if extra:
        assert code == 552 and lines[0].startswith("552 5.3.4"), lines
    else:
        qid = queue_id_of((code, lines))
        assert split_received(server.raw_message(qid))[1] == body


def test_message_growing_too_big(make_server):
    server = make_server(smtp={"max_message_size": 10000}).start()
    c = Smtp(server.port)
    c.start_mail()
    c.send(b"Subject: big\r\n\r\n" + (b"y" * 70 + b"\r\n") * 300 + b".\r\n")
    code, lines = c.read_reply()
    assert code == 552 and lines[0].startswith("552 5.3.4"), lines
    assert c.silent(), c.buf
    assert server.queued() == []
    # the connection stays usable for a message that fits
    c.start_mail(ehlo=False)
    c.send(b"Subject: small\r\n\r\nok\r\n.\r\n")
    queue_id_of(c.read_reply())
    assert len(server.queued()) == 1


def test_message_growing_too_big_does_not_execute_its_content(make_server):
    server = make_server(smtp={"max_message_size": 2000}).start()
    c = Smtp(server.port)
    c.start_mail()
    # After the limit the server must keep reading DATA until CRLF.CRLF, not commands.
    c.send(b"Subject: big\r\n\r\n" + b"y" * 900 + b"\r\n" + b"y" * 900 + b"\r\n" +
           b"y" * 900 + b"\r\nHELP\r\nRCPT TO:<x@example.test>\r\n.\r\n")
    code, lines = c.read_reply()
    assert code == 552, lines
    assert c.silent(), c.buf


# ---- pipelining (RFC 2920) -----------------------------------------------------------------

def test_pipelined_transaction_replies_in_order(server):
    c = Smtp(server.port)
    assert c.read_reply()[0] == 220
    c.send(b"EHLO client.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u1@example.test>\r\n"
           b"RCPT TO:<nobody@other.example>\r\nRCPT TO:<u2@example.test>\r\nDATA\r\n")
    replies = c.read_replies(6)
    assert [r[0] for r in replies] == [250, 250, 250, 550, 250, 354], replies
    assert replies[0][1][0].startswith("250-")  # the EHLO reply, complete and first
    assert replies[2][1][0].startswith("250 2.1.5") and replies[4][1][0].startswith("250 2.1.5")
    c.send(b"Subject: p\r\n\r\nbody\r\n.\r\nMAIL FROM:<c@d.example>\r\n"
           b"RCPT TO:<u3@example.test>\r\nDATA\r\n")
    replies = c.read_replies(4)
    assert [r[0] for r in replies] == [250, 250, 250, 354], replies
    first = queue_id_of(replies[0])
    c.send(b"second\r\n.\r\nRSET\r\nNOOP\r\nQUIT\r\n")
    replies = c.read_replies(4)
    assert [r[0] for r in replies] == [250, 250, 250, 221], replies
    second = queue_id_of(replies[0])
    assert c.closed()
    got = {m["id"]: [r["address"] for r in m["recipients"]] for m in server.queued()}
    assert got == {first: ["u1@example.test", "u2@example.test"], second: ["u3@example.test"]}


def test_pipelined_errors_keep_their_place(server):
    c = Smtp(server.port)
    c.greet()
    c.send(b"RCPT TO:<u@example.test>\r\nMAIL FROM:<a@b.example>\r\nMAIL FROM:<x@y.example>\r\n"
           b"RCPT TO:<u@example.test>\r\nVRFY u\r\nHELP\r\nNOOP\r\n")
    assert [r[0] for r in c.read_replies(7)] == [503, 250, 503, 250, 252, 214, 250]
    assert c.silent()


def test_pipelined_transaction_with_only_refused_recipients(server):
    c = Smtp(server.port)
    c.greet()
    c.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<x@other.example>\r\nDATA\r\n")
    assert [r[0] for r in c.read_replies(3)] == [250, 550, 503]
    # a client that pipelines the body anyway: each line is a (bad) command, never a message
    c.send(b"HELP\r\n")
    assert c.read_reply()[0] == 214
    assert server.queued() == []


def test_many_pipelined_commands(server):
    c = Smtp(server.port)
    c.greet()
    c.send(b"NOOP\r\n" * 500)
    assert [r[0] for r in c.read_replies(500)] == [250] * 500
    assert c.silent()


# ---- BDAT (RFC 3030) -----------------------------------------------------------------------

def test_bdat_chunks(server):
    c = Smtp(server.port)
    c.greet()
    assert c.code("MAIL FROM:<a@b.example> BODY=8BITMIME") == 250
    assert c.code("RCPT TO:<u@example.test>") == 250
    part1 = b"Subject: chunks\r\n\r\nfirst "
    part2 = b"second\r\n.dot line kept as is\r\n..two dots\r\n"
    c.send(b"BDAT %d\r\n" % len(part1) + part1)
    code, lines = c.read_reply()
    assert lines == [f"250 2.0.0 {len(part1)} octets received"], lines
    c.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
    code, lines = c.read_reply()
    qid = queue_id_of((code, lines))
    assert split_received(server.raw_message(qid))[1] == part1 + part2


def test_bdat_content_is_never_commands(server):
    c = Smtp(server.port)
    c.greet()
    assert c.code("MAIL FROM:<a@b.example>") == 250
    assert c.code("RCPT TO:<u@example.test>") == 250
    chunk = (b"Subject: b\r\n\r\nx\r\n.\r\nMAIL FROM:<evil@other.example>\r\n"
             b"RCPT TO:<v@example.test>\r\nDATA\r\n")
    c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk + b"HELP\r\n")
    qid = queue_id_of(c.read_reply())
    assert c.read_reply()[0] == 214  # the next reply is to HELP: nothing inside ran
    assert c.silent(), c.buf
    assert [m["id"] for m in server.queued()] == [qid]
    assert split_received(server.raw_message(qid))[1] == chunk


def test_bdat_pipelined(server):
    c = Smtp(server.port)
    c.greet()
    c.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<u@example.test>\r\n"
           b"BDAT 5\r\nSubjeBDAT 9\r\nct: x\r\n\r\nBDAT 3 LAST\r\nhi\n")
    replies = c.read_replies(5)
    assert [r[0] for r in replies[:4]] == [250, 250, 250, 250], replies
    code, lines = replies[4]
    assert code in (250, 554), lines  # "hi\n" ends in a bare LF: stored or refused


def test_bdat_zero_last_and_empty_chunks(server):
    c = Smtp(server.port)
    c.greet()
    assert c.code("MAIL FROM:<a@b.example>") == 250
    assert c.code("RCPT TO:<u@example.test>") == 250
    body = b"Subject: z\r\n\r\nzero\r\n"
    c.send(b"BDAT %d\r\n" % len(body) + body)
    assert c.read_reply()[0] == 250
    c.send(b"BDAT 0\r\n")
    assert c.read_reply()[0] == 250
    c.send(b"BDAT 0 LAST\r\n")
    qid = queue_id_of(c.read_reply())
    assert split_received(server.raw_message(qid))[1] == body


def test_bdat_without_transaction_consumes_chunk(server):
    c = Smtp(server.port)
    c.greet()
    c.send(b"BDAT 12\r\nHELP\r\nHELP\r\n")
    code, lines = c.read_reply()
    assert code == 503, lines
    assert c.silent(), c.buf  # the chunk's HELPs were data, not commands
    assert c.code("NOOP") == 250


def test_bdat_then_data_is_refused(server):
    c = Smtp(server.port)
    c.greet()
    assert c.code("MAIL FROM:<a@b.example>") == 250
    assert c.code("RCPT TO:<u@example.test>") == 250
    c.send(b"BDAT 4\r\nabcd")
    assert c.read_reply()[0] == 250
    assert c.code("DATA") == 503  # RFC 3030: no DATA after BDAT in one transaction
    assert c.code("RSET") == 250
    assert server.queued() == []


@pytest.mark.parametrize("line", [b"BDAT", b"BDAT x", b"BDAT -1", b"BDAT 1 FIRST",
                                  b"BDAT 99999999999999999999999", b"BDAT 1 LAST extra"])
def test_bdat_bad_arguments(server, line):
    c = Smtp(server.port)
    c.greet()
    assert c.code("MAIL FROM:<a@b.example>") == 250
    assert c.code("RCPT TO:<u@example.test>") == 250
    code, lines = c.cmd(line)
    assert code == 501, lines
    # The chunk size is unknown, so no later byte can be trusted to be a command: hang up.
    assert c.closed(), c.buf
    assert server.queued() == []


def test_bdat_too_big(make_server):
    server = make_server(smtp={"max_message_size": 2000}).start()
    c = Smtp(server.port)
    c.greet()
    assert c.code("MAIL FROM:<a@b.example>") == 250
    assert c.code("RCPT TO:<u@example.test>") == 250
    chunk = b"x" * 1200 + b"\r\n"
    c.send(b"BDAT %d\r\n" % len(chunk) + chunk)
    assert c.read_reply()[0] == 250
    c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
    code, lines = c.read_reply()
    assert code == 552 and lines[0].startswith("552 5.3.4"), lines
    assert c.code("NOOP") == 250  # the chunk was consumed: still in sync
    assert server.queued() == []


# ---- hostile bytes (in the spirit of Redis tests/unit/protocol.tcl) -------------------------

def test_binary_garbage_on_the_command_channel(server):
    c = Smtp(server.port)
    c.greet()
    c.send(bytes(range(256)) * 4 + b"\r\nNOOP\r\n")
    replies = []
    while not replies or replies[-1][0] == 500:
        replies.append(c.read_reply())
    # Every garbage line got the bare-line-ending error, and the NOOP after it its 250.
    assert all(r == (500, ["500 5.5.2 Command lines must end with CRLF"])
               for r in replies[:-1]), replies
    assert replies[-1][0] == 250 and len(replies) > 1, replies
    assert Smtp(server.port).greet()  # the server lives on


def test_nul_in_command(server):
    c = Smtp(server.port)
    c.greet()
    code, lines = c.cmd(b"NO\x00OP")
    assert code == 500 and lines[0].startswith("500 5.5.2"), lines  # no such command
    code, lines = c.cmd(b"MAIL FROM:<a@b.example>\x00 SIZE=1")
    assert code == 501 and lines[0].startswith("501 5.5.4"), lines
    assert c.code("RCPT TO:<u@example.test>") == 503  # that MAIL did not count


def test_helo_with_bare_cr_cannot_inject_a_header(server):
    c = Smtp(server.port)
    c.read_reply()
    code, lines = c.cmd(b"EHLO evil.example\rX-Injected: yes")
    # Refused outright (no enhanced code: no EHLO has succeeded yet), so the text can never
    # reach the Received header.
    assert code == 500 and lines == ["500 Command lines must end with CRLF"], lines
    assert c.code("EHLO client.example") == 250
    c.start_mail(ehlo=False)
    c.send(b"Subject: h\r\n\r\nx\r\n.\r\n")
    qid = queue_id_of(c.read_reply())
    header, rest = split_received(server.raw_message(qid))
    assert b"\r" not in header.replace(b"\r\n", b"")
    assert not rest.startswith(b"X-Injected")
    assert rest == b"Subject: h\r\n\r\nx\r\n"


def test_long_helo_is_bounded_in_the_header(server):
    c = Smtp(server.port)
    c.read_reply()
    assert c.code("EHLO " + "h" * 400 + ".example") == 250
    c.start_mail(ehlo=False)
    c.send(b"Subject: h\r\n\r\nx\r\n.\r\n")
    qid = queue_id_of(c.read_reply())
    header, rest = split_received(server.raw_message(qid))
    # RFC 5322 2.1.1: no line over 998 characters; the stored message stays intact
    assert max(len(l) for l in header.split(b"\r\n")) <= 998
    assert rest == b"Subject: h\r\n\r\nx\r\n"


@pytest.mark.parametrize("cut", ["command", "data", "bdat"])
def test_client_vanishes_mid_stream(server, cut):
    c = Smtp(server.port)
    c.greet()
    if cut == "command":
        c.send(b"MAIL FROM:<a@b.exa")
    else:
        assert c.code("MAIL FROM:<a@b.example>") == 250
        assert c.code("RCPT TO:<u@example.test>") == 250
        if cut == "data":
            assert c.code("DATA") == 354
            c.send(b"Subject: gone\r\n\r\nhalf a message\r\n")
        else:
            c.send(b"BDAT 1000 LAST\r\nonly a few bytes")
    c.close()
    c2 = Smtp(server.port)
    c2.start_mail()
    c2.send(b"Subject: after\r\n\r\nx\r\n.\r\n")
    qid = queue_id_of(c2.read_reply())
    assert server.queue_ids() == [qid]  # nothing from the vanished client


def test_many_concurrent_sessions(server):
    clients = [Smtp(server.port) for _ in range(40)]
    for c in clients:
        c.greet()
    for i, c in enumerate(clients):
        c.send(b"MAIL FROM:<a@b.example>\r\nRCPT TO:<u%d@example.test>\r\nDATA\r\n" % i)
    for c in clients:
        assert [r[0] for r in c.read_replies(3)] == [250, 250, 354]
    for i, c in enumerate(clients):
        c.send(b"Subject: %d\r\n\r\nx\r\n.\r\n" % i)
    ids = [queue_id_of(c.read_reply()) for c in clients]
    assert len(set(ids)) == 40
    assert server.queue_ids() == sorted(ids)


def test_data_command_with_bare_lf_does_not_start_data(server):
    c = Smtp(server.port)
    c.greet()
    assert c.code("MAIL FROM:<a@b.example>") == 250
    assert c.code("RCPT TO:<u@example.test>") == 250
    c.send(b"DATA\n")
    code, lines = c.read_reply()
    assert code == 500 and lines[0].startswith("500 5.5.2"), lines
    assert c.code("HELP") == 214  # still reading commands, not message text
    assert c.code("DATA") == 354  # the transaction survived
    c.send(b"Subject: x\r\n\r\nx\r\n.\r\n")
    queue_id_of(c.read_reply())


def test_default_recipient_limit_with_pipelining(server):
    c = Smtp(server.port)
    c.greet()
    c.send(b"MAIL FROM:<a@b.example>\r\n" +
           b"".join(b"RCPT TO:<r%d@example.test>\r\n" % i for i in range(101)) + b"DATA\r\n")
    codes = [r[0] for r in c.read_replies(103)]
    assert codes == [250] + [250] * 100 + [452, 354], codes
    c.send(b"Subject: hundred\r\n\r\nx\r\n.\r\n")
    qid = queue_id_of(c.read_reply())
    assert len(server.show(qid)["message"]["recipients"]) == 100
