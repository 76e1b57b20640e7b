"""The offender blacklist (issue 14) against the real binary: offenses reported through
`backstop blacklist report` list a client after the [offenders] threshold and it gets the
550 at RCPT; listings expire; allowlists (networks, PTR suffixes answered by a real dnsmasq)
win; `backstop offenders` shows the evidence; and the exported zone is loaded by a REAL
rbldnsd and nsd started here on loopback ports, queried directly and through a second
backstop whose own [checks.dnsbl] uses that zone.

Clients connect from their own loopback addresses (127.0.0.2, .3, ...), so each is its own
offender. The server's [dns] points at a closed port or at the test's own DNS server.
"""
import json
import os
import random
import shutil
import socket
import struct
import subprocess
import tempfile

import pytest

from conftest import Backstop, Smtp, free_port, toml_value, wait_until

REFUSAL = "550 5.7.1 you tried me, a backup MX, too often while the primary MX is online"
ZONE = "bl.test"


def blacklist_server(make_server, offenders=None, dns_port=None, **sections):
    sections.setdefault("checks.blacklist", {"enabled": True})
    sections["offenders"] = {"threshold": 3, "window": "1d", "listing": "1h", **(offenders or {})}
    if dns_port:
        sections["dns"] = {"servers": [f"127.0.0.1:{dns_port}"], "timeout": 1000, "tries": 2}
    return make_server(**sections)


def rcpt_from(server, source, recipient="u@example.test"):
    """The RCPT reply (code, lines) of one session from the client address `source`."""
    c = Smtp(server.port, source=source, timeout=15)
    try:
        c.greet()
        code, lines = c.cmd("MAIL FROM:<a@b.example>")
        assert code == 250, lines
        return c.cmd(f"RCPT TO:<{recipient}>")
    finally:
        c.close()


def listings(server):
    return json.loads(server.cli("blacklist", "list", "--json").stdout)["listings"]


# ---- listing, refusal, expiry ------------------------------------------------------------


def test_reported_offenses_list_after_the_threshold_and_refuse_with_550(make_server):
    server = blacklist_server(make_server).start()
    for n in (1, 2):
        out = server.cli("blacklist", "report", "127.0.0.2", "--kind", "trap",
                         "--detail", f"hit the defer trap ({n})").stdout
        assert f"recorded: {n} counting offenses of 127.0.0.2 within 1 d" in out, out
        code, lines = rcpt_from(server, "127.0.0.2")
        assert code == 250, (n, lines)
    out = server.cli("blacklist", "report", "127.0.0.2", "--detail", "hit the defer trap (3)")
    assert "blacklisted 127.0.0.2 for 1 h: 3 offenses within 1 d" in out.stdout, out.stdout
    code, lines = rcpt_from(server, "127.0.0.2")
    assert code == 550, lines
    assert lines[0] == REFUSAL, lines
    code, lines = rcpt_from(server, "127.0.0.3")
    assert code == 250, ("another client is not listed", lines)
    assert server.stats()["refusals"].get("RCPT reject blacklist") == 1
    [listing] = listings(server)
    assert listing["address"] == "127.0.0.2" and listing["manual"] is False, listing
    assert listing["expires_at"] - listing["listed_at"] == 3600, listing


def test_offenses_outside_the_window_or_below_the_threshold_do_not_list(make_server):
    server = blacklist_server(make_server, offenders={"threshold": 4}).start()
    for _ in range(3):
        server.cli("blacklist", "report", "127.0.0.2")
    assert listings(server) == []
    code, lines = rcpt_from(server, "127.0.0.2")
    assert code == 250, lines


def test_a_listing_by_hand_expires(make_server):
    server = blacklist_server(make_server).start()
    out = server.cli("blacklist", "add", "127.0.0.4", "--for", "2s", "--reason", "test").stdout
    assert "listed 127.0.0.4" in out, out
    code, lines = rcpt_from(server, "127.0.0.4")
    assert code == 550 and lines[0] == REFUSAL, lines
    assert wait_until(lambda: rcpt_from(server, "127.0.0.4")[0] == 250, timeout=20), \
        "the listing for 2 s never ended"
    assert listings(server) == []


def test_remove_takes_an_address_off_and_says_when_there_was_none(make_server):
    server = blacklist_server(make_server).start()
    server.cli("blacklist", "add", "127.0.0.5")
    assert rcpt_from(server, "127.0.0.5")[0] == 550
    assert "removed 127.0.0.5" in server.cli("blacklist", "remove", "127.0.0.5").stdout
    assert rcpt_from(server, "127.0.0.5")[0] == 250
    again = server.run("blacklist", "remove", "127.0.0.5")
    assert again.returncode == 1 and "was not listed" in again.stdout, again.stdout


def test_bad_input_is_refused_clearly(make_server):
    server = blacklist_server(make_server)
    r = server.run("blacklist", "add", "not-an-address")
    assert r.returncode == 1 and "is not an IP address" in r.stderr, r.stderr
    r = server.run("blacklist", "add", "127.0.0.6", "--for", "soon")
    assert r.returncode == 1 and "is not a duration" in r.stderr, r.stderr
    r = server.run("blacklist", "report", "127.0.0.6", "--kind", "bad")
    assert r.returncode == 1 and "--kind must be one of" in r.stderr, r.stderr


def test_offenders_shows_the_evidence_newest_first(make_server):
    server = blacklist_server(make_server)
    server.cli("blacklist", "report", "127.0.0.7", "--kind", "stale-mx", "--listener",
               "firewall 192.0.2.99:25", "--detail", "old MX address withdrawn 2003")
    server.cli("blacklist", "report", "127.0.0.8", "--kind", "trap", "--detail", "second")
    offenders = json.loads(server.cli("offenders", "--json").stdout)["offenders"]
    assert [o["address"] for o in offenders] == ["127.0.0.8", "127.0.0.7"], offenders
    [offense] = offenders[1]["offenses"]
    assert offense["kind"] == "stale-mx", offense
    assert offense["listener"] == "firewall 192.0.2.99:25", offense
    assert offense["detail"] == "old MX address withdrawn 2003", offense
    assert offense["counts"] is True and offenders[1]["listing"] is None, offenders[1]
    text = server.cli("offenders", "127.0.0.7").stdout
    assert text.startswith("127.0.0.7  not listed  (1 offenses)"), text
    assert "stale-mx  firewall 192.0.2.99:25  old MX address withdrawn 2003" in text, text
    recent = json.loads(server.cli("offenders", "--since", "1h", "--json").stdout)
    assert len(recent["offenders"]) == 2, recent


# ---- allowlists win --------------------------------------------------------------------


def test_an_allowlisted_network_is_never_listed_nor_refused(make_server):
    server = blacklist_server(make_server,
                              offenders={"allow_networks": ["127.0.0.8/29"]}).start()
    for _ in range(4):
        out = server.cli("blacklist", "report", "127.0.0.9").stdout
        assert "allowlisted: network 127.0.0.8/29: kept as evidence, never counted" in out, out
    assert listings(server) == [], "the threshold of 3 was passed, but nothing is listed"
    out = server.cli("blacklist", "add", "127.0.0.9").stdout
    assert "is allowlisted" in out, out
    code, lines = rcpt_from(server, "127.0.0.9")
    assert code == 250, ("listed by hand, but the allowlist wins", lines)


def test_checks_allowlist_networks_count_too(make_server):
    server = blacklist_server(make_server,
                              **{"checks.allowlist": {"networks": ["127.0.0.10"]}}).start()
    for _ in range(3):
        server.cli("blacklist", "report", "127.0.0.10")
    assert listings(server) == []


PTR_RECORDS = [
    # 127.0.0.11: a large sender's host, forward-confirmed under the allowlisted suffix
    # (a host record is both the A and the PTR)
    "--host-record=out1.mail.big.test,127.0.0.11",
    # 127.0.0.12: claims the suffix in its PTR, but the name does not resolve back to it
    "--ptr-record=12.0.0.127.in-addr.arpa,forged.mail.big.test",
    "--host-record=forged.mail.big.test,127.0.0.99",
    # 127.0.0.13: a name that merely ends in the same letters
    "--host-record=notmail.big.test,127.0.0.13",
]


class PtrDns:
    """dnsmasq with local PTR and address records; --bogus-priv makes an unknown loopback
    address NXDOMAIN instead of a refusal. Never forwards anything."""

    def __init__(self, tmp_path, records):
        self.port = free_port()
        self.log = open(tmp_path / "dnsmasq.log", "ab")
        args = ["dnsmasq", "--no-daemon", f"--port={self.port}", "--listen-address=127.0.0.1",
                "--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
                "--user=root", "--bogus-priv", "--local=/test/", "--local-ttl=0"]
        self.proc = subprocess.Popen(args + records, stdout=self.log, stderr=self.log)
        assert wait_dns(self.port, "out1.mail.big.test"), "dnsmasq did not start"

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


@pytest.mark.parametrize("reverse_dns", [True, False],
                         ids=["facts-of-reverse_dns", "looked-up-by-the-check"])
def test_a_confirmed_ptr_suffix_wins_over_a_listing(make_server, tmp_path, reverse_dns):
    dns = PtrDns(tmp_path, PTR_RECORDS)
    try:
        sections = {"checks.reverse_dns": {"enabled": True}} if reverse_dns else {}
        server = blacklist_server(make_server, dns_port=dns.port,
                                  offenders={"allow_ptr_suffixes": ["mail.big.test"]},
                                  **sections).start()
        for ip in ("127.0.0.11", "127.0.0.12", "127.0.0.13"):
            server.cli("blacklist", "add", ip, "--reason", "by hand")
        code, lines = rcpt_from(server, "127.0.0.11")
        assert code == 250, ("out1.mail.big.test is confirmed and allowlisted", lines)
        server.wait_for_log("127.0.0.11 is listed (by hand) but allowlisted: PTR name "
                            "out1.mail.big.test ends in mail.big.test")
        for ip in ("127.0.0.12", "127.0.0.13"):
            code, lines = rcpt_from(server, ip)
            assert code == 550 and lines[0] == REFUSAL, (ip, lines)
    finally:
        dns.stop()


# ---- the exported zone, served by real DNS servers ---------------------------------------


def dns_query(port, name, qtype):
    """(rcode, [answers]) from the DNS server on 127.0.0.1:port: A as dotted quads, TXT as
    the joined strings. A hand-made query: no resolver library, never the host's resolver."""
    types = {"A": 1, "TXT": 16}
    qid = random.randrange(65536)
    question = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"
    packet = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 0) + question + struct.pack(
        ">HH", types[qtype], 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(3)
        s.sendto(packet, ("127.0.0.1", port))
        data = s.recv(4096)
    rid, flags, qd, an, _, _ = struct.unpack(">HHHHHH", data[:12])
    assert rid == qid
    at = 12
    for _ in range(qd):
        at = skip_name(data, at) + 4
    answers = []
    for _ in range(an):
        at = skip_name(data, at)
        rtype, _, _, length = struct.unpack(">HHIH", data[at:at + 10])
        rdata = data[at + 10:at + 10 + length]
        at += 10 + length
        if rtype == 1:
            answers.append(".".join(str(b) for b in rdata))
        elif rtype == 16:
            parts, i = [], 0
            while i < len(rdata):
                parts.append(rdata[i + 1:i + 1 + rdata[i]].decode())
                i += 1 + rdata[i]
            answers.append("".join(parts))
    return flags & 0xF, answers


def skip_name(data, at):
    while True:
        n = data[at]
        if n == 0:
            return at + 1
        if n & 0xC0:
            return at + 2
        at += 1 + n


def readable_dir():
    """rbldnsd refuses to run as root and drops to its user: its files must be readable."""
    d = tempfile.mkdtemp(prefix="backstop-bl-")
    os.chmod(d, 0o755)
    return d


def wait_dns(port, name="2.0.0.127." + ZONE):
    """True once the server on port answers a query at all."""
    def answers():
        try:
            dns_query(port, name, "A")
            return True
        except OSError:
            return False
    return wait_until(answers, timeout=10)


class DnsblClient(Backstop):
    """A second backstop whose [checks.dnsbl] asks only our exported zone."""

    def write_config(self):
        super().write_config()
        with open(self.config_path, "a") as f:
            f.write("\n[checks.dnsbl]\nthreshold = 1\n[[checks.dnsbl.zone]]\n"
                    f"name = {toml_value(ZONE)}\ntype = \"ip\"\n")


def listed_server(make_server):
    server = blacklist_server(make_server)
    server.cli("blacklist", "add", "127.0.0.20", "--reason", "tried me too often")
    server.cli("blacklist", "add", "::1", "--reason", "v6 offender")
    server.cli("blacklist", "add", "127.0.0.21", "--for", "1h", "--reason", "has $ and \"quotes\"")
    return server


def check_through_second_backstop(tmp_path, dns_port, listen_v6):
    d = tmp_path / "dnsbl-client"
    d.mkdir()
    client = DnsblClient(d, dns={"servers": [f"127.0.0.1:{dns_port}"], "timeout": 1000,
                                 "tries": 2})
    if listen_v6:
        client.configure(smtp={"listen": [f"127.0.0.1:{client.port}", f"[::1]:{client.port}"]})
    client.start()
    try:
        c = Smtp(client.port, source="127.0.0.20", timeout=15)
        c.greet()
        assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
        code, lines = c.cmd("RCPT TO:<u@example.test>")
        c.close()
        assert code == 554 and lines[0].startswith("554 5.7.1 "), lines
        assert ZONE in lines[0] and "Listed by backstop: tried me too often" in lines[0], lines
        c = Smtp(client.port, source="127.0.0.22", timeout=15)
        c.greet()
        assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
        code, lines = c.cmd("RCPT TO:<u@example.test>")
        c.close()
        assert code == 250, ("127.0.0.22 is not listed", lines)
        if listen_v6:
            c = Smtp(client.port, host="::1", timeout=15)
            c.greet()
            assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
            code, lines = c.cmd("RCPT TO:<u@example.test>")
            c.close()
            assert code == 554 and "v6 offender" in lines[0], lines
    finally:
        client.stop()


def test_rbldnsd_serves_the_export_and_a_second_backstop_refuses_by_it(make_server, tmp_path):
    server = listed_server(make_server)
    d = readable_dir()
    rbldnsd = None
    try:
        for fmt, name in (("rbldnsd", "bl4"), ("rbldnsd6", "bl6")):
            server.cli("blacklist", "export", "--format", fmt, "--zone", ZONE,
                       "-o", os.path.join(d, name))
            os.chmod(os.path.join(d, name), 0o644)
        port = free_port()
        log = open(tmp_path / "rbldnsd.log", "wb")
        rbldnsd = subprocess.Popen(
            ["rbldnsd", "-n", "-u", "rbldns", "-b", f"127.0.0.1/{port}",
             f"{ZONE}:ip4set:{d}/bl4", f"{ZONE}:ip6trie:{d}/bl6"], stdout=log, stderr=log)
        assert wait_dns(port), (tmp_path / "rbldnsd.log").read_text()
        assert dns_query(port, "20.0.0.127." + ZONE, "A") == (0, ["127.0.0.2"])
        assert dns_query(port, "20.0.0.127." + ZONE, "TXT") == \
            (0, ["Listed by backstop: tried me too often"])
        rcode, txt = dns_query(port, "21.0.0.127." + ZONE, "TXT")
        assert rcode == 0 and "$" not in txt[0] and "quotes" in txt[0], txt
        v6 = ".".join(["1"] + ["0"] * 31) + "." + ZONE
        assert dns_query(port, v6, "TXT") == (0, ["Listed by backstop: v6 offender"])
        assert dns_query(port, "22.0.0.127." + ZONE, "A") == (3, []), "NXDOMAIN when unlisted"
        check_through_second_backstop(tmp_path, port, listen_v6=True)
    finally:
        if rbldnsd:
            rbldnsd.terminate()
            rbldnsd.wait()
        shutil.rmtree(d, ignore_errors=True)


NSD_CONF = """server:
  ip-address: 127.0.0.1
  port: {port}
  username: ""
  chroot: ""
  zonesdir: "{d}"
  database: ""
  zonelistfile: "{d}/zone.list"
  xfrdfile: "{d}/xfrd.state"
  xfrdir: "{d}"
  pidfile: "{d}/nsd.pid"
  logfile: "{d}/nsd.log"
  server-count: 1
remote-control:
  control-enable: no
zone:
  name: "{zone}"
  zonefile: "{d}/bl.zone"
"""


def test_the_bind_export_passes_nsd_checkzone_and_nsd_serves_it(make_server, tmp_path):
    server = listed_server(make_server)
    d = tmp_path / "nsd"
    d.mkdir()
    zone_file = d / "bl.zone"
    server.cli("blacklist", "export", "--format", "bind", "--zone", ZONE, "-o", str(zone_file))
    check = subprocess.run(["nsd-checkzone", ZONE, str(zone_file)], capture_output=True,
                           text=True, timeout=30)
    assert check.returncode == 0, (check.stdout, check.stderr, zone_file.read_text())
    assert f"zone {ZONE} is ok" in check.stdout, check.stdout
    port = free_port()
    (d / "nsd.conf").write_text(NSD_CONF.format(port=port, d=d, zone=ZONE))
    log = open(tmp_path / "nsd.out", "wb")
    nsd = subprocess.Popen(["nsd", "-d", "-c", str(d / "nsd.conf")], stdout=log, stderr=log)
    try:
        assert wait_dns(port), (tmp_path / "nsd.out").read_text()
        assert dns_query(port, "20.0.0.127." + ZONE, "A") == (0, ["127.0.0.2"])
        assert dns_query(port, "20.0.0.127." + ZONE, "TXT") == \
            (0, ["Listed by backstop: tried me too often"])
        v6 = ".".join(["1"] + ["0"] * 31) + "." + ZONE
        assert dns_query(port, v6, "A") == (0, ["127.0.0.2"])
        assert dns_query(port, "22.0.0.127." + ZONE, "A") == (3, [])
        check_through_second_backstop(tmp_path, port, listen_v6=False)
    finally:
        nsd.terminate()
        nsd.wait()
