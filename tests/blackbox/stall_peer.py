"""A misbehaving SMTP server for deadline tests: it plays a normal server up to a chosen
command and then never answers it (the connection stays open and silent), the way a hung or
hostile MX does. Stages, named after the reply that never comes:

    greeting  accepts TCP, never sends the banner                  (stall after connect)
    ehlo      sends the banner, never answers EHLO/HELO            (stall after the banner)
    tls       offers STARTTLS, answers 220, never speaks TLS       (stall during TLS)
    mail      answers EHLO (no STARTTLS), never answers MAIL       (stall after EHLO)
    rcpt      answers MAIL, never answers RCPT                     (stall after MAIL)
    data      answers RCPT, never answers DATA: no 354             (stall after RCPT / DATA)
    rset      answers RCPT, never answers RSET (what a callout sends after RCPT)
    dot       answers DATA with 354, reads the message, never answers the final dot
    none      a working server (with slow_rcpt or refuse_null_sender)

slow_rcpt=N answers each RCPT after N seconds instead; slow_all=N waits N seconds before
every reply, the banner included (each step just inside a per-step timeout);
refuse_null_sender=True answers
MAIL FROM:<> with 550 5.7.1; pipelining=True offers PIPELINING (RFC 2920), so the client
sends its commands in one batch and the stall is met inside it. Recipients whose local part starts with "unknown" get
550 5.1.1, every other one 250. The peer counts connections and records every command line
per connection, so a test can see a retry arrive. Loopback only; one thread per connection.
"""
import socket
import threading
import time

STAGES = ("greeting", "ehlo", "tls", "mail", "rcpt", "data", "rset", "dot", "none")


class StallPeer:
    def __init__(self, stage, host="127.0.0.5", port=0, slow_rcpt=0.0, slow_all=0.0,
                 refuse_null_sender=False, pipelining=False):
        assert stage in STAGES, stage
        self.stage, self.host = stage, host
        self.slow_all, self.pipelining = slow_all, pipelining
        self.slow_rcpt, self.refuse_null_sender = slow_rcpt, refuse_null_sender
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((host, port))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.sessions = []  # one list of received command lines per connection
        self.closed_by_client = 0
        self.stalled = 0  # connections that reached the stall
        self.open_sockets = set()
        self.stopping = False
        self.thread = threading.Thread(target=self._accept_loop, daemon=True)
        self.thread.start()

    @property
    def endpoint(self):
        return f"{self.host}:{self.port}"

    def connections(self):
        with self.lock:
            return len(self.sessions)

    def commands(self, index):
        with self.lock:
            return list(self.sessions[index])

    def all_commands(self):
        with self.lock:
            return [c for s in self.sessions for c in s]

    def wait(self, predicate, timeout=20.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if predicate():
                return True
            time.sleep(0.05)
        return False

    def wait_connections(self, count, timeout=20.0):
        return self.wait(lambda: self.connections() >= count, timeout)

    def wait_closed(self, count, timeout=20.0):
        """Until `count` connections were closed by the client (it gave up on us)."""
        return self.wait(lambda: self.closed_by_client >= count, timeout)

    def stop(self):
        self.stopping = True
        try:
            self.listener.close()
        except OSError:
            pass
        with self.lock:
            socks = list(self.open_sockets)
        for s in socks:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    # ---- the server -------------------------------------------------------------------------

    def _accept_loop(self):
        while not self.stopping:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with self.lock:
                self.sessions.append([])
                index = len(self.sessions) - 1
                self.open_sockets.add(conn)
            threading.Thread(target=self._serve, args=(conn, index), daemon=True).start()

    def _stall(self, conn):
        """Silent from now on: read (and drop) whatever comes until the client hangs up."""
        with self.lock:
            self.stalled += 1
        try:
            while conn.recv(4096):
                pass
        except OSError:
            pass

    def _serve(self, conn, index):
        try:
            self._conversation(conn, index)
        except OSError:
            pass
        finally:
            if not self.stopping:
                with self.lock:
                    self.closed_by_client += 1
            with self.lock:
                self.open_sockets.discard(conn)
            conn.close()

    def _conversation(self, conn, index):
        if self.stage == "greeting":
            return self._stall(conn)
        time.sleep(self.slow_all)
        conn.sendall(b"220 stall.example.test ESMTP stall peer\r\n")
        buf = b""
        in_data = False
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                return
            buf += chunk
            if in_data:
                end = buf.find(b"\r\n.\r\n")
                if end < 0 and not buf.startswith(b".\r\n"):
                    continue
                buf = buf[end + 5:] if end >= 0 else buf[3:]
                in_data = False
                with self.lock:
                    self.sessions[index].append("<message>")
                if self.stage == "dot":
                    return self._stall(conn)
                time.sleep(self.slow_all)
                conn.sendall(b"250 2.0.0 Ok: queued\r\n")
            while b"\r\n" in buf and not in_data:
                line, buf = buf.split(b"\r\n", 1)
                text = line.decode(errors="replace")
                with self.lock:
                    self.sessions[index].append(text)
                reply = self._answer(text)
                if reply is None:
                    return self._stall(conn)
                time.sleep(self.slow_all)
                conn.sendall(reply)
                if reply.startswith(b"220"):  # STARTTLS accepted: never speak TLS
                    return self._stall(conn)
                if reply.startswith(b"354"):
                    in_data = True
                if reply.startswith(b"221"):
                    return

    def _answer(self, line):
        """The reply to one command line, or None where this peer stalls."""
        verb = line.split(" ", 1)[0].split(":", 1)[0].upper()
        stall_on = {"ehlo": ("EHLO", "HELO"), "mail": ("MAIL",),
                    "rcpt": ("RCPT",), "data": ("DATA",), "rset": ("RSET",)}
        if verb in stall_on.get(self.stage, ()):
            return None
        if verb == "EHLO":
            starttls = "250-STARTTLS\r\n" if self.stage == "tls" else ""
            starttls += "250-PIPELINING\r\n" if self.pipelining else ""
            return (f"250-stall.example.test\r\n{starttls}250-8BITMIME\r\n"
                    f"250 ENHANCEDSTATUSCODES\r\n").encode()
        if verb == "HELO":
            return b"250 stall.example.test\r\n"
        if verb == "STARTTLS":
            if self.stage != "tls":
                return b"502 5.5.1 not here\r\n"
            return b"220 2.0.0 Ready to start TLS\r\n"
        if verb == "MAIL":
            if self.refuse_null_sender and "<>" in line:
                return b"550 5.7.1 <>: null sender refused here\r\n"
            return b"250 2.1.0 Ok\r\n"
        if verb == "RCPT":
            if self.slow_rcpt:
                time.sleep(self.slow_rcpt)
            local = line.split("<", 1)[-1]
            if local.lower().startswith("unknown"):
                return b"550 5.1.1 <" + local.encode() + b" User unknown\r\n"
            return b"250 2.1.5 Ok\r\n"
        if verb == "DATA":
            return b"354 End data with <CR><LF>.<CR><LF>\r\n"
        if verb == "RSET":
            return b"250 2.0.0 Ok\r\n"
        if verb == "NOOP":
            return b"250 2.0.0 Ok\r\n"
        if verb == "QUIT":
            return b"221 2.0.0 Bye\r\n"
        return b"502 5.5.2 unknown command\r\n"
