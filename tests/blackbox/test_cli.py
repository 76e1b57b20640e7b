"""The operator's commands: queue list/show/delete/hold/release, check-config."""
import subprocess

from conftest import BIN, queue_id_of, send_message


def queue_two(server):
    return [queue_id_of(send_message(server.port, "a@b.example", [f"u{i}@example.test"],
                                     b"Subject: cli %d\r\n\r\nbody\r\n" % i)) for i in range(2)]


def check_queue_commands(server, running):
    first, second = queue_two(server) if running else server.ids
    code, answer = server.queue_json("show", first)
    assert code == 0 and answer["message"]["id"] == first
    assert "Subject: cli 0" in answer["body"]
    assert server.queue_json("hold", first)[0] == 0
    held = {m["id"]: m["status"] for m in server.queued()}
    assert held == {first: "held", second: "active"}
    text = server.cli("queue", "list").stdout
    assert first + "!" in text and "u0@example.test" in text and "2 Requests" in text
    assert server.queue_json("release", first)[0] == 0
    assert {m["status"] for m in server.queued()} == {"active"}
    assert server.queue_json("delete", second)[0] == 0
    assert [m["id"] for m in server.queued()] == [first]
    code, answer = server.queue_json("show", second)
    assert code == 1 and "no message" in answer["error"]
    code, answer = server.queue_json("hold", "not-an-id")
    assert code == 1 and "not a queue id" in answer["error"]
    return first


def test_queue_commands_while_running(server):
    first = check_queue_commands(server, running=True)
    server.stop()
    server.start()
    assert [m["id"] for m in server.queued()] == [first]  # changes were durable


def test_queue_commands_while_stopped(server):
    server.ids = queue_two(server)
    server.stop()
    check_queue_commands(server, running=False)
    server.start()
    assert len(server.queued()) == 1


def test_empty_queue_text(server):
    assert "Mail queue is empty" in server.cli("queue", "list").stdout


def test_check_config_reports_key_and_line(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('hostname = "mx.example"\n[smtp]\nmax_recipients = 0\nlissten = []\n'
                   '[[domain]]\nname = "example.test"\n')
    r = subprocess.run([BIN, "check-config", "--config", str(cfg)], capture_output=True,
                       text=True)
    assert r.returncode == 1
    assert "smtp.max_recipients (line 3): must be between" in r.stderr
    assert "smtp.lissten (line 4): unknown key" in r.stderr
    good = tmp_path / "good.toml"
    good.write_text('hostname = "mx.example"\n[[domain]]\nname = "example.test"\n')
    r = subprocess.run([BIN, "check-config", "--config", str(good)], capture_output=True,
                       text=True)
    assert r.returncode == 0 and "ok" in r.stdout


def test_serve_refuses_bad_config(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text('hostname = "mx.example"\n')
    r = subprocess.run([BIN, "serve", "--config", str(cfg)], capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 1 and "no [[domain]]" in r.stderr


def test_help_everywhere():
    for args in ([], ["serve"], ["queue"], ["queue", "list"], ["check-config"]):
        r = subprocess.run([BIN, *args, "--help"], capture_output=True, text=True)
        assert r.returncode == 0 and "Usage" in r.stdout
