"""A real Postfix as the PRIMARY MX of a domain, for the recipient-verification tests.

PostfixPrimary runs a private Postfix instance (its own main.cf/master.cf, queue, data and
mail directories, `postfix -c DIR start` as root, like bench/lib.sh) that knows which users
exist: virtual_mailbox_domains = the domain, virtual_mailbox_maps = texthash:FILE, delivery
into maildirs by the virtual(8) agent, so a test can read what reached each user. Its smtpd
rejects unlisted recipients at RCPT with Postfix's own
    550 5.1.1 <x@example.test>: Recipient address rejected: User unknown in virtual mailbox table
and does no DNS lookup of any kind. It listens on host:port (127.0.0.2 by default) only.

What the tests observe comes from the maillog (maillog_file, written by postlogd):
connections(), rcpt_rejections(), deliveries(). postlogd writes asynchronously, so every
reader first calls sync(): it logs a unique marker through postlog(1) and waits until the
marker is in the file; a line that any Postfix process sent before the marker is then there
too (all go through the one postlog socket in order).

Postfix quirks this class deals with (found while writing it):
- every Postfix command sleeps in 300 ms steps while main.cf is less than about 2 s old
  ("file is being modified"), which made a fresh start take 2.3 s: the config files and the
  user map get an mtime one minute in the past (the same for texthash maps).
- inet_interfaces = 127.0.0.2 is refused ("no local interface found": lo only carries
  127.0.0.1/8), so inet_interfaces = loopback-only and the smtpd entry in master.cf names
  host:port itself.
- the daemons run as user postfix and cannot enter pytest's tmp_path (/tmp/pytest-of-root is
  0700), and the Unix sockets under queue_directory must stay below 108 bytes: the instance
  lives in a short mkdtemp() directory under /tmp (0755); its maillog is copied into the
  test's tmp_path when it is removed.
- the stock alias_maps (hash:/etc/aliases) logs an error on every smtpd start when
  /etc/aliases.db is missing: alias_maps is empty.
- `postfix reload` applies a new user map only to smtpd processes started after it: a
  connection that is already open (for example a callout connection that the backup MX
  keeps for reuse) keeps answering from the old map until it closes.
- smtpd counts every rejected RCPT as an error on its connection: after
  smtpd_soft_error_limit (10) errors each reply is delayed by smtpd_error_sleep_time (1 s),
  after smtpd_hard_error_limit (20) it answers 421 and disconnects; RSET counts against
  smtpd_junk_command_limit (100). These defaults are kept (a real primary has them); pass
  settings={...} to change them.
"""
import atexit
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
import uuid

from conftest import free_port

POSTFIX = "/usr/sbin/postfix"
POSTLOG = "/usr/sbin/postlog"
SCRIPT = "/usr/bin/script"

CONNECT_RE = re.compile(r" postfix/smtpd\[\d+\]: connect from ")
DISCONNECT_RE = re.compile(r" postfix/smtpd\[\d+\]: disconnect from ")
# NOQUEUE before the first accepted RCPT of a transaction, the queue id after it.
REJECT_RE = re.compile(r" postfix/smtpd\[\d+\]: (?:NOQUEUE|[0-9A-F]+): reject: RCPT from [^:]*: "
                       r"(?P<reply>\d{3} .*?); from=<(?P<sender>[^>]*)> "
                       r"to=<(?P<address>[^>]*)>")
SENT_RE = re.compile(r" postfix/virtual\[\d+\]: (?P<queue_id>[0-9A-F]+): "
                     r"to=<(?P<address>[^>]*)>, .*status=sent ")
RELOAD_RE = re.compile(r" postfix/master\[\d+\]: reload ")

# Instances that may still run, stopped at interpreter exit whatever happened before.
_running = set()


@atexit.register
def _stop_all():
    for p in list(_running):
        try:
            p.stop()
        except Exception as e:  # noqa: BLE001 - last resort, keep stopping the others
            print(f"postfix_primary: could not stop {p.dir}: {e}")


def _listening(host, port):
    """True when a TCP socket listens on host:port (IPv4), read from /proc/net/tcp: no probe
    connection, which would show up in connections()."""
    a, b, c, d = (int(x) for x in host.split("."))
    local = f"{d:02X}{c:02X}{b:02X}{a:02X}:{port:04X}"
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[1] == local and fields[3] == "0A":
                return True
    return False


class PostfixPrimary:
    """A private Postfix instance, primary MX of `domain`, with mailboxes for `users`."""

    def __init__(self, tmp_path, host="127.0.0.2", port=None, domain="example.test",
                 users=("alice", "bob"), settings=None):
        self.tmp_path = tmp_path
        self.host, self.domain = host, domain
        self.port = port or free_port(host)
        self.settings = dict(settings or {})
        self.dir = tempfile.mkdtemp(prefix="backstop-pf-", dir="/tmp")
        os.chmod(self.dir, 0o755)
        self.etc = os.path.join(self.dir, "etc")
        self.maillog = os.path.join(self.dir, "maillog")
        self.users_file = os.path.join(self.etc, "users")
        self.mail_dir = os.path.join(self.dir, "mail")
        postfix = pwd.getpwnam("postfix")
        self.uid, self.gid = postfix.pw_uid, postfix.pw_gid
        for sub in ("etc", "spool", "data", "mail"):
            os.mkdir(os.path.join(self.dir, sub))
        for sub in ("data", "mail"):
            os.chown(os.path.join(self.dir, sub), self.uid, self.gid)
        self.users = ()
        self._write_users(users)
        self._write_config()
        self._master_pid = None

    # ---- configuration ------------------------------------------------------------------------

    @staticmethod
    def _age(path):
        """Postfix waits while a config file or texthash map is younger than ~2 s."""
        past = time.time() - 60
        os.utime(path, (past, past))

    def address(self, user):
        return user if "@" in user else f"{user}@{self.domain}"

    def _write_users(self, users):
        self.users = tuple(self.address(u) for u in users)
        lines = []
        for a in self.users:
            local, _, dom = a.rpartition("@")
            lines.append(f"{a} {dom}/{local}/")  # trailing slash: a maildir
        tmp = self.users_file + ".new"
        with open(tmp, "w") as f:
            f.write("\n".join(lines) + "\n")
        self._age(tmp)
        os.replace(tmp, self.users_file)

    def _write_config(self):
        d = self.dir
        main = {
            "compatibility_level": "3.6",
            "queue_directory": f"{d}/spool",
            "data_directory": f"{d}/data",
            "meta_directory": "/etc/postfix",
            "shlib_directory": "no",
            "mail_owner": "postfix",
            "setgid_group": "postdrop",
            "inet_interfaces": "loopback-only",
            "inet_protocols": "ipv4",
            "myhostname": f"primary.{self.domain}",
            "mydestination": "",
            # Only the primary itself is trusted: the backup MX is an ordinary client here.
            "mynetworks": f"{self.host}/32",
            "relay_domains": "",
            "alias_maps": "",
            "alias_database": "",
            "virtual_mailbox_domains": self.domain,
            "virtual_mailbox_maps": f"texthash:{self.users_file}",
            "virtual_mailbox_base": self.mail_dir,
            "virtual_uid_maps": f"static:{self.uid}",
            "virtual_gid_maps": f"static:{self.gid}",
            "virtual_minimum_uid": "1",
            "virtual_transport": "virtual",
            "smtpd_reject_unlisted_recipient": "yes",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "smtpd_client_restrictions": "",
            "smtpd_peername_lookup": "no",
            "disable_dns_lookups": "yes",
            "smtp_dns_support_level": "disabled",
            "maillog_file_prefixes": d,
            "maillog_file": self.maillog,
            "biff": "no",
        }
        main.update(self.settings)
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write("".join(f"{k} = {v}\n" for k, v in main.items()))
        # The stock services, without chroot (the private spool has no chroot files).
        master = f"""{self.host}:{self.port} inet n - n - - smtpd
pickup    unix  n - n 60  1 pickup
cleanup   unix  n - n -   0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -   - trivial-rewrite
bounce    unix  - - n -   0 bounce
defer     unix  - - n -   0 bounce
trace     unix  - - n -   0 bounce
verify    unix  - - n -   1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -   - proxymap
smtp      unix  - - n -   - smtp
relay     unix  - - n -   - smtp
showq     unix  n - n -   - showq
error     unix  - - n -   - error
retry     unix  - - n -   - error
discard   unix  - - n -   - discard
virtual   unix  - n n -   - virtual
anvil     unix  - - n -   1 anvil
scache    unix  - - n -   1 scache
postlog   unix-dgram n - n - 1 postlogd
"""
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(master)
        for name in ("main.cf", "master.cf"):
            self._age(os.path.join(self.etc, name))

    def _postfix(self, *args, timeout=30):
        """Runs `postfix -c ETC ARGS` under script(1): postfix prints its errors only to a
        terminal (or syslog, which this machine may not have)."""
        cmd = " ".join([POSTFIX, "-c", self.etc, *args])
        r = subprocess.run([SCRIPT, "-qec", cmd, "/dev/null"], capture_output=True,
                           timeout=timeout)
        return r.returncode, r.stdout.decode(errors="replace") + r.stderr.decode(errors="replace")

    # ---- process control ----------------------------------------------------------------------

    def running(self):
        """`postfix status`: whether this instance's master runs. (Each call logs a line to
        the maillog; polling loops use master_alive().)"""
        r = subprocess.run([POSTFIX, "-c", self.etc, "status"], capture_output=True, timeout=30)
        return r.returncode == 0

    def master_alive(self):
        """Whether the master named in this instance's pid file runs (silent, cheap)."""
        return self._alive(self._read_master_pid())

    def start(self, timeout=5.0):
        code, out = self._postfix("start")
        _running.add(self)
        if code != 0:
            self.stop()
            raise RuntimeError(f"postfix start failed ({code}): {out}\n{self.log_text()[-3000:]}")
        self._master_pid = self._read_master_pid()
        deadline = time.time() + timeout
        while not _listening(self.host, self.port):
            if time.time() > deadline:
                self.stop()
                raise RuntimeError(f"postfix listens not on {self.host}:{self.port}:\n"
                                   f"{out}\n{self.log_text()[-3000:]}")
            time.sleep(0.02)
        return self

    def _read_master_pid(self):
        try:
            with open(os.path.join(self.dir, "spool", "pid", "master.pid")) as f:
                return int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    @staticmethod
    def _alive(pid):
        """True while `pid` runs. A zombie counts as gone: the daemonised master is a child
        of PID 1, which in a container may reap it only a second later."""
        if pid is None:
            return False
        try:
            with open(f"/proc/{pid}/stat") as f:
                return f.read().rpartition(")")[2].split()[0] != "Z"
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return False

    def stop(self, timeout=10.0):
        """Stops the master as `postfix stop` does (SIGTERM; the master takes its children
        down with it) without the script's one-second polling, waits until it is gone and
        nothing listens; falls back to SIGKILL (`postfix abort`). Safe to call when the
        instance does not run; asserts that `postfix status` then says it does not."""
        pid = self._master_pid or self._read_master_pid()
        if pid is not None and self._alive(pid):
            os.kill(pid, signal.SIGTERM)
            deadline = time.time() + timeout
            while self._alive(pid) and time.time() < deadline:
                time.sleep(0.01)
            if self._alive(pid):
                os.kill(pid, signal.SIGKILL)
        if self.master_alive():  # a master this object did not know of
            self._postfix("stop")
        deadline = time.time() + timeout
        while _listening(self.host, self.port) and time.time() < deadline:
            time.sleep(0.01)
        self._master_pid = None
        _running.discard(self)
        assert not self.running(), f"Postfix in {self.dir} still runs"
        assert not _listening(self.host, self.port), f"{self.host}:{self.port} still listens"
        return self

    def restart(self):
        self.stop()
        return self.start()

    def reload(self, timeout=5.0):
        """`postfix reload`, waiting for the master to log that it reloaded."""
        before = len(self._lines(RELOAD_RE))
        code, out = self._postfix("reload")
        assert code == 0, out
        deadline = time.time() + timeout
        while len(self._lines(RELOAD_RE)) <= before:
            assert time.time() < deadline, f"no reload line in the maillog: {out}"
            time.sleep(0.02)

    def set_users(self, users):
        """Rewrites the user map and reloads (texthash is read when a process starts): new
        connections see the new list, open ones keep the old (see the module docstring)."""
        self._write_users(users)
        if self.master_alive():
            self.reload()

    def remove(self):
        """Stops the instance, keeps its maillog in tmp_path, deletes its directory."""
        self.stop()
        try:
            shutil.copy(self.maillog, os.path.join(str(self.tmp_path),
                                                   f"postfix-{self.host}-{self.port}.maillog"))
        except OSError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    # ---- what the maillog says ----------------------------------------------------------------

    def log_text(self):
        try:
            with open(self.maillog, "rb") as f:
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def log_size(self):
        try:
            return os.path.getsize(self.maillog)
        except FileNotFoundError:
            return 0

    def log_since(self, offset):
        """The maillog from byte `offset` (a log_size() taken earlier) on."""
        try:
            with open(self.maillog, "rb") as f:
                f.seek(offset)
                return f.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def sync(self, timeout=5.0):
        """Waits until every line Postfix logged so far is in the maillog (see the module
        docstring). When the instance is stopped there is nothing in flight."""
        if not self.master_alive():
            return
        marker = f"backstop-sync-{uuid.uuid4().hex}"
        subprocess.run([POSTLOG, "-c", self.etc, "-t", "backstop-test", marker],
                       capture_output=True, timeout=10, check=True)
        deadline = time.time() + timeout
        while marker not in self.log_text():
            assert time.time() < deadline, f"postlogd did not write {marker}"
            time.sleep(0.01)

    def _lines(self, regex):
        return [m for m in (regex.search(line) for line in self.log_text().splitlines()) if m]

    def connections(self, sync=True):
        """How many SMTP connections this instance received since it was created."""
        if sync:
            self.sync()
        return len(self._lines(CONNECT_RE))

    def disconnections(self, sync=True):
        if sync:
            self.sync()
        return len(self._lines(DISCONNECT_RE))

    def open_connections(self, sync=True):
        """Connections not closed yet (connect lines minus disconnect lines)."""
        if sync:
            self.sync()
        return len(self._lines(CONNECT_RE)) - len(self._lines(DISCONNECT_RE))

    def rcpt_rejections(self, sync=True):
        """Every RCPT smtpd refused: [{"address", "sender", "reply"}], oldest first."""
        if sync:
            self.sync()
        return [{"address": m["address"], "sender": m["sender"], "reply": m["reply"]}
                for m in self._lines(REJECT_RE)]

    def deliveries(self, sync=True):
        """Every recipient the virtual agent delivered: [(queue id, address)]."""
        if sync:
            self.sync()
        return [(m["queue_id"], m["address"]) for m in self._lines(SENT_RE)]

    def delivered(self, address):
        """The messages in the maildir of `address` (bytes each, oldest first)."""
        local, _, dom = self.address(address).rpartition("@")
        box = os.path.join(self.mail_dir, dom.lower(), local)
        files = []
        for sub in ("new", "cur"):
            try:
                files += [os.path.join(box, sub, n) for n in os.listdir(os.path.join(box, sub))]
            except FileNotFoundError:
                pass
        files.sort(key=os.path.getmtime)
        out = []
        for path in files:
            with open(path, "rb") as f:
                out.append(f.read())
        return out

    def wait_delivered(self, address, count=1, timeout=10.0):
        deadline = time.time() + timeout
        while True:
            got = self.delivered(address)
            if len(got) >= count or time.time() > deadline:
                return got
            time.sleep(0.05)

    def wait_connections(self, count, timeout=5.0):
        """Waits until connections() >= count; returns the last count."""
        deadline = time.time() + timeout
        while True:
            n = self.connections()
            if n >= count or time.time() > deadline:
                return n
            time.sleep(0.05)
