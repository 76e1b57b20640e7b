"""Redis that stalls instead of failing (issue 16, the hardening deadlines): a backstop on
[state] backend = "redis" whose Redis stops answering while connections stay open. Two ways:
redis-server frozen by SIGSTOP (every reply never comes), and a proxy that passes only the
first octets of each reply and then holds the rest (a stall in the middle of a reply). Either
way each store call ends at [state] timeout: the session's RCPT is answered from the local
store, in about that time and not after the client gives up, mail is still accepted once its
triplet passes locally, and when Redis answers again the server uses it again."""
import signal
import socket
import threading
import time

import pytest

from conftest import wait_until
from redis_server import RedisServer
from test_redis_outage import (DELAY, LOAD_DOMAIN, pass_greylist, queue_one_after_greylisting,
                               rcpt, redis_used_again)

STORE_TIMEOUT_MS = 200
ANSWER_WITHIN = 3.0  # seconds: generous over the store timeout, far under a client's patience


class TruncatingProxy:
    """Forwards to Redis; while `stalling`, each reply chunk is cut to its first 2 octets and
    the rest is never sent (the connection stays open and silent)."""

    def __init__(self, upstream_port):
        self.upstream_port = upstream_port
        self.stalling = threading.Event()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.sockets = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            self.sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream, False), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, True), daemon=True).start()

    def _pipe(self, src, dst, is_reply):
        cut = False  # a connection whose reply was cut stays silent for good
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if is_reply and (self.stalling.is_set() or cut):
                    if not cut:
                        dst.sendall(data[:2])
                        cut = True
                    continue
                dst.sendall(data)
        except OSError:
            pass

    def close(self):
        self.listener.close()
        for s in self.sockets:
            s.close()


@pytest.fixture
def redis(tmp_path):
    r = RedisServer(tmp_path)
    yield r
    if r.proc and r.proc.poll() is None:
        r.proc.send_signal(signal.SIGCONT)  # a frozen one cannot be stopped otherwise
    r.stop()


def timed_rcpt(server, sender, recipient, source):
    started = time.monotonic()
    code, line = rcpt(server, sender, recipient, source=source)
    return code, line, time.monotonic() - started


def stalled_store_is_survived(make_server, tmp_path, url, freeze, thaw):
    server = make_server(
        state={"backend": "redis", "url": url, "path": str(tmp_path / "local.db"),
               "timeout": STORE_TIMEOUT_MS},
        domains=[{"name": LOAD_DOMAIN, "primary": ["127.0.0.1:1"]}],
        **{"checks.greylist": {"enabled": True, "delay": f"{DELAY}s", "auto_allow_after": 0}})
    server.start()
    pass_greylist(server, "before@sender.example", f"user@{LOAD_DOMAIN}")
    assert "answering from the local store" not in server.log_text()

    freeze()
    # A triplet Redis never saw: the local store answers it, after one store timeout.
    code, line, took = timed_rcpt(server, "during@sender.example", f"user2@{LOAD_DOMAIN}",
                                  "127.0.4.5")
    assert code == 451 and line.startswith("451 4.7.1 Greylisted"), line
    assert took < ANSWER_WITHIN, f"RCPT took {took:.1f} s while Redis stalled"
    server.wait_for_log("answering from the local store")
    # Mail still flows: the triplet passes locally and its message is queued.
    queue_one_after_greylisting(server, "during@sender.example", f"user2@{LOAD_DOMAIN}")

    thaw()
    assert wait_until(lambda: redis_used_again(server), 30), server.log_text()[-3000:]


def test_redis_frozen_by_sigstop_each_call_ends_at_the_timeout_and_mail_flows(
        make_server, redis, tmp_path):
    stalled_store_is_survived(make_server, tmp_path, redis.url,
                              lambda: redis.proc.send_signal(signal.SIGSTOP),
                              lambda: redis.proc.send_signal(signal.SIGCONT))


def test_redis_reply_cut_in_the_middle_each_call_ends_at_the_timeout_and_mail_flows(
        make_server, redis, tmp_path):
    proxy = TruncatingProxy(redis.port)
    try:
        stalled_store_is_survived(make_server, tmp_path, proxy.url, proxy.stalling.set,
                                  proxy.stalling.clear)
    finally:
        proxy.close()
