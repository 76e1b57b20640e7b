"""The operator's commands: queue list/show/delete/hold/release (over the control socket while
the server runs, on the spool directly when it is stopped), --json and text, exit codes,
check-config."""
import json
import os
import re
import stat
import subprocess

import pytest

from conftest import BIN, Smtp, decode, queue_id_of, send_message, split_received


def queue_two(server):
    return [queue_id_of(send_message(server.port, "a@b.example", [f"u{i}@example.test"],
                                     b"Subject: cli %d\r\n\r\nbody %d\r\n" % (i, i)))
            for i in range(2)]


def statuses(server):
    return {m["id"]: m["status"] for m in server.queued()}


@pytest.mark.parametrize("running", [True, False], ids=["running", "stopped"])
def test_queue_commands_json(server, running):
    first, second = queue_two(server)
    if not running:
        server.stop()
    else:
        mode = os.stat(os.path.join(server.queue_dir, "control.sock")).st_mode
        assert stat.S_ISSOCK(mode)
        assert mode & 0o077 == 0, oct(mode)  # only the owner may drive the queue
    code, answer = server.queue_json("show", first)
    assert code == 0 and answer["message"]["id"] == first
    assert answer["body"].startswith("Received: from client.example ([127.0.0.1])")
    assert answer["body"].endswith("\r\nSubject: cli 0\r\n\r\nbody 0\r\n")
    assert [r["address"] for r in answer["message"]["recipients"]] == ["u0@example.test"]

    code, answer = server.queue_json("hold", first)
    assert code == 0 and answer["ok"] is True
    assert statuses(server) == {first: "held", second: "active"}
    assert server.show(first)["message"]["status"] == "held"

    code, answer = server.queue_json("release", first)
    assert code == 0
    assert statuses(server) == {first: "active", second: "active"}

    code, answer = server.queue_json("hold", second)
    assert code == 0
    code, answer = server.queue_json("delete", first)
    assert code == 0
    assert statuses(server) == {second: "held"}
    code, answer = server.queue_json("show", first)
    assert code == 1 and answer["ok"] is False and answer["error"]

    # the changes are durable: they survive a restart (and a kill -9)
    if running:
        server.kill9()
    server.start()
    assert statuses(server) == {second: "held"}
    server.restart()
    assert statuses(server) == {second: "held"}


@pytest.mark.parametrize("running", [True, False], ids=["running", "stopped"])
def test_queue_commands_text(server, running):
    first, second = queue_two(server)
    if not running:
        server.stop()
    out = server.cli("queue", "list").stdout
    assert first in out and second in out
    assert "u0@example.test" in out and "u1@example.test" in out and "a@b.example" in out
    out = server.cli("queue", "show", first).stdout
    assert first in out and "Subject: cli 0" in out and "body 0" in out
    server.cli("queue", "hold", second)
    assert statuses(server)[second] == "held"
    server.cli("queue", "release", second)
    assert statuses(server)[second] == "active"
    server.cli("queue", "delete", second)
    assert list(statuses(server)) == [first]
    assert second not in server.cli("queue", "list").stdout


@pytest.mark.parametrize("running", [True, False], ids=["running", "stopped"])
@pytest.mark.parametrize("verb", ["show", "delete", "hold", "release"])
def test_unknown_and_malformed_ids(server, running, verb):
    queue_two(server)
    if not running:
        server.stop()
    for bad in ("0000000000000000", "not-an-id", "../../etc/passwd", ""):
        code, answer = server.queue_json(verb, bad)
        assert code == 1 and answer["ok"] is False, (bad, answer)
        assert isinstance(answer["error"], str) and answer["error"]
        r = server.run("queue", verb, bad)
        assert r.returncode == 1 and r.stderr.strip(), (bad, r.stdout, r.stderr)
    assert len(server.queued()) == 2  # nothing was touched


def test_release_of_active_and_double_delete(server):
    first, _ = queue_two(server)
    code, answer = server.queue_json("release", first)  # not held: harmless, like postsuper -H
    assert (code, answer["ok"]) == (0, True), answer
    assert statuses(server)[first] == "active"
    assert server.queue_json("delete", first)[0] == 0
    code, answer = server.queue_json("delete", first)
    assert code == 1 and answer["ok"] is False


def test_list_json_empty_and_shape(server):
    code, answer = server.queue_json("list")
    assert code == 0 and answer == {"ok": True, "messages": []}
    queue_two(server)
    for m in server.queued():
        assert set(m) >= {"id", "size", "arrival", "sender", "recipients", "status",
                          "client_ip", "helo", "tls", "smtputf8", "envid", "sender_verified"}
        for r in m["recipients"]:
            assert set(r) >= {"address", "status", "attempts", "next_attempt", "last_error"}
            assert isinstance(r["attempts"], int)


def test_cli_after_kill9_uses_the_spool(server):
    ids = queue_two(server)
    server.kill9()  # a stale control.sock may be left behind
    assert server.queue_ids() == sorted(ids)
    assert server.queue_json("hold", ids[0])[0] == 0
    server.start()
    assert statuses(server) == {ids[0]: "held", ids[1]: "active"}


def test_show_running_and_stopped_print_the_same_bytes(server):
    """The stored message must come out the same whichever way the CLI reaches it."""
    body = b"Subject: 8bit\r\n\r\ncaf\xe9 \xff\xfe\x80 \xc3\xa9\r\n"
    qid = queue_id_of(send_message(server.port, "a@b.example", ["u@example.test"], body,
                                   params=" BODY=8BITMIME"))
    running = server.raw_message(qid)
    server.stop()
    stopped = server.raw_message(qid)
    assert split_received(stopped)[1] == body  # the spool has the exact bytes
    assert running == stopped


def test_hold_and_delete_while_a_session_is_open(server):
    first, second = queue_two(server)
    c = Smtp(server.port)
    c.start_mail()
    assert server.queue_json("hold", first)[0] == 0
    assert server.queue_json("delete", second)[0] == 0
    c.send(b"Subject: third\r\n\r\nx\r\n.\r\n")
    third = queue_id_of(c.read_reply())
    assert statuses(server) == {first: "held", third: "active"}


# ---- check-config ---------------------------------------------------------------------------

def check_config(path):
    r = subprocess.run([BIN, "check-config", "--config", str(path)], capture_output=True,
                       timeout=30)
    return r.returncode, decode(r.stdout) + decode(r.stderr)


def error_line(out, path, key, line):
    """The error line for key at line, as "FILE: key (line N): message"."""
    pat = re.compile(rf"^{re.escape(str(path))}: (?:[a-z_]+(?:\[\d+\])?\.)?{re.escape(key)} "
                     rf"\(line {line}\): \S.*$", re.M)
    return pat.search(out)


def test_check_config_accepts_the_documented_example(tmp_path, tls_files):
    cert, key = tls_files
    cfg = tmp_path / "full.toml"
    cfg.write_text(f'''hostname = "mx2.example.test"
[smtp]
listen = ["127.0.0.1:2525"]
max_message_size = 26214400      # bytes
max_connections = 10000
max_connections_per_ip = 50
max_recipients = 100
max_errors = 10
max_line_length = 1000
bare_line_endings = "reject"
tls_certificate = "{cert}"
tls_key = "{key}"
command_timeout = "5m"
data_timeout = "3m"
workers = 2
[queue]
dir = "{tmp_path}/queue"
[state]
backend = "sqlite"
path = "{tmp_path}/state.db"
[dns]
servers = ["127.0.0.1:5353"]
[[domain]]
name = "example.test"
primary = ["127.0.0.1:2526"]
''')
    code, out = check_config(cfg)
    assert code == 0, out
    assert re.search(rf"^{re.escape(str(cfg))}: ok \(.*\)$", out, re.M), out


@pytest.mark.parametrize("value", ['90', '"90s"', '"5m"', '"4h"'])
def test_check_config_duration_forms(tmp_path, value):
    cfg = tmp_path / "d.toml"
    cfg.write_text(f'hostname = "mx.example"\n[smtp]\ncommand_timeout = {value}\n'
                   f'data_timeout = {value}\n[[domain]]\nname = "example.test"\n')
    code, out = check_config(cfg)
    assert code == 0, out


def test_check_config_reports_every_error_with_key_and_line(tmp_path):
    cfg = tmp_path / "bad.toml"
    cfg.write_text(
        'hostname = "mx.example"\n'            # 1
        'bogus_top = 1\n'                      # 2 unknown key
        '[smtp]\n'                             # 3
        'max_errors = "many"\n'                # 4 wrong type
        'lissten = ["127.0.0.1:25"]\n'         # 5 unknown key (typo)
        'bare_line_endings = "sometimes"\n'    # 6 bad enum
        'command_timeout = "5 parsecs"\n'      # 7 bad duration
        '[queue]\n'                            # 8
        'dirr = "/tmp/x"\n'                    # 9 unknown key
        '[[domain]]\n'                         # 10
        'name = "example.test"\n'              # 11
        'primry = ["127.0.0.1:25"]\n')         # 12 unknown key inside [[domain]]
    code, out = check_config(cfg)
    assert code == 1, out
    for key, line in [("bogus_top", 2), ("max_errors", 4), ("lissten", 5),
                      ("bare_line_endings", 6), ("command_timeout", 7), ("dirr", 9),
                      ("primry", 12)]:
        assert error_line(out, cfg, key, line), f"no error for {key} at line {line}:\n{out}"
    assert "ok (" not in out


def test_check_config_unknown_section(tmp_path):
    cfg = tmp_path / "sect.toml"
    cfg.write_text('hostname = "mx.example"\n[smpt]\nlisten = []\n'
                   '[[domain]]\nname = "example.test"\n')
    code, out = check_config(cfg)
    assert code == 1 and "line 2" in out and "smpt" in out, out


def test_check_config_toml_syntax_error(tmp_path):
    cfg = tmp_path / "syntax.toml"
    cfg.write_text('hostname = "mx.example"\n[smtp]\nmax_errors = = 3\n'
                   '[[domain]]\nname = "example.test"\n')
    code, out = check_config(cfg)
    assert code == 1 and str(cfg) in out and "line 3" in out, out


def test_check_config_missing_file(tmp_path):
    code, out = check_config(tmp_path / "nope.toml")
    assert code == 1 and "nope.toml" in out, out


def test_serve_refuses_bad_config_and_does_not_listen(make_server):
    server = make_server(smtp={"max_errors": "many"})
    r = subprocess.run([BIN, "serve", "--config", str(server.config_path)],
                       capture_output=True, timeout=10)
    assert r.returncode != 0
    assert "max_errors (line" in decode(r.stderr)
    with pytest.raises(OSError):
        Smtp(server.port, timeout=1)


def test_unknown_subcommands_fail():
    for args in (["frobnicate"], ["queue", "frobnicate"]):
        r = subprocess.run([BIN, *args], capture_output=True, timeout=10)
        assert r.returncode != 0, args


def test_queue_show_json_is_valid_json_for_odd_bytes(server):
    body = b'Subject: "quotes" \\ back\\slash\r\n\r\n\t\x01\x1f control {"ok":false}\r\n'
    qid = queue_id_of(send_message(server.port, "a@b.example", ["u@example.test"], body))
    r = server.run("queue", "show", qid, "--json")
    answer = json.loads(r.stdout)
    assert answer["ok"] is True and answer["message"]["id"] == qid
    assert answer["body"].endswith(body.decode())


def test_check_config_needs_a_domain(tmp_path):
    cfg = tmp_path / "nodomain.toml"
    cfg.write_text('hostname = "mx.example"\n')
    code, out = check_config(cfg)
    assert code == 1 and "domain" in out and "ok (" not in out, out


def test_help_everywhere():
    for args in ([], ["serve"], ["queue"], ["queue", "list"], ["check-config"]):
        r = subprocess.run([BIN, *args, "--help"], capture_output=True, timeout=10)
        assert r.returncode == 0 and b"Usage" in r.stdout, args


def test_cli_never_edits_a_running_spool_behind_the_servers_back(server):
    """With the control socket gone, the CLI must not open the spool the server holds for
    writing; whatever it answers must be what is true after a restart."""
    qid, _ = queue_two(server)
    os.unlink(os.path.join(server.queue_dir, "control.sock"))
    code, answer = server.queue_json("hold", qid)
    # The spool's lock is held by the server: refused, and saying why.
    assert code == 1 and "in use by another backstop process" in answer["error"], answer
    server.kill9()
    server.start()
    assert statuses(server)[qid] == "active"
    assert len(server.queued()) == 2
