"""SIGTERM: stop accepting at once, finish what is being received (250 only once durable),
421 for the next command or at once while idle, a bounded grace period ([smtp]
shutdown_timeout), exit 0, and nothing acknowledged lost across the restart."""
import signal
import socket
import subprocess
import time

from conftest import QUEUED_RE, Smtp, wait_until

SHUTTING_DOWN = "421 4.3.2 mx2.example.test shutting down"


def refused(port):
    """True when a new connection to the listener is refused by the kernel."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True
    except ConnectionResetError:
        # The SYN raced the listener's close: not accepted, not yet refused; ask again.
        return False


def exit_code(server, timeout):
    try:
        return server.proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"still running {timeout} s after SIGTERM:\n"
                             f"{server.log_text()[-3000:]}")


def test_a_message_in_data_at_sigterm_is_finished_acknowledged_and_kept(make_server):
    s = make_server(smtp={"shutdown_timeout": "20s"}).start()
    c = Smtp(s.port, timeout=10)
    c.start_mail()
    c.send(b"Subject: caught by the shutdown\r\n\r\nfirst half\r\n")
    s.proc.send_signal(signal.SIGTERM)
    assert wait_until(lambda: refused(s.port), timeout=5), "a new connection was accepted"
    c.send(b"second half\r\n.\r\n")
    code, lines = c.read_reply()
    assert code == 250 and QUEUED_RE.match(lines[-1]), (lines, s.log_text()[-3000:])
    qid = QUEUED_RE.match(lines[-1]).group(1)
    code, lines = c.read_reply()  # no command needed: the next one would not be read
    assert code == 421 and lines[-1] == SHUTTING_DOWN, lines
    assert c.closed()
    assert exit_code(s, 10) == 0
    s.stop()
    s.start()
    assert s.queue_ids() == [qid]
    assert b"second half" in s.raw_message(qid)


def test_an_idle_session_gets_421_at_once_and_the_server_exits_0(make_server):
    s = make_server(smtp={"shutdown_timeout": "20s"}).start()
    c = Smtp(s.port, timeout=10)
    c.greet()
    started = time.time()
    s.proc.send_signal(signal.SIGTERM)
    code, lines = c.read_reply()
    assert code == 421 and lines[-1] == SHUTTING_DOWN, lines
    assert c.closed()
    assert exit_code(s, 10) == 0
    assert time.time() - started < 5  # no session left: the grace period is not waited out


def test_a_client_stalled_in_data_does_not_outlive_shutdown_timeout(make_server):
    grace = 2.0
    s = make_server(smtp={"shutdown_timeout": "2s", "data_timeout": "5m"}).start()
    c = Smtp(s.port, timeout=30)
    c.start_mail()
    c.send(b"Subject: never finished\r\n\r\nand then nothing")
    started = time.time()
    s.proc.send_signal(signal.SIGTERM)
    assert exit_code(s, grace + 8) == 0
    took = time.time() - started
    assert grace <= took < grace + 3, took
    assert c.closed()
    s.stop()
    s.start()
    assert s.queue_ids() == []  # never acknowledged, never queued


def test_a_second_sigterm_ends_the_grace_period(make_server):
    s = make_server(smtp={"shutdown_timeout": "60s", "data_timeout": "5m"}).start()
    c = Smtp(s.port, timeout=30)
    c.start_mail()
    c.send(b"Subject: stalled\r\n\r\nhalf")
    s.proc.send_signal(signal.SIGTERM)
    s.wait_for_log("shutdown: listeners closed")
    started = time.time()
    s.proc.send_signal(signal.SIGTERM)
    assert exit_code(s, 10) == 0
    assert time.time() - started < 5
    assert "again: stopping now" in s.log_text()
