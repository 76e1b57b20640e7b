"""STARTTLS on the way out: opportunistic by default, and per-domain tls = "required" that
refuses a primary whose certificate does not verify. The primary is a second, real backstop
with a certificate made by openssl."""

from conftest import free_port, send_message, wait_until



def start_primary(make_server, tls_files):
    cert, key = tls_files
    port = free_port("127.0.0.3")
    primary = make_server(smtp={"listen": [f"127.0.0.3:{port}"], "tls_certificate": str(cert),
                                "tls_key": str(key)})
    return primary.start(), port


def test_opportunistic_tls_to_the_primary(make_server, tls_files):
    primary, port = start_primary(make_server, tls_files)
    backup = make_server(domains=[{"name": "example.test", "primary": [f"127.0.0.3:{port}"]}])
    backup.start()
    send_message(backup.port, "bob@sender.test", ["alice@example.test"],
                 b"Subject: tls\r\n\r\nover TLS\r\n")
    assert wait_until(lambda: len(primary.queued()) == 1)
    assert primary.queued()[0]["tls"].startswith("TLSv1.")
    assert wait_until(lambda: backup.queued() == [])


def test_required_tls_refuses_an_unverified_certificate(make_server, tls_files):
    primary, port = start_primary(make_server, tls_files)
    backup = make_server(domains=[{"name": "example.test", "primary": [f"127.0.0.3:{port}"],
                                   "tls": "required"}])
    backup.start()
    send_message(backup.port, "bob@sender.test", ["alice@example.test"],
                 b"Subject: tls\r\n\r\nmust not go in clear or unverified\r\n")
    assert wait_until(lambda: backup.queued()[0]["recipients"][0]["attempts"] >= 1)
    error = backup.queued()[0]["recipients"][0]["last_error"]
    assert "TLS" in error and "certificate verify failed" in error, error
    assert primary.queued() == []


def test_required_tls_refuses_a_primary_without_starttls(make_server):
    plain = make_server(smtp={"listen": [f"127.0.0.3:{free_port('127.0.0.3')}"]}).start()
    port = int(plain.sections["smtp"]["listen"][0].rsplit(":", 1)[1])
    backup = make_server(domains=[{"name": "example.test", "primary": [f"127.0.0.3:{port}"],
                                   "tls": "required"}])
    backup.start()
    send_message(backup.port, "bob@sender.test", ["alice@example.test"], b"Subject: x\r\n\r\nx\r\n")
    assert wait_until(lambda: backup.queued()[0]["recipients"][0]["attempts"] >= 1)
    assert "does not offer STARTTLS" in backup.queued()[0]["recipients"][0]["last_error"]
    assert plain.queued() == []
