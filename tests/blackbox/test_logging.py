"""[log] format and output: the Postfix-like text lines with one summary line per delivery
(from, to, relay, delay, status), the same events as one JSON object per line, and output to
syslog and to the journal, caught on the sockets those daemons would listen on."""
import json
import os
import socket
import subprocess
import time

import pytest

from conftest import BIN, MACHINE_CANNOT, Smtp, _live_servers, free_port, send_message
from peers import Sink

PRIMARY = "127.0.0.3"


def deliver_one(tmp_path, make_server, **log):
    port = free_port()
    sink = Sink(tmp_path, PRIMARY, port).start()
    server = make_server(log=dict({"level": "info"}, **log),
                         delivery={"retry_initial": "1s"},
                         domains=[{"name": "example.test", "primary": [f"{PRIMARY}:{port}"]}])
    server.start()
    code, lines = send_message(server.port, "a@b.example", ["u@example.test"],
                               b"Subject: s\r\n\r\nbody\r\n")
    assert code == 250, lines
    sink.wait_messages(1)
    return server, sink


def test_text_summary_line_names_sender_recipient_relay_delay_status(tmp_path, make_server):
    server, sink = deliver_one(tmp_path, make_server)
    try:
        line = server.wait_for_log("status=sent")[0]
        assert "from=<a@b.example> to=<u@example.test>" in line, line
        assert f"relay={PRIMARY}[{PRIMARY}:{sink.port}]" in line, line
        assert " delay=" in line and "s status=sent (250 " in line, line
    finally:
        sink.remove()


def json_lines(server):
    text = server.log_text()
    lines = [l for l in text.splitlines() if l.strip()]
    assert lines
    return [json.loads(l) for l in lines]  # every line is one JSON object


def test_json_lines_carry_session_queue_id_and_fields(tmp_path, make_server):
    server, sink = deliver_one(tmp_path, make_server, format="json")
    try:
        server.wait_for_log('"status":"sent"')
        events = json_lines(server)
        for e in events:
            assert set(e) >= {"time", "level", "message"}, e
            assert e["time"].endswith("Z") and "T" in e["time"], e
        accepted = [e for e in events if e.get("fields", {}).get("nrcpt") == "1"]
        assert len(accepted) == 1, events
        assert accepted[0]["session"] and len(accepted[0]["queue_id"]) == 16, accepted
        assert accepted[0]["fields"]["from"] == "<a@b.example>", accepted
        sent = [e for e in events if e.get("fields", {}).get("status") == "sent"]
        assert len(sent) == 1, events
        assert sent[0]["queue_id"] == accepted[0]["queue_id"], sent
        assert sent[0]["fields"]["to"] == "<u@example.test>", sent
        assert sent[0]["fields"]["relay"].startswith(f"{PRIMARY}["), sent
        assert sent[0]["fields"]["delay"].endswith("s"), sent
    finally:
        sink.remove()


def test_json_survives_bytes_that_are_not_utf8(make_server):
    server = make_server(log={"level": "debug", "format": "json"}).start()
    c = Smtp(server.port)
    c.read_reply()
    c.send(b"HELO \xff\xfe.example\r\n")
    c.read_reply()
    c.send(b"MAIL FROM:<\xc3(@b.example>\r\n")
    c.read_reply()
    c.close()
    server.wait_for_log("disconnect")
    events = json_lines(server)
    assert any("disconnect" in e["message"] for e in events)


def capture_socket(path):
    """A datagram socket where a daemon would listen, if that daemon is not running."""
    if os.path.exists(path):
        pytest.skip(f"{MACHINE_CANNOT} take over {path}: a daemon is listening there")
    if not os.path.isdir(os.path.dirname(path)):
        os.makedirs(os.path.dirname(path))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(path)
    s.settimeout(10)
    return s


def receive_until(sock, wanted):
    seen = []
    while True:
        data = sock.recv(65536)  # socket.timeout ends the test after 10 s
        seen.append(data)
        if wanted in data:
            return data


def test_syslog_output_is_facility_mail_with_the_pid(make_server):
    sock = capture_socket("/dev/log")
    try:
        server = make_server(log={"output": "syslog"})
        started_without_log(server)
        data = receive_until(sock, b"backstop started")
        # <PRI> = facility mail (2) * 8 + info (6) = 22.
        assert data.startswith(b"<22>"), data
        assert f"backstop[{server.proc.pid}]".encode() in data, data
    finally:
        sock.close()
        os.unlink("/dev/log")


def test_journald_output_sends_native_fields(make_server):
    path = "/run/systemd/journal/socket"
    sock = capture_socket(path)
    try:
        server = make_server(log={"output": "journald"})
        started_without_log(server)
        data = receive_until(sock, b"backstop started")
        fields = data.split(b"\n")
        assert b"SYSLOG_IDENTIFIER=backstop" in fields, data
        assert b"PRIORITY=6" in fields, data
        assert any(f.startswith(b"MESSAGE=") and b"backstop started" in f for f in fields), data
    finally:
        sock.close()
        os.unlink(path)


def started_without_log(server):
    """Starts a server whose log does not go to its file: waits for the port instead."""
    server.proc = subprocess.Popen([BIN, "serve", "--config", str(server.config_path)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
    _live_servers.append(server)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.05)
    raise AssertionError("backstop did not listen")
