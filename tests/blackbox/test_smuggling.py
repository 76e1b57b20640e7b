"""SMTP smuggling (CVE-2023-51764 and friends): only CRLF.CRLF ends DATA.

Each fake terminator is followed by a complete second transaction and then the real end.
After the reply to the real end the client sends HELP: the very next reply must be 214.
A server that took the fake end would answer the smuggled MAIL/RCPT/DATA first (or queue a
second message). Each case runs with the bytes in one write and split at the fake end, and
under both bare_line_endings modes.
"""
import time

import pytest

from conftest import Smtp, queue_id_of, split_received

FAKE_ENDS = [b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n", b"\r\n.\r", b"\r.\r\n",
             b"\n.\r", b"\r\n.\r\r\n", b"\n\r.\r\n"]
IDS = [repr(f)[2:-1] for f in FAKE_ENDS]

BEFORE = b"Subject: smuggle\r\n\r\nbefore"
SMUGGLED = (b"MAIL FROM:<evil@other.example>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\n"
            b"Subject: smuggled\r\n\r\nx\r\n")


def smuggle(server, fake_end, split):
    c = Smtp(server.port)
    c.start_mail(sender="a@b.example", recipients=["u@example.test"])
    if split:
        c.send(BEFORE + fake_end)
        time.sleep(0.05)  # pacing: the fake end and what follows arrive in separate reads
        c.send(SMUGGLED + b".\r\n")
    else:
        c.send(BEFORE + fake_end + SMUGGLED + b".\r\n")
    reply = c.read_reply()
    c.send(b"HELP\r\n")
    after = c.read_reply()
    return c, reply, after


def normalized(data):
    """What "normalize" must store: every bare CR or LF becomes CRLF."""
    out = data.replace(b"\r\n", b"\0")
    out = out.replace(b"\r", b"\0").replace(b"\n", b"\0")
    return out.replace(b"\0", b"\r\n")


@pytest.mark.parametrize("split", [False, True], ids=["one-write", "split"])
@pytest.mark.parametrize("fake_end", FAKE_ENDS, ids=IDS)
def test_fake_end_rejected_in_reject_mode(server, fake_end, split):
    c, (code, lines), after = smuggle(server, fake_end, split)
    assert code == 554 and lines[0].startswith("554 5.6.0"), lines
    assert after[0] == 214, after  # nothing inside the data was run as a command
    assert c.silent(), c.buf
    assert server.queued() == []
    assert c.code("NOOP") == 250  # session still usable


@pytest.mark.parametrize("split", [False, True], ids=["one-write", "split"])
@pytest.mark.parametrize("fake_end", FAKE_ENDS, ids=IDS)
def test_fake_end_is_text_in_normalize_mode(make_server, fake_end, split):
    server = make_server(smtp={"bare_line_endings": "normalize"}).start()
    c, reply, after = smuggle(server, fake_end, split)
    qid = queue_id_of(reply)
    assert after[0] == 214, after
    assert c.code("NOOP") == 250  # in order: no reply to anything smuggled came between
    messages = server.queued()
    assert [m["id"] for m in messages] == [qid]  # one message, not two
    assert messages[0]["sender"] == "a@b.example"
    assert [r["address"] for r in messages[0]["recipients"]] == ["u@example.test"]
    stored = split_received(server.raw_message(qid))[1]
    assert stored == normalized(BEFORE + fake_end + SMUGGLED)


@pytest.mark.parametrize("mode", ["reject", "normalize"])
def test_bare_lf_away_from_a_dot(make_server, mode):
    server = make_server(smtp={"bare_line_endings": mode}).start()
    c = Smtp(server.port)
    c.start_mail()
    body = b"Subject: lf\nX-Bare: cr\rthere\r\n\r\nline one\nline two\r\n"
    c.send(body + b".\r\n")
    code, lines = c.read_reply()
    if mode == "reject":
        assert code == 554 and lines[0].startswith("554 5.6.0"), lines
        assert server.queued() == []
    else:
        qid = queue_id_of((code, lines))
        assert split_received(server.raw_message(qid))[1] == normalized(body)


@pytest.mark.parametrize("cut", [1, 2, 3, 4])
def test_real_end_split_across_writes(server, cut):
    # The real CRLF.CRLF must be found wherever the TCP segments split it.
    c = Smtp(server.port)
    c.start_mail()
    end = b"\r\n.\r\n"
    c.send(b"Subject: split\r\n\r\nbody")
    time.sleep(0.03)  # pacing: separate segments, so the server likely reads them apart
    c.send(end[:cut])
    time.sleep(0.05)
    c.send(end[cut:] + b"HELP\r\n")
    qid = queue_id_of(c.read_reply())
    # Replies come in order: had a part of the end been taken for the end, the rest of it
    # would have been answered as a command before HELP.
    assert c.read_reply()[0] == 214
    assert split_received(server.raw_message(qid))[1] == b"Subject: split\r\n\r\nbody\r\n"


def test_dot_not_at_line_start_is_text(server):
    c = Smtp(server.port)
    c.start_mail()
    c.send(b"Subject: d\r\n\r\nbody.\r\n.x\r\n .\r\n.\r\n")
    qid = queue_id_of(c.read_reply())
    # ".x" was dot-unstuffed to "x" (RFC 5321 4.5.2), " ." stays
    assert split_received(server.raw_message(qid))[1] == b"Subject: d\r\n\r\nbody.\r\nx\r\n .\r\n"


@pytest.mark.parametrize("mode", ["reject", "normalize"])
def test_smuggled_bdat_inside_data(make_server, mode):
    server = make_server(smtp={"bare_line_endings": mode}).start()
    c = Smtp(server.port)
    c.start_mail()
    c.send(b"Subject: b\r\n\r\nx\n.\nBDAT 5 LAST\r\nhello" + b"\r\n.\r\n")
    code, lines = c.read_reply()
    assert code == (554 if mode == "reject" else 250), lines
    c.send(b"HELP\r\n")
    assert c.read_reply()[0] == 214
    assert len(server.queued()) == (0 if mode == "reject" else 1)


def test_nul_and_control_bytes_do_not_end_data(server):
    c = Smtp(server.port)
    c.start_mail()
    body = b"Subject: n\r\n\r\nx\r\n\x00.\r\nHELP\r\n\x0b.\x0c\r\nend\r\n"
    c.send(body + b".\r\n")
    # A backup MX passes the bytes on as they came (the primary judges them): stored whole,
    # and neither "\0." nor "\v." ended the data.
    qid = queue_id_of(c.read_reply())
    c.send(b"HELP\r\n")
    assert c.read_reply()[0] == 214
    assert c.silent(), c.buf
    assert server.queue_ids() == [qid]
    assert split_received(server.raw_message(qid))[1] == body
