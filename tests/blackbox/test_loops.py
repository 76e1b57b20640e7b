"""Mail loops (RFC 5321 6.3) and mail with nowhere to go: backstop never takes itself for a
next hop (its hostname, local_names, local_addresses and every listen address, a wildcard
listener standing for every address of the host), refuses messages that carry too many
Received headers, and defers at RCPT the recipients of a domain whose best MX it is while no
primary is configured, instead of accepting mail that could only expire and bounce.

dnsmasq serves the .test zone; only loopback addresses are ever contacted."""
import subprocess
import time

import pytest

from conftest import BIN, HOSTNAME, free_port, queue_id_of, rcpt_reply, send_message
from peers import Dns

OUR_IP = "127.0.0.1"  # what the servers of this module listen on
RECORDS = [
    f"--host-record={HOSTNAME},{OUR_IP}",
    # loopy.test: its better MX has another name but points at our listen address.
    "--mx-host=loopy.test,mx1.elsewhere.test,10", f"--host-record=mx1.elsewhere.test,{OUR_IP}",
    f"--mx-host=loopy.test,{HOSTNAME},20",
    # wild.test: its better MX is an address a wildcard listener answers on.
    "--mx-host=wild.test,mx1.wild.test,10", "--host-record=mx1.wild.test,127.0.0.9",
    f"--mx-host=wild.test,{HOSTNAME},20",
    # best.test: we are its only MX.
    f"--mx-host=best.test,{HOSTNAME},10",
]


@pytest.fixture
def dns(tmp_path):
    d = Dns(tmp_path, RECORDS)
    yield d
    d.stop()


def mx_server(make_server, dns, listen=None, domains=None):
    port = int(listen[0].rpartition(":")[2]) if listen else free_port()
    s = make_server(port=port, dns={"servers": [f"127.0.0.1:{dns.port}"], "timeout": 500},
                    smtp={"listen": listen or [f"{OUR_IP}:{port}"]},
                    delivery={"mx_port": port, "retry_initial": "1h"},
                    verify={"callout": False, "sender_domain": False},
                    domains=domains or [{"name": "loopy.test"}, {"name": "best.test"},
                                        {"name": "example.test", "primary": ["127.0.0.1:1"]}])
    return s


def wait_rcpt(port, recipient, code, timeout=10):
    """The RCPT reply once it has the expected code (the route check runs at start)."""
    deadline = time.time() + timeout
    reply = None
    while time.time() < deadline:
        reply = rcpt_reply(port, recipient)
        if reply[0] == code:
            return reply
        time.sleep(0.1)
    raise AssertionError(f"RCPT {recipient}: wanted {code} within {timeout}s, last {reply}")


def test_mx_under_another_name_at_our_listen_address_is_never_a_next_hop(make_server, dns):
    s = mx_server(make_server, dns).start()
    code, lines = wait_rcpt(s.port, "u@loopy.test", 451)
    assert lines[-1].startswith("451 4.4.4 "), lines
    assert "best MX" in lines[-1] and "loopy.test" in lines[-1], lines
    assert s.queued() == []
    assert s.stats()["counters"]["messages_accepted"] == 0


def test_wildcard_listener_means_every_address_of_the_host(make_server, dns):
    port = free_port()
    mx_server(make_server, dns, listen=[f"0.0.0.0:{port}"],
              domains=[{"name": "wild.test"}]).start()
    code, lines = wait_rcpt(port, "u@wild.test", 451)
    assert lines[-1].startswith("451 4.4.4 "), lines
    assert "wild.test" in lines[-1], lines


def test_best_mx_without_primary_defers_at_rcpt_and_logs_once(make_server, dns):
    s = mx_server(make_server, dns).start()
    wait_rcpt(s.port, "u@best.test", 451)
    for i in range(5):
        code, lines = rcpt_reply(s.port, f"user{i}@best.test")
        assert code == 451 and lines[-1].startswith("451 4.4.4 "), lines
        assert "this host is the best MX for best.test" in lines[-1], lines
        assert "no primary is configured" in lines[-1], lines
    errors = [l for l in s.log_text().splitlines()
              if ": error: best.test:" in l and "no primary is configured" in l]
    assert len(errors) == 1, errors
    # Counted as a refusal of its own check, like every other refusal.
    assert any("destination" in k for k in s.stats()["refusals"]), s.stats()["refusals"]
    # A domain with a primary is not affected.
    assert rcpt_reply(s.port, "u@example.test")[0] == 250


def test_check_config_warns_about_a_domain_with_nowhere_to_deliver(make_server, dns):
    s = mx_server(make_server, dns)
    r = subprocess.run([BIN, "check-config", "--config", str(s.config_path)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    warnings = [l for l in r.stderr.splitlines() if "warning:" in l]
    assert any("domain best.test" in w and "best MX" in w for w in warnings), r.stderr
    assert any("domain loopy.test" in w for w in warnings), r.stderr
    assert not any("example.test" in w for w in warnings), r.stderr
    assert "2 warnings" in r.stdout, r.stdout


def test_primary_that_is_our_own_listener_is_a_config_error(make_server, tmp_path):
    port = free_port()
    s = make_server(smtp={"listen": [f"127.0.0.1:{port}"]},
                    domains=[{"name": "example.test", "primary": [f"127.0.0.1:{port}"]}])
    r = subprocess.run([BIN, "check-config", "--config", str(s.config_path)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert "primary" in r.stderr and "mail loop" in r.stderr, r.stderr


def received_headers(n):
    return b"".join(b"Received: from hop%d.example by relay%d.example; "
                    b"Tue, 1 Dec 2026 00:00:00 +0000\r\n" % (i, i) for i in range(n))


@pytest.mark.parametrize("hops,accepted", [(50, True), (51, False)])
def test_hop_count_limit(server, hops, accepted):
    body = (received_headers(hops) + b"Subject: loop\r\n\r\nbody\r\n")
    code, lines = send_message(server.port, "a@b.example", ["u@example.test"], body)
    if accepted:
        queue_id_of((code, lines))
        assert len(server.queued()) == 1
    else:
        assert code == 554 and lines[-1].startswith("554 5.4.6 "), lines
        assert "51 Received headers" in lines[-1], lines
        assert server.queued() == []


def test_hop_count_looks_only_at_the_header_section(server):
    # Received lines in the body (a forwarded message quoted as text) are not hops.
    body = (b"Subject: quoted\r\n\r\n" + received_headers(80))
    queue_id_of(send_message(server.port, "a@b.example", ["u@example.test"], body))


def test_hop_count_is_configurable_and_counts_folded_and_spaced_names(make_server):
    s = make_server(smtp={"hop_count_limit": 2}).start()
    body = (b"Received: from a\r\n\tby b; Tue, 1 Dec 2026 00:00:00 +0000\r\n"
            b"RECEIVED : from c by d\r\n"
            b"received:from e by f\r\n"
            b"X-Received: not a hop\r\n\r\nbody\r\n")
    code, lines = send_message(s.port, "a@b.example", ["u@example.test"], body)
    assert code == 554 and "3 Received headers" in lines[-1], lines


def test_check_config_no_longer_warns_about_options_that_now_work(make_server):
    # greeting_delay detects early talkers, bounce = "verified-sender" reads the mark that
    # the session stores with each message: neither "has no effect" any more.
    s = make_server(smtp={"greeting_delay": "5s"}, delivery={"bounce": "verified-sender"})
    r = subprocess.run([BIN, "check-config", "--config", str(s.config_path)],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stderr
    assert "warning" not in r.stderr, r.stderr
    assert "ok (1 domains)" in r.stdout, r.stdout
