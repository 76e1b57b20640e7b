"""The queue commands where no server runs: before the first `serve` (no queue directory
yet) and after a server has stopped or died. A queue that was never created is an empty
queue; `queue flush` cannot deliver without a server and says so plainly, with a non-zero
exit (69, EX_UNAVAILABLE, like postqueue -f when the mail system is down)."""
import os

from conftest import queue_id_of, send_message

NO_SERVER_EXIT = 69  # sysexits EX_UNAVAILABLE
SOME_ID = "0006618E00000001"
BODY = b"Subject: waiting\r\n\r\nstill here\r\n"


def test_list_before_first_serve_is_an_empty_list(make_server):
    server = make_server()  # configured, never started: no queue directory exists
    assert not os.path.exists(server.queue_dir)
    r = server.run("queue", "list")
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert r.stdout == "Mail queue is empty\n"
    assert r.stderr == ""
    code, answer = server.queue_json("list")
    assert code == 0, answer
    assert answer["messages"] == []
    assert not os.path.exists(server.queue_dir)  # a look changes nothing on disk


def test_show_before_first_serve_says_no_such_message(make_server):
    server = make_server()
    code, answer = server.queue_json("show", SOME_ID)
    assert code == 1
    assert answer["error"] == f"no message {SOME_ID} in the queue"
    r = server.run("queue", "show", SOME_ID)
    assert r.returncode == 1
    assert r.stderr == f"backstop queue show: no message {SOME_ID} in the queue\n"
    assert not os.path.exists(server.queue_dir)


def test_modifying_commands_before_first_serve_say_no_such_message(make_server):
    server = make_server()
    for verb in ("delete", "hold", "release"):
        code, answer = server.queue_json(verb, SOME_ID)
        assert code == 1, (verb, answer)
        assert answer["error"] == f"no message {SOME_ID} in the queue", verb
    assert not os.path.exists(server.queue_dir)


def test_flush_before_first_serve_says_what_to_do(make_server):
    server = make_server()
    r = server.run("queue", "flush")
    assert r.returncode == NO_SERVER_EXIT, (r.stdout, r.stderr)
    assert r.stdout == ""
    assert f"no backstop server is running for {server.queue_dir}" in r.stderr
    assert "backstop serve" in r.stderr
    assert "delivery is not running" not in r.stderr
    assert not os.path.exists(server.queue_dir)


def test_flush_after_stop_keeps_the_mail_and_says_what_to_do(make_server):
    server = make_server().start()
    qid = queue_id_of(send_message(server.port, "a@b.example", ["u@example.test"], BODY))
    server.stop()
    for args in (("queue", "flush"), ("queue", "flush", "example.test")):
        r = server.run(*args)
        assert r.returncode == NO_SERVER_EXIT, (args, r.stdout, r.stderr)
        assert f"no backstop server is running for {server.queue_dir}" in r.stderr
    r = server.run("queue", "flush", "--json")
    assert r.returncode == NO_SERVER_EXIT
    assert '"ok": false' in r.stdout
    assert server.queue_ids() == [qid]  # nothing delivered, nothing lost


def test_flush_after_kill9_says_what_to_do(make_server):
    server = make_server().start()
    qid = queue_id_of(send_message(server.port, "a@b.example", ["u@example.test"], BODY))
    server.kill9()  # the control socket file stays behind, nobody listens on it
    r = server.run("queue", "flush")
    assert r.returncode == NO_SERVER_EXIT, (r.stdout, r.stderr)
    assert f"no backstop server is running for {server.queue_dir}" in r.stderr
    assert server.queue_ids() == [qid]
