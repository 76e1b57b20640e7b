"""A primary that refuses MAIL FROM:<> (issue 11): with the null sender every callout ends in
"cannot tell", so verification is silently off. backstop must say so: a warning in the log,
the callout_null_sender_refused counter, and a warning in `backstop verify`; with [verify]
sender set the same primary verifies normally. The primary is a real Postfix whose
smtpd_sender_restrictions refuse <>: at MAIL (smtpd_delay_reject = no), or, as Postfix does
by default (smtpd_delay_reject = yes), at RCPT with "554 5.7.1 <>: Sender address rejected",
which must not be taken for "this recipient does not exist"."""
import json
import os

import pytest

from conftest import Smtp, wait_until
from postfix_primary import PostfixPrimary

DOMAIN = "example.test"


@pytest.fixture(scope="module", params=["at-mail", "at-rcpt"])
def strict_primary(request, tmp_path_factory):
    p = PostfixPrimary(tmp_path_factory.mktemp("strict"), host="127.0.0.6",
                       users=("alice", "bob"))
    p.refuses_at = request.param
    senders = os.path.join(p.etc, "senders")
    with open(senders, "w") as f:
        f.write("<> REJECT null sender refused here\n")
    p._age(senders)
    p.settings.update({"smtpd_sender_restrictions": f"check_sender_access texthash:{senders}",
                       "smtpd_delay_reject": "no" if p.refuses_at == "at-mail" else "yes"})
    p._write_config()
    try:
        p.start()
        yield p
    finally:
        p.remove()


def server_for(make_server, primary, **verify):
    v = {"callout": True, "sender_domain": False, "timeout": "5s", "unverified": "defer",
         "primary_down_backoff": "1s", "unknown_recipient_delay": "0s"}
    v.update(verify)
    return make_server(verify=v, domains=[{"name": DOMAIN, "primary": [
        f"{primary.host}:{primary.port}"], "verify": True}])


def rcpt(port, address):
    c = Smtp(port, timeout=15)
    try:
        c.greet()
        assert c.code("MAIL FROM:<carol@client.example>") == 250
        reply = c.cmd(f"RCPT TO:<{address}>")
        c.cmd("QUIT")
        return reply
    finally:
        c.close()


def test_the_fixture_refuses_the_null_sender(strict_primary):
    c = Smtp(strict_primary.port, host=strict_primary.host)
    c.greet("mx2.example.test")
    code, lines = c.cmd("MAIL FROM:<>")
    if strict_primary.refuses_at == "at-rcpt":
        assert code == 250, lines
        code, lines = c.cmd("RCPT TO:<alice@example.test>")
        c.cmd("RSET")
    assert code == 554 and "5.7.1" in lines[0] and "Sender address rejected" in lines[0], lines
    assert c.code("MAIL FROM:<verify@mx2.example.test>") == 250
    assert c.code("RCPT TO:<alice@example.test>") == 250
    c.cmd("QUIT")
    c.close()


def test_refused_null_sender_is_logged_counted_and_shown_by_verify(make_server, strict_primary):
    server = server_for(make_server, strict_primary).start()
    code, lines = rcpt(server.port, "alice@example.test")
    # Cannot tell: neither "accepted unverified" in silence nor "no such user".
    assert code == 450, lines
    assert wait_until(lambda: "warning: callout: " in server.log_text()
                      and "refuses MAIL FROM:<>" in server.log_text()), server.log_text()[-3000:]
    counters = server.stats()["counters"]
    assert counters["callout_null_sender_refused"] >= 1, counters
    text = server.cli("verify", "alice@example.test").stdout
    assert "warning:" in text and "refuses MAIL FROM:<>" in text, text
    assert "[verify] sender" in text, text
    answer = json.loads(server.cli("verify", "alice@example.test", "--json").stdout)
    refused = answer["callout"]["null_sender_refused"]
    assert len(refused) == 1 and "5.7.1" in refused[0]["reply"], answer
    assert "Sender address rejected" in refused[0]["warning"], answer
    assert answer["callout"]["result"] == "unknown", answer


def test_with_verify_sender_set_the_same_primary_verifies(make_server, strict_primary):
    server = server_for(make_server, strict_primary, sender="verify@mx2.example.test").start()
    base = len(strict_primary.rcpt_rejections())
    assert rcpt(server.port, "alice@example.test")[0] == 250
    code, lines = rcpt(server.port, "ghost@example.test")
    assert code == 550 and "5.1.1" in lines[0], lines
    rejections = strict_primary.rcpt_rejections()[base:]
    assert [(r["address"], r["sender"]) for r in rejections] == [
        ("ghost@example.test", "verify@mx2.example.test")]
    assert server.stats()["counters"]["callout_null_sender_refused"] == 0
    answer = json.loads(server.cli("verify", "bob@example.test", "--json").stdout)
    assert answer["callout"]["result"] == "valid", answer
    assert answer["callout"]["null_sender_refused"] == [], answer


def null_sender_rejections(primary):
    """Postfix's log lines for a refused MAIL FROM:<> (at MAIL or, delayed, at RCPT)."""
    primary.sync()
    return [line for line in primary.log_text().splitlines()
            if "reject: " in line and "<>: Sender address rejected" in line]


def test_fallback_sender_retries_and_is_remembered(make_server, strict_primary):
    server = server_for(make_server, strict_primary,
                        fallback_sender="verify@mx2.example.test").start()
    base_rejections = len(strict_primary.rcpt_rejections())
    base_null = len(null_sender_rejections(strict_primary))
    # The first callout tries <>, is refused, and asks again at once with the fallback.
    assert rcpt(server.port, "alice@example.test")[0] == 250
    code, lines = rcpt(server.port, "ghost@example.test")
    assert code == 550 and "5.1.1" in lines[0], lines
    assert rcpt(server.port, "bob@example.test")[0] == 250
    rejections = strict_primary.rcpt_rejections()[base_rejections:]
    assert [(r["address"], r["sender"]) for r in rejections
            if "Sender address rejected" not in r["reply"]] == [
        ("ghost@example.test", "verify@mx2.example.test")], rejections
    # Verified, not "accepted unverified": both answers came from the primary.
    counters = server.stats()["counters"]
    assert counters["callouts_valid"] == 2, counters
    assert counters["callouts_invalid"] == 1, counters
    # <> was tried once only: the later callouts used the fallback directly.
    assert counters["callout_null_sender_refused"] == 1, counters
    assert len(null_sender_rejections(strict_primary)) - base_null == 1, \
        strict_primary.log_text()[-3000:]
    assert wait_until(lambda: "MAIL FROM:<verify@mx2.example.test>" in server.log_text()), \
        server.log_text()[-3000:]
    # `backstop verify` (its own process: it tries <> again) says which sender it fell back to.
    answer = json.loads(server.cli("verify", "bob@example.test", "--json").stdout)
    assert answer["callout"]["result"] == "valid", answer
    refused = answer["callout"]["null_sender_refused"]
    assert len(refused) == 1 and "fallback_sender <verify@mx2.example.test>" in \
        refused[0]["warning"], answer


def test_fallback_sender_is_validated_and_exclusive_with_sender(make_server, strict_primary):
    good = server_for(make_server, strict_primary, fallback_sender="verify@mx2.example.test")
    result = good.cli("check-config", check=False)
    assert result.returncode == 0, result
    bad = server_for(make_server, strict_primary, fallback_sender="no-at-sign")
    result = bad.cli("check-config", check=False)
    text = result.stderr + result.stdout
    assert result.returncode != 0 and "fallback_sender" in text and "must be" in text, text
    both = server_for(make_server, strict_primary, sender="a@mx2.example.test",
                      fallback_sender="b@mx2.example.test")
    result = both.cli("check-config", check=False)
    text = result.stderr + result.stdout
    assert result.returncode != 0 and "unused when sender is set" in text, text


def test_fallback_sender_changed_by_sighup_needs_a_restart(make_server, strict_primary):
    from test_reload import reload
    server = server_for(make_server, strict_primary).start()
    server.sections["verify"]["fallback_sender"] = "verify@mx2.example.test"
    text = reload(server, "reload: 1 domains")
    assert "reload: verify.fallback_sender changed; ignored until restart" in text, text
