"""The admin HTTP listener against the real binary: /metrics after a scripted session (and
promtool's opinion of it), the JSON API answering what the CLI answers, the queue operations
as POST, and the bearer token."""
import json
import shutil
import subprocess
import urllib.error
import urllib.request

import pytest

from conftest import MACHINE_CANNOT, Smtp, free_port, send_message


def http(server, method, path, token=None):
    """(status, body text) of one request to the server's admin listener."""
    request = urllib.request.Request(f"http://127.0.0.1:{server.admin_port}{path}",
                                     method=method, data=b"" if method == "POST" else None)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture
def admin_server(make_server):
    def start(**admin):
        port = free_port()
        server = make_server(admin=dict({"listen": f"127.0.0.1:{port}"}, **admin)).start()
        server.admin_port = port
        server.wait_for_log(f"admin HTTP on 127.0.0.1:{port}")
        return server
    return start


def scripted_session(server):
    code, lines = send_message(server.port, "a@b.example", ["u@example.test"],
                               b"Subject: s\r\n\r\nbody\r\n")
    assert code == 250, lines
    c = Smtp(server.port)
    c.greet("client.example")
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
    assert c.cmd("RCPT TO:<someone@elsewhere.example>")[0] == 550
    c.close()


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{name} not in:\n{text}")


def test_metrics_after_a_scripted_session(admin_server):
    server = admin_server()
    scripted_session(server)
    status, text = http(server, "GET", "/metrics")
    assert status == 200
    assert metric(text, "backstop_messages_accepted_total") == 1
    assert metric(text, "backstop_queue_messages") == 1
    assert metric(text, 'backstop_refusals_total{stage="RCPT",decision="reject",'
                        'check="relay_domains"}') == 1
    assert "# TYPE backstop_messages_accepted_total counter" in text


def test_metrics_pass_promtool(admin_server):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip(f"{MACHINE_CANNOT} run promtool (Debian package prometheus)")
    server = admin_server()
    scripted_session(server)
    _, text = http(server, "GET", "/metrics")
    r = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True,
                       text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_api_answers_what_the_cli_answers(admin_server):
    server = admin_server()
    scripted_session(server)
    status, body = http(server, "GET", "/api/queue")
    assert status == 200
    api = json.loads(body)
    code, cli = server.queue_json("list")
    assert code == 0
    assert [m["id"] for m in api["messages"]] == [m["id"] for m in cli["messages"]]
    queue_id = api["messages"][0]["id"]
    status, body = http(server, "GET", f"/api/queue/{queue_id}")
    assert status == 200 and json.loads(body)["message"]["id"] == queue_id
    status, body = http(server, "GET", "/api/stats")
    assert status == 200 and json.loads(body)["queued_messages"] == 1


def test_queue_operations_as_post(admin_server):
    server = admin_server()
    scripted_session(server)
    queue_id = server.queue_ids()[0]
    status, body = http(server, "POST", f"/api/queue/{queue_id}/hold")
    assert status == 200, body
    assert server.show(queue_id)["message"]["status"] == "held"
    status, body = http(server, "POST", f"/api/queue/{queue_id}/release")
    assert status == 200, body
    assert server.show(queue_id)["message"]["status"] == "active"
    status, body = http(server, "POST", f"/api/queue/{queue_id}/delete")
    assert status == 200, body
    assert server.queue_ids() == []
    status, _ = http(server, "GET", f"/api/queue/{queue_id}")
    assert status == 404


def test_unknown_paths_and_methods_are_404(admin_server):
    server = admin_server()
    assert http(server, "GET", "/api/nothing")[0] == 404
    assert http(server, "GET", "/api/queue/x/hold")[0] == 404  # a change needs POST


def test_bearer_token_guards_every_path(admin_server):
    server = admin_server(token="s3cret")
    assert http(server, "GET", "/metrics")[0] == 401
    assert http(server, "GET", "/api/queue", token="wrong")[0] == 401
    assert http(server, "GET", "/metrics", token="s3cret")[0] == 200
    assert http(server, "GET", "/api/queue", token="s3cret")[0] == 200


def test_non_loopback_listener_needs_a_token(make_server):
    server = make_server(admin={"listen": "192.0.2.1:8025"})
    r = server.run("check-config")
    assert r.returncode != 0
    assert "admin.token" in r.stdout + r.stderr


def test_admin_port_taken_is_a_startup_error(make_server, admin_server):
    first = admin_server()
    second = make_server(admin={"listen": f"127.0.0.1:{first.admin_port}"})
    with pytest.raises(RuntimeError):
        second.start(timeout=5)
    assert "admin.listen" in second.log_text()
