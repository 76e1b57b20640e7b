"""SMTP smuggling (CVE-2023-51764 class): only CRLF.CRLF ends DATA."""
import pytest

from conftest import Smtp

FAKE_ENDS = [b"\n.\n", b"\r.\r", b"\n.\r\n", b"\r\n.\n", b"\r\n.\r", b"\r.\r\n", b"\n.\r"]


def smuggle(server, fake_end):
    c = Smtp(server.port)
    c.greet()
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
    assert c.cmd("RCPT TO:<u@example.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: smuggle\r\n\r\nbefore" + fake_end +
           b"MAIL FROM:<evil@other.example>\r\nRCPT TO:<victim@example.test>\r\nDATA\r\n"
           b"Subject: smuggled\r\n\r\nx\r\n.\r\n")
    reply = c.read_reply()
    c.send(b"NOOP\r\n")
    after = c.read_reply()
    return reply, after


@pytest.mark.parametrize("fake_end", FAKE_ENDS, ids=[repr(f) for f in FAKE_ENDS])
def test_fake_end_rejected_in_reject_mode(server, fake_end):
    (code, lines), after = smuggle(server, fake_end)
    assert code == 554 and "5.6.0" in lines[0]
    assert after[0] == 250  # one reply per command: nothing inside the data was executed
    assert server.queued() == []


@pytest.mark.parametrize("fake_end", FAKE_ENDS, ids=[repr(f) for f in FAKE_ENDS])
def test_fake_end_is_text_in_normalize_mode(make_server, fake_end):
    server = make_server(smtp={"bare_line_endings": "normalize"}).start()
    (code, lines), after = smuggle(server, fake_end)
    assert code == 250
    assert after[0] == 250
    messages = server.queued()
    assert len(messages) == 1  # one message, not two
    assert messages[0]["sender"] == "a@b.example"
    body = server.body(messages[0]["id"])
    assert "MAIL FROM:<evil@other.example>" in body
    assert "\n" not in body.replace("\r\n", "")  # every line ending stored as CRLF
