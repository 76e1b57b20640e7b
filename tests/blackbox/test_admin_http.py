"""The admin HTTP listener against the real binary: /metrics after a scripted session (and
promtool's opinion of it), the JSON API answering what the CLI answers, the queue operations
as POST, and the bearer token; then the operator's whole list (connections by listener, sessions
by outcome, queue age, the primary per domain, DNS and fsync histograms) after a scripted
session with a trap listener, a real DNS server and a primary that is down, and the API's
primary, offenders, blacklist and config summary."""
import json
import shutil
import socket
import subprocess
import urllib.error
import urllib.request

import pytest

from conftest import MACHINE_CANNOT, Smtp, free_port, send_message, wait_until
from peers import Dns
from test_traps import trap, with_listeners


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


def metrics_of(server):
    status, text = http(server, "GET", "/metrics")
    assert status == 200, text
    return text


def api(server, path, token=None):
    status, body = http(server, "GET", path, token)
    assert status == 200, body
    answer = json.loads(body)
    assert answer["ok"] is True, answer
    return answer


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


@pytest.fixture
def watched_server(tmp_path, make_server):
    """A refuse trap beside the SMTP listener, dnsmasq answering for the sender's domain, and
    a primary (a closed port) that the monitor probes every second and calls down at once."""
    dns = Dns(tmp_path, ["--mx-host=b.test,mx.b.test,10", "--host-record=mx.b.test,127.0.0.66"])
    refuse = trap("refuse", name="nolist")
    port = free_port()
    server = with_listeners(make_server(
        admin={"listen": f"127.0.0.1:{port}", "token": "s3cret-token"},
        dns={"servers": [f"127.0.0.1:{dns.port}"], "timeout": 500},
        verify={"sender_domain": True, "unverified": "accept"},
        monitor={"probe_interval": "1s", "down_after": 1}), [refuse]).start()
    server.admin_port = port
    server.refuse = refuse
    yield server
    server.stop()
    dns.stop()


def get(server, path):
    return http(server, "GET", path, token="s3cret-token")


def operator_session(server):
    """One message, one refused RCPT then QUIT, one client that hangs up, one trap hit."""
    code, lines = send_message(server.port, "a@b.test", ["u@example.test"],
                               b"Subject: s\r\n\r\nbody\r\n")
    assert code == 250, lines
    c = Smtp(server.port)
    c.greet("client.example")
    assert c.cmd("MAIL FROM:<a@b.test>")[0] == 250
    assert c.cmd("RCPT TO:<someone@elsewhere.example>")[0] == 550
    assert c.cmd("QUIT")[0] == 221
    c.close()
    c = Smtp(server.port)
    c.greet("client.example")
    c.close()  # no QUIT: dropped
    host, _, trap_port = server.refuse["address"].rpartition(":")
    try:
        with socket.create_connection((host, int(trap_port)), timeout=5) as s:
            s.recv(1)
    except OSError:
        pass  # the refuse trap resets the connection


def test_metrics_carry_the_operators_list(watched_server):
    server = watched_server
    operator_session(server)
    smtp = f'backstop_listener_connections_total{{listener="127.0.0.1:{server.port}",kind="smtp"}}'
    trap_hits = 'backstop_listener_connections_total{listener="nolist",kind="refuse"}'

    def text():
        return get(server, "/metrics")[1]

    def settled():
        t = text()
        return (metric(t, 'backstop_sessions_total{outcome="dropped"}') == 1
                and metric(t, trap_hits) == 1
                and metric(t, "backstop_queue_oldest_message_age_seconds") >= 1
                and 'backstop_primary_up{domain="example.test"} 0' in t
                and api(server, "/api/primary?token=s3cret-token")["domains"][0]["state"]
                == "down")
    assert wait_until(settled, timeout=10), text()
    t = text()
    assert metric(t, smtp) == 3
    assert metric(t, "backstop_connections_accepted_total") == 3
    assert metric(t, 'backstop_sessions_total{outcome="mail"}') == 1
    assert metric(t, 'backstop_sessions_total{outcome="no_mail"}') == 1
    assert metric(t, 'backstop_sessions_total{outcome="timeout"}') == 0
    assert metric(t, "backstop_messages_accepted_total") == 1
    assert metric(t, 'backstop_refusals_total{stage="RCPT",decision="reject",'
                     'check="relay_domains"}') == 1
    assert metric(t, "backstop_queue_messages") == 1
    # u@example.test was not known: the primary was asked (and could not tell).
    assert metric(t, "backstop_callout_cache_misses_total") >= 1
    assert metric(t, "backstop_callout_cache_hits_total") == 0
    assert metric(t, "backstop_connections_current") >= 0
    assert metric(t, "backstop_fsync_seconds_count") >= 1
    assert metric(t, "backstop_fsync_batch_records_count") >= 1
    assert metric(t, 'backstop_fsync_batch_records_bucket{le="+Inf"}') == metric(
        t, "backstop_fsync_batch_records_count")
    # The sender domain b.test was looked up at dnsmasq.
    assert metric(t, "backstop_dns_query_seconds_count") >= 1
    assert metric(t, "backstop_dns_query_seconds_sum") > 0
    assert "# TYPE backstop_dns_query_seconds histogram" in t
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip(f"{MACHINE_CANNOT} run promtool (Debian package prometheus)")
    r = subprocess.run([promtool, "check", "metrics"], input=t, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr


def test_api_primary_and_its_history(watched_server):
    server = watched_server
    assert wait_until(lambda: get(server, "/api/primary/history?domain=example.test")[0] == 200
                      and json.loads(get(server, "/api/primary/history?domain=example.test")[1])
                      ["changes"], timeout=10)
    changes = json.loads(get(server, "/api/primary/history?domain=example.test")[1])["changes"]
    assert changes[0]["domain"] == "example.test"
    assert changes[0]["host"] == "127.0.0.1"
    assert changes[0]["to"] == "down"
    primary = json.loads(get(server, "/api/primary")[1])["domains"]
    assert [d["domain"] for d in primary] == ["example.test"]
    assert primary[0]["state"] == "down"
    assert primary[0]["hosts"][0]["state"] == "down"
    assert primary[0]["hosts"][0]["failures"] >= 1
    status, body = get(server, "/api/primary/history?domain=other.example")
    assert status == 200 and json.loads(body)["changes"] == []


def test_api_offenders_and_blacklist_answer_what_the_cli_answers(watched_server):
    server = watched_server
    server.cli("blacklist", "add", "192.0.2.7", "--reason", "by hand")
    server.cli("blacklist", "report", "192.0.2.8", "--kind", "trap", "--detail", "hit")
    status, body = get(server, "/api/blacklist")
    assert status == 200, body
    api_listings = json.loads(body)["listings"]
    cli_listings = json.loads(server.cli("blacklist", "list", "--json").stdout)["listings"]
    assert api_listings == cli_listings
    assert [l["address"] for l in api_listings] == ["192.0.2.7"]
    status, body = get(server, "/api/offenders")
    assert status == 200, body
    api_offenders = json.loads(body)["offenders"]
    assert api_offenders == json.loads(server.cli("offenders", "--json").stdout)["offenders"]
    assert [o["address"] for o in api_offenders] == ["192.0.2.8"]
    assert api_offenders[0]["offenses"][0]["kind"] == "trap"
    status, body = get(server, "/api/offenders?address=192.0.2.7")
    assert status == 200 and json.loads(body)["offenders"][0]["offenses"] == []


def test_api_config_summary_has_no_secrets(watched_server):
    server = watched_server
    status, body = get(server, "/api/config")
    assert status == 200, body
    config = json.loads(body)["config"]
    assert config["hostname"] == "mx2.example.test"
    assert [d["name"] for d in config["domains"]] == ["example.test"]
    assert config["listeners"][0]["kind"] == "refuse"
    assert config["admin"]["token_set"] is True
    assert "s3cret-token" not in body
    assert "token" not in config["admin"]
