"""Redis down under load (issue 16): a backstop on [state] backend = "redis" whose Redis is
killed (SIGKILL, no persistence) while clients send. Every message still gets 250 and is in
the queue (the queue never depends on Redis); the checks answer from the local SQLite file
([state] path): a greylist triplet never seen locally is deferred 451, a recipient only
verification can answer gets the primary's 550; state_fallback_active and the log say so.
Redis started again: the verification answer and the offense learned locally are found in
Redis by key (with the answer's TTL), the log says the journal was written through, and a new
triplet is greylisted in Redis again."""
import threading
import time
import urllib.request

import pytest

from conftest import Smtp, free_port, send_message, wait_until
from postfix_primary import PostfixPrimary
from redis_server import RedisServer
from test_traps import assert_reset, trap, with_listeners

DELAY = 2  # greylisting delay, seconds
PREFIX = "backstop:"
LOAD_DOMAIN = "load.test"  # its primary is a closed port: what is accepted stays queued
THREADS = 4


@pytest.fixture
def redis(tmp_path):
    r = RedisServer(tmp_path)
    yield r
    r.stop()


@pytest.fixture
def primary(tmp_path):
    p = PostfixPrimary(tmp_path / "primary", users=("alice",))
    p.start()
    yield p
    p.remove()


def metric(server, name):
    with urllib.request.urlopen(f"http://127.0.0.1:{server.admin_port}/metrics", timeout=10) as r:
        for line in r.read().decode().splitlines():
            if line.startswith(f"backstop_{name} "):
                return float(line.split()[1])
    raise AssertionError(f"no backstop_{name} in /metrics")


def rcpt(server, sender, recipient, source=None):
    """(code, last reply line) of RCPT in a fresh session."""
    c = Smtp(server.port, source=source, timeout=15)
    try:
        c.greet()
        code, lines = c.cmd(f"MAIL FROM:<{sender}>")
        assert code == 250, lines
        code, lines = c.cmd(f"RCPT TO:<{recipient}>")
        return code, lines[-1]
    finally:
        c.close()


def pass_greylist(server, sender, recipient):
    """First attempt deferred, a retry after the delay accepted: the triplet has passed."""
    code, line = rcpt(server, sender, recipient)
    assert code == 451, line
    deadline = time.monotonic() + DELAY + 10
    while time.monotonic() < deadline:
        code, line = rcpt(server, sender, recipient)
        if code == 250:
            return
        time.sleep(0.2)  # a retrying client's pace
    raise AssertionError(f"{sender} -> {recipient} never passed greylisting: {line}")


def queue_one_after_greylisting(server, sender, recipient):
    """The triplet passes greylisting, then one message of it gets 250 and is the only one
    queued."""
    pass_greylist(server, sender, recipient)
    reply = send_message(server.port, sender, [recipient], b"Subject: x\r\n\r\nbody\r\n")
    assert reply[0] == 250, reply
    assert len(server.queued()) == 1


def retry_while_greylisted(server, sender, recipient, source=None):
    """RCPT again every 0.2 s while greylisting defers it; the first other (code, line)."""
    deadline = time.monotonic() + DELAY + 10
    while True:
        code, line = rcpt(server, sender, recipient, source=source)
        if code != 451 or "Greylisted" not in line or time.monotonic() > deadline:
            return code, line
        time.sleep(0.2)  # a retrying client's pace


def redis_used_again(server):
    """One RCPT (a store call) and whether the log says Redis has the journal now."""
    rcpt(server, "again@sender.example", f"again@{LOAD_DOMAIN}", source="127.0.3.5")
    return "state: redis answers again" in server.log_text()


class Load:
    """THREADS clients, each sending messages of its own (passed) triplet in a loop; every
    reply to the final dot is kept."""

    def __init__(self, server):
        self.server, self.stop_flag = server, threading.Event()
        self.replies, self.lock = [], threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(THREADS)]

    @staticmethod
    def triplet(i):
        return f"load{i}@sender.example", f"user{i}@{LOAD_DOMAIN}"

    def run(self, i):
        sender, recipient = self.triplet(i)
        n = 0
        while not self.stop_flag.is_set():
            body = f"Subject: load {i}.{n}\r\n\r\nmessage {i}.{n}\r\n".encode()
            try:
                reply = send_message(self.server.port, sender, [recipient], body)
            except (AssertionError, OSError) as e:  # a refused RCPT, a dropped session
                reply = (None, [repr(e)])
            with self.lock:
                self.replies.append(reply)
            n += 1

    def count(self):
        with self.lock:
            return len(self.replies)

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self):
        self.stop_flag.set()
        for t in self.threads:
            t.join(timeout=30)


def test_redis_killed_under_load_mail_is_queued_checks_answer_locally_and_redis_learns_it(
        make_server, redis, primary, tmp_path):
    admin_port = free_port()
    counting = trap("refuse", host="127.0.0.10", count_hits=True)
    server = make_server(
        state={"backend": "redis", "url": redis.url, "path": str(tmp_path / "local.db"),
               "timeout": 200},
        admin={"listen": f"127.0.0.1:{admin_port}"},
        verify={"callout": True, "sender_domain": False, "timeout": "5s",
                "unknown_recipient_delay": "0s", "unverified": "accept"},
        domains=[{"name": "example.test", "primary": [f"{primary.host}:{primary.port}"],
                  "verify": True},
                 {"name": LOAD_DOMAIN, "primary": ["127.0.0.1:1"]}],
        **{"checks.greylist": {"enabled": True, "delay": f"{DELAY}s", "auto_allow_after": 0},
           "checks.blacklist": {"enabled": True}})
    server = with_listeners(server, [counting]).start()
    server.admin_port = admin_port
    server.wait_for_log(f"admin HTTP on 127.0.0.1:{admin_port}")
    for i in range(THREADS):
        pass_greylist(server, *Load.triplet(i))
    assert any(k.startswith(f"{PREFIX}g:t:") for k in redis.keys()), redis.keys()
    assert metric(server, "state_fallback_active") == 0

    load = Load(server)
    load.start()
    try:
        assert wait_until(lambda: load.count() >= 10, 20), "no load before the outage"
        redis.kill()
        server.wait_for_log("answering from the local store", timeout=20)
        at_kill = load.count()
        assert wait_until(lambda: load.count() >= at_kill + 20, 30), "no mail during the outage"

        # A triplet never seen locally (its own /24: 127.0.1.0/24) is deferred, not accepted.
        code, line = rcpt(server, "new@sender.example", f"fresh@{LOAD_DOMAIN}",
                          source="127.0.1.5")
        assert code == 451, line
        assert line.startswith("451 4.7.1 Greylisted"), line
        # Only a callout can answer for an unknown recipient: the primary's 550 (after the
        # greylisting delay of its new triplet, whichever check runs first).
        code, line = retry_while_greylisted(server, "s@sender.example", "nosuch@example.test",
                                            source="127.0.2.5")
        assert code == 550, line
        # A trap hit: an offense, recorded locally.
        assert_reset(counting)
        server.wait_for_log("trap hit: refuse")
        assert wait_until(lambda: server.stats()["counters"]["state_writes_journaled"] >= 2, 10), \
            server.stats()["counters"]
        assert metric(server, "state_fallback_active") == 1
        assert server.stats()["counters"]["state_fallback_calls"] >= 1
    finally:
        load.stop()

    assert len(load.replies) >= at_kill + 20
    refused = [r for r in load.replies if r[0] != 250]
    assert not refused, refused[:5]
    queued = server.queued()
    assert len(queued) == len(load.replies), (len(queued), len(load.replies))

    redis.start()
    # The first store call that finds Redis (after the connection's back-off, at most 5 s)
    # writes the journal through.
    assert wait_until(lambda: redis_used_again(server), 20), server.log_text()[-3000:]
    server.wait_for_log("writes learned locally written through")
    verify_key = f"{PREFIX}v:nosuch@example.test"
    assert wait_until(lambda: verify_key in redis.keys(), 10), redis.keys()
    assert 0 < redis.cmd("TTL", verify_key) <= 86400 * 30
    assert f"{PREFIX}o:e:127.0.0.1" in redis.keys(), redis.keys()
    assert metric(server, "state_fallback_active") == 0
    assert server.stats()["counters"]["state_writes_replayed"] >= 2

    # A new triplet is greylisted in Redis now.
    code, line = rcpt(server, "later@sender.example", f"later@{LOAD_DOMAIN}", source="127.0.4.5")
    assert code == 451, line
    assert f"{PREFIX}g:t:127.0.4.0/24|later@sender.example|later@{LOAD_DOMAIN}" in redis.keys()


def test_a_server_started_while_redis_is_down_accepts_mail_and_writes_through_later(
        make_server, redis, tmp_path):
    """A backup MX is needed most when things are broken: a reboot during a Redis outage must
    not keep it down. It starts on its local store and hands what it learned to Redis later."""
    redis.kill()
    server = make_server(
        state={"backend": "redis", "url": redis.url, "path": str(tmp_path / "local.db"),
               "timeout": 200},
        domains=[{"name": LOAD_DOMAIN, "primary": ["127.0.0.1:1"]}],
        **{"checks.greylist": {"enabled": True, "delay": f"{DELAY}s", "auto_allow_after": 0}})
    server.start()
    code, line = rcpt(server, "first@sender.example", f"user@{LOAD_DOMAIN}")
    assert code == 451 and line.startswith("451 4.7.1 Greylisted"), line
    server.wait_for_log("answering from the local store")
    queue_one_after_greylisting(server, "later@sender.example", f"user2@{LOAD_DOMAIN}")
    # Housekeeping sweeps (Redis' are its TTLs, no call) are no sign that Redis is back.
    assert "redis answers again" not in server.log_text()

    redis.start()
    assert wait_until(lambda: redis_used_again(server), 20), server.log_text()[-3000:]
    server.wait_for_log("writes learned locally written through")
    assert any(k.startswith(f"{PREFIX}g:") for k in redis.keys()), redis.keys()
