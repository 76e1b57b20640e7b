"""SIGHUP: after a reload every per-domain behaviour follows the new configuration (routes,
ETRN, per-domain TLS, "nowhere to deliver"), and options that only a restart can apply are
named in the log as ignored until restart. Peers: smtp-sink as the new domain's primary."""
import signal
import time

from conftest import Smtp, free_port, queue_id_of, rcpt_reply, send_message
from peers import Sink

NEW_PRIMARY = "127.0.0.3"


def reload(server, expect):
    """Sends SIGHUP and waits for the log line that says the reload is done."""
    offset = len(server.log_text())
    server.write_config()
    server.proc.send_signal(signal.SIGHUP)
    deadline = time.time() + 10
    while time.time() < deadline:
        text = server.log_text()[offset:]
        if expect in text:
            return text
        time.sleep(0.05)
    raise AssertionError(f"no {expect!r} after SIGHUP:\n{server.log_text()[offset:]}")


def test_domain_added_by_sighup_is_delivered_to_its_primary(make_server, tmp_path):
    sink = Sink(tmp_path, NEW_PRIMARY, free_port()).start()
    try:
        s = make_server(smtp={"etrn_clients": ["127.0.0.1/32"]},
                        delivery={"retry_initial": "1h"}).start()
        s.domains.append({"name": "new.test", "primary": [f"{NEW_PRIMARY}:{sink.port}"]})
        reload(s, "reload: 2 domains")
        queue_id_of(send_message(s.port, "a@b.example", ["u@new.test"],
                                 b"Subject: after reload\r\n\r\nhello\r\n"))
        got = sink.wait_messages(1)
        assert len(got) == 1, s.log_text()[-3000:]
        assert b"after reload" in got[0][1]
        # ETRN for the new domain is a backed-up domain's answer, not 458.
        c = Smtp(s.port)
        c.greet()
        code, lines = c.cmd("ETRN new.test")
        assert code in (251, 253) and "new.test" in lines[-1], lines
        c.close()
    finally:
        sink.remove()


def test_domain_removed_by_sighup_is_refused_by_etrn(make_server):
    s = make_server(smtp={"etrn_clients": ["127.0.0.1/32"]}).start()
    s.domains.append({"name": "gone.test", "primary": ["127.0.0.1:1"]})
    reload(s, "reload: 2 domains")
    c = Smtp(s.port)
    c.greet()
    assert c.code("ETRN gone.test") == 251
    s.domains.pop()
    reload(s, "reload: 1 domains")
    assert c.code("ETRN gone.test") == 458


def test_options_that_need_a_restart_are_named_in_the_log(make_server):
    s = make_server().start()
    s.sections["smtp"]["max_recipients"] = 7
    s.sections["queue"]["segment_size"] = 2 * 1024 * 1024
    text = reload(s, "reload: 1 domains")
    assert "reload: smtp.max_recipients changed; ignored until restart" in text, text
    assert "reload: queue.segment_size changed; ignored until restart" in text, text
    assert "reload: smtp.listen" not in text, text


def test_tls_required_set_by_sighup_applies_to_the_next_delivery(make_server, tmp_path):
    # smtp-sink offers no STARTTLS: with tls = "required" nothing may be handed to it.
    sink = Sink(tmp_path, NEW_PRIMARY, free_port()).start()
    try:
        s = make_server(delivery={"retry_initial": "1h"},
                        domains=[{"name": "example.test",
                                  "primary": [f"{NEW_PRIMARY}:{sink.port}"]}]).start()
        s.domains[0]["tls"] = "required"
        reload(s, "reload: 1 domains")
        qid = queue_id_of(send_message(s.port, "a@b.example", ["u@example.test"],
                                       b"Subject: needs TLS\r\n\r\nsecret\r\n"))
        deadline = time.time() + 10
        while "does not offer STARTTLS" not in s.log_text() and time.time() < deadline:
            time.sleep(0.05)
        assert "does not offer STARTTLS" in s.log_text(), s.log_text()[-3000:]
        assert [m["id"] for m in s.queued()] == [qid]
        assert sink.messages() == []
    finally:
        sink.remove()


def test_tls_required_by_sighup_is_not_bypassed_by_a_pooled_callout_connection(make_server,
                                                                              tmp_path):
    from postfix_primary import PostfixPrimary
    primary = PostfixPrimary(tmp_path / "primary", users=("alice",))  # offers no STARTTLS
    primary.start()
    try:
        s = make_server(verify={"callout": True, "unverified": "defer", "timeout": "5s",
                                "idle_timeout": "5m", "unknown_recipient_delay": "0s"},
                        domains=[{"name": "example.test",
                                  "primary": [f"{primary.host}:{primary.port}"]}]).start()
        assert rcpt_reply(s.port, "alice@example.test")[0] == 250  # a plaintext callout connection is pooled
        s.domains[0]["tls"] = "required"
        reload(s, "reload: 1 domains")
        code, lines = rcpt_reply(s.port, "ghost@example.test")
        # Only a TLS connection may ask now, and this primary offers none: cannot tell.
        assert code == 450 and lines[-1].startswith("450 4.1.1 "), lines
    finally:
        primary.remove()
