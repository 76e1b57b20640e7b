"""Trap listeners ([[listener]] kind = refuse | defer | tarpit) and stale MX addresses,
measured from the client side against the real binary: the RST of a refuse trap, the 4xx of
a defer trap, the bytes per second of a tarpit; every hit logged and counted, and counting
toward the blacklist only when RCPT named one of our domains (anti-poisoning, seed 000)."""
import datetime
import json
import socket
import time

import pytest

from conftest import Smtp, free_port, toml_value, wait_until


def with_listeners(server, listeners):
    """Adds [[listener]] tables to the server's config (kept on every rewrite)."""
    original = server.write_config

    def write():
        original()
        with open(server.config_path, "a") as f:
            for listener in listeners:
                f.write("[[listener]]\n")
                for key, value in listener.items():
                    f.write(f"{key} = {toml_value(value)}\n")

    server.write_config = write
    write()
    return server


def start_with(make_server, *listeners, **sections):
    """A server with the given listeners; waits until each one listens."""
    s = with_listeners(make_server(**sections), listeners).start()
    for listener in listeners:
        s.wait_for_log(f"listening on {listener['address']}")
    return s


def trap(kind, host="127.0.0.9", **keys):
    return {"address": f"{host}:{free_port(host)}", "kind": kind, **keys}


def host_port(listener):
    host, _, port = listener["address"].rpartition(":")
    return host, int(port)


def connect(listener, timeout=5):
    host, port = host_port(listener)
    return Smtp(port, host=host, timeout=timeout)


def counter(server, name):
    return server.stats()["counters"][name]


def wait_counter(server, name, value, timeout=10):
    assert wait_until(lambda: counter(server, name) >= value, timeout), \
        f"{name} = {counter(server, name)}, waited for {value}"


def today():
    return datetime.datetime.now(datetime.timezone.utc).date().isoformat()


# ---- refuse ---------------------------------------------------------------------------------

def assert_reset(listener):
    """The connection is reset: while connect() returns (the RST can come first on
    loopback) or at the first recv; never a byte, never a plain close (FIN)."""
    with pytest.raises(ConnectionResetError):
        c = socket.create_connection(host_port(listener), timeout=5)
        try:
            data = c.recv(100)
        finally:
            c.close()
        assert data, "closed with a FIN instead of an RST"
        pytest.fail(f"a refuse trap sent {data!r}")


def test_refuse_resets_the_connection_at_once_and_records_the_hit(make_server):
    refuse = trap("refuse", name="nolist")
    counting = trap("refuse", host="127.0.0.10", count_hits=True)
    s = start_with(make_server, refuse, counting)
    for listener in (refuse, counting):
        started = time.monotonic()
        assert_reset(listener)
        assert time.monotonic() - started < 3, "the reset must come at once"
    lines = s.wait_for_log("trap hit: refuse", count=2)
    assert any(f"refuse {refuse['address']} from [127.0.0.1]" in l and "counts=no" in l
               and "nolist: reset at connect" in l for l in lines), lines
    assert any(counting["address"] in l and "counts=yes" in l for l in lines), lines
    wait_counter(s, "trap_hits", 2)
    assert counter(s, "trap_hits_counting") == 1  # only the listener with count_hits


# ---- defer ----------------------------------------------------------------------------------

def test_defer_talks_until_rcpt_then_answers_4xx_and_learns_the_domain(make_server):
    defer = trap("defer")
    s = start_with(make_server, defer)
    c = connect(defer)
    code, lines = c.read_reply()
    assert code == 220, lines
    assert c.code("EHLO bot.example") == 250
    assert c.code("MAIL FROM:<spam@sender.example>") == 250
    code, lines = c.cmd("RCPT TO:<user@example.test>")
    assert code == 451 and lines[0].startswith("451 4.7.1"), lines
    for command in ("RCPT TO:<other@example.test>", "DATA", "RSET", "NOOP",
                    "MAIL FROM:<x@y.example>", "VRFY user"):
        code, lines = c.cmd(command)
        assert 400 <= code < 500, (command, lines)
    assert c.code("QUIT") == 221
    assert c.closed()
    line = s.wait_for_log(f"trap hit: defer {defer['address']}")[0]
    assert "helo=bot.example sender_domain=sender.example recipient_domain=example.test" in line
    assert "counts=yes" in line and "deferred at RCPT" in line, line
    wait_counter(s, "trap_hits", 1)
    assert counter(s, "trap_hits_counting") == 1


def test_defer_anti_poisoning_a_foreign_domain_does_not_count(make_server):
    """Someone points an MX of their own domain at our trap: an honest sender hitting it
    names their domain, not ours, and must not be blacklisted (seed 000, message 12)."""
    defer = trap("defer")
    s = start_with(make_server, defer)
    c = connect(defer)
    c.greet("big.sender.example")
    assert c.code("MAIL FROM:<>") == 250
    assert c.code("RCPT TO:<victim@poisoner.example>") == 451
    assert c.code("QUIT") == 221
    line = s.wait_for_log("trap hit: defer")[0]
    assert "recipient_domain=poisoner.example counts=no" in line, line
    wait_counter(s, "trap_hits", 1)
    assert counter(s, "trap_hits_counting") == 0
    c = connect(defer)
    c.greet()
    assert c.code("MAIL FROM:<a@b.example>") == 250
    assert c.code("RCPT TO:<victim@poisoner.example>") == 451
    assert c.code("RCPT TO:<user@EXAMPLE.test>") == 451  # ours, in any case
    assert c.code("QUIT") == 221
    wait_counter(s, "trap_hits", 2)
    assert counter(s, "trap_hits_counting") == 1
    assert "recipient_domain=example.test counts=yes" in s.wait_for_log("trap hit: defer", 2)[1]


def test_defer_bounds_commands_line_length_and_session_time(make_server):
    defer = trap("defer", max_commands=5, max_duration="2s")
    s = start_with(make_server, defer)
    c = connect(defer)
    assert c.read_reply()[0] == 220
    c.send(b"EHLO " + b"x" * 5000 + b"\r\n")  # far over any command line
    assert c.read_reply()[0] == 250
    for _ in range(4):
        assert c.code("NOOP") == 250
    code, lines = c.cmd("NOOP")  # the sixth command
    assert code == 421, lines
    assert c.closed()
    idle = connect(defer, timeout=15)
    started = time.monotonic()
    assert idle.read_reply()[0] == 220
    code, lines = idle.read_reply()  # says nothing: the session deadline ends it
    took = time.monotonic() - started
    assert code == 421 and "4.4.2" in lines[0], lines
    assert took < 8, f"deadline of 2 s took {took:.1f} s"
    assert idle.closed()
    lines = s.wait_for_log("trap hit: defer", 2)
    assert "command limit" in lines[0] and "session deadline" in lines[1], lines


# ---- tarpit ---------------------------------------------------------------------------------

def read_for(sock, seconds):
    """Every byte the server sends within `seconds`."""
    data = b""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            chunk = sock.recv(100)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    return data


def drain(sock):
    """What the kernel already holds for sock, without waiting."""
    data = b""
    sock.setblocking(False)
    try:
        while chunk := sock.recv(100):
            data += chunk
    except BlockingIOError:
        pass
    finally:
        sock.setblocking(True)
    return data


def read_until(sock, marker, seconds):
    data = b""
    deadline = time.monotonic() + seconds
    while marker not in data and time.monotonic() < deadline:
        sock.settimeout(max(deadline - time.monotonic(), 0.01))
        try:
            chunk = sock.recv(100)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    return data


def test_tarpit_sends_its_banner_byte_by_byte_at_the_configured_rate(make_server):
    tarpit = trap("tarpit", stutter=100)  # 10 bytes a second
    s = start_with(make_server, tarpit)
    banner = b"220 mx2.example.test ESMTP\r\n"  # 28 bytes: 2.8 s at 10 bytes a second
    with socket.create_connection(host_port(tarpit), timeout=5) as c:
        started = time.monotonic()
        first = read_for(c, 1.0)
        # About 10 bytes in the first second; sent at once it would be all 28.
        assert 1 <= len(first) <= 16, first
        assert banner.startswith(first), first
        rest = read_until(c, b"\r\n", 15)
        took = time.monotonic() - started
        assert first + rest == banner
        assert took >= 1.5, f"the whole banner came in {took:.2f} s: not stuttered"
        c.sendall(b"EHLO bot.example\r\n")
        reply = read_until(c, b"\r\n", 15)
        assert reply == b"250 mx2.example.test\r\n", reply
    s.wait_for_log(f"trap hit: tarpit {tarpit['address']}")
    wait_counter(s, "trap_hits", 1)
    assert counter(s, "tarpit_bytes") >= len(banner) + len(reply)


def test_tarpit_byte_budget_bounds_the_bytes_of_all_its_connections(make_server):
    """max_bytes_per_second bounds what the tarpit sends (its CPU), however many it holds:
    each connection gets its bytes further apart instead."""
    tarpit = trap("tarpit", stutter=10, max_bytes_per_second=10)  # alone: 100 bytes/s each
    s = start_with(make_server, tarpit)
    clients = [socket.create_connection(host_port(tarpit), timeout=5) for _ in range(4)]
    got = [read_for(clients[0], 2.0)]  # the measurement window: 2 s
    got += [drain(c) for c in clients[1:]]  # what the others got meanwhile
    # Unbounded, 4 connections at 100 bytes/s would have their whole 28-byte banners.
    assert all(g.startswith(b"2") for g in got), got  # the first byte comes at once
    total = sum(len(g) for g in got)
    assert total <= 40, f"{total} bytes in 2 s over a budget of 10 bytes/s: {got}"
    for c in clients:
        c.close()
    wait_counter(s, "trap_hits", 4)


def test_tarpit_conversation_defers_at_rcpt_and_counts_our_domain(make_server):
    tarpit = trap("tarpit", stutter=10)
    s = start_with(make_server, tarpit)
    c = connect(tarpit, timeout=20)
    c.greet("bot.example")
    assert c.code("MAIL FROM:<spam@sender.example>") == 250
    assert c.code("RCPT TO:<user@example.test>") == 451
    assert c.code("DATA") == 451
    assert c.code("QUIT") == 221
    assert c.closed()
    line = s.wait_for_log("trap hit: tarpit")[0]
    assert "helo=bot.example sender_domain=sender.example recipient_domain=example.test" in line
    assert "counts=yes" in line, line
    wait_counter(s, "trap_hits_counting", 1)


def test_tarpit_ends_in_421_after_its_max_duration(make_server):
    tarpit = trap("tarpit", stutter=200, max_duration="2s")
    s = start_with(make_server, tarpit)
    with socket.create_connection(host_port(tarpit), timeout=5) as c:
        started = time.monotonic()
        data = read_until(c, b"421 ", 10)
        data += read_until(c, b"\r\n", 2) if not data.endswith(b"\r\n") else b""
        took = time.monotonic() - started
    assert data.startswith(b"220 mx2.example.test ESMTP\r\n421 4.4.2"), data
    assert took < 8, f"max_duration 2 s took {took:.1f} s"
    assert "session deadline" in s.wait_for_log("trap hit: tarpit")[0]


def test_tarpit_notices_a_client_that_leaves(make_server):
    tarpit = trap("tarpit", stutter=100)
    s = start_with(make_server, tarpit)
    c = socket.create_connection(host_port(tarpit), timeout=5)
    assert c.recv(1) == b"2"
    c.close()
    line = s.wait_for_log("trap hit: tarpit")[0]
    assert "no RCPT; client left" in line and "counts=no" in line, line


# ---- stale MX addresses ---------------------------------------------------------------------

def test_stale_since_makes_hits_offenses_only_after_the_grace(make_server):
    old = trap("defer", stale_since="2001-01-31")
    recent = trap("defer", host="127.0.0.10", stale_since=today())  # within 2 days' grace
    old_smtp = trap("smtp", host="127.0.0.11", stale_since="2001-01-31", count_hits=True)
    recent_smtp = trap("smtp", host="127.0.0.12", stale_since=today())
    s = start_with(make_server, old, recent, old_smtp, recent_smtp)
    for listener in (old, recent):
        c = connect(listener)
        c.greet()
        assert c.code("MAIL FROM:<a@b.example>") == 250
        assert c.code("RCPT TO:<u@example.test>") == 451
        assert c.code("QUIT") == 221
    stale = s.wait_for_log(f"stale MX hit: defer {old['address']}")[0]
    assert "contacted an MX address withdrawn on 2001-01-31" in stale and "counts=yes" in stale
    s.wait_for_log(f"trap hit: defer {recent['address']}")
    for listener in (old_smtp, recent_smtp):  # the normal session, as on [smtp] listen
        c = connect(listener)
        c.greet()
        assert c.code("QUIT") == 221
    line = s.wait_for_log(f"stale MX hit: smtp {old_smtp['address']}")[0]
    assert "counts=yes" in line, line
    wait_counter(s, "stale_mx_hits", 2)
    wait_counter(s, "trap_hits", 2)
    assert recent_smtp["address"] not in "\n".join(
        l for l in s.log_text().splitlines() if "hit:" in l)
    assert counter(s, "stale_mx_hits") == 2


# ---- one process, several addresses, each its own kind (the seed's Exim variant) ------------

def test_one_process_decides_by_the_local_address_it_was_reached_on(make_server):
    listeners = [trap("refuse", host="127.0.0.9"), trap("defer", host="127.0.0.10"),
                 trap("tarpit", host="127.0.0.11", stutter=10),
                 trap("smtp", host="127.0.0.12")]
    s = start_with(make_server, *listeners)
    refuse, defer, tarpit, smtp = listeners
    assert_reset(refuse)
    for listener in (defer, tarpit):
        c = connect(listener, timeout=20)
        c.greet()
        assert c.code("MAIL FROM:<a@b.example>") == 250
        assert c.code("RCPT TO:<u@example.test>") == 451
        assert c.code("QUIT") == 221
    for port, host in ((s.port, "127.0.0.1"), (host_port(smtp)[1], "127.0.0.12")):
        c = Smtp(port, host=host)
        c.greet()
        assert c.code("MAIL FROM:<a@b.example>") == 250
        assert c.code("RCPT TO:<u@example.test>") == 250  # the real session accepts
        c.close()
    wait_counter(s, "trap_hits", 3)
    kinds = [l for l in s.log_text().splitlines() if "trap hit:" in l]
    for kind, listener in (("refuse", refuse), ("defer", defer), ("tarpit", tarpit)):
        assert any(f"trap hit: {kind} {listener['address']}" in l for l in kinds), kinds


def test_a_trap_port_someone_else_holds_is_refused(make_server):
    holder = socket.socket()
    holder.bind(("127.0.0.9", 0))
    holder.listen()
    try:
        address = f"127.0.0.9:{holder.getsockname()[1]}"
        s = with_listeners(make_server(), [{"address": address, "kind": "tarpit"}])
        with pytest.raises(RuntimeError):
            s.start(timeout=5)
        assert f"cannot listen on {address}" in s.log_text()
    finally:
        holder.close()


# ---- into the offender store and the blacklist ---------------------------------------------

def defer_hit(listener, source, recipient):
    host, port = host_port(listener)
    c = Smtp(port, host=host, source=source)
    c.greet("bot.example")
    assert c.code("MAIL FROM:<a@b.example>") == 250
    assert c.code(f"RCPT TO:<{recipient}>") == 451
    assert c.code("QUIT") == 221
    c.close()


def offenses_of(server, address):
    answer = json.loads(server.cli("offenders", address, "--json").stdout)
    return [o for entry in answer["offenders"] for o in entry["offenses"]]


def test_trap_hits_are_offenses_and_only_those_naming_our_domain_blacklist(make_server):
    defer = trap("defer")
    s = start_with(make_server, defer,
                   offenders={"threshold": 2, "window": "1d", "listing": "1h"},
                   **{"checks.blacklist": {"enabled": True}})
    for _ in range(2):  # a poisoner's domain pointed at our trap: evidence only
        defer_hit(defer, "127.0.0.2", "victim@poisoner.example")
    for _ in range(2):
        defer_hit(defer, "127.0.0.3", "user@example.test")
    s.wait_for_log("blacklisted 127.0.0.3 for 1 h: 2 offenses within 1 d")
    assert wait_until(lambda: len(offenses_of(s, "127.0.0.2")) == 2, 10), \
        offenses_of(s, "127.0.0.2")
    for offense in offenses_of(s, "127.0.0.2"):
        assert offense["kind"] == "trap" and offense["counts"] is False, offense
        assert offense["listener"] == f"defer {defer['address']}", offense
        assert offense["recipient_domain"] == "poisoner.example", offense
        assert offense["helo"] == "bot.example", offense
    listed = json.loads(s.cli("blacklist", "list", "--json").stdout)["listings"]
    assert [l["address"] for l in listed] == ["127.0.0.3"], listed
    c = Smtp(s.port, source="127.0.0.3")  # the real backup MX now refuses it
    c.greet()
    assert c.code("MAIL FROM:<a@b.example>") == 250
    code, lines = c.cmd("RCPT TO:<user@example.test>")
    assert code == 550 and "too often while the primary MX is online" in lines[0], lines
    c.close()
