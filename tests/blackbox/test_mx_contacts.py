"""MX-order intelligence (issue 14) through the real binary: `backstop ingest` reads a
primary's Postfix or Exim log written here (realistic lines, noise, a truncated line) and
remembers its position (appended lines only, a partial last line later, a rotated file from
its start, standard input and a live pipe); backstop's own listener records every client
(mx_contacts); and [checks.skipped_primary] scores a client with no contact to the primary
within the window: reject_score refuses it, a client seen by the primary is accepted, and
one seen too long ago is refused too. `backstop contacts` shows the evidence."""
import json
import subprocess
import time

from conftest import BIN, HOSTNAME, Smtp, wait_until

PRIMARY = "mx1.example.test"


def syslog_stamp(at):
    return time.strftime("%b %e %H:%M:%S", time.localtime(at))


def exim_stamp(at):
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(at))


def postfix_connect(at, address, name="unknown", pid=4242):
    return (f"{syslog_stamp(at)} mx1 postfix/smtpd[{pid}]: connect from {name}[{address}]")


def postfix_noise(at):
    s = syslog_stamp(at)
    return [
        f"{s} mx1 postfix/smtpd[4242]: disconnect from unknown[127.0.0.99] ehlo=1 quit=1",
        f"{s} mx1 postfix/qmgr[880]: 4F2A1B: removed",
        f"{s} mx1 postfix/smtp[881]: 4F2A1B: to=<u@example.test>, relay=mx.other[127.0.0.98]:25",
        f"{s} mx1 sshd[77]: Accepted publickey for root from 127.0.0.97 port 4711",
    ]


def ingest(server, *args, stdin=None):
    r = subprocess.run([BIN, "ingest", *args, "--config", str(server.config_path)],
                       input=stdin, capture_output=True, timeout=30, text=True)
    assert r.returncode == 0, f"exit {r.returncode}\n{r.stdout}\n{r.stderr}"
    return r.stdout


def contacts(server, address):
    r = server.cli("contacts", address, "--json")
    answer = json.loads(r.stdout)
    assert answer["address"] == address, answer
    return answer["contacts"]


def rcpt(server, source, recipient="u@example.test"):
    c = Smtp(server.port, source=source)
    try:
        c.greet()
        code, lines = c.cmd("MAIL FROM:<s@sender.example>")
        assert code == 250, lines
        code, lines = c.cmd(f"RCPT TO:<{recipient}>")
        return code, lines[-1]
    finally:
        c.close()


def skipped_primary_server(make_server, **extra):
    settings = {"enabled": True, "window": "1h", "score": 10.0}
    settings.update(extra)
    return make_server(**{"checks": {"reject_score": 10.0}, "checks.skipped_primary": settings,
                          'checks.skipped_primary.domain."example.test"': {
                              "preferred": [PRIMARY]}})


def test_ingested_postfix_log_decides_who_skipped_the_primary(make_server):
    server = skipped_primary_server(make_server)
    now = int(time.time())
    log = server.dir / "maillog"
    lines = [
        postfix_connect(now - 300, "127.0.0.11", "mail.sender.example"),
        *postfix_noise(now - 290),
        postfix_connect(now - 3 * 3600, "127.0.0.13"),  # seen, but long before the window
        f"{syslog_stamp(now - 200)} mx1 postfix/smtpd[4243]: connect from mail.exa",  # cut
        time.strftime("%Y-%m-%dT%H:%M:%S.000123+00:00", time.gmtime(now - 100))
        + " mx1 postfix/smtpd[4244]: connect from relay.example[127.0.0.14]",
    ]
    log.write_text("\n".join(lines) + "\n")
    out = ingest(server, "--format", "postfix", "--host", PRIMARY, str(log))
    assert f"{len(lines)} lines, 3 contacts recorded, 4 other, 1 malformed" in out, out

    seen = contacts(server, "127.0.0.11")
    assert [(c["host"], c["source"], c["last_at"]) for c in seen] == [
        (PRIMARY, "ingest postfix", now - 300)], seen
    assert contacts(server, "127.0.0.14")[0]["last_at"] == now - 100

    server.start()
    code, line = rcpt(server, "127.0.0.11")
    assert code == 250, f"a client that contacted the primary 5 min ago: {line}"

    code, line = rcpt(server, "127.0.0.12")
    assert code == 550 and "reject_score" in line, line
    server.wait_for_log("skipped_primary: client 127.0.0.12 for example.test: "
                        f"no contact to {PRIMARY} within 1 h; score +10")

    code, line = rcpt(server, "127.0.0.13")
    assert code == 550, f"a contact 3 h old is outside the 1 h window: {line}"
    server.wait_for_log(f"skipped_primary: client 127.0.0.13 for example.test: no contact to "
                        f"{PRIMARY} within 1 h (last 3 h ago)")

    # Our own listener recorded each client: the other half of the evidence.
    source = f"listener smtp 127.0.0.1:{server.port}"
    def ours(address):
        return [c for c in contacts(server, address) if c["host"] == HOSTNAME]

    assert wait_until(lambda: ours("127.0.0.12")), contacts(server, "127.0.0.12")
    assert [(c["source"], c["count"]) for c in ours("127.0.0.12")] == [(source, 1)]
    assert wait_until(lambda: ours("127.0.0.11")), contacts(server, "127.0.0.11")
    assert {c["host"] for c in contacts(server, "127.0.0.11")} == {PRIMARY, HOSTNAME}
    text = server.cli("contacts", "127.0.0.13").stdout
    assert PRIMARY in text and HOSTNAME in text and "ingest postfix" in text, text


def test_without_a_fresh_feed_nobody_is_judged(make_server):
    server = skipped_primary_server(make_server).start()
    code, line = rcpt(server, "127.0.0.21")
    assert code == 250, f"no contacts to {PRIMARY} at all: the feed is silent: {line}"


def test_ingest_remembers_the_position_of_a_file(make_server):
    server = make_server()
    now = int(time.time())
    log = server.dir / "maillog"
    log.write_text(postfix_connect(now - 60, "127.0.0.31") + "\n"
                   + postfix_connect(now - 50, "127.0.0.32") + "\n")
    assert "2 contacts recorded" in ingest(server, "--format", "postfix", str(log))
    assert "0 lines, 0 contacts recorded" in ingest(server, "--format", "postfix", str(log))

    partial = postfix_connect(now - 30, "127.0.0.34")
    with open(log, "a") as f:
        f.write(postfix_connect(now - 40, "127.0.0.33") + "\n" + partial[:30])
    out = ingest(server, "--format", "postfix", str(log))
    assert "1 lines, 1 contacts recorded" in out, "a line still being written waits: " + out
    with open(log, "a") as f:
        f.write(partial[30:] + "\n")
    out = ingest(server, "--format", "postfix", str(log))
    assert "1 lines, 1 contacts recorded, 0 other, 0 malformed" in out, out
    assert contacts(server, "127.0.0.34")[0]["last_at"] == now - 30
    # Each contact was counted once, not once per run.
    assert [c["count"] for c in contacts(server, "127.0.0.31")] == [1]
    # Without --host, the syslog host field names the MX.
    assert contacts(server, "127.0.0.31")[0]["host"] == "mx1"

    rotated = server.dir / "maillog.new"
    rotated.write_text(postfix_connect(now - 10, "127.0.0.35") + "\n")
    rotated.replace(log)  # a new file under the old name: read from its start
    out = ingest(server, "--format", "postfix", str(log))
    assert "1 lines, 1 contacts recorded" in out and "from offset 0" in out, out


EXIM_LOG = """\
{t} SMTP connection from [127.0.0.41]:50123 (TCP/IP connection count = 1)
{t} 1FdnXi-0006bg-Jb <= tfuz@rbc.example H=mail.sender.example (helo.example) [127.0.0.42] P=esmtp S=25748 id=036b01c6741a$a43423d0@valeriy
{t} 1FdnXi-0006bg-Jb => u@example.test R=dnslookup T=remote_smtp H=mx.example.test [127.0.0.96]
{t} 1FdnXk-0006bo-87 <= <> R=1FdnXi-0006bg-Jb U=mailnull P=local S=27199
{t} H=(friend) [127.0.0.43] F=<a@b.example> rejected RCPT <x@example.test>: relay not permitted
{t} 1FdnXi-0006bg-Jb Completed
{t} SMTP connection from [127.0.0.
{t} Start queue run: pid=12345
"""


def test_ingest_of_an_exim_log_from_standard_input(make_server):
    server = make_server()
    now = int(time.time())
    text = EXIM_LOG.format(t=exim_stamp(now - 120))
    out = ingest(server, "--format", "exim", "--host", PRIMARY, "-", stdin=text)
    assert "8 lines, 3 contacts recorded, 4 other, 1 malformed" in out, out
    for address in ("127.0.0.41", "127.0.0.42", "127.0.0.43"):
        seen = contacts(server, address)
        assert [(c["host"], c["source"], c["last_at"]) for c in seen] == [
            (PRIMARY, "ingest exim", now - 120)], (address, seen)
    assert contacts(server, "127.0.0.96") == [], "a delivery's next hop is no client"


def test_exim_log_file_and_host_required(make_server):
    server = make_server()
    log = server.dir / "mainlog"
    log.write_text(EXIM_LOG.format(t=exim_stamp(int(time.time()) - 60)))
    r = server.run("ingest", "--format", "exim", str(log))
    assert r.returncode == 2 and "--host is required" in r.stderr, (r.returncode, r.stderr)
    out = ingest(server, "--format", "exim", "--host", PRIMARY, str(log))
    assert "3 contacts recorded" in out, out
    assert "0 contacts recorded" in ingest(server, "--format", "exim", "--host", PRIMARY, str(log))


def test_a_live_pipe_is_recorded_line_by_line(make_server):
    """As `tail -n0 -F mail.log | backstop ingest -`: lines are recorded as they come, not
    at the end of the input."""
    server = make_server()
    now = int(time.time())
    proc = subprocess.Popen([BIN, "ingest", "--format", "postfix", "--host", PRIMARY, "-",
                             "--config", str(server.config_path)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        proc.stdin.write(postfix_connect(now - 5, "127.0.0.51") + "\n")
        proc.stdin.flush()
        assert wait_until(lambda: contacts(server, "127.0.0.51"), timeout=10)
        assert proc.poll() is None, "still reading"
        proc.stdin.write(postfix_connect(now - 4, "127.0.0.52") + "\n")
        proc.stdin.flush()
        assert wait_until(lambda: contacts(server, "127.0.0.52"), timeout=10)
    finally:
        proc.stdin.close()
        out = proc.stdout.read()
        proc.wait(timeout=10)
    assert "2 lines, 2 contacts recorded" in out, out


def test_more_preferred_hosts_from_the_domains_mx_records(make_server, tmp_path):
    """No list configured: the domain's MX set from a real DNS server (decoy 5, primary 10,
    us 20, trap 30) names the more-preferred hosts, the decoy and the primary; a contact to
    the primary clears a client, none refuses it, the trap (less preferred) is not asked."""
    from peers import Dns
    dns = Dns(tmp_path, ["--mx-host=example.test,decoy.example.test,5",
                         f"--mx-host=example.test,{PRIMARY},10",
                         f"--mx-host=example.test,{HOSTNAME},20",
                         "--mx-host=example.test,trap.example.test,30"])
    try:
        server = make_server(**{"checks": {"reject_score": 10.0},
                                "checks.skipped_primary": {"enabled": True, "score": 10.0},
                                "dns": {"servers": [f"127.0.0.1:{dns.port}"]}})
        now = int(time.time())
        log = server.dir / "maillog"
        log.write_text(postfix_connect(now - 60, "127.0.0.61") + "\n")
        assert "1 contacts recorded" in ingest(server, "--format", "postfix", "--host", PRIMARY,
                                               str(log))
        server.start()
        code, line = rcpt(server, "127.0.0.61")
        assert code == 250, line
        code, line = rcpt(server, "127.0.0.62")
        assert code == 550, line
        logged = server.wait_for_log("skipped_primary: client 127.0.0.62 for example.test")
        assert "decoy.example.test" in logged[0] and PRIMARY in logged[0], logged
        assert "trap.example.test" not in logged[0] and HOSTNAME not in logged[0], logged
    finally:
        dns.stop()
