"""The status page at `/` in real headless Chromium (Debian's chromium): the page loads with
nothing from the network, Chart.js (embedded in the binary) draws every chart with data of
the running instance, and a screenshot is saved beside the test's files."""
import os
import re
import shutil
import subprocess
import urllib.error
import urllib.request

import pytest

from conftest import MACHINE_CANNOT, Smtp, free_port, send_message

CHROMIUM = shutil.which("chromium")


def chromium(*args, timeout=90):
    if CHROMIUM is None:
        pytest.skip(f"{MACHINE_CANNOT} run chromium (Debian package chromium)")
    # --no-sandbox: the tests run as root; no network: every proxy and lookup is refused.
    base = [CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu",
            "--disable-dev-shm-usage", "--no-first-run", "--disable-extensions",
            "--disable-background-networking", "--disable-component-update",
            "--proxy-server=127.0.0.1:1", "--proxy-bypass-list=127.0.0.1",
            "--virtual-time-budget=10000", "--window-size=1280,1000"]
    return subprocess.run(base + list(args), capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def busy_server(make_server):
    port = free_port()
    server = make_server(admin={"listen": f"127.0.0.1:{port}", "sample_interval": "1s"}).start()
    server.admin_port = port
    for _ in range(3):
        code, lines = send_message(server.port, "a@b.example", ["u@example.test"],
                                   b"Subject: s\r\n\r\nbody\r\n")
        assert code == 250, lines
    c = Smtp(server.port)
    c.greet("client.example")
    assert c.cmd("MAIL FROM:<a@b.example>")[0] == 250
    assert c.cmd("RCPT TO:<x@elsewhere.example>")[0] == 550
    c.close()
    # Two samples after the traffic: the charts have points to draw.
    server.wait_for_log("admin HTTP on")
    return server


def wait_samples(server, count):
    import json
    import time
    deadline = time.time() + 20
    while time.time() < deadline:
        with urllib.request.urlopen(f"http://127.0.0.1:{server.admin_port}/api/status",
                                    timeout=5) as r:
            status = json.loads(r.read())
        if len(status["samples"]) >= count and sum(s["accepted"] for s in status["samples"]) == 3:
            return status
        time.sleep(0.2)
    raise AssertionError(f"fewer than {count} samples: {status}")


def drawn(dom, chart):
    """The points the page's script says it handed to Chart.js for one chart."""
    m = re.search(r'<canvas id="%s"[^>]*data-points="(\d+)"' % chart, dom)
    assert m, f"chart {chart} was not drawn: {dom[-3000:]}"
    return int(m.group(1))


def test_page_renders_charts_with_live_data(busy_server, tmp_path):
    status = wait_samples(busy_server, 2)
    url = f"http://127.0.0.1:{busy_server.admin_port}/"
    r = chromium("--dump-dom", url)
    dom = r.stdout
    assert 'data-rendered="yes"' in dom, r.stdout[-2000:] + r.stderr[-2000:]
    assert "data-error" not in dom, dom
    # Each chart was drawn with points from the server: as many samples as it had.
    points = drawn(dom, "queue")
    assert points >= len(status["samples"]) >= 2
    assert drawn(dom, "traffic") >= 2 * points  # accepted plus the relay_domains refusals
    assert 'width="' in re.search(r'<canvas id="queue"[^>]*>', dom).group(0)  # Chart.js sized it
    assert "queued: <b>3</b>" in dom
    shot = tmp_path / "status.png"
    r = chromium(f"--screenshot={shot}", url)
    assert shot.exists() and shot.stat().st_size > 10000, r.stderr[-2000:]
    keep = os.environ.get("BACKSTOP_ARTIFACTS")
    if keep:
        os.makedirs(keep, exist_ok=True)
        shutil.copy(shot, os.path.join(keep, "status-page.png"))


def test_chart_js_is_served_by_backstop_itself(busy_server):
    with urllib.request.urlopen(f"http://127.0.0.1:{busy_server.admin_port}/assets/chart.js",
                                timeout=5) as r:
        body = r.read()
        assert r.headers["Content-Type"].startswith("text/javascript")
    assert b"Chart.js v3" in body[:200]
    with urllib.request.urlopen(f"http://127.0.0.1:{busy_server.admin_port}/", timeout=5) as r:
        page = r.read().decode()
    # Nothing the page loads comes from elsewhere.
    assert "http://" not in page and "https://" not in page
    assert '<script src="/assets/chart.js">' in page


def test_page_with_a_token_needs_it(make_server):
    port = free_port()
    server = make_server(admin={"listen": f"127.0.0.1:{port}", "token": "t0k"}).start()
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5)
        raise AssertionError("the page answered without the token")
    except urllib.error.HTTPError as e:
        assert e.code == 401
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/?token=t0k", timeout=5) as r:
        assert r.status == 200
