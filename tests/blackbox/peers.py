"""Real peers for delivery tests: dnsmasq as the authoritative DNS server of the .test zone,
and Postfix's smtp-sink as primary or sender-domain MX, each on its own loopback address."""
import glob
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import time

from conftest import free_port, wait_port


class Dns:
    """dnsmasq, authoritative for "test": real NXDOMAIN/NODATA answers, never forwarding."""

    def __init__(self, tmp_path, records):
        self.port = free_port()
        self.records = records
        self.log = open(tmp_path / "dnsmasq.log", "ab")
        args = ["dnsmasq", "--no-daemon", f"--port={self.port}", "--listen-address=127.0.0.1",
                "--bind-interfaces", "--no-resolv", "--no-hosts", "--conf-file=/dev/null",
                "--user=root", "--auth-server=ns.test,127.0.0.1", "--auth-zone=test",
                "--auth-ttl=0", "--local-ttl=0"]
        self.proc = subprocess.Popen(args + records, stdout=self.log, stderr=self.log)
        self.wait()

    def wait(self):
        deadline = time.time() + 5
        while time.time() < deadline:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.settimeout(0.2)
            try:
                s.sendto(b"\x00\x01\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x02ns\x04test\x00"
                         b"\x00\x01\x00\x01", ("127.0.0.1", self.port))
                s.recv(512)
                return
            except OSError:
                time.sleep(0.05)
            finally:
                s.close()
        raise RuntimeError("dnsmasq did not start")

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


class Sink:
    """smtp-sink on 127.0.0.X:port, keeping every transaction it accepts as a file."""

    def __init__(self, tmp_path, host, port, extra=()):
        self.host, self.port, self.extra = host, port, list(extra)
        # smtp-sink drops to "nobody", which cannot enter pytest's private tmp_path.
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix=f"backstop-sink-{host}-"))
        os.chmod(self.dir, 0o777)
        self.proc = None

    def start(self, *extra):
        args = ["smtp-sink", "-u", "nobody", "-c", "-d", str(self.dir) + "/%Y%m%d%H%M%S.",
                *self.extra, *extra, f"{self.host}:{self.port}", "100"]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        assert wait_port(self.host, self.port), "smtp-sink did not start"
        return self

    def stop(self):
        if self.proc:
            self.proc.terminate()
            self.proc.wait()
            self.proc = None

    def remove(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def messages(self):
        """Each accepted transaction: (headers added by smtp-sink dict, message bytes)."""
        out = []
        for path in sorted(glob.glob(str(self.dir / "*"))):
            data = open(path, "rb").read()
            if b"Received: from " not in data:
                continue  # smtp-sink has created the dump but not written it yet
            meta, _, rest = data.partition(b"Received: from ")
            # smtp-sink puts X-* lines and its own (folded) Received header first.
            lines = rest.split(b"\n")
            i = 1
            while i < len(lines) and lines[i][:1] in (b"\t", b" "):
                i += 1
            message = b"\n".join(lines[i:])
            if message.endswith(b"\n\n"):
                message = message[:-1]  # smtp-sink ends each dump with an empty line
            fields = {}
            for line in meta.decode(errors="replace").splitlines():
                key, _, value = line.partition(": ")
                fields.setdefault(key, []).append(value)
            out.append((fields, message))
        return out

    def wait_messages(self, count, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            got = self.messages()
            if len(got) >= count:
                return got
            time.sleep(0.1)
        return self.messages()
