"""DNS trouble (issue 11): a resolver that is down, special-use names, and what a backup MX
does with a sender domain it cannot check.

The resolver that is down is a UDP socket on loopback that reads every query, records the
name asked, and never answers (`SilentDns`): each lookup then waits the whole `[dns]`
timeout, as with a real resolver that went away. Counting its datagrams shows which
answers came from backstop's cache and which questions were never asked.
"""
import socket
import struct
import threading
import time

import pytest

from conftest import Smtp, queue_id_of, wait_until
from peers import Dns

DOMAIN = "example.test"


class SilentDns:
    """Reads DNS queries on 127.0.0.1:<port>, records (name, type), never answers."""

    def __init__(self, host="127.0.0.1"):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((host, 0))
        self.port = self.sock.getsockname()[1]
        self.queries = []
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    @staticmethod
    def _question(data):
        labels, pos = [], 12
        while pos < len(data) and data[pos] != 0:
            n = data[pos]
            labels.append(data[pos + 1:pos + 1 + n].decode(errors="replace"))
            pos += 1 + n
        qtype = struct.unpack("!H", data[pos + 1:pos + 3])[0] if pos + 3 <= len(data) else 0
        return ".".join(labels).lower(), qtype

    def _read(self):
        while True:
            try:
                data, _ = self.sock.recvfrom(4096)
            except OSError:
                return
            self.queries.append(self._question(data))

    def names(self):
        return [name for name, _ in self.queries]

    def close(self):
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.sock.close()


@pytest.fixture
def silent_dns():
    dns = SilentDns()
    yield dns
    dns.close()


@pytest.fixture
def wildcard_list(tmp_path):
    def make(domain=DOMAIN):
        path = tmp_path / f"{domain}.list"
        path.write_text(f"@{domain}\n")
        return str(path)
    return make



def assert_reply(reply, code, enhanced=None, contains=None):
    got, lines = reply
    assert got == code, lines
    if enhanced:
        assert lines[0][4:].startswith(enhanced + " "), lines
    if contains:
        assert contains in " ".join(lines), lines


def timed(c, line):
    started = time.monotonic()
    reply = c.cmd(line)
    return reply, time.monotonic() - started


# ---- temporary failures are remembered briefly ----------------------------------------------

def test_temporary_failure_is_cached_so_later_mails_do_not_wait(make_server, silent_dns,
                                                                wildcard_list):
    server = make_server(
        dns={"servers": [f"127.0.0.1:{silent_dns.port}"], "timeout": 1500, "tries": 1,
             "temporary_failure_ttl": "30s"},
        verify={"sender_domain": True},
        domains=[{"name": DOMAIN, "primary": ["127.0.0.1:1"], "verify": False,
                  "recipients": wildcard_list()}]).start()
    c = Smtp(server.port, timeout=20)
    c.greet()
    reply, first = timed(c, "MAIL FROM:<bob@sender.test>")
    assert_reply(reply, 451, "4.4.3")
    assert first >= 1.0, first  # it really waited for the resolver
    asked = len(silent_dns.queries)
    assert asked >= 1 and set(silent_dns.names()) == {"sender.test"}, silent_dns.queries
    for _ in range(4):
        reply, took = timed(c, "MAIL FROM:<alice@sender.test>")
        assert_reply(reply, 451, "4.4.3")
        # The configured timeout is 1.5 s; a cached answer takes milliseconds.
        assert took < 1.0, took
    assert len(silent_dns.queries) == asked, silent_dns.queries
    # Only that name is remembered: another domain is asked (and waits) on its own.
    reply, other = timed(c, "MAIL FROM:<bob@other-sender.test>")
    assert_reply(reply, 451, "4.4.3")
    assert "other-sender.test" in silent_dns.names(), silent_dns.queries
    c.cmd("QUIT")


def test_cached_temporary_failure_expires(make_server, silent_dns, wildcard_list):
    server = make_server(
        dns={"servers": [f"127.0.0.1:{silent_dns.port}"], "timeout": 300, "tries": 1,
             "temporary_failure_ttl": "2s"},
        verify={"sender_domain": True},
        domains=[{"name": DOMAIN, "primary": ["127.0.0.1:1"], "verify": False,
                  "recipients": wildcard_list()}]).start()

    def mail_once():
        c = Smtp(server.port, timeout=20)
        try:
            c.greet()
            assert_reply(c.cmd("MAIL FROM:<bob@sender.test>"), 451, "4.4.3")
            c.cmd("QUIT")
        finally:
            c.close()

    mail_once()
    asked = len(silent_dns.queries)
    assert asked >= 1

    def asks_again():
        mail_once()  # a session of its own each time: max_errors stays out of the way
        return len(silent_dns.queries) > asked

    assert wait_until(asks_again, timeout=15), "the failure was remembered for good"


# ---- special-use names --------------------------------------------------------------------

@pytest.mark.parametrize("sender", [
    "user@localhost", "user@LOCALHOST.", "user@host.localhost", "user@example.invalid",
    "user@invalid", "user@hidden.onion",
])
def test_special_use_sender_domain_refused_without_asking_dns(make_server, silent_dns,
                                                              wildcard_list, sender):
    server = make_server(
        dns={"servers": [f"127.0.0.1:{silent_dns.port}"], "timeout": 1000, "tries": 1},
        verify={"sender_domain": True},
        domains=[{"name": DOMAIN, "primary": ["127.0.0.1:1"], "verify": False,
                  "recipients": wildcard_list()}]).start()
    c = Smtp(server.port, timeout=20)
    c.greet()
    reply, took = timed(c, f"MAIL FROM:<{sender}>")
    assert_reply(reply, 550, "5.1.8", contains="special-use")
    # A lookup would have waited the 1 s timeout; the datagram would have arrived by then.
    assert took < 0.9, took
    assert silent_dns.queries == [], silent_dns.queries
    assert server.stats()["refusals"] == {"MAIL reject sender_domain": 1}
    c.cmd("QUIT")


def test_special_use_recipient_domain_refused_without_asking_dns(make_server, silent_dns,
                                                                 wildcard_list):
    server = make_server(
        dns={"servers": [f"127.0.0.1:{silent_dns.port}"], "timeout": 1000, "tries": 1},
        domains=[{"name": DOMAIN, "primary": ["127.0.0.1:1"], "verify": False,
                  "recipients": wildcard_list()}]).start()
    c = Smtp(server.port, timeout=20)
    c.greet()
    assert c.code("MAIL FROM:<>") == 250
    for rcpt in ("root@localhost", "user@x.invalid", "user@mx.localhost"):
        code, lines = c.cmd(f"RCPT TO:<{rcpt}>")
        assert code == 550 and lines[0].startswith("550 5."), lines
    assert silent_dns.queries == [], silent_dns.queries
    c.cmd("QUIT")


def test_dot_local_is_left_to_dns(make_server, silent_dns, wildcard_list):
    # .local (mDNS, RFC 6762) is used by some sites in their own DNS: it is asked, not refused.
    server = make_server(
        dns={"servers": [f"127.0.0.1:{silent_dns.port}"], "timeout": 300, "tries": 1},
        verify={"sender_domain": True},
        domains=[{"name": DOMAIN, "primary": ["127.0.0.1:1"], "verify": False,
                  "recipients": wildcard_list()}]).start()
    c = Smtp(server.port, timeout=20)
    c.greet()
    assert_reply(c.cmd("MAIL FROM:<user@corp.local>"), 451, "4.4.3")
    assert "corp.local" in silent_dns.names(), silent_dns.queries
    c.cmd("QUIT")


@pytest.mark.parametrize("name", ["localhost", "mx.localhost", "example.invalid",
                                  "hidden.onion"])
def test_special_use_backed_up_domain_is_a_config_error(make_server, name):
    server = make_server(domains=[{"name": name, "primary": ["127.0.0.1:1"]}])
    r = server.run("check-config")
    assert r.returncode != 0, r.stdout + r.stderr
    assert "special-use" in r.stdout + r.stderr, r.stdout + r.stderr


# ---- sender_domain_dns_trouble: defer or accept, per backed-up domain ------------------------

def trouble_server(make_server, wildcard_list, dns_servers, default=None, **per_domain):
    verify = {"sender_domain": True}
    if default:
        verify["sender_domain_dns_trouble"] = default
    domains = []
    for name, choice in per_domain.items():
        d = {"name": f"{name}.test", "primary": ["127.0.0.1:1"], "verify": False,
             "recipients": wildcard_list(f"{name}.test")}
        if choice:
            d["sender_domain_dns_trouble"] = choice
        domains.append(d)
    return make_server(dns={"servers": dns_servers, "timeout": 300, "tries": 1},
                       verify=verify, domains=domains).start()


def test_dns_trouble_defers_at_mail_by_default(make_server, wildcard_list, silent_dns):
    server = trouble_server(make_server, wildcard_list, [f"127.0.0.1:{silent_dns.port}"],
                            one=None, two="defer")
    c = Smtp(server.port)
    c.greet()
    assert_reply(c.cmd("MAIL FROM:<bob@sender.test>"), 451, "4.4.3")
    assert server.stats()["refusals"] == {"MAIL defer sender_domain": 1}
    c.cmd("QUIT")


def test_dns_trouble_accept_is_decided_per_recipient_domain(make_server, wildcard_list,
                                                            silent_dns):
    server = trouble_server(make_server, wildcard_list, [f"127.0.0.1:{silent_dns.port}"],
                            backup=None, open="accept")
    c = Smtp(server.port)
    c.greet()
    # One domain takes such mail, so MAIL cannot be refused yet; each RCPT decides.
    assert_reply(c.cmd("MAIL FROM:<bob@sender.test>"), 250)
    assert_reply(c.cmd("RCPT TO:<alice@open.test>"), 250)
    assert_reply(c.cmd("RCPT TO:<alice@backup.test>"), 451, "4.4.3",
                 contains="Sender domain cannot be checked")
    assert c.code("DATA") == 354
    c.send(b"Subject: unchecked sender\r\n\r\nx\r\n.\r\n")
    qid = queue_id_of(c.read_reply())
    c.cmd("QUIT")
    stored = [r["address"] for r in server.show(qid)["message"]["recipients"]]
    assert stored == ["alice@open.test"], stored
    assert server.stats()["refusals"] == {"RCPT defer sender_domain": 1}
    assert server.stats()["counters"]["sender_domain_unchecked"] == 1
    log = server.log_text()
    assert "defer RCPT from [127.0.0.1]: sender_domain <alice@backup.test>: " in log, log[-3000:]
    assert "MAIL <bob@sender.test> from [127.0.0.1]: sender domain not checked" in log, log


def test_dns_trouble_global_accept_with_a_domain_that_defers(make_server, wildcard_list,
                                                             silent_dns):
    server = trouble_server(make_server, wildcard_list, [f"127.0.0.1:{silent_dns.port}"],
                            default="accept", open=None, strict="defer")
    c = Smtp(server.port)
    c.greet()
    assert_reply(c.cmd("MAIL FROM:<bob@sender.test>"), 250)
    assert_reply(c.cmd("RCPT TO:<alice@strict.test>"), 451, "4.4.3")
    assert_reply(c.cmd("RCPT TO:<alice@open.test>"), 250)
    # A new transaction with a sender that needs no check: nothing is left over.
    assert c.code("RSET") == 250
    assert c.code("MAIL FROM:<>") == 250
    assert_reply(c.cmd("RCPT TO:<alice@strict.test>"), 250)
    c.cmd("QUIT")


def test_dns_answers_still_decide_when_accept_is_chosen(tmp_path, make_server, wildcard_list):
    dns = Dns(tmp_path, ["--mx-host=sender.test,mx.sender.test,10",
                         "--host-record=mx.sender.test,127.0.0.4"])
    try:
        server = trouble_server(make_server, wildcard_list, [f"127.0.0.1:{dns.port}"],
                                default="accept", open=None)
        c = Smtp(server.port)
        c.greet()
        # "accept" is about DNS trouble only: a domain that does not exist is still refused.
        assert_reply(c.cmd("MAIL FROM:<bob@nosuch.test>"), 550, "5.1.8")
        assert_reply(c.cmd("MAIL FROM:<bob@sender.test>"), 250)
        assert_reply(c.cmd("RCPT TO:<alice@open.test>"), 250)
        c.cmd("QUIT")
    finally:
        dns.stop()
