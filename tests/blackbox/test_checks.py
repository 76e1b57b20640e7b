"""The check pipeline (issue 12) through the real binary: allowlists win over filter checks
but never make backstop a relay, a [checks.<name>] section that names no check is a
configuration error, refusals are logged with the session id, and what a client sends
before the banner during greeting_delay is kept and answered after it."""
import subprocess

from conftest import BIN, Smtp


def test_allowlisted_client_skips_filter_checks_but_not_the_relay_rule(make_server):
    # The sender-domain check is a filter: a special-use sender domain is refused without
    # DNS, except from an allowlisted client. Relaying stays refused for everyone.
    server = make_server(verify={"sender_domain": True},
                         **{"checks.allowlist": {"networks": ["127.0.0.7/32"]}}).start()
    stranger = Smtp(server.port, source="127.0.0.8")
    stranger.greet()
    assert stranger.code("MAIL FROM:<a@host.invalid>") == 550

    friend = Smtp(server.port, source="127.0.0.7")
    friend.greet()
    assert friend.code("MAIL FROM:<a@host.invalid>") == 250
    assert friend.cmd("RCPT TO:<u@elsewhere.example>")[1][-1].startswith("550 5.7.1")
    assert friend.code("RCPT TO:<u@example.test>") == 250
    refusals = server.stats()["refusals"]
    assert refusals == {"MAIL reject sender_domain": 1, "RCPT reject relay_domains": 1}, refusals


def test_allowlisted_sender_and_recipient_win_over_the_sender_domain_check(make_server):
    server = make_server(verify={"sender_domain": True},
                         **{"checks.allowlist": {"senders": ["partner.invalid"],
                                                 "recipients": ["postmaster@example.test"]}})
    server.start()
    c = Smtp(server.port)
    c.greet()
    assert c.code("MAIL FROM:<a@partner.invalid>") == 250
    assert c.code("RCPT TO:<u@example.test>") == 250
    c.cmd("RSET")
    assert c.code("MAIL FROM:<a@other.invalid>") == 550


def test_a_section_that_names_no_check_is_a_configuration_error(make_server):
    server = make_server(**{"checks.no_such_check": {"mode": "warn"}})
    result = subprocess.run([BIN, "check-config", "--config", str(server.config_path)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "checks.no_such_check" in result.stderr and "no such check" in result.stderr, \
        result.stderr
    assert "allowlist" in result.stderr, "the message lists the checks that exist"


def test_unknown_key_in_a_check_section_is_reported_with_its_name(make_server):
    server = make_server(**{"checks.allowlist": {"networks": ["127.0.0.1"], "netwroks": []}})
    result = subprocess.run([BIN, "check-config", "--config", str(server.config_path)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "checks.allowlist.netwroks" in result.stderr, result.stderr


def test_refusals_are_logged_with_the_session_id(make_server):
    server = make_server().start()
    c = Smtp(server.port)
    c.greet()
    c.cmd("MAIL FROM:<a@b.example>")
    assert c.code("RCPT TO:<u@elsewhere.example>") == 550
    line = server.wait_for_log("reject RCPT from [127.0.0.1]: relay_domains <u@elsewhere.example>")[0]
    assert "session=" in line, line


def test_commands_sent_before_the_banner_are_answered_after_greeting_delay(make_server):
    # Without the early_talker check an early client is only slowed, never lost.
    server = make_server(smtp={"greeting_delay": 1}).start()
    c = Smtp(server.port)
    c.send("EHLO early.example\r\n")
    assert c.read_reply()[0] == 220
    assert c.read_reply()[0] == 250


def test_the_checks_in_force_are_logged_in_order_at_start(make_server):
    server = make_server(verify={"sender_domain": True},
                         **{"checks.allowlist": {"networks": ["127.0.0.7"]}}).start()
    line = server.wait_for_log("checks in order: ")[0]
    listed = line.split("checks in order: ", 1)[1].split(" (")[0].split(", ")
    assert listed[0] == "!recipient_domain", listed
    assert listed.index("allowlist") < listed.index("sender_domain") < \
        listed.index("!recipient_verify"), listed
