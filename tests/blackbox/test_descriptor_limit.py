"""smtp.max_connections against the open-files limit: sessions get only the descriptors that
backstop's own files, outgoing deliveries and callouts leave free."""
import os
import re
import subprocess

from conftest import BIN, _live_servers

LIMIT = 1000


def start_with_file_limit(server, limit):
    """Starts backstop under a hard open-files limit (prlimit execs it: proc is backstop)."""
    server._log = open(server.log_path, "ab")
    server.proc = subprocess.Popen(
        ["prlimit", f"--nofile={limit}:{limit}", BIN, "serve", "--config",
         str(server.config_path)],
        stdout=server._log, stderr=server._log, start_new_session=True)
    _live_servers.append(server)
    server.wait_for_log(f"listening on 127.0.0.1:{server.port}")
    return server


def open_descriptors(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_sessions_leave_room_for_outgoing_deliveries(make_server):
    server = make_server(smtp={"max_connections": 900}, delivery={"max_connections": 600})
    start_with_file_limit(server, LIMIT)
    line = server.wait_for_log("does not fit the open-files limit")[0]
    used = int(re.search(r"using (\d+)", line).group(1))
    idle = open_descriptors(server.proc.pid)
    # Every session, every outgoing delivery and what the idle process holds fit together.
    assert used + 600 + idle <= LIMIT, (line, idle)
    # Beyond the deliveries, the reserve is a budget of a few hundred, not the rest.
    assert LIMIT - 600 - used <= 300, line


def test_max_connections_that_fits_is_kept(make_server):
    server = make_server(smtp={"max_connections": 500})
    start_with_file_limit(server, LIMIT)
    # The check runs before the listeners open, so its warning would precede this line.
    assert "does not fit the open-files limit" not in server.log_text(), server.log_text()
