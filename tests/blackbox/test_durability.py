"""A 250 after DATA means on disk: kill -9 after the reply, kill -9 in the middle of DATA,
kill -9 under load, and a full disk."""
import os
import subprocess
import threading
import time

import pytest

from conftest import BIN, Smtp, queue_id_of, send_message, split_received


def tmp_files(server):
    d = os.path.join(server.queue_dir, "tmp")
    return sorted(os.listdir(d)) if os.path.isdir(d) else []


def test_kill9_right_after_250_keeps_message(server):
    body = b"Subject: durable\r\n\r\nkeep me\r\n"
    c = Smtp(server.port)
    c.start_mail()
    c.send(body + b".\r\n")
    qid = queue_id_of(c.read_reply())
    server.kill9()  # no QUIT, no chance to flush anything after the reply
    assert server.queue_ids() == [qid]  # read from the spool, no server running
    server.start()
    assert server.queue_ids() == [qid]
    assert split_received(server.raw_message(qid))[1] == body
    m = server.show(qid)["message"]
    assert m["sender"] == "a@b.example"
    assert [r["address"] for r in m["recipients"]] == ["u@example.test"]


def test_kill9_after_bdat_last_keeps_message(server):
    c = Smtp(server.port)
    c.greet()
    assert c.code("MAIL FROM:<a@b.example>") == 250
    assert c.code("RCPT TO:<u@example.test>") == 250
    chunk = b"Subject: bdat durable\r\n\r\nchunked\r\n"
    c.send(b"BDAT %d LAST\r\n" % len(chunk) + chunk)
    qid = queue_id_of(c.read_reply())
    server.kill9()
    server.start()
    assert server.queue_ids() == [qid]
    assert split_received(server.raw_message(qid))[1] == chunk


def wait_for_spill(server, timeout=10.0):
    """The open DATA's spill file in tmp/: proof the server has read past the threshold."""
    deadline = time.time() + timeout
    while not tmp_files(server):
        assert time.time() < deadline, "no spill file in tmp/ while DATA is open"
        time.sleep(0.02)


def test_kill9_mid_data_leaves_nothing(make_server):
    server = make_server(queue={"spill_threshold": 65536}).start()
    c = Smtp(server.port)
    c.start_mail()
    line = b"y" * 78 + b"\r\n"
    c.send(b"Subject: half\r\n\r\n" + line * (400000 // len(line)))
    wait_for_spill(server)
    server.kill9()
    c.close()
    assert server.queued() == []  # stopped: read from the spool
    server.start()
    assert server.queued() == []
    assert tmp_files(server) == []


def test_kill9_mid_bdat_leaves_nothing(server):
    # The 250 to a chunk that is not the LAST proves the server holds it (in memory).
    c = Smtp(server.port)
    c.greet()
    assert c.code("MAIL FROM:<a@b.example>") == 250
    assert c.code("RCPT TO:<u@example.test>") == 250
    chunk = b"Subject: half\r\n\r\n" + b"y" * 2000 + b"\r\n"
    c.send(b"BDAT %d\r\n" % len(chunk) + chunk)
    code, lines = c.read_reply()
    assert code == 250, lines
    server.kill9()
    c.close()
    assert server.queued() == []
    server.start()
    assert server.queued() == []
    assert tmp_files(server) == []


def test_kill9_mid_data_after_earlier_message(make_server):
    server = make_server(queue={"spill_threshold": 65536}).start()
    first = queue_id_of(send_message(server.port, "a@b.example", ["u@example.test"],
                                     b"Subject: first\r\n\r\n1\r\n"))
    c = Smtp(server.port)
    c.start_mail()
    # no final dot; long enough to spill, so that tmp/ shows the server has read it
    c.send(b"Subject: second\r\n\r\n" + b"never finished\r\n" * 8000)
    wait_for_spill(server)
    server.kill9()
    server.start()
    assert server.queue_ids() == [first]
    assert tmp_files(server) == []


def test_kill9_under_load_loses_no_acknowledged_message(server):
    """Several clients send as fast as they can; kill -9 lands at a random point. Every
    message that got a 250 must be there after the restart, complete."""
    acked = []
    bodies = {}
    lock = threading.Lock()
    stop = threading.Event()

    def client(n):
        i = 0
        while not stop.is_set():
            body = b"Subject: load %d-%d\r\n\r\n" % (n, i) + b"%d-%d\r\n" % (n, i) * 50
            try:
                reply = send_message(server.port, "a@b.example", [f"u{n}@example.test"], body)
            except (OSError, AssertionError):
                return
            if reply[0] == 250:
                qid = queue_id_of(reply)
                with lock:
                    acked.append(qid)
                    bodies[qid] = body
            i += 1

    threads = [threading.Thread(target=client, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    deadline = time.time() + 30
    while len(acked) < 50 and time.time() < deadline:  # the load is going: kill it now
        time.sleep(0.01)
    server.kill9()
    stop.set()
    for t in threads:
        t.join(10)
    print("ACKED", len(acked))
    assert len(acked) >= 50, "the load never got going"
    server.start()
    listed = server.queued()
    ids = {m["id"] for m in listed}
    missing = set(acked) - ids
    assert not missing, f"{len(missing)} acknowledged messages lost: {sorted(missing)[:5]}"
    server.stop()  # read bodies straight from the spool
    for qid in acked[:10] + acked[-10:]:
        assert split_received(server.raw_message(qid))[1] == bodies[qid]
    for m in listed:  # anything listed but not acknowledged must still be whole
        if m["id"] not in bodies:
            rest = split_received(server.raw_message(m["id"]))[1]
            assert rest.startswith(b"Subject: load ") and rest.endswith(b"\r\n")


def test_many_messages_survive_restart(server):
    ids = [queue_id_of(send_message(server.port, "a@b.example", [f"u{i}@example.test"],
                                    b"Subject: n\r\n\r\n%d\r\n" % i)) for i in range(30)]
    server.restart()
    assert server.queue_ids() == sorted(ids)
    server.restart(hard=True)
    assert server.queue_ids() == sorted(ids)


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                       capture_output=True)
    if r.returncode != 0:
        pytest.skip("machine cannot: mount a 1 MiB tmpfs (needs root or CAP_SYS_ADMIN): "
                    + r.stderr.decode(errors="replace").strip())
    yield mount
    r = subprocess.run(["umount", str(mount)], capture_output=True)
    if r.returncode != 0:
        subprocess.run(["umount", "-l", str(mount)])


# small_disk comes first so that it is torn down last, after the server has stopped.
def test_disk_full_answers_452_and_keeps_earlier_mail(small_disk, make_server):
    server = make_server(queue={"dir": str(small_disk / "queue")}).start()
    accepted = {}
    refusal = None
    for i in range(40):
        body = b"Subject: fill %d\r\n\r\n" % i + (b"%05d" % i + b"z" * 93 + b"\r\n") * 1000
        reply = send_message(server.port, "a@b.example", ["u@example.test"], body)
        if reply[0] == 250:
            accepted[queue_id_of(reply)] = body
        else:
            refusal = reply
            break
    print("ACCEPTED", len(accepted), refusal)
    assert refusal is not None, "the disk never filled"
    code, lines = refusal
    assert code == 452 and lines[0].startswith("452 4.3.1"), refusal  # ENOSPC (RFC 3463)
    assert accepted, "not even the first 100 KB message fitted in 1 MB"
    deadline = time.time() + 3
    while tmp_files(server) and time.time() < deadline:
        time.sleep(0.05)
    assert tmp_files(server) == []  # the refused message left nothing behind
    c = Smtp(server.port)  # still answering new connections
    c.greet()
    assert c.code("NOOP") == 250
    # No free-space check at MAIL (Postfix's queue_minfree has no equivalent): the refusal
    # comes when the message does not fit.
    assert c.code("MAIL FROM:<a@b.example>") == 250
    assert server.queue_ids() == sorted(accepted)
    for qid, body in accepted.items():
        assert server.body(qid).encode().endswith(body), qid
    server.kill9()
    assert server.queue_ids() == sorted(accepted)
    for qid, body in accepted.items():
        assert split_received(server.raw_message(qid))[1] == body, qid
    server.start()
    assert server.queue_ids() == sorted(accepted)


def test_disk_full_then_space_freed(small_disk, make_server):
    server = make_server(queue={"dir": str(small_disk / "queue")}).start()
    filler = small_disk / "filler"
    # take almost all the space away from the spool
    subprocess.run(["dd", "if=/dev/zero", f"of={filler}", "bs=4096", "count=1000"],
                   capture_output=True)
    body = b"Subject: tight\r\n\r\n" + (b"q" * 98 + b"\r\n") * 1000
    reply = send_message(server.port, "a@b.example", ["u@example.test"], body)
    assert reply[0] == 452 and reply[1][0].startswith("452 4.3.1"), reply
    filler.unlink()
    # Space is back: the server keeps no memory of the full disk, so the very next message
    # is accepted, complete.
    reply = send_message(server.port, "a@b.example", ["u@example.test"], body)
    qid = queue_id_of(reply)
    server.kill9()
    assert server.queue_ids() == [qid]  # the refused one left nothing
    assert split_received(server.raw_message(qid))[1] == body


def test_sigterm_stops_promptly_and_keeps_the_queue(server):
    qid = queue_id_of(send_message(server.port, "a@b.example", ["u@example.test"],
                                   b"Subject: term\r\n\r\nx\r\n"))
    idle = Smtp(server.port)  # an open session must not hold up the shutdown
    idle.greet()
    proc = server.proc
    started = time.time()
    server.stop()
    assert time.time() - started < 8
    assert proc.returncode == 0, proc.returncode
    server.start()
    assert server.queue_ids() == [qid]


def test_second_server_on_the_same_spool_refuses_to_start(server, make_server):
    qid = queue_id_of(send_message(server.port, "a@b.example", ["u@example.test"],
                                   b"Subject: lock\r\n\r\nx\r\n"))
    twin = make_server(queue={"dir": server.queue_dir})
    r = subprocess.run([BIN, "serve", "--config", str(twin.config_path)],
                       capture_output=True, timeout=10)
    assert r.returncode != 0
    assert server.running()
    assert server.queue_ids() == [qid]
    c = Smtp(server.port)
    c.greet()
