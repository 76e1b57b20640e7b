"""STARTTLS (RFC 3207) with a certificate the test makes, and the plaintext injection case."""
import subprocess

import pytest

from conftest import Smtp


@pytest.fixture
def tls_server(make_server, tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=mx2.example.test", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return make_server(smtp={"tls_certificate": str(cert), "tls_key": str(key)}).start()


def test_swaks_over_starttls(tls_server):
    r = subprocess.run(["swaks", "--server", f"127.0.0.1:{tls_server.port}", "--tls",
                        "--to", "alice@example.test", "--from", "bob@example.org"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode == 0, r.stdout + r.stderr
    m = tls_server.queued()[0]
    assert m["tls"].startswith("TLSv1.")
    assert "ESMTPS" in tls_server.body(m["id"])


def test_starttls_advertised_and_state_reset(tls_server):
    c = Smtp(tls_server.port)
    lines = c.greet()
    assert "250-STARTTLS" in lines or "250 STARTTLS" in lines
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
    assert c.cmd("STARTTLS")[0] == 220
    c.starttls()
    # RFC 3207 4.2: the earlier EHLO and transaction are forgotten.
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 503
    lines = c.cmd("EHLO client.example")[1]
    assert not any("STARTTLS" in l for l in lines)
    assert c.cmd("STARTTLS")[0] == 503


def test_plaintext_pipelined_after_starttls_is_discarded(tls_server):
    c = Smtp(tls_server.port)
    c.greet()
    c.send(b"STARTTLS\r\nRSET\r\nMAIL FROM:<injected@evil.example>\r\n")
    assert c.read_reply()[0] == 220
    c.starttls()
    # The first reply over TLS must answer this NOOP, not the injected RSET or MAIL.
    code, lines = c.cmd("NOOP")
    assert code == 250 and lines[0] == "250 Ok"  # RSET would say "Reset ok"
    assert c.cmd("EHLO client.example")[0] == 250
    assert c.cmd("RCPT TO:<u@example.test>")[0] == 503  # no injected MAIL transaction
