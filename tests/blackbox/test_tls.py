"""STARTTLS (RFC 3207) with a self-signed certificate made by openssl, swaks --tls, and the
plaintext command injection case (CVE-2011-0411)."""
import hashlib
import re
import ssl
import subprocess
import time

import pytest

from conftest import HOSTNAME, Smtp, queue_id_of, split_received, swaks, swaks_queue_id


@pytest.fixture
def tls_server(make_server, tls_files):
    cert, key = tls_files
    return make_server(smtp={"tls_certificate": str(cert), "tls_key": str(key)}).start()


def tls_client(server):
    c = Smtp(server.port)
    lines = c.greet()
    assert any(l[4:] == "STARTTLS" for l in lines), lines
    code, lines = c.cmd("STARTTLS")
    assert code == 220 and lines[0].startswith("220 2.0.0"), lines
    assert c.starttls() == b""
    return c


def test_swaks_over_starttls(tls_server):
    r = swaks(tls_server.port, "--tls", "--to", "alice@example.test", "--from",
              "bob@example.org", "--body", "over tls")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "TLS started" in r.stdout
    qid = swaks_queue_id(r)
    m = tls_server.show(qid)["message"]
    assert m["tls"]  # records that the message came over TLS
    header, rest = split_received(tls_server.raw_message(qid))
    assert b"with ESMTPS id " + qid.encode() in header.replace(b"\r\n\t", b" ")  # RFC 3848
    assert b"\r\n\r\nover tls\r\n" in rest


def test_plain_message_records_no_tls(tls_server):
    r = swaks(tls_server.port, "--to", "alice@example.test", "--from", "bob@example.org")
    assert r.returncode == 0, r.stdout + r.stderr
    m = tls_server.show(swaks_queue_id(r))["message"]
    assert not m["tls"]


def test_starttls_advertised_only_before_tls(tls_server):
    c = tls_client(tls_server)
    code, lines = c.cmd("EHLO client.example")
    assert code == 250
    assert not any("STARTTLS" in l for l in lines), lines
    code, lines = c.cmd("STARTTLS")
    assert code == 503 and lines == ["503 5.5.1 TLS already active"], lines


def test_client_must_ehlo_again_after_tls(tls_server):
    c = Smtp(tls_server.port)
    c.greet()
    assert c.code("MAIL FROM:<a@b.example>") == 250
    assert c.code("RCPT TO:<u@example.test>") == 250
    assert c.code("STARTTLS") == 220
    c.starttls()
    # RFC 3207 4.2: everything learned before TLS is forgotten, the transaction too.
    assert c.code("MAIL FROM:<a@b.example>") == 503
    assert c.code("EHLO client.example") == 250
    assert c.code("RCPT TO:<u@example.test>") == 503
    assert c.code("DATA") == 503
    assert c.code("MAIL FROM:<a@b.example>") == 250
    assert c.code("RCPT TO:<u@example.test>") == 250
    assert c.code("DATA") == 354
    body = b"Subject: tls\r\n\r\n.dot over tls\r\n"
    c.send(body.replace(b"\r\n.", b"\r\n..") + b".\r\n")
    qid = queue_id_of(c.read_reply())
    assert split_received(tls_server.raw_message(qid))[1] == body
    assert c.code("QUIT") == 221


@pytest.mark.parametrize("injected", [
    b"RSET\r\n",
    b"MAIL FROM:<injected@evil.example>\r\n",
    b"EHLO evil.example\r\nMAIL FROM:<injected@evil.example>\r\nRCPT TO:<u@example.test>\r\n",
])
def test_plaintext_pipelined_after_starttls_is_discarded(tls_server, injected):
    c = Smtp(tls_server.port)
    c.greet()
    c.send(b"STARTTLS\r\n" + injected)
    code, lines = c.read_reply()
    assert code == 220, lines
    # Nothing else may come in plaintext: a reply to the injected bytes here would be the
    # bug itself (and would also break the handshake).
    leftover = c.starttls()
    assert leftover == b"", leftover
    # The first reply read over TLS must answer HELP, not anything injected.
    code, lines = c.cmd("HELP")
    assert code == 214, lines
    assert c.silent(), c.buf
    assert c.code("MAIL FROM:<a@b.example>") == 503  # no EHLO happened over TLS
    assert c.code("EHLO client.example") == 250
    assert c.code("RCPT TO:<u@example.test>") == 503  # no injected transaction
    assert tls_server.queued() == []


def test_starttls_with_argument_refused(tls_server):
    c = Smtp(tls_server.port)
    c.greet()
    code, lines = c.cmd("STARTTLS now")
    assert code == 501, lines
    assert c.code("NOOP") == 250  # still plaintext, still in sync


def test_starttls_not_offered_without_certificate(server):
    c = Smtp(server.port)
    lines = c.greet()
    assert not any("STARTTLS" in l for l in lines)
    code, lines = c.cmd("STARTTLS")
    assert code == 502 and lines[0].startswith("502 5.5.1"), lines  # not offered: unknown
    assert c.code("NOOP") == 250


def test_garbage_instead_of_handshake(tls_server):
    c = Smtp(tls_server.port)
    c.greet()
    assert c.code("STARTTLS") == 220
    c.send(b"this is not a TLS ClientHello\r\n" * 10)
    assert c.closed(5)
    # the server lives on
    c2 = tls_client(tls_server)
    assert c2.code("EHLO client.example") == 250


def openssl_starttls(server, version):
    """openssl s_client -starttls smtp offering only `version`. SECLEVEL=0 lets this client
    offer TLS 1.0/1.1 (Debian's default refuses them client-side), so a refusal is the
    server's. Returns (exit code, stdout, stderr)."""
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{server.port}",
                        "-starttls", "smtp", "-name", "client.example", version,
                        "-cipher", "DEFAULT@SECLEVEL=0", "-servername", HOSTNAME],
                       input=b"", capture_output=True, timeout=30)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def fingerprint(pem_text):
    m = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", pem_text, re.S)
    assert m, pem_text[-2000:]
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(m.group(0))).hexdigest()


@pytest.mark.parametrize("version", ["-tls1", "-tls1_1"])
def test_tls_below_1_2_is_refused_by_the_server(tls_server, version):
    code, out, err = openssl_starttls(tls_server, version)
    assert code != 0, out
    # The server's alert (RFC 8446 6.2 protocol_version, 70), not a client-side refusal.
    assert "alert protocol version" in err, err
    assert "Cipher is (NONE)" in out, out
    c = Smtp(tls_server.port)  # the server lives on
    c.greet()


@pytest.mark.parametrize("version,name", [("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")])
def test_modern_tls_presents_the_configured_certificate(tls_server, tls_files, version, name):
    code, out, err = openssl_starttls(tls_server, version)
    assert code == 0, err
    assert re.search(rf"^New, {re.escape(name)}, Cipher is ", out, re.M), out
    cert, _ = tls_files
    assert fingerprint(out) == fingerprint(cert.read_text())


def test_silent_client_after_starttls_times_out(make_server, tls_files):
    cert, key = tls_files
    server = make_server(smtp={"tls_certificate": str(cert), "tls_key": str(key),
                               "command_timeout": 1}).start()
    c = Smtp(server.port)
    c.greet()
    assert c.code("STARTTLS") == 220
    # No ClientHello ever comes: the handshake must not wait forever. (Today the handshake
    # is aborted after command_timeout and the socket closed about 5 s later.)
    started = time.time()
    assert c.closed(10)
    assert time.time() - started < 10
