"""backstop as a systemd service: sd_notify READY/RELOADING/STOPPING and the watchdog over a
real NOTIFY_SOCKET, dropping root to the configured user, and the unit file in contrib/
checked by systemd-analyze."""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import BIN, MACHINE_CANNOT, QUEUED_RE, Backstop, Smtp

HERE = os.path.dirname(os.path.abspath(__file__))
UNIT = os.path.normpath(os.path.join(HERE, "..", "..", "contrib", "backstop.service"))


class NotifySocket:
    """The datagram socket systemd listens on for sd_notify; collects every message."""

    def __init__(self, directory):
        self.path = str(directory / "notify.sock")
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.messages = []

    def wait_for(self, field, count=1, timeout=10.0):
        """Waits until `count` messages carry `field` (e.g. "READY=1"); returns all so far."""
        deadline = time.time() + timeout
        while sum(field in m.split("\n") for m in self.messages) < count:
            left = deadline - time.time()
            if left <= 0:
                raise AssertionError(f"no {count}x {field!r} within {timeout} s: {self.messages}")
            self.sock.settimeout(left)
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except socket.timeout:
                pass
        return self.messages

    def close(self):
        self.sock.close()


@pytest.fixture
def notify(tmp_path):
    n = NotifySocket(tmp_path)
    yield n
    n.close()


def supervised(tmp_path, notify, **extra_env):
    server = Backstop(tmp_path)
    server.env = dict(os.environ, NOTIFY_SOCKET=notify.path, **extra_env)
    return server


def test_ready_is_sent_once_the_listener_accepts(tmp_path, notify):
    server = supervised(tmp_path, notify).start()
    try:
        messages = notify.wait_for("READY=1")
        ready = next(m for m in messages if "READY=1" in m.split("\n"))
        assert "STATUS=running" in ready.split("\n"), ready
        c = Smtp(server.port)
        code, lines = c.read_reply()
        assert code == 220, lines
        c.close()
    finally:
        server.stop()


def test_reload_is_announced_and_followed_by_ready(tmp_path, notify):
    server = supervised(tmp_path, notify).start()
    try:
        notify.wait_for("READY=1")
        server.proc.send_signal(signal.SIGHUP)
        messages = notify.wait_for("READY=1", count=2)
        fields = [m.split("\n") for m in messages]
        reloading = next(i for i, f in enumerate(fields) if "RELOADING=1" in f)
        ready_again = [i for i, f in enumerate(fields) if "READY=1" in f][1]
        assert reloading < ready_again, messages
        server.wait_for_log("reload:")
    finally:
        server.stop()


def test_sigterm_announces_stopping(tmp_path, notify):
    server = supervised(tmp_path, notify).start()
    notify.wait_for("READY=1")
    server.proc.send_signal(signal.SIGTERM)
    notify.wait_for("STOPPING=1")
    assert server.proc.wait(timeout=10) == 0
    server.stop()


def test_watchdog_pings_at_half_the_interval(tmp_path, notify):
    # WATCHDOG_USEC of 0.4 s: a ping every 0.2 s while every loop answers.
    server = supervised(tmp_path, notify, WATCHDOG_USEC="400000").start()
    try:
        started = time.time()
        notify.wait_for("WATCHDOG=1", count=6, timeout=10)
        # Six pings at 0.2 s take about 1 s; the slack covers a loaded machine.
        assert time.time() - started < 8
    finally:
        server.stop()


def test_no_watchdog_pings_unless_asked(tmp_path, notify):
    server = supervised(tmp_path, notify).start()
    try:
        notify.wait_for("READY=1")
        server.proc.send_signal(signal.SIGTERM)
        messages = notify.wait_for("STOPPING=1")
        assert not any("WATCHDOG=1" in m.split("\n") for m in messages), messages
        server.proc.wait(timeout=10)
    finally:
        server.stop()


def uids_of(pid):
    """The real, effective, saved and file-system uid of every thread of the process."""
    found = set()
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/status") as f:
            for line in f:
                if line.startswith("Uid:"):
                    found.update(int(u) for u in line.split()[1:])
    return found


@pytest.fixture
def open_dir():
    """A directory the unprivileged user can traverse (pytest's own tmp dirs are 0700)."""
    d = tempfile.mkdtemp(prefix="backstop-user-")
    os.chmod(d, 0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def test_started_as_root_it_runs_as_the_configured_user(tmp_path, open_dir):
    if os.geteuid() != 0:
        pytest.skip(f"{MACHINE_CANNOT} start a server as root")
    nobody = pwd.getpwnam("nobody")
    server = Backstop(tmp_path, queue_dir=os.path.join(open_dir, "queue"),
                      state={"path": os.path.join(open_dir, "state", "state.db")})
    server.configure(**{"": {"hostname": "mx2.example.test", "user": "nobody"}})
    server.start()
    try:
        server.wait_for_log("running as nobody")
        assert uids_of(server.proc.pid) == {nobody.pw_uid}
        # The queue it writes from now on is its own.
        assert os.stat(os.path.join(open_dir, "queue")).st_uid == nobody.pw_uid
        c = Smtp(server.port)
        c.greet("client.example")
        assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
        assert c.cmd("RCPT TO:<u@example.test>")[0] == 250
        assert c.cmd("DATA")[0] == 354
        c.send(b"Subject: after the drop\r\n\r\nbody\r\n.\r\n")
        code, lines = c.read_reply()
        assert code == 250 and QUEUED_RE.match(lines[-1]), lines
        c.close()
        queued = server.queue_ids()
        assert len(queued) == 1
        server.restart()
        assert server.queue_ids() == queued
    finally:
        server.stop()


def test_an_unknown_user_is_a_config_error(tmp_path):
    server = Backstop(tmp_path)
    server.configure(**{"": {"hostname": "mx2.example.test", "user": "no-such-user-here"}})
    r = server.run("check-config")
    assert r.returncode != 0
    assert "user" in r.stderr + r.stdout and "no-such-user-here" in r.stderr + r.stdout


def test_unit_file_passes_systemd_analyze_verify(tmp_path):
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip(f"{MACHINE_CANNOT} run systemd-analyze")
    # The unit as shipped, pointed at the binary under test.
    text = open(UNIT).read().replace("/usr/sbin/backstop", BIN)
    unit = tmp_path / "backstop.service"
    unit.write_text(text)
    r = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True,
                       timeout=60)
    problems = [l for l in (r.stdout + r.stderr).splitlines()
                if "backstop.service" in l]
    assert r.returncode == 0 and not problems, r.stdout + r.stderr
    for wanted in ("Type=notify", "WatchdogSec=", "NoNewPrivileges=yes", "ProtectSystem=",
                   "CapabilityBoundingSet=CAP_NET_BIND_SERVICE"):
        assert wanted in text, wanted


def thread_policies(pid):
    """{thread name: scheduling policy} of every thread of the process."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/comm") as f:
            out[f.read().strip()] = os.sched_getscheduler(int(tid))
    return out


def test_every_thread_runs_under_sched_batch_by_default(server):
    policies = thread_policies(server.proc.pid)
    # The session loop, the committer, delivery and the state store, at least.
    assert {"bs-smtp-0", "bs-commit", "bs-delivery"} <= policies.keys(), policies
    assert set(policies.values()) == {os.SCHED_BATCH}, policies


def test_scheduling_normal_keeps_the_default_policy(make_server):
    server = make_server()
    server.configure(**{"": {"hostname": "mx2.example.test", "scheduling": "normal"}})
    server.start()
    policies = thread_policies(server.proc.pid)
    assert "bs-commit" in policies, policies
    assert set(policies.values()) == {os.SCHED_OTHER}, policies


def test_an_unknown_scheduling_policy_is_a_config_error(tmp_path):
    server = Backstop(tmp_path)
    server.configure(**{"": {"hostname": "mx2.example.test", "scheduling": "fifo"}})
    r = server.run("check-config")
    assert r.returncode != 0
    out = r.stderr + r.stdout
    assert "scheduling" in out and "batch" in out and "normal" in out, out


def test_the_server_allocates_with_mimalloc(server):
    if os.environ.get("BACKSTOP_SANITIZED") == "1":
        pytest.skip("the sanitizer build keeps the sanitizers' allocator")
    with open(f"/proc/{server.proc.pid}/maps") as f:
        maps = f.read()
    assert "libmimalloc.so" in maps, "the release build links mimalloc (CMakeLists.txt)"
