"""Connection limits and timeouts: slow or greedy clients cannot hold the server."""
import time

from conftest import Smtp


def test_per_ip_limit(make_server):
    server = make_server(smtp={"max_connections_per_ip": 3}).start()
    time.sleep(0.3)  # let the start-up probe's session end
    held = [Smtp(server.port) for _ in range(3)]
    for c in held:
        assert c.read_reply()[0] == 220
    extra = Smtp(server.port)
    code, lines = extra.read_reply()
    assert code == 421 and "Too many connections from your address" in lines[0]
    held[0].cmd("QUIT")
    held[0].close()
    time.sleep(0.2)
    again = Smtp(server.port)
    assert again.read_reply()[0] == 220


def test_total_limit(make_server):
    server = make_server(smtp={"max_connections": 2}).start()
    time.sleep(0.3)  # let the start-up probe's session end
    held = [Smtp(server.port) for _ in range(2)]
    for c in held:
        assert c.read_reply()[0] == 220
    code, _ = Smtp(server.port).read_reply()
    assert code == 421


def test_idle_client_times_out(make_server):
    server = make_server(smtp={"command_timeout": 1}).start()
    c = Smtp(server.port)
    c.greet()
    started = time.time()
    code, lines = c.read_reply()
    assert code == 421 and "4.4.2" in lines[0]
    assert time.time() - started < 5
    assert c.closed()


def test_slow_data_times_out(make_server):
    server = make_server(smtp={"data_timeout": 1}).start()
    c = Smtp(server.port)
    c.greet()
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
    assert c.cmd("RCPT TO:<u@example.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: slow\r\n")
    code, _ = c.read_reply()
    assert code == 421
    assert server.queued() == []
