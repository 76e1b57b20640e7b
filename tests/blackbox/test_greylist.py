"""Greylisting ([checks.greylist], issue 12) through the real binary: the first attempt of a
triplet is deferred with 451 4.7.1 naming greylisting and the wait, retries before the delay
are deferred and a retry after it is accepted, the state survives a restart (SQLite), two
clients of one /24 share a triplet, and a locked state store accepts instead of deferring."""
import sqlite3
import time

from conftest import Smtp

DELAY = 2  # seconds; the server counts whole seconds, so a pass may come 1 s sooner


def greylisting(make_server, **extra):
    settings = {"enabled": True, "delay": f"{DELAY}s", "auto_allow_after": 0}
    settings.update(extra)
    return make_server(**{"checks.greylist": settings})


def rcpt(server, sender="s@sender.example", recipient="u@example.test", source=None):
    """(code, last reply line) of RCPT in a fresh session from source."""
    c = Smtp(server.port, source=source)
    try:
        c.greet()
        code, lines = c.cmd(f"MAIL FROM:<{sender}>")
        assert code == 250, lines
        code, lines = c.cmd(f"RCPT TO:<{recipient}>")
        return code, lines[-1]
    finally:
        c.close()


def retry_until_accepted(server, deadline=20.0, **kwargs):
    """Retries every 0.2 s; returns [(seconds since the first try, code, line)] up to and
    including the first 250. Fails when none came within the deadline."""
    start = time.monotonic()
    tries = []
    while time.monotonic() - start < deadline:
        code, line = rcpt(server, **kwargs)
        tries.append((time.monotonic() - start, code, line))
        if code == 250:
            return tries
        time.sleep(0.2)  # the pace of a retrying client, not a synchronisation
    raise AssertionError(f"no 250 within {deadline} s: {tries[-3:]}")


def test_first_attempt_is_deferred_and_a_retry_after_the_delay_accepted(make_server):
    server = greylisting(make_server).start()
    code, line = rcpt(server)
    assert code == 451, line
    assert line.startswith("451 4.7.1 Greylisted"), line
    assert "try again in" in line and "seconds" in line, line

    tries = retry_until_accepted(server)
    deferred = [t for t in tries if t[1] != 250]
    accepted_at = tries[-1][0]
    assert deferred, f"the retry right after the first try must be deferred: {tries}"
    assert all(code == 451 and "4.7.1" in line for _, code, line in deferred), deferred
    assert accepted_at >= DELAY - 1, f"accepted after {accepted_at:.2f} s, delay {DELAY} s"
    assert accepted_at < DELAY + 8, f"accepted only after {accepted_at:.2f} s"
    server.wait_for_log("defer RCPT from [127.0.0.1]: greylist <u@example.test>: triplet new")


def test_a_passed_triplet_survives_a_restart(make_server):
    server = greylisting(make_server).start()
    assert rcpt(server)[0] == 451
    retry_until_accepted(server)
    server.restart()
    code, line = rcpt(server)
    assert code == 250, f"the passed triplet was forgotten across the restart: {line}"
    assert rcpt(server, sender="new@sender.example")[0] == 451, "a new triplet is still new"


def test_a_pending_triplet_survives_a_restart(make_server):
    # Long delay: a retry after a restart is still "too early", not "first seen" again.
    server = greylisting(make_server, delay="1h").start()
    assert "3600 seconds" in rcpt(server)[1]
    server.restart()
    code, line = rcpt(server)
    assert code == 451, line
    # Not "triplet new": the first attempt before the restart was remembered.
    server.wait_for_log("greylist <u@example.test>: triplet retried too early")


def test_two_clients_of_one_slash_24_share_a_triplet(make_server):
    server = greylisting(make_server).start()
    assert rcpt(server, source="127.0.0.21")[0] == 451
    retry_until_accepted(server, source="127.0.0.21")
    code, line = rcpt(server, source="127.0.0.99")
    assert code == 250, f"a neighbour in the same /24 is the same triplet: {line}"
    code, line = rcpt(server, source="127.0.1.21")
    assert code == 451, f"another /24 is another triplet: {line}"


def test_a_locked_state_store_accepts_within_store_timeout(make_server):
    server = greylisting(make_server, store_timeout=300).start()
    assert rcpt(server, sender="warm@sender.example")[0] == 451  # the store works
    db = sqlite3.connect(server.sections["state"]["path"], timeout=1, isolation_level=None)
    try:
        db.execute("BEGIN EXCLUSIVE")  # every writer waits for SQLite's 5 s busy timeout
        start = time.monotonic()
        code, line = rcpt(server)
        took = time.monotonic() - start
    finally:
        db.execute("ROLLBACK")
        db.close()
    assert code == 250, f"greylisting must not defer when the store cannot answer: {line}"
    assert took < 4, f"answered after {took:.2f} s; store_timeout 300 ms, busy timeout 5 s"
    server.wait_for_log("greylist: state store timeout")


def test_a_pass_taken_from_memory_is_counted(make_server):
    server = greylisting(make_server).start()

    def memory_hits():
        return server.stats()["counters"]["greylist_memory_hits"]

    assert rcpt(server)[0] == 451
    retry_until_accepted(server)
    # Every attempt so far asked the state store; the pass it answered is now remembered.
    assert memory_hits() == 0
    assert rcpt(server)[0] == 250
    assert memory_hits() == 1
    assert rcpt(server)[0] == 250
    assert memory_hits() == 2
    # Another triplet is not in memory: the store is asked, and defers it.
    assert rcpt(server, sender="other@sender.example")[0] == 451
    assert memory_hits() == 2
