"""A 250 after DATA means on disk: kill -9, restarts, a full disk."""
import os
import subprocess
import time

import pytest

from conftest import Smtp, queue_id_of, send_message


def test_kill9_after_250_keeps_message(server):
    reply = send_message(server.port, "a@b.example", ["u@example.test"],
                         b"Subject: durable\r\n\r\nkeep me\r\n")
    qid = queue_id_of(reply)
    server.kill9()
    assert [m["id"] for m in server.queued()] == [qid]  # read from disk, no server running
    server.start()
    assert [m["id"] for m in server.queued()] == [qid]
    assert server.body(qid).endswith("Subject: durable\r\n\r\nkeep me\r\n")


def test_kill9_mid_data_leaves_nothing(make_server):
    server = make_server(queue={"spill_threshold": 4096}).start()
    c = Smtp(server.port)
    c.greet()
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
    assert c.cmd("RCPT TO:<u@example.test>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    c.send(b"Subject: half\r\n\r\n" + b"x" * 70 + b"\r\n" * 1 + (b"y" * 70 + b"\r\n") * 2000)
    time.sleep(0.3)  # the spill file exists now
    assert os.listdir(os.path.join(server.queue_dir, "tmp"))
    server.kill9()
    c.close()
    server.start()
    assert server.queued() == []
    assert os.listdir(os.path.join(server.queue_dir, "tmp")) == []


def test_many_messages_survive_restart(server):
    ids = [queue_id_of(send_message(server.port, "a@b.example", [f"u{i}@example.test"],
                                    b"Subject: n\r\n\r\n%d\r\n" % i)) for i in range(50)]
    server.stop()
    server.start()
    assert sorted(m["id"] for m in server.queued()) == sorted(ids)


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)],
                       capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a tmpfs here: " + r.stderr.decode())
    yield mount
    subprocess.run(["umount", "-l", str(mount)])


def test_disk_full_answers_452_and_keeps_earlier_mail(make_server, small_disk):
    server = make_server(queue={"dir": str(small_disk / "queue"),
                                "segment_size": 1048576}).start()
    accepted = []
    refusal = None
    for i in range(40):
        reply = send_message(server.port, "a@b.example", ["u@example.test"],
                             b"Subject: fill\r\n\r\n" + (b"%05d" % i + b"z" * 70 + b"\r\n") * 1300)
        if reply[0] == 250:
            accepted.append(queue_id_of(reply))
        else:
            refusal = reply
            break
    assert refusal is not None, "the disk never filled"
    assert refusal[0] in (452, 451) and ("4.3.1" in refusal[1][0] or "4.3.0" in refusal[1][0])
    assert accepted
    c = Smtp(server.port)  # still serving
    c.greet()
    assert c.cmd("NOOP")[0] == 250
    listed = [m["id"] for m in server.queued()]
    assert sorted(listed) == sorted(accepted)
    for qid in accepted[:3]:
        assert "Subject: fill" in server.body(qid)
    server.kill9()
    server.start()
    assert sorted(m["id"] for m in server.queued()) == sorted(accepted)
