"""Reload under load: while several sessions send messages without pause, SIGHUP and
`backstop reload` run again and again with a valid and an invalid file. No message that got
its 250 is missing from the queue, no session sees an error, the invalid file changes nothing
(its new domain stays refused) and the valid one takes effect (its new domain is accepted)."""
import signal
import threading
import time

from conftest import QUEUED_RE, Smtp, rcpt_reply

SESSIONS = 4
MESSAGES_PER_SESSION = 5  # then a new session: some start before a reload, some after


class Load:
    def __init__(self, port):
        self.port = port
        self.stop = threading.Event()
        self.queued = []
        self.errors = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(SESSIONS)]

    def start(self):
        for t in self.threads:
            t.start()
        return self

    def run(self, n):
        while not self.stop.is_set():
            try:
                self.session(n)
            except Exception as e:  # every failure is an error the test reports
                with self.lock:
                    self.errors.append(f"session {n}: {e!r}")
                return

    def session(self, n):
        c = Smtp(self.port, timeout=10)
        try:
            c.greet()
            for i in range(MESSAGES_PER_SESSION):
                if self.stop.is_set():
                    break
                for line, want in ((f"MAIL FROM:<load{n}@b.example>", 250),
                                   ("RCPT TO:<u@example.test>", 250), ("DATA", 354)):
                    code, lines = c.cmd(line)
                    assert code == want, (line, lines)
                c.send(f"Subject: load {n} {i}\r\n\r\nbody\r\n.\r\n".encode())
                code, lines = c.read_reply()
                m = QUEUED_RE.match(lines[-1]) if code == 250 else None
                assert m, lines
                with self.lock:
                    self.queued.append(m.group(1))
            assert c.code("QUIT") == 221
        finally:
            c.close()

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)


def wait_log(server, offset, text, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if text in server.log_text()[offset:]:
            return
        time.sleep(0.05)
    raise AssertionError(f"no {text!r}:\n{server.log_text()[offset:][-3000:]}")


def test_reloads_under_load_drop_nothing_and_only_a_valid_file_takes_effect(make_server):
    s = make_server(delivery={"retry_initial": "1h"}).start()
    load = Load(s.port).start()
    try:
        for round in range(3):
            # Invalid: a new domain next to an error. Nothing of it may take effect.
            s.domains.append({"name": f"bad{round}.test", "primary": ["127.0.0.1:1"]})
            s.sections["smtp"]["max_recipients"] = "many"
            s.write_config()
            offset = len(s.log_text())
            s.proc.send_signal(signal.SIGHUP)
            wait_log(s, offset, "configuration has errors; keeping the running one")
            r = s.run("reload")
            assert r.returncode == 1 and "max_recipients" in r.stderr, (r.stdout, r.stderr)
            code, lines = rcpt_reply(s.port, f"u@bad{round}.test")
            assert code == 550, lines
            # Valid: the same domain, the error gone.
            del s.sections["smtp"]["max_recipients"]
            s.domains[-1]["name"] = f"new{round}.test"
            s.write_config()
            r = s.run("reload")
            assert r.returncode == 0, (r.stdout, r.stderr)
            assert rcpt_reply(s.port, f"u@new{round}.test")[0] == 250
            offset = len(s.log_text())
            s.proc.send_signal(signal.SIGHUP)
            wait_log(s, offset, f"reload: {round + 2} domains")
    finally:
        load.finish()
    assert not load.errors, load.errors
    assert len(load.queued) >= SESSIONS, load.queued
    assert set(load.queued) <= set(s.queue_ids())
    assert len(set(load.queued)) == len(load.queued)
    assert "ended by an exception" not in s.log_text()
