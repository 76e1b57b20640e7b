"""Connection limits and timeouts: slow or greedy clients cannot hold the server."""
import time

from conftest import Smtp, queue_id_of


def test_per_ip_limit(make_server):
    server = make_server(smtp={"max_connections_per_ip": 3}).start()
    held = [Smtp(server.port) for _ in range(3)]
    for c in held:
        assert c.read_reply()[0] == 220
    extra = Smtp(server.port)
    code, lines = extra.read_reply()
    assert code == 421 and lines[0].startswith("421 4.7.0"), lines
    assert extra.closed()
    # the refused connection did not take a slot, and a freed slot can be used again
    assert held[1].code("NOOP") == 250
    held[0].cmd("QUIT")
    held[0].close()
    deadline = time.time() + 3
    while True:
        again = Smtp(server.port)
        code, lines = again.read_reply()
        if code == 220 or time.time() > deadline:
            break
        again.close()
        time.sleep(0.05)
    assert code == 220, lines


def test_per_ip_limit_is_per_address(make_server):
    server = make_server(smtp={"max_connections_per_ip": 2}).start()
    held = [Smtp(server.port, source="127.0.0.1") for _ in range(2)]
    for c in held:
        assert c.read_reply()[0] == 220
    assert Smtp(server.port, source="127.0.0.1").read_reply()[0] == 421
    other = Smtp(server.port, source="127.0.0.2")
    other.start_mail()
    other.send(b"Subject: other ip\r\n\r\nx\r\n.\r\n")
    qid = queue_id_of(other.read_reply())
    assert server.show(qid)["message"]["client_ip"] == "127.0.0.2"


def test_total_limit(make_server):
    server = make_server(smtp={"max_connections": 2}).start()
    held = [Smtp(server.port, source=f"127.0.0.{i + 1}") for i in range(2)]
    for c in held:
        assert c.read_reply()[0] == 220
    code, lines = Smtp(server.port, source="127.0.0.3").read_reply()
    assert code == 421, lines


def test_idle_client_times_out(make_server):
    server = make_server(smtp={"command_timeout": 1}).start()
    c = Smtp(server.port)
    c.greet()
    started = time.time()
    code, lines = c.read_reply()
    elapsed = time.time() - started
    assert code == 421 and lines[0].startswith("421 4.4.2"), lines
    assert "Timeout" in lines[0] or "timeout" in lines[0]
    assert 0.5 < elapsed < 4, elapsed
    assert c.closed()


def test_timeout_before_any_command(make_server):
    server = make_server(smtp={"command_timeout": "1s"}).start()
    c = Smtp(server.port)
    assert c.read_reply()[0] == 220
    code, lines = c.read_reply()
    # before EHLO an enhanced code is optional (they appear only after EHLO)
    assert code == 421 and "timeout" in lines[0].lower(), lines
    assert c.closed()


def test_timeout_mid_transaction_queues_nothing(make_server):
    server = make_server(smtp={"command_timeout": 1}).start()
    c = Smtp(server.port)
    c.greet()
    assert c.code("MAIL FROM:<a@b.example>") == 250
    assert c.code("RCPT TO:<u@example.test>") == 250
    code, lines = c.read_reply()
    assert code == 421 and "4.4.2" in lines[0], lines
    assert server.queued() == []


def test_active_client_is_not_timed_out(make_server):
    server = make_server(smtp={"command_timeout": 1}).start()
    c = Smtp(server.port)
    c.greet()
    for _ in range(7):  # 2.8 s in all, each gap well under the timeout
        time.sleep(0.4)
        assert c.code("NOOP") == 250


def test_slow_data_times_out(make_server):
    server = make_server(smtp={"data_timeout": 1}).start()
    c = Smtp(server.port)
    c.start_mail()
    c.send(b"Subject: slow\r\n")
    code, lines = c.read_reply()
    assert code == 421 and "4.4.2" in lines[0], lines
    assert c.closed()
    assert server.queued() == []


def test_data_timeout_is_per_block_not_per_message(make_server):
    server = make_server(smtp={"data_timeout": 1}).start()
    c = Smtp(server.port)
    c.start_mail()
    for i in range(6):  # 2.4 s of DATA, but never 1 s of silence
        c.send(b"line %d\r\n" % i)
        time.sleep(0.4)
    c.send(b".\r\n")
    queue_id_of(c.read_reply())


def test_dribbling_client_does_not_block_others(make_server):
    # A client sending a command one byte at a time does not block other sessions. The
    # command timeout is per read, as Postfix's smtpd_timeout is by default: a byte every
    # 0.7 s keeps the session alive although the whole command takes longer than the 2 s
    # timeout, and it is answered.
    server = make_server(smtp={"command_timeout": 2}).start()
    c = Smtp(server.port)
    c.greet()
    started = time.time()
    for b in b"NOOP":
        c.send(bytes([b]))
        time.sleep(0.7)  # pacing, the point of the test
        other = Smtp(server.port)
        assert other.read_reply()[0] == 220
        other.close()
    c.send(b"\r\n")
    assert time.time() - started > 2  # longer than one timeout in all
    code, lines = c.read_reply()
    assert code == 250 and lines[0].startswith("250 2.0.0"), lines
