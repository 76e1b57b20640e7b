"""[delivery] source_address: deliveries and callouts leave from the configured address (the
one the primary allowlists), as Postfix's smtp_bind_address, instead of the one the kernel
picks. The primary is smtp-sink, which writes the client address of each delivery; the
callout peer is a socket that records who connected."""
import json
import socket
import threading

from conftest import Smtp, free_port, send_message
from peers import Sink

PRIMARY, SOURCE = "127.0.0.3", "127.0.0.7"


def test_delivery_leaves_from_the_source_address(tmp_path, make_server):
    port = free_port()
    sink = Sink(tmp_path, PRIMARY, port).start()
    try:
        server = make_server(
            delivery={"retry_initial": "1s", "source_address": [SOURCE]},
            domains=[{"name": "example.test", "primary": [f"{PRIMARY}:{port}"]}]).start()
        code, lines = send_message(server.port, "a@b.example", ["u@example.test"],
                                   b"Subject: s\r\n\r\nbody\r\n")
        assert code == 250, lines
        messages = sink.wait_messages(1)
        assert messages[0][0]["X-Client-Addr"] == [SOURCE], messages[0][0]
    finally:
        sink.remove()


class RecordingPrimary:
    """Answers a recipient callout with 250 and records each client's address."""

    def __init__(self, host):
        self.sock = socket.socket()
        self.sock.bind((host, 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.clients = []
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while True:
            try:
                conn, peer = self.sock.accept()
            except OSError:
                return
            self.clients.append(peer[0])
            # The server keeps its callout connection open: one thread per client.
            threading.Thread(target=self.answer, args=(conn,), daemon=True).start()

    @staticmethod
    def answer(conn):
        with conn:
            f = conn.makefile("rb")
            conn.sendall(b"220 primary ESMTP\r\n")
            for line in f:
                verb = line[:4].upper()
                if verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    break
                conn.sendall(b"250 ok\r\n")

    def close(self):
        self.sock.close()


def test_callout_leaves_from_the_source_address(tmp_path, make_server):
    primary = RecordingPrimary(PRIMARY)
    try:
        server = make_server(
            delivery={"source_address": [SOURCE, "::1"]},
            verify={"callout": True, "sender_domain": False, "unverified": "defer"},
            domains=[{"name": "example.test",
                      "primary": [f"{PRIMARY}:{primary.port}"]}]).start()
        # The server's own callout, at RCPT.
        c = Smtp(server.port)
        c.greet("client.example")
        assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
        assert c.cmd("RCPT TO:<someone@example.test>")[0] == 250
        c.close()
        assert len(primary.clients) == 1 and primary.clients == [SOURCE], primary.clients
        # The CLI's live callout (`backstop verify`) uses the same options.
        j = json.loads(server.cli("verify", "other@example.test", "--json").stdout)
        assert j["callout"]["code"] == 250 and j["callout"]["result"] == "valid", j
        assert primary.clients == [SOURCE, SOURCE], primary.clients
    finally:
        primary.close()


def test_two_addresses_of_one_family_are_refused(tmp_path, make_server):
    server = make_server(delivery={"source_address": ["127.0.0.7", "127.0.0.8"]})
    r = server.run("check-config")
    assert r.returncode != 0
    assert "source_address" in r.stdout + r.stderr


def test_a_name_is_refused(tmp_path, make_server):
    server = make_server(delivery={"source_address": ["mx2.example.test"]})
    r = server.run("check-config")
    assert r.returncode != 0
    assert "not an IP address" in r.stdout + r.stderr
