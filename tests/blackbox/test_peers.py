"""[peers] (issue 16, seed 002): backstop hosts that back up the same domains know each other.
Two real backstops, mx20 on 127.0.0.2 and mx30 on 127.0.0.3, are MX 20 and MX 30 of
peers.test, whose primary (MX 10, a real smtp-sink on 127.0.0.1) is down, then up; a real
dnsmasq serves the zone. Every host listens on the same port (the MX port).

- The chain: a message entering mx30 goes to mx20 (greylisting on both: a peer is never
  greylisted, or it would wait an hour), never back, and reaches the primary once it is up,
  with the path in its Received headers.
- No ping-pong when a host does not find itself among the MX hosts (nat.test lists mx20
  under an address it does not know as its own, as behind NAT): it never hands mail to a peer.
- A peer is not greylisted (by address or by name), not recorded as an MX contact, its trap
  hits do not count as offenses, and it is never blacklisted; SPF trusts it as a hop for
  every domain, with the peers check switched off too."""
import json
import socket

import pytest

from conftest import Smtp, free_port, wait_until
from peers import Dns, Sink

PRIMARY, MX20, MX30, CLIENT, STRANGER = "127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.9", \
    "127.0.0.4"
RECORDS = [
    "--mx-host=peers.test,primary.peers.test,10",
    "--mx-host=peers.test,mx20.peers.test,20",
    "--mx-host=peers.test,mx30.peers.test,30",
    f"--host-record=primary.peers.test,{PRIMARY}",
    f"--host-record=mx20.peers.test,{MX20}",
    f"--host-record=mx30.peers.test,{MX30}",
    # nat.test: mx20 is listed as its public address, which it does not know as its own.
    "--mx-host=nat.test,primary.peers.test,10",
    "--mx-host=nat.test,public20.peers.test,20",
    "--mx-host=nat.test,mx30.peers.test,30",
    "--host-record=public20.peers.test,127.0.0.12",
    # other.test: the peers are no MX hosts of it; fail.test allows only 192.0.2.1.
    "--mx-host=other.test,primary.peers.test,10",
    "--txt-record=fail.test,v=spf1 ip4:192.0.2.1 -all",
]


@pytest.fixture
def dns(tmp_path):
    d = Dns(tmp_path, RECORDS)
    yield d
    d.stop()


@pytest.fixture
def port():
    """One port free on every address of the test (MX delivery uses one port for all)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind((PRIMARY, 0))
            candidate = probe.getsockname()[1]
        if all(_free(host, candidate) for host in (MX20, MX30, "127.0.0.12")):
            return candidate
    raise RuntimeError("no port free on every test address")


def _free(host, candidate):
    with socket.socket() as s:
        try:
            s.bind((host, candidate))
            return True
        except OSError:
            return False


@pytest.fixture
def primary(tmp_path, port):
    sink = Sink(tmp_path, PRIMARY, port)
    yield sink
    sink.remove()


def host(make_server, dns, port, ip, name, peers=None, **sections):
    """A backstop on ip:port named name, leaving from ip, with [peers] (None: no section)."""
    extra = {"peers": peers} if peers is not None else {}
    extra.update(sections)
    return make_server(
        port=port, **{"": {"hostname": name}},
        dns={"servers": [f"127.0.0.1:{dns.port}"], "timeout": 1000, "tries": 2},
        smtp={"listen": [f"{ip}:{port}"]},
        delivery={"mx_port": port, "retry_initial": "1s", "retry_max": "2s",
                  "source_address": [ip]},
        verify={"callout": False, "sender_domain": False},
        domains=[{"name": "peers.test"}, {"name": "nat.test"}, {"name": "other.test"}],
        **extra)


def greylisting(delay="1h", **extra):
    return {"checks.greylist": {"enabled": True, "delay": delay, "auto_allow_after": 0}, **extra}


def message(subject):
    return f"Subject: {subject}\r\nMessage-ID: <{subject}@client.test>\r\n\r\nbody\r\n".encode()


def send(ip, port, recipient, subject, sender="alice@sender.test", source=CLIENT):
    c = Smtp(port, host=ip, source=source, timeout=20)
    try:
        c.greet("client.test")
        assert c.code(f"MAIL FROM:<{sender}>") == 250
        code, lines = c.cmd(f"RCPT TO:<{recipient}>")
        assert code == 250, lines
        assert c.code("DATA") == 354
        c.send(message(subject) + b".\r\n")
        code, lines = c.read_reply()
        assert code == 250, lines
        c.cmd("QUIT")
    finally:
        c.close()


def rcpt(ip, port, source, recipient="u@peers.test", sender="alice@sender.test"):
    c = Smtp(port, host=ip, source=source, timeout=20)
    try:
        c.greet("client.test")
        assert c.code(f"MAIL FROM:<{sender}>") == 250
        return c.cmd(f"RCPT TO:<{recipient}>")
    finally:
        c.close()


def by_hosts(data):
    """The hosts named after "by" in the Received headers, top (newest) first."""
    out = []
    for line in data.split(b"\r\n\r\n")[0].replace(b"\r\n\t", b" ").replace(b"\n\t", b" ") \
            .replace(b"\r\n ", b" ").splitlines():
        if line.lower().startswith(b"received:") and b" by " in line:
            out.append(line.split(b" by ", 1)[1].split()[0].decode())
    return out


def attempts(server, domain):
    """Delivery attempts to domain logged so far (unreachable rounds or per-recipient)."""
    return sum(1 for line in server.log_text().splitlines()
               if f"{domain}: destination not reachable" in line or f"to=<u@{domain}>" in line)


def accepted(server):
    return server.stats()["counters"]["messages_accepted"]


def test_a_message_entering_mx30_goes_to_mx20_then_the_primary_never_back(
        make_server, dns, port, primary):
    # Both greylist; the test client is allowlisted at mx30, the peers know each other.
    mx20 = host(make_server, dns, port, MX20, "mx20.peers.test", {"addresses": [MX30]},
                **greylisting()).start()
    mx30 = host(make_server, dns, port, MX30, "mx30.peers.test", {"addresses": [MX20]},
                **greylisting(**{"checks.allowlist": {"networks": [CLIENT]}})).start()
    send(MX30, port, "u@peers.test", "chain")
    # The primary is down: mx30 hands it to mx20, the only more preferred host that answers.
    assert wait_until(lambda: len(mx20.queued()) == 1, 20), mx30.log_text()[-3000:]
    assert wait_until(lambda: mx30.queued() == [], 10), mx30.queued()
    primary.start()
    got = primary.wait_messages(1, timeout=20)
    assert len(got) == 1, mx20.log_text()[-3000:]
    fields, data = got[0]
    assert fields["X-Client-Addr"] == [MX20], fields
    # The path, newest first: mx20 received it from mx30, which received it from the client.
    assert by_hosts(data) == ["mx20.peers.test", "mx30.peers.test"], data[:800]
    assert wait_until(lambda: mx20.queued() == [], 10), mx20.queued()
    # Nothing went back: each host accepted the message once, mx30 never from mx20.
    assert accepted(mx20) == 1 and accepted(mx30) == 1
    assert f"client=[{MX20}]" not in mx30.log_text()
    assert f"client=[{MX30}]" in mx20.log_text()
    assert len(primary.messages()) == 1


def test_a_host_that_does_not_find_itself_among_the_mx_hosts_never_hands_mail_to_a_peer(
        make_server, dns, port, primary):
    mx20 = host(make_server, dns, port, MX20, "mx20.peers.test", {"addresses": [MX30]}).start()
    mx30 = host(make_server, dns, port, MX30, "mx30.peers.test", {"addresses": [MX20]}).start()
    send(MX20, port, "u@nat.test", "nat")
    # mx20 tries the primary and "public20" (both down), never mx30: the mail waits here.
    assert wait_until(lambda: attempts(mx20, "nat.test") >= 2, 20), mx20.log_text()[-3000:]
    primary.start()
    got = primary.wait_messages(1, timeout=20)
    assert len(got) == 1, mx20.log_text()[-3000:]
    assert got[0][0]["X-Client-Addr"] == [MX20], got[0][0]
    assert by_hosts(got[0][1]) == ["mx20.peers.test"], got[0][1][:800]
    assert accepted(mx30) == 0, mx30.log_text()[-2000:]
    assert f"client=[{MX20}]" not in mx30.log_text()


@pytest.mark.parametrize("peers", [{"addresses": [MX30]}, {"names": ["mx30.peers.test"]}],
                         ids=["by-address", "by-name"])
def test_a_peer_is_not_greylisted(make_server, dns, port, peers):
    host(make_server, dns, port, MX20, "mx20.peers.test", peers, **greylisting()).start()
    code, lines = rcpt(MX20, port, STRANGER)
    assert code == 451 and "greylist" in " ".join(lines).lower(), lines
    code, lines = rcpt(MX20, port, MX30)
    assert code == 250, lines


def offenses_of(server, address):
    answer = json.loads(server.cli("offenders", address, "--json").stdout)
    return [o for entry in answer["offenders"] for o in entry["offenses"]]


def contacts_of(server, address):
    r = server.cli("contacts", address, "--json")
    return json.loads(r.stdout)["contacts"]


def defer_hit(trap_port, source):
    c = Smtp(trap_port, host=MX20, source=source)
    try:
        c.greet("bot.example")
        assert c.code("MAIL FROM:<a@b.example>") == 250
        assert c.code("RCPT TO:<user@peers.test>") == 451
        c.cmd("QUIT")
    finally:
        c.close()


def test_a_peer_is_never_an_offender_nor_an_mx_contact(make_server, dns, port, tmp_path):
    trap_port = free_port(MX20)
    mx20 = host(make_server, dns, port, MX20, "mx20.peers.test", {"addresses": [MX30]},
                offenders={"threshold": 2, "window": "1d", "listing": "1h"},
                **{"checks.blacklist": {"enabled": True}})
    with open(mx20.config_path, "a") as f:  # a trap: "the fake last MX", 4xx at RCPT
        f.write(f'[[listener]]\naddress = "{MX20}:{trap_port}"\nkind = "defer"\n')
    mx20.start()
    mx20.wait_for_log(f"listening on {MX20}:{trap_port}")
    for source in (MX30, MX30, STRANGER, STRANGER):
        defer_hit(trap_port, source)
    mx20.wait_for_log(f"blacklisted {STRANGER} for 1 h")
    assert wait_until(lambda: len(offenses_of(mx20, MX30)) == 2, 10), offenses_of(mx20, MX30)
    assert all(o["counts"] is False for o in offenses_of(mx20, MX30)), offenses_of(mx20, MX30)
    listed = json.loads(mx20.cli("blacklist", "list", "--json").stdout)["listings"]
    assert [entry["address"] for entry in listed] == [STRANGER], listed
    # At the SMTP port: the peer's mail is taken, the offender refused.
    assert rcpt(MX20, port, MX30)[0] == 250
    code, lines = rcpt(MX20, port, STRANGER)
    assert code == 550 and "too often" in lines[0], lines
    # The stranger's connect was recorded as a contact with mx20; the peer's (earlier) not.
    assert wait_until(lambda: contacts_of(mx20, STRANGER), 10)
    assert contacts_of(mx20, MX30) == []


@pytest.mark.parametrize("peers_check", ["enforce", "off"])
def test_spf_trusts_a_peer_for_every_domain(make_server, dns, port, peers_check):
    spf = {"checks.spf": {"enabled": True, "fail": "reject"},
           "checks.peers": {"mode": peers_check}}
    mx20 = host(make_server, dns, port, MX20, "mx20.peers.test", {"addresses": [MX30]},
                **spf).start()
    # other.test: the peer is no MX host of it, so only [peers] makes it a trusted hop.
    code, lines = rcpt(MX20, port, STRANGER, "u@other.test", "alice@fail.test")
    assert code == 550 and "5.7.23" in lines[-1], lines
    code, lines = rcpt(MX20, port, MX30, "u@other.test", "alice@fail.test")
    assert code == 250, lines
    if peers_check == "off":  # the SPF check itself ran and trusted the hop
        send(MX20, port, "u@other.test", "spf", sender="alice@fail.test", source=MX30)
        stored = mx20.body(mx20.queue_ids()[0])
        headers = [line for line in stored.split("\r\n") if line.startswith("Received-SPF:")]
        assert len(headers) == 1 and headers[0].startswith("Received-SPF: none"), stored[:1500]
        assert "a trusted hop; SPF not checked" in headers[0], headers
