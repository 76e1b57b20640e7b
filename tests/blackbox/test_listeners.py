"""The SMTP listeners: every event loop accepts on its own socket of each address
(SO_REUSEPORT), yet a port that anyone else listens on is refused, never silently shared."""
import socket

import pytest

from conftest import Smtp


def test_a_second_server_on_the_same_port_refuses_to_start(make_server):
    first = make_server().start()
    second = make_server(port=first.port)
    with pytest.raises(RuntimeError):
        second.start(timeout=5)
    assert f"cannot listen on 127.0.0.1:{first.port}" in second.log_text()
    code, _ = Smtp(first.port).read_reply()
    assert code == 220, "the first server must still answer"


def test_a_port_another_program_listens_on_is_refused(make_server):
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen()
    try:
        s = make_server(port=holder.getsockname()[1])
        with pytest.raises(RuntimeError):
            s.start(timeout=5)
        assert "cannot listen on" in s.log_text()
    finally:
        holder.close()


def test_every_loop_accepts_and_answers(make_server):
    s = make_server(smtp={"workers": 3}).start()
    clients = [Smtp(s.port) for _ in range(30)]
    for c in clients:
        code, _ = c.read_reply()
        assert code == 220
    for c in clients:
        code, _ = c.cmd("QUIT")
        assert code == 221
