"""`backstop stats`: the running server's counters, checked against what each test did to it."""
import json

from conftest import Smtp, queue_id_of, send_message


def test_counts_connections_messages_recipients_and_refusals(server):
    before = server.stats()
    assert before["counters"]["messages_accepted"] == 0
    assert before["refusals"] == {}
    queue_id_of(send_message(server.port, "a@b.example", ["u1@example.test", "u2@example.test"],
                             b"Subject: counted\r\n\r\nbody\r\n"))
    c = Smtp(server.port)
    c.greet()
    assert c.code("MAIL FROM:<a@b.example>") == 250
    assert c.code("RCPT TO:<x@elsewhere.example>") == 550
    assert c.code("RCPT TO:<y@other.example>") == 550
    c.cmd("QUIT")
    c.close()
    stats = server.stats()
    counters = stats["counters"]
    assert counters["connections_accepted"] == 2, counters
    assert counters["messages_accepted"] == 1, counters
    assert counters["recipients_accepted"] == 2, counters
    # The default primary is a closed port: nothing could tell, and the policy accepted.
    assert counters["unverified_accepted"] == 2, counters
    assert stats["refusals"] == {"RCPT reject relay_domains": 2}
    assert stats["queued_messages"] == len(server.queued()) == 1
    assert stats["uptime_seconds"] >= 0


def test_connections_over_the_per_ip_limit_are_counted_as_refused(make_server):
    server = make_server(smtp={"max_connections_per_ip": 1}).start()
    first = Smtp(server.port)
    first.greet()
    second = Smtp(server.port)
    code, _ = second.read_reply()
    assert code == 421
    second.close()
    counters = server.stats()["counters"]
    assert (counters["connections_accepted"], counters["connections_refused"]) == (1, 1)
    first.close()


def test_text_output_names_each_counter_with_its_meaning(server):
    queue_id_of(send_message(server.port, "a@b.example", ["u1@example.test"],
                             b"Subject: text\r\n\r\nbody\r\n"))
    c = Smtp(server.port)
    c.greet()
    c.cmd("MAIL FROM:<a@b.example>")
    assert c.code("RCPT TO:<x@elsewhere.example>") == 550
    c.close()
    server.wait_for_log("disconnect from [127.0.0.1]", count=2)  # both sessions are over
    out = server.cli("stats").stdout
    lines = {line.split()[0]: line.split() for line in out.splitlines() if line.strip()}
    assert lines["messages_accepted"][1] == "1", out
    assert "acknowledged" in out  # the help text of messages_accepted
    assert lines["bounces_sent"][1] == "0", out
    assert "RCPT reject relay_domains" in out
    assert out.splitlines()[0].startswith("uptime ")
    # Every counter of the JSON answer has its line.
    names = json.loads(server.cli("stats", "--json").stdout)["counters"].keys()
    assert all(name in lines for name in names), out


def test_without_a_running_server_stats_says_so(make_server):
    server = make_server()
    server.write_config()
    r = server.run("stats")
    assert r.returncode == 1
    assert "no server answers" in r.stderr
